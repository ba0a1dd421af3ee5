package io.tcphardening.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The rules scene's expectations, read from its configuration ({@code demo/rules.properties}): which rule each
 * {@link Service} falls under and, from that rule's values (the global settings where it names none), how long the
 * application should take to notice the pulled cable. Worked out here from the file, not taken from the agent's log,
 * so that the table shows what was asked beside what happened.
 *
 * <p>The rule of a service is the first listed whose match has a {@code port=} term naming the service's port: the
 * demo's configuration tells its services apart by port alone, and this is no general matcher.
 */
final class RulesScene {

    /** The agent's defaults (README, "Configuration"). */
    private static final Map<String, String> DEFAULTS = Map.of("keepalive.idle", "60s", "keepalive.interval", "10s",
            "keepalive.count", "6", "user_timeout", "2m");

    private final Properties settings;

    RulesScene(Properties settings) {
        this.settings = settings;
    }

    /** The rule that decides connections to {@code service}, or null for the global settings. */
    String rule(Service service) {
        for (String name : settings.getProperty("rules", "").trim().split("[\\s,]+")) {
            String match = settings.getProperty("rule." + name + ".match", "");
            for (String term : match.trim().split("\\s+")) {
                if (term.startsWith("port=") && listsPort(term.substring("port=".length()), service.port)) {
                    return name;
                }
            }
        }
        return null;
    }

    private static boolean listsPort(String ports, int port) {
        for (String range : ports.split(",")) {
            String[] ends = range.split("-");
            if (port >= Integer.parseInt(ends[0].trim()) && port <= Integer.parseInt(ends[ends.length - 1].trim())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The value of {@code key} for connections under {@code rule} (null: the global settings), and where the file
     * gives none, the agent's default.
     */
    private String value(String rule, String key) {
        String value = rule == null ? null : settings.getProperty("rule." + rule + "." + key);
        return (value != null ? value : settings.getProperty(key, DEFAULTS.get(key))).trim();
    }

    /**
     * The latest an idle connection's application should hear of the pulled cable, counted from the last time the
     * peer was heard, as Linux decides it: probing starts after the idle time, one probe per interval; with a user
     * timeout the connection ends at the first probe due once it has passed, else after the count of probes.
     */
    long idleBoundMillis(String rule) {
        long idle = millis(value(rule, "keepalive.idle"));
        long interval = millis(value(rule, "keepalive.interval"));
        long userTimeout = millis(value(rule, "user_timeout"));
        if (userTimeout <= 0) {
            return idle + interval * Long.parseLong(value(rule, "keepalive.count"));
        }
        long probes = Math.max(1, (userTimeout - idle + interval - 1) / interval);
        return idle + probes * interval;
    }

    /** A busy connection: data unacknowledged for the user timeout ends it (checked when a retransmission is due). */
    long busyBoundMillis(String rule) {
        return millis(value(rule, "user_timeout"));
    }

    /** The longest bound of the scene: how long it is worth watching. */
    long longestBoundMillis() {
        long longest = 0;
        for (Service service : Service.values()) {
            String rule = rule(service);
            longest = Math.max(longest, Math.max(idleBoundMillis(rule), busyBoundMillis(rule)));
        }
        return longest;
    }

    /** "rule database [connect port=7011]: keepalive.idle=2s ...", one line per rule in use and the global settings. */
    String describe() {
        List<String> lines = new ArrayList<>();
        List<String> shown = new ArrayList<>();
        for (Service service : Service.values()) {
            String rule = rule(service);
            String name = rule == null ? "" : rule;
            if (!shown.contains(name)) {
                shown.add(name);
                lines.add("  " + (rule == null ? "global settings" : "rule " + rule + " ["
                        + settings.getProperty("rule." + rule + ".match").trim() + "]") + ": " + values(rule));
            }
        }
        return String.join("\n", lines) + "\n";
    }

    private String values(String rule) {
        StringBuilder text = new StringBuilder();
        for (String key : new String[] {"keepalive.idle", "keepalive.interval", "keepalive.count", "user_timeout"}) {
            text.append(text.length() == 0 ? "" : " ").append(key).append('=').append(value(rule, key));
        }
        return text.toString();
    }

    /** The measured times beside their bounds, one row per connection. */
    String table(Map<String, Long> measured, long window) {
        StringBuilder text = new StringBuilder(String.format("%-26s %-18s %-5s %-22s %s%n", "connection", "decided by",
                "state", "noticed after the pull", "bound"));
        for (Service service : Service.values()) {
            String rule = rule(service);
            for (Connection.State state : Connection.State.values()) {
                long ms = measured.getOrDefault(service + " " + state, -1L);
                boolean idle = state == Connection.State.IDLE;
                long bound = idle ? idleBoundMillis(rule) : busyBoundMillis(rule);
                String how = idle ? "keepalive, from the last exchange" : "user_timeout (+ one retransmission timeout)";
                text.append(String.format("%-26s %-18s %-5s %-22s %s%n", service.label,
                        rule == null ? "global settings" : "rule " + rule, state.name().toLowerCase(),
                        ms < 0 ? "still waiting after " + window / 1000 + " s" : String.format("%.1f s", ms / 1000.0),
                        String.format("%.1f s, %s", bound / 1000.0, how)));
            }
        }
        return text.toString();
    }

    /** "250ms", "5s", "2m", "1h" in milliseconds; 0 for what is not a duration (unset, {@code unchanged}). */
    static long millis(String duration) {
        String value = duration.trim();
        long factor;
        String number;
        if (value.endsWith("ms")) {
            factor = 1;
            number = value.substring(0, value.length() - 2);
        } else if (value.endsWith("s")) {
            factor = 1000;
            number = value.substring(0, value.length() - 1);
        } else if (value.endsWith("m")) {
            factor = 60_000;
            number = value.substring(0, value.length() - 1);
        } else if (value.endsWith("h")) {
            factor = 3_600_000;
            number = value.substring(0, value.length() - 1);
        } else {
            return 0;
        }
        try {
            return Long.parseLong(number.trim()) * factor;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
