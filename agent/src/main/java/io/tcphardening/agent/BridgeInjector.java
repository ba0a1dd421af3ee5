package io.tcphardening.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.commons.ClassRemapper;
import net.bytebuddy.jar.asm.commons.SimpleRemapper;

/**
 * Defines the bridge inside {@code java.base}, in package {@code java.net}. There the JDK's socket classes can link to
 * it without new module edges, and code in any class loader can reach it, because {@code java.net} is exported. The
 * alternative, appending a jar to the boot class path, makes JDK 25 print a CDS warning into the application's output.
 */
final class BridgeInjector {

    /** The bridge's name once defined, as the hooked bytecode refers to it. */
    static final String BRIDGE = "java/net/TcpHardeningBridge";

    private static final String TEMPLATE = "io/tcphardening/agent/bridge/TcpHardeningBridge";

    private BridgeInjector() {
        // no instances
    }

    /** Defines the bridge (once per JVM) and points it at the agent's handlers. */
    static void inject(JdkInternals jdk, MethodHandle events, MethodHandle options) throws Exception {
        MethodHandles.Lookup javaNet = jdk.javaNet();
        Class<?> bridge;
        try {
            bridge = Class.forName(BRIDGE.replace('/', '.'), false, null);
        } catch (ClassNotFoundException notYet) {
            bridge = javaNet.defineClass(renamed(template()));
        }
        MethodHandle install = javaNet.findStatic(bridge, "install",
                MethodType.methodType(void.class, MethodHandle.class, MethodHandle.class));
        try {
            install.invokeExact(events, options);
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static byte[] template() throws IOException {
        try (InputStream in = BridgeInjector.class.getClassLoader().getResourceAsStream(TEMPLATE + ".class")) {
            if (in == null) {
                throw new IOException("the bridge template " + TEMPLATE + " is missing from the agent jar");
            }
            return in.readAllBytes();
        }
    }

    private static byte[] renamed(byte[] template) {
        ClassReader reader = new ClassReader(template);
        ClassWriter writer = new ClassWriter(0);
        reader.accept(new ClassRemapper(writer, new SimpleRemapper(TEMPLATE, BRIDGE)), 0);
        return writer.toByteArray();
    }
}
