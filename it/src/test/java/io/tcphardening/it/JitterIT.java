package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
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
}
