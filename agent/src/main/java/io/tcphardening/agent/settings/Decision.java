package io.tcphardening.agent.settings;

import java.util.Arrays;

/**
 * What the agent does to one connection: the five values (or {@link Settings#UNCHANGED}), the policy for the
 * application's own values, and the name of the rule that chose them ({@code default} when none matched).
 * Precomputed, one per rule and one for the global settings, so that deciding a connection is one scan of the rules
 * and no allocation.
 */
public final class Decision {

    public static final String DEFAULT = "default";

    private final String rule;
    private final int[] values;
    private final AppValues appValues;
    private final boolean leavesAlone;

    Decision(String rule, int[] values, AppValues appValues) {
        this.rule = rule;
        this.values = values.clone();
        this.appValues = appValues;
        boolean none = true;
        for (int value : values) {
            none &= value == Settings.UNCHANGED;
        }
        this.leavesAlone = none;
    }

    /** The rule's name, or {@link #DEFAULT}. */
    public String rule() {
        return rule;
    }

    public boolean isSet(TcpOption option) {
        return values[option.ordinal()] != Settings.UNCHANGED;
    }

    /** The configured kernel value, or {@link Settings#UNCHANGED}. */
    public int value(TcpOption option) {
        return values[option.ordinal()];
    }

    public AppValues appValues() {
        return appValues;
    }

    /** All five options unchanged: the connection is left alone entirely, nothing written and nothing read. */
    public boolean leavesAlone() {
        return leavesAlone;
    }

    /** Whether the other decision sets the same values (whatever its rule and policy). */
    public boolean sameAs(Decision other) {
        return Arrays.equals(values, other.values);
    }

    /** The value the socket should hold after the application wrote {@code application}. */
    public int hold(TcpOption option, int application) {
        return appValues.hold(option, application, value(option));
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(rule).append(':');
        for (TcpOption option : TcpOption.ALL) {
            int value = value(option);
            text.append(' ').append(option.key).append('=')
                    .append(value == Settings.UNCHANGED ? SettingsLoader.UNCHANGED : option.format(value));
        }
        return text.append(" app.values=").append(appValues.key()).toString();
    }
}
