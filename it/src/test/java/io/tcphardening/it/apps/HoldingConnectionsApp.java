package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A forked test application with no knowledge of the agent that holds TCP connections open while a test attaches to
 * it or inspects it: a {@code ServerSocket} and a {@code ServerSocketChannel} listening on loopback, and one
 * connection (client and accepted end) through each. Prints {@code LISTEN kind port}, one
 * {@code CONN kind side localPort remotePort} per connection end, then {@code READY}. Each line {@code more} on
 * standard input opens one connection more through each listener and prints them and {@code READY} again; end of
 * input ends the application.
 */
public final class HoldingConnectionsApp {

    private final InetAddress host = InetAddress.getLoopbackAddress();
    private final ServerSocket server;
    private final ServerSocketChannel serverChannel;
    private final List<AutoCloseable> open = new ArrayList<>();

    private HoldingConnectionsApp() throws Exception {
        server = new ServerSocket(0, 50, host);
        serverChannel = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0));
        System.out.println("LISTEN socket " + server.getLocalPort());
        System.out.println("LISTEN channel " + serverChannel.socket().getLocalPort());
    }

    public static void main(String[] args) throws Exception {
        HoldingConnectionsApp app = new HoldingConnectionsApp();
        app.connect();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.equals("more")) {
                app.connect();
            }
        }
        for (AutoCloseable closeable : app.open) {
            closeable.close();
        }
    }

    private void connect() throws Exception {
        Socket client = new Socket(host, server.getLocalPort());
        Socket accepted = server.accept();
        open.add(client);
        open.add(accepted);
        report("socket", "client", client.getLocalPort(), client.getPort());
        report("socket", "accepted", accepted.getLocalPort(), accepted.getPort());
        SocketChannel channel = SocketChannel.open(serverChannel.getLocalAddress());
        SocketChannel acceptedChannel = serverChannel.accept();
        open.add(channel);
        open.add(acceptedChannel);
        report("channel", "client", channel.socket().getLocalPort(), channel.socket().getPort());
        report("channel", "accepted", acceptedChannel.socket().getLocalPort(), acceptedChannel.socket().getPort());
        System.out.println("READY");
        System.out.flush();
    }

    private static void report(String kind, String side, int local, int remote) {
        System.out.println("CONN " + kind + " " + side + " " + local + " " + remote);
    }
}
