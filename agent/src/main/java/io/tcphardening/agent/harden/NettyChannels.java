package io.tcphardening.agent.harden;

import io.tcphardening.agent.observe.HardeningLog;
import io.tcphardening.agent.settings.TcpOption;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Netty's native TCP channels (epoll, io_uring), reached by reflection through their own API: the agent never links
 * against Netty, so it adds nothing to an application without Netty, and it finds relocated copies (gRPC's
 * {@code io.grpc.netty.shaded.io.netty}) by the shape of their class names rather than by a package.
 *
 * <p>Options go through Netty's own native setsockopt and getsockopt, so that Netty's view of the channel stays right:
 * the methods of the channel's {@code LinuxSocket}, which its config's setters call, and which the agent does not hook.
 * The config's setters are hooked as the application's writes, so the agent's own writes pass them only where a
 * Netty version hides its socket, and are then marked as the agent's ({@link #agentWriting}). The NIO transport is
 * not here: its channels are JDK SocketChannels, hardened once, by the JDK hooks.
 */
final class NettyChannels {

    /**
     * Class-name suffixes of the native TCP channels, after Netty's root package; the transport's name; and whether
     * the agent hooks its connect, where a client channel's rule is decided and written before the SYN (the
     * incubator's io_uring has no such hook: decided when active).
     */
    private static final String[][] CHANNELS = {
        {"channel.epoll.EpollSocketChannel", "epoll", "connect hooked"},
        {"channel.uring.IoUringSocketChannel", "io_uring", "connect hooked"},
        {"incubator.channel.uring.IOUringSocketChannel", "io_uring", ""},
    };

    /** The same for the native listeners, whose options every channel they accept inherits from the kernel. */
    private static final String[][] LISTENERS = {
        {"channel.epoll.EpollServerSocketChannel", "epoll", ""},
        {"channel.uring.IoUringServerSocketChannel", "io_uring", ""},
        {"incubator.channel.uring.IOUringServerSocketChannel", "io_uring", ""},
    };

    /** Set while the agent writes an option through a config setter, which hands the write to the agent's hook. */
    private static final ThreadLocal<Boolean> WRITING = new ThreadLocal<>();

    /** Whether this thread is inside the agent's own write through a Netty config setter. */
    static boolean agentWriting() {
        return WRITING.get() != null;
    }

    /** One Netty native channel class: its methods, those of its config, and of its socket where it can reach it. */
    static final class Type {
        final String kind;
        /** Whether a client channel's options were written at its connect (see {@link #CHANNELS}). */
        final boolean connectHooked;
        private final Method config;
        private final Method parent;
        private final Method localAddress;
        private final Method remoteAddress;
        private final Method isRegistered;
        private final Method isOpen;
        /** The channel's {@code LinuxSocket} and its option methods; null where this Netty version hides them. */
        private final Field socket;
        private final OptionMethods socketOptions;

        Type(Class<?> channel, String transport, String root, boolean connectHooked)
                throws ReflectiveOperationException {
            this.kind = "Netty " + transport + (root.equals("io.netty") ? "" : " (" + root + ")");
            this.connectHooked = connectHooked;
            // All made accessible: a method that is not checks its caller's access at every call, which was a
            // tenth of the agent's time on a Netty connection. (isOpen is declared by io_uring's package-private
            // AbstractIoUringChannel, and io_uring's config is not public either.)
            this.config = accessible(channel.getMethod("config"));
            this.parent = accessible(channel.getMethod("parent"));
            this.localAddress = accessible(channel.getMethod("localAddress"));
            this.remoteAddress = accessible(channel.getMethod("remoteAddress"));
            this.isRegistered = accessible(channel.getMethod("isRegistered"));
            this.isOpen = accessible(channel.getMethod("isOpen"));
            Field linuxSocket = null;
            OptionMethods options = null;
            try {
                linuxSocket = socketField(channel);
                options = linuxSocket == null ? null : new OptionMethods(linuxSocket.getType(), true);
            } catch (ReflectiveOperationException | RuntimeException e) {
                linuxSocket = null;  // through the config
            }
            this.socket = options == null ? null : linuxSocket;
            this.socketOptions = options;
        }

        /** The {@code LinuxSocket socket} field of the channel's class or a superclass, made accessible; or null. */
        private static Field socketField(Class<?> channel) {
            for (Class<?> c = channel; c != null; c = c.getSuperclass()) {
                for (Field field : c.getDeclaredFields()) {
                    if (field.getName().equals("socket") && field.getType().getSimpleName().equals("LinuxSocket")) {
                        field.setAccessible(true);
                        return field;
                    }
                }
            }
            return null;
        }

        /**
         * Whether the channel's line was logged: it is registered with its event loop, where it becomes active.
         * Options from a bootstrap ({@code option}, {@code childOption}) are set before that.
         */
        boolean isReported(Object channel) throws ReflectiveOperationException {
            return (Boolean) isRegistered.invoke(channel) && remoteAddress.invoke(channel) != null;
        }

        Object config(Object channel) throws ReflectiveOperationException {
            return config.invoke(channel);
        }

        boolean isAccepted(Object channel) throws ReflectiveOperationException {
            return parent(channel) != null;
        }

        /** The server channel that accepted this one, or null for a client channel. */
        Object parent(Object channel) throws ReflectiveOperationException {
            return parent.invoke(channel);
        }

        /** Whether the agent reaches the channel's socket: a listener's options are written only that way. */
        boolean reachesSocket() {
            return socket != null;
        }

    }

    /**
     * The setters and getters of the five options on a native channel config class, or on a {@code LinuxSocket}
     * (package-private, as io_uring's config: made accessible), same names on both.
     */
    static final class OptionMethods {
        final Method[] setters = new Method[TcpOption.ALL.length];
        final Method[] getters = new Method[TcpOption.ALL.length];

        OptionMethods(Class<?> type, boolean declared) throws NoSuchMethodException {
            String[] names = {"KeepAlive", "TcpKeepIdle", "TcpKeepIntvl", "TcpKeepCnt", "TcpUserTimeout"};
            for (TcpOption option : TcpOption.ALL) {
                String name = names[option.ordinal()];
                boolean flag = option == TcpOption.KEEPALIVE;
                setters[option.ordinal()] = method(type, declared, "set" + name, flag ? boolean.class : int.class);
                getters[option.ordinal()] = method(type, declared, (flag ? "is" : "get") + name);
            }
        }

        /** A public method, or with {@code declared} one of the class or a superclass at any access. */
        private static Method method(Class<?> type, boolean declared, String name, Class<?>... parameters)
                throws NoSuchMethodException {
            if (!declared) {
                return accessible(type.getMethod(name, parameters));
            }
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                try {
                    return accessible(c.getDeclaredMethod(name, parameters));
                } catch (NoSuchMethodException e) {
                    // declared further up (setKeepAlive: Netty's unix Socket)
                }
            }
            throw new NoSuchMethodException(type.getName() + "." + name);
        }
    }

    private static Method accessible(Method method) {
        method.setAccessible(true);
        return method;
    }

    /**
     * The options of a native channel, through its socket (or its config where this Netty hides the socket); null if
     * the config is not of a known kind, or if the channel is closed: Netty's native calls take the descriptor's
     * number even after its close, and by then the number may be another file's (a handler that closes the channel
     * in {@code channelActive}, and a listener of its close future that opens a file, both run before the agent's
     * hook at the end of {@code fireChannelActive}).
     * The hardening steps run on the channel's event loop, where Netty closes it, or before the channel is registered:
     * it cannot close between this check and their calls. (With SO_LINGER set, Netty closes the descriptor on another
     * executor; that window is Netty's own, for the application's calls alike.)
     */
    OpenSocket open(Type type, Object channel) throws ReflectiveOperationException {
        if (!(Boolean) type.isOpen.invoke(channel)) {
            return null;
        }
        if (type.socket != null) {
            return new Channel(type, type.socketOptions, channel, type.socket.get(channel), false);
        }
        Object config = type.config(channel);
        OptionMethods configType = configTypes.get(config.getClass());
        return configType == null ? null : new Channel(type, configType, channel, config, true);
    }

    /** One channel, for the duration of one hardening step on a thread that owns it. */
    private static final class Channel implements OpenSocket {
        private final Type type;
        private final OptionMethods methods;
        private final Object channel;
        /** The channel's LinuxSocket, or its config. */
        private final Object target;
        private final boolean hooked;

        Channel(Type type, OptionMethods methods, Object channel, Object target, boolean hooked) {
            this.type = type;
            this.methods = methods;
            this.channel = channel;
            this.target = target;
            this.hooked = hooked;
        }

        @Override
        public void set(TcpOption option, int value) throws Exception {
            if (!hooked) {
                call(methods.setters[option.ordinal()], target, option.toJdkValue(value));
                return;
            }
            WRITING.set(Boolean.TRUE);
            try {
                call(methods.setters[option.ordinal()], target, option.toJdkValue(value));
            } finally {
                WRITING.remove();
            }
        }

        @Override
        public int get(TcpOption option) throws Exception {
            Object value = call(methods.getters[option.ordinal()], target);
            return value instanceof Boolean ? ((Boolean) value ? 1 : 0) : (Integer) value;
        }

        @Override
        public InetSocketAddress local() {
            return address(type.localAddress);
        }

        @Override
        public InetSocketAddress remote() {
            return address(type.remoteAddress);
        }

        private InetSocketAddress address(Method method) {
            try {
                SocketAddress address = (SocketAddress) method.invoke(channel);
                return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }

        /** Netty's own exception (a ChannelException from its native call), not the reflective wrapper. */
        private static Object call(Method method, Object target, Object... args) throws Exception {
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                throw cause instanceof Exception ? (Exception) cause : e;
            }
        }
    }

    private final ClassValue<Type> channelTypes = new ClassValue<Type>() {
        @Override
        protected Type computeValue(Class<?> type) {
            return resolve(type, CHANNELS);
        }
    };

    private final ClassValue<Type> listenerTypes = new ClassValue<Type>() {
        @Override
        protected Type computeValue(Class<?> type) {
            return resolve(type, LISTENERS);
        }
    };

    private final ClassValue<OptionMethods> configTypes = new ClassValue<OptionMethods>() {
        @Override
        protected OptionMethods computeValue(Class<?> type) {
            try {
                return new OptionMethods(type, false);
            } catch (NoSuchMethodException | RuntimeException e) {
                log.error("cannot harden channels configured by " + type.getName() + ": " + e);
                return null;
            }
        }
    };

    /** Methods of the pipeline ({@code channel()}) and of a config (its {@code channel} field), by class. */
    private final ClassValue<Method> pipelineChannel = new ClassValue<Method>() {
        @Override
        protected Method computeValue(Class<?> type) {
            try {
                return type.getName().endsWith(".channel.DefaultChannelPipeline")
                        ? accessible(type.getMethod("channel")) : null;
            } catch (NoSuchMethodException e) {
                return null;
            }
        }
    };

    private final ClassValue<Field> configChannel = new ClassValue<Field>() {
        @Override
        protected Field computeValue(Class<?> type) {
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                if (c.getName().endsWith(".channel.DefaultChannelConfig")) {
                    try {
                        Field field = c.getDeclaredField("channel");
                        field.setAccessible(true);
                        return field;
                    } catch (NoSuchFieldException | RuntimeException e) {
                        return null;
                    }
                }
            }
            return null;
        }
    };

    private final HardeningLog log;

    NettyChannels(HardeningLog log) {
        this.log = log;
    }

    /** The type of a Netty native TCP channel, or null for anything else (NIO, server and non-TCP channels). */
    Type type(Object channel) {
        return channelTypes.get(channel.getClass());
    }

    /** The type of a Netty native TCP listener (a server channel), or null for anything else. */
    Type listenerType(Object channel) {
        return listenerTypes.get(channel.getClass());
    }

    /** The channel of a {@code DefaultChannelPipeline}, or null if {@code pipeline} is none. */
    Object channelOf(Object pipeline) throws ReflectiveOperationException {
        Method channel = pipelineChannel.get(pipeline.getClass());
        return channel == null ? null : channel.invoke(pipeline);
    }

    /** The channel a native channel config belongs to, or null if {@code config} is none. */
    Object channelOfConfig(Object config) throws IllegalAccessException {
        Field channel = configChannel.get(config.getClass());
        return channel == null ? null : channel.get(config);
    }

    private Type resolve(Class<?> type, String[][] channels) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (String[] channel : channels) {
                String name = c.getName();
                if (name.endsWith("." + channel[0])) {
                    String root = name.substring(0, name.length() - channel[0].length() - 1);
                    try {
                        return new Type(c, channel[1], root, !channel[2].isEmpty());
                    } catch (ReflectiveOperationException | RuntimeException e) {
                        log.error("cannot harden " + name + " (this Netty version has other methods): " + e);
                        return null;
                    }
                }
            }
        }
        return null;
    }
}
