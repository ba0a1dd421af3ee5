package io.tcphardening.agent.settings;

import java.util.Locale;

/**
 * What happens to a value the application sets itself on one of the five options ({@code app.values}, globally and
 * per rule): the agent's replaces it, the stricter of the two stands, or the application's stands.
 */
public enum AppValues {
    /** The configured value replaces the application's (the default, and the agent's behaviour before rules). */
    REPLACE,
    /** The application's value stands where it detects a dead peer no later than the configured one. */
    STRICTER,
    /** Whatever the application writes stands; the configured value applies only until it writes. */
    KEEP;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    static AppValues byKey(String key) {
        for (AppValues policy : values()) {
            if (policy.key().equals(key)) {
                return policy;
            }
        }
        return null;
    }

    /**
     * The value the socket should hold when the application has written {@code application} and the rule says
     * {@code configured} ({@link Settings#UNCHANGED}: the agent does not manage the option, the application's stands).
     */
    public int hold(TcpOption option, int application, int configured) {
        if (configured == Settings.UNCHANGED || this == KEEP) {
            return application;
        }
        return this == REPLACE ? configured : stricter(option, application, configured);
    }

    /**
     * The value that detects a dead peer no later: keepalive on over off, the smaller idle time, interval and count,
     * the smaller user timeout where both are set (0 is the kernel's "no timeout").
     */
    static int stricter(TcpOption option, int a, int b) {
        if (option == TcpOption.KEEPALIVE) {
            return Math.max(a, b);
        }
        if (option == TcpOption.USER_TIMEOUT && (a == 0 || b == 0)) {
            return a == 0 ? b : a;
        }
        return Math.min(a, b);
    }
}
