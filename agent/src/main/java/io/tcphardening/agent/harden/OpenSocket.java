package io.tcphardening.agent.harden;

import io.tcphardening.agent.settings.TcpOption;
import java.net.InetSocketAddress;

/**
 * The five options of one socket that is held open, however the socket is reached: a JDK descriptor under the JDK's
 * close lock ({@link JdkSocketRoute}), or a Netty native channel on its event loop ({@link NettyChannels}).
 */
interface OpenSocket {

    /**
     * Whether this route can reach the option at all on this socket. The agent neither sets nor reads an option it
     * cannot reach, and logs it as not applicable ({@code n/a}) rather than as a failure.
     */
    default boolean supports(TcpOption option) {
        return true;
    }

    void set(TcpOption option, int value) throws Exception;

    /** The kernel's value, read back. */
    int get(TcpOption option) throws Exception;

    /** The local address, or null if it has none. */
    InetSocketAddress local();

    /** The peer's address, or null if it is not connected. */
    InetSocketAddress remote();
}
