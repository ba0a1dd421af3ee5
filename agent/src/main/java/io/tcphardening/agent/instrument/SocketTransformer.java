package io.tcphardening.agent.instrument;

import io.tcphardening.agent.observe.HardeningLog;
import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Rewrites the few JDK classes behind every TCP socket, and the few Netty classes behind its native transports, so
 * that they call the bridge: when a socket gets its descriptor (or a Netty channel is initialised by its bootstrap or
 * taken by its server's acceptor), when it is connected or accepted (or a channel becomes active, before the
 * application's handlers are told), and when the application sets an option. A name check rejects every other class
 * at once; {@link HookWeaver} rewrites the few that match.
 *
 * <p>Netty is found by the shape of its class names, not by its package: {@code .../bootstrap/Bootstrap} with an
 * {@code init(.../channel/Channel)} method is Netty's wherever it was relocated, and the prefix before it is that
 * copy's root package, which the hooked descriptors are written against.
 *
 */
public final class SocketTransformer implements ClassFileTransformer {

    private static final String SOCKET_ADDRESS = "Ljava/net/SocketAddress;";
    private static final String SELECTOR_PROVIDER = "Ljava/nio/channels/spi/SelectorProvider;";
    private static final String FAMILY = "Ljava/net/ProtocolFamily;";
    private static final String FD = "Ljava/io/FileDescriptor;";
    private static final String SET_OPTION = "(Ljava/net/SocketOption;Ljava/lang/Object;)";

    /**
     * Every hooked method of every hooked class, JDK 11 to 25. Where JDKs differ, the hooks say it by structure rather
     * than by version: {@link Hook#firstOf} hooks the first of several shapes a class declares (JDK 11's NIO
     * constructors have no ProtocolFamily, and on 16+ the old shape still exists but delegates to the new one, so only
     * one may be hooked), and {@link Hook#optional} a method that one JDK declares in this class and another in its
     * superclass. The legacy {@code java.net} implementation (the default on 11 and 12, chosen with
     * {@code -Djdk.net.usePlainSocketImpl} on 13 to 17, gone from 18) is hooked wherever it exists.
     */
    public static final Map<String, List<Hook>> TARGETS = Map.of(
            "sun/nio/ch/NioSocketImpl", List.of(
                    Hook.exit("create", "(Z)V", "created", 0),
                    Hook.exit("connect", "(" + SOCKET_ADDRESS + "I)V", "connected", 0).connecting(1),
                    Hook.exit("accept", "(Ljava/net/SocketImpl;)V", "accepted", 1),
                    Hook.option("setOption", SET_OPTION + "V"),
                    Hook.legacyOption("setOption", "(ILjava/lang/Object;)V")),
            "sun/nio/ch/SocketChannelImpl", List.of(
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + ")V", "created", 0).firstOf(1),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + ")V", "created", 0).firstOf(1),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + FD + SOCKET_ADDRESS + ")V", "accepted", 0)
                            .firstOf(2),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FD + "Ljava/net/InetSocketAddress;)V", "accepted", 0)
                            .firstOf(2),
                    // where the destination is known and the SYN has not left: JDK 11 passes it resolved
                    Hook.connecting("beginConnect", "(Z" + SOCKET_ADDRESS + ")V", 2).firstOf(3),
                    Hook.connecting("beginConnect", "(ZLjava/net/InetSocketAddress;)V", 2).firstOf(3),
                    Hook.exit("endConnect", "(ZZ)V", "connected", 0),
                    Hook.exit("endFinishConnect", "(ZZ)V", "connected", 0),
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/SocketChannel;")),
            "sun/nio/ch/ServerSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + ")V", "created", 0).firstOf(1),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + ")V", "created", 0).firstOf(1),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FAMILY + FD + "Z)V", "created", 0).firstOf(2),
                    Hook.exit("<init>", "(" + SELECTOR_PROVIDER + FD + "Z)V", "created", 0).firstOf(2),
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/ServerSocketChannel;")),
            // The legacy implementation: its socket, its connect (one funnel for every connect variant: a normal
            // return means connected), the accepted socket (the argument), and the application's writes. It writes
            // options without its close lock, so a write racing a close can reach the number's next owner: the
            // application's own value is written as the JDK writes it, and the agent's set again after, locked.
            "java/net/AbstractPlainSocketImpl", List.of(
                    Hook.exit("create", "(Z)V", "created", 0),
                    Hook.exit("doConnect", "(Ljava/net/InetAddress;II)V", "connected", 0).connecting(1),
                    Hook.exit("accept", "(Ljava/net/SocketImpl;)V", "accepted", 1),
                    Hook.exit("setOption", "(ILjava/lang/Object;)V", "legacyOptionWritten", 0).withArgument(1),
                    Hook.exit("setOption", SET_OPTION + "V", "optionWritten", 0).withArgument(1).optional()),  // 13-17
            "java/net/PlainSocketImpl", List.of(
                    Hook.exit("setOption", SET_OPTION + "V", "optionWritten", 0).withArgument(1).optional()),  // 11, 12
            "sun/nio/ch/UnixAsynchronousSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;)V", "created", 0),
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;" + FD + "Ljava/net/InetSocketAddress;)V", "accepted", 0),
                    Hook.connecting("implConnect", "(" + SOCKET_ADDRESS + "Ljava/lang/Object;"
                            + "Ljava/nio/channels/CompletionHandler;)Ljava/util/concurrent/Future;", 1),
                    Hook.exit("setConnected", "()V", "connected", 0)),
            "sun/nio/ch/AsynchronousSocketChannelImpl", List.of(
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/AsynchronousSocketChannel;")),
            "sun/nio/ch/UnixAsynchronousServerSocketChannelImpl", List.of(
                    Hook.exit("<init>", "(Lsun/nio/ch/Port;)V", "created", 0)),
            "sun/nio/ch/AsynchronousServerSocketChannelImpl", List.of(
                    Hook.option("setOption", SET_OPTION + "Ljava/nio/channels/AsynchronousServerSocketChannel;")),
            // Not a socket: the moment the platform MBean server exists, to register the agent's MBean (AgentStatus).
            "java/lang/management/ManagementFactory", List.of(Hook.returned("getPlatformMBeanServer",
                    "()Ljavax/management/MBeanServer;", "platformMBeanServer")));

    /** Netty's setters of the five options on its native socket channel configs: each replaces its argument. */
    private static final List<Hook> NETTY_SETTERS = List.of(
            Hook.intOption("setKeepAlive", "(Z)", "SO_KEEPALIVE"),
            Hook.intOption("setTcpKeepIdle", "(I)", "TCP_KEEPIDLE"),
            Hook.intOption("setTcpKeepIntvl", "(I)", "TCP_KEEPINTERVAL"),
            Hook.intOption("setTcpKeepCnt", "(I)", "TCP_KEEPCOUNT"),
            Hook.intOption("setTcpUserTimeout", "(I)", "TCP_USER_TIMEOUT"));

    /**
     * Netty classes by their name below the root package of their copy; {@code {n}} in a descriptor stands for
     * {@code L<root>/}. Netty 4.1 is compiled to Java 6: the inserted code uses no invokedynamic.
     */
    static final Map<String, List<Hook>> NETTY_TARGETS = Map.of(
            "/bootstrap/Bootstrap", List.of(Hook.exit("init", "({n}channel/Channel;)V", "created", 1)),
            // A server channel, once its bootstrap's options are set and before it is bound: what it accepts
            // inherits the options written here.
            "/bootstrap/ServerBootstrap", List.of(Hook.exit("init", "({n}channel/Channel;)V", "created", 1)),
            // An accepted child, at the entry of the acceptor's channelRead: the server's event loop holds it alone,
            // before its child handler is added and before it is registered with (handed to) its own event loop.
            "/bootstrap/ServerBootstrap$ServerBootstrapAcceptor", List.of(Hook.entry("channelRead",
                    "({n}channel/ChannelHandlerContext;Ljava/lang/Object;)V", "created", 2)),
            // At entry: the channel is active and this is its event loop, and no handler has seen it active yet.
            "/channel/DefaultChannelPipeline", List.of(
                    Hook.entry("fireChannelActive", "(){n}channel/ChannelPipeline;", "connected", 0)),
            // Where a client channel's destination is known, on its event loop, before the SYN leaves: a rule for it
            // is decided there. (The incubator's io_uring has no such place the agent hooks: decided when active.)
            "/channel/epoll/AbstractEpollChannel", List.of(Hook.connecting("doConnect",
                    "(Ljava/net/SocketAddress;Ljava/net/SocketAddress;)Z", 1)),
            "/channel/uring/AbstractIoUringChannel", List.of(Hook.connecting("submitConnect",
                    "(Ljava/net/InetSocketAddress;)V", 1)),
            "/channel/epoll/EpollSocketChannelConfig", NETTY_SETTERS,
            "/channel/uring/IoUringSocketChannelConfig", NETTY_SETTERS,
            "/incubator/channel/uring/IOUringSocketChannelConfig", NETTY_SETTERS);

    /** One inserted call: on every normal return, at entry, or at entry to replace the value an option is set to. */
    static final class Hook {
        /** An exit hook that passes the method's return value to the bridge instead of a local. */
        static final int RETURNED = -1;

        final String method;
        final String descriptor;
        final String bridgeMethod;
        /**
         * For event hooks: the local holding the socket (0 = this, 1 = the first argument, 2 = the second), or
         * {@link #RETURNED} for an exit hook that passes the return value.
         */
        final int socketLocal;
        /** A second local passed to the bridge (an int for {@code legacyOptionWritten}), or -1. */
        final int argumentLocal;
        /**
         * For an exit hook: also call {@code connecting(this, local)} at entry, with the destination this local
         * holds; -1 for none.
         */
        final int connectingLocal;
        final boolean atEntry;
        /** An option setter's hook: the bridge returns the value to set instead of the application's. */
        final boolean replacesValue;
        /** For Netty's setters: the option's name; their descriptors are matched up to the return type. */
        final String optionName;
        /** {@link #REQUIRED}, {@link #OPTIONAL}, or the group of which the class's first declared member is hooked. */
        final int choice;

        static final int REQUIRED = 0;
        static final int OPTIONAL = -1;

        private Hook(String method, String descriptor, String bridgeMethod, int socketLocal, int argumentLocal,
                     int connectingLocal, boolean atEntry, boolean replacesValue, String optionName, int choice) {
            this.method = method;
            this.descriptor = descriptor;
            this.bridgeMethod = bridgeMethod;
            this.socketLocal = socketLocal;
            this.argumentLocal = argumentLocal;
            this.connectingLocal = connectingLocal;
            this.atEntry = atEntry;
            this.replacesValue = replacesValue;
            this.optionName = optionName;
            this.choice = choice;
        }

        private Hook(String method, String descriptor, String bridgeMethod, int socketLocal, boolean atEntry,
                     boolean replacesValue, String optionName) {
            this(method, descriptor, bridgeMethod, socketLocal, -1, -1, atEntry, replacesValue, optionName, REQUIRED);
        }

        /** The same hook with {@code {n}} replaced by a Netty copy's root. */
        Hook forRoot(String root) {
            return new Hook(method, descriptor.replace("{n}", "L" + root + "/"), bridgeMethod, socketLocal,
                    argumentLocal, connectingLocal, atEntry, replacesValue, optionName, choice);
        }

        /** One of a group of shapes: the first of the group that the class declares is hooked, the others not. */
        Hook firstOf(int group) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, argumentLocal, connectingLocal, atEntry,
                    replacesValue, optionName, group);
        }

        /** Hooked where the class declares it, and not missed where it does not. */
        Hook optional() {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, argumentLocal, connectingLocal, atEntry,
                    replacesValue, optionName, OPTIONAL);
        }

        /** The same hook passing a second local to the bridge. */
        Hook withArgument(int local) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, local, connectingLocal, atEntry,
                    replacesValue, optionName, choice);
        }

        /** This exit hook, and at the method's entry {@code connecting(this, local)}: the destination in local. */
        Hook connecting(int local) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, argumentLocal, local, atEntry,
                    replacesValue, optionName, choice);
        }

        /** Whether some of the hooks are inserted only if the class declares their method: see {@link #toInsert}. */
        static boolean choosing(List<Hook> hooks) {
            for (Hook hook : hooks) {
                if (hook.choice != REQUIRED) {
                    return true;
                }
            }
            return false;
        }

        /**
         * The hooks to insert into a class that declares the methods {@code declared} (name and descriptor): every
         * required one, and of the optional ones and the groups what the class declares.
         */
        static List<Hook> toInsert(List<String> declared, List<Hook> hooks) {
            List<Hook> chosen = new ArrayList<>();
            List<Integer> groupsTaken = new ArrayList<>();
            for (Hook hook : hooks) {
                boolean isDeclared = declared.contains(hook.method + hook.descriptor);
                if (hook.choice == REQUIRED || isDeclared && hook.choice == OPTIONAL) {
                    chosen.add(hook);
                } else if (isDeclared && hook.choice > 0 && !groupsTaken.contains(hook.choice)) {
                    groupsTaken.add(hook.choice);
                    chosen.add(hook);
                }
            }
            return chosen;
        }

        /** What a class whose inserted hooks are {@code found} lacks of {@code hooks}: required hooks and groups. */
        static List<String> missing(List<Hook> hooks, List<Hook> found) {
            List<String> missing = new ArrayList<>();
            List<Integer> groupsFound = new ArrayList<>();
            for (Hook hook : found) {
                groupsFound.add(hook.choice);
            }
            Map<Integer, List<Hook>> groupsMissing = new TreeMap<>();
            for (Hook hook : hooks) {
                if (hook.choice == REQUIRED && !found.contains(hook)) {
                    missing.add(hook.toString());
                } else if (hook.choice > 0 && !groupsFound.contains(hook.choice)) {
                    groupsMissing.computeIfAbsent(hook.choice, g -> new ArrayList<>()).add(hook);
                }
            }
            for (List<Hook> group : groupsMissing.values()) {
                missing.add("any of " + group);
            }
            return missing;
        }

        /** An option setter's hook whose option is the legacy integer id ({@code setOption(int, Object)}). */
        boolean legacyOption() {
            return bridgeMethod.equals("legacyOption");
        }

        /** Whether the second local is an int: the legacy option's id. */
        boolean intArgument() {
            return bridgeMethod.equals("legacyOptionWritten");
        }

        static final String CONNECTING = "connecting";
        static final String CONNECTING_DESCRIPTOR = "(Ljava/lang/Object;Ljava/lang/Object;)V";

        /** The descriptor of the bridge method the inserted code calls: the one place both weavers take it from. */
        String bridgeDescriptor() {
            if (argumentLocal >= 0) {
                return intArgument() ? "(Ljava/lang/Object;I)V" : CONNECTING_DESCRIPTOR;
            }
            if (optionName != null) {
                return "(Ljava/lang/Object;Ljava/lang/String;I)I";
            }
            if (replacesValue) {
                return legacyOption() ? "(Ljava/lang/Object;ILjava/lang/Object;)Ljava/lang/Object;"
                        : "(Ljava/lang/Object;Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;";
            }
            return "(Ljava/lang/Object;)V";
        }

        boolean matches(String name, String methodDescriptor) {
            return method.equals(name)
                    && (optionName != null ? methodDescriptor.startsWith(descriptor) : descriptor.equals(methodDescriptor));
        }

        static Hook exit(String method, String descriptor, String bridgeMethod, int socketLocal) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, false, false, null);
        }

        static Hook entry(String method, String descriptor, String bridgeMethod, int socketLocal) {
            return new Hook(method, descriptor, bridgeMethod, socketLocal, true, false, null);
        }

        /** At entry: {@code connecting(this, local)}, the destination in {@code local}, before the SYN leaves. */
        static Hook connecting(String method, String descriptor, int local) {
            return new Hook(method, descriptor, CONNECTING, 0, local, -1, true, false, null, REQUIRED);
        }

        static Hook returned(String method, String descriptor, String bridgeMethod) {
            return new Hook(method, descriptor, bridgeMethod, RETURNED, false, false, null);
        }

        static Hook option(String method, String descriptor) {
            return new Hook(method, descriptor, "option", 0, true, true, null);
        }

        static Hook legacyOption(String method, String descriptor) {
            return new Hook(method, descriptor, "legacyOption", 0, true, true, null);
        }

        static Hook intOption(String method, String parameters, String optionName) {
            return new Hook(method, parameters, "intOption", 0, true, true, optionName);
        }

        @Override
        public String toString() {
            return method + descriptor;
        }
    }

    private final HardeningLog log;

    public SocketTransformer(HardeningLog log) {
        this.log = log;
    }

    @Override
    public byte[] transform(ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain,
                            byte[] bytes) {
        if (className == null) {
            return null;
        }
        List<Hook> hooks = loader == null ? TARGETS.get(className) : nettyHooks(className);
        if (hooks == null) {
            return null;
        }
        try {
            List<Hook> found = new ArrayList<>();
            byte[] hooked = loader == null ? jdkClass(className, bytes, hooks, found)
                    : HookWeaver.rewrite(bytes, hooks, found);
            if (hooked != null || loader == null) {
                reportMissing(className, hooks, found, loader == null);
            }
            return hooked;
        } catch (Throwable t) {
            log.error("cannot hook " + className.replace('/', '.') + ", its connections will not be hardened: " + t);
            return null;
        }
    }

    /**
     * The JDK's classes load on every JVM's start path: patched directly (the patcher makes the hooks' choices while
     * it reads the class), ASM only if the patcher declines.
     */
    private byte[] jdkClass(String className, byte[] bytes, List<Hook> hooks, List<Hook> found)
            throws JdkClassPatcher.Unsupported {
        try {
            return JdkClassPatcher.patch(bytes, hooks, found);
        } catch (JdkClassPatcher.Unsupported e) {
            log.debug(className.replace('/', '.') + " hooked with ASM: " + e.getMessage());
            found.clear();
            List<Hook> chosen = Hook.choosing(hooks) ? Hook.toInsert(JdkClassPatcher.declaredMethods(bytes), hooks)
                    : hooks;
            return HookWeaver.rewrite(bytes, chosen, found);
        }
    }

    /** A JDK or Netty whose internals moved: fail loudly rather than harden nothing in silence. */
    private void reportMissing(String className, List<Hook> hooks, List<Hook> found, boolean jdk) {
        List<String> missing = Hook.missing(hooks, found);
        if (!missing.isEmpty()) {
            log.error(className.replace('/', '.') + " has no " + missing + (jdk ? " on this JDK ("
                    + System.getProperty("java.runtime.version") + ")" : "") + "; connections through it may not be"
                    + " hardened");
        }
    }

    /** The hooks of a class that looks like one of Netty's, written against its copy's root; null for others. */
    private static List<Hook> nettyHooks(String className) {
        for (Map.Entry<String, List<Hook>> target : NETTY_TARGETS.entrySet()) {
            if (className.endsWith(target.getKey()) && className.length() > target.getKey().length()) {
                String root = className.substring(0, className.length() - target.getKey().length());
                List<Hook> hooks = new ArrayList<>();
                for (Hook hook : target.getValue()) {
                    hooks.add(hook.forRoot(root));
                }
                return hooks;
            }
        }
        return null;
    }
}
