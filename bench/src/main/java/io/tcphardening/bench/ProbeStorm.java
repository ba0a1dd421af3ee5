package io.tcphardening.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One end of the probe storm (issue 19, item 6): many idle loopback connections whose keepalive probes may all fall
 * due in the same instant. The two ends run in JVMs of their own, so that each stays under the per-process limit of
 * descriptors with one descriptor per connection.
 *
 * <pre>
 * ProbeStorm server LISTENERS CONNECTIONS ENDED_FILE   prints "ports P1,P2,...", then "accepted N" once N came in
 * ProbeStorm client CONNECTIONS ENDED_FILE P1,P2,...   opens the connections in one burst, prints "opened N MS"
 * </pre>
 *
 * Then each end watches all of its connections with one selector and notes every one the kernel ends: a read that
 * fails (the agent's TCP_USER_TIMEOUT gives "Connection timed out"; a peer that timed out first answers the next
 * probe with a reset) or end of stream. Nothing is ever written, so any end is the kernel's. On the line
 * {@code report} on standard input it prints {@code ended N timeout T reset R eof E other O} and writes ENDED_FILE,
 * one line per ended connection: {@code SERVERPORT:CLIENTPORT CAUSE EPOCH_MS}, the same key at both ends. It exits
 * when standard input closes, so that a parent that dies takes it along.
 */
public final class ProbeStorm {

    private final Selector selector;
    private final List<String> ended = new ArrayList<>();
    private final int[] causes = new int[4];
    private volatile boolean reportAsked;
    private int accepted;

    private ProbeStorm() throws IOException {
        selector = Selector.open();
    }

    public static void main(String[] args) throws Exception {
        ProbeStorm end = new ProbeStorm();
        end.listenToParent();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        if (args[0].equals("server")) {
            List<String> ports = new ArrayList<>();
            for (int i = 0; i < Integer.parseInt(args[1]); i++) {
                ServerSocketChannel listener = ServerSocketChannel.open();
                // the kernel caps the backlog at somaxconn; a full accept queue would only slow the burst down
                listener.bind(new InetSocketAddress(loopback, 0), 65535);
                listener.configureBlocking(false);
                listener.register(end.selector, SelectionKey.OP_ACCEPT);
                ports.add(Integer.toString(listener.socket().getLocalPort()));
            }
            System.out.println("ports " + String.join(",", ports));
            end.watch(Integer.parseInt(args[2]), args[3]);
        } else {
            int connections = Integer.parseInt(args[1]);
            String[] ports = args[3].split(",");
            // one thread per CPU: the shorter the burst, the closer together its keepalive timers fall due
            int threads = Runtime.getRuntime().availableProcessors();
            SocketChannel[] channels = new SocketChannel[connections];
            List<Thread> openers = new ArrayList<>();
            AtomicReference<Exception> failure = new AtomicReference<>();
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int first = t;
                Thread opener = new Thread(() -> {
                    try {
                        for (int i = first; i < connections; i += threads) {
                            channels[i] = SocketChannel.open(new InetSocketAddress(loopback,
                                    Integer.parseInt(ports[i % ports.length])));
                        }
                    } catch (IOException e) {
                        failure.compareAndSet(null, e);
                    }
                });
                openers.add(opener);
                opener.start();
            }
            for (Thread opener : openers) {
                opener.join();
            }
            if (failure.get() != null) {
                throw failure.get();
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            for (SocketChannel channel : channels) {
                channel.configureBlocking(false);
                channel.register(end.selector, SelectionKey.OP_READ, ((InetSocketAddress) channel.getRemoteAddress())
                        .getPort() + ":" + ((InetSocketAddress) channel.getLocalAddress()).getPort());
            }
            System.out.println("opened " + connections + " " + ms);
            end.watch(-1, args[2]);
        }
    }

    /** "report" asks for the figures; the end of standard input ends the process. */
    private void listenToParent() {
        Thread parent = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("report")) {
                        reportAsked = true;
                        selector.wakeup();
                    }
                }
            } catch (IOException e) {
                e.printStackTrace();
            }
            System.exit(0);
        }, "parent");
        parent.setDaemon(true);
        parent.start();
    }

    /** Accepts (a server expecting {@code expected} connections) and notes ended connections until the report. */
    private void watch(int expected, String endedFile) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        while (!reportAsked) {
            selector.select(1000);
            for (SelectionKey key : selector.selectedKeys()) {
                if (key.isValid() && key.isAcceptable()) {
                    SocketChannel channel;
                    while ((channel = ((ServerSocketChannel) key.channel()).accept()) != null) {
                        channel.configureBlocking(false);
                        channel.register(selector, SelectionKey.OP_READ,
                                ((InetSocketAddress) channel.getLocalAddress()).getPort() + ":"
                                        + ((InetSocketAddress) channel.getRemoteAddress()).getPort());
                        if (++accepted == expected) {
                            System.out.println("accepted " + accepted);
                        }
                    }
                } else if (key.isValid() && key.isReadable()) {
                    read(key, buffer);
                }
            }
            selector.selectedKeys().clear();
        }
        Files.write(Paths.get(endedFile), ended);
        System.out.println("ended " + ended.size() + " timeout " + causes[0] + " reset " + causes[1] + " eof "
                + causes[2] + " other " + causes[3]);
        Thread.currentThread().join();
    }

    private void read(SelectionKey key, ByteBuffer buffer) throws IOException {
        String cause;
        try {
            buffer.clear();
            if (((SocketChannel) key.channel()).read(buffer) >= 0) {
                return;
            }
            cause = "eof";
        } catch (IOException e) {
            String message = String.valueOf(e.getMessage());
            cause = message.contains("timed out") ? "timeout" : message.contains("reset") ? "reset"
                    : "other(" + message.replace(' ', '_') + ")";
        }
        causes[cause.equals("timeout") ? 0 : cause.equals("reset") ? 1 : cause.equals("eof") ? 2 : 3]++;
        ended.add(key.attachment() + " " + cause + " " + System.currentTimeMillis());
        key.cancel();
        key.channel().close();
    }
}
