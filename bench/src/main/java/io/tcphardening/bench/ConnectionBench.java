package io.tcphardening.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One sequential loopback connection: connect, accept, close both ends. {@code byHand}: the program sets the five
 * options itself on both ends (the baseline); {@code plain}: it sets nothing (run with and without the agent).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ConnectionBench {

    @Param({"plain", "byHand"})
    public String mode;

    private final InetAddress loopback = InetAddress.getLoopbackAddress();
    private ServerSocket server;
    private ServerSocketChannel channelServer;
    private EventLoopGroup group;
    private Channel nettyServer;
    private Bootstrap nettyClient;
    private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        server = new ServerSocket(0, 200, loopback);
        channelServer = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0), 200);
        group = new EpollEventLoopGroup(1);
        ServerBootstrap serverBootstrap = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new Accepted(accepted));
        nettyClient = new Bootstrap().group(group).channel(EpollSocketChannel.class).handler(new Idle());
        if (mode.equals("byHand")) {
            serverBootstrap.childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childOption(EpollChannelOption.TCP_KEEPIDLE, HandSet.IDLE)
                    .childOption(EpollChannelOption.TCP_KEEPINTVL, HandSet.INTERVAL)
                    .childOption(EpollChannelOption.TCP_KEEPCNT, HandSet.COUNT)
                    .childOption(EpollChannelOption.TCP_USER_TIMEOUT, HandSet.USER_TIMEOUT);
            nettyClient.option(ChannelOption.SO_KEEPALIVE, true)
                    .option(EpollChannelOption.TCP_KEEPIDLE, HandSet.IDLE)
                    .option(EpollChannelOption.TCP_KEEPINTVL, HandSet.INTERVAL)
                    .option(EpollChannelOption.TCP_KEEPCNT, HandSet.COUNT)
                    .option(EpollChannelOption.TCP_USER_TIMEOUT, HandSet.USER_TIMEOUT);
        }
        nettyServer = serverBootstrap.bind(loopback, 0).sync().channel();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        server.close();
        channelServer.close();
        nettyServer.close().sync();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    @Benchmark
    public void socket() throws Exception {
        try (Socket client = new Socket(loopback, server.getLocalPort()); Socket other = server.accept()) {
            if (mode.equals("byHand")) {
                HandSet.options(client);
                HandSet.options(other);
            }
        }
    }

    @Benchmark
    public void socketChannel() throws Exception {
        try (SocketChannel client = SocketChannel.open(channelServer.getLocalAddress());
             SocketChannel other = channelServer.accept()) {
            if (mode.equals("byHand")) {
                HandSet.options(client);
                HandSet.options(other);
            }
        }
    }

    @Benchmark
    public void nettyEpoll() throws Exception {
        Channel client = nettyClient.connect(nettyServer.localAddress()).sync().channel();
        Channel other = accepted.poll(10, TimeUnit.SECONDS);
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
