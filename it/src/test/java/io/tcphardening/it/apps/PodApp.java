package io.tcphardening.it.apps;

import java.io.Closeable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The application in the container tests' pods, with no knowledge of the agent: a {@code ServerSocket} and a
 * {@code ServerSocketChannel} on loopback (the pod's own: it has no other network), two {@code java.net.Socket}
 * connections and one {@code SocketChannel} connection through them, held open until the container is stopped,
 * as a service's connections are. Prints {@code CONN kind localPort remotePort} for each connection end, then
 * {@code READY}. Containers give it no standard input, so it waits for its end by sleeping.
 */
public final class PodApp {

    private PodApp() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        List<Closeable> open = new ArrayList<>();
        ServerSocket server = new ServerSocket(0, 50, loopback);
        open.add(server);
        for (int i = 0; i < 2; i++) {
            Socket client = new Socket(loopback, server.getLocalPort());
            Socket accepted = server.accept();
            open.add(client);
            open.add(accepted);
            System.out.println("CONN Socket " + client.getLocalPort() + " " + client.getPort());
            System.out.println("CONN Socket " + accepted.getLocalPort() + " " + accepted.getPort());
        }
        ServerSocketChannel channelServer = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0));
        open.add(channelServer);
        SocketChannel channel = SocketChannel.open(channelServer.getLocalAddress());
        SocketChannel accepted = channelServer.accept();
        open.add(channel);
        open.add(accepted);
        System.out.println("CONN SocketChannel " + channel.socket().getLocalPort() + " " + channel.socket().getPort());
        System.out.println("CONN SocketChannel " + accepted.socket().getLocalPort() + " " + accepted.socket().getPort());
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
