package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.FreePorts;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Rules on Netty channels, in forked JVMs with the agent on every JDK: NIO, epoll and io_uring (Netty 4.2; NIO and
 * epoll on 4.1 too) through the Netty fixture's NettyRulesApp, and grpc-netty-shaded's relocated epoll through
 * GrpcApp. A connect rule by port and an accept rule by local port, and app.values=stricter against TCP_KEEPIDLE set
 * in the application's bootstraps (option and childOption), stricter and weaker than the rule's; and a rule's user
 * timeout bounding a connect to a host that does not answer, which proves it decided before the SYN. Asserted in the
 * kernel from outside the process, and through Netty's own getters in the application.
 */
class NettyRulesIT {

    private static final String GLOBAL = "keepalive.idle=61s\nkeepalive.interval=11s\nkeepalive.count=7\n"
            + "user_timeout=33s\nlog.level=info\n";

    @TestFactory
    List<DynamicNode> rulesDecideNettyChannelsOnEveryTransport() {
        List<DynamicNode> perJdk = new ArrayList<>();
        for (Jdks.Jdk jdk : Jdks.all()) {
            List<DynamicTest> tests = new ArrayList<>();
            for (String transport : List.of("nio", "epoll", "io_uring")) {
                tests.add(DynamicTest.dynamicTest("Netty 4.2 " + transport,
                        () -> checkNetty(jdk, Fixtures.classpath("netty"), transport)));
            }
            for (String transport : List.of("nio", "epoll")) {
                tests.add(DynamicTest.dynamicTest("Netty 4.1 " + transport,
                        () -> checkNetty(jdk, Fixtures.nettyFourOneClasspath(), transport)));
            }
            perJdk.add(DynamicContainer.dynamicContainer(jdk.name(), tests));
        }
        return perJdk;
    }

    /**
     * Ports: {@code plain} has a connect rule and an accept rule of their own (user_timeout 21 s and 22 s); the
     * stricter rules (idle 30 s; 23 s, 24 s) hold the weaker of the bootstraps' TCP_KEEPIDLE to 30 and let the
     * stronger 5 stand; a connect that no rule matches gets the global values (33 s).
     */
    private static void checkNetty(Jdks.Jdk jdk, String classpath, String transport) throws IOException {
        int plain = FreePorts.next();
        int weakChild = FreePorts.next();
        int strongChild = FreePorts.next();
        int hole = FreePorts.next();
        String config = GLOBAL + "rules=n-out n-in s-out s-in n-hole\n"
                + "rule.n-out.match=connect port=" + plain + "\nrule.n-out.user_timeout=21s\n"
                + "rule.n-in.match=accept remote=127.0.0.0/8 local-port=" + plain + "\nrule.n-in.user_timeout=22s\n"
                + "rule.s-out.match=connect port=" + weakChild + "\nrule.s-out.user_timeout=23s\n"
                + "rule.s-out.keepalive.idle=30s\nrule.s-out.app.values=stricter\n"
                + "rule.s-in.match=accept local-port=" + weakChild + "," + strongChild + "\n"
                + "rule.s-in.user_timeout=24s\nrule.s-in.keepalive.idle=30s\nrule.s-in.app.values=stricter\n"
                + "rule.n-hole.match=connect port=" + hole + "\nrule.n-hole.user_timeout=2s\n";
        Run run = run(jdk, classpath, "io.tcphardening.fixtures.NettyRulesApp", config, transport,
                Integer.toString(plain), Integer.toString(weakChild), Integer.toString(strongChild),
                Integer.toString(hole));
        List<String[]> conns = run.stdout.lines().filter(l -> l.startsWith("CONN ")).map(l -> l.split(" "))
                .collect(Collectors.toList());
        assertEquals(8, conns.size(), "four clients, four accepted channels\n" + run);
        Map<String, String> expected = Map.of(
                "client plain", "1 61 11 7 21000",
                "accepted plain", "1 61 11 7 22000",
                "client strong", "1 5 11 7 23000",
                "client weak", "1 30 11 7 23000",
                "accepted weak-child", "1 30 11 7 24000",
                "client to-strong-child", "1 61 11 7 33000",
                "accepted strong-child", "1 5 11 7 24000");
        List<String> wrong = new ArrayList<>();
        for (String[] conn : conns) {
            String end = conn[1] + " " + conn[2];
            KernelSocket socket = run.socket(Integer.parseInt(conn[3]), Integer.parseInt(conn[4]));
            if (!socket.options().equals(expected.get(end))) {
                wrong.add(end + ": kernel " + socket.options() + ", expected " + expected.get(end));
            }
            // Netty's getters: keepalive idle interval count user timeout (-1: NIO has no option for it)
            String netty = (conn[5].equals("true") ? "1" : "0") + " " + conn[6] + " " + conn[7] + " " + conn[8]
                    + (conn[9].equals("-1") ? "" : " " + conn[9]);
            if (!socket.options().startsWith(netty)) {
                wrong.add(end + ": Netty's getters " + netty + ", the kernel " + socket.options());
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong) + "\n" + run);
        String kind = transport.equals("nio") ? "SocketChannel " : "Netty " + transport + " ";
        // (the application's JDK channels that fill the accept queue of the host that does not answer are left out)
        assertEquals(8, run.stderr.lines().filter(l -> l.contains("INFO: " + kind) && l.contains(" rule=")
                && !l.contains(":" + hole + " ") && !l.contains(":" + hole + ":")).count(),
                "one line per connection end, with its rule\n" + run);
        // the rule's user timeout, set before the SYN, ends a connect that the kernel would retry for two minutes
        String outcome = run.stdout.lines().filter(l -> l.startsWith("HOLE ")).findFirst().orElseThrow();
        System.out.println("[netty-rules] " + jdk.name() + " " + transport + " connect to a host that does not answer"
                + " (ms, outcome): " + outcome);
        assertTrue(outcome.contains("Connection timed out"), outcome + "\n" + run);
    }

    /**
     * grpc-netty-shaded: the relocated epoll transport. Its builders set TCP_KEEPIDLE with the relocated
     * EpollChannelOption: 5 s on the client (stricter than the rule's 30 s: stands), 300 s on the server's accepted
     * channels (weaker: the rule's stands).
     */
    @TestFactory
    List<DynamicTest> rulesDecideGrpcNettyShadedChannels() {
        return PerJdk.tests(jdk -> {
            int port = FreePorts.next();
            String config = GLOBAL + "rules=g-out g-in\n"
                    + "rule.g-out.match=connect port=" + port + "\nrule.g-out.user_timeout=25s\n"
                    + "rule.g-out.keepalive.idle=30s\nrule.g-out.app.values=stricter\n"
                    + "rule.g-in.match=accept remote=127.0.0.1 local-port=" + port + "\nrule.g-in.user_timeout=26s\n"
                    + "rule.g-in.keepalive.idle=30s\nrule.g-in.app.values=stricter\n";
            Run run = run(jdk, Fixtures.classpath("grpc"), "io.tcphardening.fixtures.GrpcApp", config,
                    Integer.toString(port), "5", "300");
            assertTrue(run.stdout.contains("REPLY echo hello"), run.toString());
            List<KernelSocket> connections = run.kernel.stream().filter(s -> !s.isListener())
                    .collect(Collectors.toList());
            List<KernelSocket> clients = connections.stream().filter(s -> s.remotePort == port)
                    .collect(Collectors.toList());
            List<KernelSocket> accepted = connections.stream().filter(s -> s.localPort == port)
                    .collect(Collectors.toList());
            assertEquals(1, clients.size(), run.toString());
            assertEquals(1, accepted.size(), run.toString());
            assertEquals("1 5 11 7 25000", clients.get(0).options(), run.toString());
            assertEquals("1 30 11 7 26000", accepted.get(0).options(), run.toString());
            assertEquals(2, run.stderr.lines().filter(l -> l.contains("INFO: Netty epoll (io.grpc.netty.shaded.io.netty)")
                    && l.contains(" rule=g-")).count(), run.toString());
        });
    }

    // ---- running a fixture

    private static Run run(Jdks.Jdk jdk, String classpath, String mainClass, String config, String... args)
            throws IOException {
        Path file = Files.createTempFile("tcph-netty-rules-", ".properties");
        try {
            Files.writeString(file, config);
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(classpath).mainClass(mainClass).args(args)
                    .javaagent(AgentJar.path(), "config=" + file);
            try (ForkedJvm.Running running = jvm.start()) {
                String first = running.awaitLine(l -> l.equals("READY") || l.startsWith("SKIP "), Duration.ofSeconds(90));
                if (first.startsWith("SKIP ")) {
                    System.out.println("[netty-rules] " + String.join(" ", args) + " on " + jdk.name() + " skipped: "
                            + first);
                    Assumptions.abort(first);
                }
                List<KernelSocket> kernel = KernelProbe.read(running.pid());
                running.sendLine("done");
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
                Run run = new Run(running.stdout(), running.stderr(), kernel);
                assertFalse(run.stderr.contains(" WARN: ") || run.stderr.contains(" ERROR: "), run.toString());
                return run;
            }
        } finally {
            Files.deleteIfExists(file);
        }
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

        KernelSocket socket(int localPort, int remotePort) {
            return kernel.stream().filter(s -> s.localPort == localPort && s.remotePort == remotePort).findFirst()
                    .orElseThrow(() -> new AssertionError("not in the kernel's table: " + localPort + " -> "
                            + remotePort + "\n" + this));
        }

        @Override
        public String toString() {
            return "--- stdout\n" + stdout + "--- stderr\n" + stderr + "--- kernel\n"
                    + kernel.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"));
        }
    }
}
