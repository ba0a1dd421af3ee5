package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * JVMs as operators run them beyond a full JDK: slim runtimes made with {@code jlink} from each JDK on the machine
 * (the least the agent needs, {@code java.base} and {@code java.instrument}, and that plus each optional module), and
 * a security manager with a strict policy for the application. Each time an unmodified application
 * ({@link HoldingConnectionsApp}: a ServerSocket, a ServerSocketChannel and a connection through each) runs with the
 * agent, and every TCP socket of it, read from outside the process, carries the configured options.
 */
class RuntimesIT {

    /** The modules every slim runtime has: what the agent needs. */
    static final String LEAST = "java.base,java.instrument";

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> slimRuntimesAreHardenedAndTheStartLineSaysWhatIsMissing() {
        return PerJdk.tests(jdk -> {
            String[][] runtimes = {
                {LEAST, "this runtime has no jdk.jfr (no JFR event), no java.management (no MBean)"},
                {LEAST + ",jdk.jfr", "this runtime has no java.management (no MBean)"},
                {LEAST + ",java.management", "this runtime has no jdk.jfr (no JFR event)"},
                {LEAST + ",jdk.jfr,java.management", null},
            };
            for (String[] runtime : runtimes) {
                Jdks.Jdk slim = jlink(jdk, runtime[0]);
                Observed observed = run(slim, List.of());
                String startLine = observed.startLine();
                if (runtime[1] == null) {
                    assertFalse(startLine.contains("this runtime has"), runtime[0] + ": " + startLine);
                } else {
                    assertTrue(startLine.endsWith("; " + runtime[1]), runtime[0] + ": " + startLine);
                }
                System.out.println("[runtimes] " + jdk.name() + " jlink " + runtime[0] + ": " + observed.sockets.size()
                        + " sockets hardened");
            }
        });
    }

    /**
     * A security manager ({@code -Djava.security.manager}, JDK 23 and older) whose policy grants the application only
     * loopback sockets, and the agent's jar what an agent is granted: the hooks run with the application's code on
     * the stack, and harden all the same, without a warning.
     */
    @TestFactory
    List<DynamicTest> aSecurityManagerWithAStrictPolicyForTheApplication() {
        return PerJdk.socketTests(jdk -> {
            if (jdk.major() >= 24) {
                System.out.println("[runtimes] SKIPPED on " + jdk.name() + ": JDK 24 removed the security manager");
                Assumptions.abort("JDK 24 removed the security manager");
            }
            Path policy = temp.resolve("strict-" + jdk.major() + ".policy");
            Files.writeString(policy, "grant codeBase \"file:" + AgentJar.path() + "\" {\n"
                    + "  permission java.security.AllPermission;\n};\n"
                    + "grant codeBase \"file:" + AgentJar.testClasses() + "/-\" {\n"
                    + "  permission java.net.SocketPermission \"localhost:0-\", \"connect,accept,listen,resolve\";\n"
                    + "  permission java.net.SocketPermission \"127.0.0.1:0-\", \"connect,accept,listen,resolve\";\n"
                    + "};\n", StandardCharsets.UTF_8);
            Observed observed = run(jdk, List.of("-Djava.security.manager", "-Djava.security.policy==" + policy));
            assertTrue(observed.startLine().contains(" active on JDK "), observed.describe);
        });
    }

    /** The runtime {@code jlink} makes of {@code modules} of the JDK, in a directory of the test's own. */
    private Jdks.Jdk jlink(Jdks.Jdk jdk, String modules) throws IOException, InterruptedException {
        Path output = temp.resolve("jdk" + jdk.major() + "-" + modules.replace(',', '+'));
        Process jlink = new ProcessBuilder(jdk.home().resolve("bin/jlink").toString(), "--add-modules", modules,
                "--output", output.toString(), "--strip-debug", "--no-header-files", "--no-man-pages")
                .redirectErrorStream(true).start();
        String printed = new String(jlink.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jlink.waitFor(), "jlink " + modules + ": " + printed);
        Jdks.Jdk slim = Jdks.at(output);
        assertTrue(slim != null && slim.major() == jdk.major(), "a runtime in " + output);
        return slim;
    }

    /** The application with the agent on {@code jdk}: every TCP socket must carry the configured options. */
    private static Observed run(Jdks.Jdk jdk, List<String> jvmArgs) throws Exception {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                .mainClass(HoldingConnectionsApp.class.getName())
                .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info");
        for (String arg : jvmArgs) {
            jvm.jvmArg(arg);
        }
        try (ForkedJvm.Running app = jvm.start()) {
            AttachIT.awaitReady(app, 1);
            List<KernelSocket> sockets = KernelProbe.read(app.pid()).stream()
                    .filter(s -> s.protocol.startsWith("tcp")).collect(Collectors.toList());
            app.closeStdin();
            assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
            Observed observed = new Observed(sockets, app.stderr(), app.describe() + "\n" + sockets);
            assertEquals(6, sockets.size(), "two listeners and two connections\n" + observed.describe);
            for (KernelSocket socket : sockets) {
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + observed.describe);
            }
            assertFalse(observed.stderr.contains("NOT ACTIVE") || observed.stderr.contains(" WARN: ")
                    || observed.stderr.contains(" ERROR: "), observed.describe);
            return observed;
        }
    }

    private static final class Observed {
        final List<KernelSocket> sockets;
        final String stderr;
        final String describe;

        Observed(List<KernelSocket> sockets, String stderr, String describe) {
            this.sockets = new ArrayList<>(sockets);
            this.stderr = stderr;
            this.describe = describe;
        }

        String startLine() {
            return stderr.lines().filter(l -> l.contains(" active on JDK ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no start line\n" + describe));
        }
    }
}
