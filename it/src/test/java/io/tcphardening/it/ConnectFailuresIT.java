package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.ConnectFailuresApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Connects that fail — refused, timed out, interrupted (platform and virtual threads), closed meanwhile, unreachable —
 * through every JDK API, in forked JVMs on every JDK, without and with the agent: the application must see the same
 * exception class and message in the same order, and the same interrupt status. The one intended difference, a
 * connect with no timeout of its own to a host that does not answer, ended by TCP_USER_TIMEOUT, is tested on its own.
 */
class ConnectFailuresIT {

    @TestFactory
    List<DynamicTest> failedConnectsLookTheSameWithTheAgent() {
        return PerJdk.socketTests(jdk -> {
            List<String> plain = outcomes(jdk, null);
            List<String> agent = outcomes(jdk, JdkCoverageIT.AGENT_ARGS + ",log.level=info");
            assertEquals(plain, agent);
            assertEquals(14, agent.size(), String.join("\n", agent));
            assertTrue(agent.stream().anyMatch(o -> o.contains("Connection refused")), String.join("\n", agent));
            assertTrue(agent.stream().anyMatch(o -> o.contains("java.net.SocketTimeoutException")), String.join("\n", agent));
            assertTrue(agent.stream().anyMatch(o -> o.contains("ClosedByInterruptException")), String.join("\n", agent));
            if (jdk.major() >= 21) {
                assertTrue(agent.stream().anyMatch(o -> o.startsWith("OUTCOME virtual-thread-socket-interrupted "
                        + "java.net.SocketException: Closed by interrupt")), String.join("\n", agent));
            }
            System.out.println("[connect-failures] JDK " + jdk.major() + ":\n" + String.join("\n", agent));
        });
    }

    @TestFactory
    List<DynamicTest> unreachableAddressesLookTheSameWithTheAgent() {
        return PerJdk.socketTests(jdk -> {
            String namespace = "tcph-unreach-" + ProcessHandle.current().pid();
            assumeNamespace(namespace);
            try {
                ip("-n", namespace, "link", "set", "lo", "up");
                List<String> plain = outcomes(jdk, null, "ip", "netns", "exec", namespace);
                List<String> agent = outcomes(jdk, JdkCoverageIT.AGENT_ARGS, "ip", "netns", "exec", namespace);
                assertEquals(plain, agent);
                assertEquals(3, agent.size(), String.join("\n", agent));
                assertTrue(agent.stream().allMatch(o -> o.contains("Network is unreachable")), String.join("\n", agent));
            } finally {
                ip("netns", "del", namespace);
            }
        });
    }

    /**
     * TCP_USER_TIMEOUT set before the connect also bounds the SYN retries (README, "When the options are applied"):
     * a blocking SocketChannel.connect or Socket.connect, which have no timeout of their own, to a host that does not
     * answer fail with "Connection timed out" after about user_timeout (1 s here) with the agent; without it the
     * connect is still waiting when the application closes the socket after 4 s. On the legacy socket implementation
     * too, whose messages add the failed call in parentheses.
     */
    @TestFactory
    List<DynamicTest> userTimeoutEndsAConnectToAHostThatDoesNotAnswer() {
        return PerJdk.socketTests(jdk -> {
            List<String> plain = outcomes(jdk, null, "--black-hole-no-timeout");
            List<String> agent = outcomes(jdk, "user_timeout=1s", "--black-hole-no-timeout");
            assertEquals(2, plain.size(), plain.toString());
            assertEquals("OUTCOME channel-black-hole-no-timeout java.nio.channels.AsynchronousCloseException: null",
                    plain.get(0));
            assertTrue(plain.get(1).startsWith("OUTCOME socket-black-hole-no-timeout java.net.SocketException: Socket "
                    + "closed"), plain.toString());
            assertEquals(List.of("OUTCOME channel-black-hole-no-timeout java.net.ConnectException: Connection timed "
                    + "out", "OUTCOME socket-black-hole-no-timeout java.net.ConnectException: Connection timed out"),
                    agent.stream().map(o -> o.replace(" (Connection timed out)", "")).collect(Collectors.toList()));
        });
    }

    private static List<String> outcomes(Jdks.Jdk jdk, String agentArgs, String... launcherOrArgs) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(ConnectFailuresApp.class.getName());
        if (launcherOrArgs.length > 0 && launcherOrArgs[0].equals("ip")) {
            jvm.launchedBy(launcherOrArgs).args("--unreachable");
        } else {
            jvm.args(launcherOrArgs);
        }
        if (agentArgs != null) {
            jvm.javaagent(AgentJar.path(), agentArgs);
        }
        ForkedJvm.Result result = jvm.run(Duration.ofSeconds(60));
        assertEquals(0, result.exitCode, result.toString());
        assertFalse(result.stderr.contains(" WARN: ") || result.stderr.contains(" ERROR: "), result.toString());
        return result.stdout.lines().filter(l -> l.startsWith("OUTCOME ")).collect(Collectors.toList());
    }

    private static void assumeNamespace(String name) throws IOException, InterruptedException {
        Process add = new ProcessBuilder("ip", "netns", "add", name).redirectErrorStream(true).start();
        String output = new String(add.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean created = add.waitFor() == 0;
        if (!created) {
            System.out.println("[connect-failures] unreachable SKIPPED: cannot create network namespaces: " + output);
        }
        Assumptions.assumeTrue(created, "cannot create network namespaces: " + output.trim());
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.waitFor(), String.join(" ", command) + ": " + output);
    }
}
