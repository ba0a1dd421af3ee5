package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.tools.attach.VirtualMachine;
import io.tcphardening.it.apps.CountedConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The agent's MBean, {@code tcphardening:type=Agent}, read over JMX from this JVM (a second one) while a forked
 * application with the agent and the JDK's JMX agent makes a known set of connections. The counts must equal the
 * connections the application reports and the kernel shows carrying the configured options ({@link KernelProbe}),
 * not merely what the agent believes.
 *
 * <p>JMX itself runs over TCP: the target's RMI connector accepts this JVM's connection, and the agent hardens and
 * counts it too. So the application's connections are counted as the difference between a reading before and one
 * after them, over one JMX connection that RMI reuses.
 */
class AgentMBeanIT {

    private static final String AGENT_ARGS = JdkCoverageIT.AGENT_ARGS + ",log.level=info";

    /** What the application opens per "connect": kind and direction to count (see CountedConnectionsApp). */
    private static final Map<String, Long> APPLICATION_CONNECTIONS = Map.of(
            "Socket connect", 2L, "Socket accept", 2L,
            "SocketChannel connect", 1L, "SocketChannel accept", 1L,
            "AsynchronousSocketChannel connect", 1L, "AsynchronousSocketChannel accept", 1L);

    @TestFactory
    List<DynamicTest> countersReadOverJmxMatchTheConnectionsTheKernelHolds() {
        return PerJdk.tests(jdk -> {
            int port = freePort();
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(CountedConnectionsApp.class.getName())
                    .javaagent(AgentJar.path(), AGENT_ARGS)
                    .jvmArg("-Dcom.sun.management.jmxremote.port=" + port)
                    .jvmArg("-Dcom.sun.management.jmxremote.rmi.port=" + port)
                    .jvmArg("-Dcom.sun.management.jmxremote.host=127.0.0.1")
                    // the address the RMI stub carries: loopback, never the machine's own address
                    .jvmArg("-Djava.rmi.server.hostname=127.0.0.1")
                    .jvmArg("-Dcom.sun.management.jmxremote.authenticate=false")
                    .jvmArg("-Dcom.sun.management.jmxremote.ssl=false");
            try (ForkedJvm.Running running = jvm.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(60));
                JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port + "/jmxrmi");
                try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
                    MBeanServerConnection mbeans = connector.getMBeanServerConnection();
                    ObjectName agent = new ObjectName("tcphardening:type=Agent");

                    // RMI opens a further connection whenever it has none free (a DGC call while a result is
                    // still being read, a pooled one idle for 15 s): wait until the count is at rest, and
                    // count the JMX connections the kernel shows accepted on its port during the window.
                    Map<String, Long> before = settledCounts(mbeans, agent);
                    Set<Integer> jmxBefore = jmxPeers(running.pid(), port);
                    long skippedBefore = (Long) mbeans.getAttribute(agent, "ConnectionsSkippedNotTcp");
                    // This JVM's own JMX connection, accepted by the target's RMI connector, is hardened too.
                    assertTrue(before.getOrDefault("Socket accept", 0L) >= 1, before + "\n" + running.describe());
                    assertEquals(0L, before.getOrDefault("SocketChannel connect", 0L), before.toString());

                    running.sendLine("connect");
                    running.awaitLine("DONE"::equals, Duration.ofSeconds(30));
                    List<KernelSocket> kernel = KernelProbe.read(running.pid());
                    Map<String, Long> after = longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
                    Set<Integer> jmxAfter = jmxPeers(running.pid(), port);
                    jmxAfter.removeAll(jmxBefore);
                    String context = "before " + before + "\nafter " + after + "\n" + running.describe();

                    // The application's report, each end found in the kernel with the configured values.
                    List<String[]> conns = running.stdoutLines().stream().filter(l -> l.startsWith("CONN "))
                            .map(l -> l.split(" ")).collect(Collectors.toList());
                    Map<String, Long> reported = new TreeMap<>();
                    for (String[] conn : conns) {
                        int local = Integer.parseInt(conn[3]);
                        int remote = Integer.parseInt(conn[4]);
                        KernelSocket socket = kernel.stream().filter(s -> s.localPort == local && s.remotePort == remote)
                                .findFirst().orElseThrow(() -> new AssertionError("no kernel socket for "
                                        + String.join(" ", conn) + "\n" + context));
                        assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + context);
                        assertEquals("true 61", conn[5] + " " + conn[6], "the JDK's getters: " + String.join(" ", conn));
                        reported.merge(conn[1] + " " + conn[2], 1L, Long::sum);
                    }
                    assertEquals(new TreeMap<>(APPLICATION_CONNECTIONS), reported, context);

                    Map<String, Long> expected = new TreeMap<>(reported);
                    if (!jmxAfter.isEmpty()) {
                        expected.merge("Socket accept", (long) jmxAfter.size(), Long::sum);
                    }
                    Map<String, Long> counted = new TreeMap<>();
                    for (Map.Entry<String, Long> entry : after.entrySet()) {
                        long delta = entry.getValue() - before.getOrDefault(entry.getKey(), 0L);
                        if (delta != 0) {
                            counted.put(entry.getKey(), delta);
                        }
                    }
                    assertEquals(expected, counted, "counted by the MBean during the application's connections"
                            + " and the JMX connections accepted meanwhile (" + jmxAfter + ")\n" + context);
                    assertEquals(after.values().stream().mapToLong(Long::longValue).sum(),
                            (Long) mbeans.getAttribute(agent, "ConnectionsHardenedTotal"), context);

                    boolean unix = running.stdout().contains("UNIX connected");
                    assertEquals(unix ? 2L : 0L, (Long) mbeans.getAttribute(agent, "ConnectionsSkippedNotTcp")
                            - skippedBefore, "both ends of the Unix-domain connection\n" + context);
                    Map<String, Long> replaced = longs(mbeans.getAttribute(agent, "ApplicationValuesReplaced"));
                    assertEquals(Map.of("keepalive", 1L, "keepalive.idle", 1L, "keepalive.interval", 0L,
                            "keepalive.count", 0L, "user_timeout", 0L), replaced, context);
                    assertEquals(Map.of(), longs(mbeans.getAttribute(agent, "Failures")), context);
                    assertEquals(Map.of(), longs(mbeans.getAttribute(agent, "ConnectionsByRule")), "no rules");
                    assertEquals(0L, (Long) mbeans.getAttribute(agent, "ConnectionsExcluded"), context);

                    Map<String, String> settings = strings(mbeans.getAttribute(agent, "Settings"));
                    assertEquals(Map.of("keepalive", "true", "keepalive.idle", "61s", "keepalive.interval", "11s",
                            "keepalive.count", "7", "user_timeout", "33000ms", "log.level", "info",
                            "log.file", "stderr", "log.required", "false", "keepalive.jitter", "0%",
                            "app.values", "replace"), settings, context);
                    Map<String, String> sources = strings(mbeans.getAttribute(agent, "SettingSources"));
                    assertEquals("agent argument", sources.get("keepalive.idle"), sources.toString());
                    assertEquals("default", sources.get("keepalive"), sources.toString());
                    assertEquals("default", sources.get("log.file"), sources.toString());

                    // A later attach replaces the settings; the MBean reads them live.
                    VirtualMachine vm = VirtualMachine.attach(Long.toString(running.pid()));
                    try {
                        vm.loadAgent(AgentJar.path().toString(), "keepalive.idle=42s," + rules(port));
                    } finally {
                        vm.detach();
                    }
                    Map<String, String> replacedSettings = strings(mbeans.getAttribute(agent, "Settings"));
                    assertEquals("42s", replacedSettings.get("keepalive.idle"), replacedSettings.toString());
                    assertEquals("6", replacedSettings.get("keepalive.count"), "the attach's settings replace all, "
                            + "with defaults for what it does not give: " + replacedSettings);
                    assertEquals("jmx out in", replacedSettings.get("rules"), replacedSettings.toString());
                    assertEquals("connect remote=127.0.0.1,::1", replacedSettings.get("rule.out.match"),
                            replacedSettings.toString());

                    assertCountedByRule(running, mbeans, agent);
                }
                running.closeStdin();
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
                assertFalse(running.stderr().contains(" ERROR: "), running.describe());
            }
        });
    }

    /**
     * Rules of the second round: the application's clients (to loopback, a match with a comma) get rule out's idle
     * time, the ends its listeners accept are left alone by rule in. A connection JMX's RMI connector accepts
     * meanwhile (RMI opens one when it likes) falls under rule jmx, with the global settings, and is told apart.
     */
    private static String rules(int jmxPort) {
        return "rules=jmx out in,rule.jmx.match=accept local-port=" + jmxPort
                + ",rule.out.match=connect remote=127.0.0.1,::1,rule.out.keepalive.idle=21s,rule.in.match=accept"
                + ",rule.in.keepalive=unchanged,rule.in.keepalive.idle=unchanged,rule.in.keepalive.interval=unchanged"
                + ",rule.in.keepalive.count=unchanged,rule.in.user_timeout=unchanged";
    }

    /**
     * A second round of the application's connections under {@link #rules}: ConnectionsByRule and ConnectionsExcluded
     * count them as the kernel shows them decided. Each client end carries rule out's values; each accepted end what
     * its listener gave it (the global settings, the agent set them on the listener), or, for the SocketChannel end
     * that set its idle time itself, that value, which nobody replaced.
     */
    private static void assertCountedByRule(ForkedJvm.Running running, MBeanServerConnection mbeans, ObjectName agent)
            throws Exception {
        Map<String, Long> byRuleBefore = longs(mbeans.getAttribute(agent, "ConnectionsByRule"));
        long excludedBefore = (Long) mbeans.getAttribute(agent, "ConnectionsExcluded");
        Map<String, Long> hardenedBefore = longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
        Map<String, Long> replacedBefore = longs(mbeans.getAttribute(agent, "ApplicationValuesReplaced"));
        int linesBefore = running.stdoutLines().size();
        running.sendLine("connect");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (running.stdoutLines().stream().filter("DONE"::equals).count() < 2) {
            assertTrue(System.nanoTime() < deadline, "no second DONE\n" + running.describe());
            Thread.sleep(20);
        }
        List<KernelSocket> kernel = KernelProbe.read(running.pid());
        String context = "by rule before " + byRuleBefore + "\n" + running.describe();
        List<String[]> conns = running.stdoutLines().subList(linesBefore, running.stdoutLines().size()).stream()
                .filter(l -> l.startsWith("CONN ")).map(l -> l.split(" ")).collect(Collectors.toList());
        assertEquals(8, conns.size(), context);
        for (String[] conn : conns) {
            int local = Integer.parseInt(conn[3]);
            int remote = Integer.parseInt(conn[4]);
            KernelSocket socket = kernel.stream().filter(s -> s.localPort == local && s.remotePort == remote)
                    .findFirst().orElseThrow(() -> new AssertionError("no kernel socket for " + String.join(" ", conn)
                            + "\n" + context));
            String idle = conn[2].equals("connect") ? "21" : conn[1].equals("SocketChannel") ? "7200" : "42";
            assertEquals("1 " + idle + " 10 6 120000", socket.options(), String.join(" ", conn) + "\n" + context);
            assertEquals("true " + idle, conn[5] + " " + conn[6], "the JDK's getters: " + String.join(" ", conn));
        }
        // Hardened first: a JMX connection accepted between the two readings is then in ConnectionsByRule only
        Map<String, Long> hardened = delta(hardenedBefore, longs(mbeans.getAttribute(agent, "ConnectionsHardened")));
        Map<String, Long> byRule = delta(byRuleBefore, longs(mbeans.getAttribute(agent, "ConnectionsByRule")));
        long excluded = (Long) mbeans.getAttribute(agent, "ConnectionsExcluded") - excludedBefore;
        long jmx = byRule.getOrDefault("jmx", 0L);
        byRule.remove("jmx");
        assertEquals(Map.of("out", 4L, "in", 4L), byRule, context);
        assertEquals(4L, excluded, context);
        long jmxHardened = hardened.getOrDefault("Socket accept", 0L);
        hardened.remove("Socket accept");
        assertTrue(jmxHardened <= jmx, "accepted ends hardened are JMX's (rule jmx " + jmx + "): " + hardened);
        assertEquals(Map.of("Socket connect", 2L, "SocketChannel connect", 1L, "AsynchronousSocketChannel connect",
                1L), hardened, "only what a rule hardened: " + context);
        assertEquals(Map.of("keepalive", 1L), delta(replacedBefore,
                longs(mbeans.getAttribute(agent, "ApplicationValuesReplaced"))),
                "the client's keepalive off replaced, the idle time of an end left alone not: " + context);
    }

    /** What grew from {@code before} to {@code after}, by key. */
    private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> grown = new TreeMap<>();
        for (Map.Entry<String, Long> entry : after.entrySet()) {
            long delta = entry.getValue() - before.getOrDefault(entry.getKey(), 0L);
            if (delta != 0) {
                grown.put(entry.getKey(), delta);
            }
        }
        return grown;
    }

    @TestFactory
    List<DynamicTest> theMBeanIsRegisteredWhicheverStartsFirstTheAgentOrJmx() {
        return PerJdk.tests(jdk -> {
            // The agent from the start, JMX started later by an attach, as jconsole does: the hook on
            // getPlatformMBeanServer registers the MBean then.
            ForkedJvm agentFirst = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(CountedConnectionsApp.class.getName()).javaagent(AgentJar.path(), AGENT_ARGS);
            try (ForkedJvm.Running running = agentFirst.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(60));
                String url;
                VirtualMachine vm = VirtualMachine.attach(Long.toString(running.pid()));
                try {
                    url = vm.startLocalManagementAgent();
                } finally {
                    vm.detach();
                }
                assertConnectionsCounted(running, new JMXServiceURL(url), "61s");
            }

            // JMX from the start, the agent attached later: it registers at once, the server being there already.
            int port = freePort();
            ForkedJvm jmxFirst = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(CountedConnectionsApp.class.getName())
                    .jvmArg("-Dcom.sun.management.jmxremote.port=" + port)
                    .jvmArg("-Dcom.sun.management.jmxremote.rmi.port=" + port)
                    .jvmArg("-Dcom.sun.management.jmxremote.host=127.0.0.1")
                    .jvmArg("-Djava.rmi.server.hostname=127.0.0.1")
                    .jvmArg("-Dcom.sun.management.jmxremote.authenticate=false")
                    .jvmArg("-Dcom.sun.management.jmxremote.ssl=false");
            try (ForkedJvm.Running running = jmxFirst.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(60));
                VirtualMachine vm = VirtualMachine.attach(Long.toString(running.pid()));
                try {
                    vm.loadAgent(AgentJar.path().toString(), "keepalive.idle=42s");
                } finally {
                    vm.detach();
                }
                assertConnectionsCounted(running, new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + port
                        + "/jmxrmi"), "42s");
            }
        });
    }

    /** The MBean is there with the given keepalive.idle, and counts the application's SocketChannel connection. */
    private static void assertConnectionsCounted(ForkedJvm.Running running, JMXServiceURL url, String idle)
            throws Exception {
        try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
            MBeanServerConnection mbeans = connector.getMBeanServerConnection();
            ObjectName agent = new ObjectName("tcphardening:type=Agent");
            assertEquals(idle, strings(mbeans.getAttribute(agent, "Settings")).get("keepalive.idle"),
                    running.describe());
            running.sendLine("connect");
            running.awaitLine("DONE"::equals, Duration.ofSeconds(30));
            Map<String, Long> counted = longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
            // JMX's own connections are java.net.Sockets: the application's channels are counted exactly
            assertEquals(1L, counted.get("SocketChannel connect"), counted + "\n" + running.describe());
            assertEquals(1L, counted.get("AsynchronousSocketChannel accept"), counted + "\n" + running.describe());
        }
        running.closeStdin();
        assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
    }

    static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** An MXBean's Map&lt;String, Long&gt;: a table of rows {key, value}. */
    static Map<String, Long> longs(Object table) {
        Map<String, Long> map = new TreeMap<>();
        for (Object row : ((TabularData) table).values()) {
            map.put((String) ((CompositeData) row).get("key"), (Long) ((CompositeData) row).get("value"));
        }
        return map;
    }

    static Map<String, String> strings(Object table) {
        Map<String, String> map = new TreeMap<>();
        for (Object row : ((TabularData) table).values()) {
            map.put((String) ((CompositeData) row).get("key"), (String) ((CompositeData) row).get("value"));
        }
        return map;
    }

    /** The agent's counts once two readings half a second apart agree (at most ten seconds). */
    private static Map<String, Long> settledCounts(MBeanServerConnection mbeans, ObjectName agent) throws Exception {
        Map<String, Long> previous = longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
        for (int i = 0; i < 20; i++) {
            Thread.sleep(500);
            Map<String, Long> current = longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
            if (current.equals(previous)) {
                return current;
            }
            previous = current;
        }
        return previous;
    }

    /** The remote ports of the connections the target accepted on its JMX port, as the kernel holds them. */
    private static Set<Integer> jmxPeers(long pid, int port) {
        return KernelProbe.read(pid).stream().filter(s -> !s.isListener() && s.localPort == port)
                .map(s -> s.remotePort).collect(Collectors.toCollection(HashSet::new));
    }

}
