package io.tcphardening.agent.live;

import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.observe.AgentState;
import io.tcphardening.agent.observe.AgentVersion;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.util.Map;
import java.util.Properties;

/**
 * What the running agent shows to tools outside the JVM, as agent properties: the JVM's attach mechanism serves them
 * ({@code VirtualMachine.getAgentProperties()}, a read-only request like jcmd's), so {@code inspect} can compare a
 * process's sockets with the settings in force there, and {@code attach} can print what its attach did. Unlike system
 * properties, the application does not see them, and the agent does not read them back as configuration.
 */
public final class AgentProperties {

    public static final String VERSION = "tcphardening.version";
    /**
     * The effective settings that decide a connection's values, written as agent arguments ({@link #asArguments}):
     * {@link SettingsLoader} reads them back.
     */
    public static final String SETTINGS = "tcphardening.settings";
    /** Followed by the id an {@code attach} command passed; see {@link AttachReport}. */
    public static final String ATTACH_REPORT = "tcphardening.attach.";

    private AgentProperties() {
        // no instances
    }

    /** The running agent's current settings; synchronized and read here, so that the latest of two updates stays. */
    public static synchronized void publishSettings(AgentState agent) throws ReflectiveOperationException {
        Properties properties = agentProperties();
        properties.setProperty(VERSION, AgentVersion.version());
        properties.setProperty(SETTINGS, asArguments(agent.settings()));
    }

    static synchronized void publish(String key, String value) throws ReflectiveOperationException {
        agentProperties().setProperty(key, value);
    }

    /**
     * "keepalive=true,keepalive.idle=60s,...,app.values=replace,rules=db other,rule.db.match=connect port=5432,6432,
     * rule.db.user_timeout=15s,...": the five options ({@code unchanged} included), {@code app.values}, and the rules
     * with every key each was given, in the order {@link Settings#values} lists them. Not the log settings: they
     * decide no value, and a log file's path could hold a comma. A match's commas stay as they are: the agent
     * argument reader continues a match's value at a comma ({@link SettingsLoader}), and {@code rules} is written
     * with spaces, the separator it takes there.
     */
    public static String asArguments(Settings settings) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> setting : settings.values().entrySet()) {
            if (setting.getKey().startsWith("log.")) {
                continue;
            }
            text.append(text.length() == 0 ? "" : ",").append(setting.getKey()).append('=').append(setting.getValue());
        }
        return text.toString();
    }

    /** The JDK's own agent properties ({@code jdk.internal.vm}, exported to the agent by {@link JdkInternals}). */
    private static Properties agentProperties() throws ReflectiveOperationException {
        return (Properties) Class.forName("jdk.internal.vm.VMSupport").getMethod("getAgentProperties").invoke(null);
    }
}
