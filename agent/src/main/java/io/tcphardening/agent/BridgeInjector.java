package io.tcphardening.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Defines the bridge inside {@code java.base}, in package {@code java.net}. There the JDK's socket classes can link to
 * it without new module edges, and code in any class loader can reach it, because {@code java.net} is exported. The
 * alternative, appending a jar to the boot class path, makes JDK 25 print a CDS warning into the application's output.
 */
final class BridgeInjector {

    /** The bridge's name once defined, as the hooked bytecode refers to it. */
    static final String BRIDGE = "java/net/TcpHardeningBridge";


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
            bridge = javaNet.defineClass(classFile());
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

    /** Compiled into {@code java.net} at build time, and stored where no class loader would define it. */
    private static byte[] classFile() throws IOException {
        try (InputStream in = BridgeInjector.class.getClassLoader().getResourceAsStream(BRIDGE + ".class")) {
            if (in == null) {
                throw new IOException("the bridge " + BRIDGE + " is missing from the agent jar");
            }
            return in.readAllBytes();
        }
    }
}
