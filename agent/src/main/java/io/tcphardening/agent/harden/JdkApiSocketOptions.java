package io.tcphardening.agent.harden;

import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.settings.TcpOption;
import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.SocketOptions;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;

/**
 * The route for a JDK whose setsockopt natives are not where {@link NativeSocketOptions} looks for them: each socket
 * object's own {@code setOption} and {@code getOption}, the JDK's public API ({@code SO_KEEPALIVE} and
 * {@code jdk.net.ExtendedSocketOptions}' keepalive options). That API has no TCP_USER_TIMEOUT, so JDK sockets keep the
 * kernel's; an option a socket kind does not offer (SO_KEEPALIVE on a listener) is not applicable to it either.
 *
 * <p>These calls pass the agent's own {@code setOption} hooks, which leave the configured value as it is: no
 * recursion. They are made while {@link JdkSocketAccess#locked} holds the socket's lock, which the JDK's own
 * {@code setOption} takes again: every one of those locks is reentrant.
 */
public final class JdkApiSocketOptions implements JdkSocketRoute {

    /** The JDK's option for each {@link TcpOption}, by ordinal; null where the JDK has none. */
    private final SocketOption<?>[] jdkOptions = new SocketOption<?>[TcpOption.ALL.length];
    // java.net.SocketImpl's protected API, behind java.net.Socket and ServerSocket (java.net is open to the agent)
    private final Method implSetOption;
    private final Method implGetOption;
    private final Method implSupportedOptions;
    private final Method implRemoteAddress;
    private final Method implRemotePort;
    private final Method implLocalPort;
    private final Throwable nativesMissing;

    /** {@code nativesMissing}: why {@link NativeSocketOptions} could not be resolved. */
    public JdkApiSocketOptions(Throwable nativesMissing) throws ReflectiveOperationException {
        this.nativesMissing = nativesMissing;
        jdkOptions[TcpOption.KEEPALIVE.ordinal()] = StandardSocketOptions.SO_KEEPALIVE;
        jdkOptions[TcpOption.KEEPIDLE.ordinal()] = ExtendedSocketOptions.TCP_KEEPIDLE;
        jdkOptions[TcpOption.KEEPINTVL.ordinal()] = ExtendedSocketOptions.TCP_KEEPINTERVAL;
        jdkOptions[TcpOption.KEEPCNT.ordinal()] = ExtendedSocketOptions.TCP_KEEPCOUNT;
        implSetOption = accessible("setOption", SocketOption.class, Object.class);
        implGetOption = accessible("getOption", SocketOption.class);
        implSupportedOptions = accessible("supportedOptions");
        implRemoteAddress = accessible("getInetAddress");
        implRemotePort = accessible("getPort");
        implLocalPort = accessible("getLocalPort");
    }

    @Override
    public String limitation() {
        return "the JDK's internal setsockopt (sun.nio.ch.Net.setIntOption0) is not usable on this JDK ("
                + nativesMissing + "): JDK sockets get SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT"
                + " through their own setOption; TCP_USER_TIMEOUT is not applicable to them (Netty's native channels"
                + " still get it)";
    }

    private static Method accessible(String name, Class<?>... parameters) throws NoSuchMethodException {
        return JdkInternals.method(SocketImpl.class, name, parameters);
    }

    @Override
    public OpenSocket open(Object socket, FileDescriptor fd) {
        return socket instanceof NetworkChannel ? new Channel((NetworkChannel) socket) : new Impl((SocketImpl) socket);
    }

    /** What both kinds share: which options the socket offers, and the conversion to and from the JDK's values. */
    private abstract class ApiSocket implements OpenSocket {
        private Set<?> supported;

        abstract Set<?> supportedOptions() throws Exception;

        abstract void setJdkOption(SocketOption<?> option, Object value) throws Exception;

        abstract Object getJdkOption(SocketOption<?> option) throws Exception;

        @Override
        public boolean supports(TcpOption option) {
            SocketOption<?> jdkOption = jdkOptions[option.ordinal()];
            if (jdkOption == null) {
                return false;
            }
            try {
                if (supported == null) {
                    supported = supportedOptions();
                }
                return supported.contains(jdkOption);
            } catch (Exception e) {
                return true;  // let the write fail and be logged, rather than skip it in silence
            }
        }

        @Override
        public void set(TcpOption option, int value) throws Exception {
            setJdkOption(jdkOptions[option.ordinal()], option.toJdkValue(value));
        }

        @Override
        public int get(TcpOption option) throws Exception {
            Object value = getJdkOption(jdkOptions[option.ordinal()]);
            int kernelValue = option.fromJdkValue(value);
            if (kernelValue == Integer.MIN_VALUE) {
                throw new IOException(option.linuxName + " read back as " + value);
            }
            return kernelValue;
        }
    }

    /** {@code java.net.Socket} and {@code ServerSocket}: their {@code SocketImpl}. */
    private final class Impl extends ApiSocket {
        private final SocketImpl impl;

        Impl(SocketImpl impl) {
            this.impl = impl;
        }

        @Override
        Set<?> supportedOptions() throws Exception {
            return (Set<?>) call(implSupportedOptions);
        }

        @Override
        void setJdkOption(SocketOption<?> option, Object value) throws Exception {
            call(implSetOption, option, value);
        }

        @Override
        Object getJdkOption(SocketOption<?> option) throws Exception {
            return call(implGetOption, option);
        }

        private Object call(Method method, Object... arguments) throws Exception {
            try {
                return method.invoke(impl, arguments);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
            }
        }

        @Override
        public InetSocketAddress local() {
            try {
                return new InetSocketAddress((InetAddress) impl.getOption(SocketOptions.SO_BINDADDR),
                        (Integer) call(implLocalPort));
            } catch (Exception e) {
                return null;
            }
        }

        @Override
        public InetSocketAddress remote() {
            try {
                InetAddress address = (InetAddress) call(implRemoteAddress);
                return address == null ? null : new InetSocketAddress(address, (Integer) call(implRemotePort));
            } catch (Exception e) {
                return null;
            }
        }
    }

    /** The NIO channels, synchronous and asynchronous. */
    private final class Channel extends ApiSocket {
        private final NetworkChannel channel;

        Channel(NetworkChannel channel) {
            this.channel = channel;
        }

        @Override
        Set<?> supportedOptions() {
            return channel.supportedOptions();
        }

        @Override
        @SuppressWarnings("unchecked")
        void setJdkOption(SocketOption<?> option, Object value) throws IOException {
            channel.setOption((SocketOption<Object>) option, value);
        }

        @Override
        Object getJdkOption(SocketOption<?> option) throws IOException {
            return channel.getOption(option);
        }

        @Override
        public InetSocketAddress local() {
            try {
                return (InetSocketAddress) channel.getLocalAddress();
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }

        @Override
        public InetSocketAddress remote() {
            try {
                if (channel instanceof SocketChannel) {
                    return (InetSocketAddress) ((SocketChannel) channel).getRemoteAddress();
                }
                if (channel instanceof AsynchronousSocketChannel) {
                    return (InetSocketAddress) ((AsynchronousSocketChannel) channel).getRemoteAddress();
                }
                return null;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }
}
