package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.ChildFirstLoaderApp;
import io.tcphardening.it.apps.ConnectOnCommandApp;
import io.tcphardening.it.apps.Connections;
import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.apps.SocketOpeningAgent;
import io.tcphardening.it.apps.StaticInitConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.PerJdk;
import io.tcphardening.it.kit.ThreadDump;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's hooks reached while classes are still being loaded or initialised: connections opened in static
 * initializers (two threads at once), inside another agent's {@code ClassFileTransformer} and premain (that agent
 * listed before ours and after it), and by a child-first class loader while it loads a class. Each run must reach
 * READY (a deadlock fails with the JVM's thread dump), print no ClassCircularityError or LinkageError, log no
 * failure of the agent, and every TCP socket the kernel holds must carry the configured options (read from outside
 * the process, {@link KernelProbe}), as must the application's own view through the JDK's getters.
 *
 * <p>{@link JarAndLoadingIT} already covers socket classes loaded and used before the agent starts.
 */
class ClassLoadingIT {

    @TempDir
    static Path temp;

    @TestFactory
    List<DynamicTest> connectionsOpenedInStaticInitializersOnTwoThreads() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(StaticInitConnectionsApp.class.getName()));
            assertTrue(observed.stdout.contains("INITIALISED true true"), observed.describe());
            assertEquals(8, observed.conns.size(), observed.describe());
            assertHardened(observed);
        });
    }

    @TestFactory
    List<DynamicTest> anotherAgentConnectsInPremainAndInsideItsTransformerListedBeforeOurs() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .jvmArg("-javaagent:" + socketOpeningAgent() + "=" + JdkConnectionsApp.class.getName())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-constructor", "socket-channel-blocking"));
            assertTheOtherAgentConnected(observed);
            // listed first, its transformer sees every class of our agent load, and connects inside each
            assertTrue(observed.stdout.lines().anyMatch(l -> l.matches("SOCKET-AGENT connected while loading [1-9]\\d*"
                    + " classes of other class loaders")), observed.describe());
            assertHardened(observed);
        });
    }

    @TestFactory
    List<DynamicTest> anotherAgentConnectsInPremainAndInsideItsTransformerListedAfterOurs() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .jvmArg("-javaagent:" + socketOpeningAgent() + "=" + JdkConnectionsApp.class.getName())
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-constructor", "socket-channel-blocking"));
            assertTheOtherAgentConnected(observed);
            assertHardened(observed);
        });
    }

    /**
     * The other agent's transformer is in place before the JVM's first socket, and connects whenever a class of a
     * class loader other than the JDK's is defined. Listed before ours, every class our agent loads (in premain, on
     * its own thread) is loaded under it, and it connects right there.
     */
    @TestFactory
    List<DynamicTest> anotherAgentWhoseTransformerConnectsWhileOurClassesAreDefinedListedBeforeOurs() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .jvmArg("-javaagent:" + socketOpeningAgent() + "=" + JdkConnectionsApp.class.getName()
                            + ",register-first")
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-constructor", "socket-channel-blocking"));
            assertConnectedInsideOtherLoadersClasses(observed);
            assertHardened(observed);
        });
    }

    /**
     * The same agent listed after ours, and the JVM's first socket is the application's, opened at once: it needs
     * the JDK's socket class rewritten under that transformer. (When the agent rewrote it with ASM loaded on its own
     * thread, this deadlocked in about one run in ten; the patcher's classes are now loaded in premain.)
     */
    @TestFactory
    List<DynamicTest> anotherAgentWhoseTransformerConnectsWhileOurClassesAreDefinedListedAfterOursFirstSocketAtOnce() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .jvmArg("-javaagent:" + socketOpeningAgent() + "=" + JdkConnectionsApp.class.getName()
                            + ",register-first")
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-constructor", "socket-channel-blocking"));
            assertFalse(observed.stdout.contains("SOCKET-AGENT failed"), observed.describe());
            assertHardened(observed);
        });
    }

    /**
     * The same agent listed after ours; the JVM's first socket is the application's, opened once our agent is
     * ready (its start-up line is written once it is installed). The hooks' first use then loads classes of our agent
     * under that transformer, which connects inside their definition: our hooks run again, nested, and need the
     * very class being defined.
     */
    @TestFactory
    List<DynamicTest> anotherAgentWhoseTransformerConnectsWhileOurClassesAreDefinedListedAfterOurs() {
        return PerJdk.tests(jdk -> {
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .jvmArg("-javaagent:" + socketOpeningAgent() + "=none,register-first")
                    .mainClass(ConnectOnCommandApp.class.getName());
            try (ForkedJvm.Running running = jvm.start()) {
                for (int waited = 0; !running.stderr().contains(" active on JDK "); waited++) {
                    if (waited == 600) {
                        throw new AssertionError("the agent never started\n" + running.describe()
                                + "\n--- thread dump\n" + ThreadDump.of(jdk, running.pid()));
                    }
                    Thread.sleep(100);
                }
                running.sendLine("connect");
                ThreadDump.awaitLine(jdk, running, "READY"::equals, Duration.ofSeconds(60));
                List<KernelProbe.KernelSocket> kernel = KernelProbe.read(running.pid());
                running.sendLine("done");
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
                JdkCoverageIT.Observed observed = new JdkCoverageIT.Observed(running.stdoutLines(), running.stderr(),
                        kernel);
                assertConnectedInsideOtherLoadersClasses(observed);
                assertHardened(observed);
            }
        });
    }

    private static void assertConnectedInsideOtherLoadersClasses(JdkCoverageIT.Observed observed) {
        assertFalse(observed.stdout.contains("SOCKET-AGENT failed"), observed.describe());
        assertTrue(observed.stdout.lines().anyMatch(l -> l.matches("SOCKET-AGENT connected while loading [1-9]\\d*"
                + " classes of other class loaders")), observed.describe());
    }

    @TestFactory
    List<DynamicTest> aChildFirstClassLoaderConnectsWhileLoading() {
        return PerJdk.tests(jdk -> {
            JdkCoverageIT.Observed observed = observe(jdk, ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(ChildFirstLoaderApp.class.getName()));
            assertTrue(observed.stdout.contains("LOADED-BY ChildFirst true failures []"), observed.describe());
            assertTrue(observed.scenarios().contains("loaded-ChildFirst") && observed.scenarios().contains("loaded-more"),
                    observed.describe());
            assertHardened(observed);
        });
    }

    private static void assertTheOtherAgentConnected(JdkCoverageIT.Observed observed) {
        assertTrue(observed.stdout.contains("SOCKET-AGENT premain connected"), observed.describe());
        assertTrue(observed.stdout.contains("SOCKET-AGENT connected while loading "), observed.describe());
        assertTrue(observed.stdout.contains("SOCKET-AGENT kept connections opened while loading "
                + JdkConnectionsApp.class.getName().replace('.', '/')), observed.describe());
        assertFalse(observed.stdout.contains("SOCKET-AGENT failed"), observed.describe());
        assertTrue(observed.scenarios().contains("transformer") && observed.scenarios().contains("socket-constructor"),
                observed.describe());
    }

    /**
     * Every TCP socket left open carries the configured options, and nothing went wrong on the way. A socket that
     * is neither bound nor connected is not counted: the other agent's transformer may be opening one at the moment
     * of the probe, on a thread of ours that is loading a class (a log writer's), before the JDK has handed it to
     * the hooks.
     */
    private static void assertHardened(JdkCoverageIT.Observed observed) {
        for (KernelProbe.KernelSocket socket : observed.kernel) {
            if (!(socket.state.equals("CLOSE") && socket.localPort == 0)) {
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + observed.describe());
            }
        }
        observed.assertConnectionsHave(JdkCoverageIT.CONFIGURED);
        observed.assertApplicationSees("true 61 11 7");
        String output = observed.stdout + observed.stderr;
        for (String trap : new String[] {"ClassCircularityError", "LinkageError", "NoClassDefFoundError",
            "ExceptionInInitializerError", "duplicate class definition"}) {
            assertFalse(output.contains(trap), trap + "\n" + observed.describe());
        }
        assertFalse(observed.stderr.contains(" WARN: ") || observed.stderr.contains(" ERROR: ")
                || observed.stderr.contains("NOT ACTIVE"), observed.describe());
        assertTrue(observed.stderr.contains(" active on JDK "), observed.describe());
    }

    /** Runs to READY (a timeout fails with a thread dump), reads the kernel's values, lets the JVM exit. */
    private static JdkCoverageIT.Observed observe(Jdks.Jdk jdk, ForkedJvm jvm) {
        try (ForkedJvm.Running running = jvm.start()) {
            ThreadDump.awaitLine(jdk, running, "READY"::equals, Duration.ofSeconds(60));
            List<KernelProbe.KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            return new JdkCoverageIT.Observed(running.stdoutLines(), running.stderr(), kernel);
        }
    }

    /** {@link SocketOpeningAgent} as an agent jar of its own; its helpers come from the class path. */
    private static synchronized Path socketOpeningAgent() throws IOException {
        Path jar = temp.resolve("socket-opening-agent.jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Premain-Class", SocketOpeningAgent.class.getName());
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jarOut = new JarOutputStream(out, manifest)) {
            for (Class<?> c : new Class<?>[] {SocketOpeningAgent.class, Connections.class}) {
                String prefix = c.getName().replace('.', '/');
                try (var entries = Files.list(Paths.get(AgentJar.testClasses(), prefix).getParent())) {
                    for (Path file : (Iterable<Path>) entries::iterator) {
                        String name = file.getFileName().toString();
                        String simple = prefix.substring(prefix.lastIndexOf('/') + 1);
                        if (name.equals(simple + ".class") || name.startsWith(simple + "$")) {
                            jarOut.putNextEntry(new JarEntry(prefix.substring(0, prefix.lastIndexOf('/') + 1) + name));
                            jarOut.write(Files.readAllBytes(file));
                            jarOut.closeEntry();
                        }
                    }
                }
            }
        }
        return jar;
    }
}
