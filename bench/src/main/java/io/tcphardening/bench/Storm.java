package io.tcphardening.bench;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A connection storm: {@code threads} threads each connect to their own loopback listener, accept and close as fast
 * as they can for {@code seconds}; prints {@code connections N rate R} (connections per second).
 */
public final class Storm {

    private Storm() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        long seconds = Long.parseLong(args[1]);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        AtomicLong connections = new AtomicLong();
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        List<Thread> workers = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            Thread worker = new Thread(() -> {
                try (ServerSocket server = new ServerSocket(0, 50, loopback)) {
                    while (System.nanoTime() < deadline) {
                        try (Socket client = new Socket(loopback, server.getLocalPort());
                             Socket accepted = server.accept()) {
                            connections.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf("connections %d rate %.0f%n", connections.get(), connections.get() / elapsed);
    }
}
