package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.Match;
import io.tcphardening.agent.settings.Rule;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Valid settings that make little sense, each said with what happens and what to set instead: what {@code check}
 * prints after the detection times. Warnings never stop the agent; {@code check --strict} turns them into exit
 * status 1 for deployment pipelines.
 */
final class ConfigWarnings {

    /** Below the kernel's initial retransmission timeout (TCP_TIMEOUT_INIT, 1 s), one lost SYN fails a connect. */
    private static final long SHORTEST_SENSIBLE_USER_TIMEOUT_MILLIS = 1000;

    private ConfigWarnings() {
        // no instances
    }

    static List<String> of(Settings settings, DeadPeerDetection detection) {
        List<String> warnings = new ArrayList<>();
        if (!settings.setsAnything()) {
            warnings.add("every option is unchanged: the agent sets nothing on any connection; set at least"
                    + " keepalive=true and user_timeout");
            warnings.addAll(unreachableRules(settings));
            return warnings;
        }
        DeadPeerDetection.Keepalive keepalive = detection.keepalive();
        boolean probed = keepalive != DeadPeerDetection.Keepalive.OFF;
        boolean keepaliveValuesSet = settings.isSet(TcpOption.KEEPIDLE) || settings.isSet(TcpOption.KEEPINTVL)
                || settings.isSet(TcpOption.KEEPCNT);
        long userTimeout = detection.userTimeoutMillis();
        long keepaliveBound = detection.keepaliveBoundMillis();
        String sum = "keepalive.idle + keepalive.count × keepalive.interval = "
                + DeadPeerDetection.duration(detection.idleMillis()) + " + " + detection.count() + " × "
                + DeadPeerDetection.duration(detection.intervalMillis()) + " = "
                + DeadPeerDetection.duration(keepaliveBound);

        if (keepalive == DeadPeerDetection.Keepalive.OFF) {
            warnings.add("keepalive=false turns SO_KEEPALIVE off on every connection, also where the application"
                    + " turned it on: an idle connection to a dead peer is never noticed"
                    + (keepaliveValuesSet ? ", and keepalive.idle, keepalive.interval and keepalive.count have no"
                    + " effect" : "") + "; set keepalive=true, or keepalive=unchanged to leave it to the application");
        } else if (keepalive == DeadPeerDetection.Keepalive.UP_TO_THE_APPLICATION && keepaliveValuesSet) {
            warnings.add("keepalive=unchanged: keepalive.idle, keepalive.interval and keepalive.count bound only the"
                    + " connections whose application turns SO_KEEPALIVE on, and the JDK leaves it off; set"
                    + " keepalive=true to bound every idle connection");
        }
        long probes = detection.probesUntilEnd();
        if (probed && userTimeout > 0 && probes < detection.count()) {
            warnings.add("user_timeout " + DeadPeerDetection.duration(userTimeout) + " is shorter than " + sum
                    + ": Linux then ends an idle connection after " + probes + " unanswered probe"
                    + (probes == 1 ? " (one lost probe ends a healthy connection)" : "s") + " instead of "
                    + detection.count() + ", at " + DeadPeerDetection.duration(detection.idleDetectionMillis())
                    + "; set user_timeout=" + configValue(keepaliveBound) + " to let every probe count, or"
                    + " keepalive.count=" + probes + " to say what happens");
        }
        if (probed && userTimeout > 0 && probes > detection.count()) {
            warnings.add("user_timeout " + DeadPeerDetection.duration(userTimeout) + " is longer than " + sum
                    + ": Linux then keeps probing an idle connection until user_timeout has passed, "
                    + probes + " probes instead of keepalive.count " + detection.count()
                    + ", and ends it at " + DeadPeerDetection.duration(detection.idleDetectionMillis()) + "; set"
                    + " user_timeout=" + configValue(keepaliveBound) + " if idle connections should end at "
                    + DeadPeerDetection.duration(keepaliveBound));
        }
        if (probed && userTimeout == 0 && detection.count() == 1) {
            warnings.add("keepalive.count=1: one lost probe ends a healthy idle connection; use 3 or more");
        }
        if (userTimeout == 0) {
            String setting = settings.isSet(TcpOption.USER_TIMEOUT) ? "user_timeout=0ms"
                    : "user_timeout=unchanged (the JDK cannot set TCP_USER_TIMEOUT, so applications rarely do)";
            warnings.add(setting + ": a connection with unacknowledged data sends no keepalive probes and ends only"
                    + " after " + detection.retransmissionLimit() + "; set user_timeout="
                    + configValue(probed ? keepaliveBound : 120_000) + (probed ? " (keepalive.idle +"
                    + " keepalive.count × keepalive.interval)" : "") + " to bound busy connections too");
        } else if (userTimeout < SHORTEST_SENSIBLE_USER_TIMEOUT_MILLIS) {
            warnings.add("user_timeout " + DeadPeerDetection.duration(userTimeout) + " is shorter than the kernel's"
                    + " first retransmission of a SYN (1s): one lost SYN fails a connect, and two lost segments"
                    + " in a row end a healthy connection; use a few seconds at least");
        }
        warnings.addAll(unreachableRules(settings));
        return warnings;
    }

    /**
     * What may go wrong only with many connections, which {@code check} cannot count: printed as notes, which
     * {@code --strict} does not count (the defaults themselves get one).
     */
    static List<String> notes(Settings settings) {
        String loopback = loopbackProbes(settings);
        return loopback == null ? List.of() : List.of(loopback);
    }

    /**
     * Keepalive on for the connections a listener accepts from loopback: a server with thousands of them (a sidecar,
     * a local proxy) has both ends of each probing, and connections opened in one burst probe in the same instant.
     * Loopback drops what exceeds its backlog (net.core.netdev_max_backlog), and TCP_USER_TIMEOUT then ends healthy
     * connections whose probes were dropped: measured here, 47 % of 19,900. Loopback peers do not vanish silently.
     */
    static String loopbackProbes(Settings settings) {
        if (settings.keepaliveJitter() > 0) {
            return null;  // spread: the probes no longer fall due together
        }
        for (String address : new String[] {"127.0.0.1", "::1"}) {
            Decision decision = settings.decide(true, Match.address(address), 50_000, 8080, null);
            if (decision.value(TcpOption.KEEPALIVE) == 1) {
                return "keepalive is on for connections a listener accepts from loopback (" + address + ", rule "
                        + decision.rule() + "): with thousands of them, probes that fall due together overflow"
                        + " loopback's backlog and the user timeout ends healthy connections; leave them alone with"
                        + " a rule listed first: rules = loopback ...; rule.loopback.match = accept"
                        + " remote=127.0.0.0/8,::1; rule.loopback.keepalive = unchanged; rule.loopback.keepalive.idle"
                        + " = unchanged; rule.loopback.keepalive.interval = unchanged; rule.loopback.keepalive.count"
                        + " = unchanged; rule.loopback.user_timeout = unchanged (or set keepalive.jitter=10%)";
            }
        }
        return null;
    }

    /**
     * A rule that an earlier rule covers ({@code Match.covers}) can never decide a connection: the earlier one
     * matches every connection it does, and the first that matches decides. Most likely the two are listed in the
     * wrong order, the narrower meant first.
     */
    static List<String> unreachableRules(Settings settings) {
        List<String> warnings = new ArrayList<>();
        List<Rule> rules = settings.rules();
        Map<String, String> sources = settings.sources();
        for (int later = 1; later < rules.size(); later++) {
            for (int earlier = 0; earlier < later; earlier++) {
                Rule covering = rules.get(earlier);
                Rule covered = rules.get(later);
                if (covering.match().covers(covered.match())) {
                    warnings.add("rule " + covered.name() + " can never match: rule " + covering.name() + ", tried"
                            + " before it, matches every connection it does (" + CheckCommand.matchAsGiven(covering,
                            sources) + ", " + CheckCommand.matchAsGiven(covered, sources) + "); list "
                            + covered.name() + " before " + covering.name() + " in rules (" + sources.get("rules")
                            + "), or remove it");
                    break;  // one reason is enough
                }
            }
        }
        return warnings;
    }

    /** A duration the way agent.properties writes it: "120s", or "1500ms" when not whole seconds. */
    private static String configValue(long millis) {
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
}
