package io.tcphardening.agent;

import java.io.FileDescriptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketOption;

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
 */
final class SocketHardener {

    private final NativeSocketOptions natives;
    private final HardeningLog log;
    private final OverrideNotes overrides = new OverrideNotes();
    private final Endpoints endpoints = new Endpoints();
    private volatile Settings settings;

    private final ClassValue<JdkSocketAccess> access = new ClassValue<JdkSocketAccess>() {
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

    SocketHardener(Settings settings, NativeSocketOptions natives, HardeningLog log) {
        this.settings = settings;
        this.natives = natives;
        this.log = log;
    }

    Settings settings() {
        return settings;
    }

    void update(Settings newSettings) {
        settings = newSettings;
    }

    /** The socket has a descriptor and no connection yet. */
    void created(Object socket) throws Exception {
        Settings current = settings;
        JdkSocketAccess socketAccess = access.get(socket.getClass());
        if (socketAccess != null && current.setsAnything() && socketAccess.isTcp(socket)) {
            socketAccess.locked(socket, new SetAll(socketAccess.kind(socket), current));
        }
    }

    /** The socket is connected ({@code accepted} false) or was accepted. */
    void established(Object socket, boolean accepted) throws Exception {
        JdkSocketAccess socketAccess = access.get(socket.getClass());
        if (socketAccess == null || !socketAccess.isTcp(socket)) {
            return;
        }
        ConnectionLine line = socketAccess.locked(socket,
                new Confirm(socketAccess, socket, accepted, settings, log.enabled(LogLevel.INFO)));
        if (line != null) {
            line.replaced = overrides.takePending(socket);
            log.info(line);
        }
    }

    /**
     * The application sets an option on {@code socket}; returns the value the JDK should set instead. Values the JDK
     * would reject are passed through, so that the application gets the JDK's own exception as without the agent.
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
        JdkSocketAccess socketAccess = access.get(socket.getClass());
        String connection = socketAccess == null ? null : socketAccess.locked(socket, endpoints);
        String description = "application's " + option.key + "=" + option.format(applicationValue)
                + " replaced by " + option.format(configured);
        if (overrides.replaced(socket, option, description, connection != null) && log.enabled(LogLevel.INFO)) {
            log.info(socketAccess.kind(socket) + " " + connection + ": " + description);
        }
        return option.toJdkValue(configured);
    }

    /** Reads an option back, setting it again if it differs from the configured value; returns the kernel's value. */
    private int confirm(FileDescriptor fd, TcpOption option, Settings current, String kind, boolean logging) {
        if (!current.isSet(option) && !logging) {
            return Settings.UNCHANGED;
        }
        try {
            int value = natives.get(fd, option);
            if (current.isSet(option) && value != current.value(option)) {
                set(fd, option, current.value(option), kind);
                value = natives.get(fd, option);
            }
            return value;
        } catch (IOException e) {
            fail(option, kind, e);
            return Settings.UNCHANGED;
        }
    }

    private void set(FileDescriptor fd, TcpOption option, int value, String kind) {
        try {
            natives.set(fd, option, value);
        } catch (IOException e) {
            fail(option, kind, e);
        }
    }

    private void fail(TcpOption option, String kind, IOException e) {
        log.failure(option.linuxName + " on " + kind + ": " + e.getMessage(),
                "cannot set " + option.linuxName + " on a " + kind + ": " + e.getMessage());
    }

    // The actions run under the socket's lock are named classes, not lambdas: a lambda spins a class at its first use,
    // which would be on the application's first connect.

    /** Sets every configured option: before the handshake. */
    private final class SetAll implements JdkSocketAccess.Locked<Void> {
        private final String kind;
        private final Settings current;

        SetAll(String kind, Settings current) {
            this.kind = kind;
            this.current = current;
        }

        @Override
        public Void run(FileDescriptor fd) {
            for (TcpOption option : TcpOption.ALL) {
                if (current.isSet(option)) {
                    set(fd, option, current.value(option), kind);
                }
            }
            return null;
        }
    }

    /**
     * Reads every option back and sets again what differs, on a socket that is connected or accepted; returns the log
     * line, or null when not logging.
     */
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
            String kind = socketAccess.kind(socket);
            int[] values = new int[TcpOption.ALL.length];
            for (TcpOption option : TcpOption.ALL) {
                values[option.ordinal()] = confirm(fd, option, current, kind, logging);
            }
            return logging ? new ConnectionLine(kind, accepted, natives.local(fd), natives.remote(fd), values, current)
                    : null;
        }
    }

    /** "local -> remote" of a connected socket, or null if it is not connected (yet). */
    private final class Endpoints implements JdkSocketAccess.Locked<String> {
        @Override
        public String run(FileDescriptor fd) {
            InetSocketAddress remote = natives.remote(fd);
            if (remote == null) {
                return null;
            }
            StringBuilder text = ConnectionLine.address(new StringBuilder(), natives.local(fd)).append(" - ");
            return ConnectionLine.address(text, remote).toString();
        }
    }

    /** One hardened connection, formatted on the log thread. */
    private static final class ConnectionLine implements HardeningLog.Line {
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
                text.append(value == Settings.UNCHANGED ? "?" : option.format(value));
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
