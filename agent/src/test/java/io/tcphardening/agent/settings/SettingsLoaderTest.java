package io.tcphardening.agent.settings;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Example-based tests of {@link SettingsLoader} against the configuration contract: keys and ranges, units, sources
 * and their precedence, the file's edge cases, and what an operator reads when something is wrong.
 */
class SettingsLoaderTest {

    private static final Map<String, String> NONE = Map.of();

    @TempDir
    Path tmp;

    // ------------------------------------------------------------------------------------------------ helpers

    private static Settings load(String args, Map<String, String> properties, Map<String, String> environment,
                                 Path agentDir) throws ConfigException {
        return SettingsLoader.load(args, properties, environment, agentDir);
    }

    private static Settings args(String args) throws ConfigException {
        return load(args, NONE, NONE, null);
    }

    /** Loading must fail with a ConfigException; returns its message after checking it is fit for a terminal. */
    private static String fails(String args, Map<String, String> properties, Map<String, String> environment,
                                Path agentDir) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(args, properties, environment, agentDir));
        assertPrintable(e.getMessage());
        return e.getMessage();
    }

    private static String failsArgs(String args) {
        return fails(args, NONE, NONE, null);
    }

    /** One line, bounded, no control or invisible formatting characters. */
    static void assertPrintable(String message) {
        assertTrue(message != null && !message.isEmpty(), "message is empty");
        assertTrue(message.length() < 2000, "message is " + message.length() + " characters long");
        for (int i = 0; i < message.length(); i += Character.charCount(message.codePointAt(i))) {
            int c = message.codePointAt(i);
            int type = Character.getType(c);
            // an unpaired surrogate has type SURROGATE; a pair is one code point of another type
            if (Character.isISOControl(c) || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE) {
                fail(String.format("message has raw character U+%04X at %d: %s", c, i,
                        message.replaceAll("\\p{C}|\\p{Z}", "?")));
            }
        }
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "expected <" + part + "> in: " + message);
        }
    }

    private static Map<String, String> map(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    private Path write(String name, String content) throws IOException {
        return write(name, content.getBytes(StandardCharsets.UTF_8));
    }

    private Path write(String name, byte[] content) throws IOException {
        Path file = tmp.resolve(name);
        Files.createDirectories(file.getParent());
        Files.write(file, content);
        return file;
    }

    private static Settings withFile(Path file) throws ConfigException {
        return args("config=" + file);
    }

    private static String failsWithFile(Path file) {
        return failsArgs("config=" + file);
    }

    private static void assertDefaults(Settings settings) {
        assertEquals(1, settings.value(TcpOption.KEEPALIVE));
        assertEquals(60, settings.value(TcpOption.KEEPIDLE));
        assertEquals(10, settings.value(TcpOption.KEEPINTVL));
        assertEquals(6, settings.value(TcpOption.KEEPCNT));
        assertEquals(120_000, settings.value(TcpOption.USER_TIMEOUT));
        assertEquals(LogLevel.INFO, settings.logLevel());
        assertNull(settings.logFile());
        assertEquals(Settings.DEFAULTS, settings);
    }

    private static void mkfifo(Path path) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo is not available: " + e.getMessage());
            return;
        }
        assumeTrue(process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0, "mkfifo failed");
    }

    // ------------------------------------------------------------------------------------------------ defaults

    @Nested
    class Defaults {

        @Test
        void noSourcesGiveTheBuiltInDefaults() throws Exception {
            Settings settings = load(null, NONE, NONE, null);
            assertDefaults(settings);
            assertEquals("keepalive=true (default), keepalive.idle=60s (default), keepalive.interval=10s (default), "
                    + "keepalive.count=6 (default), user_timeout=120000ms (default), log.level=info (default), "
                    + "log.file=stderr (default), log.required=false (default), keepalive.jitter=0% (default), app.values=replace (default)", settings.describe());
            for (TcpOption option : TcpOption.ALL) {
                assertEquals(Settings.DEFAULT_SOURCE, settings.source(option));
            }
        }

        @ParameterizedTest
        @ValueSource(strings = {"", " ", "\t"})
        void emptyAgentArgumentIsNoArgument(String args) throws Exception {
            assertDefaults(args(args));
        }

        @Test
        void agentDirWithoutPropertiesFileGivesDefaults() throws Exception {
            assertDefaults(load(null, NONE, NONE, tmp));
        }

        @Test
        void unrelatedPropertiesAndVariablesAreIgnored() throws Exception {
            Settings settings = load(null,
                    map("java.version", "17", "tcphardeningx.keepalive", "nonsense", "my.tcphardening.keepalive", "x"),
                    map("PATH", "/usr/bin", "TCPHARDENINGX_KEEPALIVE", "nonsense", "MY_TCPHARDENING_KEEPALIVE", "x"),
                    tmp);
            assertDefaults(settings);
        }
    }

    // ------------------------------------------------------------------------------------------------ each source

    @Nested
    class EachSourceAlone {

        @Test
        void agentArgument() throws Exception {
            Path log = tmp.resolve("agent.log");
            Settings settings = args("keepalive=false,keepalive.idle=30s,keepalive.interval=5s,keepalive.count=3,"
                    + "user_timeout=45s,log.level=debug,log.file=" + log);
            assertEquals(0, settings.value(TcpOption.KEEPALIVE));
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(5, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(45_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.DEBUG, settings.logLevel());
            assertEquals(log, settings.logFile());
            assertEquals("keepalive=false (agent argument), keepalive.idle=30s (agent argument), "
                    + "keepalive.interval=5s (agent argument), keepalive.count=3 (agent argument), "
                    + "user_timeout=45000ms (agent argument), log.level=debug (agent argument), "
                    + "log.file=" + log + " (agent argument), log.required=false (default), keepalive.jitter=0% (default), app.values=replace (default)", settings.describe());
        }

        @Test
        void agentArgumentIgnoresSpacesAroundKeysAndValues() throws Exception {
            Settings settings = args(" keepalive.idle = 30s , keepalive.count= 3");
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
        }

        @Test
        void systemProperties() throws Exception {
            Path log = tmp.resolve("agent.log");
            Settings settings = load(null, map("tcphardening.keepalive", "false", "tcphardening.keepalive.idle", "30s",
                    "tcphardening.keepalive.interval", "5s", "tcphardening.keepalive.count", "3",
                    "tcphardening.user_timeout", "45s", "tcphardening.log.level", "debug",
                    "tcphardening.log.file", log.toString()), NONE, null);
            assertEquals(0, settings.value(TcpOption.KEEPALIVE));
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(5, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(45_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.DEBUG, settings.logLevel());
            assertEquals(log, settings.logFile());
            assertEquals("system property -Dtcphardening.keepalive.idle", settings.source(TcpOption.KEEPIDLE));
            assertContains(settings.describe(), "keepalive.idle=30s (system property -Dtcphardening.keepalive.idle)",
                    "log.level=debug (system property -Dtcphardening.log.level)",
                    "log.file=" + log + " (system property -Dtcphardening.log.file)");
        }

        @Test
        void environment() throws Exception {
            Path log = tmp.resolve("agent.log");
            Settings settings = load(null, NONE, map("TCPHARDENING_KEEPALIVE", "false",
                    "TCPHARDENING_KEEPALIVE_IDLE", "30s", "TCPHARDENING_KEEPALIVE_INTERVAL", "5s",
                    "TCPHARDENING_KEEPALIVE_COUNT", "3", "TCPHARDENING_USER_TIMEOUT", "45s",
                    "TCPHARDENING_LOG_LEVEL", "debug", "TCPHARDENING_LOG_FILE", log.toString()), null);
            assertEquals(0, settings.value(TcpOption.KEEPALIVE));
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(5, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(45_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.DEBUG, settings.logLevel());
            assertEquals(log, settings.logFile());
            assertEquals("environment variable TCPHARDENING_USER_TIMEOUT", settings.source(TcpOption.USER_TIMEOUT));
            assertContains(settings.describe(),
                    "user_timeout=45000ms (environment variable TCPHARDENING_USER_TIMEOUT)",
                    "keepalive.idle=30s (environment variable TCPHARDENING_KEEPALIVE_IDLE)",
                    "log.file=" + log + " (environment variable TCPHARDENING_LOG_FILE)");
        }

        @Test
        void file() throws Exception {
            Path log = tmp.resolve("agent.log");
            Path file = write("conf/agent.properties", "keepalive = false\nkeepalive.idle = 30s\n"
                    + "keepalive.interval = 5s\nkeepalive.count = 3\nuser_timeout = 45s\nlog.level = debug\n"
                    + "log.file = " + log + "\n");
            Settings settings = withFile(file);
            assertEquals(0, settings.value(TcpOption.KEEPALIVE));
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(5, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(45_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.DEBUG, settings.logLevel());
            assertEquals(log, settings.logFile());
            assertEquals(file + ":2", settings.source(TcpOption.KEEPIDLE));
            assertContains(settings.describe(), "keepalive=false (" + file + ":1)",
                    "keepalive.idle=30s (" + file + ":2)", "log.level=debug (" + file + ":6)",
                    "log.file=" + log + " (" + file + ":7)");
        }

        @Test
        void emptyFileGivesDefaults() throws Exception {
            assertDefaults(withFile(write("empty.properties", "")));
        }
    }

    // ------------------------------------------------------------------------------------------------ precedence

    @Nested
    class Precedence {

        @Test
        void sameKeyInAllFourSourcesRemovedTopDown() throws Exception {
            Path agentDir = Files.createDirectories(tmp.resolve("agent"));
            Path file = write("agent/agent.properties", "# the default file\nkeepalive.idle = 44s\n");
            Map<String, String> properties = map("tcphardening.keepalive.idle", "22s");
            Map<String, String> environment = map("TCPHARDENING_KEEPALIVE_IDLE", "33s");

            Settings all = load("keepalive.idle=11s", properties, environment, agentDir);
            assertEquals(11, all.value(TcpOption.KEEPIDLE));
            assertContains(all.describe(), "keepalive.idle=11s (agent argument)");

            Settings noArgument = load(null, properties, environment, agentDir);
            assertEquals(22, noArgument.value(TcpOption.KEEPIDLE));
            assertContains(noArgument.describe(), "keepalive.idle=22s (system property -Dtcphardening.keepalive.idle)");

            Settings noProperty = load(null, NONE, environment, agentDir);
            assertEquals(33, noProperty.value(TcpOption.KEEPIDLE));
            assertContains(noProperty.describe(), "keepalive.idle=33s (environment variable TCPHARDENING_KEEPALIVE_IDLE)");

            Settings noVariable = load(null, NONE, NONE, agentDir);
            assertEquals(44, noVariable.value(TcpOption.KEEPIDLE));
            assertContains(noVariable.describe(), "keepalive.idle=44s (" + file + ":2)");

            Files.writeString(file, "# the default file\n");
            Settings noFileEntry = load(null, NONE, NONE, agentDir);
            assertEquals(60, noFileEntry.value(TcpOption.KEEPIDLE));
            assertContains(noFileEntry.describe(), "keepalive.idle=60s (default)");
        }

        @Test
        void eachKeyWinsIndependently() throws Exception {
            Path file = write("agent.properties", "keepalive.idle = 4s\nkeepalive.interval = 4s\n"
                    + "keepalive.count = 4\nuser_timeout = 4s\nlog.level = error\n");
            Settings settings = load("config=" + file + ",keepalive.idle=1s",
                    map("tcphardening.keepalive.idle", "2s", "tcphardening.keepalive.interval", "2s"),
                    map("TCPHARDENING_KEEPALIVE_IDLE", "3s", "TCPHARDENING_KEEPALIVE_INTERVAL", "3s",
                            "TCPHARDENING_KEEPALIVE_COUNT", "3"), null);
            assertEquals(1, settings.value(TcpOption.KEEPIDLE));
            assertEquals(2, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(4_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.ERROR, settings.logLevel());
            assertEquals(1, settings.value(TcpOption.KEEPALIVE));
            assertEquals("agent argument", settings.source(TcpOption.KEEPIDLE));
            assertEquals("system property -Dtcphardening.keepalive.interval", settings.source(TcpOption.KEEPINTVL));
            assertEquals("environment variable TCPHARDENING_KEEPALIVE_COUNT", settings.source(TcpOption.KEEPCNT));
            assertEquals(file + ":4", settings.source(TcpOption.USER_TIMEOUT));
            assertEquals(Settings.DEFAULT_SOURCE, settings.source(TcpOption.KEEPALIVE));
        }

        @Test
        void logSettingsFollowTheSamePrecedence() throws Exception {
            Path fromArgument = tmp.resolve("argument.log");
            Path fromProperty = tmp.resolve("property.log");
            Settings settings = load("log.file=" + fromArgument,
                    map("tcphardening.log.level", "warn", "tcphardening.log.file", fromProperty.toString()),
                    map("TCPHARDENING_LOG_LEVEL", "trace"), null);
            assertEquals(LogLevel.WARN, settings.logLevel());
            assertEquals(fromArgument, settings.logFile());
            assertContains(settings.describe(), "log.level=warn (system property -Dtcphardening.log.level)",
                    "log.file=" + fromArgument + " (agent argument)");
        }
    }

    // ------------------------------------------------------------------------------------------------ the file

    @Nested
    class WhichFile {

        @Test
        void configFromAgentArgument() throws Exception {
            Path file = write("a.properties", "keepalive.count = 9\n");
            assertEquals(9, load("config=" + file, NONE, NONE, null).value(TcpOption.KEEPCNT));
        }

        @Test
        void configFromSystemProperty() throws Exception {
            Path file = write("p.properties", "keepalive.count = 9\n");
            assertEquals(9, load(null, map("tcphardening.config", file.toString()), NONE, null)
                    .value(TcpOption.KEEPCNT));
        }

        @Test
        void configFromEnvironment() throws Exception {
            Path file = write("e.properties", "keepalive.count = 9\n");
            assertEquals(9, load(null, NONE, map("TCPHARDENING_CONFIG", file.toString()), null)
                    .value(TcpOption.KEEPCNT));
        }

        @Test
        void configPrecedenceAndOnlyOneFileIsRead() throws Exception {
            Path fromArgument = write("arg.properties", "keepalive.count = 1\n");
            Path fromProperty = write("prop.properties", "keepalive.count = 2\nkeepalive.idle = 2s\n");
            Path fromEnvironment = write("env.properties", "keepalive.count = 3\nkeepalive.interval = 3s\n");
            Path agentDir = Files.createDirectories(tmp.resolve("agent"));
            write("agent/agent.properties", "keepalive.count = 4\nuser_timeout = 4s\n");
            Map<String, String> properties = map("tcphardening.config", fromProperty.toString());
            Map<String, String> environment = map("TCPHARDENING_CONFIG", fromEnvironment.toString());

            Settings settings = load("config=" + fromArgument, properties, environment, agentDir);
            assertEquals(1, settings.value(TcpOption.KEEPCNT));
            assertEquals(fromArgument + ":1", settings.source(TcpOption.KEEPCNT));
            // nothing of the files not chosen
            assertEquals(60, settings.value(TcpOption.KEEPIDLE));
            assertEquals(10, settings.value(TcpOption.KEEPINTVL));
            assertEquals(120_000, settings.value(TcpOption.USER_TIMEOUT));

            settings = load(null, properties, environment, agentDir);
            assertEquals(2, settings.value(TcpOption.KEEPCNT));
            assertEquals(2, settings.value(TcpOption.KEEPIDLE));
            assertEquals(10, settings.value(TcpOption.KEEPINTVL));

            settings = load(null, NONE, environment, agentDir);
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(3, settings.value(TcpOption.KEEPINTVL));
            assertEquals(120_000, settings.value(TcpOption.USER_TIMEOUT));

            settings = load(null, NONE, NONE, agentDir);
            assertEquals(4, settings.value(TcpOption.KEEPCNT));
            assertEquals(4_000, settings.value(TcpOption.USER_TIMEOUT));
        }

        @Test
        void defaultFileInAgentDir() throws Exception {
            Path agentDir = Files.createDirectories(tmp.resolve("agent"));
            Path file = write("agent/agent.properties", "\nkeepalive.idle = 30s\n");
            Settings settings = load(null, NONE, NONE, agentDir);
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertContains(settings.describe(), "keepalive.idle=30s (" + file + ":2)");
        }

        @Test
        void defaultFileThatIsADirectoryIsRejected() throws Exception {
            Path agentDir = Files.createDirectories(tmp.resolve("agent"));
            Path file = Files.createDirectories(agentDir.resolve("agent.properties"));
            assertContains(fails(null, NONE, NONE, agentDir), file.toString(), "directory");
        }

        @Test
        void defaultFileThatIsADanglingSymlinkIsRejected() throws Exception {
            Path agentDir = Files.createDirectories(tmp.resolve("agent"));
            Path link = Files.createSymbolicLink(agentDir.resolve("agent.properties"), tmp.resolve("gone.properties"));
            assertContains(fails(null, NONE, NONE, agentDir), link.toString());
        }

        @Test
        void configInsideTheFileIsRejected() throws Exception {
            Path other = write("other.properties", "");
            Path file = write("agent.properties", "keepalive = true\nconfig = " + other + "\n");
            assertContains(failsWithFile(file), file + ":2", "config");
        }

        @Test
        void emptyConfigIsRejected() {
            assertContains(failsArgs("config="), "agent argument", "config");
            assertContains(fails(null, map("tcphardening.config", " "), NONE, null),
                    "system property -Dtcphardening.config", "config");
            assertContains(fails(null, NONE, map("TCPHARDENING_CONFIG", ""), null),
                    "environment variable TCPHARDENING_CONFIG", "config");
        }

        @Test
        void configWithNulCharacterIsRejected() {
            assertContains(fails(null, map("tcphardening.config", "/tmp/a\u0000b"), NONE, null),
                    "system property -Dtcphardening.config", "config", "\\u0000");
        }

        @Test
        void overriddenConfigIsStillValidated() throws Exception {
            Path file = write("agent.properties", "keepalive.count = 9\n");
            assertContains(fails("config=" + file, map("tcphardening.config", ""), NONE, null),
                    "system property -Dtcphardening.config", "config");
            assertContains(fails(null, map("tcphardening.config", file.toString()),
                    map("TCPHARDENING_CONFIG", ""), null), "environment variable TCPHARDENING_CONFIG", "config");
        }
    }

    // ------------------------------------------------------------------------------------------------ unchanged

    @Nested
    class Unchanged {

        @ParameterizedTest
        @EnumSource(TcpOption.class)
        void eachOptionMayBeUnchanged(TcpOption option) throws Exception {
            Settings fromArgument = args(option.key + "=unchanged");
            assertEquals(Settings.UNCHANGED, fromArgument.value(option));
            assertFalse(fromArgument.isSet(option));
            assertContains(fromArgument.describe(), option.key + "=unchanged (agent argument)");

            Settings fromEnvironment = load(null, NONE, map(SettingsLoader.environmentName(option.key), "unchanged"),
                    null);
            assertEquals(Settings.UNCHANGED, fromEnvironment.value(option));

            Path file = write(option.key + ".properties", option.key + " = unchanged\n");
            assertEquals(Settings.UNCHANGED, withFile(file).value(option));
            for (TcpOption other : TcpOption.ALL) {
                if (other != option) {
                    assertEquals(Settings.DEFAULTS.value(other), fromArgument.value(other));
                }
            }
        }

        @Test
        void unchangedOverridesALowerSource() throws Exception {
            Settings settings = load(null, map("tcphardening.user_timeout", "unchanged"),
                    map("TCPHARDENING_USER_TIMEOUT", "30s"), null);
            assertEquals(Settings.UNCHANGED, settings.value(TcpOption.USER_TIMEOUT));
        }

        @Test
        void allUnchangedSetsNothing() throws Exception {
            Settings settings = args("keepalive=unchanged,keepalive.idle=unchanged,keepalive.interval=unchanged,"
                    + "keepalive.count=unchanged,user_timeout=unchanged");
            assertFalse(settings.setsAnything());
        }
    }

    // ------------------------------------------------------------------------------------------------ values

    @Nested
    class Values {

        @ParameterizedTest(name = "user_timeout={0} -> {1}")
        @CsvSource({
            "0ms, 0", "0s, 0", "0m, 0", "0h, 0", "1ms, 1", "250ms, 250", "30s, 30000", "4m, 240000",
            "1h, 3600000", "2147483647ms, 2147483647", "2147483s, 2147483000", "35791m, 2147460000",
            "596h, 2145600000", "0030s, 30000",
        })
        void userTimeoutAccepts(String value, int expected) throws Exception {
            Settings settings = args("user_timeout=" + value);
            assertEquals(expected, settings.value(TcpOption.USER_TIMEOUT));
            assertContains(settings.describe(), "user_timeout=" + expected + "ms (agent argument)");
        }

        @ParameterizedTest(name = "user_timeout={0} rejected")
        @ValueSource(strings = {"2147483648ms", "2147484s", "35792m", "597h", "99999999999999999999999ms",
            "99999999999999999999999s", "99999999999999999999999h", "-1ms", "-1h", "30d", "30sec", "ms", "s",
            "1 2s", "thirty seconds", "", "true", "\uff13\uff10s"})
        void userTimeoutRejects(String value) {
            String message = failsArgs("user_timeout=" + value);
            assertContains(message, "agent argument", "user_timeout", "2147483647ms");
        }

        @ParameterizedTest(name = "{0}={1} -> {2}")
        @CsvSource({
            "keepalive.idle, 1s, 1", "keepalive.idle, 32767s, 32767", "keepalive.idle, 1000ms, 1",
            "keepalive.idle, 32767000ms, 32767", "keepalive.idle, 5m, 300", "keepalive.idle, 546m, 32760",
            "keepalive.idle, 9h, 32400", "keepalive.idle, 1h, 3600", "keepalive.idle, 007s, 7",
            "keepalive.interval, 1s, 1", "keepalive.interval, 32767s, 32767", "keepalive.interval, 2m, 120",
            "keepalive.interval, 3000ms, 3",
        })
        void secondsAccept(String key, String value, int expected) throws Exception {
            Settings settings = args(key + "=" + value);
            TcpOption option = key.equals("keepalive.idle") ? TcpOption.KEEPIDLE : TcpOption.KEEPINTVL;
            assertEquals(expected, settings.value(option));
            assertContains(settings.describe(), key + "=" + expected + "s (agent argument)");
        }

        @ParameterizedTest(name = "{0}={1} rejected")
        @CsvSource({
            "keepalive.idle, 0s", "keepalive.idle, 0ms", "keepalive.idle, 0h", "keepalive.idle, 32768s",
            "keepalive.idle, 32768000ms", "keepalive.idle, 547m", "keepalive.idle, 10h", "keepalive.idle, -1s",
            "keepalive.idle, 1.5s", "keepalive.idle, 30x", "keepalive.idle, unchanged!",
            "keepalive.interval, 0s", "keepalive.interval, 32768s", "keepalive.interval, 99999999999999999999999s",
        })
        void secondsReject(String key, String value) {
            assertContains(failsArgs(key + "=" + value), "agent argument", key, "32767s");
        }

        @ParameterizedTest(name = "keepalive.idle={0} is not whole seconds")
        @ValueSource(strings = {"1500ms", "999ms", "1ms", "32767001ms"})
        void secondsRejectFractionsWithAWholeSecondsMessage(String value) {
            String message = failsArgs("keepalive.idle=" + value);
            assertContains(message, "agent argument", "keepalive.idle", value, "whole number of seconds");
        }

        @Test
        void hugeWholeSecondsAreReportedAsOutOfRange() {
            for (String value : new String[] {"99999999999999999999999s", "1000000000000s", "640511947003s"}) {
                String message = failsArgs("keepalive.idle=" + value);
                assertContains(message, "keepalive.idle", "1s to 32767s");
                assertFalse(message.contains("not a whole number of seconds"), message);
            }
        }

        @ParameterizedTest(name = "keepalive.count={0} -> {1}")
        @CsvSource({"1, 1", "127, 127", "6, 6", "007, 7", "' 5 ', 5"})
        void countAccepts(String value, int expected) throws Exception {
            Settings settings = args("keepalive.count=" + value);
            assertEquals(expected, settings.value(TcpOption.KEEPCNT));
            assertContains(settings.describe(), "keepalive.count=" + expected + " (agent argument)");
        }

        @ParameterizedTest(name = "keepalive.count={0} rejected")
        @ValueSource(strings = {"0", "128", "-1", "99999999999999999999", "5s", "five", "", "1 2", "\uff15", "0x7f"})
        void countRejects(String value) {
            assertContains(failsArgs("keepalive.count=" + value), "agent argument", "keepalive.count", "1 to 127");
        }

        @Test
        void countWithManyLeadingZeros() throws Exception {
            assertEquals(5, args("keepalive.count=0000000000005").value(TcpOption.KEEPCNT));
        }

        @ParameterizedTest(name = "keepalive={0} -> {1}")
        @CsvSource({"true, 1", "false, 0", "TRUE, 1", "False, 0", "tRuE, 1"})
        void booleanAcceptsAnyCase(String value, int expected) throws Exception {
            assertEquals(expected, args("keepalive=" + value).value(TcpOption.KEEPALIVE));
        }

        @ParameterizedTest(name = "keepalive={0} rejected")
        @ValueSource(strings = {"yes", "no", "1", "0", "on", "", "truee", "true false"})
        void booleanRejects(String value) {
            assertContains(failsArgs("keepalive=" + value), "agent argument", "keepalive", "true", "false");
        }

        @ParameterizedTest(name = "log.level={0}")
        @CsvSource({"off, OFF", "error, ERROR", "warn, WARN", "info, INFO", "debug, DEBUG", "trace, TRACE",
            "Info, INFO", "TRACE, TRACE", "Warn, WARN"})
        void logLevelAcceptsAnyCase(String value, LogLevel expected) throws Exception {
            Settings settings = args("log.level=" + value);
            assertEquals(expected, settings.logLevel());
            assertContains(settings.describe(), "log.level=" + expected.key() + " (agent argument)");
        }

        @ParameterizedTest(name = "log.level={0} rejected")
        @ValueSource(strings = {"warning", "verbose", "fatal", "all", "", "unchanged", "3"})
        void logLevelRejects(String value) {
            assertContains(failsArgs("log.level=" + value), "agent argument", "log.level",
                    "off, error, warn, info, debug or trace");
        }

        @Test
        void logFileInAnExistingDirectory() throws Exception {
            Path log = tmp.resolve("agent.log");
            assertEquals(log, args("log.file=" + log).logFile());
            assertEquals(Paths.get("relative.log"), args("log.file=relative.log").logFile());
        }

        @Test
        void logFileInAMissingDirectoryIsRejected() {
            Path log = tmp.resolve("missing").resolve("agent.log");
            assertContains(failsArgs("log.file=" + log), "agent argument", "log.file", log.toString(), "directory");
        }

        @Test
        void logFileUnderARegularFileIsRejected() throws Exception {
            Path file = write("regular.txt", "x");
            assertContains(failsArgs("log.file=" + file.resolve("agent.log")), "agent argument", "log.file");
        }

        @Test
        void logFileThatIsADirectoryIsRejected() {
            assertContains(failsArgs("log.file=" + tmp), "agent argument", "log.file", "directory");
        }

        @Test
        void emptyLogFileIsRejected() {
            assertContains(fails(null, NONE, map("TCPHARDENING_LOG_FILE", " "), null),
                    "environment variable TCPHARDENING_LOG_FILE", "log.file");
        }
    }

    // ------------------------------------------------------------------------------------------------ bare numbers

    @Nested
    class BareNumbers {

        @ParameterizedTest(name = "{0}={1}")
        @CsvSource({"keepalive.idle, 30", "keepalive.interval, 10", "user_timeout, 120000", "user_timeout, 0"})
        void durationWithoutUnitShowsTheFix(String key, String value) {
            String message = failsArgs(key + "=" + value);
            assertContains(message, "agent argument", key, "'" + value + "'", value + "s", value + "ms");
        }

        @Test
        void bareNumberFromEachSourceShowsTheFix() throws Exception {
            assertContains(fails(null, map("tcphardening.keepalive.idle", "30"), NONE, null),
                    "system property -Dtcphardening.keepalive.idle", "keepalive.idle", "30s");
            assertContains(fails(null, NONE, map("TCPHARDENING_USER_TIMEOUT", "30"), null),
                    "environment variable TCPHARDENING_USER_TIMEOUT", "user_timeout", "30s");
            Path file = write("agent.properties", "# comment\nkeepalive.interval = 30\n");
            assertContains(failsWithFile(file), file + ":2", "keepalive.interval", "30s");
        }
    }

    // ------------------------------------------------------------------------------------------------ unknown keys

    @Nested
    class UnknownKeys {

        @Test
        void agentArgumentSuggestsTheNearestKey() {
            assertContains(failsArgs("keepalive.idel=30s"), "agent argument", "keepalive.idel",
                    "did you mean keepalive.idle");
            assertContains(failsArgs("user_timout=30s"), "did you mean user_timeout");
            assertContains(failsArgs("confg=/x"), "did you mean config");
            assertContains(failsArgs("KEEPALIVE=true"), "did you mean keepalive");
        }

        @Test
        void systemPropertySuggestsTheNearestKey() {
            assertContains(fails(null, map("tcphardening.keepalive.idel", "30s"), NONE, null),
                    "system property -Dtcphardening.keepalive.idel", "did you mean keepalive.idle");
        }

        @Test
        void environmentVariableSuggestsTheNearestVariable() {
            assertContains(fails(null, NONE, map("TCPHARDENING_USER_TIMOUT", "30s"), null),
                    "environment variable TCPHARDENING_USER_TIMOUT", "did you mean TCPHARDENING_USER_TIMEOUT");
            assertContains(fails(null, NONE, map("TCPHARDENING_LOGLEVEL", "info"), null),
                    "did you mean TCPHARDENING_LOG_LEVEL");
        }

        @Test
        void fileSuggestsTheNearestKey() throws Exception {
            Path file = write("agent.properties", "keepalive = true\nkeepalive.idel = 30s\n");
            assertContains(failsWithFile(file), file + ":2", "keepalive.idel", "did you mean keepalive.idle");
        }

        @Test
        void farFromAnyKeyListsTheKnownKeys() {
            String message = failsArgs("colour=blue");
            assertContains(message, "agent argument", "colour", "keepalive.idle", "user_timeout", "log.level");
            assertFalse(message.contains("did you mean"), message);
            String environment = fails(null, NONE, map("TCPHARDENING_WHATEVER_ELSE", "1"), null);
            assertContains(environment, "environment variable TCPHARDENING_WHATEVER_ELSE",
                    "TCPHARDENING_KEEPALIVE_IDLE");
        }

        @Test
        void agentArgumentItemWithoutEqualsIsRejected() {
            assertContains(failsArgs("keepalive.idle=30s,debug"), "agent argument", "debug");
        }

        @Test
        void keyGivenTwiceInTheAgentArgumentIsRejected() {
            // Beyond the issue's wording, but the only reading that cannot surprise an operator.
            assertContains(failsArgs("keepalive.idle=30s,keepalive.idle=40s"), "agent argument", "keepalive.idle");
        }

        @Test
        void veryLongUnknownKeyIsAConfigException() throws Exception {
            String key = "k".repeat(201);
            failsArgs(key + "=1");
            fails(null, map("tcphardening." + key, "1"), NONE, null);
            fails(null, NONE, map("TCPHARDENING_" + key.toUpperCase(), "1"), null);
            failsWithFile(write("agent.properties", key + " = 1\n"));
        }
    }

    // ------------------------------------------------------------------------------------------------ validation

    @Nested
    class EveryValueIsValidated {

        @Test
        void badFileValueUnderAnAgentArgument() throws Exception {
            Path file = write("agent.properties", "keepalive.idle = 0s\n");
            assertContains(failsArgs("config=" + file + ",keepalive.idle=30s"), file + ":1", "keepalive.idle",
                    "'0s'", "1s to 32767s");
        }

        @Test
        void badEnvironmentValueUnderASystemProperty() {
            assertContains(fails(null, map("tcphardening.keepalive.count", "5"),
                            map("TCPHARDENING_KEEPALIVE_COUNT", "500"), null),
                    "environment variable TCPHARDENING_KEEPALIVE_COUNT", "keepalive.count", "'500'", "1 to 127");
        }

        @Test
        void badSystemPropertyUnderAnAgentArgument() {
            assertContains(fails("log.level=info", map("tcphardening.log.level", "loud"), NONE, null),
                    "system property -Dtcphardening.log.level", "log.level", "'loud'", "trace");
        }

        @Test
        void badLogFileInTheFileUnderAnAgentArgument() throws Exception {
            Path missing = tmp.resolve("missing/agent.log");
            Path file = write("agent.properties", "log.file = " + missing + "\n");
            assertContains(failsArgs("config=" + file + ",log.file=" + tmp.resolve("ok.log")), file + ":1",
                    "log.file", missing.toString());
        }

        @Test
        void unknownKeyInALowerSourceIsRejected() throws Exception {
            Path file = write("agent.properties", "keepalive.idle = 30s\nkeepalive.idl = 30s\n");
            assertContains(failsArgs("config=" + file + ",keepalive.idle=30s"), file + ":2", "keepalive.idl");
        }
    }

    // ------------------------------------------------------------------------------------------------ file format

    @Nested
    class FileFormat {

        @Test
        void commentsBlankLinesAndBothSeparators() throws Exception {
            Path file = write("agent.properties", "# a comment\n! another comment\n   # indented comment\n\n"
                    + "   \t \nkeepalive.idle: 30s\nkeepalive.interval=5s\n  keepalive.count   =   3  \n"
                    + "user_timeout\t:\t1m\n#keepalive = nonsense\n!log.level = nonsense\n");
            Settings settings = withFile(file);
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(5, settings.value(TcpOption.KEEPINTVL));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(60_000, settings.value(TcpOption.USER_TIMEOUT));
            assertEquals(LogLevel.INFO, settings.logLevel());
            assertEquals(file + ":6", settings.source(TcpOption.KEEPIDLE));
            assertEquals(file + ":9", settings.source(TcpOption.USER_TIMEOUT));
        }

        @Test
        void valueMayContainSeparators() throws Exception {
            Path log = tmp.resolve("a=b:c.log");
            Settings settings = withFile(write("agent.properties", "log.file = " + log + "\n"));
            assertEquals(log, settings.logFile());
        }

        @Test
        void crlfLineEndings() throws Exception {
            Path file = write("agent.properties", "# windows\r\nkeepalive.idle = 30s\r\n\r\nkeepalive.count = 3\r\n");
            Settings settings = withFile(file);
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(file + ":4", settings.source(TcpOption.KEEPCNT));
            Path bad = write("bad.properties", "# windows\r\nkeepalive.idle = 30s\r\nkeepalive.count = 300\r\n");
            assertContains(failsWithFile(bad), bad + ":3", "'300'");
        }

        @Test
        void crOnlyAndMixedLineEndings() throws Exception {
            Path file = write("agent.properties", "# old mac\rkeepalive.idle = 30s\r\n\nkeepalive.count = 3");
            Settings settings = withFile(file);
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(file + ":2", settings.source(TcpOption.KEEPIDLE));
            assertEquals(file + ":4", settings.source(TcpOption.KEEPCNT));
        }

        @Test
        void byteOrderMarkIsSkipped() throws Exception {
            Path file = write("agent.properties", "\uFEFFkeepalive.idle = 30s\nkeepalive.count = 3\n");
            Settings settings = withFile(file);
            assertEquals(30, settings.value(TcpOption.KEEPIDLE));
            assertEquals(file + ":1", settings.source(TcpOption.KEEPIDLE));
        }

        @Test
        void nonUtf8IsRejected() throws Exception {
            Path latin1 = write("latin1.properties", "# caf\u00e9\nkeepalive.idle = 30s\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            assertContains(failsWithFile(latin1), latin1.toString(), "UTF-8");
            Path garbage = write("garbage.properties", new byte[] {'k', '=', (byte) 0xff, (byte) 0xfe, '\n'});
            assertContains(failsWithFile(garbage), garbage.toString(), "UTF-8");
            Path surrogate = write("surrogate.properties", new byte[] {'#', (byte) 0xed, (byte) 0xa0, (byte) 0x80});
            assertContains(failsWithFile(surrogate), surrogate.toString(), "UTF-8");
        }

        @Test
        void utf8TextIsAccepted() throws Exception {
            Path file = write("agent.properties", "# r\u00e9glages \u2014 \u65e5\u672c \uD83D\uDE00\nkeepalive.count = 3\n");
            assertEquals(3, withFile(file).value(TcpOption.KEEPCNT));
        }

        @Test
        void lineWithoutSeparatorIsRejected() throws Exception {
            Path file = write("agent.properties", "keepalive.idle = 30s\njusttext\n");
            assertContains(failsWithFile(file), file + ":2", "justtext");
        }

        @Test
        void duplicatedKeyNamesBothLines() throws Exception {
            Path file = write("agent.properties", "keepalive.idle = 30s\n# comment\nkeepalive.idle: 30s\n");
            assertContains(failsWithFile(file), file + ":3", file + ":1", "keepalive.idle");
        }

        @Test
        void fileOverSixtyFourKibIsRejected() throws Exception {
            StringBuilder text = new StringBuilder("keepalive.idle = 30s\n");
            while (text.length() <= 64 * 1024) {
                text.append("# padding padding padding padding padding padding padding padding\n");
            }
            Path file = write("big.properties", text.toString());
            assertContains(failsWithFile(file), file.toString(), "64 KiB");
        }

        @Test
        void fileOfExactlySixtyFourKibIsAccepted() throws Exception {
            StringBuilder text = new StringBuilder("keepalive.idle = 30s\n#");
            while (text.length() < 64 * 1024) {
                text.append('x');
            }
            Path file = write("edge.properties", text.toString());
            assertEquals(64 * 1024, Files.size(file));
            assertEquals(30, withFile(file).value(TcpOption.KEEPIDLE));
        }

        @Test
        void veryLongLineIsHandled() throws Exception {
            Path file = write("long.properties", "keepalive.idle = " + "9".repeat(50_000) + "s\n");
            String message = failsWithFile(file);
            assertContains(message, file + ":1", "keepalive.idle");
        }
    }

    // ------------------------------------------------------------------------------------------------ file kinds

    @Nested
    class FileKinds {

        @Test
        void missing() {
            Path file = tmp.resolve("nowhere.properties");
            assertContains(failsWithFile(file), file.toString(), "does not exist");
            assertContains(fails(null, NONE, map("TCPHARDENING_CONFIG", file.toString()), null), file.toString());
        }

        @Test
        void directory() {
            assertContains(failsWithFile(tmp), tmp.toString(), "directory");
        }

        @Test
        void fifo() throws Exception {
            Path fifo = tmp.resolve("agent.fifo");
            mkfifo(fifo);
            String message = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> failsWithFile(fifo));
            assertContains(message, fifo.toString(), "not a regular file");
        }

        @Test
        void danglingSymlink() throws Exception {
            Path link = Files.createSymbolicLink(tmp.resolve("link.properties"), tmp.resolve("gone.properties"));
            assertContains(failsWithFile(link), link.toString(), "symbolic link");
        }

        @Test
        void symlinkLoop() throws Exception {
            Path a = tmp.resolve("a.properties");
            Path b = tmp.resolve("b.properties");
            Files.createSymbolicLink(a, b);
            Files.createSymbolicLink(b, a);
            String message = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> failsWithFile(a));
            assertContains(message, a.toString(), "symbolic link");
        }

        @Test
        void symlinkToARegularFileIsFollowed() throws Exception {
            Path target = write("target.properties", "keepalive.count = 3\n");
            Path link = Files.createSymbolicLink(tmp.resolve("link.properties"), target);
            Settings settings = withFile(link);
            assertEquals(3, settings.value(TcpOption.KEEPCNT));
            assertEquals(link + ":1", settings.source(TcpOption.KEEPCNT));
        }

        @Test
        void symlinkToADirectoryIsRejected() throws Exception {
            Path link = Files.createSymbolicLink(tmp.resolve("dir.properties"), Files.createDirectory(tmp.resolve("d")));
            assertContains(failsWithFile(link), link.toString(), "directory");
        }

        @Test
        void unreadable() throws Exception {
            Path file = write("secret.properties", "keepalive.count = 3\n");
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
            assumeFalse(Files.isReadable(file), "running with privileges that read any file (root)");
            assertContains(failsWithFile(file), file.toString(), "cannot be read");
        }
    }

    // ------------------------------------------------------------------------------------------------ messages

    @Nested
    class Messages {

        @Test
        void controlCharactersInAValueAreEscaped() {
            String value = "3\u0000\u0007\u001b[31m0s\u007f\u0085\u2028\u202e\u200b";
            String message = fails(null, NONE, map("TCPHARDENING_KEEPALIVE_IDLE", value), null);
            assertContains(message, "environment variable TCPHARDENING_KEEPALIVE_IDLE", "keepalive.idle", "\\u001b");
        }

        @Test
        void newlineInAValueDoesNotBreakTheLine() {
            String message = fails(null, map("tcphardening.keepalive", "true\nkeepalive.idle=1s"), NONE, null);
            assertContains(message, "system property -Dtcphardening.keepalive", "\\u000a");
        }

        @Test
        void controlCharactersInAnUnknownKeyAreEscaped() throws Exception {
            failsArgs("keep\u0007alive=true");
            Path file = write("agent.properties", "keep\u001balive = true\n");
            assertContains(failsWithFile(file), file + ":1");
        }

        @Test
        void veryLongValueIsCut() throws Exception {
            String value = "1".repeat(100_000) + "x";
            String message = fails(null, NONE, map("TCPHARDENING_USER_TIMEOUT", value), null);
            assertTrue(message.length() < 1000, "message is " + message.length() + " characters long");
            assertContains(message, "environment variable TCPHARDENING_USER_TIMEOUT", "user_timeout", "1111111111");
            String argument = failsArgs("x".repeat(100_000));
            assertTrue(argument.length() < 1000, "message is " + argument.length() + " characters long");
            Path file = write("agent.properties", "log.level = " + "\u00e9".repeat(20_000) + "\n");
            String fromFile = failsWithFile(file);
            assertTrue(fromFile.length() < 1000 + file.toString().length(), fromFile);
        }

        @Test
        void controlCharactersInAnUnknownNameAreEscaped() {
            fails(null, map("tcphardening.keep\nalive", "true"), NONE, null);
            fails(null, NONE, map("TCPHARDENING_KEEP\u001b[2JALIVE", "true"), null);
        }

        @Test
        void configPathIsQuotedInMessages() {
            fails("config=" + tmp.resolve("agent\u0007.properties"), NONE, NONE, null);
            fails("config=" + tmp.resolve("d".repeat(5000)), NONE, NONE, null);
        }
    }

    @Test
    void aFilesLinesEndAtEveryKindOfLineEnd() {
        assertEquals(java.util.List.of("a=1", "b=2", "c=3", "", "d=4", ""),
                SettingsLoader.lines("a=1\nb=2\r\nc=3\r\rd=4\n"));
        assertEquals(java.util.List.of(""), SettingsLoader.lines(""));
        assertEquals(java.util.List.of("x", ""), SettingsLoader.lines("x\r\n"));
    }

}
