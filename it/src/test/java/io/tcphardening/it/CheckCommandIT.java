package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar tcp-hardening-agent.jar check ...} as a deployment pipeline runs it, on every JDK: exit status 0
 * for a valid configuration (with warnings or not), 1 for warnings under {@code --strict}, 2 for an invalid one; the
 * worst-case detection times, computed here by hand from Linux's rules; each warning; and rules: listed with their
 * times, explained for one connection ({@code --explain}), a hidden rule warned about, a bad one refused.
 */
class CheckCommandIT {

    @TempDir
    Path temp;

    private static ForkedJvm.Result check(Jdks.Jdk jdk, String... args) {
        return check(jdk, jvm -> { }, args);
    }

    private static ForkedJvm.Result check(Jdks.Jdk jdk, Consumer<ForkedJvm> setup, String... args) {
        ForkedJvm jvm = ForkedJvm.on(jdk).jvmArg("-jar").jvmArg(AgentJar.path().toString()).args("check").args(args);
        setup.accept(jvm);
        return jvm.run(Duration.ofSeconds(30));
    }

    private static List<String> warnings(ForkedJvm.Result result) {
        return result.stdout.lines().filter(l -> l.startsWith("warning: ")).collect(Collectors.toList());
    }

    private static void assertSays(ForkedJvm.Result result, String... texts) {
        for (String text : texts) {
            assertTrue(result.stdout.contains(text), "must say: " + text + "\n" + result);
        }
    }

    @TestFactory
    List<DynamicTest> goodConfigurations() {
        return PerJdk.tests(jdk -> {
            ForkedJvm.Result defaults = check(jdk, "--strict");
            assertEquals(0, defaults.exitCode, defaults.toString());
            assertSays(defaults, "valid: keepalive=true (default)\n       keepalive.idle=60s (default)\n",
                    "       log.file=stderr (default)\n",
                    // 60 s idle, then 6 probes 10 s apart; user_timeout 120 s is reached at the 6th
                    "  idle connection: 120s (2m) = keepalive.idle 60s + 6 × keepalive.interval 10s, at the 6th"
                    + " unanswered probe: keepalive.count 6, and user_timeout 120s (2m) agrees\n",
                    "  busy connection: about 120s (2m) = user_timeout", "no warnings");
            assertEquals("", defaults.stderr, defaults.toString());

            // The demo's file: idle 5 s, interval 2 s, count 3, user_timeout 10 s: 5 + 3 × 2 = 11 s, and 10 s is
            // reached at the third probe (5 + 2 × 2 = 9 < 10 <= 11).
            Path file = Files.writeString(temp.resolve("demo-" + jdk.major() + ".properties"),
                    "keepalive.idle = 5s\nkeepalive.interval = 2s\nkeepalive.count = 3\nuser_timeout = 10s\n");
            ForkedJvm.Result demo = check(jdk, "--strict", "config=" + file);
            assertEquals(0, demo.exitCode, demo.toString());
            assertSays(demo, "keepalive.idle=5s (" + file + ":1)", "user_timeout=10000ms (" + file + ":4)",
                    "  idle connection: 11s = keepalive.idle 5s + 3 × keepalive.interval 2s, at the 3rd unanswered"
                    + " probe: keepalive.count 3, and user_timeout 10s agrees\n",
                    "  busy connection: about 10s = user_timeout", "no warnings");

            // Sources as the agent reads them: a system property of the checking JVM, and agent.properties beside
            // the jar.
            Path dir = Files.createDirectories(temp.resolve("beside-" + jdk.major()));
            Path jar = Files.copy(AgentJar.path(), dir.resolve("tcp-hardening-agent.jar"));
            Files.writeString(dir.resolve("agent.properties"), "keepalive.interval = 20s\n");
            ForkedJvm.Result beside = ForkedJvm.on(jdk).jvmArg("-Dtcphardening.keepalive.count=3").jvmArg("-jar")
                    .jvmArg(jar.toString()).args("check").run(Duration.ofSeconds(30));
            assertEquals(0, beside.exitCode, beside.toString());
            assertSays(beside, "keepalive.interval=20s (" + dir.resolve("agent.properties") + ":1)",
                    "keepalive.count=3 (system property -Dtcphardening.keepalive.count)",
                    // 60 + 3 × 20 = 120 s: user_timeout's 120 s is reached at the third probe
                    "  idle connection: 120s (2m) = keepalive.idle 60s + 3 × keepalive.interval 20s");

            ForkedJvm.Result help = ForkedJvm.on(jdk).jvmArg("-jar").jvmArg(AgentJar.path().toString())
                    .args("--help").run(Duration.ofSeconds(30));
            assertEquals(0, help.exitCode, help.toString());
            assertSays(help, "check [--strict] [config=PATH] [key=value ...]", "exit status 0 if valid (warnings or"
                    + " not), 2 if not; with --strict, 1 if valid with warnings");
        });
    }

    @TestFactory
    List<DynamicTest> badConfigurations() {
        return PerJdk.tests(jdk -> {
            ForkedJvm.Result bareNumber = check(jdk, "keepalive.idle=30");
            assertEquals(2, bareNumber.exitCode, bareNumber.toString());
            assertEquals("", bareNumber.stdout, "nothing is reported valid: " + bareNumber);
            assertTrue(bareNumber.stderr.startsWith("tcp-hardening-agent: invalid configuration: agent argument:"
                    + " keepalive.idle = '30' has no unit"), bareNumber.toString());

            ForkedJvm.Result missing = check(jdk, "--strict", "config=" + temp.resolve("absent.properties"));
            assertEquals(2, missing.exitCode, missing.toString());
            assertTrue(missing.stderr.contains("does not exist"), missing.toString());

            // A bad value in the environment stops the agent, so check must reject it too, even when overridden.
            ForkedJvm.Result environment = check(jdk, jvm -> jvm.env("TCPHARDENING_USER_TIMEOUT", "5"),
                    "user_timeout=5s");
            assertEquals(2, environment.exitCode, environment.toString());
            assertTrue(environment.stderr.contains("environment variable TCPHARDENING_USER_TIMEOUT"),
                    environment.toString());
        });
    }

    @TestFactory
    List<DynamicTest> questionableConfigurations() {
        return PerJdk.tests(jdk -> {
            // user_timeout 30 s < 60 s idle: Linux ends the connection one interval after the first probe, 70 s.
            ForkedJvm.Result shortTimeout = check(jdk, "user_timeout=30s");
            assertEquals(0, shortTimeout.exitCode, "warnings alone keep status 0: " + shortTimeout);
            assertSays(shortTimeout, "  idle connection: 70s (1m 10s) = keepalive.idle 60s + 1 × keepalive.interval"
                    + " 10s, at the 1st unanswered probe: user_timeout 30s decides, not keepalive.count 6");
            assertEquals(List.of("warning: user_timeout 30s is shorter than keepalive.idle + keepalive.count ×"
                    + " keepalive.interval = 60s + 6 × 10s = 120s (2m): Linux then ends an idle connection after 1"
                    + " unanswered probe (one lost probe ends a healthy connection) instead of 6, at 70s (1m 10s); set"
                    + " user_timeout=120s to let every probe count, or keepalive.count=1 to say what happens"),
                    warnings(shortTimeout));
            ForkedJvm.Result strict = check(jdk, "--strict", "user_timeout=30s");
            assertEquals(1, strict.exitCode, strict.toString());
            assertEquals(warnings(shortTimeout), warnings(strict));

            // user_timeout 300 s: probes go on until 60 + 24 × 10 = 300 s, whatever keepalive.count says.
            ForkedJvm.Result longTimeout = check(jdk, "user_timeout=5m");
            assertSays(longTimeout, "  idle connection: 300s (5m) = keepalive.idle 60s + 24 × keepalive.interval 10s");
            assertEquals(1, warnings(longTimeout).size(), longTimeout.toString());
            assertTrue(warnings(longTimeout).get(0).contains("24 probes instead of keepalive.count 6"),
                    longTimeout.toString());

            // Keepalive without user_timeout: idle 60 + 6 × 10 = 120 s, busy left to tcp_retries2.
            String retries2 = JdkCoverageIT.sysctl("tcp_retries2");
            ForkedJvm.Result noUserTimeout = check(jdk, "user_timeout=0ms");
            assertSays(noUserTimeout, "  idle connection: 120s (2m) = keepalive.idle 60s + 6 × keepalive.interval"
                    + " 10s, at the 6th unanswered probe: keepalive.count 6\n",
                    // tcp_model_timeout: (2^10 - 1) × 200 ms + (15 - 9) × 120 s = 924.6 s
                    retries2.equals("15") ? "  busy connection: about 15 min (tcp_retries2=15: 924.6s (15m 24.6s) of"
                    + " retransmissions" : " min (tcp_retries2=" + retries2 + ": ");
            assertEquals(1, warnings(noUserTimeout).size(), noUserTimeout.toString());
            assertTrue(warnings(noUserTimeout).get(0).startsWith("warning: user_timeout=0ms: a connection with"
                    + " unacknowledged data sends no keepalive probes and ends only after about"), noUserTimeout.toString());
            assertTrue(warnings(noUserTimeout).get(0).endsWith("set user_timeout=120s (keepalive.idle +"
                    + " keepalive.count × keepalive.interval) to bound busy connections too"), noUserTimeout.toString());

            // An option left unchanged takes the kernel's value: idle = tcp_keepalive_time + 6 × 10 s.
            long kernelIdle = Long.parseLong(JdkCoverageIT.sysctl("tcp_keepalive_time"));
            ForkedJvm.Result unchangedIdle = check(jdk, "keepalive.idle=unchanged", "user_timeout=0ms");
            assertSays(unchangedIdle, "  idle connection: " + (kernelIdle + 60) + "s (", "keepalive.idle " + kernelIdle
                    + "s", "(unchanged: the application's value, else the kernel's tcp_keepalive_time)");

            ForkedJvm.Result off = check(jdk, "keepalive=false");
            assertSays(off, "  idle connection: never: keepalive=false turns keepalive off");
            assertTrue(warnings(off).get(0).startsWith("warning: keepalive=false turns SO_KEEPALIVE off on every"
                    + " connection, also where the application turned it on"), off.toString());

            ForkedJvm.Result tiny = check(jdk, "user_timeout=500ms");
            assertTrue(warnings(tiny).stream().anyMatch(w -> w.startsWith("warning: user_timeout 500ms is shorter"
                    + " than the kernel's first retransmission of a SYN (1s)")), tiny.toString());

            ForkedJvm.Result nothing = check(jdk, "--strict", "keepalive=unchanged", "keepalive.idle=unchanged",
                    "keepalive.interval=unchanged", "keepalive.count=unchanged", "user_timeout=unchanged");
            assertEquals(1, nothing.exitCode, nothing.toString());
            assertEquals(List.of("warning: every option is unchanged: the agent sets nothing on any connection; set at"
                    + " least keepalive=true and user_timeout"), warnings(nothing));
        });
    }

    /** The contract's example of issue 18, as a file (the trailing comments are annotations). */
    private static final String RULES = String.join("\n",
            "rules = db inbound sidecar",
            "rule.db.match = connect remote=10.0.0.0/8,fd00::/8 port=5432,6432",
            "rule.db.keepalive.idle = 10s",
            "rule.db.user_timeout = 15s",
            "rule.db.app.values = stricter",
            "rule.inbound.match = accept local-port=8443",
            "rule.inbound.user_timeout = 5m",
            "rule.sidecar.match = remote=127.0.0.0/8,::1",
            "rule.sidecar.keepalive = unchanged",
            "rule.sidecar.keepalive.idle = unchanged",
            "rule.sidecar.keepalive.interval = unchanged",
            "rule.sidecar.keepalive.count = unchanged",
            "rule.sidecar.user_timeout = unchanged",
            "app.values = replace",
            "");

    @TestFactory
    List<DynamicTest> rules() {
        return PerJdk.tests(jdk -> {
            Path file = Files.writeString(temp.resolve("rules-" + jdk.major() + ".properties"), RULES);
            ForkedJvm.Result listed = check(jdk, "--strict", "config=" + file);
            assertEquals(0, listed.exitCode, listed.toString());
            assertEquals("", listed.stderr, listed.toString());
            assertSays(listed, "\nrules = db inbound sidecar (" + file + ":1), tried in this order: the first that"
                    + " matches decides; a connection none matches gets the settings above\n",
                    "\n  db [connect remote=10.0.0.0/8,fd00::/8 port=5432,6432 (" + file + ":2)]: keepalive.idle=10s ("
                    + file + ":3), user_timeout=15000ms (" + file + ":4), app.values=stricter (" + file + ":5);"
                    + " others as the global settings\n",
                    // db: idle 10 s, interval 10 s (global); user_timeout 15 s is passed at the first probe: 20 s
                    "\n    idle connection: 20s = keepalive.idle 10s + 1 × keepalive.interval 10s, at the 1st"
                    + " unanswered probe: user_timeout 15s decides",
                    "\n    busy connection: about 15s = user_timeout",
                    // inbound: idle 60 s, interval 10 s, user_timeout 5 min: 60 + 24 × 10 = 300 s
                    "\n    idle connection: 300s (5m) = keepalive.idle 60s + 24 × keepalive.interval 10s",
                    "; matching connections are left alone\n", "\nno warnings\n");

            // The database's connection: db decides; the other rules are never tried.
            ForkedJvm.Result db = check(jdk, "config=" + file, "--explain", "connect", "10.1.2.3:5432");
            assertEquals(0, db.exitCode, db.toString());
            assertEquals(List.of(
                    "connect to 10.1.2.3:5432: rule db decides, rule.db.match = 'connect remote=10.0.0.0/8,fd00::/8"
                            + " port=5432,6432' (" + file + ":2)",
                    "  keepalive=true (global: default)",
                    "  keepalive.idle=10s (rule.db.keepalive.idle, " + file + ":3)",
                    "  keepalive.interval=10s (global: default)",
                    "  keepalive.count=6 (global: default)",
                    "  user_timeout=15000ms (rule.db.user_timeout, " + file + ":4)",
                    "  app.values=stricter (rule.db.app.values, " + file + ":5): the application's own value stands"
                            + " where it notices a dead peer no later",
                    "worst case to notice a dead peer (Linux), from the last time it was heard:"),
                    db.stdout.lines().limit(8).collect(Collectors.toList()), db.toString());
            assertSays(db, "\n  idle connection: 20s = keepalive.idle 10s + 1 × keepalive.interval 10s",
                    "\n  busy connection: about 15s = user_timeout");
            assertTrue(!db.stdout.contains("valid:") && !db.stdout.contains("warning"), db.toString());

            // A client of the TLS listener over IPv6: db is for connect only, inbound decides.
            ForkedJvm.Result inbound = check(jdk, "config=" + file, "--explain", "accept", "local-port=8443",
                    "remote=[fd00::1]:40000");
            assertEquals(0, inbound.exitCode, inbound.toString());
            assertTrue(inbound.stdout.startsWith("accept on local port 8443 from [fd00::1]:40000: rule inbound"
                    + " decides, rule.inbound.match = 'accept local-port=8443' (" + file + ":6); tried before it, not"
                    + " matching: db\n"), inbound.toString());
            assertSays(inbound, "\n  user_timeout=300000ms (rule.inbound.user_timeout, " + file + ":7)\n");

            // An IPv4-mapped loopback peer is the sidecar's (127.0.0.0/8), left alone; a public one is no rule's.
            ForkedJvm.Result sidecar = check(jdk, "config=" + file, "--explain", "connect",
                    "[::ffff:127.0.0.1]:8080", "host=localhost");
            assertSays(sidecar, "connect to [::ffff:127.0.0.1]:8080 (IPv4-mapped: matched as 127.0.0.1) (host name"
                    + " localhost): rule sidecar decides", "\n  the agent leaves it alone:",
                    "\n  user_timeout=unchanged (rule.sidecar.user_timeout, " + file + ":13)\n");
            ForkedJvm.Result none = check(jdk, "config=" + file, "--explain", "connect", "192.0.2.1:5432");
            assertTrue(none.stdout.startsWith("connect to 192.0.2.1:5432: no rule matches (tried db, inbound,"
                    + " sidecar): the global settings decide\n  keepalive=true (default)\n"), none.toString());

            // Rule keys from the environment of the checking JVM, read as the agent reads them: my_db, not my.
            ForkedJvm.Result environment = check(jdk, jvm -> jvm.env("TCPHARDENING_RULES", "my_db")
                    .env("TCPHARDENING_RULE_MY_DB_MATCH", "connect port=5432")
                    .env("TCPHARDENING_RULE_MY_DB_KEEPALIVE_IDLE", "20s"), "--explain", "connect", "10.9.9.9:5432");
            assertEquals(0, environment.exitCode, environment.toString());
            assertSays(environment, "rule my_db decides, rule.my_db.match = 'connect port=5432' (environment variable"
                    + " TCPHARDENING_RULE_MY_DB_MATCH)", "\n  keepalive.idle=20s (rule.my_db.keepalive.idle,"
                    + " environment variable TCPHARDENING_RULE_MY_DB_KEEPALIVE_IDLE)\n");
        });
    }

    @TestFactory
    List<DynamicTest> hiddenAndBadRules() {
        return PerJdk.tests(jdk -> {
            // "accept" is tried first and takes every accepted connection: the TLS rule can never match.
            String[] hidden = {"rules=in tls", "rule.in.match=accept", "rule.tls.match=local-port=8443",
                "rule.tls.user_timeout=30s"};
            String warning = "warning: rule tls can never match: rule in, tried before it, matches every connection"
                    + " it does (rule.in.match = 'accept' (agent argument), rule.tls.match = 'local-port=8443' (agent"
                    + " argument)); list tls before in in rules (agent argument), or remove it";
            ForkedJvm.Result listed = check(jdk, hidden);
            assertEquals(0, listed.exitCode, "warnings alone keep status 0: " + listed);
            assertEquals(List.of(warning), warnings(listed));
            ForkedJvm.Result strict = check(jdk, "--strict", hidden[0], hidden[1], hidden[2], hidden[3]);
            assertEquals(1, strict.exitCode, strict.toString());
            ForkedJvm.Result explained = check(jdk, hidden[0], hidden[1], hidden[2], hidden[3], "--explain", "accept",
                    "local-port=8443", "remote=192.0.2.1:40000");
            assertTrue(explained.stdout.startsWith("accept on local port 8443 from 192.0.2.1:40000: rule in decides"),
                    explained.toString());
            assertEquals(List.of(warning), warnings(explained));

            // A CIDR with host bits set: refused, one line, nothing reported valid.
            ForkedJvm.Result badCidr = check(jdk, "rules=db", "rule.db.match=connect remote=10.0.0.1/8");
            assertEquals(2, badCidr.exitCode, badCidr.toString());
            assertEquals("", badCidr.stdout, badCidr.toString());
            assertEquals(List.of("tcp-hardening-agent: invalid configuration: agent argument: rule.db.match ="
                    + " 'connect remote=10.0.0.1/8' is not valid: remote=10.0.0.1/8 has bits set beyond its prefix"
                    + " length (the network is 10.0.0.0/8)"), badCidr.stderr.lines().collect(Collectors.toList()));

            // A rule key of a rule the list does not name, from a file.
            Path file = Files.writeString(temp.resolve("unlisted-" + jdk.major() + ".properties"),
                    "rules = db\nrule.db.match = port=5432\nrule.dbs.user_timeout = 5s\n");
            ForkedJvm.Result unlisted = check(jdk, "config=" + file);
            assertEquals(2, unlisted.exitCode, unlisted.toString());
            assertEquals(List.of("tcp-hardening-agent: invalid configuration: " + file + ":3: rule.dbs.user_timeout ="
                    + " '5s' belongs to a rule named dbs, which rules does not list (rules = 'db' at " + file + ":1);"
                    + " add it there or remove the key"), unlisted.stderr.lines().collect(Collectors.toList()));

            // A connection named by a host name instead of its address: refused, never looked up.
            ForkedJvm.Result byName = check(jdk, "--explain", "connect", "localhost:5432");
            assertEquals(2, byName.exitCode, byName.toString());
            assertEquals("", byName.stdout, byName.toString());
            assertEquals(List.of("tcp-hardening-agent: invalid --explain: 'localhost' is not an IP address: --explain"
                    + " takes the address a connection has and never looks a name up; give the name the application"
                    + " used as host=NAME beside it"), byName.stderr.lines().collect(Collectors.toList()));

            ForkedJvm.Result help = ForkedJvm.on(jdk).jvmArg("-jar").jvmArg(AgentJar.path().toString())
                    .args("--help").run(Duration.ofSeconds(30));
            assertSays(help, "check [--strict] [config=PATH] [key=value ...] [--explain CONNECTION]",
                    "--explain connect ADDRESS:PORT [host=NAME]",
                    "--explain accept local-port=PORT remote=ADDRESS[:PORT]");
        });
    }
}
