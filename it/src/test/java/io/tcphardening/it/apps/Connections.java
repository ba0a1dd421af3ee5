package io.tcphardening.it.apps;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import jdk.net.ExtendedSocketOptions;

/**
 * Opens a {@code java.net.Socket} and a {@code SocketChannel} connection on loopback, keeps both ends and the
 * listeners open, and reports each end through the JDK's own getters in {@link JdkConnectionsApp}'s format:
 * <pre>CONN scenario side localPort remotePort keepalive idle interval count</pre>
 */
public final class Connections {

    private static final List<Closeable> OPEN = new ArrayList<>();

    private Connections() {
    }

    public static void open(String scenario) {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try {
            ServerSocket server = keep(new ServerSocket(0, 50, loopback));
            Socket client = keep(new Socket(loopback, server.getLocalPort()));
            Socket accepted = keep(server.accept());
            report(scenario, "client", client);
            report(scenario, "accepted", accepted);
            ServerSocketChannel channelServer = keep(ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0)));
            SocketChannel channel = keep(SocketChannel.open(channelServer.getLocalAddress()));
            SocketChannel channelAccepted = keep(channelServer.accept());
            report(scenario + "-channel", "client", channel);
            report(scenario + "-channel", "accepted", channelAccepted);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Opens a connection and closes it at once: the hooks run, and nothing is left for the kernel check. */
    public static void openAndClose() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0));
             SocketChannel client = SocketChannel.open(server.getLocalAddress());
             SocketChannel accepted = server.accept();
             ServerSocket plainServer = new ServerSocket(0, 50, loopback);
             Socket plainClient = new Socket(loopback, plainServer.getLocalPort());
             Socket plainAccepted = plainServer.accept()) {
            client.getOption(StandardSocketOptions.SO_KEEPALIVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static <T extends Closeable> T keep(T closeable) {
        synchronized (OPEN) {
            OPEN.add(closeable);
        }
        return closeable;
    }

    private static void report(String scenario, String side, Socket s) throws IOException {
        print(scenario, side, s.getLocalPort(), s.getPort(), s.getKeepAlive(),
                s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE), s.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL),
                s.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
    }

    private static void report(String scenario, String side, SocketChannel c) throws IOException {
        print(scenario, side, ((InetSocketAddress) c.getLocalAddress()).getPort(),
                ((InetSocketAddress) c.getRemoteAddress()).getPort(), c.getOption(StandardSocketOptions.SO_KEEPALIVE),
                c.getOption(ExtendedSocketOptions.TCP_KEEPIDLE), c.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL),
                c.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
    }

    private static void print(String scenario, String side, int local, int remote, Object... options) {
        StringBuilder line = new StringBuilder("CONN ").append(scenario).append(' ').append(side).append(' ')
                .append(local).append(' ').append(remote);
        for (Object option : options) {
            line.append(' ').append(option);
        }
        synchronized (System.out) {
            System.out.println(line);
        }
    }
}
