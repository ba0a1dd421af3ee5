package io.tcphardening.agent;

import java.io.FileDescriptor;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * How to reach the descriptor of one kind of JDK socket object safely: which field holds the descriptor, which lock
 * the JDK's own close path takes, and which state means "open". Holding that lock while the socket is open means the
 * descriptor cannot be closed, and its number cannot be reused by another file, while the agent writes to it.
 *
 * <p>One instance per JDK implementation class, resolved on first use of that class (never for classes the application
 * does not use) and kept in a {@link ClassValue}.
 */
final class JdkSocketAccess {

    /** Code run while the socket is held open. */
    interface Locked<T> {
        T run(FileDescriptor fd) throws Throwable;
    }

    private static final MethodType OBJECT_TO_INT = MethodType.methodType(int.class, Object.class);
    private static final MethodType OBJECT_TO_BOOLEAN = MethodType.methodType(boolean.class, Object.class);

    private final String kind;
    private final String serverKind;
    private final MethodHandle fd;
    private final MethodHandle lock;
    /** The state field, or null where the channel's {@code isOpen()} says it ({@link #isOpen}). */
    private final MethodHandle state;
    private final int firstOpenState;
    private final int closingState;
    private final int connectedState;
    private final MethodHandle isOpen;
    /** Whether the socket is TCP rather than a Unix-domain or datagram socket; null where it always is. */
    private final MethodHandle isTcp;
    /** Whether a socket implementation serves a ServerSocket; null for classes that are one or the other. */
    private final MethodHandle isServer;

    private JdkSocketAccess(Builder b) {
        this.kind = b.kind;
        this.serverKind = b.serverKind;
        this.fd = b.fd;
        this.lock = b.lock;
        this.state = b.state;
        this.firstOpenState = b.firstOpenState;
        this.closingState = b.closingState;
        this.connectedState = b.connectedState;
        this.isOpen = b.isOpen;
        this.isTcp = b.isTcp;
        this.isServer = b.isServer;
    }

    /** The JDK implementation classes the agent hooks, by the name of the class that holds their state. */
    static JdkSocketAccess resolve(Class<?> type, JdkInternals jdk) throws ReflectiveOperationException {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            switch (c.getName()) {
                case "sun.nio.ch.NioSocketImpl":
                    return socketImpl(c, jdk);
                case "sun.nio.ch.SocketChannelImpl":
                    return channel(c, jdk, "SocketChannel", "isNetSocket", "ST_UNCONNECTED");
                case "sun.nio.ch.ServerSocketChannelImpl":
                    return channel(c, jdk, "ServerSocketChannel", "isNetSocket", "ST_INUSE");
                case "sun.nio.ch.AsynchronousSocketChannelImpl":
                    return asynchronous(c, jdk, "AsynchronousSocketChannel", true);
                case "sun.nio.ch.AsynchronousServerSocketChannelImpl":
                    return asynchronous(c, jdk, "AsynchronousServerSocketChannel", false);
                default:
            }
        }
        return null;
    }

    /** {@code java.net.Socket} and {@code ServerSocket}: the platform implementation behind both. */
    private static JdkSocketAccess socketImpl(Class<?> c, JdkInternals jdk) throws ReflectiveOperationException {
        MethodHandles.Lookup lookup = jdk.privateLookup(c);
        Class<?> socketImpl = c.getSuperclass();
        Builder b = new Builder("Socket");
        b.serverKind = "ServerSocket";
        b.fd = jdk.privateLookup(socketImpl).findGetter(socketImpl, "fd", FileDescriptor.class);
        b.lock = lookup.findGetter(c, "stateLock", Object.class);
        b.state = lookup.findGetter(c, "state", int.class);
        b.firstOpenState = constant(lookup, c, "ST_UNCONNECTED");
        b.closingState = constant(lookup, c, "ST_CLOSING");
        b.connectedState = constant(lookup, c, "ST_CONNECTED");
        b.isServer = lookup.findGetter(c, "server", boolean.class);
        b.isTcp = optionalGetter(lookup, c, "stream");  // JDK 17 still has datagram SocketImpls; JDK 25 does not
        return b.build();
    }

    /** SocketChannel and ServerSocketChannel, which may also be Unix-domain channels since JDK 16. */
    private static JdkSocketAccess channel(Class<?> c, JdkInternals jdk, String kind, String netTest,
                                           String firstOpen) throws ReflectiveOperationException {
        MethodHandles.Lookup lookup = jdk.privateLookup(c);
        Builder b = new Builder(kind);
        b.fd = lookup.findGetter(c, "fd", FileDescriptor.class);
        b.lock = lookup.findGetter(c, "stateLock", Object.class);
        b.state = lookup.findGetter(c, "state", int.class);
        b.firstOpenState = constant(lookup, c, firstOpen);
        b.closingState = constant(lookup, c, "ST_CLOSING");
        b.connectedState = kind.equals("SocketChannel") ? constant(lookup, c, "ST_CONNECTED") : -1;
        try {
            b.isTcp = lookup.findVirtual(c, netTest, MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException e) {
            b.isTcp = null;  // before JDK 16 every such channel is TCP
        }
        return b.build();
    }

    /** The asynchronous channels, closed under the write half of {@code closeLock}. */
    private static JdkSocketAccess asynchronous(Class<?> c, JdkInternals jdk, String kind, boolean connects)
            throws ReflectiveOperationException {
        MethodHandles.Lookup lookup = jdk.privateLookup(c);
        Builder b = new Builder(kind);
        b.fd = lookup.findGetter(c, "fd", FileDescriptor.class);
        b.lock = lookup.findGetter(c, "closeLock", ReadWriteLock.class);
        b.isOpen = lookup.findVirtual(c, "isOpen", MethodType.methodType(boolean.class));
        if (connects) {
            b.state = lookup.findGetter(c, "state", int.class);
            b.connectedState = constant(lookup, c, "ST_CONNECTED");
        }
        return b.build();
    }

    private static int constant(MethodHandles.Lookup lookup, Class<?> c, String name)
            throws ReflectiveOperationException {
        try {
            return (int) lookup.findStaticGetter(c, name, int.class).invokeExact();
        } catch (ReflectiveOperationException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new ReflectiveOperationException(t);
        }
    }

    private static MethodHandle optionalGetter(MethodHandles.Lookup lookup, Class<?> c, String name)
            throws IllegalAccessException {
        try {
            return lookup.findGetter(c, name, boolean.class);
        } catch (NoSuchFieldException e) {
            return null;
        }
    }

    // ---- use

    String kind(Object socket) throws Throwable {
        return isServer != null && (boolean) isServer.invokeExact(socket) ? serverKind : kind;
    }

    boolean isTcp(Object socket) throws Throwable {
        return isTcp == null || (boolean) isTcp.invokeExact(socket);
    }

    /** For a socket that connects: whether it has. Only meaningful inside {@link #locked}. */
    boolean isConnected(Object socket) throws Throwable {
        return state != null && connectedState >= 0 && (int) state.invokeExact(socket) == connectedState;
    }

    /**
     * Runs {@code action} on the socket's descriptor while holding the lock that the JDK's close path takes, and only
     * if the socket is open and has a descriptor; returns null otherwise.
     */
    <T> T locked(Object socket, Locked<T> action) throws Throwable {
        Object monitor = (Object) lock.invokeExact(socket);
        if (monitor instanceof ReadWriteLock) {
            return locked(socket, ((ReadWriteLock) monitor).readLock(), action);
        }
        if (monitor instanceof Lock) {
            return locked(socket, (Lock) monitor, action);
        }
        synchronized (monitor) {
            return whenOpen(socket, action);
        }
    }

    private <T> T locked(Object socket, Lock held, Locked<T> action) throws Throwable {
        held.lock();
        try {
            return whenOpen(socket, action);
        } finally {
            held.unlock();
        }
    }

    private <T> T whenOpen(Object socket, Locked<T> action) throws Throwable {
        boolean open;
        if (isOpen != null) {
            open = (boolean) isOpen.invokeExact(socket);
        } else {
            int current = (int) state.invokeExact(socket);
            open = current >= firstOpenState && current < closingState;
        }
        FileDescriptor descriptor = open ? (FileDescriptor) fd.invokeExact(socket) : null;
        return descriptor == null ? null : action.run(descriptor);
    }

    /** Collects the handles of one class, each adapted to take the socket as a plain Object. */
    private static final class Builder {
        final String kind;
        String serverKind;
        MethodHandle fd;
        MethodHandle lock;
        MethodHandle state;
        int firstOpenState;
        int closingState = Integer.MAX_VALUE;
        int connectedState = -1;
        MethodHandle isOpen;
        MethodHandle isTcp;
        MethodHandle isServer;

        Builder(String kind) {
            this.kind = kind;
        }

        JdkSocketAccess build() {
            fd = generic(fd, MethodType.methodType(FileDescriptor.class, Object.class));
            lock = generic(lock, MethodType.methodType(Object.class, Object.class));
            state = generic(state, OBJECT_TO_INT);
            isOpen = generic(isOpen, OBJECT_TO_BOOLEAN);
            isTcp = generic(isTcp, OBJECT_TO_BOOLEAN);
            isServer = generic(isServer, OBJECT_TO_BOOLEAN);
            return new JdkSocketAccess(this);
        }

        private static MethodHandle generic(MethodHandle handle, MethodType type) {
            return handle == null ? null : handle.asType(type);
        }
    }
}
