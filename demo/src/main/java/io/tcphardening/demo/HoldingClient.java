package io.tcphardening.demo;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The application that must learn its peer is gone. For each kind of {@link Connection} it holds two connections to
 * the {@link HoldingServer}: one idle (a read waiting for a message that never comes) and one busy (writing a
 * kilobyte every 100 ms). Given {@code rules} after the server's address, it holds instead the rules scene's
 * connections: an idle and a busy {@code java.net.Socket} to each {@link Service}. It knows nothing of the agent; it
 * only reports what it sees:
 * <pre>
 * READY                          all connections are up and the busy ones are writing
 * (stdin) PULLED                 the cable was just pulled: the clock starts
 * FAILED kind state ms message   the application learned the connection is dead, ms after the pull
 * (stdin) END                    the window is over
 * WAITING kind state             still waiting, as far as the application knows
 * </pre>
 */
public final class HoldingClient {

    private static final byte[] KILOBYTE = new byte[1024];

    private final Map<String, String> failures = new ConcurrentHashMap<>();
    private volatile long pulledAt;

    private HoldingClient() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress server = InetAddress.getByName(args[0]);
        boolean rules = args.length > 1 && args[1].equals("rules");
        HoldingClient client = new HoldingClient();
        List<String> held = new ArrayList<>();
        if (rules) {
            for (Connection.State state : Connection.State.values()) {
                for (Service service : Service.values()) {
                    client.socket(server, service.port, service.name(), state);
                    held.add(key(service.name(), state));
                }
            }
        } else {
            EventLoopGroup netty = new EpollEventLoopGroup(1);
            for (Connection.State state : Connection.State.values()) {
                client.socket(server, Connection.SOCKET.port, Connection.SOCKET.name(), state);
                client.socketChannel(server, state);
                client.asyncChannel(server, state);
                client.nettyEpoll(netty, server, state);
                for (Connection kind : Connection.values()) {
                    held.add(key(kind.name(), state));
                }
            }
        }
        System.out.println("READY");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("PULLED")) {
                client.pulledAt = System.nanoTime();
            } else if (line.equals("END")) {
                break;
            }
        }
        for (String connection : held) {
            if (!client.failures.containsKey(connection)) {
                System.out.println("WAITING " + connection);
            }
        }
        System.out.flush();
        System.exit(0);
    }

    private static String key(String name, Connection.State state) {
        return name + " " + state;
    }

    /** The application learned the connection is dead: reported once per connection. */
    private void failed(String name, Connection.State state, Throwable cause) {
        if (pulledAt != 0 && failures.putIfAbsent(key(name, state), "") == null) {
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pulledAt);
            synchronized (System.out) {
                System.out.println("FAILED " + name + " " + state + " " + ms + " " + String.valueOf(cause)
                        .replace('\n', ' '));
                System.out.flush();
            }
        }
    }

    private void socket(InetAddress server, int port, String name, Connection.State state) throws Exception {
        Socket socket = new Socket(server, port);
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        thread(() -> {
            int read = in.read();
            throw new java.io.EOFException("read returned " + read);
        }, name, state);
        if (state == Connection.State.BUSY) {
            thread(() -> {
                while (true) {
                    out.write(KILOBYTE);
                    Thread.sleep(100);
                }
            }, name, state);
        }
    }

    private void socketChannel(InetAddress server, Connection.State state) throws Exception {
        SocketChannel channel = SocketChannel.open(new InetSocketAddress(server, Connection.SOCKET_CHANNEL.port));
        thread(() -> {
            int read = channel.read(ByteBuffer.allocate(1));
            throw new java.io.EOFException("read returned " + read);
        }, Connection.SOCKET_CHANNEL.name(), state);
        if (state == Connection.State.BUSY) {
            thread(() -> {
                while (true) {
                    channel.write(ByteBuffer.wrap(KILOBYTE));
                    Thread.sleep(100);
                }
            }, Connection.SOCKET_CHANNEL.name(), state);
        }
    }

    private void asyncChannel(InetAddress server, Connection.State state) throws Exception {
        AsynchronousSocketChannel channel = AsynchronousSocketChannel.open();
        channel.connect(new InetSocketAddress(server, Connection.ASYNC_CHANNEL.port)).get();
        channel.read(ByteBuffer.allocate(1), null, new CompletionHandler<Integer, Void>() {
            @Override
            public void completed(Integer read, Void attachment) {
                HoldingClient.this.failed(Connection.ASYNC_CHANNEL.name(), state,
                        new java.io.EOFException("read returned " + read));
            }

            @Override
            public void failed(Throwable exc, Void attachment) {
                HoldingClient.this.failed(Connection.ASYNC_CHANNEL.name(), state, exc);
            }
        });
        if (state == Connection.State.BUSY) {
            thread(() -> {
                // One write at a time: the reader above is the channel's only pending read.
                while (true) {
                    channel.write(ByteBuffer.wrap(KILOBYTE)).get();
                    Thread.sleep(100);
                }
            }, Connection.ASYNC_CHANNEL.name(), state);
        }
    }

    private void nettyEpoll(EventLoopGroup group, InetAddress server, Connection.State state) throws Exception {
        Channel channel = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void exceptionCaught(ChannelHandlerContext context, Throwable cause) {
                        failed(Connection.NETTY_EPOLL.name(), state, cause);
                        context.close();
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext context) {
                        failed(Connection.NETTY_EPOLL.name(), state, new java.io.EOFException("channel inactive"));
                    }
                }).connect(server, Connection.NETTY_EPOLL.port).sync().channel();
        if (state == Connection.State.BUSY) {
            channel.eventLoop().scheduleAtFixedRate(() -> {
                if (channel.isActive()) {
                    channel.writeAndFlush(Unpooled.wrappedBuffer(KILOBYTE));
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
        }
    }

    interface Body {
        void run() throws Exception;
    }

    private void thread(Body body, String name, Connection.State state) {
        Thread thread = new Thread(() -> {
            try {
                body.run();
            } catch (Exception e) {
                failed(name, state, e);
            }
        }, name + "-" + state);
        thread.setDaemon(true);
        thread.start();
    }
}
