package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;

/**
 * A forked application with no knowledge of the agent, for the MBean test. Prints {@code READY}; on the line
 * {@code connect} it opens a known set of connections and keeps them open, reports each TCP end through the JDK's
 * getters, {@code CONN kind direction localPort remotePort keepalive idle}, and prints {@code DONE}; it exits at the
 * end of its input. The set:
 * <ul>
 *   <li>two {@code java.net.Socket} connections accepted by a {@code ServerSocket}; the first client then turns
 *   keepalive off itself (one application value for the agent to replace);</li>
 *   <li>one {@code SocketChannel} connection accepted by a {@code ServerSocketChannel}; the accepted channel then sets
 *   TCP_KEEPIDLE to 7200 s itself (a second one);</li>
 *   <li>one {@code AsynchronousSocketChannel} connection, both ends asynchronous;</li>
 *   <li>one Unix-domain {@code SocketChannel} connection, both ends: not TCP.</li>
 * </ul>
 */
public final class CountedConnectionsApp {

    private final List<Closeable> open = new ArrayList<>();
    private final InetAddress host = InetAddress.getLoopbackAddress();

    private CountedConnectionsApp() {
    }

    public static void main(String[] args) throws Exception {
        CountedConnectionsApp app = new CountedConnectionsApp();
        System.out.println("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("connect")) {
                app.connect();
                System.out.println("DONE");
            }
        }
        for (Closeable closeable : app.open) {
            closeable.close();
        }
    }

    private void connect() throws Exception {
        ServerSocket server = keep(new ServerSocket(0, 50, host));
        for (int i = 0; i < 2; i++) {
            Socket client = keep(new Socket(host, server.getLocalPort()));
            Socket accepted = keep(server.accept());
            if (i == 0) {
                client.setKeepAlive(false);
            }
            report("Socket", client, accepted);
        }

        ServerSocketChannel channelServer = keep(ServerSocketChannel.open().bind(new InetSocketAddress(host, 0)));
        SocketChannel channel = keep(SocketChannel.open(channelServer.getLocalAddress()));
        SocketChannel acceptedChannel = keep(channelServer.accept());
        acceptedChannel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 7200);
        report("SocketChannel", channel, acceptedChannel);

        AsynchronousServerSocketChannel asyncServer = keep(AsynchronousServerSocketChannel.open()
                .bind(new InetSocketAddress(host, 0)));
        AsynchronousSocketChannel async = keep(AsynchronousSocketChannel.open());
        async.connect(asyncServer.getLocalAddress()).get(10, TimeUnit.SECONDS);
        report("AsynchronousSocketChannel", async, keep(asyncServer.accept().get(10, TimeUnit.SECONDS)));

        // Unix-domain channels: JDK 16 and later, reached by reflection so that this compiles for JDK 11.
        if (Runtime.version().feature() < 16) {
            System.out.println("UNIX none on JDK " + Runtime.version().feature());
            return;
        }
        ProtocolFamily unix = StandardProtocolFamily.valueOf("UNIX");
        SocketAddress path = (SocketAddress) Class.forName("java.net.UnixDomainSocketAddress")
                .getMethod("of", java.nio.file.Path.class)
                .invoke(null, Files.createTempDirectory("tcph-counted").resolve("socket"));
        ServerSocketChannel unixServer = keep((ServerSocketChannel) ServerSocketChannel.class
                .getMethod("open", ProtocolFamily.class).invoke(null, unix));
        unixServer.bind(path);
        keep((SocketChannel) SocketChannel.class.getMethod("open", SocketAddress.class).invoke(null, path));
        keep(unixServer.accept());
        System.out.println("UNIX connected");
    }

    private <T extends Closeable> T keep(T closeable) {
        open.add(closeable);
        return closeable;
    }

    private static void report(String kind, Object client, Object accepted) throws Exception {
        System.out.println(line(kind, "connect", client));
        System.out.println(line(kind, "accept", accepted));
    }

    private static String line(String kind, String direction, Object socket) throws Exception {
        if (socket instanceof Socket) {
            Socket s = (Socket) socket;
            return String.join(" ", "CONN", kind, direction, Integer.toString(s.getLocalPort()),
                    Integer.toString(s.getPort()), Boolean.toString(s.getKeepAlive()),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)));
        }
        NetworkChannel channel = (NetworkChannel) socket;
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) (channel instanceof SocketChannel
                ? ((SocketChannel) channel).getRemoteAddress() : ((AsynchronousSocketChannel) channel).getRemoteAddress());
        return String.join(" ", "CONN", kind, direction, Integer.toString(local.getPort()),
                Integer.toString(remote.getPort()), String.valueOf(channel.getOption(StandardSocketOptions.SO_KEEPALIVE)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)));
    }
}
