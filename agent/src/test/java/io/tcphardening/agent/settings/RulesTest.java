package io.tcphardening.agent.settings;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rules ({@code rules}, {@code rule.NAME.*}) and the policy for the application's own values ({@code app.values})
 * against the configuration contract of issue 18: what each match term accepts and refuses, where each rule key comes
 * from, which rule decides a connection, and what a policy holds when the application writes its own value.
 */
public class RulesTest {

    private static final Map<String, String> NONE = Map.of();

    /**
     * The contract's example, as a file (the trailing comments are annotations, not file syntax); the
     * command's tests use it too.
     */
    public static final String CONTRACT = String.join("\n",
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

    @TempDir
    Path tmp;

    private static Settings load(String args) throws ConfigException {
        return SettingsLoader.load(args, NONE, NONE, null);
    }

    private static String fails(String args, Map<String, String> properties, Map<String, String> environment) {
        ConfigException e = assertThrows(ConfigException.class,
                () -> SettingsLoader.load(args, properties, environment, null));
        SettingsLoaderTest.assertPrintable(e.getMessage());
        return e.getMessage();
    }

    private static String fails(String args) {
        return fails(args, NONE, NONE);
    }

    private Path file(String content) throws IOException {
        Path file = tmp.resolve("agent.properties");
        Files.writeString(file, content);
        return file;
    }

    private static Map<String, String> map(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    /** Only ever given literals here: no look-up. */
    private static InetAddress ip(String literal) throws IOException {
        return InetAddress.getByName(literal);
    }

    /** The rule that decides a connection made by the application to {@code address:port}, host name optional. */
    private static String connect(Settings settings, String address, int port, String host) throws IOException {
        return settings.decide(false, ip(address), port, -1, host).rule();
    }

    private static String accept(Settings settings, String address, int port, int localPort) throws IOException {
        return settings.decide(true, ip(address), port, localPort, null).rule();
    }

    /** One rule named {@code r} with this match, and user_timeout=1s so that its decision differs from the default. */
    private static Settings oneRule(String match) throws ConfigException {
        return load("rules=r,rule.r.match=" + match + ",rule.r.user_timeout=1s");
    }

    // ------------------------------------------------------------------------------------------------ terms

    @Nested
    class Terms {

        @Test
        void directionAlone() throws Exception {
            Settings connect = oneRule("connect");
            assertEquals("r", connect(connect, "192.0.2.1", 80, null));
            assertEquals("default", accept(connect, "192.0.2.1", 40000, 8443));
            Settings accept = oneRule("accept");
            assertEquals("default", connect(accept, "192.0.2.1", 80, null));
            assertEquals("r", accept(accept, "192.0.2.1", 40000, 8443));
            Settings upperCase = oneRule("CONNECT");
            assertEquals("r", connect(upperCase, "192.0.2.1", 80, null));
        }

        @Test
        void remoteIpv4AddressesAndNetworks() throws Exception {
            Settings settings = oneRule("remote=10.0.0.0/8,192.0.2.7,172.16.0.0/12");
            assertEquals("r", connect(settings, "10.255.0.1", 5432, null));
            assertEquals("r", connect(settings, "192.0.2.7", 5432, null));
            assertEquals("default", connect(settings, "192.0.2.8", 5432, null), "a bare address is a /32");
            assertEquals("r", connect(settings, "172.31.255.255", 5432, null));
            assertEquals("default", connect(settings, "172.32.0.0", 5432, null));
            assertEquals("default", connect(settings, "11.0.0.1", 5432, null));
            assertEquals("r", accept(settings, "10.1.2.3", 40000, 8443), "remote= holds for both directions");
            assertEquals("default", settings.decide(false, (byte[]) null, 5432, -1, null).rule(),
                    "an unknown peer address matches no remote=");
        }

        @Test
        void remoteIpv6AddressesAndNetworks() throws Exception {
            Settings settings = oneRule("remote=fd00::/8,2001:db8::7,[2001:db8:1::]/48");
            assertEquals("r", connect(settings, "fd12:3456::1", 5432, null));
            assertEquals("r", connect(settings, "2001:db8::7", 5432, null));
            assertEquals("default", connect(settings, "2001:db8::8", 5432, null));
            assertEquals("r", connect(settings, "2001:db8:1:ffff::1", 5432, null));
            assertEquals("default", connect(settings, "fe80::1", 5432, null));
            assertEquals("default", connect(settings, "10.0.0.1", 5432, null), "an IPv6 network holds no IPv4 peer");
            assertEquals("default", connect(oneRule("remote=10.0.0.0/8"), "fd00::1", 5432, null));
        }

        @Test
        void anIpv4MappedPeerMatchesItsIpv4Rule() throws Exception {
            Settings settings = oneRule("remote=10.0.0.0/8");
            byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 1, 2, 3};
            // the JDK turns a mapped address into an Inet4Address, except where it is built as an Inet6Address
            InetAddress asIpv6 = Inet6Address.getByAddress(null, mapped, 0);
            assertTrue(asIpv6 instanceof Inet6Address);
            assertArrayEquals(new byte[] {10, 1, 2, 3}, Match.bytes(asIpv6));
            assertEquals("r", settings.decide(false, asIpv6, 5432, -1, null).rule());
            assertEquals("r", settings.decide(false, Match.address("::ffff:10.1.2.3"), 5432, -1, null).rule());
            assertEquals("default", settings.decide(false, Match.address("::ffff:11.1.2.3"), 5432, -1, null).rule());
            // and a mapped network in a rule is the IPv4 network
            Settings mappedRule = oneRule("remote=::ffff:10.0.0.0/104");
            assertEquals("r", connect(mappedRule, "10.200.0.1", 5432, null));
            assertEquals("default", connect(mappedRule, "11.0.0.1", 5432, null));
        }

        @Test
        void portsListsAndRanges() throws Exception {
            Settings settings = oneRule("port=5432,8000-8999,65535");
            for (int port : new int[] {5432, 8000, 8500, 8999, 65535}) {
                assertEquals("r", connect(settings, "192.0.2.1", port, null), "port " + port);
            }
            for (int port : new int[] {5431, 5433, 7999, 9000, 1, -1}) {
                assertEquals("default", connect(settings, "192.0.2.1", port, null), "port " + port);
            }
            assertEquals("r", accept(settings, "192.0.2.1", 8080, 443), "port= is the peer's port on accept too");
            assertEquals("default", accept(settings, "192.0.2.1", 40000, 5432), "not the listener's");
        }

        @Test
        void localPortOnlyForAcceptedConnections() throws Exception {
            Settings settings = oneRule("local-port=8443,9000-9001");
            assertEquals("r", accept(settings, "192.0.2.1", 40000, 8443));
            assertEquals("r", accept(settings, "192.0.2.1", 40000, 9001));
            assertEquals("default", accept(settings, "192.0.2.1", 40000, 8444));
            assertEquals("default", settings.decide(false, ip("192.0.2.1"), 8443, 8443, null).rule(),
                    "a connection the application made never matches local-port=, whatever it is given");
            assertEquals("r", accept(oneRule("accept local-port=8443"), "192.0.2.1", 40000, 8443));
        }

        @Test
        void hostGlobsCaseInsensitive() throws Exception {
            Settings settings = oneRule("host=*.DB.example.com,db?.example.org,exact.example.net");
            assertEquals("r", connect(settings, "192.0.2.1", 5432, "primary.db.example.com"));
            assertEquals("r", connect(settings, "192.0.2.1", 5432, "Primary.DB.Example.COM"));
            assertEquals("default", connect(settings, "192.0.2.1", 5432, "db.example.com"), "* then a dot");
            assertEquals("r", connect(settings, "192.0.2.1", 5432, "db1.example.org"));
            assertEquals("default", connect(settings, "192.0.2.1", 5432, "db12.example.org"), "? is one character");
            assertEquals("r", connect(settings, "192.0.2.1", 5432, "EXACT.example.net"));
            assertEquals("default", connect(settings, "192.0.2.1", 5432, "exact.example.net.evil"));
            assertEquals("default", connect(settings, "192.0.2.1", 5432, null),
                    "a connection to an address, with no host name, matches no host=");
        }

        @Test
        void everyTermMustHold() throws Exception {
            Settings settings = oneRule("connect remote=10.0.0.0/8 port=5432 host=*.internal");
            assertEquals("r", connect(settings, "10.1.2.3", 5432, "db.internal"));
            assertEquals("default", connect(settings, "10.1.2.3", 5432, "db.example.com"));
            assertEquals("default", connect(settings, "10.1.2.3", 5433, "db.internal"));
            assertEquals("default", connect(settings, "11.1.2.3", 5432, "db.internal"));
            assertEquals("default", settings.decide(true, ip("10.1.2.3"), 5432, 8443, "db.internal").rule());
        }

        @Test
        void theMatchIsShownAsWrittenWithWhitespaceNormalised() throws Exception {
            Settings settings = load("rules=r,rule.r.match= connect \t remote=10.0.0.0/8   port=5432 ");
            assertEquals("connect remote=10.0.0.0/8 port=5432", settings.rules().get(0).match().toString());
        }
    }

    // ------------------------------------------------------------------------------------------------ match errors

    @Nested
    class MatchErrors {

        @ParameterizedTest(name = "[{0}]")
        @CsvSource(delimiter = '|', value = {
            "''                               | a match needs at least one term (connect, accept, remote=, port=,"
                    + " local-port=, host=)",
            "'   '                            | a match needs at least one term",
            "listen                           | 'listen' is not a match term; known: connect, accept, remote=, port=,"
                    + " local-port=, host=",
            "remote                           | 'remote' is not a match term",
            "connect=yes                      | 'connect=yes' is not a match term",
            "connect accept                   | the direction is given twice",
            "accept accept                    | the direction is given twice",
            "remote=                          | remote= has an empty item",
            "'remote=10.0.0.0/8,,10.1.0.0/16' | remote= has an empty item",
            "remote=10.0.0.0/33               | remote=10.0.0.0/33 has a prefix length outside 0 to 32",
            "remote=fd00::/129                | remote=fd00::/129 has a prefix length outside 0 to 128",
            "remote=10.0.0.1/8                | remote=10.0.0.1/8 has bits set beyond its prefix length (the network"
                    + " is 10.0.0.0/8)",
            "remote=db.example.com            | remote=db.example.com is not an IPv4 or IPv6 address or CIDR (for"
                    + " example 10.0.0.0/8, 192.0.2.7, fd00::/8; host names go in host=)",
            "remote=10.0.0.256                | remote=10.0.0.256 is not an IPv4 or IPv6 address or CIDR",
            "remote=fd00::1%eth0              | remote=fd00::1%eth0 is not an IPv4 or IPv6 address or CIDR",
            "remote=1.2.3.4 remote=5.6.7.8    | remote= is given twice; list its values in one term, separated by"
                    + " commas",
            "port=0                           | port=0 is not a port or range of ports (1 to 65535, a range as"
                    + " 8000-8999)",
            "port=65536                       | port=65536 is not a port or range of ports",
            "port=-5                          | port=-5 is not a port or range of ports",
            "port=1-                          | port=1- is not a port or range of ports",
            "port=x                           | port=x is not a port or range of ports",
            "port=9-1                         | port=9-1 is a range whose end is before its start",
            "port=5432 port=6432              | port= is given twice",
            "local-port=0                     | local-port=0 is not a port or range of ports",
            "connect local-port=8443          | local-port= is the listener's port: it applies to accepted"
                    + " connections, never to connect",
            "host=                            | host= has an empty item",
            "host=db.example.com!             | host=db.example.com! is not a host name glob (letters, digits, '.',"
                    + " '-', '_', '*' and '?')",
            "host=a host=b                    | host= is given twice",
        })
        void eachMistakeNamesSourceKeyAndValue(String match, String reason) {
            String message = fails("rules=db,rule.db.match=" + match);
            // the agent argument's values are trimmed, as the message shows them
            assertTrue(message.startsWith("agent argument: rule.db.match = '" + match.trim() + "' is not valid: "
                    + reason), message);
        }

        @Test
        void inEverySourceTheSourceIsNamed() throws Exception {
            Path file = file("rules = db\nrule.db.match = port=70000\n");
            assertTrue(fails("config=" + file).startsWith(file + ":2: rule.db.match = 'port=70000' is not valid:"
                    + " port=70000 is not a port"));
            assertTrue(fails(null, map("tcphardening.rules", "db", "tcphardening.rule.db.match", "listen"), NONE)
                    .startsWith("system property -Dtcphardening.rule.db.match: rule.db.match = 'listen' is not valid"));
            assertTrue(fails(null, NONE, map("TCPHARDENING_RULES", "db", "TCPHARDENING_RULE_DB_MATCH", "remote=x"))
                    .startsWith("environment variable TCPHARDENING_RULE_DB_MATCH: rule.db.match = 'remote=x' is not"
                            + " valid"));
        }

        @Test
        void aRulesOptionValuesAreCheckedLikeTheGlobalOnes() {
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.user_timeout=15").startsWith("agent argument:"
                    + " rule.db.user_timeout = '15' has no unit; durations always carry one: 15ms, 15s, 15m or 15h"));
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.keepalive.count=200").startsWith("agent"
                    + " argument: rule.db.keepalive.count = '200' is not valid; allowed: a whole number from 1 to"
                    + " 127"));
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.keepalive.idle=1500ms").startsWith("agent"
                    + " argument: rule.db.keepalive.idle = '1500ms' is not a whole number of seconds"));
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.keepalive=yes").startsWith("agent argument:"
                    + " rule.db.keepalive = 'yes' is not valid; allowed: true, false, or unchanged"));
        }

        @Test
        void appValuesMistakesNameTheirKey() {
            assertTrue(fails("app.values=never").startsWith("agent argument: app.values = 'never' is not a policy for"
                    + " the application's own values; allowed: replace"));
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.app.values=never").startsWith("agent argument:"
                    + " rule.db.app.values = 'never' is not a policy for the application's own values"));
            assertTrue(fails(null, NONE, map("TCPHARDENING_APP_VALUES", "strict")).startsWith("environment variable"
                    + " TCPHARDENING_APP_VALUES: app.values = 'strict' is not a policy"));
        }

        @Test
        void aMistakeInASourceThatIsOverriddenStillStops() throws Exception {
            Path file = file("rules = db\nrule.db.match = connect\nrule.db.user_timeout = 15\n");
            assertTrue(fails("config=" + file + ",rule.db.user_timeout=15s").startsWith(file + ":3:"
                    + " rule.db.user_timeout = '15' has no unit"));
            assertTrue(fails("rules=db,rule.db.match=connect", NONE, map("TCPHARDENING_RULE_DB_MATCH", "listen"))
                    .startsWith("environment variable TCPHARDENING_RULE_DB_MATCH: rule.db.match = 'listen'"));
        }
    }

    // ------------------------------------------------------------------------------------------------ rules listing

    @Nested
    class Listing {

        @Test
        void rulesAreTriedInTheOrderListed() throws Exception {
            Settings settings = load("rules=b a,rule.a.match=connect,rule.b.match=port=5432");
            assertEquals(List.of("b", "a"), names(settings));
            assertEquals("b a", settings.ruleNames());
        }

        @Test
        void whitespaceOrCommasSeparateNamesOutsideTheAgentArgument() throws Exception {
            Path file = file("rules = db,  inbound\tsidecar\nrule.db.match = connect\nrule.inbound.match = accept\n"
                    + "rule.sidecar.match = port=15001\n");
            assertEquals(List.of("db", "inbound", "sidecar"), names(load("config=" + file)));
            Settings fromProperty = SettingsLoader.load(null, map("tcphardening.rules", "x,y",
                    "tcphardening.rule.x.match", "connect", "tcphardening.rule.y.match", "accept"), NONE, null);
            assertEquals(List.of("x", "y"), names(fromProperty));
            // in the agent argument a comma separates pairs: "rules=db,inbound" is a pair and a stray word
            assertTrue(fails("rules=db,inbound,rule.db.match=connect,rule.inbound.match=accept")
                    .startsWith("agent argument 'inbound' is not key=value"));
        }

        @Test
        void aKeyOfARuleThatIsNotListedIsAnError() throws Exception {
            assertEquals("agent argument: rule.x.keepalive = 'true' belongs to a rule named x, which rules does not"
                    + " list (rules = 'db' at agent argument); add it there or remove the key",
                    fails("rules=db,rule.db.match=connect,rule.x.keepalive=true"));
            assertEquals("agent argument: rule.db.match = 'connect' belongs to a rule named db, which rules does not"
                    + " list (no source sets rules); add it there or remove the key", fails("rule.db.match=connect"));
            Path file = file("rule.db.match = connect\n");
            assertTrue(fails("config=" + file).startsWith(file + ":1: rule.db.match = 'connect' belongs to a rule"
                    + " named db"));
        }

        @Test
        void aListedRuleWithoutAMatchIsAnError() {
            assertEquals("agent argument: rules = 'db inbound' lists inbound, which has no rule.inbound.match; a rule"
                    + " needs one (for example rule.inbound.match = connect port=5432)",
                    fails("rules=db inbound,rule.db.match=connect,rule.inbound.user_timeout=5m"));
            assertTrue(fails(null, map("tcphardening.rules", "db"), NONE).startsWith("system property"
                    + " -Dtcphardening.rules: rules = 'db' lists db, which has no rule.db.match"));
        }

        @Test
        void namesAreListedOnceAndWellFormed() {
            assertEquals("agent argument: rules = 'db inbound db' lists db twice; two rules cannot have the same"
                    + " name", fails("rules=db inbound db,rule.db.match=connect,rule.inbound.match=accept"));
            assertEquals("agent argument: rules = 'Db' names 'Db'; rule names are lower-case letters, digits, '-'"
                    + " and '_'", fails("rules=Db"));
            assertTrue(fails("rules=db,rule.DB.match=connect").startsWith("agent argument: 'rule.DB.match' does not"
                    + " name a rule: rule names are lower-case letters, digits, '-' and '_'"));
            assertTrue(fails("rules=db,rule.db.match=connect,rule.db.idle=5s").startsWith("agent argument:"
                    + " 'rule.db.idle' is not a setting of a rule; a rule takes match, keepalive, keepalive.idle,"
                    + " keepalive.interval, keepalive.count, user_timeout, app.values"));
        }

        @Test
        void noRulesListedAndNoRuleKeysIsTheGlobalSettingsAlone() throws Exception {
            Settings settings = load("rules=");
            assertFalse(settings.hasRules());
            assertSame(settings.defaults(), settings.decide(false, ip("10.0.0.1"), 5432, -1, null));
        }
    }

    private static List<String> names(Settings settings) {
        List<String> names = new ArrayList<>();
        for (Rule rule : settings.rules()) {
            names.add(rule.name());
        }
        return names;
    }

    // ------------------------------------------------------------------------------------------------ sources

    @Nested
    class Sources {

        @Test
        void eachRuleKeyComesFromTheHighestSourceThatGivesIt() throws Exception {
            Path file = file("rules = db\nrule.db.match = connect port=5432\nrule.db.keepalive.idle = 40s\n"
                    + "rule.db.keepalive.interval = 4s\nrule.db.keepalive.count = 4\nrule.db.user_timeout = 4s\n");
            Map<String, String> environment = map("TCPHARDENING_RULE_DB_KEEPALIVE_IDLE", "30s",
                    "TCPHARDENING_RULE_DB_KEEPALIVE_INTERVAL", "3s", "TCPHARDENING_RULE_DB_KEEPALIVE_COUNT", "3");
            Map<String, String> properties = map("tcphardening.rule.db.keepalive.idle", "20s",
                    "tcphardening.rule.db.keepalive.interval", "2s");
            Settings settings = SettingsLoader.load("config=" + file + ",rule.db.keepalive.idle=10s", properties,
                    environment, null);
            Decision db = settings.rules().get(0).decision();
            assertEquals(10, db.value(TcpOption.KEEPIDLE));
            assertEquals(2, db.value(TcpOption.KEEPINTVL));
            assertEquals(3, db.value(TcpOption.KEEPCNT));
            assertEquals(4_000, db.value(TcpOption.USER_TIMEOUT));
            Map<String, String> sources = settings.sources();
            assertEquals("agent argument", sources.get("rule.db.keepalive.idle"));
            assertEquals("system property -Dtcphardening.rule.db.keepalive.interval",
                    sources.get("rule.db.keepalive.interval"));
            assertEquals("environment variable TCPHARDENING_RULE_DB_KEEPALIVE_COUNT",
                    sources.get("rule.db.keepalive.count"));
            assertEquals(file + ":6", sources.get("rule.db.user_timeout"));
            assertEquals(file + ":2", sources.get("rule.db.match"));
            assertEquals(file + ":1", sources.get("rules"));
        }

        @Test
        void aHigherSourcesMatchReplacesTheFilesWhole() throws Exception {
            Path file = file("rules = db\nrule.db.match = connect port=5432\n");
            Settings settings = SettingsLoader.load("config=" + file, map("tcphardening.rule.db.match", "port=6432"),
                    NONE, null);
            assertEquals("port=6432", settings.rules().get(0).match().toString());
            assertEquals("default", connect(settings, "192.0.2.1", 5432, null));
            assertEquals("db", accept(settings, "192.0.2.1", 6432, 8443), "no longer only connect");
        }

        @Test
        void environmentVariablesNameRulesWithUnderscores() throws Exception {
            Settings settings = SettingsLoader.load(null, NONE, map("TCPHARDENING_RULES", "my_db",
                    "TCPHARDENING_RULE_MY_DB_MATCH", "connect port=5432",
                    "TCPHARDENING_RULE_MY_DB_KEEPALIVE_IDLE", "15s",
                    "TCPHARDENING_RULE_MY_DB_KEEPALIVE", "true",
                    "TCPHARDENING_RULE_MY_DB_USER_TIMEOUT", "20s",
                    "TCPHARDENING_RULE_MY_DB_APP_VALUES", "keep"), null);
            Rule rule = settings.rules().get(0);
            assertEquals("my_db", rule.name());
            assertEquals(15, rule.decision().value(TcpOption.KEEPIDLE), "keepalive.idle, not keepalive of idle");
            assertEquals(1, rule.decision().value(TcpOption.KEEPALIVE));
            assertEquals(20_000, rule.decision().value(TcpOption.USER_TIMEOUT));
            assertEquals(AppValues.KEEP, rule.decision().appValues());
            assertEquals("environment variable TCPHARDENING_RULE_MY_DB_KEEPALIVE_IDLE",
                    settings.sources().get("rule.my_db.keepalive.idle"));
            assertTrue(fails(null, NONE, map("TCPHARDENING_RULES", "db", "TCPHARDENING_RULE_DB_MATCH", "connect",
                    "TCPHARDENING_RULE_DB_IDLE", "5s")).startsWith("environment variable TCPHARDENING_RULE_DB_IDLE is"
                    + " not a setting of the agent"));
        }

        @Test
        void theAgentArgumentKeepsAMatchsCommas() throws Exception {
            Settings settings = load("rules=db web,rule.db.match=connect remote=10.0.0.0/8,fd00::/8 port=5432,6432,"
                    + "rule.db.user_timeout=15s,rule.web.match=host=*.example.com,api.example.org port=443-444,"
                    + "user_timeout=1m");
            assertEquals("connect remote=10.0.0.0/8,fd00::/8 port=5432,6432", settings.rules().get(0).match()
                    .toString());
            assertEquals("host=*.example.com,api.example.org port=443-444", settings.rules().get(1).match()
                    .toString());
            assertEquals(15_000, settings.rules().get(0).decision().value(TcpOption.USER_TIMEOUT));
            assertEquals(60_000, settings.value(TcpOption.USER_TIMEOUT), "the pair after a match is a pair");
            assertEquals(60_000, settings.rules().get(1).decision().value(TcpOption.USER_TIMEOUT));
            assertEquals("db", connect(settings, "fd00::1", 6432, null));
            assertEquals("web", connect(settings, "192.0.2.1", 444, "API.example.org"));
            // a misspelt key after a match is reported as a key, not swallowed into the match
            assertTrue(fails("rules=db,rule.db.match=connect port=5432,6432,user_timout=30s").startsWith(
                    "agent argument: 'user_timout' is not a setting of the agent; did you mean user_timeout?"));
        }

        @Test
        void rulesFromOneSourceAndTheirKeysFromAnother() throws Exception {
            Settings settings = SettingsLoader.load("rules=db", map("tcphardening.rule.db.match", "connect"),
                    map("TCPHARDENING_RULE_DB_USER_TIMEOUT", "9s"), null);
            assertEquals(9_000, settings.rules().get(0).decision().value(TcpOption.USER_TIMEOUT));
            assertEquals("agent argument", settings.sources().get("rules"));
        }
    }

    // ------------------------------------------------------------------------------------------------ decisions

    @Nested
    class Decisions {

        @Test
        void theContractsExample() throws Exception {
            Settings settings = load("config=" + file(CONTRACT));
            assertEquals("db", connect(settings, "10.1.2.3", 5432, null));
            assertEquals("db", connect(settings, "fd00::5", 6432, "db.example.com"));
            assertEquals("db", settings.decide(false, Match.address("::ffff:10.1.2.3"), 6432, -1, null).rule());
            assertEquals("default", connect(settings, "10.1.2.3", 80, null));
            assertEquals("default", accept(settings, "10.1.2.3", 5432, 9000), "db is for connect only");
            assertEquals("inbound", accept(settings, "192.0.2.1", 40000, 8443));
            assertEquals("inbound", accept(settings, "127.0.0.1", 40000, 8443), "the first that matches decides");
            assertEquals("sidecar", accept(settings, "127.0.0.1", 40000, 8080));
            assertEquals("sidecar", connect(settings, "127.0.0.53", 8080, null));
            assertEquals("sidecar", connect(settings, "::1", 8080, null));
            assertEquals("sidecar", settings.decide(false, Match.address("::ffff:127.0.0.1"), 80, -1, null).rule());
            assertEquals("default", connect(settings, "::2", 8080, null));

            Decision db = settings.decide(false, ip("10.1.2.3"), 5432, -1, null);
            assertEquals("db: keepalive=true keepalive.idle=10s keepalive.interval=10s keepalive.count=6"
                    + " user_timeout=15000ms app.values=stricter", db.toString());
            Decision inbound = settings.decide(true, ip("192.0.2.1"), 40000, 8443, null);
            assertEquals("inbound: keepalive=true keepalive.idle=60s keepalive.interval=10s keepalive.count=6"
                    + " user_timeout=300000ms app.values=replace", inbound.toString());
            Decision sidecar = settings.decide(false, ip("127.0.0.1"), 8080, -1, null);
            assertTrue(sidecar.leavesAlone());
            assertFalse(db.leavesAlone());
            Decision none = settings.decide(false, ip("192.0.2.1"), 443, -1, "example.com");
            assertSame(settings.defaults(), none);
            assertEquals(Decision.DEFAULT, none.rule());
            assertEquals(120_000, none.value(TcpOption.USER_TIMEOUT));
        }

        @Test
        void aRuleTakesTheGlobalValuesAndPolicyItDoesNotName() throws Exception {
            Settings settings = load("keepalive.interval=7s,user_timeout=unchanged,app.values=keep,rules=db,"
                    + "rule.db.match=connect,rule.db.keepalive.idle=20s");
            Decision db = settings.rules().get(0).decision();
            assertEquals(20, db.value(TcpOption.KEEPIDLE));
            assertEquals(7, db.value(TcpOption.KEEPINTVL));
            assertFalse(db.isSet(TcpOption.USER_TIMEOUT));
            assertEquals(AppValues.KEEP, db.appValues());
            assertEquals(AppValues.KEEP, settings.defaults().appValues());
        }

        @Test
        void aRuleThatLeavesEverythingUnchangedOnGlobalsThatDoTheSame() throws Exception {
            Settings settings = load("keepalive=unchanged,keepalive.idle=unchanged,keepalive.interval=unchanged,"
                    + "keepalive.count=unchanged,user_timeout=unchanged,rules=db,rule.db.match=connect,"
                    + "rule.db.user_timeout=30s");
            assertTrue(settings.defaults().leavesAlone());
            assertTrue(settings.setsAnything(), "a rule sets user_timeout");
            assertFalse(settings.rules().get(0).decision().leavesAlone());
        }

        @Test
        void whatTheRulesLookAt() throws Exception {
            Settings settings = load("rules=a b,rule.a.match=host=*.internal,rule.b.match=accept local-port=80");
            assertTrue(settings.rulesUseHost());
            assertTrue(settings.rulesUseLocalPort());
            assertFalse(settings.rulesUseRemote());
            assertTrue(settings.tracksApplicationValues());
            assertFalse(load("").tracksApplicationValues());
            assertTrue(load("app.values=stricter").tracksApplicationValues());
            assertTrue(oneRule("port=1").rulesUseRemote());
        }
    }

    // ------------------------------------------------------------------------------------------------ app.values

    @Nested
    class ApplicationValues {

        @ParameterizedTest(name = "{0} {1}: application {2}, configured {3} -> {4}")
        @CsvSource({
            // replace: the configured value, whatever the application wrote
            "REPLACE,  KEEPALIVE,    0,      1,      1",
            "REPLACE,  KEEPALIVE,    1,      0,      0",
            "REPLACE,  KEEPIDLE,     5,      60,     60",
            "REPLACE,  KEEPINTVL,    1,      10,     10",
            "REPLACE,  KEEPCNT,      2,      6,      6",
            "REPLACE,  USER_TIMEOUT, 1000,   120000, 120000",
            "REPLACE,  USER_TIMEOUT, 5000,   0,      0",
            // keep: the application's, whatever we configured
            "KEEP,     KEEPALIVE,    0,      1,      0",
            "KEEP,     KEEPIDLE,     7200,   60,     7200",
            "KEEP,     KEEPINTVL,    75,     10,     75",
            "KEEP,     KEEPCNT,      9,      6,      9",
            "KEEP,     USER_TIMEOUT, 0,      120000, 0",
            // stricter: whichever detects a dead peer no later
            "STRICTER, KEEPALIVE,    0,      1,      1",
            "STRICTER, KEEPALIVE,    1,      0,      1",
            "STRICTER, KEEPALIVE,    0,      0,      0",
            "STRICTER, KEEPIDLE,     30,     60,     30",
            "STRICTER, KEEPIDLE,     7200,   60,     60",
            "STRICTER, KEEPINTVL,    5,      10,     5",
            "STRICTER, KEEPINTVL,    75,     10,     10",
            "STRICTER, KEEPCNT,      3,      6,      3",
            "STRICTER, KEEPCNT,      9,      6,      6",
            "STRICTER, USER_TIMEOUT, 10000,  30000,  10000",
            "STRICTER, USER_TIMEOUT, 60000,  30000,  30000",
            // user_timeout 0 is the kernel's "no timeout": never the stricter of a set value and 0
            "STRICTER, USER_TIMEOUT, 0,      30000,  30000",
            "STRICTER, USER_TIMEOUT, 10000,  0,      10000",
            "STRICTER, USER_TIMEOUT, 0,      0,      0",
        })
        void eachPolicyHoldsItsValue(AppValues policy, TcpOption option, int application, int configured,
                                     int expected) {
            assertEquals(expected, policy.hold(option, application, configured));
        }

        @ParameterizedTest
        @EnumSource(AppValues.class)
        void anOptionLeftUnchangedIsTheApplicationsUnderEveryPolicy(AppValues policy) {
            for (TcpOption option : TcpOption.ALL) {
                assertEquals(3, policy.hold(option, 3, Settings.UNCHANGED), option.key);
            }
        }

        @Test
        void aDecisionHoldsWithItsOwnPolicyAndValues() throws Exception {
            Settings settings = load("config=" + file(CONTRACT));
            Decision db = settings.rules().get(0).decision();
            assertEquals(5, db.hold(TcpOption.KEEPIDLE, 5), "stricter: the application's 5s beats the rule's 10s");
            assertEquals(10, db.hold(TcpOption.KEEPIDLE, 7200));
            assertEquals(15_000, db.hold(TcpOption.USER_TIMEOUT, 0));
            Decision inbound = settings.rules().get(1).decision();
            assertEquals(300_000, inbound.hold(TcpOption.USER_TIMEOUT, 1000), "replace, from the global app.values");
            Decision sidecar = settings.rules().get(2).decision();
            assertEquals(0, sidecar.hold(TcpOption.KEEPALIVE, 0), "unchanged: the application's");
        }

        @Test
        void policiesAreWrittenInLowerCaseAndReadInAnyCase() throws Exception {
            assertEquals(AppValues.STRICTER, load("app.values=Stricter").appValues());
            assertEquals("stricter", AppValues.STRICTER.key());
            assertTrue(load("app.values=KEEP").describe().endsWith(", app.values=keep (agent argument)"));
        }
    }

    // ------------------------------------------------------------------------------------------------ covers

    @Nested
    class Covers {

        @ParameterizedTest(name = "[{0}] covers [{1}]: {2}")
        @CsvSource(delimiter = '|', value = {
            "connect                       | connect port=5432                         | true",
            "port=5432                     | connect port=5432                         | true",
            "connect port=5432             | port=5432                                 | false",
            "connect                       | accept                                    | false",
            // local-port= holds only for accepted connections, so it is accept whatever the match says
            "accept                        | local-port=8443                           | true",
            "connect                       | local-port=8443                           | false",
            "local-port=8000-8999          | accept local-port=8443,8500-8600          | true",
            "local-port=8443               | accept                                    | false",
            "local-port=8443               | local-port=8443-8444                      | false",
            "port=5000-6000                | port=5432,5433-5440                       | true",
            "port=5432                     | port=5432-5433                            | false",
            "port=5432                     | host=db.internal                          | false",
            "remote=10.0.0.0/8             | remote=10.1.0.0/16,10.2.3.4               | true",
            "remote=10.0.0.0/8,fd00::/8    | remote=fd12::/16,10.9.9.9                 | true",
            "remote=10.0.0.0/8             | remote=10.0.0.0/7                         | false",
            "remote=10.0.0.0/8             | remote=10.1.0.0/16,11.0.0.1               | false",
            "remote=10.0.0.0/8             | remote=fd00::/8                           | false",
            "remote=10.0.0.0/8             | remote=::ffff:10.1.0.0/112                | true",
            "remote=10.0.0.0/8             | port=5432                                 | false",
            "host=*                        | host=db.example.com                       | true",
            "host=*.example.com            | host=db.example.com,DB2.Example.com       | true",
            "host=*.example.com            | host=db.example.com,db.example.org        | false",
            "host=*.example.com            | host=*.db.example.com                     | false",
            "host=db?.example.com          | host=db?.example.com                      | true",
            "host=*.example.com            | remote=10.0.0.0/8                         | false",
            "remote=127.0.0.0/8,::1        | connect remote=127.0.0.1 port=80 host=a.b | true",
            "connect remote=127.0.0.0/8    | remote=127.0.0.1                          | false",
        })
        void examples(String earlier, String later, boolean covers) {
            assertEquals(covers, Match.parse(earlier).covers(Match.parse(later)));
        }

        /**
         * Whatever {@code covers} claims must hold: every connection of a sample that the later match holds for, the
         * earlier one holds for too. Pairs it does not claim are not checked (it is conservative by design); the
         * examples above check that it claims the plain cases.
         */
        @Test
        void neverClaimsWhatAConnectionDisproves() throws Exception {
            String[] matches = {"connect", "accept", "port=5432", "port=5000-6000", "connect port=5432,6432",
                "local-port=8443", "accept local-port=8000-8999", "remote=10.0.0.0/8", "remote=10.1.0.0/16",
                "remote=10.1.2.3", "remote=fd00::/8", "remote=::ffff:10.1.0.0/112", "remote=10.0.0.0/8,fd00::/8",
                "host=*", "host=*.example.com", "host=db.example.com", "host=db?.example.com",
                "connect remote=10.0.0.0/8 port=5432 host=db.example.com", "accept remote=10.1.0.0/16"};
            byte[][] addresses = {Match.address("10.1.2.3"), Match.address("10.200.0.1"), Match.address("11.0.0.1"),
                Match.address("fd00::1"), Match.address("2001:db8::1"), null};
            int[] ports = {5432, 6432, 5999, 8443, 8500, 80, -1};
            String[] hosts = {"db.example.com", "db1.example.com", "example.com", "db.internal", null};
            int claimed = 0;
            for (String earlierText : matches) {
                Match earlier = Match.parse(earlierText);
                for (String laterText : matches) {
                    Match later = Match.parse(laterText);
                    if (!earlier.covers(later)) {
                        continue;
                    }
                    claimed++;
                    for (boolean accepted : new boolean[] {false, true}) {
                        for (byte[] address : addresses) {
                            for (int port : ports) {
                                for (int localPort : ports) {
                                    for (String host : hosts) {
                                        int local = accepted ? localPort : -1;
                                        if (later.matches(accepted, address, port, local, host)) {
                                            assertTrue(earlier.matches(accepted, address, port, local, host),
                                                    "[" + earlierText + "] claims to cover [" + laterText + "]");
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assertTrue(claimed > matches.length, "each match covers itself, and some others: " + claimed);
        }

        @Test
        void everyMatchCoversItself() {
            for (String text : new String[] {"connect", "accept local-port=1-2", "remote=fd00::/8,10.0.0.1 port=1",
                "host=*.a,b?c"}) {
                assertTrue(Match.parse(text).covers(Match.parse(text)), text);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ descriptions

    @Nested
    class Descriptions {

        @Test
        void theGlobalDescriptionLeavesTheRulesToTheirOwnLines() throws Exception {
            Path file = file(CONTRACT);
            Settings settings = load("config=" + file);
            assertEquals("keepalive=true (default), keepalive.idle=60s (default), keepalive.interval=10s (default),"
                    + " keepalive.count=6 (default), user_timeout=120000ms (default), log.level=info (default),"
                    + " log.file=stderr (default), log.required=false (default), keepalive.jitter=0% (default),"
                    + " app.values=replace (" + file + ":14)", settings.describe());
            assertEquals(List.of(
                    "db [connect remote=10.0.0.0/8,fd00::/8 port=5432,6432 (" + file + ":2)]: keepalive.idle=10s ("
                            + file + ":3), user_timeout=15000ms (" + file + ":4), app.values=stricter (" + file
                            + ":5); others as the global settings",
                    "inbound [accept local-port=8443 (" + file + ":6)]: user_timeout=300000ms (" + file + ":7); others"
                            + " as the global settings",
                    "sidecar [remote=127.0.0.0/8,::1 (" + file + ":8)]: keepalive=unchanged (" + file + ":9),"
                            + " keepalive.idle=unchanged (" + file + ":10), keepalive.interval=unchanged (" + file
                            + ":11), keepalive.count=unchanged (" + file + ":12), user_timeout=unchanged (" + file
                            + ":13); matching connections are left alone"), settings.describeRules());
        }

        @Test
        void aRuleThatNamesEverythingLeavesNothingToTheGlobalSettings() throws Exception {
            Settings settings = load("rules=r,rule.r.match=connect,rule.r.keepalive=true,rule.r.keepalive.idle=1s,"
                    + "rule.r.keepalive.interval=1s,rule.r.keepalive.count=1,rule.r.user_timeout=1s,"
                    + "rule.r.app.values=keep");
            assertEquals("r [connect (agent argument)]: keepalive=true (agent argument), keepalive.idle=1s (agent"
                    + " argument), keepalive.interval=1s (agent argument), keepalive.count=1 (agent argument),"
                    + " user_timeout=1000ms (agent argument), app.values=keep (agent argument)",
                    settings.describeRules().get(0));
            Settings noPolicy = load("rules=r,rule.r.match=connect,rule.r.keepalive=true,rule.r.keepalive.idle=1s,"
                    + "rule.r.keepalive.interval=1s,rule.r.keepalive.count=1,rule.r.user_timeout=1s");
            assertTrue(noPolicy.describeRules().get(0).endsWith("; others as the global settings"),
                    "app.values is still the global one");
            assertEquals("r [accept (agent argument)]: all as the global settings",
                    load("rules=r,rule.r.match=accept").describeRules().get(0));
        }

        @Test
        void valuesAndSourcesListEveryRuleKey() throws Exception {
            Settings settings = load("rules=db,rule.db.match=connect port=5432,6432,rule.db.user_timeout=15s");
            Map<String, String> values = settings.values();
            assertEquals("db", values.get("rules"));
            assertEquals("connect port=5432,6432", values.get("rule.db.match"));
            assertEquals("15000ms", values.get("rule.db.user_timeout"));
            assertNull(values.get("rule.db.keepalive.idle"), "not named by the rule");
            // the published values load again to the same settings, commas of the match and all
            StringBuilder args = new StringBuilder();
            for (Map.Entry<String, String> value : values.entrySet()) {
                if (!value.getKey().equals("log.file")) {
                    args.append(args.length() == 0 ? "" : ",").append(value.getKey()).append('=')
                            .append(value.getValue());
                }
            }
            assertEquals(settings, load(args.toString()));
        }
    }
}
