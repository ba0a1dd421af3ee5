package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.NetworkChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;

/**
 * A forked test application with no knowledge of the agent: opens the connections its arguments describe, each
 * through one JDK API, to fixed ports the test chose (so that the agent's rules can name them), keeps them open and
 * reports each end through the JDK's own getters:
 * <pre>CONN id client|accepted localPort remotePort keepalive idle interval count</pre>
 * then prints {@code READY} and waits for a line on standard input, so that the test reads the kernel's values from
 * outside the process meanwhile.
 *
 * <p>A connection: {@code conn,id=ID,kind=socket|channel|async,to=ADDRESS,port=N[,before=W][,after=W][,accepted=W]}.
 * ADDRESS is {@code literal:IP} (an address without a host name), {@code resolve:NAME} (looked up, the name kept) or
 * {@code named:NAME/IP} (the name given without a look-up). W is {@code keepalive/idle/interval/count}, written through
 * the JDK's setters on the client before it connects ({@code before}) or once connected ({@code after}), and on the
 * accepted end once accepted ({@code accepted}). The listener is bound to the destination's address and port, of the
 * same API as the client.
 *
 * <p>A connect to a host that does not answer: {@code hole,id=ID,kind=socket|channel|async,port=N,bounded=true|false},
 * with no timeout of the application's own, to a loopback listener on port N whose accept queue is kept full, so that
 * the kernel drops the SYNs as a vanished host would. They all start at once, before the connections above; once the
 * {@code bounded} ones have ended (the test expects a user timeout to end them), or after 30 s, the application
 * closes what still waits. Each prints {@code HOLE id elapsedMs exception-class: message}.
 */
public final class RulesApp {

    /** Far beyond the user timeout a rule gives the bounded connects, far below the kernel's two minutes of SYNs. */
    private static final long BOUNDED_WAIT_MS = 30_000;

    private final List<Closeable> open = new ArrayList<>();
    private final Map<String, Object> listeners = new HashMap<>();

    private RulesApp() {
    }

    public static void main(String[] args) throws Exception {
        RulesApp app = new RulesApp();
        List<Hole> holes = new ArrayList<>();
        for (String arg : args) {
            if (arg.startsWith("hole,")) {
                holes.add(app.hole(fields(arg)));
            }
        }
        for (Hole hole : holes) {
            hole.thread.start();
        }
        for (String arg : args) {
            if (arg.startsWith("conn,")) {
                app.connect(fields(arg));
            }
        }
        long deadline = System.currentTimeMillis() + BOUNDED_WAIT_MS;
        for (Hole hole : holes) {
            if (hole.bounded) {
                hole.thread.join(Math.max(1, deadline - System.currentTimeMillis()));
            }
        }
        // the bounded ones too, should they still be waiting: the test reports them rather than waits for them
        for (Hole hole : holes) {
            hole.channel.close();
            hole.thread.join(10_000);
        }
        for (Hole hole : holes) {
            System.out.println("HOLE " + hole.id + " " + hole.outcome);
        }
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        for (Closeable closeable : app.open) {
            closeable.close();
        }
    }

    private static Map<String, String> fields(String arg) {
        Map<String, String> fields = new HashMap<>();
        for (String field : arg.split(",")) {
            int eq = field.indexOf('=');
            if (eq > 0) {
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
        }
        return fields;
    }

    // ---- connections

    private void connect(Map<String, String> spec) throws Exception {
        String id = spec.get("id");
        String kind = spec.get("kind");
        InetSocketAddress destination = new InetSocketAddress(address(spec.get("to")), Integer.parseInt(spec.get("port")));
        int[] before = writes(spec.get("before"));
        int[] after = writes(spec.get("after"));
        int[] acceptedAfter = writes(spec.get("accepted"));
        Object listener = listener(kind, destination);
        if (kind.equals("socket")) {
            Socket client = keep(new Socket());
            write(client, before);
            client.connect(destination);
            Socket accepted = keep(((ServerSocket) listener).accept());
            report(id, write(client, after), write(accepted, acceptedAfter));
        } else if (kind.equals("channel")) {
            SocketChannel client = keep(SocketChannel.open());
            write(client, before);
            client.connect(destination);
            SocketChannel accepted = keep(((ServerSocketChannel) listener).accept());
            report(id, write(client, after), write(accepted, acceptedAfter));
        } else {
            AsynchronousSocketChannel client = keep(AsynchronousSocketChannel.open());
            write(client, before);
            client.connect(destination).get(10, TimeUnit.SECONDS);
            AsynchronousSocketChannel accepted = keep(((AsynchronousServerSocketChannel) listener).accept()
                    .get(10, TimeUnit.SECONDS));
            report(id, write(client, after), write(accepted, acceptedAfter));
        }
    }

    /** An address as the test describes it; the host name, where there is one, is the application's to give. */
    private static InetAddress address(String description) throws Exception {
        int colon = description.indexOf(':');
        String how = description.substring(0, colon);
        String what = description.substring(colon + 1);
        switch (how) {
            case "literal":  // an IP literal: the JDK gives the address no host name
            case "resolve":
                return InetAddress.getByName(what);
            case "named":
                int slash = what.indexOf('/');
                return InetAddress.getByAddress(what.substring(0, slash),
                        InetAddress.getByName(what.substring(slash + 1)).getAddress());
            default:
                throw new IllegalArgumentException("address: literal:IP, resolve:NAME or named:NAME/IP");
        }
    }

    /** One listener per API, address and port, made at the first connection to it. */
    private Object listener(String kind, InetSocketAddress destination) throws Exception {
        // bound to the address without its name, as a server binds to an interface's address
        InetSocketAddress bind = new InetSocketAddress(InetAddress.getByAddress(destination.getAddress().getAddress()),
                destination.getPort());
        String key = kind + " " + bind;
        Object listener = listeners.get(key);
        if (listener != null) {
            return listener;
        }
        // reusable at once: the same ports serve the next JVM of the test, while this one's leave TIME_WAIT behind
        if (kind.equals("socket")) {
            ServerSocket server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(bind, 100);
            listener = keep(server);
        } else if (kind.equals("channel")) {
            listener = keep(ServerSocketChannel.open().setOption(StandardSocketOptions.SO_REUSEADDR, true)
                    .bind(bind, 100));
        } else if (kind.equals("async")) {
            listener = keep(AsynchronousServerSocketChannel.open().setOption(StandardSocketOptions.SO_REUSEADDR, true)
                    .bind(bind, 100));
        } else {
            throw new IllegalArgumentException("kind: socket, channel or async");
        }
        listeners.put(key, listener);
        return listener;
    }

    private static int[] writes(String text) {
        if (text == null) {
            return null;
        }
        String[] parts = text.split("/");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]),
                Integer.parseInt(parts[3])};
    }

    private static Socket write(Socket socket, int[] values) throws Exception {
        if (values != null) {
            socket.setKeepAlive(values[0] != 0);
            socket.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, values[1]);
            socket.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, values[2]);
            socket.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, values[3]);
        }
        return socket;
    }

    private static <T extends NetworkChannel> T write(T channel, int[] values) throws Exception {
        if (values != null) {
            channel.setOption(StandardSocketOptions.SO_KEEPALIVE, values[0] != 0);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, values[1]);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, values[2]);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, values[3]);
        }
        return channel;
    }

    // ---- connects to a host that does not answer

    private static final class Hole {
        final String id;
        final boolean bounded;
        final Closeable channel;
        final Thread thread;
        volatile String outcome = "not ended";

        Hole(String id, boolean bounded, Closeable channel, Connect connect) {
            this.id = id;
            this.bounded = bounded;
            this.channel = channel;
            this.thread = new Thread(() -> {
                long start = System.nanoTime();
                String seen;
                try {
                    connect.run();
                    seen = "connected";
                } catch (Throwable t) {
                    Throwable cause = t instanceof ExecutionException ? t.getCause() : t;
                    seen = cause.getClass().getName() + ": " + cause.getMessage();
                }
                outcome = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " " + seen;
            }, "hole-" + id);
        }
    }

    interface Connect {
        void run() throws Exception;
    }

    private Hole hole(Map<String, String> spec) throws Exception {
        InetSocketAddress destination = fullListener(Integer.parseInt(spec.get("port")));
        boolean bounded = Boolean.parseBoolean(spec.get("bounded"));
        String kind = spec.get("kind");
        if (kind.equals("socket")) {
            Socket socket = new Socket();
            return new Hole(spec.get("id"), bounded, socket, () -> socket.connect(destination));
        } else if (kind.equals("channel")) {
            SocketChannel channel = SocketChannel.open();
            return new Hole(spec.get("id"), bounded, channel, () -> channel.connect(destination));
        }
        AsynchronousSocketChannel channel = AsynchronousSocketChannel.open();
        return new Hole(spec.get("id"), bounded, channel, () -> channel.connect(destination).get());
    }

    /** A loopback listener on {@code port} that never accepts, its queue filled: further SYNs are dropped. */
    private InetSocketAddress fullListener(int port) throws Exception {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port);
        if (listeners.containsKey("hole " + port)) {
            return address;
        }
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(address, 1);
        listeners.put("hole " + port, keep(listener));
        // the kernel queues backlog + 1 handshakes; the fillers beyond that make sure of it and are left pending
        for (int i = 0; i < 4; i++) {
            SocketChannel filler = keep(SocketChannel.open());
            filler.configureBlocking(false);
            filler.connect(address);
        }
        Thread.sleep(100);
        return address;
    }

    // ---- reporting

    private <T extends Closeable> T keep(T closeable) {
        open.add(closeable);
        return closeable;
    }

    private static void report(String id, Object client, Object accepted) throws Exception {
        System.out.println(line(id, "client", client));
        System.out.println(line(id, "accepted", accepted));
    }

    private static String line(String id, String side, Object socket) throws Exception {
        if (socket instanceof Socket) {
            Socket s = (Socket) socket;
            return String.join(" ", "CONN", id, side, Integer.toString(s.getLocalPort()), Integer.toString(s.getPort()),
                    s.getKeepAlive() ? "1" : "0", String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)),
                    String.valueOf(s.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)));
        }
        NetworkChannel channel = (NetworkChannel) socket;
        InetSocketAddress remote = (InetSocketAddress) (channel instanceof SocketChannel
                ? ((SocketChannel) channel).getRemoteAddress() : ((AsynchronousSocketChannel) channel).getRemoteAddress());
        return String.join(" ", "CONN", id, side,
                Integer.toString(((InetSocketAddress) channel.getLocalAddress()).getPort()),
                Integer.toString(remote.getPort()), channel.getOption(StandardSocketOptions.SO_KEEPALIVE) ? "1" : "0",
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPIDLE)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPINTERVAL)),
                String.valueOf(channel.getOption(ExtendedSocketOptions.TCP_KEEPCOUNT)));
    }
}
