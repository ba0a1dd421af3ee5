package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A forked application with no knowledge of the agent that makes loopback connections when told to, so that a test
 * decides when the agent's log gets lines. Prints {@code READY} at once and opens no socket before a command. Commands,
 * one a line on standard input:
 * <ul>
 *   <li>{@code connect N}: N connections one after the other, each closed at once; then
 *   {@code CONNECTED N keepalive=B}, B the last client's SO_KEEPALIVE through the JDK's own getter;</li>
 *   <li>{@code burst T}: T threads connect in a loop, each through a listener of its own, until {@code stop}; after
 *   each connection (both ends made, so both of its log lines are already given to the agent) a thread prints
 *   {@code CONN localPort} of its client. The threads are daemons: they go on connecting while the JVM exits;</li>
 *   <li>{@code stop}: ends the burst, prints {@code STOPPED count}.</li>
 * </ul>
 * End of input ends the application (exit status 0).
 */
public final class LogPressureApp {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static volatile boolean stopping;

    private LogPressureApp() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("READY");
        List<Thread> burst = new ArrayList<>();
        AtomicLong made = new AtomicLong();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] words = line.split(" ");
            if (words[0].equals("connect")) {
                int count = Integer.parseInt(words[1]);
                boolean keepAlive = false;
                try (ServerSocket server = new ServerSocket(0, 50, LOOPBACK)) {
                    for (int i = 0; i < count; i++) {
                        try (Socket client = new Socket(LOOPBACK, server.getLocalPort());
                             Socket accepted = server.accept()) {
                            keepAlive = client.getKeepAlive();
                        }
                    }
                }
                System.out.println("CONNECTED " + count + " keepalive=" + keepAlive);
            } else if (words[0].equals("burst")) {
                stopping = false;
                for (int t = 0; t < Integer.parseInt(words[1]); t++) {
                    Thread thread = new Thread(() -> connectUntilStopped(made), "burst-" + t);
                    thread.setDaemon(true);
                    thread.start();
                    burst.add(thread);
                }
            } else if (words[0].equals("stop")) {
                stopping = true;
                for (Thread thread : burst) {
                    thread.join();
                }
                burst.clear();
                System.out.println("STOPPED " + made.get());
            }
        }
    }

    private static void connectUntilStopped(AtomicLong made) {
        try (ServerSocket server = new ServerSocket(0, 50, LOOPBACK)) {
            while (!stopping) {
                try (Socket client = new Socket(LOOPBACK, server.getLocalPort()); Socket accepted = server.accept()) {
                    made.incrementAndGet();
                    System.out.println("CONN " + client.getLocalPort());
                }
            }
        } catch (Exception e) {
            System.out.println("FAILED " + e);
        }
    }
}
