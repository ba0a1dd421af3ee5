package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.MulticastSocket;
import java.net.ProtocolFamily;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketImpl;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.Channel;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A forked test application with no knowledge of the agent, using the sockets at the edges of what the agent hooks:
 * SOCKS-proxied sockets, the application's own {@code SocketImpl} and {@code SocketImplFactory}, sockets that are
 * never connected or only bound, a {@code Socket} subclass, Unix-domain and UDP channels. It prints
 * <pre>RESULT scenario what-the-application-saw      (must not depend on the agent)
 * TCP scenario localPort                          (a TCP connection end: the test reads it from the kernel)
 * SEES scenario keepalive=true|false               (the JDK getter's view, after the application turned it off)</pre>
 * then {@code READY} and waits for a line on standard input.
 *
 * <p>{@code --inherited FILE}: reports {@code System.inheritedChannel()} instead (the test starts it with a socket as
 * its standard input), prints {@code READY pid} and waits until FILE exists.
 */
public final class OddSocketsApp {

    private final InetAddress host = InetAddress.getLoopbackAddress();
    private final List<Closeable> open = new ArrayList<>();

    private OddSocketsApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--inherited")) {
            inherited(Paths.get(args[1]));
            return;
        }
        OddSocketsApp app = new OddSocketsApp();
        for (Map.Entry<String, Scenario> scenario : app.scenarios().entrySet()) {
            try {
                scenario.getValue().run(scenario.getKey());
            } catch (Exception e) {
                result(scenario.getKey(), "threw " + e);
            }
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
        all.put("socks", name -> {
            TinySocksServer proxy = keep(new TinySocksServer(host));
            ServerSocket target = keep(new ServerSocket(0, 50, host));
            Socket client = keep(new Socket(new Proxy(Proxy.Type.SOCKS, proxy.address())));
            client.connect(new InetSocketAddress(host, target.getLocalPort()), 5_000);
            keep(target.accept());
            result(name, "connected to the target's port: " + (client.getPort() == target.getLocalPort()));
            tcp(name, client);
        });
        all.put("custom-impl", name -> {
            ServerSocket target = keep(new ServerSocket(0, 50, host));
            Socket client = keep(new Socket(new ChannelSocketImpl()) {
            });
            client.connect(new InetSocketAddress(host, target.getLocalPort()));
            keep(target.accept());
            client.getOutputStream().write(1);
            result(name, "connected and wrote");
            tcp(name, client);
        });
        all.put("custom-impl-refusing", name -> {
            Socket client = keep(new Socket(new ChannelSocketImpl() {
                @Override
                protected void connect(SocketAddress remote, int timeout) throws IOException {
                    throw new ConnectException("the application's SocketImpl refuses " + remote);
                }
            }) {
            });
            try {
                client.connect(new InetSocketAddress(host, 9));
                result(name, "connected");
            } catch (IOException e) {
                result(name, "threw " + e);
            }
        });
        all.put("unconnected", name -> {
            new Socket().close();
            Socket never = keep(new Socket());
            never.getReceiveBufferSize();  // gives it its descriptor: a TCP socket that never connects
            result(name, "never connected, bound " + never.isBound());
            Socket bound = keep(new Socket());
            bound.bind(new InetSocketAddress(host, 0));
            result(name, "bound-only " + bound.isBound() + " " + bound.isConnected());
            ServerSocket unboundServer = keep(new ServerSocket());
            result(name, "unbound server " + unboundServer.isBound());
            keep(SocketChannel.open());
            keep(ServerSocketChannel.open());
            keep(AsynchronousSocketChannel.open());
            result(name, "unconnected channels open");
        });
        all.put("subclass", name -> {
            ServerSocket target = keep(new ServerSocket(0, 50, host));
            ConnectCountingSocket client = keep(new ConnectCountingSocket());
            client.connect(new InetSocketAddress(host, target.getLocalPort()));
            keep(target.accept());
            result(name, "connects counted " + client.connects);
            tcp(name, client);
        });
        all.put("unix", this::unix);
        all.put("udp", name -> {
            DatagramChannel a = keep(DatagramChannel.open().bind(new InetSocketAddress(host, 0)));
            DatagramChannel b = keep(DatagramChannel.open().bind(new InetSocketAddress(host, 0)));
            a.connect(b.getLocalAddress());
            a.write(ByteBuffer.wrap(new byte[] {7}));
            ByteBuffer received = ByteBuffer.allocate(1);
            b.receive(received);
            DatagramSocket socket = keep(new DatagramSocket(0, host));
            socket.send(new DatagramPacket(new byte[] {8}, 1, b.getLocalAddress()));
            b.receive(received.clear());
            keep(new MulticastSocket(0));
            result(name, "datagrams received " + received.get(0));
        });
        // Last: a SocketImplFactory applies to every Socket and ServerSocket created after it, JVM-wide.
        all.put("impl-factory", name -> {
            Socket.setSocketImplFactory(ChannelSocketImpl::new);
            setServerSocketFactory();
            ServerSocket server = keep(new ServerSocket(0, 50, host));
            Socket client = keep(new Socket(host, server.getLocalPort()));
            Socket accepted = keep(server.accept());
            client.getOutputStream().write(3);
            result(name, "connected through the factory's impl, read " + accepted.getInputStream().read());
            tcp(name, client);
            tcp(name, accepted);
        });
        return all;
    }

    @SuppressWarnings("deprecation")
    private static void setServerSocketFactory() throws IOException {
        ServerSocket.setSocketFactory(ChannelSocketImpl::new);
    }

    /** Unix-domain channels, JDK 16+ (by reflection: this class is compiled for JDK 11). */
    private void unix(String name) throws Exception {
        Class<?> addressClass;
        try {
            addressClass = Class.forName("java.net.UnixDomainSocketAddress");
        } catch (ClassNotFoundException e) {
            result(name, "no Unix-domain channels on this JDK");
            return;
        }
        ProtocolFamily unix = unixFamily();
        Path dir = Files.createTempDirectory("tcph-odd");
        Path path = dir.resolve("socket");
        dir.toFile().deleteOnExit();  // registered first, deleted last
        path.toFile().deleteOnExit();
        SocketAddress address = (SocketAddress) addressClass.getMethod("of", Path.class).invoke(null, path);
        ServerSocketChannel server = keep((ServerSocketChannel) ServerSocketChannel.class
                .getMethod("open", ProtocolFamily.class).invoke(null, unix));
        server.bind(address);
        SocketChannel client = keep((SocketChannel) SocketChannel.class.getMethod("open", ProtocolFamily.class)
                .invoke(null, unix));
        client.connect(address);
        SocketChannel accepted = keep(server.accept());
        client.write(ByteBuffer.wrap(new byte[] {5}));
        ByteBuffer received = ByteBuffer.allocate(1);
        accepted.read(received);
        result(name, "received " + received.get(0));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static ProtocolFamily unixFamily() throws ClassNotFoundException {
        return (ProtocolFamily) Enum.valueOf((Class) Class.forName("java.net.StandardProtocolFamily"), "UNIX");
    }

    /** What the JVM was handed as its standard input, and that it can use it. */
    private static void inherited(Path signal) throws Exception {
        Channel channel = System.inheritedChannel();
        String kind = channel == null ? "null" : channel instanceof SocketChannel ? "SocketChannel"
                : channel instanceof ServerSocketChannel ? "ServerSocketChannel"
                : channel instanceof DatagramChannel ? "DatagramChannel" : channel.getClass().getName();
        result("inherited", kind + " open " + (channel != null && channel.isOpen()));
        if (channel instanceof SocketChannel) {
            SocketChannel socket = (SocketChannel) channel;
            result("inherited", "connected " + socket.isConnected() + ", wrote "
                    + socket.write(ByteBuffer.wrap(new byte[] {1})));
            if (socket.getRemoteAddress() instanceof InetSocketAddress) {
                System.out.println("SEES inherited keepalive=" + socket.getOption(StandardSocketOptions.SO_KEEPALIVE));
            }
        } else if (channel instanceof ServerSocketChannel) {
            result("inherited", "listening " + (((ServerSocketChannel) channel).getLocalAddress() != null));
        }
        System.out.println("READY " + ProcessHandle.current().pid());
        System.out.flush();
        while (!Files.exists(signal)) {
            Thread.sleep(10);
        }
    }

    /** A Socket subclass overriding connect, as libraries do to count or trace connections. */
    static final class ConnectCountingSocket extends Socket {
        int connects;

        @Override
        public void connect(SocketAddress endpoint, int timeout) throws IOException {
            connects++;
            super.connect(endpoint, timeout);
        }
    }

    private static void result(String scenario, String text) {
        System.out.println("RESULT " + scenario + " " + text);
    }

    /** A TCP connection end: the application turns keepalive off, as pgjdbc does, and reports what it then sees. */
    private static void tcp(String scenario, Socket socket) throws IOException {
        socket.setKeepAlive(false);
        System.out.println("TCP " + scenario + " " + socket.getLocalPort());
        System.out.println("SEES " + scenario + " keepalive=" + socket.getKeepAlive());
    }

    private <T extends Closeable> T keep(T closeable) {
        open.add(closeable);
        return closeable;
    }
}
