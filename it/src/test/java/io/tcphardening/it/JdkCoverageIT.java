package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every kind of JDK connection of the coverage list, in a forked JVM with the agent, on every JDK of the machine.
 * The kernel's values are read from outside the process ({@link KernelProbe}: pidfd_getfd + getsockopt), and the
 * application's own view through the JDK's getters; neither shares code with the agent's setter.
 */
class JdkCoverageIT {

    /** Values unlike both the agent's defaults and the kernel's, so that each must come from the configuration. */
    static final String AGENT_ARGS = "keepalive.idle=61s,keepalive.interval=11s,keepalive.count=7,user_timeout=33s";
    static final String CONFIGURED = "1 61 11 7 33000";

    @TestFactory
    List<DynamicTest> everyConnectionKindCarriesTheConfiguredOptions() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, AGENT_ARGS + ",log.level=info");
            List<String> scenarios = observed.scenarios();
            assertTrue(scenarios.size() >= 13, "every scenario reported connections: " + scenarios);
            if (jdk.major() >= 21) {
                assertTrue(scenarios.contains("virtual-thread"), "virtual threads on JDK " + jdk.major());
            }
            observed.assertEveryTcpSocket(CONFIGURED);
            observed.assertApplicationSees("true 61 11 7");
            assertTrue(observed.stdout.contains("HTTP http-clients 200 200"), observed.describe());
            assertTrue(observed.stdout.contains("UNIX not-tcp connected") || jdk.major() < 16, observed.describe());
            for (String[] conn : observed.conns) {
                // one log line per connection end, with the values read back from the kernel
                String direction = conn[2].equals("client") ? " connect " : " accept ";
                assertTrue(observed.stderr.lines().anyMatch(line -> line.contains(direction)
                                && line.contains(":" + conn[3] + " ") && line.contains(":" + conn[4] + ":")
                                && line.contains("keepalive=true keepalive.idle=61s keepalive.interval=11s "
                                + "keepalive.count=7 user_timeout=33000ms")),
                        "a log line for " + String.join(" ", conn) + "\n" + observed.describe());
            }
            assertFalse(observed.stderr.contains(" WARN: ") || observed.stderr.contains(" ERROR: "),
                    observed.describe());
        });
    }

    /**
     * At {@code log.level=warn} nothing reports a connection's values, so the agent reads none back (issue 21): what
     * its hooks wrote, and what accepted connections inherit from listeners the hooks wrote, must be in the kernel
     * all the same, including where the application wrote weaker values before or after connect.
     */
    @TestFactory
    List<DynamicTest> everyConnectionKindCarriesTheOptionsWhenNothingIsReadBack() {
        return PerJdk.socketTests(jdk -> {
            for (String writes : List.of("--weak-before", "--weak-after")) {
                Observed observed = run(jdk, AGENT_ARGS + ",log.level=warn", writes);
                assertTrue(observed.scenarios().size() >= 13, "every scenario reported connections: "
                        + observed.scenarios());
                observed.assertEveryTcpSocket(CONFIGURED);
                observed.assertApplicationSees("true 61 11 7");
                assertFalse(observed.stderr.contains(" WARN: ") || observed.stderr.contains(" ERROR: "),
                        observed.describe());
            }
        });
    }

    @TestFactory
    List<DynamicTest> ipv6ConnectionsCarryTheConfiguredOptions() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, AGENT_ARGS, "--ipv6", "socket-constructor", "socket-channel-blocking",
                    "async-future", "http-clients");
            assertTrue(observed.kernel.stream().anyMatch(s -> s.local.startsWith("[::1]")), observed.describe());
            observed.assertEveryTcpSocket(CONFIGURED);
        });
    }

    @TestFactory
    List<DynamicTest> applicationWritesBeforeConnectAreReplaced() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, AGENT_ARGS + ",log.level=info", "--weak-before");
            observed.assertEveryTcpSocket(CONFIGURED);
            observed.assertApplicationSees("true 61 11 7");
            assertTrue(observed.stderr.contains("application's keepalive=false replaced by true")
                    && observed.stderr.contains("application's keepalive.idle=7200s replaced by 61s"), observed.describe());
        });
    }

    @TestFactory
    List<DynamicTest> applicationWritesAfterConnectAreReplaced() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, AGENT_ARGS + ",log.level=info", "--weak-after");
            observed.assertEveryTcpSocket(CONFIGURED);
            observed.assertApplicationSees("true 61 11 7");
            long lines = observed.stderr.lines().filter(l -> l.contains("application's keepalive=false replaced")).count();
            // once per connection end that wrote it (two per scenario), not once per call
            assertEquals(observed.conns.size(), lines, observed.describe());
        });
    }

    @TestFactory
    List<DynamicTest> anUnchangedOptionKeepsTheApplicationsValue() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, AGENT_ARGS.replace("keepalive.idle=61s", "keepalive.idle=unchanged"), "--idle-77",
                    "socket-constructor", "socket-channel-blocking", "async-future");
            observed.assertConnectionsHave("1 77 11 7 33000");
            observed.assertApplicationSees("true 77 11 7");
        });
    }

    @TestFactory
    List<DynamicTest> withoutTheAgentTheKernelDefaultsRemain() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = run(jdk, null, "socket-constructor", "socket-channel-blocking", "async-future");
            String idle = sysctl("tcp_keepalive_time");
            String interval = sysctl("tcp_keepalive_intvl");
            String count = sysctl("tcp_keepalive_probes");
            observed.assertEveryTcpSocket("0 " + idle + " " + interval + " " + count + " 0");
            assertFalse(observed.stderr.contains("tcp-hardening"), observed.describe());
        });
    }

    /** A value of net.ipv4 (read line by line: Files.readString returns only the first byte of these files). */
    static String sysctl(String name) throws java.io.IOException {
        try (java.io.BufferedReader reader = Files.newBufferedReader(Paths.get("/proc/sys/net/ipv4", name))) {
            return reader.readLine().trim();
        }
    }

    // ---- running the application and observing it

    static Observed run(Jdks.Jdk jdk, String agentArgs, String... appArgs) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                .mainClass(JdkConnectionsApp.class.getName()).args(appArgs);
        if (agentArgs != null) {
            jvm.javaagent(AgentJar.path(), agentArgs);
        }
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(60));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            return new Observed(running.stdoutLines(), running.stderr(), kernel);
        }
    }

    /** What the application printed and what the kernel held while it waited. */
    static final class Observed {
        final String stdout;
        final String stderr;
        final List<String[]> conns = new ArrayList<>();
        final List<KernelSocket> kernel;

        Observed(List<String> lines, String stderr, List<KernelSocket> kernel) {
            this.stdout = String.join("\n", lines);
            this.stderr = stderr;
            this.kernel = kernel;
            for (String line : lines) {
                if (line.startsWith("CONN ")) {
                    conns.add(line.split(" "));
                }
            }
        }

        List<String> scenarios() {
            return conns.stream().map(c -> c[1]).distinct().collect(Collectors.toList());
        }

        /** Every TCP socket of the process, listeners and HTTP clients' pooled connections included. */
        void assertEveryTcpSocket(String expected) {
            assertFalse(kernel.isEmpty(), describe());
            for (KernelSocket socket : kernel) {
                assertEquals(expected, socket.options(), "kernel values of " + socket + "\n" + describe());
            }
            assertConnectionsHave(expected);
        }

        /** The sockets the application reported, each found in the kernel's table. */
        void assertConnectionsHave(String expected) {
            assertFalse(conns.isEmpty(), describe());
            for (String[] conn : conns) {
                int local = Integer.parseInt(conn[3]);
                int remote = Integer.parseInt(conn[4]);
                KernelSocket socket = kernel.stream().filter(s -> s.localPort == local && s.remotePort == remote)
                        .findFirst().orElseThrow(() -> new AssertionError("no kernel socket for "
                                + String.join(" ", conn) + "\n" + describe()));
                assertEquals(expected, socket.options(), String.join(" ", conn) + "\n" + describe());
            }
        }

        /** The application's view through the JDK's getters: keepalive idle interval count. */
        void assertApplicationSees(String expected) {
            for (String[] conn : conns) {
                assertEquals(expected, String.join(" ", conn[5], conn[6], conn[7], conn[8]), String.join(" ", conn));
            }
        }

        String describe() {
            return "--- stdout\n" + stdout + "\n--- stderr\n" + stderr + "--- kernel\n"
                    + kernel.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"));
        }
    }
}
