package io.tcphardening.agent.observe;

import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The agent's MBean: settings read live from the running agent (an attach may replace them), counters from
 * {@link Counters} and the log.
 *
 * <p>When it is registered is the point. Creating the platform MBean server costs tens of milliseconds and, done in
 * premain, would come before an application's own choice of {@code javax.management.builder.initial}. So the agent
 * never creates it: {@code ManagementFactory.getPlatformMBeanServer} is hooked at its exit and the bridge hands the
 * server over, whoever asked for it first (the JMX agent of {@code -Dcom.sun.management.jmxremote}, jconsole
 * attaching, the application, a metrics library). This class is loaded only then.
 */
public final class AgentStatus implements AgentMXBean {

    static final String OBJECT_NAME = "tcphardening:type=Agent";

    /** Set once; a volatile flag and a monitor rather than an AtomicBoolean, whose VarHandles cost a first use. */
    private static volatile boolean registered;

    private final AgentState agent;
    private final HardeningLog log;

    private AgentStatus(AgentState agent, HardeningLog log) {
        this.agent = agent;
        this.log = log;
    }

    /** The platform MBean server was returned to someone: register, the first time. */
    public static void register(Object server, AgentState agent, HardeningLog log) {
        if (registered || !(server instanceof MBeanServer)) {
            return;
        }
        synchronized (AgentStatus.class) {
            if (registered) {
                return;
            }
            registered = true;
        }
        try {
            ((MBeanServer) server).registerMBean(new AgentStatus(agent, log), new ObjectName(OBJECT_NAME));
            log.debug("MBean " + OBJECT_NAME + " registered");
        } catch (Exception | LinkageError e) {
            log.warn("cannot register the MBean " + OBJECT_NAME + ": " + e);
        }
    }

    /**
     * Attached to a running JVM whose platform MBean server may exist already, created before the hook was in place:
     * register now if {@code ManagementFactory} is loaded (then the server is cheap, or wanted, or both).
     */
    public static void registerIfManaged(Instrumentation inst, AgentState agent, HardeningLog log) {
        try {
            for (Class<?> loaded : inst.getAllLoadedClasses()) {
                // by name: the class literal would load it
                if (loaded.getClassLoader() == null
                        && loaded.getName().equals("java.lang.management.ManagementFactory")) {
                    register(ManagementFactory.getPlatformMBeanServer(), agent, log);
                    return;
                }
            }
        } catch (RuntimeException | LinkageError e) {
            log.warn("cannot register the MBean " + OBJECT_NAME + ": " + e);
        }
    }

    @Override
    public String getVersion() {
        return AgentVersion.version();
    }

    @Override
    public Map<String, String> getSettings() {
        return agent.settings().values();
    }

    @Override
    public Map<String, String> getSettingSources() {
        return agent.settings().sources();
    }

    @Override
    public Map<String, Long> getConnectionsHardened() {
        return agent.counters().hardened();
    }

    @Override
    public long getConnectionsHardenedTotal() {
        return agent.counters().hardenedTotal();
    }

    @Override
    public Map<String, Long> getApplicationValuesReplaced() {
        return agent.counters().replaced();
    }

    @Override
    public Map<String, Long> getApplicationValuesKept() {
        return agent.counters().kept();
    }

    @Override
    public Map<String, Long> getConnectionsByRule() {
        return agent.counters().byRule();
    }

    @Override
    public long getConnectionsExcluded() {
        return agent.counters().excluded();
    }

    @Override
    public long getConnectionsSkippedNotTcp() {
        return agent.counters().notTcp();
    }

    @Override
    public Map<String, Long> getFailures() {
        return log.failureCounts();
    }

    @Override
    public long getLogLinesDropped() {
        return log.droppedLines();
    }

    @Override
    public long getLogLinesUnwritten() {
        return log.unwrittenLines();
    }
}
