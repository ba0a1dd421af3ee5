package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.CProgram;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

/**
 * When the platform lets the agent down, it says so once, applies what it can, and the application runs.
 * <ul>
 *   <li>A JDK whose internal setsockopt route has changed: the JDK under test is given, through
 *   {@code --patch-module java.base}, a {@code sun.nio.ch.Net} rewritten at test time so that
 *   {@code setIntOption0} takes an {@code Object} where it took a {@code FileDescriptor}. The JDK itself works as
 *   before (the native method binds by name, and the JDK's own calls are rewritten with it), but the agent's lookup
 *   of the method fails, exactly as on a future JDK that changed it. JDK sockets then get the four keepalive options
 *   through the JDK's public API, TCP_USER_TIMEOUT is reported once as not applicable, and Netty's native channels,
 *   which go through Netty, keep all five.</li>
 *   <li>A kernel that refuses an option: nothing the agent's validation accepts is refused by Linux on a TCP socket
 *   (its ranges are the kernel's), but a Multipath TCP socket refuses TCP_USER_TIMEOUT (EOPNOTSUPP, Linux 6.18). The
 *   application is run as {@code mptcpize} runs one: every TCP socket it creates becomes an MPTCP socket
 *   ({@code src/test/c/mptcp_preload.c}, LD_PRELOAD).</li>
 * </ul>
 * The kernel's values are read from outside the process ({@link KernelProbe}).
 */
class PlatformFailureIT {

    private static final String KEEPALIVE_ONLY = "1 61 11 7 0";

    @TempDir
    static Path temp;

    @TestFactory
    List<DynamicTest> aJdkWithoutTheInternalRouteGetsTheKeepaliveOptionsThroughItsPublicApi() {
        return PerJdk.tests(jdk -> {
            Observed observed = run(ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .jvmArg("--patch-module").jvmArg("java.base=" + patchedNet(jdk))
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(JdkConnectionsApp.class.getName()).args("--weak-after"));
            JdkCoverageIT.Observed app = observed.app;
            assertTrue(app.scenarios().size() >= 13, app.describe());
            assertTrue(app.stdout.contains("HTTP http-clients 200 200"), app.describe());
            // connections: the four keepalive options, the kernel's TCP_USER_TIMEOUT; listeners have no SO_KEEPALIVE
            // in the JDK's API (their accepted sockets are set one by one)
            for (KernelSocket socket : app.kernel) {
                assertEquals(socket.isListener() ? "0 61 11 7 0" : KEEPALIVE_ONLY, socket.options(),
                        socket + "\n" + app.describe());
            }
            app.assertConnectionsHave(KEEPALIVE_ONLY);
            app.assertApplicationSees("true 61 11 7");
            assertTrue(app.stderr.contains("application's keepalive=false replaced by true"), app.describe());
            List<String> warnings = observed.agentLines(" WARN: ", " ERROR: ");
            assertEquals(1, warnings.size(), "said once: " + app.describe());
            assertTrue(warnings.get(0).contains("sun.nio.ch.Net.setIntOption0") && warnings.get(0).contains(
                    "TCP_USER_TIMEOUT is not applicable"), warnings.get(0));
            assertTrue(observed.agentLines(" connect ", " accept ").stream().allMatch(l -> l.contains(
                    "keepalive=true keepalive.idle=61s keepalive.interval=11s keepalive.count=7 user_timeout=n/a")),
                    app.describe());
        });
    }

    @TestFactory
    List<DynamicTest> nettyNativeChannelsKeepEveryOptionWhenTheJdksRouteIsMissing() {
        return PerJdk.tests(jdk -> {
            Observed observed = run(ForkedJvm.on(jdk).classpath(Fixtures.classpath("netty"))
                    .jvmArg("--patch-module").jvmArg("java.base=" + patchedNet(jdk))
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS)
                    .mainClass("io.tcphardening.fixtures.NettyApp").args("epoll"));
            List<KernelSocket> connections = observed.app.kernel.stream().filter(s -> !s.isListener())
                    .collect(Collectors.toList());
            assertEquals(4, connections.size(), observed.app.describe());
            for (KernelSocket socket : connections) {
                assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + observed.app.describe());
            }
            assertEquals(1, observed.agentLines(" WARN: ", " ERROR: ").size(), observed.app.describe());
        });
    }

    @TestFactory
    List<DynamicTest> aKernelThatRefusesAnOptionOnMultipathTcpSockets() {
        return PerJdk.tests(jdk -> {
            Observed observed = run(ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .env("LD_PRELOAD", CProgram.sharedLibrary("mptcp_preload").toString())
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=info")
                    .mainClass(JdkConnectionsApp.class.getName())
                    .args("socket-constructor", "socket-channel-blocking", "socket-channel-non-blocking", "async-future",
                            "http-clients"));
            JdkCoverageIT.Observed app = observed.app;
            assertTrue(app.stdout.contains("HTTP http-clients 200 200"), app.describe());
            assertFalse(app.kernel.isEmpty(), app.describe());
            for (KernelSocket socket : app.kernel) {
                assertEquals("mptcp", socket.protocol, socket + "\n" + app.describe());
                // -1: the kernel refuses even to read TCP_USER_TIMEOUT on such a socket
                assertEquals("1 61 11 7 -1", socket.options(), socket + "\n" + app.describe());
            }
            app.assertApplicationSees("true 61 11 7");
            // said once; the count of later failures goes into the summary lines (each minute, and at exit)
            List<String> warnings = observed.agentLines(" WARN: ", " ERROR: ");
            assertEquals(1, warnings.stream().filter(l -> !l.contains(" more failures since the last report: "))
                    .count(), "said once: " + app.describe());
            assertTrue(warnings.stream().allMatch(l -> l.contains("TCP_USER_TIMEOUT")), app.describe());
            assertTrue(observed.agentLines(" connect ", " accept ").stream().allMatch(l -> l.contains(
                    "keepalive=true keepalive.idle=61s keepalive.interval=11s keepalive.count=7 user_timeout=?")),
                    app.describe());
        });
    }

    private static Observed run(ForkedJvm jvm) {
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(60));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            return new Observed(new JdkCoverageIT.Observed(running.stdoutLines(), running.stderr(), kernel));
        }
    }

    private static final class Observed {
        final JdkCoverageIT.Observed app;

        Observed(JdkCoverageIT.Observed app) {
            this.app = app;
        }

        /** The agent's log lines that contain any of {@code texts}. */
        List<String> agentLines(String... texts) {
            return app.stderr.lines().filter(l -> l.contains(" tcp-hardening ")).filter(l -> {
                for (String text : texts) {
                    if (l.contains(text)) {
                        return true;
                    }
                }
                return false;
            }).collect(Collectors.toList());
        }
    }

    /**
     * A directory for {@code --patch-module java.base=}: the JDK's own {@code sun/nio/ch/Net.class}, read from its
     * image, with {@code setIntOption0(FileDescriptor, ...)} turned into {@code setIntOption0(Object, ...)} in its
     * declaration and at every call. Same arguments for the native code, another signature for a lookup.
     */
    private static synchronized Path patchedNet(Jdks.Jdk jdk) throws Exception {
        Path dir = temp.resolve("patched-net-" + jdk.major());
        Path patched = dir.resolve("sun/nio/ch/Net.class");
        if (Files.exists(patched)) {
            return dir;
        }
        byte[] original;
        try (FileSystem image = FileSystems.newFileSystem(URI.create("jrt:/"),
                Map.of("java.home", jdk.home().toString()))) {
            original = Files.readAllBytes(image.getPath("modules", "java.base", "sun/nio/ch/Net.class"));
        }
        String before = "(Ljava/io/FileDescriptor;ZIIIZ)V";
        String after = "(Ljava/lang/Object;ZIIIZ)V";
        boolean[] declared = new boolean[1];
        ClassReader reader = new ClassReader(original);
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                boolean target = name.equals("setIntOption0") && descriptor.equals(before);
                declared[0] |= target;
                MethodVisitor visitor = super.visitMethod(access, name, target ? after : descriptor, signature,
                        exceptions);
                return new MethodVisitor(Opcodes.ASM9, visitor) {
                    @Override
                    public void visitMethodInsn(int opcode, String owner, String method, String desc, boolean itf) {
                        boolean call = owner.equals("sun/nio/ch/Net") && method.equals("setIntOption0")
                                && desc.equals(before);
                        super.visitMethodInsn(opcode, owner, method, call ? after : desc, itf);
                    }
                };
            }
        }, 0);
        assertTrue(declared[0], "JDK " + jdk.major() + " has no sun.nio.ch.Net.setIntOption0" + before);
        Files.createDirectories(patched.getParent());
        Files.write(patched, writer.toByteArray());
        return dir;
    }
}
