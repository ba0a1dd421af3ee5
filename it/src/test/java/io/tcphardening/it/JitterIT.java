package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code keepalive.jitter}: each connection's idle time, read from the kernel from outside the process, lies within
 * the spread below the configured one and never above it, on both ends; and the values differ, accepted connections
 * included, which would otherwise all inherit their listener's one value and probe in the same instant.
 */
class JitterIT {

    private static final int ROUNDS = 10;

    @TestFactory
    List<DynamicTest> eachConnectionsIdleTimeIsSpreadBelowTheSettingNeverAbove() {
        return PerJdk.tests(jdk -> {
            try (ForkedJvm.Running app = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HoldingConnectionsApp.class.getName())
                    .javaagent(AgentJar.path(), "keepalive.idle=100s,keepalive.jitter=20%,log.level=warn").start()) {
                AttachIT.awaitReady(app, 1);
                for (int round = 2; round <= ROUNDS; round++) {
                    app.sendLine("more");
                    AttachIT.awaitReady(app, round);
                }
                List<KernelSocket> established = KernelProbe.read(app.pid()).stream()
                        .filter(s -> s.state.equals("ESTABLISHED")).collect(Collectors.toList());
                assertEquals(4 * ROUNDS, established.size(), established.toString());
                Set<Integer> listenerPorts = KernelProbe.read(app.pid()).stream()
                        .filter(s -> s.state.equals("LISTEN")).map(s -> s.localPort).collect(Collectors.toSet());
                Set<Integer> connected = new TreeSet<>();
                Set<Integer> accepted = new TreeSet<>();
                for (KernelSocket socket : established) {
                    assertTrue(socket.keepAlive, socket.toString());
                    assertTrue(socket.keepIdle >= 80 && socket.keepIdle <= 100,
                            "20% below 100s at most, never above: " + socket);
                    (listenerPorts.contains(socket.localPort) ? accepted : connected).add(socket.keepIdle);
                }
                // 20 connections each, 21 possible values: all equal would be one chance in 21^19
                assertTrue(connected.size() > 1, "connected ends spread: " + connected);
                assertTrue(accepted.size() > 1, "accepted ends spread, not their listener's one value: " + accepted);
                System.out.println("[jitter] " + jdk.name() + ": idle times of connected ends " + connected
                        + ", of accepted ends " + accepted);
            }
        });
    }

    /**
     * Netty's native transports: the agent writes a channel's options through Netty's own native calls, whose config
     * setters are also where the application's writes are caught. The agent's spread idle time must not come back to
     * it as the application's value (which the policy would replace by the unspread one, and report): each end of
     * every connection holds an idle time within the spread, and no replacement is reported.
     */
    @TestFactory
    List<DynamicTest> nettyChannelsKeepTheirSpreadIdleTime() {
        return PerJdk.tests(jdk -> {
            for (String transport : List.of("epoll", "io_uring")) {
                List<Integer> idle = new ArrayList<>();
                for (int run = 0; run < 3; run++) {  // two clients and two accepted channels a run
                    try (ForkedJvm.Running app = ForkedJvm.on(jdk).classpath(Fixtures.classpath("netty"))
                            .mainClass("io.tcphardening.fixtures.NettyApp").args(transport)
                            .javaagent(AgentJar.path(), "keepalive.idle=100s,keepalive.jitter=20%,log.level=info")
                            .start()) {
                        String first = app.awaitLine(l -> l.equals("READY") || l.startsWith("SKIP "),
                                Duration.ofSeconds(60));
                        if (first.startsWith("SKIP ")) {
                            System.out.println("[jitter] Netty " + transport + " on " + jdk.name() + " skipped: "
                                    + first);
                            Assumptions.abort(first);
                        }
                        List<KernelSocket> established = KernelProbe.read(app.pid()).stream()
                                .filter(s -> s.state.equals("ESTABLISHED")).collect(Collectors.toList());
                        app.sendLine("done");
                        assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
                        assertEquals(4, established.size(), established + "\n" + app.describe());
                        for (KernelSocket socket : established) {
                            assertTrue(socket.keepAlive && socket.keepIdle >= 80 && socket.keepIdle <= 100,
                                    "Netty " + transport + ", 20% below 100s at most, never above: " + socket);
                            idle.add(socket.keepIdle);
                        }
                        assertFalse(app.stderr().contains("application's"),
                                "the agent's own writes reported as the application's: " + app.describe());
                    }
                }
                // 12 ends, 21 possible values: all equal would be one chance in 21^11
                assertTrue(new TreeSet<>(idle).size() > 1, "Netty " + transport + " ends spread: " + idle);
                System.out.println("[jitter] " + jdk.name() + ": idle times of Netty " + transport + " ends " + idle);
            }
        });
    }
}
