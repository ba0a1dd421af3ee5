package io.tcphardening.agent.instrument;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.ObjIntConsumer;

/**
 * Defines the bridge inside {@code java.base}, in package {@code java.net}. There the JDK's socket classes can link to
 * it without new module edges, and code in any class loader can reach it, because {@code java.net} is exported. The
 * alternative, appending a jar to the boot class path, makes JDK 25 print a CDS warning into the application's output.
 */
public final class BridgeInjector {

    /** The bridge's name once defined, as the hooked bytecode refers to it. */
    static final String BRIDGE = "java/net/TcpHardeningBridge";

    private BridgeInjector() {
        // no instances
    }

    /** Defines the bridge (once per JVM) and points it at the agent's handlers. */
    public static void inject(JdkInternals jdk, ObjIntConsumer<Object> events, BiFunction<Object, Object[], Object> options,
                              BiConsumer<Object, Object> connects, BiConsumer<Object, Object> writes) throws Exception {
        Class<?> bridge;
        try {
            bridge = Class.forName(BRIDGE.replace('/', '.'), false, null);
        } catch (ClassNotFoundException notYet) {
            bridge = jdk.javaNet().defineClass(classFile());
        }
        // java.net is open to the agent's module (JdkInternals). VarHandles set with erased types spin nothing,
        // unlike Field.set on JDK 18+ (see JdkSocketAccess).
        MethodHandles.Lookup inBridge = jdk.privateLookup(bridge);
        inBridge.findStaticVarHandle(bridge, "options", BiFunction.class).setVolatile((Object) options);
        inBridge.findStaticVarHandle(bridge, "connects", BiConsumer.class).setVolatile((Object) connects);
        inBridge.findStaticVarHandle(bridge, "writes", BiConsumer.class).setVolatile((Object) writes);
        inBridge.findStaticVarHandle(bridge, "events", ObjIntConsumer.class).setVolatile((Object) events);
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
