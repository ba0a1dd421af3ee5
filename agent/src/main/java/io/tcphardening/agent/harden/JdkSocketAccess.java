package io.tcphardening.agent.harden;

import java.io.FileDescriptor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.nio.channels.Channel;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * How to reach the descriptor of one kind of JDK socket object safely: which field holds the descriptor, which lock
 * the JDK's own close path takes, and which state means "open". Holding that lock while the socket is open means the
 * descriptor cannot be closed, and its number cannot be reused by another file, while the agent writes to it.
 *
 * <p>One instance per JDK implementation class, resolved on first use of that class (never for classes the application
 * does not use) and kept in a {@link ClassValue}. Fields are read through {@link VarHandle}s, called with erased types
 * ({@code Object} in, {@code int}, {@code boolean} or {@code Object} out): that links straight to the JDK's
 * precompiled guards, so nothing is spun at first use on any JDK. Core reflection would cost about 6 ms of every
 * JVM's start on JDK 18+, where each field's accessor is a method handle adapted and spun at first use.
 */
final class JdkSocketAccess {

    /** Code run while the socket is held open. */
    interface Locked<T> {
        T run(FileDescriptor fd) throws Exception;
    }

    private final String kind;
    private final String serverKind;
    private final VarHandle fd;
    private final VarHandle lock;
    /** The state field; for the asynchronous channels only their connection state. */
    private final VarHandle state;
    /** The asynchronous channels: open is what {@code isOpen()} says, under the read half of their close lock. */
    private final boolean closedThroughIsOpen;
    /** The legacy implementation: open until its {@code closePending} is set, under its {@code fdLock}. */
    private final VarHandle closePending;
    /** The legacy implementation's connect hook runs where a normal return means connected. */
    private final boolean connectedAtHook;
    private final int firstOpenState;
    private final int closingState;
    private final int connectedState;
    /** The channel's protocol family (JDK 16+: TCP or Unix domain); null where it is always TCP. */
    private final VarHandle family;
    /** JDK 17's {@code NioSocketImpl.stream}: false for the old datagram socket implementation; null if absent. */
    private final VarHandle stream;
    /** Whether the implementation serves a ServerSocket ({@code NioSocketImpl.server}); null for other classes. */
    private final VarHandle server;
    /** JDK 11 and 12's legacy implementation: {@code SocketImpl.serverSocket}, not null for a ServerSocket's. */
    private final VarHandle serverSocket;
    /** A listener class (ServerSocketChannel, AsynchronousServerSocketChannel). */
    private final boolean listener;
    /** {@code SocketImpl.port}: the legacy implementation's destination port, set before its connect hook. */
    private final VarHandle port;
    /**
     * Where the JDK keeps the addresses it learnt at connect and accept, read instead of asking the kernel again:
     * {@code SocketImpl.address} (an InetAddress) with {@code peerPort} and {@code localport}, or a channel's
     * {@code remoteAddress} and {@code localAddress} (InetSocketAddress) with the two port handles null.
     */
    private final VarHandle peer;
    private final VarHandle peerPort;
    private final VarHandle localPort;
    private final VarHandle localAddress;

    private JdkSocketAccess(Builder b) {
        this.kind = b.kind;
        this.serverKind = b.serverKind;
        this.fd = b.fd;
        this.lock = b.lock;
        this.state = b.state;
        this.closedThroughIsOpen = b.closedThroughIsOpen;
        this.closePending = b.closePending;
        this.connectedAtHook = b.connectedAtHook;
        this.firstOpenState = b.firstOpenState;
        this.closingState = b.closingState;
        this.connectedState = b.connectedState;
        this.family = b.family;
        this.stream = b.stream;
        this.server = b.server;
        this.serverSocket = b.serverSocket;
        this.listener = b.listener;
        this.port = b.port;
        this.peer = b.peer;
        this.peerPort = b.peerPort;
        this.localPort = b.localPort;
        this.localAddress = b.localAddress;
    }

    /** The JDK implementation classes the agent hooks, by the name of the class that holds their state. */
    static JdkSocketAccess resolve(Class<?> type) throws ReflectiveOperationException {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            switch (c.getName()) {
                case "sun.nio.ch.NioSocketImpl":
                    return socketImpl(c);
                case "java.net.AbstractPlainSocketImpl":
                    return legacySocketImpl(c);
                case "sun.nio.ch.SocketChannelImpl":
                    return channel(c, "SocketChannel", "ST_UNCONNECTED", "ST_CONNECTED");
                case "sun.nio.ch.ServerSocketChannelImpl":
                    return channel(c, "ServerSocketChannel", "ST_INUSE", null);
                case "sun.nio.ch.AsynchronousSocketChannelImpl":
                    return asynchronous(c, "AsynchronousSocketChannel", "ST_CONNECTED");
                case "sun.nio.ch.AsynchronousServerSocketChannelImpl":
                    return asynchronous(c, "AsynchronousServerSocketChannel", null);
                default:
            }
        }
        return null;
    }

    /** {@code java.net.Socket} and {@code ServerSocket}: the platform implementation behind both. */
    private static JdkSocketAccess socketImpl(Class<?> c) throws ReflectiveOperationException {
        Builder b = socketImplBuilder(c);
        b.lock = field(c, "stateLock");
        b.state = field(c, "state");
        b.firstOpenState = constant(c, "ST_UNCONNECTED");
        b.closingState = constant(c, "ST_CLOSING");
        b.connectedState = constant(c, "ST_CONNECTED");
        b.server = field(c, "server");
        b.stream = optionalField(c, "stream");
        return new JdkSocketAccess(b);
    }

    /**
     * {@code java.net.Socket} and {@code ServerSocket} through the legacy implementation (JDK 11 to 17; JDK 11 and 12's
     * {@code SocksSocketImpl} extends it, 13 to 17's wraps it). Its close takes {@code fdLock} and, while another
     * thread is inside a read, write or accept, only marks {@code closePending} and points the descriptor's number at
     * a marker socket (dup2): so the socket is open while {@code closePending} is false under {@code fdLock}.
     */
    private static JdkSocketAccess legacySocketImpl(Class<?> c) throws ReflectiveOperationException {
        Builder b = socketImplBuilder(c);
        b.lock = field(c, "fdLock");
        b.closePending = field(c, "closePending");
        b.connectedAtHook = true;
        b.port = field(c.getSuperclass(), "port");
        b.stream = field(c, "stream");
        b.server = optionalField(c, "isServer");  // JDK 13 to 17
        if (b.server == null) {
            b.serverSocket = field(c.getSuperclass(), "serverSocket");  // JDK 11 and 12
        }
        return new JdkSocketAccess(b);
    }

    /** What both implementations behind java.net.Socket share: their kinds, and the descriptor in SocketImpl. */
    private static Builder socketImplBuilder(Class<?> c) throws ReflectiveOperationException {
        Builder b = new Builder("Socket");
        b.serverKind = "ServerSocket";
        Class<?> socketImpl = c.getSuperclass();  // java.net.SocketImpl
        b.fd = field(socketImpl, "fd");
        b.peer = field(socketImpl, "address");
        b.peerPort = field(socketImpl, "port");
        b.localPort = field(socketImpl, "localport");
        return b;
    }

    /** SocketChannel and ServerSocketChannel, which may also be Unix-domain channels since JDK 16. */
    private static JdkSocketAccess channel(Class<?> c, String kind, String firstOpen, String connected)
            throws ReflectiveOperationException {
        Builder b = new Builder(kind);
        b.fd = field(c, "fd");
        b.lock = field(c, "stateLock");
        b.state = field(c, "state");
        b.firstOpenState = constant(c, firstOpen);
        b.closingState = constant(c, "ST_CLOSING");
        b.connectedState = connected == null ? -1 : constant(c, connected);
        b.listener = connected == null;
        b.family = optionalField(c, "family");
        addresses(b, c);
        return new JdkSocketAccess(b);
    }

    /** The asynchronous channels, closed under the write half of {@code closeLock}. */
    private static JdkSocketAccess asynchronous(Class<?> c, String kind, String connected)
            throws ReflectiveOperationException {
        Builder b = new Builder(kind);
        b.fd = field(c, "fd");
        b.lock = field(c, "closeLock");
        b.closedThroughIsOpen = true;
        if (connected != null) {
            b.state = field(c, "state");
            b.connectedState = constant(c, connected);
        }
        b.listener = connected == null;
        addresses(b, c);
        return new JdkSocketAccess(b);
    }

    private static void addresses(Builder b, Class<?> c) throws ReflectiveOperationException {
        if (!b.listener) {
            b.peer = field(c, "remoteAddress");
            b.localAddress = field(c, "localAddress");
        }
    }

    /** The package is opened to the agent's module only (JdkInternals); the field's type is whatever this JDK has. */
    private static VarHandle field(Class<?> c, String name) throws ReflectiveOperationException {
        return MethodHandles.privateLookupIn(c, MethodHandles.lookup()).unreflectVarHandle(c.getDeclaredField(name));
    }

    private static VarHandle optionalField(Class<?> c, String name) throws ReflectiveOperationException {
        try {
            return field(c, name);
        } catch (NoSuchFieldException e) {
            return null;
        }
    }

    private static int constant(Class<?> c, String name) throws ReflectiveOperationException {
        return (int) field(c, name).get();
    }

    // ---- use

    String kind(Object socket) {
        return isServerSocket(socket) ? serverKind : kind;
    }

    private boolean isServerSocket(Object socket) {
        return server != null ? (boolean) server.get(socket)
                : serverSocket != null && (Object) serverSocket.get(socket) != null;
    }

    /** A listener: a ServerSocket's implementation, or a server channel. */
    boolean isListener(Object socket) {
        return listener || isServerSocket(socket);
    }

    /** The legacy implementation's destination port at its connect hook; -1 for the others (their hooks pass it). */
    int port(Object socket) {
        return port == null ? -1 : (int) port.get(socket);
    }

    /**
     * The peer's address as the JDK recorded it at connect (set before the SYN) or accept, or null: no system call,
     * and with the host name the application gave, if it gave one.
     */
    InetAddress peerAddress(Object socket) {
        Object address = (Object) peer.get(socket);
        if (peerPort != null) {
            return (InetAddress) address;
        }
        return address instanceof InetSocketAddress ? ((InetSocketAddress) address).getAddress() : null;
    }

    int peerPort(Object socket) {
        if (peerPort != null) {
            return (int) peerPort.get(socket);
        }
        Object address = (Object) peer.get(socket);
        return address instanceof InetSocketAddress ? ((InetSocketAddress) address).getPort() : -1;
    }

    /** The local port the JDK recorded at connect or accept (for an accepted socket, its listener's). */
    int localPort(Object socket) {
        if (localPort != null) {
            return (int) localPort.get(socket);
        }
        Object address = (Object) localAddress.get(socket);
        return address instanceof InetSocketAddress ? ((InetSocketAddress) address).getPort() : -1;
    }

    /** The peer as the JDK recorded it, or null. */
    InetSocketAddress peer(Object socket) {
        if (peerPort != null) {
            InetAddress address = (InetAddress) (Object) peer.get(socket);
            return address == null ? null : new InetSocketAddress(address, (int) peerPort.get(socket));
        }
        Object address = (Object) peer.get(socket);
        return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
    }

    /** The local address as a channel recorded it; null for {@code java.net.Socket}, which keeps only the port. */
    InetSocketAddress local(Object socket) {
        Object address = localAddress == null ? null : (Object) localAddress.get(socket);
        return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
    }

    /** The descriptor object, read without the lock: only to look its number up, never to write to it. */
    FileDescriptor descriptor(Object socket) {
        return (FileDescriptor) (Object) fd.get(socket);
    }

    /** The legacy implementation: its connect hook runs where a normal return means connected. */
    boolean connectsAtHook() {
        return connectedAtHook;
    }

    /**
     * An accepted socket is TCP whatever its fields say: the legacy implementation never sets {@code stream} on the
     * sockets it accepts.
     */
    boolean isTcp(Object socket, boolean accepted) {
        if (stream != null && !accepted && !(boolean) stream.get(socket)) {
            return false;
        }
        Object protocolFamily = family == null ? null : (Object) family.get(socket);
        return !(protocolFamily instanceof ProtocolFamily) || !((ProtocolFamily) protocolFamily).name().equals("UNIX");
    }

    /** For a socket that connects: whether it has. Only meaningful inside {@link #locked}. */
    boolean isConnected(Object socket) {
        return connectedAtHook || connectedState >= 0 && (int) state.get(socket) == connectedState;
    }

    /**
     * Runs {@code action} on the socket's descriptor while holding the lock that the JDK's close path takes, and only
     * if the socket is open and has a descriptor; returns null otherwise.
     */
    <T> T locked(Object socket, Locked<T> action) throws Exception {
        Object monitor = (Object) lock.get(socket);
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

    private <T> T locked(Object socket, Lock held, Locked<T> action) throws Exception {
        held.lock();
        try {
            return whenOpen(socket, action);
        } finally {
            held.unlock();
        }
    }

    private <T> T whenOpen(Object socket, Locked<T> action) throws Exception {
        boolean open;
        if (closedThroughIsOpen) {
            open = ((Channel) socket).isOpen();
        } else if (closePending != null) {
            open = !(boolean) closePending.get(socket);
        } else {
            int current = (int) state.get(socket);
            open = current >= firstOpenState && current < closingState;
        }
        FileDescriptor descriptor = open ? (FileDescriptor) (Object) fd.get(socket) : null;
        // valid(): the legacy implementation creates the FileDescriptor object before the socket it will hold
        return descriptor == null || !descriptor.valid() ? null : action.run(descriptor);
    }

    /** Collects the fields of one class. */
    private static final class Builder {
        final String kind;
        String serverKind;
        VarHandle fd;
        VarHandle lock;
        VarHandle state;
        boolean closedThroughIsOpen;
        VarHandle closePending;
        boolean connectedAtHook;
        int firstOpenState;
        int closingState = Integer.MAX_VALUE;
        int connectedState = -1;
        VarHandle family;
        VarHandle stream;
        VarHandle server;
        VarHandle serverSocket;
        boolean listener;
        VarHandle port;
        VarHandle peer;
        VarHandle peerPort;
        VarHandle localPort;
        VarHandle localAddress;

        Builder(String kind) {
            this.kind = kind;
        }
    }
}
