package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.ThreadDump;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Living with another agent: the OpenTelemetry Java agent (from Maven Central, {@code it/target/otel/}) listed
 * before ours and after it, on the JDK's HTTP clients and on a Netty epoll application, on every JDK. Both agents
 * must work: the application's output is what it is without any agent, every TCP connection carries our options
 * (read from outside the process, {@link KernelProbe}), and OpenTelemetry is active: it logs its version, it injects
 * its trace context into the JDK clients' requests (the HTTP server counts {@code traceparent} headers), and it
 * rewrites Netty's classes (its debug log names them). Its exporters are off: nothing leaves the machine. For the JDK
 * clients it runs as shipped, every instrumentation on; for Netty only its Netty instrumentation is on, with its
 * debug log, which names each class it rewrites (a full start with the debug log costs several seconds more).
 */
class OtherAgentsIT {

    private enum Order {
        OPENTELEMETRY_FIRST, OURS_FIRST
    }

    private static final String[] HTTP_SCENARIOS = {"socket-constructor", "http-clients"};
    /** The JDK clients' run without any agent, once per JDK. */
    private static final Map<Integer, Run> BASELINES = new ConcurrentHashMap<>();

    @TestFactory
    List<DynamicNode> jdkHttpClientsWithOpenTelemetry() {
        return perJdkAndOrder((jdk, order) -> {
            Run alone = BASELINES.computeIfAbsent(jdk.major(), major -> run(jdk, null, false, JdkConnectionsApp.class
                    .getName(), AgentJar.testClasses(), HTTP_SCENARIOS));
            assertTrue(alone.stdout.contains("HTTP http-clients 200 200 traced 0"), alone.toString());
            Run both = run(jdk, order, false, JdkConnectionsApp.class.getName(), AgentJar.testClasses(),
                    HTTP_SCENARIOS);
            assertEquals(applicationOutput(alone.stdout), applicationOutput(both.stdout), both.toString());
            assertTrue(both.stdout.contains("HTTP http-clients 200 200 traced 2"),
                    "OpenTelemetry traced both JDK clients' requests: " + both);
            both.assertOursApplied(JdkCoverageIT.CONFIGURED, true);
        });
    }

    @TestFactory
    List<DynamicNode> nettyEpollWithOpenTelemetry() {
        return perJdkAndOrder((jdk, order) -> {
            Run both = run(jdk, order, true, "io.tcphardening.fixtures.NettyApp", Fixtures.classpath("netty"), "epoll");
            List<String> conns = both.stdout.lines().filter(l -> l.startsWith("CONN ")).collect(Collectors.toList());
            // two client and two accepted channels, each read at handlerAdded, channelActive and afterwards
            assertEquals(12, conns.size(), both.toString());
            for (String conn : conns) {
                // Netty's own getters: keepalive idle interval count user timeout
                assertTrue(conn.endsWith(" true 61 11 7 33000"), conn + "\n" + both);
            }
            assertTrue(both.stderr.lines().anyMatch(l -> l.contains("Transformed io.netty.")),
                    "OpenTelemetry rewrote Netty's classes: " + both);
            // Netty's native listener keeps the kernel's values (README, Limits): connections only
            both.assertOursApplied(JdkCoverageIT.CONFIGURED, false);
            assertEquals(4, both.stderr.lines().filter(l -> l.contains("tcp-hardening INFO: Netty epoll ")).count(),
                    both.toString());
        });
    }

    private interface Check {
        void run(Jdks.Jdk jdk, Order order) throws Exception;
    }

    private static List<DynamicNode> perJdkAndOrder(Check check) {
        List<DynamicNode> perJdk = new ArrayList<>();
        for (Jdks.Jdk jdk : Jdks.all()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Order order : Order.values()) {
                tests.add(DynamicTest.dynamicTest(order.toString(), () -> check.run(jdk, order)));
            }
            perJdk.add(DynamicContainer.dynamicContainer("JDK " + jdk.major(), tests));
        }
        return perJdk;
    }

    /** The application's own lines, less the connections' (ports, and our options) and the trace count. */
    private static List<String> applicationOutput(String stdout) {
        return stdout.lines().filter(l -> !l.startsWith("CONN ")).map(l -> l.replaceAll(" traced \\d+$", ""))
                .collect(Collectors.toList());
    }

    /**
     * Without agents ({@code order} null), or with OpenTelemetry and ours in that order; {@code otelNettyDebug}: only
     * OpenTelemetry's Netty instrumentation, with its debug log.
     */
    private static Run run(Jdks.Jdk jdk, Order order, boolean otelNettyDebug, String mainClass, String classpath,
                           String... args) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(classpath).mainClass(mainClass).args(args);
        if (order == Order.OURS_FIRST) {
            jvm.javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS);
        }
        if (order != null) {
            jvm.jvmArg("-javaagent:" + openTelemetryAgent()).jvmArg("-Dotel.traces.exporter=none")
                    .jvmArg("-Dotel.metrics.exporter=none").jvmArg("-Dotel.logs.exporter=none");
            if (otelNettyDebug) {
                jvm.jvmArg("-Dotel.instrumentation.common.default-enabled=false")
                        .jvmArg("-Dotel.instrumentation.netty.enabled=true").jvmArg("-Dotel.javaagent.debug=true");
            }
        }
        if (order == Order.OPENTELEMETRY_FIRST) {
            jvm.javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS);
        }
        try (ForkedJvm.Running running = jvm.start()) {
            ThreadDump.awaitLine(jdk, running, "READY"::equals, Duration.ofSeconds(120));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(60)), running.describe());
            Run result = new Run(running.stdout(), running.stderr(), kernel);
            if (order != null) {
                assertTrue(result.stderr.contains("opentelemetry-javaagent - version: "
                        + System.getProperty("otel.javaagent.version")), "OpenTelemetry started: " + result);
            }
            return result;
        }
    }

    private static Path openTelemetryAgent() {
        Path jar = Paths.get(System.getProperty("otel.javaagent.jar", "target/otel/opentelemetry-javaagent.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: mvn -pl it generate-test-resources fetches it");
        }
        return jar;
    }

    private static final class Run {
        final String stdout;
        final String stderr;
        final List<KernelSocket> kernel;

        Run(String stdout, String stderr, List<KernelSocket> kernel) {
            this.stdout = stdout;
            this.stderr = stderr;
            this.kernel = kernel;
        }

        /** Our options on every TCP socket (or every connection), one log line per connection end, no failure. */
        void assertOursApplied(String expected, boolean listenersToo) {
            List<KernelSocket> sockets = kernel.stream().filter(s -> listenersToo || !s.isListener())
                    .collect(Collectors.toList());
            assertFalse(sockets.isEmpty(), toString());
            for (KernelSocket socket : sockets) {
                assertEquals(expected, socket.options(), socket + "\n" + this);
            }
            long connections = kernel.stream().filter(s -> !s.isListener()).count();
            long lines = stderr.lines().filter(l -> l.contains("tcp-hardening INFO: ")
                    && (l.contains(" connect ") || l.contains(" accept "))).count();
            assertTrue(lines >= connections, "a line for each connection end: " + this);
            assertTrue(stderr.contains(" active on JDK "), toString());
            assertFalse(stderr.contains("tcp-hardening WARN") || stderr.contains("tcp-hardening ERROR")
                    || stderr.contains("NOT ACTIVE"), toString());
        }

        @Override
        public String toString() {
            return "--- stdout\n" + stdout + "--- stderr\n" + stderr + "--- kernel\n"
                    + kernel.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"));
        }
    }
}
