package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.TcpOption;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The kernel's own values behind what the agent may leave unchanged, and behind a busy connection without
 * TCP_USER_TIMEOUT: read from {@code /proc/sys/net/ipv4} of the machine that runs {@code check}, else Linux's built-in
 * defaults (on another OS, or where {@code /proc/sys} is hidden). Only {@code check} uses this; the agent never does.
 */
final class KernelDefaults {

    /** Linux's compiled-in values: include/net/tcp.h. */
    static final KernelDefaults LINUX = new KernelDefaults(7200, 75, 9, 15, false);

    /** The retransmission timeout's floor and ceiling, TCP_RTO_MIN and TCP_RTO_MAX, in milliseconds. */
    private static final long RTO_MIN_MILLIS = 200;
    private static final long RTO_MAX_MILLIS = 120_000;

    /** tcp_keepalive_time, tcp_keepalive_intvl (seconds), tcp_keepalive_probes, tcp_retries2. */
    final int keepaliveTime;
    final int keepaliveInterval;
    final int keepaliveProbes;
    final int retries2;
    /** Whether the values were read from this machine, rather than Linux's built-in ones. */
    final boolean read;

    KernelDefaults(int keepaliveTime, int keepaliveInterval, int keepaliveProbes, int retries2, boolean read) {
        this.keepaliveTime = keepaliveTime;
        this.keepaliveInterval = keepaliveInterval;
        this.keepaliveProbes = keepaliveProbes;
        this.retries2 = retries2;
        this.read = read;
    }

    static KernelDefaults ofThisMachine() {
        Path dir = Paths.get("/proc/sys/net/ipv4");
        try {
            return new KernelDefaults(read(dir, "tcp_keepalive_time"), read(dir, "tcp_keepalive_intvl"),
                    read(dir, "tcp_keepalive_probes"), read(dir, "tcp_retries2"), true);
        } catch (IOException | RuntimeException e) {
            return LINUX;
        }
    }

    /** Line by line: procfs files report a size of zero, which whole-file reads can trip over. */
    private static int read(Path dir, String name) throws IOException {
        try (BufferedReader reader = Files.newBufferedReader(dir.resolve(name))) {
            return Integer.parseInt(reader.readLine().trim());
        }
    }

    /** The kernel's value of a keepalive option the agent leaves unchanged, in the option's unit. */
    int keepalive(TcpOption option) {
        switch (option) {
            case KEEPIDLE:
                return keepaliveTime;
            case KEEPINTVL:
                return keepaliveInterval;
            case KEEPCNT:
                return keepaliveProbes;
            default:
                throw new IllegalArgumentException(option.key);
        }
    }

    /** "tcp_keepalive_time", ..., the sysctl behind a keepalive option. */
    static String sysctl(TcpOption option) {
        switch (option) {
            case KEEPIDLE:
                return "tcp_keepalive_time";
            case KEEPINTVL:
                return "tcp_keepalive_intvl";
            case KEEPCNT:
                return "tcp_keepalive_probes";
            default:
                throw new IllegalArgumentException(option.key);
        }
    }

    /**
     * How long a connection with unacknowledged data and no TCP_USER_TIMEOUT retransmits before the kernel gives up:
     * {@code tcp_model_timeout()} of net/ipv4/tcp_timer.c, the doubling retransmission timeout from its 200 ms floor
     * up to its 120 s ceiling, {@code tcp_retries2} times. A path with a longer round trip retransmits more slowly and
     * can take up to one ceiling (2 min) more, since the kernel checks at a retransmission.
     */
    long retransmissionGiveUpMillis() {
        int linearBackoffThreshold = 31 - Integer.numberOfLeadingZeros((int) (RTO_MAX_MILLIS / RTO_MIN_MILLIS));
        if (retries2 <= linearBackoffThreshold) {
            return ((2L << retries2) - 1) * RTO_MIN_MILLIS;
        }
        return ((2L << linearBackoffThreshold) - 1) * RTO_MIN_MILLIS
                + (retries2 - linearBackoffThreshold) * RTO_MAX_MILLIS;
    }
}
