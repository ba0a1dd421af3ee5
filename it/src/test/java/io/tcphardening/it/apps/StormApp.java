package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A forked test application with no knowledge of the agent: threads that open and close loopback connections as fast
 * as they can — java.net.Socket, SocketChannel and AsynchronousSocketChannel in turn; one connection in five turns
 * keepalive off itself, as pgjdbc does — against a server whose acceptors close each connection at once (so that
 * TIME_WAIT stays on the server's side and the clients never run out of ports).
 *
 * <p>Arguments: seconds, threads, and {@code --virtual} to run as many virtual threads alongside (JDK 21+), for the
 * same seconds; {@code --unattended} to run without the pauses below. It warms up, prints {@code WARM} and waits for
 * a line on standard input (the test measures descriptors and the heap), storms, then settles (see {@link #settle}),
 * prints {@code QUIET connections=N} and waits again. Exceptions the application saw are printed as
 * {@code SEEN count class: message}; threads still running 30 s after the storm's end as {@code STUCK} with their
 * stacks, and the exit status is then 3.
 */
public final class StormApp {

    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    private final InetSocketAddress server;
    private final AtomicLong connections = new AtomicLong();
    private final Map<String, AtomicLong> seen = new ConcurrentHashMap<>();
    private volatile long deadline;

    private StormApp(InetSocketAddress server) {
        this.server = server;
    }

    public static void main(String[] args) throws Exception {
        int seconds = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        boolean virtual = List.of(args).contains("--virtual");
        boolean unattended = List.of(args).contains("--unattended");
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));
        ServerSocket listener = new ServerSocket(0, 4096, HOST);
        for (int i = 0; i < 2; i++) {
            Thread acceptor = new Thread(() -> acceptAndClose(listener), "acceptor-" + i);
            acceptor.setDaemon(true);
            acceptor.start();
        }
        StormApp app = new StormApp((InetSocketAddress) listener.getLocalSocketAddress());

        app.storm(1, threads, virtual);  // warm-up: every class loaded, every lazy structure created
        app.settle();
        if (!unattended) {
            pause("WARM", stdin);
        }
        long before = app.connections.get();
        app.storm(seconds, threads, virtual);
        app.settle();
        for (Map.Entry<String, AtomicLong> kind : new TreeMap<>(app.seen).entrySet()) {
            System.out.println("SEEN " + kind.getValue() + " " + kind.getKey());
        }
        String quiet = "QUIET connections=" + (app.connections.get() - before);
        if (unattended) {
            System.out.println(quiet);
        } else {
            pause(quiet, stdin);
        }
        listener.close();
    }

    private static void pause(String line, BufferedReader stdin) throws IOException {
        System.out.println(line);
        System.out.flush();
        stdin.readLine();
    }

    private static void acceptAndClose(ServerSocket listener) {
        while (true) {
            try {
                listener.accept().close();
            } catch (IOException e) {
                if (listener.isClosed()) {
                    return;
                }
            }
        }
    }

    private void storm(int seconds, int threads, boolean virtual) throws Exception {
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread worker = new Thread(this::work, "storm-" + i);
            worker.start();
            workers.add(worker);
            if (virtual) {
                workers.add(startVirtual(this::work));
            }
        }
        long stuckAfter = deadline + TimeUnit.SECONDS.toNanos(30);
        for (Thread worker : workers) {
            worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(stuckAfter - System.nanoTime())));
        }
        boolean stuck = false;
        for (Thread worker : workers) {
            if (worker.isAlive()) {
                stuck = true;
                System.out.println("STUCK " + worker);
                for (StackTraceElement frame : worker.getStackTrace()) {
                    System.out.println("STUCK     at " + frame);
                }
            }
        }
        if (stuck) {
            System.out.flush();
            System.exit(3);
        }
    }

    /** JDK 21+, by reflection: this class is compiled for JDK 11. */
    private static Thread startVirtual(Runnable task) throws ReflectiveOperationException {
        Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
        return (Thread) Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class)
                .invoke(builder, task);
    }

    private void work() {
        byte[] sink = new byte[16];
        for (long n = 0; System.nanoTime() - deadline < 0; n++) {
            boolean weak = n % 5 == 0;
            try {
                switch ((int) (n % 3)) {
                    case 0:
                        try (Socket socket = new Socket()) {
                            socket.connect(server);
                            if (weak) {
                                socket.setKeepAlive(false);
                            }
                            InputStream in = socket.getInputStream();
                            while (in.read(sink) >= 0) {
                                // until the server has closed
                            }
                        }
                        break;
                    case 1:
                        try (SocketChannel channel = SocketChannel.open(server)) {
                            if (weak) {
                                channel.setOption(StandardSocketOptions.SO_KEEPALIVE, false);
                            }
                            while (channel.read(ByteBuffer.wrap(sink)) >= 0) {
                                // until the server has closed
                            }
                        }
                        break;
                    default:
                        try (AsynchronousSocketChannel channel = AsynchronousSocketChannel.open()) {
                            channel.connect(server).get(10, TimeUnit.SECONDS);
                            if (weak) {
                                channel.setOption(StandardSocketOptions.SO_KEEPALIVE, false);
                            }
                            while (channel.read(ByteBuffer.wrap(sink)).get(10, TimeUnit.SECONDS) >= 0) {
                                // until the server has closed
                            }
                        }
                }
                connections.incrementAndGet();
            } catch (Exception e) {
                Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                seen.computeIfAbsent(cause.getClass().getName() + ": " + cause.getMessage(), k -> new AtomicLong())
                        .incrementAndGet();
            }
        }
    }

    /**
     * No connection in flight, and the garbage of the storm collectable: two collections, each followed by a
     * connection whose keepalive the application turns off (the agent notes replaced values in a weak map, which
     * drops the entries of collected sockets when it is next used).
     */
    private void settle() throws Exception {
        for (int i = 0; i < 2; i++) {
            System.gc();
            Thread.sleep(200);
            try (Socket socket = new Socket(server.getAddress(), server.getPort())) {
                socket.setKeepAlive(false);
            }
        }
    }
}
