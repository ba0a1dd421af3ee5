package io.tcphardening.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * The peer that will vanish: one listener per connection kind on {@link Connection#port} and one per {@link Service}
 * of the rules scene, reading and discarding whatever arrives (so that before the cable is pulled, data is
 * acknowledged) and never writing. Prints {@code LISTENING} when all listeners are up. Knows nothing of the agent.
 */
public final class HoldingServer {

    private HoldingServer() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress address = InetAddress.getByName(args[0]);
        socketServer(address, Connection.SOCKET.port);
        for (Service service : Service.values()) {
            socketServer(address, service.port);
        }
        ServerSocketChannel channelServer = ServerSocketChannel.open()
                .bind(new InetSocketAddress(address, Connection.SOCKET_CHANNEL.port));
        daemon(() -> {
            while (true) {
                SocketChannel channel = channelServer.accept();
                daemon(() -> {
                    ByteBuffer buffer = ByteBuffer.allocate(65536);
                    while (channel.read(buffer.clear()) >= 0) {
                        // discard
                    }
                });
            }
        });
        AsynchronousServerSocketChannel asyncServer = AsynchronousServerSocketChannel.open()
                .bind(new InetSocketAddress(address, Connection.ASYNC_CHANNEL.port));
        asyncServer.accept(null, new CompletionHandler<AsynchronousSocketChannel, Void>() {
            @Override
            public void completed(AsynchronousSocketChannel channel, Void attachment) {
                asyncServer.accept(null, this);
                daemon(() -> {
                    ByteBuffer buffer = ByteBuffer.allocate(65536);
                    while (channel.read(buffer.clear()).get() >= 0) {
                        // discard
                    }
                });
            }

            @Override
            public void failed(Throwable exc, Void attachment) {
            }
        });
        new ServerBootstrap().group(new EpollEventLoopGroup(1)).channel(EpollServerSocketChannel.class)
                .childHandler(new Discard()).bind(address, Connection.NETTY_EPOLL.port).sync();
        System.out.println("LISTENING");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static void socketServer(InetAddress address, int port) throws IOException {
        ServerSocket server = new ServerSocket(port, 50, address);
        daemon(() -> {
            while (true) {
                Socket socket = server.accept();
                daemon(() -> drain(socket.getInputStream()));
            }
        });
    }

    /** Reads and releases everything. */
    @ChannelHandler.Sharable
    static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext context, Object message) {
            ((ByteBuf) message).release();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
            context.close();
        }
    }

    interface Body {
        void run() throws Exception;
    }

    static void daemon(Body body) {
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } catch (Exception ignored) {
                // a connection ended; the demo watches the client
            }
        });
        thread.setDaemon(true);
        thread.start();
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buffer = new byte[65536];
        while (in.read(buffer) >= 0) {
            // discard
        }
    }
}
