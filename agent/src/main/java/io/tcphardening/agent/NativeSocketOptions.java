package io.tcphardening.agent;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;

/**
 * setsockopt and getsockopt through the JDK's own natives in {@code sun.nio.ch.Net}: with {@code mayNeedConversion}
 * false they are a plain {@code setsockopt(level, name)} on the descriptor, which gives the agent TCP_USER_TIMEOUT
 * without JNA or a native library of its own. Resolved once; same signatures in JDK 11 to 25.
 *
 * <p>Callers must pass a non-null descriptor of a socket that cannot be closed meanwhile (see
 * {@link JdkSocketAccess#locked}): the natives crash the JVM on a null descriptor.
 */
final class NativeSocketOptions implements JdkSocketRoute {

    private final MethodHandle setIntOption;
    private final MethodHandle getIntOption;
    private final MethodHandle localAddress;
    private final MethodHandle remoteAddress;

    NativeSocketOptions(JdkInternals jdk) throws ReflectiveOperationException {
        Class<?> net = jdk.jdkClass("sun.nio.ch.Net");
        MethodHandles.Lookup lookup = jdk.privateLookup(net);
        setIntOption = lookup.findStatic(net, "setIntOption0", MethodType.methodType(void.class,
                FileDescriptor.class, boolean.class, int.class, int.class, int.class, boolean.class));
        getIntOption = lookup.findStatic(net, "getIntOption0", MethodType.methodType(int.class,
                FileDescriptor.class, boolean.class, int.class, int.class));
        localAddress = lookup.findStatic(net, "localAddress",
                MethodType.methodType(InetSocketAddress.class, FileDescriptor.class));
        remoteAddress = lookup.findStatic(net, "remoteAddress",
                MethodType.methodType(InetSocketAddress.class, FileDescriptor.class));
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
            setIntOption.invokeExact(fd, false, option.level, option.number, value, false);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    int get(FileDescriptor fd, TcpOption option) throws IOException {
        try {
            return (int) getIntOption.invokeExact(fd, false, option.level, option.number);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** getsockname, or null if the socket has none (yet). */
    InetSocketAddress local(FileDescriptor fd) {
        try {
            return (InetSocketAddress) localAddress.invokeExact(fd);
        } catch (Throwable t) {
            return null;
        }
    }

    /** getpeername, or null if the socket has no peer. */
    InetSocketAddress remote(FileDescriptor fd) {
        try {
            return (InetSocketAddress) remoteAddress.invokeExact(fd);
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
}
