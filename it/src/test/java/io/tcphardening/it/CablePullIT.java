package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour itself: the demo's cable pull (two network namespaces, the server's link taken down) with short
 * settings, for every connection kind (Socket, SocketChannel, AsynchronousSocketChannel, Netty epoll), idle and busy,
 * on every JDK. With the agent every connection must fail within its bound plus a margin; without it, none may fail
 * within the same window.
 *
 * <p>Bounds, from the last exchange: idle, keepalive.idle + interval × count = 2 + 1 × 2 = 4 s; busy, user_timeout =
 * 3 s. Margin: 2 s. The kernel counts TCP_USER_TIMEOUT from the first retransmission, one RTO (at least 200 ms) after
 * the first lost segment, and rounds its timers up by up to 64 ms; a send buffer grown large adds up to a second
 * (measured); the application's thread wakes within milliseconds; and a loaded two-core CI machine schedules late.
 *
 * <p>Then the rules scene, in the same launcher: one application's idle and busy connections to two ports, one
 * matched by a short rule (bounds 3 s), the other under global settings that are longer (8 s). Each must fail within
 * its own bound plus the margin, and the short rule's clearly before the others: were the rule ignored, or applied
 * to both ports, one of the two would fail at the other's time.
 */
class CablePullIT {

    static final int IDLE_BOUND_MS = 4_000;
    static final int BUSY_BOUND_MS = 3_000;
    static final int MARGIN_MS = 2_000;
    static final int WINDOW_SECONDS = (IDLE_BOUND_MS + MARGIN_MS) / 1000;

    /** The rules scene: the demo's Service.DATABASE port under the rule, Service.OTHER under the global settings. */
    static final int RULE_PORT = 7011;
    /** Idle 1 + 1 × 2 s, user_timeout 3 s: Linux ends an idle connection at the first probe due after 3 s. */
    static final int RULE_BOUND_MS = 3_000;
    /** Idle 4 + 2 × 2 s, user_timeout 8 s. */
    static final int GLOBAL_BOUND_MS = 8_000;

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> pullTheCable() {
        return PerJdk.socketTests(jdk -> {
            assumeNamespaces();
            Path config = Files.writeString(temp.resolve("short-" + jdk.major() + ".properties"),
                    "keepalive = true\nkeepalive.idle = 2s\nkeepalive.interval = 1s\nkeepalive.count = 2\n"
                            + "user_timeout = 3s\n", StandardCharsets.UTF_8);
            Path rules = Files.writeString(temp.resolve("rules-" + jdk.major() + ".properties"),
                    "keepalive = true\nkeepalive.idle = 4s\nkeepalive.interval = 2s\nkeepalive.count = 2\n"
                            + "user_timeout = 8s\nrules = short\nrule.short.match = connect port=" + RULE_PORT + "\n"
                            + "rule.short.keepalive.idle = 1s\nrule.short.keepalive.interval = 1s\n"
                            + "rule.short.keepalive.count = 2\nrule.short.user_timeout = 3s\n", StandardCharsets.UTF_8);
            Path demo = Paths.get(System.getProperty("demo.dir"), "target");
            ForkedJvm.Result result = ForkedJvm.on(testRunner())
                    .classpath(demo.resolve("demo.jar").toString(), demo.resolve("lib").toString() + "/*")
                    .mainClass("io.tcphardening.demo.CablePull")
                    .args(cablePullArgs(jdk, config, rules))
                    .run(Duration.ofSeconds(240));
            assertEquals(0, result.exitCode, result.toString());
            Map<String, Long> none = results(result.stdout, "none");
            Map<String, Long> agent = results(result.stdout, "agent");
            assertEquals(8, none.size(), result.toString());
            assertEquals(8, agent.size(), result.toString());
            for (Map.Entry<String, Long> connection : agent.entrySet()) {
                boolean busy = connection.getKey().endsWith("BUSY");
                long bound = (busy ? BUSY_BOUND_MS : IDLE_BOUND_MS) + MARGIN_MS;
                long ms = connection.getValue();
                assertTrue(ms >= 0 && ms <= bound, "with the agent, " + connection.getKey() + " failed after " + ms
                        + " ms, bound " + bound + " ms\n" + result);
                if (busy) {
                    // it is the user timeout that fired, not a local error such as "No route to host"
                    assertTrue(ms >= BUSY_BOUND_MS - 500, connection.getKey() + " failed too early: " + ms + " ms\n"
                            + result);
                }
            }
            for (Map.Entry<String, Long> connection : none.entrySet()) {
                assertEquals(-1L, connection.getValue(), "without the agent " + connection.getKey()
                        + " must still be waiting after " + WINDOW_SECONDS + " s\n" + result);
            }
            Map<String, Long> ruled = results(result.stdout, "rules");
            assertEquals(4, ruled.size(), result.toString());
            for (String state : List.of("IDLE", "BUSY")) {
                long underRule = ruled.get("DATABASE " + state);
                long underGlobal = ruled.get("OTHER " + state);
                assertTrue(underRule >= 0 && underRule <= RULE_BOUND_MS + MARGIN_MS, "under the rule, " + state
                        + " failed after " + underRule + " ms, bound " + (RULE_BOUND_MS + MARGIN_MS) + " ms\n"
                        + result);
                assertTrue(underGlobal >= 0 && underGlobal <= GLOBAL_BOUND_MS + MARGIN_MS, "under the global "
                        + "settings, " + state + " failed after " + underGlobal + " ms, bound "
                        + (GLOBAL_BOUND_MS + MARGIN_MS) + " ms\n" + result);
                assertTrue(underGlobal - underRule >= (GLOBAL_BOUND_MS - RULE_BOUND_MS) / 2, "the rule's " + state
                        + " connection failed after " + underRule + " ms, not clearly before the other's "
                        + underGlobal + " ms\n" + result);
                if (state.equals("BUSY")) {
                    assertTrue(underRule >= RULE_BOUND_MS - 500, "under the rule, BUSY failed too early: "
                            + underRule + " ms\n" + result);
                }
            }
            System.out.println("[cable-pull] " + jdk.name() + ": agent " + agent + ", none " + none + ", rules "
                    + ruled);
        });
    }

    private static String[] cablePullArgs(Jdks.Jdk jdk, Path config, Path rules) {
        List<String> args = new ArrayList<>(List.of("--agent", AgentJar.path().toString(), "--config",
                config.toString(), "--rules-config", rules.toString(), "--runs", "none,agent,rules", "--window",
                Integer.toString(WINDOW_SECONDS), "--java", jdk.java().toString()));
        for (String jvmArg : jdk.jvmArgs()) {  // the JDK variant's options go to the application's JVMs
            args.add("--jvm-arg");
            args.add(jvmArg);
        }
        args.add("--machine");  // a flag, last: the options before it come in pairs
        return args.toArray(new String[0]);
    }

    /** The launcher runs on the JDK that runs the tests; the application's JVMs on the JDK under test. */
    private static Jdks.Jdk testRunner() {
        Path home = Paths.get(System.getProperty("java.home"));
        return Jdks.all().stream().filter(j -> home.startsWith(j.home()) || j.home().equals(home)).findFirst()
                .orElse(Jdks.all().get(0));
    }

    private static Map<String, Long> results(String stdout, String run) {
        Map<String, Long> results = new TreeMap<>();
        stdout.lines().filter(l -> l.startsWith("RESULT " + run + " ")).forEach(l -> {
            String[] parts = l.split(" ");
            results.put(parts[2] + " " + parts[3], Long.parseLong(parts[4]));
        });
        return results;
    }

    /** Reported as skipped, with the reason, where this machine cannot create network namespaces. */
    private static void assumeNamespaces() throws IOException, InterruptedException {
        String name = "tcph-probe-" + ProcessHandle.current().pid();
        Process add = new ProcessBuilder("ip", "netns", "add", name).redirectErrorStream(true).start();
        String output = new String(add.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean created = add.waitFor() == 0;
        new ProcessBuilder("ip", "netns", "del", name).redirectErrorStream(true).start().waitFor();
        if (!created) {
            System.out.println("[cable-pull] SKIPPED: cannot create network namespaces here: " + output.trim());
        }
        Assumptions.assumeTrue(created, "cannot create network namespaces: " + output.trim());
    }
}
