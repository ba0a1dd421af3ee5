package io.tcphardening.agent.harden;

import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.settings.TcpOption;
import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;

/**
 * setsockopt and getsockopt through the JDK's own natives in {@code sun.nio.ch.Net}: with {@code mayNeedConversion}
 * false they are a plain {@code setsockopt(level, name)} on the descriptor, which gives the agent TCP_USER_TIMEOUT
 * without JNA or a native library of its own. Resolved once; same signatures in JDK 11 to 25.
 *
 * <p>Called the way that costs least at start on the running JDK, because both are paid by every JVM of a fleet:
 * up to JDK 17 through core reflection, whose native accessors spin no classes (method handles cost 8 ms more of a
 * one-connection program's start there); from JDK 18, where core reflection is itself built on method handles
 * (JEP 416) and costs 25 ms more, through method handles directly.
 *
 * <p>Callers must pass a non-null descriptor of a socket that cannot be closed meanwhile (see
 * {@link JdkSocketAccess#locked}): the natives crash the JVM on a null descriptor.
 */
public final class NativeSocketOptions implements JdkSocketRoute {

    /** The four natives of {@code sun.nio.ch.Net} the agent calls. */
    private interface Natives {
        void set(FileDescriptor fd, int level, int name, int value) throws Throwable;

        int get(FileDescriptor fd, int level, int name) throws Throwable;

        InetSocketAddress local(FileDescriptor fd) throws Throwable;

        InetSocketAddress remote(FileDescriptor fd) throws Throwable;
    }

    private final Natives natives;

    public NativeSocketOptions(JdkInternals jdk) throws ReflectiveOperationException {
        Class<?> net = jdk.jdkClass("sun.nio.ch.Net");
        natives = Runtime.version().feature() >= 18 ? new ThroughMethodHandles(jdk.privateLookup(net), net)
                : new ThroughReflection(net);
    }

    @Override
    public OpenSocket open(Object socket, FileDescriptor fd) {
        return new Descriptor(fd);
    }

    @Override
    public String limitation() {
        return null;
    }

    void set(FileDescriptor fd, TcpOption option, int value) throws IOException {
        try {
            natives.set(fd, option.level, option.number, value);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    int get(FileDescriptor fd, TcpOption option) throws IOException {
        try {
            return natives.get(fd, option.level, option.number);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /**
     * The first four bytes of TCP_INFO, which getsockopt truncates to the length asked: the state, the congestion
     * state, the retransmissions outstanding ({@code tcpi_retransmits}, byte 2) and the keepalive or zero-window probes
     * outstanding ({@code tcpi_probes}, byte 3). Little-endian, as the x86-64 and aarch64 kernels write them.
     */
    int tcpInfoHead(FileDescriptor fd) throws IOException {
        try {
            return natives.get(fd, 6, 11);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** getsockname, or null if the socket has none (yet). */
    InetSocketAddress local(FileDescriptor fd) {
        try {
            return natives.local(fd);
        } catch (Throwable t) {
            return null;
        }
    }

    /** getpeername, or null if the socket has no peer. */
    InetSocketAddress remote(FileDescriptor fd) {
        try {
            return natives.remote(fd);
        } catch (Throwable t) {
            return null;
        }
    }

    /** A JDK descriptor as an {@link OpenSocket}; valid only while the socket's lock is held. */
    private final class Descriptor implements OpenSocket {
        private final FileDescriptor fd;

        Descriptor(FileDescriptor fd) {
            this.fd = fd;
        }

        @Override
        public void set(TcpOption option, int value) throws IOException {
            NativeSocketOptions.this.set(fd, option, value);
        }

        @Override
        public int get(TcpOption option) throws IOException {
            return NativeSocketOptions.this.get(fd, option);
        }

        @Override
        public InetSocketAddress local() {
            return NativeSocketOptions.this.local(fd);
        }

        @Override
        public InetSocketAddress remote() {
            return NativeSocketOptions.this.remote(fd);
        }
    }

    private static final class ThroughMethodHandles implements Natives {
        private final MethodHandle setIntOption;
        private final MethodHandle getIntOption;
        private final MethodHandle localAddress;
        private final MethodHandle remoteAddress;

        ThroughMethodHandles(MethodHandles.Lookup lookup, Class<?> net) throws ReflectiveOperationException {
            setIntOption = lookup.findStatic(net, "setIntOption0", MethodType.methodType(void.class,
                    FileDescriptor.class, boolean.class, int.class, int.class, int.class, boolean.class));
            getIntOption = lookup.findStatic(net, "getIntOption0", MethodType.methodType(int.class,
                    FileDescriptor.class, boolean.class, int.class, int.class));
            MethodType address = MethodType.methodType(InetSocketAddress.class, FileDescriptor.class);
            localAddress = lookup.findStatic(net, "localAddress", address);
            remoteAddress = lookup.findStatic(net, "remoteAddress", address);
        }

        @Override
        public void set(FileDescriptor fd, int level, int name, int value) throws Throwable {
            setIntOption.invokeExact(fd, false, level, name, value, false);
        }

        @Override
        public int get(FileDescriptor fd, int level, int name) throws Throwable {
            return (int) getIntOption.invokeExact(fd, false, level, name);
        }

        @Override
        public InetSocketAddress local(FileDescriptor fd) throws Throwable {
            return (InetSocketAddress) localAddress.invokeExact(fd);
        }

        @Override
        public InetSocketAddress remote(FileDescriptor fd) throws Throwable {
            return (InetSocketAddress) remoteAddress.invokeExact(fd);
        }
    }

    private static final class ThroughReflection implements Natives {
        private final Method setIntOption;
        private final Method getIntOption;
        private final Method localAddress;
        private final Method remoteAddress;

        ThroughReflection(Class<?> net) throws ReflectiveOperationException {
            setIntOption = JdkInternals.method(net, "setIntOption0", FileDescriptor.class, boolean.class, int.class,
                    int.class, int.class, boolean.class);
            getIntOption = JdkInternals.method(net, "getIntOption0", FileDescriptor.class, boolean.class, int.class,
                    int.class);
            localAddress = JdkInternals.method(net, "localAddress", FileDescriptor.class);
            remoteAddress = JdkInternals.method(net, "remoteAddress", FileDescriptor.class);
        }

        @Override
        public void set(FileDescriptor fd, int level, int name, int value) throws Throwable {
            call(setIntOption, fd, false, level, name, value, false);
        }

        @Override
        public int get(FileDescriptor fd, int level, int name) throws Throwable {
            return (Integer) call(getIntOption, fd, false, level, name);
        }

        @Override
        public InetSocketAddress local(FileDescriptor fd) throws Throwable {
            return (InetSocketAddress) call(localAddress, fd);
        }

        @Override
        public InetSocketAddress remote(FileDescriptor fd) throws Throwable {
            return (InetSocketAddress) call(remoteAddress, fd);
        }

        /** What the native throws, as it throws it. */
        private static Object call(Method method, Object... arguments) throws Throwable {
            try {
                return method.invoke(null, arguments);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        }
    }
}
