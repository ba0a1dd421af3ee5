package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The jar that the agent's Maven coordinates publish, {@code io.tcphardening:tcp-hardening-agent:VERSION} — what
 * {@code mvn dependency:copy -Dartifact=...}, Gradle or any build fetches — resolved by this module's build through
 * Maven's own resolution, not taken from the agent's target directory. It must work as it is: as {@code -javaagent}
 * (the kernel shows the options on every socket) and as a command.
 */
class PublishedJarIT {

    private static Path published() {
        Path jar = Paths.get(System.getProperty("published.agent.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new AssertionError(jar + " is missing: the it module's build copies it (maven-dependency-plugin)");
        }
        return jar;
    }

    @Test
    void versionPrintsTheVersionAndExitsZero() {
        ForkedJvm.Result result = ForkedJvm.on(Jdks.all().get(0)).jvmArg("-jar").jvmArg(published().toString())
                .args("--version").run(Duration.ofSeconds(30));
        assertEquals(0, result.exitCode, result.toString());
        assertEquals("tcp-hardening-agent " + System.getProperty("project.version") + "\n", result.stdout,
                result.toString());
    }

    @TestFactory
    List<DynamicTest> theFetchedJarHardensAsJavaagentAsItIs() {
        return PerJdk.tests(jdk -> {
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HoldingConnectionsApp.class.getName())
                    .javaagent(published(), JdkCoverageIT.AGENT_ARGS);
            try (ForkedJvm.Running app = jvm.start()) {
                AttachIT.awaitReady(app, 1);
                List<KernelSocket> sockets = KernelProbe.read(app.pid()).stream()
                        .filter(s -> s.protocol.startsWith("tcp")).collect(Collectors.toList());
                app.closeStdin();
                assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
                assertEquals(6, sockets.size(), "two listeners and two connections\n" + sockets + "\n"
                        + app.describe());
                for (KernelSocket socket : sockets) {
                    assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + app.describe());
                }
                assertFalse(app.stderr().contains("NOT ACTIVE"), app.describe());
            }
        });
    }
}
