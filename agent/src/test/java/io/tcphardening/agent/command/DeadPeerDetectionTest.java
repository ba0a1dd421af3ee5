package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worst-case detection times {@code check} prints, against values computed by hand from Linux's
 * tcp_keepalive_timer (idle) and tcp_write_timeout / tcp_model_timeout (busy), and the warnings each questionable
 * configuration gets. The cable-pull test measures the same rules on real connections.
 */
class DeadPeerDetectionTest {

    /** Kernel values unlike the agent's, so that a test shows which one a figure used. */
    private static final KernelDefaults KERNEL = new KernelDefaults(7200, 75, 9, 15, true);

    private static DeadPeerDetection detection(String args) throws ConfigException {
        return new DeadPeerDetection(SettingsLoader.load(args, Map.of(), Map.of(), null).defaults(), KERNEL);
    }

    private static List<String> warnings(String args) throws ConfigException {
        Settings settings = SettingsLoader.load(args, Map.of(), Map.of(), null);
        return ConfigWarnings.of(settings, new DeadPeerDetection(settings.defaults(), KERNEL));
    }

    @ParameterizedTest(name = "{0}: {1} probes, idle ends at {2} ms")
    @CsvSource(delimiter = '|', value = {
        // without user_timeout: idle + count × interval
        "user_timeout=0ms                                                                  | 6  | 120000",
        "keepalive.idle=5s,keepalive.interval=2s,keepalive.count=3,user_timeout=0ms        | 3  | 11000",
        // with it, the first probe due once user_timeout has passed, whatever keepalive.count says
        "''                                                                                | 6  | 120000",
        "keepalive.idle=5s,keepalive.interval=2s,keepalive.count=3,user_timeout=10s        | 3  | 11000",
        "user_timeout=30s                                                                  | 1  | 70000",
        "user_timeout=60s                                                                  | 1  | 70000",
        "user_timeout=61s                                                                  | 1  | 70000",
        "user_timeout=71s                                                                  | 2  | 80000",
        "user_timeout=125s                                                                 | 7  | 130000",
        "user_timeout=300s                                                                 | 24 | 300000",
        "user_timeout=500ms                                                                | 1  | 70000",
        // unchanged options have the kernel's values (unless the application sets its own)
        "keepalive.idle=unchanged,user_timeout=0ms                                         | 6  | 7260000",
        "keepalive.idle=unchanged,keepalive.interval=unchanged,keepalive.count=unchanged,user_timeout=unchanged | 9 | 7875000",
    })
    void idleConnectionsEndWhereLinuxEndsThem(String args, long probes, long idleMillis) throws ConfigException {
        DeadPeerDetection detection = detection(args);
        assertEquals(probes, detection.probesUntilEnd(), args);
        assertEquals(idleMillis, detection.idleDetectionMillis(), args);
    }

    @Test
    void linesSayTheTimeAndWhy() throws ConfigException {
        DeadPeerDetection defaults = detection("");
        assertEquals("120s (2m) = keepalive.idle 60s + 6 × keepalive.interval 10s, at the 6th unanswered probe:"
                + " keepalive.count 6, and user_timeout 120s (2m) agrees", defaults.idle());
        assertTrue(defaults.busy().startsWith("about 120s (2m) = user_timeout"), defaults.busy());

        DeadPeerDetection short_ = detection("user_timeout=30s");
        assertEquals("70s (1m 10s) = keepalive.idle 60s + 1 × keepalive.interval 10s, at the 1st unanswered probe:"
                + " user_timeout 30s decides, not keepalive.count 6 (Linux ends the connection at the first probe due"
                + " once user_timeout has passed)", short_.idle());
        assertTrue(detection("user_timeout=300s").idle().startsWith("300s (5m) = keepalive.idle 60s + 24 ×"
                + " keepalive.interval 10s, at the 24th unanswered probe"), detection("user_timeout=300s").idle());

        assertEquals("never: keepalive=false turns keepalive off, so nothing probes a silent connection",
                detection("keepalive=false").idle());
        assertTrue(detection("keepalive=unchanged").idle().startsWith("never if the application leaves SO_KEEPALIVE"
                + " off (the JDK's default); if it turns it on, 120s (2m) = "), detection("keepalive=unchanged").idle());
        assertTrue(detection("keepalive.idle=unchanged,user_timeout=0ms").idle().contains("keepalive.idle 7200s (2h)"
                + " (unchanged: the application's value, else the kernel's tcp_keepalive_time)"));

        String noUserTimeout = detection("user_timeout=0ms").busy();
        assertTrue(noUserTimeout.startsWith("about 15 min (tcp_retries2=15: 924.6s (15m 24.6s) of retransmissions"),
                noUserTimeout);
        assertTrue(detection("user_timeout=unchanged").busy().startsWith("the application's TCP_USER_TIMEOUT if it"
                + " sets one, else about 15 min"));
    }

    @Test
    void aRuleHasItsOwnTimesFromItsValuesAndTheGlobalOnesItDoesNotName() throws ConfigException {
        Settings settings = SettingsLoader.load("keepalive.interval=5s,rules=db side,rule.db.match=connect,"
                + "rule.db.keepalive.idle=10s,rule.db.user_timeout=15s,rule.side.match=accept,"
                + "rule.side.user_timeout=unchanged", Map.of(), Map.of(), null);
        // db: 10 s idle, the global 5 s interval; 15 s of user_timeout is reached at the 1st probe, 10 + 5 = 15 s
        DeadPeerDetection db = new DeadPeerDetection(settings.rules().get(0).decision(), KERNEL);
        assertEquals(1, db.probesUntilEnd());
        assertEquals(15_000, db.idleDetectionMillis());
        assertEquals("about 15s = user_timeout: data unacknowledged that long ends the connection (checked when a"
                + " retransmission is due: allow a little more)", db.busy());
        // side: the global 60 s idle and 5 s interval, and no user_timeout: 60 + 6 × 5 = 90 s; busy left to the kernel
        DeadPeerDetection side = new DeadPeerDetection(settings.rules().get(1).decision(), KERNEL);
        assertEquals(90_000, side.idleDetectionMillis());
        assertTrue(side.busy().startsWith("the application's TCP_USER_TIMEOUT if it sets one, else about 15 min"),
                side.busy());
        // and the global settings keep theirs: 60 + n × 5 reaching 120 s of user_timeout, n = 12
        assertEquals(120_000, new DeadPeerDetection(settings.defaults(), KERNEL).idleDetectionMillis());
    }

    @ParameterizedTest(name = "tcp_retries2={0}: {1} ms")
    @CsvSource({"15, 924600", "8, 102200", "3, 3000", "9, 204600", "10, 324600"})
    void retransmissionsGiveUpAfterTheKernelsModelTimeout(int retries2, long millis) {
        assertEquals(millis, new KernelDefaults(7200, 75, 9, retries2, true).retransmissionGiveUpMillis());
    }

    @ParameterizedTest(name = "{0} ms is {1}")
    @CsvSource(delimiter = '|', value = {"250 | 250ms", "11000 | 11s", "10500 | 10.5s", "60000 | 60s", "70000 | 70s (1m 10s)",
        "120000 | 120s (2m)", "7875000 | 7875s (2h 11m 15s)", "924600 | 924.6s (15m 24.6s)", "3600000 | 3600s (1h)"})
    void durationsReadLikeTheConfiguration(long millis, String text) {
        assertEquals(text, DeadPeerDetection.duration(millis));
    }

    @Test
    void sensibleConfigurationsHaveNoWarnings() throws ConfigException {
        assertEquals(List.of(), warnings(""));
        assertEquals(List.of(), warnings("keepalive.idle=5s,keepalive.interval=2s,keepalive.count=3,user_timeout=10s"));
        assertEquals(List.of(), warnings("user_timeout=111s"), "inside the last interval: the 6th probe still ends it");
    }

    @Test
    void eachQuestionableConfigurationGetsItsWarning() throws ConfigException {
        assertOne(warnings("user_timeout=30s"), "user_timeout 30s is shorter than keepalive.idle + keepalive.count ×"
                + " keepalive.interval = 60s + 6 × 10s = 120s (2m): Linux then ends an idle connection after 1"
                + " unanswered probe (one lost probe ends a healthy connection) instead of 6, at 70s (1m 10s); set"
                + " user_timeout=120s to let every probe count, or keepalive.count=1 to say what happens");
        assertOne(warnings("user_timeout=91s"), "after 4 unanswered probes instead of 6, at 100s (1m 40s)");
        assertOne(warnings("user_timeout=300s"), "user_timeout 300s (5m) is longer than keepalive.idle +"
                + " keepalive.count × keepalive.interval = 60s + 6 × 10s = 120s (2m): Linux then keeps probing an idle"
                + " connection until user_timeout has passed, 24 probes instead of keepalive.count 6, and ends it at"
                + " 300s (5m); set user_timeout=120s if idle connections should end at 120s (2m)");
        assertOne(warnings("user_timeout=0ms"), "user_timeout=0ms: a connection with unacknowledged data sends no"
                + " keepalive probes and ends only after about 15 min (tcp_retries2=15: 924.6s (15m 24.6s) of"
                + " retransmissions, up to 2 min more on a slow path); set user_timeout=120s (keepalive.idle +"
                + " keepalive.count × keepalive.interval) to bound busy connections too");
        assertOne(warnings("user_timeout=unchanged"), "user_timeout=unchanged (the JDK cannot set TCP_USER_TIMEOUT");
        assertOne(warnings("keepalive=unchanged"), "keepalive=unchanged: keepalive.idle, keepalive.interval and"
                + " keepalive.count bound only the connections whose application turns SO_KEEPALIVE on");
        List<String> oneProbe = warnings("keepalive.count=1,user_timeout=0ms");
        assertEquals(2, oneProbe.size(), oneProbe.toString());
        assertEquals("keepalive.count=1: one lost probe ends a healthy idle connection; use 3 or more", oneProbe.get(0));
        assertTrue(oneProbe.get(1).startsWith("user_timeout=0ms: "), oneProbe.toString());

        List<String> off = warnings("keepalive=false");
        assertOne(off, "keepalive=false turns SO_KEEPALIVE off on every connection, also where the application turned"
                + " it on: an idle connection to a dead peer is never noticed, and keepalive.idle, keepalive.interval"
                + " and keepalive.count have no effect; set keepalive=true, or keepalive=unchanged");

        List<String> tiny = warnings("user_timeout=500ms");
        assertEquals(2, tiny.size(), tiny.toString());
        assertTrue(tiny.get(0).contains("after 1 unanswered probe"), tiny.toString());
        assertTrue(tiny.get(1).startsWith("user_timeout 500ms is shorter than the kernel's first retransmission of a"
                + " SYN (1s)"), tiny.toString());

        List<String> nothing = warnings("keepalive=unchanged,keepalive.idle=unchanged,keepalive.interval=unchanged,"
                + "keepalive.count=unchanged,user_timeout=unchanged");
        assertEquals(List.of("every option is unchanged: the agent sets nothing on any connection; set at least"
                + " keepalive=true and user_timeout"), nothing);
    }

    /** Exactly one warning, and it starts with (or, for a fragment, contains) {@code text}. */
    private static void assertOne(List<String> warnings, String text) {
        assertEquals(1, warnings.size(), warnings.stream().collect(Collectors.joining("\n")));
        assertTrue(warnings.get(0).startsWith(text) || warnings.get(0).contains(text), warnings.get(0));
    }
}
