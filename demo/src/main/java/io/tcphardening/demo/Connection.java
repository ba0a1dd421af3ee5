package io.tcphardening.demo;

/** The kinds of connection the demo holds, and the two states each is held in. */
enum Connection {
    SOCKET("java.net.Socket", 7001),
    SOCKET_CHANNEL("SocketChannel", 7002),
    ASYNC_CHANNEL("AsynchronousSocketChannel", 7003),
    NETTY_EPOLL("Netty epoll", 7004);

    /** Idle: waiting for a message that never comes. Busy: writing data the peer will never acknowledge. */
    enum State { IDLE, BUSY }

    final String label;
    final int port;

    Connection(String label, int port) {
        this.label = label;
        this.port = port;
    }
}
