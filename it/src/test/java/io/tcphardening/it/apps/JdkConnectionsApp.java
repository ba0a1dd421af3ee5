package io.tcphardening.it.apps;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketImpl;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.nio.channels.DatagramChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.SocketFactory;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSocketFactory;
import jdk.net.ExtendedSocketOptions;

/**
 * A forked test application with no knowledge of the agent: it opens every kind of TCP connection the JDK offers
 * (the agent's coverage list), keeps them open, and reports each through the JDK's own getters:
 * <pre>CONN scenario side localPort remotePort keepalive idle interval count</pre>
 * then prints {@code READY} and waits for a line on standard input before exiting, so that the test can read the
 * kernel's values from outside the process meanwhile.
 *
 * <p>Arguments: scenario names, or none for all. {@code --weak-before} / {@code --weak-after}: the application sets
 * the kernel's weak defaults itself, before or after connecting (and on accepted sockets), as pgjdbc, Vert.x and
 * Lettuce do; {@code --idle-77}: after connecting, the application sets only TCP_KEEPIDLE to 77 s.
 */
public final class JdkConnectionsApp {

    private final List<Closeable> open = new ArrayList<>();
    private final InetAddress host;
    private final String weak;

    private JdkConnectionsApp(InetAddress host, String weak) {
        this.host = host;
        this.weak = weak;
    }

    public static void main(String[] args) throws Exception {
        List<String> names = new ArrayList<>();
        String weak = "";
        boolean ipv6 = false;
        for (String arg : args) {
            if (arg.startsWith("--weak-") || arg.equals("--idle-77")) {
                weak = arg;
            } else if (arg.equals("--ipv6")) {
                ipv6 = true;
            } else {
                names.add(arg);
            }
        }
        InetAddress host = ipv6 ? InetAddress.getByName("::1") : InetAddress.getLoopbackAddress();
        JdkConnectionsApp app = new JdkConnectionsApp(host, weak);
        Map<String, Scenario> scenarios = app.scenarios();
        for (String name : names.isEmpty() ? new ArrayList<>(scenarios.keySet()) : names) {
            Scenario scenario = scenarios.get(name);
            if (scenario == null) {
                throw new IllegalArgumentException("no scenario " + name + "; known: " + scenarios.keySet());
            }
            scenario.run(name);
        }
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        for (Closeable closeable : app.open) {
            closeable.close();
        }
    }

    interface Scenario {
        void run(String name) throws Exception;
    }

    private Map<String, Scenario> scenarios() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("socket-constructor", name -> {
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket client = keep(weakBefore(new Socket()));
            client.connect(new InetSocketAddress(host, server.getLocalPort()));
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("socket-connecting-constructor", name -> {
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket client = keep(new Socket(host, server.getLocalPort()));
            weakAfter(client);
            report(name, client, keep(weakAfter(server.accept())));
        });
        all.put("socket-connect-timeout", name -> {
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket client = keep(weakBefore(new Socket()));
            client.connect(new InetSocketAddress(host, server.getLocalPort()), 5_000);
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("socket-factory", name -> {
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket client = keep(SocketFactory.getDefault().createSocket(host, server.getLocalPort()));
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("ssl-socket", name -> {
            // TCP is established before any handshake, so no certificate is needed to harden both ends.
            ServerSocket server = keep(SSLServerSocketFactory.getDefault().createServerSocket(0, 50, host));
            Socket client = keep(SSLSocketFactory.getDefault().createSocket(host, server.getLocalPort()));
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("ssl-layered-socket", name -> {
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket plain = keep(new Socket(host, server.getLocalPort()));
            Socket layered = keep(((SSLSocketFactory) SSLSocketFactory.getDefault())
                    .createSocket(plain, host.getHostAddress(), server.getLocalPort(), true));
            report(name, weakAfter(layered), keep(weakAfter(server.accept())));
        });
        all.put("server-socket-subclass", name -> {
            ServerSocket server = keep(new ImplAcceptServerSocket(host));
            Socket client = keep(new Socket(host, server.getLocalPort()));
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("socket-channel-open-remote", name -> {
            ServerSocketChannel server = keep(ServerSocketChannel.open().bind(new InetSocketAddress(host, 0)));
            SocketChannel client = keep(SocketChannel.open(server.getLocalAddress()));
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("socket-channel-blocking", name -> {
            ServerSocketChannel server = keep(ServerSocketChannel.open().bind(new InetSocketAddress(host, 0)));
            SocketChannel client = keep(weakBefore(SocketChannel.open()));
            client.connect(server.getLocalAddress());
            report(name, weakAfter(client), keep(weakAfter(server.accept())));
        });
        all.put("socket-channel-non-blocking", name -> {
            ServerSocketChannel server = keep(ServerSocketChannel.open().bind(new InetSocketAddress(host, 0)));
            server.configureBlocking(false);
            SocketChannel client = keep(weakBefore(SocketChannel.open()));
            client.configureBlocking(false);
            client.connect(server.getLocalAddress());
            SocketChannel accepted = null;
            while (!client.finishConnect() || accepted == null) {
                if (accepted == null) {
                    accepted = server.accept();
                }
                Thread.sleep(1);
            }
            report(name, weakAfter(client), keep(weakAfter(accepted)));
        });
        all.put("socket-adaptors", name -> {
            ServerSocketChannel server = keep(ServerSocketChannel.open());
            server.socket().bind(new InetSocketAddress(host, 0));
            SocketChannel client = keep(SocketChannel.open());
            weakBefore(client.socket());
            client.socket().connect(server.getLocalAddress(), 5_000);
            report(name, weakAfter(client.socket()), keep(weakAfter(server.socket().accept())));
        });
        all.put("async-future", name -> {
            AsynchronousServerSocketChannel server = keep(AsynchronousServerSocketChannel.open()
                    .bind(new InetSocketAddress(host, 0)));
            AsynchronousSocketChannel client = keep(weakBefore(AsynchronousSocketChannel.open()));
            client.connect(server.getLocalAddress()).get(5, TimeUnit.SECONDS);
            report(name, weakAfter(client), keep(weakAfter(server.accept().get(5, TimeUnit.SECONDS))));
        });
        all.put("async-handler", name -> {
            AsynchronousServerSocketChannel server = keep(AsynchronousServerSocketChannel.open()
                    .bind(new InetSocketAddress(host, 0)));
            CompletableFuture<AsynchronousSocketChannel> accepted = new CompletableFuture<>();
            server.accept(null, handler(accepted));
            AsynchronousSocketChannel client = keep(AsynchronousSocketChannel.open());
            CompletableFuture<Void> connected = new CompletableFuture<>();
            client.connect(server.getLocalAddress(), null, new CompletionHandler<Void, Void>() {
                @Override
                public void completed(Void result, Void attachment) {
                    connected.complete(null);
                }

                @Override
                public void failed(Throwable exc, Void attachment) {
                    connected.completeExceptionally(exc);
                }
            });
            connected.get(5, TimeUnit.SECONDS);
            report(name, weakAfter(client), keep(weakAfter(accepted.get(5, TimeUnit.SECONDS))));
        });
        all.put("virtual-thread", name -> {
            // JDK 21+: connect and accept from virtual threads; skipped where the JDK has none.
            Object builder;
            try {
                builder = Thread.class.getMethod("ofVirtual").invoke(null);
            } catch (NoSuchMethodException e) {
                System.out.println("SKIP " + name + " no virtual threads on JDK " + Runtime.version().feature());
                return;
            }
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            CompletableFuture<Socket[]> pair = new CompletableFuture<>();
            Runnable task = () -> {
                try {
                    Socket client = keep(new Socket(host, server.getLocalPort()));
                    pair.complete(new Socket[] {client, keep(server.accept())});
                } catch (Throwable t) {
                    pair.completeExceptionally(t);
                }
            };
            Thread thread = (Thread) Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class)
                    .invoke(builder, task);
            thread.join(5_000);
            Socket[] sockets = pair.get(5, TimeUnit.SECONDS);
            report(name, weakAfter(sockets[0]), weakAfter(sockets[1]));
        });
        all.put("http-clients", name -> {
            // HttpURLConnection (java.net.Socket) and java.net.http (SocketChannel) against the JDK's HttpServer
            // (ServerSocketChannel); their pooled connections stay open for the kernel check of every socket.
            HttpServer http = HttpServer.create(new InetSocketAddress(host, 0), 0);
            // requests that carried a W3C trace context: a tracing agent's instrumentation at work
            java.util.concurrent.atomic.AtomicInteger traced = new java.util.concurrent.atomic.AtomicInteger();
            http.createContext("/", exchange -> {
                if (exchange.getRequestHeaders().containsKey("traceparent")) {
                    traced.incrementAndGet();
                }
                byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            http.start();
            open.add(() -> http.stop(0));
            String base = "http://" + (host.getHostAddress().contains(":") ? "[" + host.getHostAddress() + "]"
                    : host.getHostAddress()) + ":" + http.getAddress().getPort() + "/";
            HttpURLConnection connection = (HttpURLConnection) new URL(base).openConnection();
            connection.getInputStream().readAllBytes();
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(base)).build(), HttpResponse.BodyHandlers.ofString());
            System.out.println("HTTP " + name + " " + connection.getResponseCode() + " " + response.statusCode()
                    + " traced " + traced);
        });
        all.put("not-tcp", new Scenario() {
            @Override
            @SuppressWarnings({"unchecked", "rawtypes"})
            public void run(String name) throws Exception {
                notTcp(name);
            }
        });
        return all;
    }

    private void notTcp(String name) throws Exception {
        {
            // Left alone without error: UDP, and Unix-domain channels where the JDK has them (16+).
            DatagramChannel udp = keep(DatagramChannel.open());
            udp.bind(new InetSocketAddress(host, 0));
            try {
                Class<?> family = Class.forName("java.net.StandardProtocolFamily");
                Object unix = unixFamily(family);
                Object path = java.nio.file.Files.createTempDirectory("tcph").resolve("s");
                SocketAddress address = (SocketAddress) Class.forName("java.net.UnixDomainSocketAddress")
                        .getMethod("of", java.nio.file.Path.class).invoke(null, path);
                ServerSocketChannel server = keep((ServerSocketChannel) ServerSocketChannel.class
                        .getMethod("open", java.net.ProtocolFamily.class).invoke(null, unix));
                server.bind(address);
                SocketChannel client = keep(SocketChannel.open(address));
                keep(server.accept());
                client.write(ByteBuffer.wrap(new byte[] {1}));
                System.out.println("UNIX " + name + " connected");
            } catch (ClassNotFoundException | NoSuchMethodException | IllegalArgumentException e) {
                System.out.println("SKIP " + name + " no Unix-domain channels on JDK " + Runtime.version().feature());
            }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object unixFamily(Class<?> family) {
        return Enum.valueOf((Class) family, "UNIX");
    }

    private static CompletionHandler<AsynchronousSocketChannel, Void> handler(
            CompletableFuture<AsynchronousSocketChannel> future) {
        return new CompletionHandler<AsynchronousSocketChannel, Void>() {
            @Override
            public void completed(AsynchronousSocketChannel result, Void attachment) {
                future.complete(result);
            }

            @Override
            public void failed(Throwable exc, Void attachment) {
                future.completeExceptionally(exc);
            }
        };
    }

    /** A ServerSocket subclass that accepts into its own Socket subclass through implAccept. */
    static final class ImplAcceptServerSocket extends ServerSocket {
        ImplAcceptServerSocket(InetAddress host) throws IOException {
            super(0, 50, host);
        }

        @Override
        public Socket accept() throws IOException {
            Socket socket = new Socket((SocketImpl) null) {
            };
            implAccept(socket);
            return socket;
        }
    }

    // ---- the application's own option writes

    private <T extends Socket> T weakBefore(T socket) throws IOException {
        if (weak.equals("--weak-before")) {
            setWeak(socket);
        }
        return socket;
    }

    private <T extends NetworkChannel> T weakBefore(T channel) throws IOException {
        if (weak.equals("--weak-before")) {
            setWeak(channel);
        }
        return channel;
    }

    private Socket weakAfter(Socket socket) throws IOException {
        if (weak.equals("--weak-after")) {
            setWeak(socket);
        } else if (weak.equals("--idle-77")) {
            socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 77);
        }
        return socket;
    }

    private <T extends NetworkChannel> T weakAfter(T channel) throws IOException {
        if (weak.equals("--weak-after")) {
            setWeak(channel);
        } else if (weak.equals("--idle-77")) {
            channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 77);
        }
        return channel;
    }

    private static void setWeak(Socket socket) throws IOException {
        socket.setKeepAlive(false);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 7200);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, 75);
        socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, 9);
    }

    private static void setWeak(NetworkChannel channel) throws IOException {
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, false);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, 7200);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, 75);
        channel.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, 9);
    }

    // ---- reporting

    private <T extends Closeable> T keep(T closeable) {
        synchronized (open) {
            open.add(closeable);
        }
        return closeable;
    }

    private static void report(String name, Object client, Object accepted) throws IOException {
        System.out.println(line(name, "client", client));
        System.out.println(line(name, "accepted", accepted));
    }

    private static String line(String name, String side, Object socket) throws IOException {
        if (socket instanceof Socket) {
            Socket s = (Socket) socket;
            return String.join(" ", "CONN", name, side, Integer.toString(s.getLocalPort()),
                    Integer.toString(s.getPort()), Boolean.toString(s.getKeepAlive()),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)));
        }
        NetworkChannel channel = (NetworkChannel) socket;
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) (channel instanceof SocketChannel
                ? ((SocketChannel) channel).getRemoteAddress() : ((AsynchronousSocketChannel) channel).getRemoteAddress());
        return String.join(" ", "CONN", name, side, Integer.toString(local.getPort()),
                Integer.toString(remote.getPort()), String.valueOf(channel.getOption(StandardSocketOptions.SO_KEEPALIVE)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)));
    }

}
