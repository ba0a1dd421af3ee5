package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.EarlySocketAgent;
import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** The jar as shipped, and the agent starting after the JDK's socket classes were already loaded and used. */
class JarAndLoadingIT {

    @TempDir
    Path temp;

    @Test
    void onlyTheAgentsOwnPackageAndMetaInfSitAtTheTopOfTheJar() throws IOException {
        Set<String> top = new TreeSet<>();
        Set<String> visibleClasses = new TreeSet<>();
        try (JarFile jar = new JarFile(AgentJar.path().toFile())) {
            Manifest manifest = jar.getManifest();
            Attributes main = manifest.getMainAttributes();
            assertEquals("io.tcphardening.boot.AgentEntry", main.getValue("Premain-Class"));
            assertEquals("io.tcphardening.boot.AgentEntry", main.getValue("Agent-Class"));
            assertEquals("io.tcphardening.boot.AgentEntry", main.getValue("Main-Class"));
            assertEquals("true", main.getValue("Can-Retransform-Classes"));
            assertEquals("true", main.getValue("Can-Redefine-Classes"));
            jar.stream().forEach(entry -> {
                String name = entry.getName();
                top.add(name.contains("/") ? name.substring(0, name.indexOf('/') + 1) : name);
                if (name.endsWith(".class")) {
                    visibleClasses.add(name);
                }
            });
            assertEquals(ZipEntry.STORED, jar.getEntry("io/tcphardening/classes.pack").getMethod(),
                    "the pack is stored: its classes are read at their offsets");
        }
        Set<String> packed = AgentJar.packedClasses();
        assertTrue(packed.contains("io.tcphardening.shaded.bytebuddy.jar.asm.ClassReader"),
                "Byte Buddy's ASM, relocated and hidden");
        assertTrue(packed.contains("io.tcphardening.shaded.tinylog.writers.FileWriter"), "tinylog, relocated and hidden");
        assertTrue(packed.contains("io.tcphardening.agent.Agent"), "the agent, hidden");
        assertTrue(packed.stream().noneMatch(name -> name.startsWith("net.bytebuddy.") || name.startsWith("org.tinylog.")),
                "nothing left at its original package");
        assertEquals(Set.of("META-INF/", "io/"), top);
        // Only the entry point and its class loader are loadable by the application's class loader.
        assertEquals(Set.of("io/tcphardening/boot/AgentClassLoader.class", "io/tcphardening/boot/AgentEntry.class"),
                visibleClasses);
    }

    @TestFactory
    List<DynamicTest> socketClassesLoadedBeforeTheAgentAreHardened() {
        return PerJdk.tests(jdk -> {
            Path early = earlyAgentJar();
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .jvmArg("-javaagent:" + early).javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS)
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-constructor", "socket-channel-blocking");
            try (ForkedJvm.Running running = jvm.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(30));
                List<KernelSocket> kernel = KernelProbe.read(running.pid());
                running.sendLine("done");
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
                assertTrue(running.stdout().contains("EARLY-AGENT-RAN"), running.describe());
                assertEquals(6, kernel.size(), kernel.toString());
                for (KernelSocket socket : kernel) {
                    assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + running.describe());
                }
            }
        });
    }

    /**
     * Reading a configuration file must load no JDK socket class before the agent's hooks are registered: on JDK 25,
     * {@code Files.readAllBytes} did (through {@code sun.nio.ch.Streams}), so every start with a file retransformed
     * {@code SocketChannelImpl} (~15 ms of the start) and listed {@code /proc/self/fd} as if sockets predated the
     * agent. The JVM's own class-loading log says whether a class was redefined.
     */
    @TestFactory
    List<DynamicTest> aConfigurationFileLoadsNoSocketClassBeforeTheHooks() {
        return PerJdk.tests(jdk -> {
            Path dir = Files.createDirectories(temp.resolve(jdk.name().replaceAll("[^A-Za-z0-9.-]", "_")));
            Path config = Files.writeString(dir.resolve("agent.properties"), "keepalive.idle = 45s\n");
            Path classLog = dir.resolve("classes.log");
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .jvmArg("-Xlog:class+load=info:file=" + classLog)
                    .javaagent(AgentJar.path(), "config=" + config + ",log.level=info")
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-channel-blocking");
            try (ForkedJvm.Running running = jvm.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(30));
                running.sendLine("done");
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
                assertTrue(running.stderr().contains("keepalive.idle=45s (" + config), running.describe());
            }
            List<String> loaded = Files.readAllLines(classLog);
            assertTrue(loaded.stream().anyMatch(l -> l.contains(" sun.nio.ch.SocketChannelImpl source:")),
                    "the application's channel class was loaded");
            List<String> redefined = loaded.stream().filter(l -> l.contains("__VM_RedefineClasses__"))
                    .collect(java.util.stream.Collectors.toList());
            assertTrue(redefined.isEmpty(), "classes retransformed at the start: " + redefined);
        });
    }

    private Path earlyAgentJar() throws IOException {
        Path jar = temp.resolve("early-agent.jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Premain-Class", EarlySocketAgent.class.getName());
        String path = EarlySocketAgent.class.getName().replace('.', '/') + ".class";
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jarOut = new JarOutputStream(out, manifest)) {
            jarOut.putNextEntry(new JarEntry(path));
            jarOut.write(Files.readAllBytes(Paths.get(AgentJar.testClasses(), path)));
            jarOut.closeEntry();
        }
        return jar;
    }
}
