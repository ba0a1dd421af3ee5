package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.RulesTest;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code check} with rules, run in this JVM: each rule listed with its own detection times, the warning for a rule
 * that an earlier one hides, and the exit status. {@code CheckCommandIT} runs the same from the built jar.
 */
class CheckCommandTest {

    /** The contract's example of issue 18. */
    static final String CONTRACT = RulesTest.CONTRACT;

    @TempDir
    Path tmp;

    /** What one run of the command printed, and its exit status. */
    static final class Run {
        final int status;
        final String out;
        final String err;

        Run(int status, String out, String err) {
            this.status = status;
            this.out = out;
            this.err = err;
        }

        List<String> lines() {
            return out.lines().collect(Collectors.toList());
        }

        List<String> warnings() {
            return out.lines().filter(l -> l.startsWith("warning: ")).collect(Collectors.toList());
        }

        List<String> notes() {
            return out.lines().filter(l -> l.startsWith("note: ")).collect(Collectors.toList());
        }

        @Override
        public String toString() {
            return "status " + status + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    static Run check(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] command = new String[args.length + 1];
        command[0] = "check";
        System.arraycopy(args, 0, command, 1, args.length);
        int status = Cli.run(command, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    Path contract() throws IOException {
        return Files.writeString(tmp.resolve("rules.properties"), CONTRACT);
    }

    private static List<String> warnings(String args) throws ConfigException {
        Settings settings = SettingsLoader.load(args, Map.of(), Map.of(), null);
        return ConfigWarnings.of(settings, new DeadPeerDetection(settings.defaults(), KernelDefaults.LINUX));
    }

    @Test
    void eachRuleIsListedWithItsOwnTimes() throws IOException {
        Path file = contract();
        Run run = check("config=" + file);
        assertEquals(0, run.status, run.toString());
        assertEquals("", run.err, run.toString());
        List<String> lines = run.lines();
        int rules = lines.indexOf("rules = db inbound sidecar (" + file + ":1), tried in this order: the first that"
                + " matches decides; a connection none matches gets the settings above");
        assertTrue(rules > 0, run.toString());
        assertEquals("       app.values=replace (" + file + ":14)", lines.get(rules - 4), "the last global setting");
        assertEquals("  db [connect remote=10.0.0.0/8,fd00::/8 port=5432,6432 (" + file + ":2)]: keepalive.idle=10s ("
                + file + ":3), user_timeout=15000ms (" + file + ":4), app.values=stricter (" + file + ":5); others as"
                + " the global settings", lines.get(rules + 1));
        // 10 s idle, the global 10 s interval: user_timeout's 15 s is reached at the first probe, 10 + 10 = 20 s
        assertEquals("    idle connection: 20s = keepalive.idle 10s + 1 × keepalive.interval 10s, at the 1st unanswered"
                + " probe: user_timeout 15s decides, not keepalive.count 6 (Linux ends the connection at the first"
                + " probe due once user_timeout has passed)", lines.get(rules + 2));
        assertTrue(lines.get(rules + 3).startsWith("    busy connection: about 15s = user_timeout"), run.toString());
        assertTrue(lines.get(rules + 4).startsWith("  inbound [accept local-port=8443 (" + file + ":6)]"));
        // 60 s idle, 10 s interval, 300 s of user_timeout: 60 + 24 × 10
        assertTrue(lines.get(rules + 5).startsWith("    idle connection: 300s (5m) = keepalive.idle 60s + 24 ×"
                + " keepalive.interval 10s"), run.toString());
        assertTrue(lines.get(rules + 7).startsWith("  sidecar [remote=127.0.0.0/8,::1 (" + file + ":8)]:")
                && lines.get(rules + 7).endsWith("; matching connections are left alone"), run.toString());
        assertTrue(lines.get(rules + 8).startsWith("    idle connection: never if the application leaves SO_KEEPALIVE"
                + " off"), run.toString());
        assertTrue(lines.get(rules + 9).startsWith("    busy connection: the application's TCP_USER_TIMEOUT if it"
                + " sets one"), run.toString());
        assertEquals("no warnings", lines.get(rules + 10));
        for (String line : lines) {
            assertFalse(line.isBlank(), "no empty setting in the list: " + run);
        }
    }

    @Test
    void withoutRulesThereIsNoRulesSection() {
        Run run = check("user_timeout=2m");
        assertEquals(0, run.status, run.toString());
        assertTrue(run.out.contains("  idle connection: 120s (2m)"), run.toString());
        assertFalse(run.out.contains("\nrules = "), run.toString());
    }

    @Test
    void aKeepPolicySaysTheTimesAreTheApplicationsWhereItSetsItsOwn() {
        Run run = check("rules=db", "rule.db.match=port=5432", "rule.db.app.values=keep");
        List<String> lines = run.lines();
        int db = lines.indexOf("  db [port=5432 (agent argument)]: app.values=keep (agent argument); others as the"
                + " global settings");
        assertTrue(db > 0, run.toString());
        assertEquals("    app.values=keep: where the application sets an option itself, its value stands, and these"
                + " times with it do not hold", lines.get(db + 3));
        assertFalse(lines.get(db - 1).contains("app.values=keep"), "the global settings replace: " + run);
    }

    @Test
    void aRuleAnEarlierOneCoversIsWarnedAbout() throws ConfigException {
        assertEquals(List.of("rule db can never match: rule all, tried before it, matches every connection it does"
                + " (rule.all.match = 'connect' (agent argument), rule.db.match = 'connect port=5432' (agent"
                + " argument)); list db before all in rules (agent argument), or remove it"),
                warnings("rules=all db,rule.all.match=connect,rule.db.match=connect port=5432"));
        // the narrower first is what the operator means: no warning
        assertEquals(List.of(), warnings("rules=db all,rule.all.match=connect,rule.db.match=connect port=5432"));
        // local-port= is only ever an accepted connection
        List<String> accept = warnings("rules=in tls,rule.in.match=accept,rule.tls.match=local-port=8443");
        assertEquals(1, accept.size(), accept.toString());
        assertTrue(accept.get(0).startsWith("rule tls can never match: rule in, tried before it"), accept.toString());
        // one warning per hidden rule, naming the first rule that hides it
        List<String> twice = warnings("rules=a b c,rule.a.match=remote=10.0.0.0/8,rule.b.match=remote=10.1.0.0/16,"
                + "rule.c.match=remote=10.1.2.3");
        assertEquals(2, twice.size(), twice.toString());
        assertTrue(twice.get(0).startsWith("rule b can never match: rule a,"), twice.toString());
        assertTrue(twice.get(1).startsWith("rule c can never match: rule a,"), twice.toString());
        // overlapping but not covering: both can decide something
        assertEquals(List.of(), warnings("rules=a b,rule.a.match=port=5432,rule.b.match=remote=10.0.0.0/8"));
    }

    @Test
    void theWarningComesAlsoWhenTheGlobalSettingsSetNothing() throws ConfigException {
        List<String> warnings = warnings("keepalive=unchanged,keepalive.idle=unchanged,keepalive.interval=unchanged,"
                + "keepalive.count=unchanged,user_timeout=unchanged,rules=a b,rule.a.match=connect,"
                + "rule.a.keepalive=unchanged,rule.b.match=connect host=*.internal,rule.b.user_timeout=30s");
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("user_timeout=unchanged"), warnings.toString());
        assertTrue(warnings.get(1).startsWith("rule b can never match: rule a,"), warnings.toString());
        List<String> nothingAnywhere = warnings("keepalive=unchanged,keepalive.idle=unchanged,"
                + "keepalive.interval=unchanged,keepalive.count=unchanged,user_timeout=unchanged,rules=a b,"
                + "rule.a.match=connect,rule.b.match=connect port=1");
        assertEquals(2, nothingAnywhere.size(), nothingAnywhere.toString());
        assertTrue(nothingAnywhere.get(0).startsWith("every option is unchanged"), nothingAnywhere.toString());
        assertTrue(nothingAnywhere.get(1).startsWith("rule b can never match"), nothingAnywhere.toString());
    }

    @Test
    void aHiddenRuleFailsStrictChecks() {
        Run plain = check("rules=a b", "rule.a.match=accept", "rule.b.match=accept local-port=8443");
        assertEquals(0, plain.status, plain.toString());
        assertEquals(1, plain.warnings().size(), plain.toString());
        Run strict = check("--strict", "rules=a b", "rule.a.match=accept", "rule.b.match=accept local-port=8443");
        assertEquals(1, strict.status, strict.toString());
    }

    @Test
    void keepaliveOnLoopbackConnectionsOfAListenerIsNotedWithTheRuleThatExcludesThem() {
        Run defaults = check();
        assertEquals(1, defaults.notes().size(), defaults.toString());
        assertTrue(defaults.notes().get(0).contains("keepalive is on for connections a listener accepts from"
                + " loopback (127.0.0.1, rule default)") && defaults.notes().get(0).contains(
                "rule.loopback.match = accept remote=127.0.0.0/8,::1"), defaults.toString());
        // a note, not a warning: whether it matters depends on how many connections there are
        assertEquals(List.of(), defaults.warnings());
        assertEquals(0, check("--strict").status);
        // the rule it suggests silences it, and so does spreading the probes
        Run excluded = check("rules=loopback", "rule.loopback.match=accept remote=127.0.0.0/8,::1",
                "rule.loopback.keepalive=unchanged", "rule.loopback.keepalive.idle=unchanged",
                "rule.loopback.keepalive.interval=unchanged", "rule.loopback.keepalive.count=unchanged",
                "rule.loopback.user_timeout=unchanged");
        assertEquals(List.of(), excluded.notes(), excluded.toString());
        assertEquals(List.of(), check("keepalive.jitter=10%").notes());
        // an IPv6 loopback peer still probed is named
        Run v4only = check("rules=loopback", "rule.loopback.match=accept remote=127.0.0.0/8",
                "rule.loopback.keepalive=false");
        assertTrue(v4only.notes().get(0).contains("(::1, rule default)"), v4only.toString());
    }

    @Test
    void aBadRuleIsOneLineAndStatus2() {
        Run run = check("rules=db", "rule.db.match=connect remote=10.0.0.1/8");
        assertEquals(2, run.status, run.toString());
        assertEquals("", run.out, run.toString());
        assertEquals("tcp-hardening-agent: invalid configuration: agent argument: rule.db.match = 'connect"
                + " remote=10.0.0.1/8' is not valid: remote=10.0.0.1/8 has bits set beyond its prefix length (the"
                + " network is 10.0.0.0/8)\n", run.err);
    }
}
