package io.tcphardening.agent.harden;

import io.tcphardening.agent.observe.AgentState;
import io.tcphardening.agent.observe.ConnectionEvents;
import io.tcphardening.agent.observe.Counters;
import io.tcphardening.agent.observe.HardeningLog;
import io.tcphardening.agent.settings.LogLevel;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.io.FileDescriptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place that applies options to sockets. Two moments:
 * <ul>
 *   <li>when a socket gets its descriptor ({@link #created}): set every configured option, before any handshake, so
 *   that TCP_USER_TIMEOUT also bounds the connect and accepted sockets inherit the options from their listener;</li>
 *   <li>when it is connected or accepted ({@link #established}): read every option back from the kernel, set again
 *   what differs (a listener created before the agent started, say), and log the values the kernel holds.</li>
 * </ul>
 * And whenever the application sets one of the five options itself ({@link #applicationSets}), the configured value
 * replaces the application's, so that the kernel keeps the configured value for the connection's whole life.
 *
 * <p>Sockets come in two shapes: JDK socket objects ({@link JdkSocketAccess}: written under the JDK's close lock,
 * through the {@link JdkSocketRoute} this JDK offers) and Netty native channels ({@link NettyChannels}: Netty's own
 * option methods, on the channel's event loop or before the channel is shared). Both meet in {@link OpenSocket}.
 */
public final class SocketHardener implements AgentState {

    private final JdkSocketRoute route;
    private final HardeningLog log;
    /** Created at the first Netty hook: an application without Netty loads none of the agent's Netty support. */
    private volatile NettyChannels netty;
    private final OverrideNotes overrides = new OverrideNotes();
    private final Counters counters = new Counters();
    private final ConnectionEvents events = new ConnectionEvents();
    private volatile Settings settings;

    private final ClassValue<JdkSocketAccess> jdk = new ClassValue<JdkSocketAccess>() {
        @Override
        protected JdkSocketAccess computeValue(Class<?> type) {
            try {
                return JdkSocketAccess.resolve(type);
            } catch (ReflectiveOperationException | RuntimeException e) {
                log.error("cannot reach the descriptor of " + type.getName() + " on this JDK ("
                        + System.getProperty("java.runtime.version") + "), its connections will not be hardened: " + e);
                return null;
            }
        }
    };

    public SocketHardener(Settings settings, JdkSocketRoute route, HardeningLog log) {
        this.settings = settings;
        this.route = route;
        this.log = log;
    }

    private NettyChannels netty() {
        NettyChannels current = netty;
        if (current == null) {
            synchronized (this) {
                current = netty;
                if (current == null) {
                    current = new NettyChannels(log);
                    netty = current;
                }
            }
        }
        return current;
    }

    /** What the route to JDK sockets cannot do on this JDK, or null. */
    public String jdkRouteLimitation() {
        return route.limitation();
    }

    @Override
    public Settings settings() {
        return settings;
    }

    @Override
    public Counters counters() {
        return counters;
    }

    public void update(Settings newSettings) {
        settings = newSettings;
    }

    /**
     * A JDK socket got its descriptor, a Netty client channel was initialised by its bootstrap (not connected yet), or
     * a Netty server's acceptor took an accepted channel (before any of the application's handlers is added to it).
     */
    void created(Object socket) throws Exception {
        Settings current = settings;
        if (!current.setsAnything()) {
            return;
        }
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            if (jdkSocket.isTcp(socket, false)) {
                jdkSocket.locked(socket, new SetAll(socket, jdkSocket.kind(socket), current));
            }
            return;
        }
        NettyChannels netty = netty();
        NettyChannels.Type channel = netty.type(socket);
        OpenSocket open = channel == null ? null : netty.open(channel, socket);
        if (open != null) {
            setAll(open, current, channel.kind);
        }
    }

    /**
     * A JDK socket is connected ({@code accepted} false) or was accepted, or a Netty channel became active
     * ({@code socket} is then its pipeline, and the channel's parent tells accepted from connected).
     */
    void established(Object socket, boolean accepted) throws Exception {
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            if (jdkSocket.isTcp(socket, accepted)) {
                ConnectionLine line = jdkSocket.locked(socket,
                        new Confirm(jdkSocket, socket, accepted, settings, log.enabled(LogLevel.INFO)));
                report(line, socket);
            } else {
                counters.countNotTcp();
            }
            return;
        }
        NettyChannels netty = netty();
        Object channel = netty.channelOf(socket);
        NettyChannels.Type type = channel == null ? null : netty.type(channel);
        OpenSocket open = type == null ? null : netty.open(type, channel);
        if (open != null) {
            ConnectionLine line = confirmAll(open, type.kind, type.isAccepted(channel), settings,
                    log.enabled(LogLevel.INFO));
            report(line, type.config(channel));
        }
    }

    private void report(ConnectionLine line, Object notesKey) {
        if (line != null) {
            line.replaced = overrides.takePending(notesKey);
            log.info(line);
        }
    }

    /**
     * The application sets an option on {@code socket} (a JDK socket, or a Netty native channel's config); returns
     * the value to set instead. Values the JDK would reject are passed through, so that the application gets the
     * JDK's own exception as without the agent.
     */
    Object applicationSets(Object socket, Object name, Object value) throws Exception {
        TcpOption option = TcpOption.byJdkName(name instanceof SocketOption ? ((SocketOption<?>) name).name()
                : String.valueOf(name));
        Settings current = settings;
        if (option == null || !current.isSet(option)) {
            return value;
        }
        int applicationValue = option.fromJdkValue(value);
        int configured = current.value(option);
        if (applicationValue == configured || applicationValue < option.min || applicationValue > option.max) {
            return value;
        }
        String description = "application's " + option.key + "=" + option.format(applicationValue)
                + " replaced by " + option.format(configured);
        String kind;
        String connection;
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            kind = jdkSocket.kind(socket);
            connection = jdkSocket.locked(socket, new Endpoints(socket));
        } else {
            NettyChannels netty = netty();
            Object channel = netty.channelOfConfig(socket);
            NettyChannels.Type type = channel == null ? null : netty.type(channel);
            OpenSocket open = type == null ? null : netty.open(type, channel);
            kind = type == null ? socket.getClass().getName() : type.kind;
            connection = open == null || !type.isReported(channel) ? null : endpoints(open);
        }
        replaced(socket, kind, connection, option, description);
        return option.toJdkValue(configured);
    }

    /** Counted, and logged once per socket and option: with the connection's line if not connected yet. */
    private void replaced(Object socket, String kind, String connection, TcpOption option, String description) {
        counters.countReplaced(option);
        if (overrides.replaced(socket, option, description, connection != null) && log.enabled(LogLevel.INFO)) {
            log.info(kind + " " + connection + ": " + description);
        }
    }

    /**
     * The application has written an option of a JDK socket whose implementation writes without holding its close
     * lock (the legacy {@code PlainSocketImpl}): a value the agent put in its place would be written as unsafely, to
     * whatever owns the descriptor's number after a racing close. So that write stays the application's own, and
     * here, under the lock and only while the socket is open, every configured option that differs is set again.
     */
    void applicationWrote(Object socket) throws Exception {
        Settings current = settings;
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        // the fallback route writes through the socket's own setOption, which would come back here
        if (jdkSocket == null || !current.setsAnything() || !(route instanceof NativeSocketOptions)) {
            return;
        }
        String kind = jdkSocket.kind(socket);
        Restored restored = jdkSocket.locked(socket, new Restore(socket, kind, current));
        for (int i = 0; restored != null && i < restored.options.size(); i++) {
            replaced(socket, kind, restored.connection, restored.options.get(i), restored.descriptions.get(i));
        }
    }

    /**
     * A TCP socket that was open before the agent was attached, reached through a duplicate of its descriptor that
     * the caller owns (see {@code live.ExistingSockets}), so that it cannot be closed and reused meanwhile: sets every
     * configured option and reads it back. Returns null when the kernel holds the settings, else what it holds instead.
     */
    public String hardenExisting(FileDescriptor duplicate) throws Exception {
        if (!(route instanceof NativeSocketOptions)) {
            // the fallback route writes through socket objects, and a bare duplicate descriptor has none
            throw new IOException(route.limitation());  // not UnsupportedOperationException: one class less to load
        }
        Settings current = settings;
        OpenSocket socket = route.open(null, duplicate);
        StringBuilder mismatch = new StringBuilder();
        for (TcpOption option : TcpOption.ALL) {
            if (current.isSet(option)) {
                socket.set(option, current.value(option));
                int value = socket.get(option);
                if (value != current.value(option)) {
                    mismatch.append(mismatch.length() == 0 ? "" : " ").append(option.key).append('=')
                            .append(option.format(value));
                }
            }
        }
        return mismatch.length() == 0 ? null : mismatch.toString();
    }

    // ---- the one place options are written

    private void setAll(OpenSocket socket, Settings current, String kind) {
        for (TcpOption option : TcpOption.ALL) {
            if (current.isSet(option) && socket.supports(option)) {
                set(socket, option, current.value(option), kind);
            }
        }
    }

    /**
     * Reads every option back and sets again what differs; returns the connection's log line, or null when not
     * logging. Options left unchanged are read only for the log and for a flight recording that wants the event.
     */
    private ConnectionLine confirmAll(OpenSocket socket, String kind, boolean accepted, Settings current,
                                      boolean logging) {
        counters.countHardened(kind, accepted);
        boolean recording = events.wanted();
        int[] values = new int[TcpOption.ALL.length];
        for (TcpOption option : TcpOption.ALL) {
            values[option.ordinal()] = Settings.UNCHANGED;
            if (!socket.supports(option)) {
                values[option.ordinal()] = ConnectionLine.NOT_APPLICABLE;
                continue;
            }
            if (!current.isSet(option) && !logging && !recording) {
                continue;
            }
            try {
                int value = socket.get(option);
                if (current.isSet(option) && value != current.value(option)) {
                    set(socket, option, current.value(option), kind);
                    value = socket.get(option);
                }
                values[option.ordinal()] = value;
            } catch (Exception e) {
                fail(option, kind, e);
            }
        }
        if (recording) {
            events.record(kind, accepted, socket.local(), socket.remote(), values);
        }
        return logging ? new ConnectionLine(kind, accepted, socket.local(), socket.remote(), values, current) : null;
    }

    private void set(OpenSocket socket, TcpOption option, int value, String kind) {
        try {
            socket.set(option, value);
        } catch (Exception e) {
            fail(option, kind, e);
        }
    }

    /**
     * Once per option, whatever the socket kind or the message: an option the kernel refuses (TCP_USER_TIMEOUT on a
     * Multipath TCP socket) fails on every connection, and is one fact for the operator, not one per connection.
     */
    private void fail(TcpOption option, String kind, Exception e) {
        log.failure(option.linuxName, "cannot set or read back " + option.linuxName + " (first on a " + kind + "): "
                + e);
    }

    private static String endpoints(OpenSocket socket) {
        StringBuilder text = ConnectionLine.address(new StringBuilder(), socket.local()).append(" - ");
        return ConnectionLine.address(text, socket.remote()).toString();
    }

    // The actions run under a JDK socket's lock are named classes, not lambdas: a lambda spins a class at its first
    // use, which would be on the application's first connect.

    /** Sets every configured option: before the handshake. */
    private final class SetAll implements JdkSocketAccess.Locked<Void> {
        private final Object socket;
        private final String kind;
        private final Settings current;

        SetAll(Object socket, String kind, Settings current) {
            this.socket = socket;
            this.kind = kind;
            this.current = current;
        }

        @Override
        public Void run(FileDescriptor fd) {
            setAll(route.open(socket, fd), current, kind);
            return null;
        }
    }

    /** Confirms the options of a JDK socket that is connected or accepted (a failed connect is skipped). */
    private final class Confirm implements JdkSocketAccess.Locked<ConnectionLine> {
        private final JdkSocketAccess socketAccess;
        private final Object socket;
        private final boolean accepted;
        private final Settings current;
        private final boolean logging;

        Confirm(JdkSocketAccess socketAccess, Object socket, boolean accepted, Settings current, boolean logging) {
            this.socketAccess = socketAccess;
            this.socket = socket;
            this.accepted = accepted;
            this.current = current;
            this.logging = logging;
        }

        @Override
        public ConnectionLine run(FileDescriptor fd) throws IllegalAccessException {
            if (!accepted && !socketAccess.isConnected(socket)) {
                return null;  // a connect that failed, or a non-blocking one still pending
            }
            return confirmAll(route.open(socket, fd), socketAccess.kind(socket), accepted, current, logging);
        }
    }

    /** What {@link Restore} set again: the options, how each is described, and the connection if connected. */
    private static final class Restored {
        final List<TcpOption> options = new ArrayList<>();
        final List<String> descriptions = new ArrayList<>();
        String connection;
    }

    /** Sets again, from the kernel's values, every configured option that the application's write changed. */
    private final class Restore implements JdkSocketAccess.Locked<Restored> {
        private final Object socket;
        private final String kind;
        private final Settings current;

        Restore(Object socket, String kind, Settings current) {
            this.socket = socket;
            this.kind = kind;
            this.current = current;
        }

        @Override
        public Restored run(FileDescriptor fd) {
            OpenSocket open = route.open(socket, fd);
            Restored restored = new Restored();
            for (TcpOption option : TcpOption.ALL) {
                if (!current.isSet(option) || !open.supports(option)) {
                    continue;
                }
                int configured = current.value(option);
                try {
                    int written = open.get(option);
                    if (written != configured) {
                        open.set(option, configured);
                        restored.options.add(option);
                        restored.descriptions.add("application's " + option.key + "=" + option.format(written)
                                + " replaced by " + option.format(configured));
                    }
                } catch (Exception e) {
                    fail(option, kind, e);
                }
            }
            restored.connection = open.remote() == null ? null : endpoints(open);
            return restored;
        }
    }

    /** "local - remote" of a connected JDK socket, or null if it is not connected (yet). */
    private final class Endpoints implements JdkSocketAccess.Locked<String> {
        private final Object socket;

        Endpoints(Object socket) {
            this.socket = socket;
        }

        @Override
        public String run(FileDescriptor fd) {
            OpenSocket open = route.open(socket, fd);
            return open.remote() == null ? null : endpoints(open);
        }
    }

    /** One hardened connection, formatted on the log thread. */
    private static final class ConnectionLine implements HardeningLog.Line {
        /** An option the socket's route cannot reach (TCP_USER_TIMEOUT through a JDK's public API). */
        static final int NOT_APPLICABLE = Integer.MIN_VALUE;

        private final String kind;
        private final boolean accepted;
        private final InetSocketAddress local;
        private final InetSocketAddress remote;
        private final int[] values;
        private final Settings settings;
        String replaced;

        ConnectionLine(String kind, boolean accepted, InetSocketAddress local, InetSocketAddress remote, int[] values,
                       Settings settings) {
            this.kind = kind;
            this.accepted = accepted;
            this.local = local;
            this.remote = remote;
            this.values = values;
            this.settings = settings;
        }

        @Override
        public String text() {
            StringBuilder text = new StringBuilder(160);
            text.append(kind).append(accepted ? " accept " : " connect ");
            address(text, local).append(accepted ? " <- " : " -> ");
            address(text, remote).append(':');
            for (TcpOption option : TcpOption.ALL) {
                int value = values[option.ordinal()];
                text.append(' ').append(option.key).append('=');
                text.append(value == Settings.UNCHANGED ? "?" : value == NOT_APPLICABLE ? "n/a" : option.format(value));
                if (!settings.isSet(option)) {
                    text.append("(unchanged)");
                }
            }
            if (replaced != null) {
                text.append(" (").append(replaced).append(')');
            }
            return text.toString();
        }

        static StringBuilder address(StringBuilder text, InetSocketAddress address) {
            if (address == null) {
                return text.append('?');
            }
            // getHostAddress, never getHostName: a log line must not cause a DNS look-up
            String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
            return (host.indexOf(':') >= 0 ? text.append('[').append(host).append(']') : text.append(host))
                    .append(':').append(address.getPort());
        }
    }
}
