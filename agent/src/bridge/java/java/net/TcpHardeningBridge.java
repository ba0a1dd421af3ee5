package java.net;

import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.ObjIntConsumer;

/**
 * The bridge between hooked code and the agent. Compiled into {@code java.net} ({@code --patch-module}) and shipped
 * as data inside the agent jar; {@code BridgeInjector} defines it inside {@code java.base}, where both the JDK's
 * socket classes and any copy of Netty, in any class loader, can call it. So it may use JDK types only, and holds
 * nothing but four handlers of the agent's, typed by JDK interfaces: calling them links like any interface call,
 * with nothing spun at first use.
 *
 * <p>Every method returns normally whatever happens behind it: the hooked code is the application's.
 */
public final class TcpHardeningBridge {

    public static final int CREATED = 0;
    public static final int CONNECTED = 1;
    public static final int ACCEPTED = 2;
    public static final int MBEAN_SERVER = 3;

    /** SocketOptions.SO_KEEPALIVE: the one option of ours that the legacy integer API can set. */
    private static final int LEGACY_SO_KEEPALIVE = 0x0008;

    /** (socket, event): set by the agent, through reflection on this package opened to it. */
    private static volatile ObjIntConsumer<Object> events;
    /** (socket, {name, value}) to the value to set instead. */
    private static volatile BiFunction<Object, Object[], Object> options;
    /** (socket, destination): a socket is about to connect. */
    private static volatile BiConsumer<Object, Object> connects;
    /** (socket, option name): the application has written an option through the legacy implementation. */
    private static volatile BiConsumer<Object, Object> writes;

    private TcpHardeningBridge() {
    }

    /** A socket got its descriptor and is not connected yet: the time to set options before the handshake. */
    public static void created(Object socket) {
        event(socket, CREATED);
    }

    public static void connected(Object socket) {
        event(socket, CONNECTED);
    }

    public static void accepted(Object socket) {
        event(socket, ACCEPTED);
    }

    /** {@code ManagementFactory.getPlatformMBeanServer} returns {@code server}: the agent registers its MBean there. */
    public static void platformMBeanServer(Object server) {
        event(server, MBEAN_SERVER);
    }

    /**
     * A socket is about to connect to {@code destination} (a SocketAddress, or the legacy implementation's
     * InetAddress): its rule is decided here, and its options set before the SYN leaves.
     */
    public static void connecting(Object socket, Object destination) {
        pair(connects, socket, destination);
    }

    /**
     * The application has written option {@code name} through the legacy socket implementation, which writes without
     * holding its close lock: the agent lets that write be, and sets its own value again afterwards, under the lock.
     */
    public static void optionWritten(Object socket, Object name) {
        pair(writes, socket, name);
    }

    /** The same through the integer-keyed {@code SocketImpl.setOption(int, Object)}: only SO_KEEPALIVE is ours. */
    public static void legacyOptionWritten(Object socket, int id) {
        if (id == LEGACY_SO_KEEPALIVE) {
            pair(writes, socket, "SO_KEEPALIVE");
        }
    }

    private static void pair(BiConsumer<Object, Object> handler, Object socket, Object argument) {
        if (handler != null) {
            try {
                handler.accept(socket, argument);
            } catch (Throwable ignored) {
                // the agent counts its own failures; nothing may reach the application
            }
        }
    }

    /** The application sets an option; returns the value to set instead. */
    public static Object option(Object socket, Object name, Object value) {
        BiFunction<Object, Object[], Object> handler = options;
        if (handler == null) {
            return value;
        }
        try {
            return handler.apply(socket, new Object[] {name, value});
        } catch (Throwable t) {
            return value;
        }
    }

    /** The application sets an option through the integer-keyed {@code SocketImpl.setOption(int, Object)}. */
    public static Object legacyOption(Object socket, int id, Object value) {
        return id == LEGACY_SO_KEEPALIVE ? option(socket, "SO_KEEPALIVE", value) : value;
    }

    /**
     * The application sets an option through one of Netty's config setters, whose argument is a primitive; returns
     * the value to set instead. SO_KEEPALIVE's boolean arrives as 0 or 1.
     */
    public static int intOption(Object socket, String name, int value) {
        boolean flag = name.equals("SO_KEEPALIVE");
        Object result = option(socket, name, flag ? (Object) Boolean.valueOf(value != 0) : (Object) Integer.valueOf(value));
        if (result instanceof Boolean) {
            return (Boolean) result ? 1 : 0;
        }
        return result instanceof Integer ? (Integer) result : value;
    }

    private static void event(Object socket, int event) {
        ObjIntConsumer<Object> handler = events;
        if (handler != null) {
            try {
                handler.accept(socket, event);
            } catch (Throwable ignored) {
                // the agent counts its own failures; nothing may reach the application
            }
        }
    }
}
