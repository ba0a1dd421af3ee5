package io.tcphardening.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One sequential loopback connection through one API, both ends in this JVM: connect, accept, close both ends. With
 * {@code byHand} the program sets the five options itself on both ends, as an application would without the agent:
 * through {@link HandSet} on the JDK's sockets, through Netty's own {@code option} and {@code childOption} on Netty's
 * (that is how a Netty application sets them); without, it sets nothing (run under the agent). {@link ConnectionLoop}
 * times it.
 */
final class ConnectionBench {

    /** The APIs, as named on {@link ConnectionLoop}'s command line. */
    static final List<String> METHODS = List.of("socket", "socketChannel", "asyncChannel", "nettyEpoll",
            "nettyIoUring");

    private final String method;
    private final boolean byHand;
    private final InetAddress loopback = InetAddress.getLoopbackAddress();
    private ServerSocket server;
    private ServerSocketChannel channelServer;
    private AsynchronousServerSocketChannel asyncServer;
    private EventLoopGroup group;
    private Channel nettyServer;
    private Bootstrap nettyClient;
    private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();

    ConnectionBench(String method, boolean byHand) {
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("no such connection: " + method + "; one of " + METHODS);
        }
        this.method = method;
        this.byHand = byHand;
    }

    /** Why {@code method} cannot run on this machine (a Netty transport whose native part does not load), or null. */
    static String unavailable(String method) {
        Throwable cause = method.equals("nettyEpoll") ? Epoll.unavailabilityCause()
                : method.equals("nettyIoUring") ? IoUring.unavailabilityCause() : null;
        if (cause == null) {
            return null;
        }
        StringBuilder why = new StringBuilder(String.valueOf(cause));
        for (Throwable c = cause.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            why.append("; caused by ").append(c);
        }
        return why.toString().replace('\n', ' ');
    }

    void setUp() throws Exception {
        switch (method) {
            case "socket":
                server = new ServerSocket(0, 200, loopback);
                break;
            case "socketChannel":
                channelServer = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0), 200);
                break;
            case "asyncChannel":
                asyncServer = AsynchronousServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0), 200);
                break;
            case "nettyEpoll":
                netty(new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory()), EpollServerSocketChannel.class,
                        EpollSocketChannel.class, EpollChannelOption.TCP_KEEPIDLE, EpollChannelOption.TCP_KEEPINTVL,
                        EpollChannelOption.TCP_KEEPCNT, EpollChannelOption.TCP_USER_TIMEOUT);
                break;
            default:
                netty(new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory()),
                        IoUringServerSocketChannel.class, IoUringSocketChannel.class, IoUringChannelOption.TCP_KEEPIDLE,
                        IoUringChannelOption.TCP_KEEPINTVL, IoUringChannelOption.TCP_KEEPCNT,
                        IoUringChannelOption.TCP_USER_TIMEOUT);
        }
    }

    /** A Netty server and client on one event loop; by hand, the five options through {@code option}/{@code childOption}. */
    private void netty(EventLoopGroup loop, Class<? extends io.netty.channel.ServerChannel> serverChannel,
                       Class<? extends Channel> clientChannel, ChannelOption<Integer> idle,
                       ChannelOption<Integer> interval, ChannelOption<Integer> count,
                       ChannelOption<Integer> userTimeout) throws Exception {
        group = loop;
        ServerBootstrap serverBootstrap = new ServerBootstrap().group(group).channel(serverChannel)
                .childHandler(new Accepted(accepted));
        nettyClient = new Bootstrap().group(group).channel(clientChannel).handler(new Idle());
        if (byHand) {
            serverBootstrap.childOption(ChannelOption.SO_KEEPALIVE, true).childOption(idle, HandSet.IDLE)
                    .childOption(interval, HandSet.INTERVAL).childOption(count, HandSet.COUNT)
                    .childOption(userTimeout, HandSet.USER_TIMEOUT);
            nettyClient.option(ChannelOption.SO_KEEPALIVE, true).option(idle, HandSet.IDLE)
                    .option(interval, HandSet.INTERVAL).option(count, HandSet.COUNT)
                    .option(userTimeout, HandSet.USER_TIMEOUT);
        }
        nettyServer = serverBootstrap.bind(loopback, 0).sync().channel();
    }

    void tearDown() throws Exception {
        for (AutoCloseable listener : new AutoCloseable[] {server, channelServer, asyncServer}) {
            if (listener != null) {
                listener.close();
            }
        }
        if (nettyServer != null) {
            nettyServer.close().sync();
        }
        if (group != null) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }

    /** One connection, opened and closed. */
    void connection() throws Exception {
        switch (method) {
            case "socket":
                socket();
                break;
            case "socketChannel":
                socketChannel();
                break;
            case "asyncChannel":
                asyncChannel();
                break;
            default:
                netty();
        }
    }

    private void socket() throws Exception {
        try (Socket client = new Socket(loopback, server.getLocalPort()); Socket other = server.accept()) {
            if (byHand) {
                HandSet.options(client);
                HandSet.options(other);
            }
        }
    }

    private void socketChannel() throws Exception {
        try (SocketChannel client = SocketChannel.open(channelServer.getLocalAddress());
             SocketChannel other = channelServer.accept()) {
            if (byHand) {
                HandSet.options(client);
                HandSet.options(other);
            }
        }
    }

    /** As an application of asynchronous channels: accept pending, the client's connect awaited, then the accept's. */
    private void asyncChannel() throws Exception {
        Future<AsynchronousSocketChannel> acceptance = asyncServer.accept();
        try (AsynchronousSocketChannel client = AsynchronousSocketChannel.open()) {
            client.connect(asyncServer.getLocalAddress()).get(10, TimeUnit.SECONDS);
            try (AsynchronousSocketChannel other = acceptance.get(10, TimeUnit.SECONDS)) {
                if (byHand) {
                    HandSet.options(client);
                    HandSet.options(other);
                }
            }
        }
    }

    private void netty() throws Exception {
        Channel client = nettyClient.connect(nettyServer.localAddress()).sync().channel();
        Channel other = accepted.poll(10, TimeUnit.SECONDS);
        if (other == null) {
            throw new IllegalStateException("no connection accepted within 10 s");
        }
        client.close().sync();
        other.close().sync();
    }

    /**
     * Hands each accepted channel, once active, to the benchmark thread, without ever blocking the event loop: the
     * client's own connect completes on the same loop.
     */
    @ChannelHandler.Sharable
    static final class Accepted extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Channel> queue;

        Accepted(BlockingQueue<Channel> queue) {
            this.queue = queue;
        }

        @Override
        public void channelActive(ChannelHandlerContext context) {
            queue.add(context.channel());
            context.fireChannelActive();
        }
    }

    @ChannelHandler.Sharable
    static final class Idle extends ChannelInboundHandlerAdapter {
    }
}
