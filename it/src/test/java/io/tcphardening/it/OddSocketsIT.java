package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.OddSocketsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.CProgram;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import io.tcphardening.it.kit.SocketFlagsProbe;
import io.tcphardening.it.kit.SocketFlagsProbe.OtherSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sockets at the edges of what the agent hooks, in forked JVMs on every JDK, each run without and with the agent:
 * the application sees the same results either way (its {@code RESULT} lines), the JVM never crashes (exit status,
 * no {@code hs_err} file), TCP connection ends carry the configured values in the kernel ({@link KernelProbe}) and
 * every socket that is not TCP keeps SO_KEEPALIVE off ({@link SocketFlagsProbe}); both read from outside the process.
 */
class OddSocketsIT {

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> oddSocketsWorkAsWithoutTheAgentAndOnlyTcpIsHardened() {
        return PerJdk.tests(jdk -> {
            Observed plain = run(jdk, null);
            Observed agent = run(jdk, JdkCoverageIT.AGENT_ARGS + ",log.level=info");
            assertEquals(plain.results(), agent.results(), "the application saw the same\n" + agent);
            assertTrue(agent.results().contains("RESULT socks connected to the target's port: true"), agent.toString());
            assertTrue(agent.results().stream().noneMatch(r -> r.contains(" threw ") && !r.contains("refusing")),
                    agent.toString());
            assertTrue(agent.results().stream().anyMatch(r -> r.startsWith("RESULT custom-impl-refusing threw "
                    + "java.net.ConnectException: the application's SocketImpl refuses")), agent.toString());

            // Every TCP socket of the process, connected or not (unconnected, bound-only, listeners, the proxy's, the
            // channels under the application's own SocketImpl), carries the configured values.
            assertTrue(agent.kernel.size() >= 12, agent.toString());
            for (KernelSocket socket : agent.kernel) {
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + agent);
            }
            List<String> connectionEnds = agent.lines("TCP ");
            assertEquals(5, connectionEnds.size(), agent.toString());
            for (String end : connectionEnds) {
                int port = Integer.parseInt(end.split(" ")[2]);
                assertTrue(agent.kernel.stream().anyMatch(s -> s.localPort == port), end + "\n" + agent);
            }
            assertTrue(agent.lines("SEES ").stream().allMatch(l -> l.endsWith("keepalive=true")), agent.toString());
            assertTrue(plain.lines("SEES ").stream().allMatch(l -> l.endsWith("keepalive=false")), plain.toString());

            // Unix-domain and UDP sockets are left alone.
            List<OtherSocket> unix = agent.others.stream().filter(s -> s.family.equals("unix"))
                    .collect(Collectors.toList());
            List<OtherSocket> udp = agent.others.stream().filter(s -> s.type.equals("dgram") && !s.family.equals("unix"))
                    .collect(Collectors.toList());
            assertTrue(unix.size() >= 3 && udp.size() >= 4, "Unix-domain and UDP sockets were seen\n" + agent);
            for (OtherSocket socket : agent.others) {
                assertFalse(socket.keepAlive, socket + "\n" + agent);
            }
            assertFalse(agent.stderr.contains(" WARN: ") || agent.stderr.contains(" ERROR: "), agent.toString());
        });
    }

    @TestFactory
    List<DynamicTest> inheritedChannelsAreHardenedWhereTcp() {
        return PerJdk.tests(jdk -> {
            for (String kind : List.of("tcp", "tcp-listener", "udp", "unix")) {
                Inherited plain = inherited(jdk, kind, null);
                Inherited agent = inherited(jdk, kind, JdkCoverageIT.AGENT_ARGS);
                assertEquals(plain.results, agent.results, kind + ": the application saw the same\n" + agent);
                if (kind.startsWith("tcp")) {
                    KernelSocket stdin = agent.kernel.stream().filter(s -> s.fd == 0).findFirst()
                            .orElseThrow(() -> new AssertionError("standard input is a TCP socket\n" + agent));
                    assertEquals(JdkCoverageIT.CONFIGURED, stdin.options(), kind + ": " + stdin + "\n" + agent);
                    assertFalse(plain.kernel.stream().filter(s -> s.fd == 0).findFirst().orElseThrow().options()
                            .equals(JdkCoverageIT.CONFIGURED), plain.toString());
                } else {
                    OtherSocket stdin = agent.others.stream().filter(s -> s.fd == 0).findFirst()
                            .orElseThrow(() -> new AssertionError("standard input is a socket\n" + agent));
                    assertFalse(stdin.keepAlive, kind + ": " + stdin + "\n" + agent);
                }
                assertFalse(agent.stderr.contains(" WARN: ") || agent.stderr.contains(" ERROR: "), agent.toString());
            }
        });
    }

    /**
     * The legacy socket implementation ({@code -Djdk.net.usePlainSocketImpl} on JDK 13 to 17): the application runs
     * as without the agent, and every TCP socket of it is hardened, java.net.Socket through the legacy classes as much
     * as the SocketChannel connections under the application's own SocketImpl.
     */
    @TestFactory
    List<DynamicTest> theLegacySocketImplIsHardened() {
        return PerJdk.tests(Jdks.legacySocketImplVariants(), this::legacySocketImplIsHardened);
    }

    private void legacySocketImplIsHardened(Jdks.Jdk jdk) throws IOException {
        Observed plain = run(jdk, null);
        Observed agent = run(jdk, JdkCoverageIT.AGENT_ARGS);
        assertEquals(plain.results(), agent.results(), "the application saw the same\n" + agent);
        List<String> ends = agent.lines("TCP ");
        assertFalse(ends.isEmpty(), agent.toString());
        for (String end : ends) {
            int port = Integer.parseInt(end.split(" ")[2]);
            KernelSocket socket = agent.kernel.stream().filter(s -> s.localPort == port).findFirst().orElseThrow();
            assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), end + ": " + socket + "\n" + agent);
        }
        assertFalse(agent.stderr.contains(" WARN: ") || agent.stderr.contains(" ERROR: "), agent.toString());
        assertTrue(agent.stderr.contains("java.net.Socket and ServerSocket (through the legacy PlainSocketImpl)"),
                "the start line names the implementation\n" + agent);
    }

    // ---- running

    private Observed run(Jdks.Jdk jdk, String agentArgs, String... jvmArgs) throws IOException {
        Path dir = Files.createTempDirectory(temp, "odd");
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(OddSocketsApp.class.getName())
                .workDir(dir);
        for (String arg : jvmArgs) {
            jvm.jvmArg(arg);
        }
        if (agentArgs != null) {
            jvm.javaagent(AgentJar.path(), agentArgs);
        }
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(60));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            List<OtherSocket> others = SocketFlagsProbe.read(running.pid());
            running.sendLine("done");
            int status = running.waitFor(Duration.ofSeconds(30));
            assertEquals(0, status, running.describe());
            assertNoCrashReport(dir, running.describe());
            return new Observed(running.stdoutLines(), running.stderr(), kernel, others);
        }
    }

    private Inherited inherited(Jdks.Jdk jdk, String kind, String agentArgs) throws IOException {
        Path dir = Files.createTempDirectory(temp, "inherited");
        Path signal = dir.resolve("done");
        ForkedJvm jvm = ForkedJvm.on(jdk).launchedBy(CProgram.binary("inherit_socket").toString(), kind, "--")
                .classpath(AgentJar.testClasses()).mainClass(OddSocketsApp.class.getName())
                .args("--inherited", signal.toString()).workDir(dir);
        if (agentArgs != null) {
            jvm.javaagent(AgentJar.path(), agentArgs);
        }
        try (ForkedJvm.Running running = jvm.start()) {
            String ready = running.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(60));
            long pid = Long.parseLong(ready.substring("READY ".length()));
            List<KernelSocket> kernel = KernelProbe.read(pid);
            List<OtherSocket> others = SocketFlagsProbe.read(pid);
            Files.createFile(signal);
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            assertNoCrashReport(dir, running.describe());
            List<String> results = running.stdoutLines().stream().filter(l -> l.startsWith("RESULT "))
                    .collect(Collectors.toList());
            return new Inherited(results, running.stderr(), kernel, others, running.describe());
        }
    }

    /** A JVM that crashed (SIGSEGV in a native option call, say) leaves an hs_err file in its working directory. */
    private static void assertNoCrashReport(Path dir, String context) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> reports = files.filter(f -> f.getFileName().toString().startsWith("hs_err"))
                    .collect(Collectors.toList());
            assertEquals(List.of(), reports, context);
        }
    }

    private static final class Observed {
        final List<String> stdout;
        final String stderr;
        final List<KernelSocket> kernel;
        final List<OtherSocket> others;

        Observed(List<String> stdout, String stderr, List<KernelSocket> kernel, List<OtherSocket> others) {
            this.stdout = stdout;
            this.stderr = stderr;
            this.kernel = kernel;
            this.others = others;
        }

        List<String> lines(String prefix) {
            return stdout.stream().filter(l -> l.startsWith(prefix)).collect(Collectors.toList());
        }

        List<String> results() {
            return lines("RESULT ");
        }

        @Override
        public String toString() {
            return "--- stdout\n" + String.join("\n", stdout) + "\n--- stderr\n" + stderr + "--- kernel (TCP)\n"
                    + kernel.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"))
                    + "\n--- kernel (other sockets)\n" + others;
        }
    }

    private static final class Inherited {
        final List<String> results;
        final String stderr;
        final List<KernelSocket> kernel;
        final List<OtherSocket> others;
        final String described;

        Inherited(List<String> results, String stderr, List<KernelSocket> kernel, List<OtherSocket> others,
                  String described) {
            this.results = results;
            this.stderr = stderr;
            this.kernel = kernel;
            this.others = others;
            this.described = described;
        }

        @Override
        public String toString() {
            return described + "--- kernel (TCP)\n" + kernel + "\n--- kernel (other sockets)\n" + others;
        }
    }
}
