package io.tcphardening.it.apps;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A forked test application with no knowledge of the agent: connects that fail, through every JDK API, and prints
 * what the application saw, one line per scenario:
 * <pre>OUTCOME scenario exception-class: message [interrupted]</pre>
 * Refused: a closed loopback port. Timed out and interrupted: a loopback listener whose accept queue is full, so
 * that the kernel drops further SYNs, as a host that has vanished does. Unreachable ({@code --unreachable}, run in a
 * network namespace with nothing but loopback): a link-local address with no route.
 *
 * <p>Every timeout here is far shorter than any user_timeout the test configures: TCP_USER_TIMEOUT set before the
 * connect bounds SYN retries too, so a connect with no timeout of its own ends earlier with the agent, on purpose
 * (see {@code --black-hole-no-timeout}).
 */
public final class ConnectFailuresApp {

    private static final InetAddress HOST = InetAddress.getLoopbackAddress();
    private static final long INTERRUPT_AFTER_MS = 150;

    private final InetSocketAddress refused;
    private final InetSocketAddress blackHole;
    private final List<Closeable> fillers = new ArrayList<>();

    private ConnectFailuresApp() throws Exception {
        try (ServerSocket closed = new ServerSocket(0, 50, HOST)) {
            refused = new InetSocketAddress(HOST, closed.getLocalPort());
        }
        ServerSocket listener = new ServerSocket(0, 1, HOST);
        fillers.add(listener);
        blackHole = new InetSocketAddress(HOST, listener.getLocalPort());
        // Never accepted: once backlog + 1 handshakes wait in the accept queue, the kernel drops further SYNs.
        for (int i = 0; i < 4; i++) {
            SocketChannel filler = SocketChannel.open();
            filler.configureBlocking(false);
            filler.connect(blackHole);
            fillers.add(filler);
        }
        Thread.sleep(100);
    }

    public static void main(String[] args) throws Exception {
        ConnectFailuresApp app = new ConnectFailuresApp();
        Map<String, Scenario> scenarios = List.of(args).contains("--unreachable") ? app.unreachable()
                : List.of(args).contains("--black-hole-no-timeout") ? app.blackHoleWithoutTimeout() : app.scenarios();
        for (Map.Entry<String, Scenario> scenario : scenarios.entrySet()) {
            String outcome;
            try {
                scenario.getValue().run();
                outcome = "no exception";
            } catch (Throwable t) {
                Throwable seen = t instanceof ExecutionException ? t.getCause() : t;
                outcome = seen.getClass().getName() + ": " + seen.getMessage();
            }
            boolean interrupted = Thread.interrupted();
            System.out.println("OUTCOME " + scenario.getKey() + " " + outcome + (interrupted ? " [interrupted]" : ""));
        }
        for (Closeable filler : app.fillers) {
            filler.close();
        }
    }

    interface Scenario {
        void run() throws Exception;
    }

    private Map<String, Scenario> scenarios() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("socket-refused", () -> {
            try (Socket socket = new Socket()) {
                socket.connect(refused);
            }
        });
        all.put("socket-refused-with-timeout", () -> {
            try (Socket socket = new Socket()) {
                socket.connect(refused, 2_000);
            }
        });
        all.put("socket-constructor-refused", () -> new Socket(HOST, refused.getPort()).close());
        all.put("channel-refused", () -> SocketChannel.open(refused).close());
        all.put("channel-non-blocking-refused", () -> {
            try (SocketChannel channel = SocketChannel.open()) {
                channel.configureBlocking(false);
                channel.connect(refused);
                while (!channel.finishConnect()) {
                    Thread.sleep(1);
                }
            }
        });
        all.put("async-refused", () -> {
            try (AsynchronousSocketChannel channel = AsynchronousSocketChannel.open()) {
                channel.connect(refused).get(5, TimeUnit.SECONDS);
            }
        });
        all.put("socket-connect-timeout", () -> {
            try (Socket socket = new Socket()) {
                socket.connect(blackHole, 300);
            }
        });
        all.put("async-connect-timeout", () -> {
            try (AsynchronousSocketChannel channel = AsynchronousSocketChannel.open()) {
                Future<Void> connect = channel.connect(blackHole);
                try {
                    connect.get(300, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    channel.close();
                    connect.get(5, TimeUnit.SECONDS);  // what a closed pending connect completes with
                }
            }
        });
        all.put("socket-interrupted", () -> {
            // A platform thread's blocking Socket.connect is not interruptible: it ends at its timeout.
            try (Socket socket = new Socket()) {
                interruptSoon(Thread.currentThread());
                socket.connect(blackHole, 1_500);  // long enough for a late interrupt on a loaded machine
            }
        });
        all.put("channel-interrupted", () -> {
            try (SocketChannel channel = SocketChannel.open()) {
                interruptSoon(Thread.currentThread());
                channel.connect(blackHole);
            }
        });
        all.put("channel-closed-during-connect", () -> {
            SocketChannel channel = SocketChannel.open();
            closeSoon(channel);
            channel.connect(blackHole);
        });
        all.put("socket-closed-during-connect", () -> {
            Socket socket = new Socket();
            closeSoon(socket);
            socket.connect(blackHole, 5_000);
        });
        all.put("virtual-thread-socket-interrupted", () -> onVirtualThread(() -> {
            try (Socket socket = new Socket()) {
                interruptSoon(Thread.currentThread());
                socket.connect(blackHole, 5_000);
            }
        }));
        all.put("virtual-thread-channel-interrupted", () -> onVirtualThread(() -> {
            try (SocketChannel channel = SocketChannel.open()) {
                interruptSoon(Thread.currentThread());
                channel.connect(blackHole);
            }
        }));
        return all;
    }

    /** A link-local address in a network namespace that has no route to it: "Network is unreachable" at once. */
    private Map<String, Scenario> unreachable() {
        InetSocketAddress nowhere = new InetSocketAddress("169.254.77.9", 80);
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("socket-unreachable", () -> {
            try (Socket socket = new Socket()) {
                socket.connect(nowhere, 2_000);
            }
        });
        all.put("channel-unreachable", () -> SocketChannel.open(nowhere).close());
        all.put("async-unreachable", () -> {
            try (AsynchronousSocketChannel channel = AsynchronousSocketChannel.open()) {
                channel.connect(nowhere).get(5, TimeUnit.SECONDS);
            }
        });
        return all;
    }

    /**
     * The one intended difference: a blocking connect with no timeout of its own to a host that does not answer.
     * Without the agent the kernel retries the SYN for about two minutes; with it TCP_USER_TIMEOUT ends the connect
     * after about user_timeout. The application closes the channel after 4 s, so that a run without the agent ends.
     */
    private Map<String, Scenario> blackHoleWithoutTimeout() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("channel-black-hole-no-timeout", () -> {
            SocketChannel channel = SocketChannel.open();
            Thread closer = closeAfter(channel, 4_000);
            try {
                channel.connect(blackHole);
            } finally {
                closer.interrupt();
                channel.close();
            }
        });
        all.put("socket-black-hole-no-timeout", () -> {
            Socket socket = new Socket();
            Thread closer = closeAfter(socket, 4_000);
            try {
                socket.connect(blackHole);
            } finally {
                closer.interrupt();
                socket.close();
            }
        });
        return all;
    }

    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} on a virtual thread (JDK 21+, by reflection: this class is compiled for JDK 11). */
    private static void onVirtualThread(Body body) throws Exception {
        Object builder;
        try {
            builder = Thread.class.getMethod("ofVirtual").invoke(null);
        } catch (NoSuchMethodException e) {
            throw new UnsupportedOperationException("no virtual threads on JDK " + Runtime.version().feature());
        }
        Throwable[] failure = new Throwable[1];
        boolean[] interrupted = new boolean[1];
        Runnable task = () -> {
            try {
                body.run();
            } catch (Throwable t) {
                failure[0] = t;
            }
            interrupted[0] = Thread.interrupted();
        };
        Thread thread = (Thread) Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class)
                .invoke(builder, task);
        thread.join();
        if (interrupted[0]) {
            Thread.currentThread().interrupt();  // reported as the scenario's interrupt status
        }
        if (failure[0] instanceof Exception) {
            throw (Exception) failure[0];
        }
        if (failure[0] != null) {
            throw (Error) failure[0];
        }
    }

    private static void interruptSoon(Thread target) {
        later(INTERRUPT_AFTER_MS, target::interrupt);
    }

    private static void closeSoon(Closeable closeable) {
        closeAfter(closeable, INTERRUPT_AFTER_MS);
    }

    private static Thread closeAfter(Closeable closeable, long ms) {
        return later(ms, () -> {
            try {
                closeable.close();
            } catch (IOException ignored) {
                // reported by the connect it interrupts
            }
        });
    }

    private static Thread later(long ms, Runnable action) {
        Thread thread = new Thread(() -> {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                return;  // no longer needed
            }
            action.run();
        });
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
