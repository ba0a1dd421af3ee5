package io.tcphardening.agent.live;

import io.tcphardening.agent.harden.SocketHardener;
import io.tcphardening.agent.instrument.JdkInternals;
import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.Settings;
import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Hardens the TCP connections and listeners that were open before the agent was attached, from inside the JVM.
 *
 * <p>The agent holds no object for them, only descriptor numbers from {@code /proc/self/fd}, and a number can be
 * closed by the application and reused by an unrelated file at any moment. So no option is ever written to a listed
 * number. Each is first duplicated ({@code dup}, the JDK's own {@code sun.nio.fs.UnixNativeDispatcher.dup}); the
 * duplicate is checked to be the socket that was listed (its {@code /proc/self/fd} link names the same inode: if the
 * number was closed and reused between the listing and the {@code dup}, it names another); the options are set on the
 * duplicate, which is the same socket and cannot be closed under us, because the agent owns it; then the duplicate is
 * closed. A socket the application closes meanwhile simply stays open a few microseconds longer.
 *
 * <p>Options set this way on a Netty native channel are right in the kernel (Netty's getters read them from there).
 */
public final class ExistingSockets {

    private final MethodHandle dup;
    private final MethodHandle close;
    private final MethodHandle newFd;

    public ExistingSockets(JdkInternals jdk) throws ReflectiveOperationException {
        Class<?> unix = jdk.jdkClass("sun.nio.fs.UnixNativeDispatcher");
        MethodHandles.Lookup lookup = jdk.privateLookup(unix);
        dup = lookup.findStatic(unix, "dup", MethodType.methodType(int.class, int.class));
        close = lookup.findStatic(unix, "close", MethodType.methodType(void.class, int.class));
        Class<?> ioUtil = jdk.jdkClass("sun.nio.ch.IOUtil");
        newFd = jdk.privateLookup(ioUtil).findStatic(ioUtil, "newFD",
                MethodType.methodType(FileDescriptor.class, int.class));
    }

    /**
     * Hardens every TCP socket of this JVM with the hardener's current settings; returns the summary line. With rules,
     * each connection gets the values of the rule that matches it, decided from {@code /proc} as {@code inspect}
     * decides it (accepted: its local port is one of this JVM's listeners'; no host name is known), and the line
     * counts them by rule; a connection whose rule leaves it alone is not touched at all.
     */
    public String harden(SocketHardener hardener) {
        Settings current = hardener.settings();
        if (!current.setsAnything()) {
            return "connections open before the attach: nothing to set, every option is unchanged";
        }
        Map<String, Integer> hardened = new TreeMap<>();
        Map<String, Integer> byRule = new TreeMap<>();
        Map<String, Integer> leftAlone = new TreeMap<>();
        List<String> skipped = new ArrayList<>();
        List<ProcTcpSockets.Entry> deferred = new ArrayList<>();
        List<Boolean> deferredAccepted = new ArrayList<>();
        List<ProcTcpSockets.Entry> sockets;
        try {
            sockets = ProcTcpSockets.of(ProcessHandle.current().pid());
        } catch (Exception e) {
            return "connections open before the attach: not hardened, /proc cannot be read: " + e;
        }
        // a connection whose local port is one of this JVM's listeners' was accepted (for rules by direction)
        List<Integer> listening = new ArrayList<>();
        for (ProcTcpSockets.Entry socket : sockets) {
            if (socket.remote == null) {
                listening.add(socket.local.getPort());
            }
        }
        for (ProcTcpSockets.Entry socket : sockets) {
            boolean accepted = socket.remote != null && listening.contains(socket.local.getPort());
            Decision decision = decide(current, socket, accepted);
            if (decision.leavesAlone()) {
                leftAlone.merge(decision.rule(), 1, Integer::sum);
                continue;
            }
            String reason = harden(hardener, socket, accepted, false);
            if (reason == null || reason.equals(SocketHardener.DEFERRED)) {
                hardened.merge(socket.state, 1, Integer::sum);
                byRule.merge(decision.rule(), 1, Integer::sum);
                if (reason != null) {
                    deferred.add(socket);
                    deferredAccepted.add(accepted);
                }
            } else {
                skipped.add("fd " + socket.fd + " " + ProcTcpSockets.format(socket.local) + " " + reason);
            }
        }
        int total = 0;
        for (int count : hardened.values()) {
            total += count;
        }
        StringBuilder line = new StringBuilder("connections open before the attach: hardened ").append(total);
        if (total > 0) {
            line.append(" (").append(counts(hardened));
            if (current.hasRules()) {
                line.append("; by rule: ").append(counts(byRule));
            }
            line.append(')');
        }
        if (!leftAlone.isEmpty()) {
            int count = 0;
            for (int n : leftAlone.values()) {
                count += n;
            }
            line.append(", left alone by their rule ").append(count).append(" (").append(counts(leftAlone))
                    .append(')');
        }
        if (!deferred.isEmpty()) {
            line.append(", user_timeout lowered later on ").append(deferred.size()).append(" in a probe cycle or"
                    + " retransmitting (lowered there, it would end them at once)");
            retryLater(hardener, deferred, deferredAccepted);
        }
        line.append(", skipped ").append(skipped.size());
        for (String reason : skipped) {
            line.append("; ").append(reason);
        }
        return line.toString();
    }

    /** How often, and how many times, a deferred user timeout is tried again; the last try lowers it regardless. */
    private static final long RETRY_MILLIS = 2_000;
    private static final int RETRIES = 30;

    /**
     * Lowers the deferred user timeouts on a daemon thread of its own (the attach listener must not wait), each once
     * its connection is out of its probe cycle: a probe answered resets the cycle, and a dead peer's connection ends
     * by itself. After a minute what is left gets the new value anyway: the operator asked for it.
     *
     * <p>A connection still in its cycle is not touched at all until then, as the kernel reports it in
     * {@code /proc/self/net/tcp} and {@code tcp6} (one read per round for all of them): setting its options again
     * would set TCP_KEEPIDLE again, and Linux then re-arms the keepalive timer at once for a connection already silent
     * that long ({@code tcp_sock_set_keepidle_locked}), so every round would send a probe and count it: a connection
     * without a user timeout would reach {@code keepalive.count} after count rounds of 2 s instead of count
     * intervals.
     */
    private void retryLater(SocketHardener hardener, List<ProcTcpSockets.Entry> sockets, List<Boolean> accepted) {
        Thread retry = new Thread(new Runnable() {
            @Override
            public void run() {
                List<ProcTcpSockets.Entry> waiting = new ArrayList<>(sockets);
                List<Boolean> waitingAccepted = new ArrayList<>(accepted);
                for (int attempt = 1; attempt <= RETRIES && !waiting.isEmpty(); attempt++) {
                    try {
                        Thread.sleep(RETRY_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                    Map<Long, Boolean> cycle = attempt == RETRIES ? null : inCycle();
                    for (int i = waiting.size() - 1; i >= 0; i--) {
                        // not listed (closed, or a line the paged listing skipped): tried, the hardener decides
                        if (cycle != null && Boolean.TRUE.equals(cycle.get(waiting.get(i).inode))) {
                            continue;  // still probing or retransmitting: left as it is for this round
                        }
                        String reason = harden(hardener, waiting.get(i), waitingAccepted.get(i), attempt == RETRIES);
                        if (!SocketHardener.DEFERRED.equals(reason)) {
                            waiting.remove(i);  // lowered, or closed meanwhile
                            waitingAccepted.remove(i);
                        }
                    }
                }
            }
        }, "tcp-hardening-attach-retry");
        retry.setDaemon(true);
        retry.start();
    }

    /** {@link ProcTcpSockets#probingOrRetransmitting}; null if it cannot be read (every socket is tried). */
    private static Map<Long, Boolean> inCycle() {
        try {
            return ProcTcpSockets.probingOrRetransmitting();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The decision {@link SocketHardener#hardenExisting} makes from the socket itself: the global settings for a
     * listener or a socket not connected, else the first rule that matches.
     */
    private static Decision decide(Settings current, ProcTcpSockets.Entry socket, boolean accepted) {
        if (socket.remote == null || socket.remote.getPort() == 0) {
            return current.defaults();
        }
        return current.decide(accepted, socket.remote.getAddress(), socket.remote.getPort(),
                accepted ? socket.local.getPort() : -1, null);
    }

    /** "ESTABLISHED 4, LISTEN 2". */
    private static String counts(Map<String, Integer> counts) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, Integer> count : counts.entrySet()) {
            text.append(text.length() == 0 ? "" : ", ").append(count.getKey()).append(' ').append(count.getValue());
        }
        return text.toString();
    }

    /** Null when hardened, {@link SocketHardener#DEFERRED}, else why not. */
    private String harden(SocketHardener hardener, ProcTcpSockets.Entry socket, boolean accepted, boolean force) {
        int duplicate;
        try {
            duplicate = (int) dup.invokeExact(socket.fd);
        } catch (Throwable closed) {
            return "closed since it was listed (" + closed.getMessage() + ")";
        }
        try {
            String now = Files.readSymbolicLink(Paths.get("/proc/self/fd/" + duplicate)).toString();
            if (!now.equals(ProcTcpSockets.link(socket.inode))) {
                return "closed since it was listed, its number now reused by " + now + ": not touched";
            }
            String mismatch = hardener.hardenExisting((FileDescriptor) newFd.invokeExact(duplicate), accepted, force);
            return mismatch == null || mismatch.equals(SocketHardener.DEFERRED) ? mismatch
                    : "the kernel kept " + mismatch;
        } catch (Throwable t) {
            return "failed: " + t;
        } finally {
            try {
                close.invokeExact(duplicate);
            } catch (Throwable ignored) {
                // the duplicate is ours alone; closing it cannot fail in a way that matters to the application
            }
        }
    }
}
