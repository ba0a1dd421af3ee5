package io.tcphardening.bench;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.Socket;
import java.net.SocketImpl;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.NetworkChannel;
import jdk.net.ExtendedSocketOptions;

/**
 * The baseline the agent is held to: an application setting the same five options itself, by hand. Four through the
 * JDK's API; TCP_USER_TIMEOUT, which the JDK has no API for, through the JDK's own native setsockopt, which an
 * application reaches only with {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.net=
 * ALL-UNNAMED} (the forks of the by-hand benchmarks get them).
 */
final class HandSet {

    static final int IDLE = 60;
    static final int INTERVAL = 10;
    static final int COUNT = 6;
    static final int USER_TIMEOUT = 120_000;

    private static final MethodHandle SET_INT_OPTION;
    private static final Field SOCKET_IMPL;
    private static final Field IMPL_FD;
    private static final Method DELEGATE;
    private static final Method CHANNEL_FD;
    private static final Field ASYNC_FD;

    static {
        try {
            Class<?> net = Class.forName("sun.nio.ch.Net");
            MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(net, MethodHandles.lookup());
            SET_INT_OPTION = lookup.findStatic(net, "setIntOption0", MethodType.methodType(void.class,
                    FileDescriptor.class, boolean.class, int.class, int.class, int.class, boolean.class));
            SOCKET_IMPL = Socket.class.getDeclaredField("impl");
            SOCKET_IMPL.setAccessible(true);
            IMPL_FD = SocketImpl.class.getDeclaredField("fd");
            IMPL_FD.setAccessible(true);
            DELEGATE = Class.forName("java.net.DelegatingSocketImpl").getDeclaredMethod("delegate");
            DELEGATE.setAccessible(true);
            CHANNEL_FD = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFD");
            CHANNEL_FD.setAccessible(true);
            ASYNC_FD = Class.forName("sun.nio.ch.AsynchronousSocketChannelImpl").getDeclaredField("fd");
            ASYNC_FD.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private HandSet() {
    }

    static void options(Socket socket) throws Exception {
        socket.setKeepAlive(true);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, IDLE);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, INTERVAL);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, COUNT);
        SocketImpl impl = (SocketImpl) SOCKET_IMPL.get(socket);
        if (DELEGATE.getDeclaringClass().isInstance(impl)) {
            impl = (SocketImpl) DELEGATE.invoke(impl);
        }
        userTimeout((FileDescriptor) IMPL_FD.get(impl));
    }

    static void options(NetworkChannel channel) throws Exception {
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, IDLE);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, INTERVAL);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, COUNT);
        userTimeout((FileDescriptor) (channel instanceof AsynchronousSocketChannel ? ASYNC_FD.get(channel)
                : CHANNEL_FD.invoke(channel)));
    }

    private static void userTimeout(FileDescriptor fd) throws IOException {
        try {
            SET_INT_OPTION.invokeExact(fd, false, 6, 18, USER_TIMEOUT, false);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }
}
