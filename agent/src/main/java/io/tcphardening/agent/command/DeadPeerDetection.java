package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.TcpOption;

/**
 * The worst case until Linux tells the application that its peer is gone, under the five values of one
 * {@link Decision} (a rule's, or the global settings' as {@code Settings.defaults()} gives them), for a connection that
 * is idle (nothing in flight: only keepalive can notice) and for one that is busy (data left unacknowledged: keepalive
 * probes stop, only TCP_USER_TIMEOUT or the kernel's retransmission limit can end it). What {@code check} prints,
 * counted from the last moment the peer was heard.
 *
 * <p>Linux's rules (net/ipv4/tcp_timer.c):
 * <ul>
 *   <li>{@code tcp_keepalive_timer}: the first probe goes out after {@code keepalive.idle} of silence, the next ones
 *   {@code keepalive.interval} apart. Without TCP_USER_TIMEOUT the connection ends when the timer finds
 *   {@code keepalive.count} probes unanswered: idle + count × interval. With TCP_USER_TIMEOUT set, the count is not
 *   looked at: the connection ends at the first run of the timer, at least one probe out, that finds user_timeout
 *   elapsed since the peer was last heard: idle + n × interval for the smallest n ≥ 1 with that sum ≥ user_timeout.
 *   So a user_timeout shorter than idle ends the connection one interval after the first probe.</li>
 *   <li>{@code tcp_write_timeout}: unacknowledged data ends the connection after user_timeout if it is set, else
 *   after {@code tcp_retries2} retransmissions ({@link KernelDefaults#retransmissionGiveUpMillis}).</li>
 * </ul>
 * An option left {@code unchanged} has the application's value if it sets one, else the kernel's, which is what this
 * assumes, reading the kernel's from the machine that runs {@code check}.
 */
final class DeadPeerDetection {

    /** Whether idle connections are probed at all. */
    enum Keepalive {
        ON, OFF, UP_TO_THE_APPLICATION
    }

    private final Decision values;
    private final KernelDefaults kernel;

    DeadPeerDetection(Decision values, KernelDefaults kernel) {
        this.values = values;
        this.kernel = kernel;
    }

    Keepalive keepalive() {
        if (!values.isSet(TcpOption.KEEPALIVE)) {
            return Keepalive.UP_TO_THE_APPLICATION;
        }
        return values.value(TcpOption.KEEPALIVE) != 0 ? Keepalive.ON : Keepalive.OFF;
    }

    /** The configured value of keepalive.idle, .interval or .count, else the kernel's. */
    int keepalive(TcpOption option) {
        return values.isSet(option) ? values.value(option) : kernel.keepalive(option);
    }

    long idleMillis() {
        return keepalive(TcpOption.KEEPIDLE) * 1000L;
    }

    long intervalMillis() {
        return keepalive(TcpOption.KEEPINTVL) * 1000L;
    }

    int count() {
        return keepalive(TcpOption.KEEPCNT);
    }

    /** TCP_USER_TIMEOUT in milliseconds: 0 when it is 0 (the kernel's rule) or left unchanged (the kernel's 0). */
    long userTimeoutMillis() {
        return values.isSet(TcpOption.USER_TIMEOUT) ? values.value(TcpOption.USER_TIMEOUT) : 0;
    }

    /** What keepalive alone promises: idle + count × interval. */
    long keepaliveBoundMillis() {
        return idleMillis() + count() * intervalMillis();
    }

    /** The number of unanswered probes after which Linux ends an idle connection (see the class comment). */
    long probesUntilEnd() {
        long userTimeout = userTimeoutMillis();
        if (userTimeout == 0) {
            return count();
        }
        long beyondIdle = userTimeout - idleMillis();
        return Math.max(1, (beyondIdle + intervalMillis() - 1) / intervalMillis());
    }

    /** When an idle connection to a dead peer ends, if keepalive probes it: idle + probes × interval. */
    long idleDetectionMillis() {
        return idleMillis() + probesUntilEnd() * intervalMillis();
    }

    /** One line: when an idle connection notices, and why. */
    String idle() {
        if (keepalive() == Keepalive.OFF) {
            return "never: keepalive=false turns keepalive off, so nothing probes a silent connection";
        }
        long probes = probesUntilEnd();
        String bound = duration(idleDetectionMillis()) + " = " + term(TcpOption.KEEPIDLE) + " + " + probes + " × "
                + term(TcpOption.KEEPINTVL) + ", at the " + ordinal(probes) + " unanswered probe: " + why();
        if (keepalive() == Keepalive.UP_TO_THE_APPLICATION) {
            return "never if the application leaves SO_KEEPALIVE off (the JDK's default); if it turns it on, " + bound;
        }
        return bound;
    }

    private String why() {
        long userTimeout = userTimeoutMillis();
        if (userTimeout == 0) {
            return term(TcpOption.KEEPCNT) + (values.isSet(TcpOption.USER_TIMEOUT) ? ""
                    : ", if the application sets no TCP_USER_TIMEOUT (the JDK cannot)");
        }
        if (probesUntilEnd() == count()) {
            return term(TcpOption.KEEPCNT) + ", and user_timeout " + duration(userTimeout) + " agrees";
        }
        return "user_timeout " + duration(userTimeout) + " decides, not keepalive.count " + count() + " (Linux ends"
                + " the connection at the first probe due once user_timeout has passed)";
    }

    private static String ordinal(long n) {
        long lastTwo = n % 100;
        String suffix = lastTwo >= 11 && lastTwo <= 13 ? "th"
                : n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
        return n + suffix;
    }

    /** One line: when a connection with unacknowledged data notices, and why. */
    String busy() {
        long userTimeout = userTimeoutMillis();
        if (userTimeout > 0) {
            return "about " + duration(userTimeout) + " = user_timeout: data unacknowledged that long ends the"
                    + " connection (checked when a retransmission is due: allow a little more)";
        }
        String retries = retransmissionLimit();
        return values.isSet(TcpOption.USER_TIMEOUT)
                ? retries + "; user_timeout 0ms leaves it to the kernel, and keepalive does not help a busy connection"
                : "the application's TCP_USER_TIMEOUT if it sets one, else " + retries;
    }

    /** "about 15 min (tcp_retries2=15: 924.6s of retransmissions, ...)". */
    String retransmissionLimit() {
        long millis = kernel.retransmissionGiveUpMillis();
        return "about " + Math.round(millis / 60_000.0) + " min (tcp_retries2=" + kernel.retries2
                + (kernel.read ? "" : ", Linux's default") + ": " + duration(millis)
                + " of retransmissions, up to 2 min more on a slow path)";
    }

    /** "keepalive.idle 60s", or "keepalive.idle 7200s (unchanged: the kernel's tcp_keepalive_time)". */
    String term(TcpOption option) {
        int value = keepalive(option);
        String text = option.key + " " + (option.unit == TcpOption.Unit.SECONDS ? duration(value * 1000L) : value);
        return values.isSet(option) ? text : text + " (unchanged: the application's value, else the kernel's "
                + KernelDefaults.sysctl(option) + (kernel.read ? "" : ", Linux's default") + ")";
    }

    /** "250ms", "11s", "10.5s", "60s", "70s (1m 10s)", "7875s (2h 11m 15s)". */
    static String duration(long millis) {
        if (millis < 1000) {
            return millis + "ms";
        }
        String seconds = seconds(millis);
        if (millis <= 60_000) {
            return seconds;
        }
        StringBuilder human = new StringBuilder();
        long hours = millis / 3_600_000;
        long minutes = millis / 60_000 % 60;
        long rest = millis % 60_000;
        if (hours > 0) {
            human.append(hours).append('h');
        }
        if (minutes > 0) {
            human.append(human.length() > 0 ? " " : "").append(minutes).append('m');
        }
        if (rest > 0) {
            human.append(human.length() > 0 ? " " : "").append(seconds(rest));
        }
        return seconds + " (" + human + ")";
    }

    private static String seconds(long millis) {
        long fraction = millis % 1000;
        if (fraction == 0) {
            return millis / 1000 + "s";
        }
        String digits = Long.toString(1000 + fraction).substring(1);
        while (digits.endsWith("0")) {
            digits = digits.substring(0, digits.length() - 1);
        }
        return millis / 1000 + "." + digits + "s";
    }
}
