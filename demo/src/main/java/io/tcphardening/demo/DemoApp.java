package io.tcphardening.demo;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import jdk.net.ExtendedSocketOptions;

/**
 * An ordinary application that knows nothing of the agent: it opens connections of each kind the JDK offers, one of
 * them turning keepalive off the way pgjdbc does, and prints what it reads back through the JDK's own getters.
 * Run it with and without {@code -javaagent} and compare.
 */
public final class DemoApp {

    private DemoApp() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        System.out.printf("%-44s %-9s %-6s %-6s %-6s%n", "connection (as the application sees it)", "keepalive", "idle",
                "intvl", "count");

        try (ServerSocket server = new ServerSocket(0, 50, loopback)) {
            try (Socket client = new Socket(loopback, server.getLocalPort()); Socket accepted = server.accept()) {
                show("java.net.Socket, client", client);
                show("java.net.Socket, accepted by ServerSocket", accepted);
            }
            try (Socket client = new Socket(loopback, server.getLocalPort()); Socket accepted = server.accept()) {
                client.setKeepAlive(false);  // what pgjdbc does by default, right after connect
                show("java.net.Socket after setKeepAlive(false)", client);
            }
        }

        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(loopback, 0))) {
            try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
                 SocketChannel accepted = server.accept()) {
                show("SocketChannel, blocking connect", client);
                show("SocketChannel, accepted", accepted);
            }
            try (SocketChannel client = SocketChannel.open()) {
                client.configureBlocking(false);
                client.connect(server.getLocalAddress());
                while (!client.finishConnect()) {
                    Thread.sleep(1);
                }
                try (SocketChannel accepted = server.accept()) {
                    show("SocketChannel, non-blocking connect", client);
                }
            }
        }

        try (AsynchronousServerSocketChannel server = AsynchronousServerSocketChannel.open()
                .bind(new InetSocketAddress(loopback, 0));
             AsynchronousSocketChannel client = AsynchronousSocketChannel.open()) {
            client.connect(server.getLocalAddress()).get();
            try (AsynchronousSocketChannel accepted = server.accept().get()) {
                show("AsynchronousSocketChannel, client", client);
                show("AsynchronousSocketChannel, accepted", accepted);
            }
        }

        InetAddress ipv6 = ipv6Loopback();
        if (ipv6 != null) {
            try (ServerSocket server = new ServerSocket(0, 50, ipv6);
                 Socket client = new Socket(ipv6, server.getLocalPort()); Socket accepted = server.accept()) {
                show("java.net.Socket over IPv6, client", client);
            }
        }

        HttpServer http = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        http.createContext("/", exchange -> {
            byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://" + loopback.getHostAddress() + ":"
                            + http.getAddress().getPort() + "/")).build(), HttpResponse.BodyHandlers.ofString());
            System.out.printf("%-44s HTTP %d (connections of the JDK's HttpClient and HttpServer)%n",
                    "java.net.http.HttpClient -> HttpServer", response.statusCode());
        } finally {
            http.stop(0);
        }
    }

    private static InetAddress ipv6Loopback() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            return probe.getInetAddress();
        } catch (IOException e) {
            return null;
        }
    }

    private static void show(String what, Socket socket) throws IOException {
        print(what, socket.getKeepAlive(), socket.getOption(ExtendedSocketOptions.TCP_KEEPIDLE),
                socket.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL),
                socket.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT));
    }

    private static void show(String what, NetworkChannel channel) throws IOException {
        print(what, channel.getOption(StandardSocketOptions.SO_KEEPALIVE),
                get(channel, ExtendedSocketOptions.TCP_KEEPIDLE), get(channel, ExtendedSocketOptions.TCP_KEEPINTERVAL),
                get(channel, ExtendedSocketOptions.TCP_KEEPCOUNT));
    }

    private static Integer get(NetworkChannel channel, SocketOption<Integer> option) throws IOException {
        return channel.getOption(option);
    }

    private static void print(String what, boolean keepAlive, int idle, int interval, int count) {
        System.out.printf("%-44s %-9s %-6s %-6s %-6s%n", what, keepAlive, idle + "s", interval + "s", count);
    }
}
