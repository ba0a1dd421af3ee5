package io.tcphardening.agent.observe;

import java.util.Map;

/**
 * The agent's management interface, registered as {@value AgentStatus#OBJECT_NAME} in the platform MBean server once
 * something in the JVM creates that server (the JMX agent, jconsole attaching, the application). An MXBean: every
 * attribute is of an open type (maps become tables of key and value), so jconsole and any JMX client read it
 * without the agent's classes. Public because JMX only introspects public interfaces.
 */
public interface AgentMXBean {

    String getVersion();

    /** Each setting's value as agent.properties writes it ("61s", "unchanged"); the current ones after an attach. */
    Map<String, String> getSettings();

    /** Where each setting came from: "agent argument", "/etc/app/agent.properties:3", "default", ... */
    Map<String, String> getSettingSources();

    /** Connections whose options were confirmed, by kind and direction: "Socket connect", "SocketChannel accept". */
    Map<String, Long> getConnectionsHardened();

    long getConnectionsHardenedTotal();

    /** Writes of the five options by the application that the configured value replaced, by option key. */
    Map<String, Long> getApplicationValuesReplaced();

    /** Writes of the five options by the application that stood under {@code app.values} (stricter, keep). */
    Map<String, Long> getApplicationValuesKept();

    /** Connections by the rule that decided them ("default" when none matched); empty without rules. */
    Map<String, Long> getConnectionsByRule();

    /** Connections a rule with all five options unchanged left alone. */
    long getConnectionsExcluded();

    /** Connections of JDK socket classes the agent hooks that are not TCP (Unix-domain channels), left alone. */
    long getConnectionsSkippedNotTcp();

    /** Failures to set or read an option, and internal errors, by reason, as the log summarises them. */
    Map<String, Long> getFailures();

    /** Log lines dropped because the log could not keep up. */
    long getLogLinesDropped();

    /** Log lines the log file could not take (a full disk, a file that cannot be reopened after rotation). */
    long getLogLinesUnwritten();
}
