package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code check --explain}: the connection as the operator writes it, the rule the agent's own decision picks, and
 * where each value comes from; and one line for every way the connection can be written wrong.
 */
class ExplanationTest {

    @TempDir
    Path tmp;

    private Path file;

    private Settings contract() throws IOException, ConfigException {
        file = Files.writeString(tmp.resolve("rules.properties"), CheckCommandTest.CONTRACT);
        return SettingsLoader.load("config=" + file, Map.of(), Map.of(), null);
    }

    private static List<String> explain(Settings settings, String connection) {
        return Explanation.parse(Arrays.asList(connection.split(" "))).lines(settings, KernelDefaults.LINUX);
    }

    @Test
    void aConnectionARuleDecides() throws Exception {
        List<String> lines = explain(contract(), "connect 10.1.2.3:5432");
        assertEquals(List.of(
                "connect to 10.1.2.3:5432: rule db decides, rule.db.match = 'connect remote=10.0.0.0/8,fd00::/8"
                        + " port=5432,6432' (" + file + ":2)",
                "  keepalive=true (global: default)",
                "  keepalive.idle=10s (rule.db.keepalive.idle, " + file + ":3)",
                "  keepalive.interval=10s (global: default)",
                "  keepalive.count=6 (global: default)",
                "  user_timeout=15000ms (rule.db.user_timeout, " + file + ":4)",
                "  app.values=stricter (rule.db.app.values, " + file + ":5): the application's own value stands where"
                        + " it notices a dead peer no later",
                "worst case to notice a dead peer (Linux), from the last time it was heard:",
                // 10 s idle, 10 s interval: user_timeout's 15 s is passed at the first probe
                "  idle connection: 20s = keepalive.idle 10s + 1 × keepalive.interval 10s, at the 1st unanswered"
                        + " probe: user_timeout 15s decides, not keepalive.count 6 (Linux ends the connection at the"
                        + " first probe due once user_timeout has passed)",
                "  busy connection: about 15s = user_timeout: data unacknowledged that long ends the connection"
                        + " (checked when a retransmission is due: allow a little more)"), lines);
    }

    @Test
    void anAcceptedIpv6ConnectionAfterARuleThatDidNotMatch() throws Exception {
        List<String> lines = explain(contract(), "accept local-port=8443 remote=[fd00::1]:40000");
        assertEquals("accept on local port 8443 from [fd00::1]:40000: rule inbound decides, rule.inbound.match ="
                + " 'accept local-port=8443' (" + file + ":6); tried before it, not matching: db", lines.get(0));
        assertEquals("  user_timeout=300000ms (rule.inbound.user_timeout, " + file + ":7)", lines.get(5));
        assertEquals("  app.values=replace (global: " + file + ":14): these values replace the application's own",
                lines.get(6));
        assertTrue(lines.get(8).startsWith("  idle connection: 300s (5m) = keepalive.idle 60s + 24 ×"), lines.get(8));
        // the same peer on a connection the application makes: db, by remote= fd00::/8 and port= 6432
        assertTrue(explain(contract(), "connect [fd00::1]:6432").get(0).contains(": rule db decides"));
        assertTrue(explain(contract(), "accept local-port=8443 remote=[fd00::1]").get(0)
                .startsWith("accept on local port 8443 from [fd00::1] (no port given: no port= matches): rule inbound"
                        + " decides"));
    }

    @Test
    void anIpv4MappedPeerIsMatchedAsIpv4AndALeftAloneRuleSaysSo() throws Exception {
        List<String> lines = explain(contract(), "connect [::ffff:127.0.0.1]:8080");
        assertEquals("connect to [::ffff:127.0.0.1]:8080 (IPv4-mapped: matched as 127.0.0.1): rule sidecar decides,"
                + " rule.sidecar.match = 'remote=127.0.0.0/8,::1' (" + file + ":8); tried before it, not matching:"
                + " db, inbound", lines.get(0));
        assertEquals("  the agent leaves it alone: it sets none of the five options, and the application's values,"
                + " else the kernel's, stand", lines.get(1));
        assertEquals("  keepalive=unchanged (rule.sidecar.keepalive, " + file + ":9)", lines.get(2));
        assertEquals("  app.values=replace (global: " + file + ":14): it has nothing to hold, every option being"
                + " unchanged", lines.get(7));
        assertTrue(lines.get(9).startsWith("  idle connection: never if the application leaves SO_KEEPALIVE off"),
                lines.get(9));
    }

    @Test
    void aConnectionNoRuleMatchesGetsTheGlobalSettings() throws Exception {
        List<String> lines = explain(contract(), "connect 192.0.2.1:5432");
        assertEquals("connect to 192.0.2.1:5432: no rule matches (tried db, inbound, sidecar): the global settings"
                + " decide", lines.get(0));
        assertEquals("  keepalive.idle=60s (default)", lines.get(2));
        assertEquals("  app.values=replace (" + file + ":14): these values replace the application's own",
                lines.get(6));
        Settings none = SettingsLoader.load("user_timeout=30s", Map.of(), Map.of(), null);
        List<String> noRules = explain(none, "accept local-port=80 remote=192.0.2.1:40000");
        assertEquals("accept on local port 80 from 192.0.2.1:40000: there are no rules: the global settings decide",
                noRules.get(0));
        assertEquals("  user_timeout=30000ms (agent argument)", noRules.get(5));
    }

    @Test
    void hostNamesAreMatchedWithoutCaseAndOnlyWhereGiven() throws Exception {
        Settings settings = SettingsLoader.load("rules=internal,rule.internal.match=connect host=*.internal,"
                + "rule.internal.keepalive.idle=20s", Map.of(), Map.of(), null);
        assertEquals("connect to 10.1.2.3:5432 (host name DB.Internal): rule internal decides, rule.internal.match ="
                + " 'connect host=*.internal' (agent argument)",
                explain(settings, "connect 10.1.2.3:5432 host=DB.Internal").get(0));
        assertEquals("connect to 10.1.2.3:5432 (no host name: no host= matches): no rule matches (tried internal):"
                + " the global settings decide", explain(settings, "connect 10.1.2.3:5432").get(0));
        assertTrue(explain(settings, "connect host=db.internal 10.1.2.3:5432").get(0).contains("rule internal"),
                "in either order");
    }

    @Test
    void theFirstRuleThatMatchesDecidesEvenWhereALaterOneFitsBetter() throws Exception {
        Settings settings = SettingsLoader.load("rules=wide narrow,rule.wide.match=remote=10.0.0.0/8,"
                + "rule.narrow.match=connect remote=10.1.2.3 port=5432", Map.of(), Map.of(), null);
        assertTrue(explain(settings, "connect 10.1.2.3:5432").get(0).startsWith("connect to 10.1.2.3:5432: rule wide"
                + " decides"));
    }

    @ParameterizedTest(name = "[{0}]")
    @CsvSource(delimiter = '|', value = {
        "''                                     | it needs a connection: connect ADDRESS:PORT [host=NAME], or accept"
                + " local-port=PORT remote=ADDRESS[:PORT] (an IPv6 address in brackets: [fd00::1]:5432)",
        "listen 10.1.2.3:5432                   | 'listen' is not connect or accept; write connect ADDRESS:PORT",
        "connect                                | connect needs the peer's ADDRESS:PORT; for example connect"
                + " 10.1.2.3:5432",
        "connect 10.1.2.3                       | '10.1.2.3' has no port: connect needs the peer's ADDRESS:PORT, for"
                + " example 10.1.2.3:5432 or [fd00::1]:5432",
        "connect [fd00::1]                      | '[fd00::1]' has no port",
        "connect db.example.com:5432            | 'db.example.com' is not an IP address: --explain takes the address a"
                + " connection has and never looks a name up; give the name the application used as host=NAME"
                + " beside it",
        "connect localhost:80                   | 'localhost' is not an IP address",
        "connect 10.1.2.256:80                  | '10.1.2.256' is not an IP address",
        "connect fd00::1:5432                   | 'fd00::1:5432': write an IPv6 address in brackets, the port after"
                + " them, for example [fd00::1]:5432",
        "connect [fd00::1]x                     | '[fd00::1]x' has 'x' after its address, where only :PORT may follow",
        "connect [fd00::1:5432                  | '[fd00::1:5432' is not [IPv6 ADDRESS] or [IPv6 ADDRESS]:PORT",
        "connect [10.1.2.3]:5432                | '[10.1.2.3]:5432' is not [IPv6 ADDRESS] or [IPv6 ADDRESS]:PORT",
        "connect [fd00::1%eth0]:5432            | 'fd00::1%eth0' is not an IP address",
        "connect 10.1.2.3:0                     | the peer's port '0' is not a port (1 to 65535)",
        "connect 10.1.2.3:65536                 | the peer's port '65536' is not a port (1 to 65535)",
        "connect 10.1.2.3:                      | the peer's port '' is not a port (1 to 65535)",
        "connect 10.1.2.3:5432 10.1.2.4:5432    | the peer's ADDRESS:PORT is given twice ('10.1.2.3:5432' and"
                + " '10.1.2.4:5432'); one connection has one",
        "connect 10.1.2.3:5432 host=a host=b    | host= is given twice ('a' and 'b'); one connection has one",
        "connect 10.1.2.3:5432 host=*.internal  | host='*.internal' is not a host name (letters, digits, '.', '-' and"
                + " '_'; globs belong in a rule's match)",
        "connect 10.1.2.3:5432 host=            | host='' is not a host name",
        "connect 10.1.2.3:5432 local-port=8443  | local-port= is the listener's port of an accepted connection",
        "connect remote=10.1.2.3:5432           | connect takes the peer without remote=: connect ADDRESS:PORT"
                + " [host=NAME], for example connect 10.1.2.3:5432",
        "connect 10.1.2.3:5432 port=5432        | 'port=5432' is not part of a connection",
        "connect 10.1.2.3:5432 --json           | '--json' is not part of a connection",
        "accept local-port=8443                 | accept needs remote=ADDRESS[:PORT], the peer; for example accept"
                + " local-port=8443 remote=10.1.2.3",
        "accept remote=10.1.2.3                 | accept needs local-port=PORT, the listener's port",
        "accept local-port=x remote=10.1.2.3    | local-port='x' is not a port (1 to 65535)",
        "accept local-port=8443 10.1.2.3        | accept takes the peer as remote=ADDRESS[:PORT], beside"
                + " local-port=PORT, not '10.1.2.3'",
        "accept local-port=8443 remote=10.1.2.3 host=a | host= is the name the application connected to: an"
                + " accepted connection has none",
        "accept local-port=1 local-port=2 remote=10.1.2.3 | local-port= is given twice ('1' and '2')",
        "accept local-port=8443 remote=fd00::1  | 'fd00::1': write an IPv6 address in brackets",
    })
    void eachMistakeIsOneLineSayingWhatToWrite(String connection, String message) {
        List<String> words = connection.isEmpty() ? List.of() : Arrays.asList(connection.split(" "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Explanation.parse(words));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void theCommandAnswersAndStillWarns() throws Exception {
        contract();
        CheckCommandTest.Run run = CheckCommandTest.check("config=" + file, "--explain", "connect", "10.1.2.3:5432");
        assertEquals(0, run.status, run.toString());
        assertTrue(run.out.startsWith("connect to 10.1.2.3:5432: rule db decides"), run.toString());
        assertFalse(run.out.contains("valid:"), "the explanation instead of the listing: " + run);
        assertFalse(run.out.contains("no warnings"), run.toString());

        String[] hidden = {"rules=a b", "rule.a.match=accept", "rule.b.match=local-port=8443", "--explain", "accept",
            "local-port=8443", "remote=192.0.2.1"};
        CheckCommandTest.Run warned = CheckCommandTest.check(hidden);
        assertEquals(0, warned.status, warned.toString());
        assertTrue(warned.out.startsWith("accept on local port 8443 from 192.0.2.1: rule a decides"),
                warned.toString());
        assertEquals(List.of("warning: rule b can never match: rule a, tried before it, matches every connection it"
                + " does (rule.a.match = 'accept' (agent argument), rule.b.match = 'local-port=8443' (agent"
                + " argument)); list b before a in rules (agent argument), or remove it"), warned.warnings());
        // --strict counts wherever it stands, after --explain too
        String[] strict = Arrays.copyOf(hidden, hidden.length + 1);
        strict[hidden.length] = "--strict";
        assertEquals(1, CheckCommandTest.check(strict).status);
    }

    @Test
    void aBadConnectionIsOneLineAndStatus2BeforeTheSettingsAreRead() {
        CheckCommandTest.Run run = CheckCommandTest.check("keepalive.idle=30", "--explain", "connect", "db:5432");
        assertEquals(2, run.status, run.toString());
        assertEquals("", run.out, run.toString());
        assertEquals("tcp-hardening-agent: invalid --explain: 'db' is not an IP address: --explain takes the address a"
                + " connection has and never looks a name up; give the name the application used as host=NAME beside"
                + " it\n", run.err);
        CheckCommandTest.Run badSettings = CheckCommandTest.check("keepalive.idle=30", "--explain", "connect",
                "10.1.2.3:5432");
        assertEquals(2, badSettings.status, badSettings.toString());
        assertEquals("", badSettings.out, badSettings.toString());
        assertTrue(badSettings.err.startsWith("tcp-hardening-agent: invalid configuration: agent argument:"
                + " keepalive.idle = '30' has no unit"), badSettings.toString());
        assertEquals(1, badSettings.err.lines().count(), badSettings.toString());
    }
}
