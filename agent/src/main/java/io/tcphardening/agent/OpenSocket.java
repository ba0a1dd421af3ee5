package io.tcphardening.agent;

import java.net.InetSocketAddress;

/**
 * The five options of one socket that is held open, however the socket is reached: a JDK descriptor under the JDK's
 * close lock ({@link NativeSocketOptions}), or a Netty native channel on its event loop ({@link NettyChannels}).
 */
interface OpenSocket {

    void set(TcpOption option, int value) throws Exception;

    /** The kernel's value, read back. */
    int get(TcpOption option) throws Exception;

    /** The local address, or null if it has none. */
    InetSocketAddress local();

    /** The peer's address, or null if it is not connected. */
    InetSocketAddress remote();
}
