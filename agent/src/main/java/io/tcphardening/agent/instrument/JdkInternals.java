package io.tcphardening.agent.instrument;

import java.lang.instrument.Instrumentation;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.net.Socket;
import java.util.Map;
import java.util.Set;

/**
 * The agent's one door into the JDK: opens {@code java.base/sun.nio.ch} and {@code java.base/java.net} to the agent's
 * own module (never to the application's), so that the user needs no {@code --add-opens} flag and the application
 * gains no access it did not have. Also {@code sun.nio.fs} (its {@code dup}, for the sockets open before an attach)
 * and {@code jdk.internal.vm} (the agent properties that tools outside the JVM read).
 */
public final class JdkInternals {

    private final Module agentModule = JdkInternals.class.getModule();

    private JdkInternals() {
    }

    public static JdkInternals open(Instrumentation inst) {
        JdkInternals internals = new JdkInternals();
        Module base = Object.class.getModule();
        Set<Module> agent = Set.of(internals.agentModule);
        inst.redefineModule(base, Set.of(), Map.of(), Map.of("sun.nio.ch", agent, "java.net", agent,
                "sun.nio.fs", agent, "jdk.internal.vm", agent), Set.of(), Map.of());
        return internals;
    }

    /** A lookup with private access to a JDK class whose package was opened above. */
    public MethodHandles.Lookup privateLookup(Class<?> target) throws IllegalAccessException {
        return MethodHandles.privateLookupIn(target, MethodHandles.lookup());
    }

    /** A lookup inside {@code java.net}, where the bridge is defined. */
    MethodHandles.Lookup javaNet() throws IllegalAccessException {
        return privateLookup(Socket.class);
    }

    public Class<?> jdkClass(String name) throws ClassNotFoundException {
        return Class.forName(name, false, null);
    }

    /** A method of a JDK class whose package was opened above, for core reflection. */
    public static Method method(Class<?> type, String name, Class<?>... parameters) throws NoSuchMethodException {
        Method method = type.getDeclaredMethod(name, parameters);
        method.setAccessible(true);
        return method;
    }
}
