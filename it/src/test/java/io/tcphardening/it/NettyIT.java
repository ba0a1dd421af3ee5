package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HelloApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Netty on every transport, 4.1 and 4.2, gRPC's relocated copy and Reactor Netty, in forked JVMs with the agent on
 * every JDK. Asserted through Netty's own getters in the application (in its handler, the moment it first sees a
 * channel and when the channel becomes active, and later) and the kernel's values read from outside the process;
 * each connection end is logged exactly once, whichever layers it passes.
 */
class NettyIT {

    /** A run of the Netty fixture: which Netty, which transport, which application behaviour. */
    private static final class Case {
        final String netty;
        final String transport;
        final String behaviour;

        Case(String netty, String transport, String behaviour) {
            this.netty = netty;
            this.transport = transport;
            this.behaviour = behaviour;
        }

        @Override
        public String toString() {
            return "Netty " + netty + " " + transport + (behaviour.isEmpty() ? "" : " " + behaviour);
        }
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (String transport : List.of("nio", "epoll", "io_uring")) {
            for (String behaviour : List.of("", "--weak-bootstrap", "--weak-after")) {
                cases.add(new Case("4.2", transport, behaviour));
            }
        }
        for (String transport : List.of("nio", "epoll")) {
            for (String behaviour : List.of("", "--weak-bootstrap", "--weak-after")) {
                cases.add(new Case("4.1", transport, behaviour));
            }
        }
        return cases;
    }

    @TestFactory
    List<DynamicNode> nettyChannelsCarryTheConfiguredOptions() {
        List<DynamicNode> perJdk = new ArrayList<>();
        for (Jdks.Jdk jdk : Jdks.all()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Case c : cases()) {
                tests.add(DynamicTest.dynamicTest(c.toString(), () -> check(jdk, c)));
            }
            perJdk.add(DynamicContainer.dynamicContainer("JDK " + jdk.major(), tests));
        }
        return perJdk;
    }

    /**
     * At {@code log.level=warn} nothing reports a channel's values, so none is read back when it becomes active
     * (issue 21): what the bootstrap's and the acceptor's hooks wrote, and the replacements of the application's
     * writes, must be in the kernel all the same.
     */
    @TestFactory
    List<DynamicNode> nettyChannelsCarryTheOptionsWhenNothingIsReadBack() {
        List<DynamicNode> perJdk = new ArrayList<>();
        for (Jdks.Jdk jdk : Jdks.all()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (Case c : cases()) {
                if (c.netty.equals("4.2")) {
                    tests.add(DynamicTest.dynamicTest(c.toString(), () -> check(jdk, c, "warn")));
                }
            }
            perJdk.add(DynamicContainer.dynamicContainer("JDK " + jdk.major(), tests));
        }
        return perJdk;
    }

    private static void check(Jdks.Jdk jdk, Case c) {
        check(jdk, c, null);
    }

    /** {@code logLevel}: null for the default, {@code info}, whose lines are checked too. */
    private static void check(Jdks.Jdk jdk, Case c, String logLevel) {
        String classpath = c.netty.equals("4.2") ? Fixtures.classpath("netty") : Fixtures.nettyFourOneClasspath();
        List<String> args = new ArrayList<>(List.of(c.transport));
        if (!c.behaviour.isEmpty()) {
            args.add(c.behaviour);
        }
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(classpath).mainClass("io.tcphardening.fixtures.NettyApp")
                .args(args.toArray(new String[0])).javaagent(AgentJar.path(),
                        JdkCoverageIT.AGENT_ARGS + (logLevel == null ? "" : ",log.level=" + logLevel));
        try (ForkedJvm.Running running = jvm.start()) {
            String first = running.awaitLine(l -> l.equals("READY") || l.startsWith("SKIP "), Duration.ofSeconds(60));
            if (first.startsWith("SKIP ")) {
                System.out.println("[netty] " + c + " on JDK " + jdk.major() + " skipped: " + first);
                Assumptions.abort(first);
            }
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            String context = c + "\n" + running.describe() + "--- kernel\n" + kernel;

            List<String[]> conns = running.stdoutLines().stream().filter(l -> l.startsWith("CONN "))
                    .map(l -> l.split(" ")).collect(Collectors.toList());
            // each of the two clients and two accepted channels as its handler saw it when added to its pipeline,
            // when it became active, and now
            assertEquals(12, conns.size(), "two clients and two accepted channels, three moments each: " + context);
            for (String[] conn : conns) {
                // Netty's own getters: keepalive, idle, interval, count, user timeout (-1: NIO has none); a hook
                // that ran after the application's handlers fails this every time, not only under load
                String expected = c.transport.equals("nio") ? "true 61 11 7 -1" : "true 61 11 7 33000";
                assertEquals(expected, String.join(" ", conn[6], conn[7], conn[8], conn[9], conn[10]),
                        conn[2] + " channel at " + conn[5] + ": " + context);
                KernelSocket socket = kernel.stream().filter(s -> s.localPort == Integer.parseInt(conn[3])
                        && s.remotePort == Integer.parseInt(conn[4])).findFirst()
                        .orElseThrow(() -> new AssertionError("not in the kernel's table: " + context));
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), context);
            }
            if (logLevel != null) {
                assertFalse(running.stderr().contains(" WARN: ") || running.stderr().contains(" ERROR: "), context);
                return;
            }
            // Exactly one line per connection end: a Netty NIO channel is also a JDK SocketChannel, logged once.
            String kind = c.transport.equals("nio") ? "SocketChannel" : "Netty " + c.transport;
            List<String> lines = running.stderr().lines().filter(l -> l.contains(" connect ") || l.contains(" accept "))
                    .collect(Collectors.toList());
            assertEquals(4, lines.size(), context);
            assertTrue(lines.stream().allMatch(l -> l.contains("INFO: " + kind + " ")), context);
            if (!c.behaviour.isEmpty()) {
                assertTrue(running.stderr().contains("application's keepalive=false replaced by true"), context);
                assertTrue(running.stderr().contains("application's keepalive.idle=7200s replaced by 61s"), context);
            }
            if (c.behaviour.equals("--weak-bootstrap") && !c.transport.equals("nio")) {
                // options from the bootstrap are reported in the connection's own line
                assertTrue(lines.stream().allMatch(l -> l.contains("application's keepalive=false replaced by true")),
                        context);
            }
            assertFalse(running.stderr().contains(" WARN: ") || running.stderr().contains(" ERROR: "), context);
        }
    }

    @TestFactory
    List<DynamicTest> grpcNettyShaded() {
        return PerJdk.tests(jdk -> {
            Observation observation = observe(jdk, "grpc", "io.tcphardening.fixtures.GrpcApp");
            assertTrue(observation.stdout.contains("REPLY echo hello"), observation.toString());
            observation.assertConnectionsConfigured(2);
            assertEquals(2, observation.lines("INFO: Netty epoll (io.grpc.netty.shaded.io.netty) "), observation.toString());
        });
    }

    @TestFactory
    List<DynamicTest> reactorNettyHttp() {
        return PerJdk.tests(jdk -> {
            Observation observation = observe(jdk, "reactor", "io.tcphardening.fixtures.ReactorApp");
            assertTrue(observation.stdout.contains("REPLY hello"), observation.toString());
            observation.assertConnectionsConfigured(2);
            assertEquals(2, observation.lines("INFO: Netty epoll "), observation.toString());
        });
    }

    @TestFactory
    List<DynamicTest> aPlainJdkApplicationLoadsNeitherNettyNorAsm() {
        return PerJdk.tests(jdk -> {
            // Netty is even on the class path; the application does not use it, so nothing of it may load. Nor ASM:
            // the JDK's socket classes are hooked by JdkClassPatcher, ASM is for Netty's.
            ForkedJvm.Result result = ForkedJvm.on(jdk)
                    .classpath(AgentJar.testClasses(), Fixtures.classpath("netty"))
                    .mainClass(HelloApp.class.getName()).jvmArg("-Xlog:class+load=info")
                    .javaagent(AgentJar.path(), "log.level=warn").run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stdout.contains("CONNECTED true"), result.toString());
            List<String> netty = result.stdout.lines().filter(l -> l.toLowerCase().contains("netty"))
                    .collect(Collectors.toList());
            assertEquals(List.of(), netty, "classes loaded that name Netty");
            List<String> asm = result.stdout.lines().filter(l -> l.contains("io.tcphardening.shaded.bytebuddy"))
                    .collect(Collectors.toList());
            assertEquals(List.of(), asm, "classes of the agent's Byte Buddy (ASM) loaded");
            assertTrue(result.stdout.contains("io.tcphardening.agent.harden.SocketHardener"), "the agent ran");
        });
    }

    private static Observation observe(Jdks.Jdk jdk, String fixture, String mainClass) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(Fixtures.classpath(fixture)).mainClass(mainClass)
                .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS);
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(90));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            return new Observation(running.stdout(), running.stderr(), kernel);
        }
    }

    private static final class Observation {
        final String stdout;
        final String stderr;
        final List<KernelSocket> kernel;

        Observation(String stdout, String stderr, List<KernelSocket> kernel) {
            this.stdout = stdout;
            this.stderr = stderr;
            this.kernel = kernel;
        }

        /** Every established TCP connection of the process carries the configured values. */
        void assertConnectionsConfigured(int atLeast) {
            List<KernelSocket> connections = kernel.stream().filter(s -> !s.isListener()).collect(Collectors.toList());
            assertTrue(connections.size() >= atLeast, toString());
            for (KernelSocket socket : connections) {
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + this);
            }
        }

        long lines(String containing) {
            return stderr.lines().filter(l -> l.contains(containing)
                    && (l.contains(" connect ") || l.contains(" accept "))).count();
        }

        @Override
        public String toString() {
            return "--- stdout\n" + stdout + "--- stderr\n" + stderr + "--- kernel\n" + kernel;
        }
    }
}
