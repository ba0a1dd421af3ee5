package io.tcphardening.agent.live;

import io.tcphardening.agent.settings.SettingsLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * What one attach of the agent into a running JVM did, for the {@code attach} command to print. The command passes an
 * id ahead of the settings ({@code attach.report=ID,key=value,...}) and, once the JVM has run {@code agentmain}, reads
 * the report back as the agent property {@code tcphardening.attach.ID}: its first line is the outcome, the others
 * say what was done. An attach without an id (jcmd's {@code JVMTI.agent_load}, say) is only logged in the JVM.
 * Reports are a few hundred bytes and stay, one per attach: removing one could race with the command reading it.
 */
public final class AttachReport {

    public static final String ID_ARGUMENT = "attach.report";

    public static final String INSTALLED = "installed";
    public static final String UPDATED = "updated";
    public static final String CONFIG_ERROR = "config-error";
    public static final String NOT_ACTIVE = "not-active";

    private final String id;
    private final String settingsArgs;
    private final List<String> lines = new ArrayList<>();

    private AttachReport(String id, String settingsArgs) {
        this.id = id;
        this.settingsArgs = settingsArgs;
    }

    /** Splits the id, if any, from the agent arguments. */
    public static AttachReport of(String args) {
        String prefix = ID_ARGUMENT + "=";
        if (args == null || !args.startsWith(prefix)) {
            return new AttachReport(null, args);
        }
        int comma = args.indexOf(',');
        return new AttachReport(args.substring(prefix.length(), comma < 0 ? args.length() : comma),
                comma < 0 ? "" : args.substring(comma + 1));
    }

    /** The agent arguments without the id: what {@link SettingsLoader} validates, as for {@code -javaagent}. */
    public String settingsArgs() {
        return settingsArgs;
    }

    public void add(String line) {
        lines.add(line);
    }

    public void publish(String outcome) {
        if (id == null) {
            return;
        }
        StringBuilder text = new StringBuilder(outcome);
        for (String line : lines) {
            text.append('\n').append(line);
        }
        try {
            AgentProperties.publish(AgentProperties.ATTACH_REPORT + id, text.toString());
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("tcp-hardening-agent: cannot report to the attach command (" + e + "): " + text);
        }
    }
}
