package io.tcphardening.agent.harden;

import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.observe.AgentState;
import io.tcphardening.agent.observe.ConnectionEvents;
import io.tcphardening.agent.observe.Counters;
import io.tcphardening.agent.observe.HardeningLog;
import io.tcphardening.agent.settings.AppValues;
import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.LogLevel;
import io.tcphardening.agent.settings.Match;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.io.FileDescriptor;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one place that applies options to sockets. Three moments:
 * <ul>
 *   <li>when a socket gets its descriptor ({@link #created}): set every configured option, before any handshake, so
 *   that TCP_USER_TIMEOUT also bounds the connect and accepted sockets inherit the options from their listener;</li>
 *   <li>with rules, when a socket is about to connect ({@link #connecting}): its destination known, the first rule
 *   that matches decides its values, set before the SYN leaves (a client socket is left alone until then);</li>
 *   <li>when it is connected or accepted ({@link #established}): where a log line or a flight recording reports the
 *   values, or the socket may predate the settings ({@link SocketsBefore}), read every option back from the kernel,
 *   set again what differs, and log the values the kernel holds; otherwise only write what an accepted connection's
 *   rule sets differently from the listener it inherited from, and count it.</li>
 * </ul>
 * And whenever the application sets one of the five options itself ({@link #applicationSets}), the connection's
 * policy ({@code app.values}) says whose value stands: by default the configured value replaces the application's,
 * so that the kernel keeps it for the connection's whole life.
 *
 * <p>Without rules and with the default policy nothing is remembered per socket. Otherwise {@link ConnectionNotes}
 * holds each socket's decision and the application's own values, which every later write of the agent's weighs.
 *
 * <p>Sockets come in two shapes: JDK socket objects ({@link JdkSocketAccess}: written under the JDK's close lock,
 * through the {@link JdkSocketRoute} this JDK offers) and Netty native channels ({@link NettyChannels}: Netty's own
 * option methods, on the channel's event loop or before the channel is shared). Both meet in {@link OpenSocket}.
 */
public final class SocketHardener implements AgentState {

    private final JdkSocketRoute route;
    /** The JDK's packages as opened at start: {@link SocketsBefore} looks descriptor numbers up through them. */
    private final JdkInternals jdkInternals;
    private final HardeningLog log;
    /** Created at the first Netty hook: an application without Netty loads none of the agent's Netty support. */
    private volatile NettyChannels netty;
    private final ConnectionNotes notes = new ConnectionNotes();
    private final Counters counters = new Counters();
    private final ConnectionEvents events = new ConnectionEvents();
    private volatile Settings settings;
    /** Written after {@link #settings} whenever they change (see {@link #update}). */
    private volatile SocketsBefore before = SocketsBefore.UNKNOWN;

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

    public SocketHardener(Settings settings, JdkSocketRoute route, HardeningLog log, JdkInternals jdk) {
        this.settings = settings;
        this.route = route;
        this.log = log;
        this.jdkInternals = jdk;
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

    /**
     * New settings for new connections. Until the sockets open now are listed, every connection is read back: one
     * created a moment ago may hold the old values; after, those listed are.
     */
    public void update(Settings newSettings) {
        before = SocketsBefore.UNKNOWN;
        settings = newSettings;
        listSocketsBefore(true);
    }

    /**
     * Called once the hooks are in place and the settings in force: {@code socketsMayExist} false when no JDK socket
     * class had been used before the agent's hooks (a start where the agent came first), so that no socket can hold
     * other values than the hooks wrote; otherwise the sockets open now are listed (see {@link SocketsBefore}).
     */
    public void listSocketsBefore(boolean socketsMayExist) {
        SocketsBefore listed;
        try {
            listed = socketsMayExist ? SocketsBefore.listed(jdkInternals.privateLookup(
                    jdkInternals.jdkClass("sun.nio.ch.IOUtil"))) : SocketsBefore.NONE;
        } catch (IOException | ReflectiveOperationException | RuntimeException e) {
            log.debug("sockets open before the settings not listed, every connection's options are read back: " + e);
            listed = SocketsBefore.UNKNOWN;
        }
        before = listed;
    }

    /**
     * A JDK socket got its descriptor, a Netty client or server channel was initialised by its bootstrap (not
     * connected or bound yet), or a Netty server's acceptor took an accepted channel (before any of the application's
     * handlers is added to it). With rules, a socket that will connect waits for {@link #connecting}, where its
     * destination is known; a listener gets the global settings, which the connections it accepts inherit.
     */
    void created(Object socket) throws Exception {
        Settings current = settings;
        if (!current.setsAnything()) {
            return;
        }
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            if (jdkSocket.isTcp(socket, false) && (!current.hasRules() || jdkSocket.isListener(socket))
                    && !current.defaults().leavesAlone()) {
                jdkSocket.locked(socket, new SetAll(socket, jdkSocket.kind(socket), current.defaults(),
                        current.tracksApplicationValues()));
            }
            return;
        }
        NettyChannels netty = netty();
        NettyChannels.Type channel = netty.type(socket);
        if (channel == null) {
            NettyChannels.Type listener = netty.listenerType(socket);
            // a server channel's config has no keepalive setters: written through its socket, or not at all
            OpenSocket open = listener == null || !listener.reachesSocket() ? null : netty.open(listener, socket);
            if (open != null && !current.defaults().leavesAlone()) {
                setAll(open, current.defaults(), listener.kind, null);
            }
            return;
        }
        OpenSocket open = netty.open(channel, socket);
        if (open == null) {
            return;
        }
        Decision decision = current.defaults();
        Object parent = channel.parent(socket);
        boolean accepted = parent != null;
        if (current.hasRules()) {
            if (!accepted) {
                return;
            }
            decision = decide(current, true, open);  // not noted: decided again from the same addresses when active
        }
        if (!decision.leavesAlone()) {
            NettyChannels.Type listener = accepted ? netty.listenerType(parent) : null;
            setAll(open, decision, channel.kind, current.tracksApplicationValues() ? socket : null,
                    listener != null && listener.reachesSocket() && inheritsDefaults(current) ? current.defaults()
                            : null);
        }
    }

    /**
     * Whether a connection accepted now holds the global settings, inherited from its listener, which the agent's
     * hooks wrote when it was created: no listener predates the settings ({@link SocketsBefore}), the application's
     * values on a listener are not kept ({@code app.values=replace}), and the idle time is not to be spread anew.
     */
    private boolean inheritsDefaults(Settings current) {
        Decision defaults = current.defaults();
        return !before.listenerMayPredate() && defaults.appValues() == AppValues.REPLACE
                && !(defaults.isSet(TcpOption.KEEPIDLE) && jitterRange(defaults.value(TcpOption.KEEPIDLE)) > 0);
    }

    /**
     * A socket is about to connect to {@code destination}: with rules, the first that matches decides its values,
     * set now, before the SYN leaves, so that a rule's user timeout bounds the connect too.
     */
    void connecting(Object socket, Object destination) throws Exception {
        Settings current = settings;
        if (!current.hasRules()) {
            return;
        }
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            if (!jdkSocket.isTcp(socket, false) || jdkSocket.isConnected(socket) && !jdkSocket.connectsAtHook()) {
                return;  // a Unix-domain channel; a connect that will fail, already connected
            }
            Decision decision = decide(current, destination, jdkSocket.port(socket));
            if (decision == null) {
                return;  // an unresolved address: the JDK's connect throws
            }
            // not noted: the later hooks decide again from the same destination, which the JDK keeps (decisionOf)
            if (!decision.leavesAlone()) {
                jdkSocket.locked(socket, new SetAll(socket, jdkSocket.kind(socket), decision, true));
            }
            return;
        }
        NettyChannels netty = netty();
        NettyChannels.Type channel = netty.type(socket);
        OpenSocket open = channel == null ? null : netty.open(channel, socket);
        Decision decision = open == null ? null : decide(current, destination, -1);
        // not noted: decided again when active from the channel's remote address, which keeps the host name given
        if (decision != null && !decision.leavesAlone()) {
            setAll(open, decision, channel.kind, socket);
        }
    }

    /**
     * A JDK socket is connected ({@code accepted} false) or was accepted, or a Netty channel became active
     * ({@code socket} is then its pipeline, and the channel's parent tells accepted from connected).
     */
    void established(Object socket, boolean accepted) throws Exception {
        Settings current = settings;
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        if (jdkSocket != null) {
            if (!jdkSocket.isTcp(socket, accepted)) {
                counters.countNotTcp();
                return;
            }
            boolean logging = log.enabled(LogLevel.INFO);
            if (!accepted && !jdkSocket.isConnected(socket)) {
                return;  // a non-blocking connect still pending: confirmed when it finishes
            }
            // decided from the addresses the JDK recorded: the destination given to connect, or the accepted peer
            Decision decision = !current.hasRules() ? current.defaults() : accepted
                    ? decideAccepted(current, jdkSocket, socket) : decideConnected(current, jdkSocket, socket);
            if (!logging && !events.wanted() && writtenByHooks(jdkSocket, socket, accepted, current, decision)) {
                return;
            }
            ConnectionLine line = jdkSocket.locked(socket, new Confirm(jdkSocket, socket, accepted, current,
                    decision, logging));
            report(line, socket);
            return;
        }
        NettyChannels netty = netty();
        Object channel = netty.channelOf(socket);
        NettyChannels.Type type = channel == null ? null : netty.type(channel);
        OpenSocket open = type == null ? null : netty.open(type, channel);
        if (open != null) {
            boolean wasAccepted = type.isAccepted(channel);
            Decision decision = current.hasRules() ? decide(current, wasAccepted, open) : current.defaults();
            boolean logging = log.enabled(LogLevel.INFO);
            if (!logging && !events.wanted() && before.isNone() && (wasAccepted || type.connectHooked)
                    && (!current.tracksApplicationValues() || notes.applicationValues(channel) == null)) {
                // written by the bootstrap's or the acceptor's hook (or at connecting) before any handler saw it
                counted(current, decision, type.kind, wasAccepted);
                return;
            }
            ConnectionLine line = confirmAll(open, type.kind, wasAccepted, current, decision, logging,
                    current.tracksApplicationValues() ? channel : null);
            report(line, channel);
        }
    }

    /**
     * Counts a JDK connection whose options need not be read back, and writes what its rule sets differently from
     * its listener (the connection inherited the listener's); false if they must be read back: the socket, or the
     * listener of an accepted one, may predate the settings ({@link SocketsBefore}), the application wrote options
     * that its policy weighs, or an accepted connection's idle time is to be spread anew. Nothing is read back when
     * nothing reports the values (no log line at {@code info}, no flight recording): the hooks wrote them moments ago
     * under the JDK's close lock, and every write of the application's since went through the agent.
     */
    private boolean writtenByHooks(JdkSocketAccess jdkSocket, Object socket, boolean accepted, Settings current,
                                   Decision decision) throws Exception {
        SocketsBefore sockets = before;
        if (accepted) {
            if (!inheritsDefaults(current)
                    || (decision.isSet(TcpOption.KEEPIDLE) && jitterRange(decision.value(TcpOption.KEEPIDLE)) > 0)) {
                return false;
            }
            if (!decision.leavesAlone() && !decision.sameAs(current.defaults())) {
                jdkSocket.locked(socket, new SetAll(socket, jdkSocket.kind(socket), decision, false, current.defaults()));
            }
        } else if (notes.hasNote(socket) || sockets.mayPredate(jdkSocket.descriptor(socket))) {
            return false;
        }
        counted(current, decision, jdkSocket.kind(socket), accepted);
        return true;
    }

    private void counted(Settings current, Decision decision, String kind, boolean accepted) {
        if (current.hasRules()) {
            counters.countRule(decision.rule());
        }
        if (decision.leavesAlone()) {
            counters.countExcluded();
        } else {
            counters.countHardened(kind, accepted);
        }
    }

    /**
     * The decision for a JDK socket at a write of the application's, or null before it connects. A connection's own
     * fields do not say whether it was accepted: one whose decision depends on that was noted at accept, and any
     * other is decided as a connect, which gives the same decision.
     */
    private Decision decisionOf(Settings current, JdkSocketAccess jdkSocket, Object socket) {
        Decision noted = notes.decision(socket);
        if (noted != null) {
            return noted;
        }
        return jdkSocket.peerAddress(socket) == null ? null : decideConnected(current, jdkSocket, socket);
    }

    /** The decision for a Netty channel at a write of the application's, or null before it connects. */
    private Decision decisionOf(Settings current, NettyChannels.Type type, Object channel) throws Exception {
        OpenSocket open = type == null ? null : netty().open(type, channel);
        return open == null || open.remote() == null ? null : decide(current, type.isAccepted(channel), open);
    }

    /**
     * The decision for an accepted JDK connection. Noted if a connect to the same peer would be decided otherwise: a
     * later write of the application's could not tell the connection's direction ({@link #decisionOf}). The peer's
     * address from accept carries no host name, so neither decision sees one.
     */
    private Decision decideAccepted(Settings current, JdkSocketAccess jdkSocket, Object socket) {
        InetAddress peer = jdkSocket.peerAddress(socket);
        byte[] remote = peer == null || !current.rulesUseRemote() ? null : Match.bytes(peer);
        int peerPort = jdkSocket.peerPort(socket);
        Decision decision = current.decide(true, remote, peerPort,
                current.rulesUseLocalPort() ? jdkSocket.localPort(socket) : -1, null);
        if (peer != null && decision != current.decide(false, remote, peerPort, -1, null)) {
            notes.decided(socket, decision);
        }
        return decision;
    }

    /**
     * The decision for a JDK connection as a connect, from the destination the JDK recorded and the host name given
     * with it (an accepted one: {@link #decideAccepted}).
     */
    private static Decision decideConnected(Settings current, JdkSocketAccess jdkSocket, Object socket) {
        InetAddress peer = jdkSocket.peerAddress(socket);
        Decision decision = peer == null ? null : decide(current, peer, jdkSocket.peerPort(socket));
        return decision == null ? current.defaults() : decision;
    }

    /**
     * The decision for a connection from the socket's own addresses. The host name is known only where the remote
     * address keeps the one the application gave (a Netty client channel's does; a kernel's getpeername does not).
     */
    private static Decision decide(Settings current, boolean accepted, OpenSocket open) {
        InetSocketAddress remote = current.rulesUseRemote() || current.rulesUseHost() ? open.remote() : null;
        InetSocketAddress local = accepted && current.rulesUseLocalPort() ? open.local() : null;
        InetAddress address = remote == null ? null : remote.getAddress();
        return current.decide(accepted, address == null ? null : Match.bytes(address),
                remote == null ? -1 : remote.getPort(), local == null ? -1 : local.getPort(),
                accepted || address == null || !current.rulesUseHost() ? null : hostGiven(address));
    }

    /**
     * The host name an address was made with, read from its text form ("name/literal", or "/literal" without a
     * name), which never looks a name up; null if it has none. A name that is itself an address literal (Netty
     * keeps the text the application gave, a literal too) is no name.
     */
    static String hostGiven(InetAddress address) {
        String text = address.toString();
        int slash = text.indexOf('/');
        if (slash <= 0) {
            return null;
        }
        boolean literal = true;  // so far digits and dots, as an IPv4 literal
        for (int i = 0; i < slash; i++) {
            char c = text.charAt(i);
            if (c == ':') {
                return null;  // an IPv6 literal
            }
            literal &= c == '.' || c >= '0' && c <= '9';
        }
        return literal ? null : text.substring(0, slash);
    }

    /**
     * The decision for a connect to {@code destination}: an InetSocketAddress, or the legacy implementation's
     * InetAddress with {@code legacyPort}. The host name is the one the application gave, held by the address
     * object; it is read from its text form, which never looks a name up. Null for an unresolved address.
     */
    private static Decision decide(Settings current, Object destination, int legacyPort) {
        InetAddress address;
        int port;
        if (destination instanceof InetSocketAddress) {
            address = ((InetSocketAddress) destination).getAddress();
            port = ((InetSocketAddress) destination).getPort();
        } else if (destination instanceof InetAddress) {
            address = (InetAddress) destination;
            port = legacyPort;
        } else {
            return null;
        }
        if (address == null) {
            return null;
        }
        return current.decide(false, current.rulesUseRemote() ? Match.bytes(address) : null, port, -1,
                current.rulesUseHost() ? hostGiven(address) : null);
    }

    private void report(ConnectionLine line, Object notesKey) {
        if (line != null) {
            line.replaced = notes.takePending(notesKey);
            log.info(line);
        }
    }

    /**
     * The application sets an option on {@code socket} (a JDK socket, or a Netty native channel's config); returns
     * the value to set instead. Values the JDK would reject are passed through, so that the application gets the
     * JDK's own exception as without the agent.
     */
    Object applicationSets(Object socket, Object name, Object value) throws Exception {
        TcpOption option = optionNamed(name);
        Settings current = settings;
        if (option == null) {
            return value;
        }
        int applicationValue = option.fromJdkValue(value);
        if (applicationValue < option.min || applicationValue > option.max) {
            return value;
        }
        boolean tracking = current.tracksApplicationValues();
        if (!tracking && (!current.isSet(option) || applicationValue == current.value(option))) {
            return value;  // the common case without rules: nothing to decide, nothing to remember
        }
        String kind;
        Object key;
        boolean listener = false;
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        NettyChannels.Type type = null;
        Object channel = null;
        if (jdkSocket != null) {
            kind = jdkSocket.kind(socket);
            key = socket;
            listener = jdkSocket.isListener(socket);
        } else {
            if (NettyChannels.agentWriting()) {
                return value;  // the agent's own write, through a config setter of a Netty that hides its socket
            }
            NettyChannels netty = netty();
            channel = netty.channelOfConfig(socket);
            type = channel == null ? null : netty.type(channel);
            kind = type == null ? socket.getClass().getName() : type.kind;
            key = channel == null ? socket : channel;
        }
        Decision decision = current.defaults();
        if (tracking) {
            notes.applicationWrote(key, option, applicationValue);
            if (current.hasRules() && !listener) {
                decision = jdkSocket != null ? decisionOf(current, jdkSocket, socket)
                        : decisionOf(current, type, channel);
                if (decision == null) {
                    return value;  // decided when it connects, with this value in view
                }
            }
        }
        if (!decision.isSet(option)) {
            return value;
        }
        int held = decision.hold(option, applicationValue);
        if (held == applicationValue && applicationValue == decision.value(option)) {
            return value;
        }
        String connection;
        if (jdkSocket != null) {
            connection = jdkSocket.locked(socket, new Endpoints(socket));
        } else {
            OpenSocket open = type == null ? null : netty().open(type, channel);
            connection = open == null || !type.isReported(channel) ? null : endpoints(open);
        }
        decidedValue(key, kind, connection, option, applicationValue, held, decision, current);
        return held == applicationValue ? value : option.toJdkValue(held);
    }

    /** The option a JDK {@code SocketOption} or one of Netty's setter names stands for; null if none of ours. */
    private static TcpOption optionNamed(Object name) {
        return TcpOption.byJdkName(name instanceof SocketOption ? ((SocketOption<?>) name).name()
                : String.valueOf(name));
    }

    /**
     * One decision about an application's value, counted, and logged once per socket and option: with the
     * connection's line if not connected yet.
     */
    private void decidedValue(Object key, String kind, String connection, TcpOption option, int applicationValue,
                              int held, Decision decision, Settings current) {
        String rule = current.hasRules() ? "rule " + decision.rule() : null;
        String description;
        if (held != applicationValue) {
            counters.countReplaced(option);
            description = "application's " + option.key + "=" + option.format(applicationValue) + " replaced by "
                    + option.format(held) + (rule == null ? "" : " (" + rule + ")");
        } else {
            counters.countKept(option);
            description = "application's " + option.key + "=" + option.format(applicationValue) + " kept over "
                    + option.format(decision.value(option)) + " (app.values=" + decision.appValues().key()
                    + (rule == null ? "" : ", " + rule) + ")";
        }
        if (notes.decidedValue(key, option, description, connection != null) && log.enabled(LogLevel.INFO)) {
            log.info(kind + " " + connection + ": " + description);
        }
    }

    /**
     * The application has written an option of a JDK socket whose implementation writes without holding its close
     * lock (the legacy {@code PlainSocketImpl}): a value the agent put in its place would be written as unsafely, to
     * whatever owns the descriptor's number after a racing close. So that write stays the application's own, and
     * here, under the lock and only while the socket is open, the option is set again if the policy says so.
     */
    void applicationWrote(Object socket, Object name) throws Exception {
        TcpOption option = optionNamed(name);
        Settings current = settings;
        JdkSocketAccess jdkSocket = jdk.get(socket.getClass());
        // the fallback route writes through the socket's own setOption, which would come back here
        if (option == null || jdkSocket == null || !current.setsAnything()
                || !(route instanceof NativeSocketOptions)) {
            return;
        }
        jdkSocket.locked(socket, new Restore(socket, jdkSocket, option, current));
    }

    /**
     * A TCP socket that was open before the agent was attached, reached through a duplicate of its descriptor that
     * the caller owns (see {@code live.ExistingSockets}), so that it cannot be closed and reused meanwhile: sets every
     * option of its rule and reads it back. The application's own values cannot be told from the kernel's here: with
     * {@code stricter} or {@code keep}, the stricter of the kernel's value and the rule's stands. Returns null when
     * the kernel holds the values, else what it holds instead.
     *
     * @param accepted whether the connection was accepted by a listener of this JVM (its local port is one's)
     */
    public String hardenExisting(FileDescriptor duplicate, boolean accepted) throws Exception {
        return hardenExisting(duplicate, accepted, false);
    }

    /**
     * What {@link #hardenExisting(FileDescriptor, boolean)} returns for a connection whose user timeout it did not
     * lower yet: lowered in the middle of a probe cycle or of retransmissions, TCP_USER_TIMEOUT ends the connection
     * at once if its peer has been silent longer than the new bound (a burst of thousands of connections probing in
     * the same second on loopback loses probes, and a re-attach then aborted nearly all of them). Its other options
     * are set; the caller tries again later.
     */
    public static final String DEFERRED = "user_timeout deferred: in a probe cycle or retransmitting";

    /**
     * @param force lower the user timeout even in a probe cycle (the last of the caller's attempts)
     */
    public String hardenExisting(FileDescriptor duplicate, boolean accepted, boolean force) throws Exception {
        if (!(route instanceof NativeSocketOptions)) {
            // the fallback route writes through socket objects, and a bare duplicate descriptor has none
            throw new IOException(route.limitation());  // not UnsupportedOperationException: one class less to load
        }
        Settings current = settings;
        OpenSocket socket = route.open(null, duplicate);
        Decision decision = socket.remote() == null ? current.defaults() : decide(current, accepted, socket);
        StringBuilder mismatch = new StringBuilder();
        boolean deferred = false;
        for (TcpOption option : TcpOption.ALL) {
            if (decision.isSet(option)) {
                int now = socket.get(option);
                int wanted = decision.appValues() == AppValues.REPLACE ? spread(option, decision.value(option))
                        : AppValues.STRICTER.hold(option, now, spread(option, decision.value(option)));
                if (option == TcpOption.USER_TIMEOUT && wanted != 0 && (now == 0 || wanted < now) && !force
                        && inProbeCycle(duplicate)) {
                    deferred = true;
                    continue;
                }
                socket.set(option, wanted);
                int value = socket.get(option);
                if (value != wanted) {
                    mismatch.append(mismatch.length() == 0 ? "" : " ").append(option.key).append('=')
                            .append(option.format(value));
                }
            }
        }
        if (mismatch.length() > 0) {
            return mismatch.toString();
        }
        return deferred ? DEFERRED : null;
    }

    private boolean inProbeCycle(FileDescriptor fd) throws IOException {
        int head = ((NativeSocketOptions) route).tcpInfoHead(fd);
        return (head >>> 16 & 0xff) != 0 || (head >>> 24 & 0xff) != 0;
    }

    // ---- the one place options are written

    /**
     * Sets every option of {@code decision}; where the application wrote an option already (its values noted under
     * {@code notesKey}, null when nothing is tracked), the policy decides whose value the socket holds.
     */
    private void setAll(OpenSocket socket, Decision decision, String kind, Object notesKey) {
        setAll(socket, decision, kind, notesKey, null);
    }

    /** {@code inherited}: the values an accepted socket holds from its listener, which need no write; or null. */
    private void setAll(OpenSocket socket, Decision decision, String kind, Object notesKey, Decision inherited) {
        int[] application = notesKey == null ? null : notes.applicationValues(notesKey);
        for (TcpOption option : TcpOption.ALL) {
            if (!decision.isSet(option) || !socket.supports(option)
                    || inherited != null && inherited.value(option) == decision.value(option)) {
                continue;
            }
            int applicationValue = application == null ? ConnectionNotes.NONE : application[option.ordinal()];
            if (applicationValue == ConnectionNotes.NONE) {
                set(socket, option, spread(option, decision.value(option)), kind);
                continue;
            }
            int held = decision.hold(option, applicationValue);
            if (held != applicationValue) {
                set(socket, option, held, kind);
            }
            if (held != applicationValue || applicationValue != decision.value(option)) {
                decidedValue(notesKey, kind, null, option, applicationValue, held, decision, settings);
            }
        }
    }

    /**
     * {@code keepalive.jitter}: a connection's idle time spread at random up to the given percentage below the
     * configured one, never above, so that thousands of connections opened in one burst do not all send their first
     * probe in the same instant, and the worst-case time to notice a dead peer still holds.
     */
    private int spread(TcpOption option, int value) {
        int range = option == TcpOption.KEEPIDLE ? jitterRange(value) : 0;
        return range == 0 ? value : value - ThreadLocalRandom.current().nextInt(range + 1);
    }

    private int jitterRange(int idle) {
        return settings.keepaliveJitterRange(idle);
    }

    /** Whether the option's value is spread: the idle time of the agent's own, not one the application set. */
    private boolean isSpread(TcpOption option, int expected, int[] application) {
        return option == TcpOption.KEEPIDLE && jitterRange(expected) > 0
                && (application == null || application[option.ordinal()] == ConnectionNotes.NONE);
    }

    /** The value the socket should hold for {@code option}: the decision's, or what the policy keeps of the app's. */
    private static int expected(Decision decision, TcpOption option, int[] application) {
        int applicationValue = application == null ? ConnectionNotes.NONE : application[option.ordinal()];
        return applicationValue == ConnectionNotes.NONE ? decision.value(option)
                : decision.hold(option, applicationValue);
    }

    /**
     * Reads every option back and sets again what differs; returns the connection's log line, or null when not
     * logging. Options left unchanged are read only for the log and for a flight recording that wants the event. A
     * connection its rule leaves alone is neither written nor read.
     */
    private ConnectionLine confirmAll(OpenSocket socket, String kind, boolean accepted, Settings current,
                                      Decision decision, boolean logging, Object notesKey) {
        return confirmAll(socket, kind, accepted, current, decision, logging, notesKey, null, null);
    }

    /** {@code local} and {@code remote}: the addresses where the JDK recorded them, else null (the kernel is asked). */
    private ConnectionLine confirmAll(OpenSocket socket, String kind, boolean accepted, Settings current,
                                      Decision decision, boolean logging, Object notesKey, InetSocketAddress local,
                                      InetSocketAddress remote) {
        if (current.hasRules()) {
            counters.countRule(decision.rule());
        }
        if (decision.leavesAlone()) {
            counters.countExcluded();
            return logging ? new ConnectionLine(kind, accepted, local != null ? local : socket.local(),
                    remote != null ? remote : socket.remote(), null, decision, current.hasRules()) : null;
        }
        counters.countHardened(kind, accepted);
        boolean recording = events.wanted();
        int[] application = notesKey == null ? null : notes.applicationValues(notesKey);
        int[] values = new int[TcpOption.ALL.length];
        for (TcpOption option : TcpOption.ALL) {
            values[option.ordinal()] = Settings.UNCHANGED;
            if (!socket.supports(option)) {
                values[option.ordinal()] = ConnectionLine.NOT_APPLICABLE;
                continue;
            }
            if (!decision.isSet(option) && !logging && !recording) {
                continue;
            }
            try {
                int value = socket.get(option);
                int expected = decision.isSet(option) ? expected(decision, option, application) : Settings.UNCHANGED;
                if (expected != Settings.UNCHANGED && isSpread(option, expected, application)) {
                    // an accepted socket inherited its listener's idle time, the same for all: spread each anew
                    if (accepted || value > expected || value < expected - jitterRange(expected)) {
                        set(socket, option, spread(option, expected), kind);
                        value = socket.get(option);
                    }
                } else if (expected != Settings.UNCHANGED && value != expected) {
                    set(socket, option, expected, kind);
                    value = socket.get(option);
                }
                values[option.ordinal()] = value;
            } catch (Exception e) {
                fail(option, kind, e);
            }
        }
        if (!recording && !logging) {
            return null;
        }
        if (local == null) {
            local = socket.local();
        }
        if (remote == null) {
            remote = socket.remote();
        }
        if (recording) {
            events.record(kind, accepted, local, remote, values, decision.rule());
        }
        return logging ? new ConnectionLine(kind, accepted, local, remote, values, decision, current.hasRules())
                : null;
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

    /**
     * Sets every option of a decision: before the handshake; or on an accepted socket, what the decision sets
     * differently from the values it {@code inherited} from its listener.
     */
    private final class SetAll implements JdkSocketAccess.Locked<Void> {
        private final Object socket;
        private final String kind;
        private final Decision decision;
        private final boolean tracking;
        private final Decision inherited;

        SetAll(Object socket, String kind, Decision decision, boolean tracking) {
            this(socket, kind, decision, tracking, null);
        }

        SetAll(Object socket, String kind, Decision decision, boolean tracking, Decision inherited) {
            this.socket = socket;
            this.kind = kind;
            this.decision = decision;
            this.tracking = tracking;
            this.inherited = inherited;
        }

        @Override
        public Void run(FileDescriptor fd) {
            setAll(route.open(socket, fd), decision, kind, tracking ? socket : null, inherited);
            return null;
        }
    }

    /** Confirms the options of a JDK socket that is connected or accepted (a failed connect is skipped). */
    private final class Confirm implements JdkSocketAccess.Locked<ConnectionLine> {
        private final JdkSocketAccess socketAccess;
        private final Object socket;
        private final boolean accepted;
        private final Settings current;
        private final Decision decision;
        private final boolean logging;

        Confirm(JdkSocketAccess socketAccess, Object socket, boolean accepted, Settings current, Decision decision,
                boolean logging) {
            this.socketAccess = socketAccess;
            this.socket = socket;
            this.accepted = accepted;
            this.current = current;
            this.decision = decision;
            this.logging = logging;
        }

        @Override
        public ConnectionLine run(FileDescriptor fd) throws IllegalAccessException {
            if (!accepted && !socketAccess.isConnected(socket)) {
                return null;  // a connect that failed, or a non-blocking one still pending
            }
            return confirmAll(route.open(socket, fd), socketAccess.kind(socket), accepted, current, decision, logging,
                    current.tracksApplicationValues() ? socket : null, socketAccess.local(socket),
                    socketAccess.peer(socket));
        }
    }

    /** Weighs the application's write of one option, read back from the kernel, and sets the option again if due. */
    private final class Restore implements JdkSocketAccess.Locked<Void> {
        private final Object socket;
        private final JdkSocketAccess socketAccess;
        private final TcpOption option;
        private final Settings current;

        Restore(Object socket, JdkSocketAccess socketAccess, TcpOption option, Settings current) {
            this.socket = socket;
            this.socketAccess = socketAccess;
            this.option = option;
            this.current = current;
        }

        @Override
        public Void run(FileDescriptor fd) {
            OpenSocket open = route.open(socket, fd);
            String kind = socketAccess.kind(socket);
            try {
                int written = open.get(option);
                Decision decision = current.defaults();
                if (current.tracksApplicationValues()) {
                    notes.applicationWrote(socket, option, written);
                    if (current.hasRules() && !socketAccess.isListener(socket)) {
                        decision = decisionOf(current, socketAccess, socket);
                    }
                }
                if (decision == null || !decision.isSet(option)) {
                    return null;  // decided when it connects, with this value in view
                }
                int held = decision.hold(option, written);
                if (held == written && written == decision.value(option)) {
                    return null;
                }
                if (held != written) {
                    open.set(option, held);
                }
                decidedValue(socket, kind, open.remote() == null ? null : endpoints(open), option, written, held,
                        decision, current);
            } catch (Exception e) {
                fail(option, kind, e);
            }
            return null;
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
        /** Null for a connection its rule leaves alone. */
        private final int[] values;
        private final Decision decision;
        private final boolean named;
        String replaced;

        ConnectionLine(String kind, boolean accepted, InetSocketAddress local, InetSocketAddress remote, int[] values,
                       Decision decision, boolean named) {
            this.kind = kind;
            this.accepted = accepted;
            this.local = local;
            this.remote = remote;
            this.values = values;
            this.decision = decision;
            this.named = named;
        }

        @Override
        public String text() {
            StringBuilder text = new StringBuilder(160);
            text.append(kind).append(accepted ? " accept " : " connect ");
            address(text, local).append(accepted ? " <- " : " -> ");
            address(text, remote).append(':');
            if (values == null) {
                return text.append(" left alone (rule ").append(decision.rule()).append(')').toString();
            }
            for (TcpOption option : TcpOption.ALL) {
                int value = values[option.ordinal()];
                text.append(' ').append(option.key).append('=');
                text.append(value == Settings.UNCHANGED ? "?" : value == NOT_APPLICABLE ? "n/a" : option.format(value));
                if (!decision.isSet(option)) {
                    text.append("(unchanged)");
                }
            }
            if (named) {
                text.append(" rule=").append(decision.rule());
            }
            if (replaced != null) {
                text.append(" (").append(replaced).append(')');
            }
            return text.toString();
        }

        /**
         * The text of an IPv4 address, from a small cache: a service's connections come from few peers, and the log
         * thread formatted the same few addresses for every line. IPv6 addresses are formatted each time (equal
         * addresses may differ in their scope, which the text shows).
         */
        private static String hostAddress(InetAddress address) {
            if (!(address instanceof Inet4Address)) {
                return address.getHostAddress();
            }
            int slot = address.hashCode() & (HOSTS.length - 1);
            HostText known = HOSTS[slot];
            if (known != null && known.address.equals(address)) {
                return known.text;
            }
            String text = address.getHostAddress();
            HOSTS[slot] = new HostText(address, text);
            return text;
        }

        private static final HostText[] HOSTS = new HostText[64];

        /** Immutable, so that a slot read by one thread while another replaces it is either entry, whole. */
        private static final class HostText {
            final InetAddress address;
            final String text;

            HostText(InetAddress address, String text) {
                this.address = address;
                this.text = text;
            }
        }

        static StringBuilder address(StringBuilder text, InetSocketAddress address) {
            if (address == null) {
                return text.append('?');
            }
            // getHostAddress, never getHostName: a log line must not cause a DNS look-up
            String host = address.getAddress() == null ? address.getHostString() : hostAddress(address.getAddress());
            return (host.indexOf(':') >= 0 ? text.append('[').append(host).append(']') : text.append(host))
                    .append(':').append(address.getPort());
        }
    }
}
