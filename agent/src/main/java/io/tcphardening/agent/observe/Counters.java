package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.TcpOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent has done since the JVM started, for its MBean: connections hardened by kind and direction,
 * application values replaced by option, sockets skipped because they are not TCP. Totals only, no per-connection
 * state. A connection pays one look-up of its kind (a string whose hash is cached) and one atomic add: nanoseconds,
 * against the microseconds of the options it has set. Failures are counted by {@link HardeningLog#failure}, which
 * keeps them by reason already.
 *
 * <p>{@link AtomicLong}, not {@code LongAdder}: the first use of a LongAdder links its VarHandles, 0.8 to 1 ms of
 * start-up measured on JDK 17 and 25 even after the agent's own method handles, while AtomicLong is loaded by every
 * JVM already. Contention on one counter costs tens of nanoseconds per connection at worst, against ~45 µs for the
 * connection.
 */
public final class Counters {

    private final ConcurrentHashMap<String, AtomicLong> connected = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicLong> accepted = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicLong> byRule = new ConcurrentHashMap<>();
    private final AtomicLong[] replaced = new AtomicLong[TcpOption.ALL.length];
    private final AtomicLong[] kept = new AtomicLong[TcpOption.ALL.length];
    private final AtomicLong notTcp = new AtomicLong();
    private final AtomicLong excluded = new AtomicLong();

    public Counters() {
        for (TcpOption option : TcpOption.ALL) {
            replaced[option.ordinal()] = new AtomicLong();
            kept[option.ordinal()] = new AtomicLong();
        }
    }

    /** A connection's options were confirmed: {@code kind} as in its log line ("Socket", "Netty epoll", ...). */
    public void countHardened(String kind, boolean wasAccepted) {
        increment(wasAccepted ? accepted : connected, kind);
    }

    /**
     * A connection was decided by {@code rule} ("default" when none matched); counted only while rules are
     * configured, so that a JVM without rules pays nothing for it.
     */
    public void countRule(String rule) {
        increment(byRule, rule);
    }

    /** A rule with all five options unchanged matched: the connection was left alone. */
    public void countExcluded() {
        excluded.incrementAndGet();
    }

    private static void increment(ConcurrentHashMap<String, AtomicLong> counts, String key) {
        AtomicLong count = counts.get(key);
        if (count == null) {
            // no computeIfAbsent: a lambda would spin a class on the application's first connection
            AtomicLong fresh = new AtomicLong();
            count = counts.putIfAbsent(key, fresh);
            if (count == null) {
                count = fresh;
            }
        }
        count.incrementAndGet();
    }

    /** The application set {@code option} to a value the agent replaced by the configured one. */
    public void countReplaced(TcpOption option) {
        replaced[option.ordinal()].incrementAndGet();
    }

    /** The application set {@code option} to a value that stands under the policy for its values (app.values). */
    public void countKept(TcpOption option) {
        kept[option.ordinal()].incrementAndGet();
    }

    /** A JDK socket that is not TCP (a Unix-domain channel, JDK 17's datagram socket implementation) reached a hook. */
    public void countNotTcp() {
        notTcp.incrementAndGet();
    }

    /** "Socket connect", "SocketChannel accept", ... to the number of connections, sorted by name. */
    Map<String, Long> hardened() {
        Map<String, Long> counts = new TreeMap<>();
        connected.forEach((kind, count) -> counts.put(kind + " connect", count.get()));
        accepted.forEach((kind, count) -> counts.put(kind + " accept", count.get()));
        return counts;
    }

    long hardenedTotal() {
        long total = 0;
        for (long count : hardened().values()) {
            total += count;
        }
        return total;
    }

    /** Option key ("keepalive", "keepalive.idle", ...) to the number of application writes replaced. */
    Map<String, Long> replaced() {
        Map<String, Long> counts = new TreeMap<>();
        for (TcpOption option : TcpOption.ALL) {
            counts.put(option.key, replaced[option.ordinal()].get());
        }
        return counts;
    }

    /** Option key to the number of application writes that stood (app.values stricter or keep). */
    Map<String, Long> kept() {
        Map<String, Long> counts = new TreeMap<>();
        for (TcpOption option : TcpOption.ALL) {
            counts.put(option.key, kept[option.ordinal()].get());
        }
        return counts;
    }

    /** Rule name to the number of connections it decided ("default": none matched), excluded ones included. */
    Map<String, Long> byRule() {
        Map<String, Long> counts = new TreeMap<>();
        byRule.forEach((rule, count) -> counts.put(rule, count.get()));
        return counts;
    }

    long excluded() {
        return excluded.get();
    }

    long notTcp() {
        return notTcp.get();
    }
}
