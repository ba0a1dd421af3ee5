package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
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
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A forked test application with no knowledge of the agent: for each JDK API, thousands of races in which another
 * thread closes the client socket — or, one race in ten, the listener — at a random moment of the connect, of the
 * accept on the other side, of the application turning keepalive off right after, and of whatever runs inside them
 * (the agent's hardening and its replacing of that value, when it is there). Right after
 * each close the closing thread opens an unrelated UDP or Unix-domain socket ({@link Victims}), which takes the
 * closed descriptor number whenever the kernel has freed it; a fixed set of other files stays open all along
 * ({@link UnrelatedFiles}).
 *
 * <p>Arguments: races per API, then the APIs ({@code socket}, {@code channel-blocking}, {@code channel-non-blocking},
 * {@code async}). It prints, per API,
 * <pre>RACES api races=N connect-failed=F connected=C reused=R window-us=W
 * SEEN api side count exception-class: message     (what the application saw; side: connect, set-option, accept,
 *                                                    close)</pre>
 * and every {@value #ROUND} races {@code PROBE n}, then waits for a line on standard input (the test reads the
 * unrelated sockets from outside meanwhile) before it closes the victims of that round. At the end
 * {@code FILES unchanged} (or what changed) and {@code DONE}.
 */
public final class CloseRaceApp {

    static final int ROUND = 2500;
    private static final InetAddress HOST = InetAddress.getLoopbackAddress();

    private final Map<String, AtomicLong> seen = new ConcurrentHashMap<>();
    private final Victims victims = new Victims();
    private final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));
    private int probes;

    private CloseRaceApp() throws ReflectiveOperationException {
    }

    public static void main(String[] args) throws Exception {
        int races = Integer.parseInt(args[0]);
        CloseRaceApp app = new CloseRaceApp();
        try (UnrelatedFiles unrelated = new UnrelatedFiles()) {
            for (String name : Arrays.asList(args).subList(1, args.length)) {
                app.race(api(name), races);
            }
            String changed = unrelated.verify();
            System.out.println("FILES " + (changed == null ? "unchanged" : changed));
        }
        System.out.println("DONE");
        System.out.flush();
    }

    /** One JDK API: how to listen, accept, open a client and connect it. */
    abstract static class Api {
        final String name;

        Api(String name) {
            this.name = name;
        }

        abstract Closeable listen() throws IOException;

        abstract InetSocketAddress address(Closeable listener) throws IOException;

        /** Accepts one connection; returns it. */
        abstract Closeable accept(Closeable listener) throws Exception;

        abstract Closeable open() throws IOException;

        abstract void connect(Closeable client, InetSocketAddress remote) throws Exception;

        /** What pgjdbc does right after connecting, and what the agent replaces: racing the close too. */
        void keepAliveOff(Closeable client) throws IOException {
            if (client instanceof Socket) {
                ((Socket) client).setKeepAlive(false);
            } else {
                ((NetworkChannel) client).setOption(StandardSocketOptions.SO_KEEPALIVE, false);
            }
        }
    }

    static Api api(String name) {
        switch (name) {
            case "socket":
                return new Api(name) {
                    @Override
                    Closeable listen() throws IOException {
                        return new ServerSocket(0, 500, HOST);
                    }

                    @Override
                    InetSocketAddress address(Closeable listener) {
                        return (InetSocketAddress) ((ServerSocket) listener).getLocalSocketAddress();
                    }

                    @Override
                    Closeable accept(Closeable listener) throws IOException {
                        return ((ServerSocket) listener).accept();
                    }

                    @Override
                    Closeable open() {
                        return new Socket();  // gets its descriptor inside connect: the race covers that too
                    }

                    @Override
                    void connect(Closeable client, InetSocketAddress remote) throws IOException {
                        ((Socket) client).connect(remote);
                    }
                };
            case "channel-blocking":
            case "channel-non-blocking":
                boolean blocking = name.equals("channel-blocking");
                return new Api(name) {
                    @Override
                    Closeable listen() throws IOException {
                        return ServerSocketChannel.open().bind(new InetSocketAddress(HOST, 0), 500);
                    }

                    @Override
                    InetSocketAddress address(Closeable listener) throws IOException {
                        return (InetSocketAddress) ((ServerSocketChannel) listener).getLocalAddress();
                    }

                    @Override
                    Closeable accept(Closeable listener) throws IOException {
                        return ((ServerSocketChannel) listener).accept();
                    }

                    @Override
                    Closeable open() throws IOException {
                        SocketChannel channel = SocketChannel.open();
                        channel.configureBlocking(blocking);
                        return channel;
                    }

                    @Override
                    void connect(Closeable client, InetSocketAddress remote) throws IOException {
                        SocketChannel channel = (SocketChannel) client;
                        if (!channel.connect(remote)) {
                            while (!channel.finishConnect()) {
                                Thread.onSpinWait();
                            }
                        }
                    }
                };
            case "async":
                return new Api(name) {
                    @Override
                    Closeable listen() throws IOException {
                        return AsynchronousServerSocketChannel.open().bind(new InetSocketAddress(HOST, 0), 500);
                    }

                    @Override
                    InetSocketAddress address(Closeable listener) throws IOException {
                        return (InetSocketAddress) ((AsynchronousServerSocketChannel) listener).getLocalAddress();
                    }

                    @Override
                    Closeable accept(Closeable listener) throws Exception {
                        return ((AsynchronousServerSocketChannel) listener).accept().get();
                    }

                    @Override
                    Closeable open() throws IOException {
                        return AsynchronousSocketChannel.open();
                    }

                    @Override
                    void connect(Closeable client, InetSocketAddress remote) throws Exception {
                        ((AsynchronousSocketChannel) client).connect(remote).get(10, TimeUnit.SECONDS);
                    }
                };
            default:
                throw new IllegalArgumentException("API: socket, channel-blocking, channel-non-blocking or async");
        }
    }

    // ---- one API's races

    private volatile Closeable listener;
    private volatile boolean stopped;

    private void race(Api api, int races) throws Exception {
        stopped = false;
        listener = api.listen();
        Thread acceptor = new Thread(() -> acceptLoop(api), "acceptor");
        acceptor.start();
        long window = calibrate(api);
        long lead = window / 8;
        Closer closer = new Closer(api.name);
        closer.thread.start();
        long connectFailed = 0;
        for (int i = 1; i <= races; i++) {
            Closeable current = listener;
            InetSocketAddress remote = api.address(current);
            Closeable client = api.open();
            boolean closesListener = i % 10 == 0;
            long startAt = System.nanoTime() + lead;
            closer.arm(closesListener ? current : client,
                    startAt + ThreadLocalRandom.current().nextLong(-lead, window));
            while (System.nanoTime() < startAt) {
                Thread.onSpinWait();
            }
            boolean connected = false;
            try {
                api.connect(client, remote);
                connected = true;
            } catch (Throwable t) {
                connectFailed++;
                record(api.name, "connect", t);
            }
            if (connected) {
                try {
                    api.keepAliveOff(client);
                } catch (Throwable t) {
                    record(api.name, "set-option", t);
                }
            }
            closer.awaitDone();
            client.close();
            if (closesListener) {
                current.close();
                listener = api.listen();
            }
            if (i % ROUND == 0) {
                probeRound();
            }
        }
        stopped = true;
        closer.thread.interrupt();
        listener.close();
        acceptor.join(10_000);
        probeRound();
        System.out.println("RACES " + api.name + " races=" + races + " connect-failed=" + connectFailed
                + " connected=" + (races - connectFailed) + " reused=" + closer.reused + " window-us=" + window / 1000);
        Map<String, AtomicLong> sorted = new TreeMap<>(seen);
        for (Map.Entry<String, AtomicLong> kind : sorted.entrySet()) {
            String[] apiSideKind = kind.getKey().split("\t", 3);
            if (apiSideKind[0].equals(api.name)) {
                System.out.println("SEEN " + api.name + " " + apiSideKind[1] + " " + kind.getValue() + " "
                        + apiSideKind[2]);
            }
        }
        System.out.flush();
    }

    /** Twice the median time of an undisturbed connect: the span over which the closes are spread. */
    private long calibrate(Api api) throws Exception {
        long[] times = new long[200];
        for (int i = 0; i < times.length; i++) {
            try (Closeable client = api.open()) {
                long start = System.nanoTime();
                api.connect(client, api.address(listener));
                times[i] = System.nanoTime() - start;
            }
        }
        Arrays.sort(times);
        return 2 * times[times.length / 2];
    }

    /** The other side: accepts and closes, for as long as the API's races run; a closed listener is replaced. */
    private void acceptLoop(Api api) {
        while (!stopped) {
            Closeable current = listener;
            try {
                api.accept(current).close();
            } catch (Throwable t) {
                if (stopped) {
                    return;
                }
                record(api.name, "accept", t);
                while (listener == current && !stopped) {
                    LockSupport.parkNanos(50_000);
                }
            }
        }
    }

    private void probeRound() throws IOException {
        System.out.println("PROBE " + ++probes);
        System.out.flush();
        if (stdin.readLine() == null) {
            throw new IOException("the test went away");
        }
        victims.closeAll();
    }

    private void record(String api, String side, Throwable t) {
        Throwable seenByApplication = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
        String kind = api + "\t" + side + "\t" + seenByApplication.getClass().getName() + ": "
                + seenByApplication.getMessage();
        seen.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    }

    /** The closing thread: closes its target at the moment it is given, then opens a victim at once. */
    private final class Closer implements Runnable {
        private static final int IDLE = 0;
        private static final int ARMED = 1;
        private static final int DONE = 2;

        final Thread thread = new Thread(this, "closer");
        private final String api;
        private final AtomicInteger phase = new AtomicInteger(IDLE);
        private final Thread racer = Thread.currentThread();
        private volatile Closeable target;
        private volatile long closeAt;
        long reused;

        Closer(String api) {
            this.api = api;
            thread.setDaemon(true);
        }

        void arm(Closeable closing, long at) {
            target = closing;
            closeAt = at;
            phase.set(ARMED);
            LockSupport.unpark(thread);
        }

        void awaitDone() {
            while (phase.get() != DONE) {
                LockSupport.park(this);
            }
            phase.set(IDLE);
        }

        @Override
        public void run() {
            while (!Thread.currentThread().isInterrupted()) {
                if (phase.get() != ARMED) {
                    LockSupport.park(this);
                    continue;
                }
                while (System.nanoTime() < closeAt) {
                    Thread.onSpinWait();
                }
                Closeable closing = target;
                int number = DescriptorNumbers.of(closing);
                try {
                    closing.close();
                } catch (Throwable t) {
                    record(api, "close", t);
                }
                try {
                    if (victims.open() == number && number >= 0) {
                        reused++;
                    }
                } catch (IOException e) {
                    record(api, "victim", e);
                }
                phase.set(DONE);
                LockSupport.unpark(racer);
            }
        }
    }
}
