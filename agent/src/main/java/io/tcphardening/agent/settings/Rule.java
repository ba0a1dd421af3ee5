package io.tcphardening.agent.settings;

/**
 * One rule ({@code rule.NAME.*}): the connections it matches, the options it names (the others come from the global
 * settings), and the {@link Decision} that results, built once when the settings are loaded.
 */
public final class Rule {

    /** An option the rule does not name: its value is the global setting's. */
    static final int NOT_NAMED = Integer.MIN_VALUE;

    static final String MATCH = "match";
    static final String APP_VALUES = "app.values";

    private final String name;
    private final Match match;
    private final String matchSource;
    private final int[] named;
    private final String[] sources;
    private final AppValues appValues;
    private final String appValuesSource;
    private final Decision decision;

    Rule(String name, Match match, String matchSource, int[] named, String[] sources, AppValues appValues,
         String appValuesSource, Settings global) {
        this.name = name;
        this.match = match;
        this.matchSource = matchSource;
        this.named = named.clone();
        this.sources = sources.clone();
        this.appValues = appValues;
        this.appValuesSource = appValuesSource;
        int[] values = new int[TcpOption.ALL.length];
        for (TcpOption option : TcpOption.ALL) {
            int value = named[option.ordinal()];
            values[option.ordinal()] = value == NOT_NAMED ? global.value(option) : value;
        }
        this.decision = new Decision(name, values, appValues != null ? appValues : global.appValues());
    }

    public String name() {
        return name;
    }

    public Match match() {
        return match;
    }

    public Decision decision() {
        return decision;
    }

    /** The key of one of this rule's settings: {@code rule.NAME.suffix}. */
    public String key(String suffix) {
        return "rule." + name + "." + suffix;
    }

    /** This rule's settings as the operator gave them, key to value, in documented order. */
    java.util.Map<String, String[]> given() {
        java.util.Map<String, String[]> given = new java.util.LinkedHashMap<>();
        given.put(key(MATCH), new String[] {match.toString(), matchSource});
        for (TcpOption option : TcpOption.ALL) {
            int value = named[option.ordinal()];
            if (value != NOT_NAMED) {
                given.put(key(option.key), new String[] {value == Settings.UNCHANGED ? SettingsLoader.UNCHANGED
                        : option.format(value), sources[option.ordinal()]});
            }
        }
        if (appValues != null) {
            given.put(key(APP_VALUES), new String[] {appValues.key(), appValuesSource});
        }
        return given;
    }

    /** "db [connect port=5432 (file:2)]: keepalive.idle=10s (file:3), others as the global settings". */
    public String describe() {
        StringBuilder text = new StringBuilder(name).append(" [").append(match).append(" (").append(matchSource)
                .append(")]:");
        int shown = 0;
        int options = 0;
        for (TcpOption option : TcpOption.ALL) {
            int value = named[option.ordinal()];
            if (value != NOT_NAMED) {
                options++;
                text.append(shown++ == 0 ? " " : ", ").append(option.key).append('=')
                        .append(value == Settings.UNCHANGED ? SettingsLoader.UNCHANGED : option.format(value))
                        .append(" (").append(sources[option.ordinal()]).append(')');
            }
        }
        if (appValues != null) {
            text.append(shown++ == 0 ? " " : ", ").append("app.values=").append(appValues.key()).append(" (")
                    .append(appValuesSource).append(')');
        }
        if (decision.leavesAlone()) {
            return text.append(shown == 0 ? " " : "; ").append("matching connections are left alone").toString();
        }
        if (options == TcpOption.ALL.length && appValues != null) {
            return text.toString();  // nothing is left to the global settings
        }
        return text.append(shown == 0 ? " all as" : "; others as").append(" the global settings").toString();
    }
}
