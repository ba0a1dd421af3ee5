package io.tcphardening.agent.settings;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Property-based test of {@link SettingsLoader}: thousands of generated configurations (agent argument, system
 * properties, environment, properties file, default file), each checked against a small reference model of the
 * contract written here, independently of the loader.
 *
 * <p>The generator makes only inputs the contract classifies with certainty. It stays away from what the contract
 * leaves open (whitespace inside a duration, upper-case units, a sign or a decimal point in a number, backslashes in
 * the file, control characters at the very edge of a value, a relative log.file inside the file, ...), so that every
 * assertion can stay exact.
 *
 * <p>System properties: {@code fuzz.seed} (a number, or {@code random}), {@code fuzz.cases} (default 6000),
 * {@code fuzz.case} (run only that case of the seed, to reproduce a failure), {@code fuzz.includeKnownBugs=true}
 * (also generate the inputs of the bugs documented by the {@code @Disabled} tests in {@link SettingsLoaderTest};
 * the test then fails until they are fixed).
 */
class SettingsFuzzTest {

    private static final long DEFAULT_SEED = 20251125L;
    private static final int CASES = Integer.getInteger("fuzz.cases", 6000);
    private static final int BATCH = 250;
    private static final boolean KNOWN_BUGS = Boolean.getBoolean("fuzz.includeKnownBugs");

    // ---- the contract, written out again here on purpose (not taken from the code under test)

    private static final List<String> KEYS = List.of("keepalive", "keepalive.idle", "keepalive.interval",
            "keepalive.count", "user_timeout", "log.level", "log.file");
    private static final String CONFIG = "config";
    private static final String[] LEVELS = {"off", "error", "warn", "info", "debug", "trace"};
    private static final Map<String, TcpOption> OPTIONS = Map.of("keepalive", TcpOption.KEEPALIVE,
            "keepalive.idle", TcpOption.KEEPIDLE, "keepalive.interval", TcpOption.KEEPINTVL,
            "keepalive.count", TcpOption.KEEPCNT, "user_timeout", TcpOption.USER_TIMEOUT);
    private static final String[] OPTION_KEYS = {"keepalive", "keepalive.idle", "keepalive.interval",
        "keepalive.count", "user_timeout"};
    private static final int[] DEFAULT_VALUES = {1, 60, 10, 6, 120_000};
    private static final BigInteger INT_MAX = BigInteger.valueOf(Integer.MAX_VALUE);
    private static final BigInteger THOUSAND = BigInteger.valueOf(1000);
    private static final Pattern DURATION = Pattern.compile("([0-9]+)(ms|s|m|h)");
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");

    static String environmentName(String key) {
        return "TCPHARDENING_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    @TempDir
    Path root;

    enum Src { ARG, PROP, ENV, FILE }

    enum ConfigKind { VALID, LINK, MISSING, DIRECTORY, DANGLING, LOOP, FIFO, EMPTY }

    /** One key = value as some source gives it, with how the model should name its source. */
    static final class Entry {
        final Src src;
        final String keyText;
        /** A known key, {@code config}, or null: unknown key, or malformed item or line. */
        final String key;
        final String value;
        /** For log.file and config values: the generator's label of the path, as the contract defines it. */
        Boolean pathValid;
        boolean malformed;
        int line;
        String where;
        Pattern wherePattern;
        /** For an unknown key one edit away from a known one: the name the message should suggest. */
        String suggestion;

        Entry(Src src, String keyText, String key, String value) {
            this.src = src;
            this.keyText = keyText;
            this.key = key;
            this.value = value;
        }
    }

    /** One generated configuration. */
    static final class Case {
        final List<Entry> args = new ArrayList<>();
        String argString;
        final Map<String, String> props = new LinkedHashMap<>();
        final Map<String, String> env = new LinkedHashMap<>();
        final List<Entry> propEntries = new ArrayList<>();
        final List<Entry> envEntries = new ArrayList<>();
        Path agentDir;
        ConfigKind winnerKind;
        /** The file the loader should read or reject, as named (null: none). */
        Path namedFile;
        /** Where the generated content is written (differs from namedFile for a symlink). */
        Path writtenFile;
        byte[] fileBytes;
        final List<Entry> fileEntries = new ArrayList<>();
        boolean notUtf8;
        String fileText = "";
    }

    /** A reason the configuration must be rejected, and what the message must then say. */
    static final class Bad {
        final String what;
        final Pattern where;
        final String key;
        String value;
        String suggestion;
        String fix;
        String hint;
        String alsoWhere;
        boolean wholeSeconds;
        boolean wholeButOutOfRange;

        Bad(String what, Pattern where, String key) {
            this.what = what;
            this.where = where;
            this.key = key;
        }

        boolean named(String message) {
            return where.matcher(message).find() && (key == null || keyPattern(key).matcher(message).find());
        }

        @Override
        public String toString() {
            return what + " [" + where.pattern() + (key == null ? "" : ", key " + key) + "]";
        }
    }

    static final class Expected {
        final List<Bad> bads = new ArrayList<>();
        final int[] values = DEFAULT_VALUES.clone();
        final String[] sources = {"default", "default", "default", "default", "default"};
        LogLevel level = LogLevel.INFO;
        String levelSource = "default";
        Path logFile;
        String logFileSource = "default";
    }

    // ================================================================================================ the test

    @Test
    void generatedConfigurationsLoadAsTheContractSays() throws Exception {
        String seedText = System.getProperty("fuzz.seed", Long.toString(DEFAULT_SEED));
        long seed = seedText.equals("random") ? System.nanoTime() : Long.parseLong(seedText);
        Integer only = Integer.getInteger("fuzz.case");
        System.out.println("SettingsFuzzTest: seed " + seed + ", " + CASES + " cases"
                + (KNOWN_BUGS ? ", with the inputs of known bugs" : "") + " (reproduce with -Dfuzz.seed=" + seed + ")");
        Fixture fixture = new Fixture(root);
        int[] outcomes = new int[2];
        long started = System.nanoTime();
        for (int start = 0; start < CASES; start += BATCH) {
            int from = start;
            int to = Math.min(CASES, start + BATCH);
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (int i = from; i < to; i++) {
                    if (only == null || only == i) {
                        runCase(fixture, seed, i, outcomes);
                    }
                }
            }, () -> "cases " + from + ".." + (to - 1) + " of seed " + seed + " did not finish in time");
        }
        System.out.printf("SettingsFuzzTest: %d loaded, %d rejected, %d ms%n", outcomes[0], outcomes[1],
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        if (only == null) {
            // the generator must keep exercising both outcomes, or the test proves little
            assertTrue(outcomes[0] > CASES / 5, "too few configurations loaded: " + outcomes[0]);
            assertTrue(outcomes[1] > CASES / 5, "too few configurations rejected: " + outcomes[1]);
        }
    }

    private static void runCase(Fixture fixture, long seed, int index, int[] outcomes) throws IOException {
        Case c = new Generator(new Random(seed * 1_000_003L + index), fixture).next();
        if (c.writtenFile != null) {
            Files.write(c.writtenFile, c.fileBytes);
        }
        Expected expected = Model.expect(c, fixture);
        Settings settings;
        try {
            settings = SettingsLoader.load(c.argString, c.props, c.env, c.agentDir);
        } catch (ConfigException e) {
            outcomes[1]++;
            checkRejection(seed, index, c, expected, e.getMessage());
            return;
        } catch (Throwable t) {
            throw new AssertionError(report(seed, index, c, expected, "threw " + t), t);
        }
        outcomes[0]++;
        if (!expected.bads.isEmpty()) {
            fail(report(seed, index, c, expected, "loaded, but the model rejects it: " + expected.bads + "; got "
                    + settings.describe()));
        }
        checkSettings(seed, index, c, expected, settings);
    }

    private static void checkRejection(long seed, int index, Case c, Expected expected, String message) {
        String problem = messageProblem(message);
        if (problem != null) {
            fail(report(seed, index, c, expected, "message " + problem + ": " + escape(message, 3000)));
        }
        if (expected.bads.isEmpty()) {
            fail(report(seed, index, c, expected, "rejected, but the model accepts it: " + escape(message, 3000)));
        }
        Bad named = null;
        for (Bad bad : expected.bads) {
            if (bad.named(message)) {
                named = bad;
                break;
            }
        }
        if (named == null) {
            fail(report(seed, index, c, expected, "the message names none of the problems " + expected.bads + ": "
                    + escape(message, 3000)));
        }
        if (expected.bads.size() == 1) {
            Bad bad = expected.bads.get(0);
            List<String> missing = new ArrayList<>();
            for (String part : new String[] {bad.value, bad.fix, bad.hint, bad.alsoWhere,
                bad.suggestion == null ? null : "did you mean " + bad.suggestion,
                bad.wholeSeconds ? "whole number of seconds" : null}) {
                if (part != null && !message.contains(part)) {
                    missing.add(part);
                }
            }
            if (KNOWN_BUGS && bad.wholeButOutOfRange && message.contains("not a whole number of seconds")) {
                missing.add("(no claim that a whole number of seconds is not one)");
            }
            if (!missing.isEmpty()) {
                fail(report(seed, index, c, expected, "the message about " + bad + " lacks " + missing + ": "
                        + escape(message, 3000)));
            }
        }
    }

    /** Null if the message is one clean line, else what is wrong with it. */
    static String messageProblem(String message) {
        if (message == null || message.isEmpty()) {
            return "is empty";
        }
        if (message.length() >= 2000) {
            return "is " + message.length() + " characters long";
        }
        for (int i = 0; i < message.length(); i += Character.charCount(message.codePointAt(i))) {
            int c = message.codePointAt(i);
            int type = Character.getType(c);
            if (Character.isISOControl(c) || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                    || type == Character.FORMAT || type == Character.SURROGATE) {
                return String.format("has raw U+%04X at %d", c, i);
            }
        }
        return null;
    }

    private static void checkSettings(long seed, int index, Case c, Expected expected, Settings settings) {
        String describe = settings.describe();
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < OPTION_KEYS.length; i++) {
            TcpOption option = OPTIONS.get(OPTION_KEYS[i]);
            if (settings.value(option) != expected.values[i]) {
                wrong.add(OPTION_KEYS[i] + " = " + settings.value(option) + ", expected " + expected.values[i]);
            }
            if (!expected.sources[i].equals(settings.source(option))) {
                wrong.add(OPTION_KEYS[i] + " from " + settings.source(option) + ", expected " + expected.sources[i]);
            }
            String shown = OPTION_KEYS[i] + "=" + format(OPTION_KEYS[i], expected.values[i]) + " ("
                    + expected.sources[i] + ")";
            if (!describe.contains(shown)) {
                wrong.add("describe() lacks " + shown);
            }
        }
        if (settings.logLevel() != expected.level) {
            wrong.add("log.level = " + settings.logLevel() + ", expected " + expected.level);
        }
        String level = "log.level=" + expected.level.name().toLowerCase(Locale.ROOT) + " (" + expected.levelSource + ")";
        if (!describe.contains(level)) {
            wrong.add("describe() lacks " + level);
        }
        if (expected.logFile == null ? settings.logFile() != null : !expected.logFile.equals(settings.logFile())) {
            wrong.add("log.file = " + settings.logFile() + ", expected " + expected.logFile);
        }
        String file = "log.file=" + (expected.logFile == null ? "stderr" : expected.logFile.toString()) + " ("
                + expected.logFileSource + ")";
        if (!describe.contains(file)) {
            wrong.add("describe() lacks " + file);
        }
        if (!wrong.isEmpty()) {
            fail(report(seed, index, c, expected, String.join("; ", wrong) + "; describe(): " + escape(describe, 3000)));
        }
    }

    private static String format(String key, int value) {
        if (value == Settings.UNCHANGED) {
            return "unchanged";
        }
        switch (key) {
            case "keepalive":
                return value == 1 ? "true" : "false";
            case "keepalive.idle":
            case "keepalive.interval":
                return value + "s";
            case "user_timeout":
                return value + "ms";
            default:
                return Integer.toString(value);
        }
    }

    private static String report(long seed, int index, Case c, Expected expected, String problem) {
        StringBuilder b = new StringBuilder();
        b.append("case ").append(index).append(" of seed ").append(seed).append(" (rerun: -Dfuzz.seed=").append(seed)
                .append(" -Dfuzz.case=").append(index).append("): ").append(problem).append('\n');
        b.append("  agent argument: ").append(c.argString == null ? "null" : escape(c.argString, 1500)).append('\n');
        b.append("  properties: ").append(escape(c.props.toString(), 1500)).append('\n');
        b.append("  environment: ").append(escape(c.env.toString(), 1500)).append('\n');
        b.append("  agentDir: ").append(c.agentDir).append(", config: ").append(c.winnerKind)
                .append(", file: ").append(c.namedFile).append(c.notUtf8 ? " (not UTF-8)" : "").append('\n');
        b.append("  file text: ").append(escape(c.fileText, 3000)).append('\n');
        b.append("  model: ").append(expected.bads.isEmpty() ? "accept" : "reject " + expected.bads);
        return b.toString();
    }

    static String escape(String text, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < text.length() && b.length() < max; i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return text.length() > max ? b + "...(" + text.length() + " chars)" : b.toString();
    }

    static Pattern keyPattern(String key) {
        return Pattern.compile("(?<![\\w.])" + Pattern.quote(key) + "(?![\\w.])");
    }

    /** Printable ASCII that the message can be searched for as it is. */
    static boolean plain(String text) {
        if (text.isEmpty() || text.length() > 60) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c > 0x7e || c == '\'' || c == '\\') {
                return false;
            }
        }
        return true;
    }

    static int levenshtein(String a, String b) {
        int[] previous = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            int[] current = new int[b.length() + 1];
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                current[j] = Math.min(previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1),
                        Math.min(previous[j], current[j - 1]) + 1);
            }
            previous = current;
        }
        return previous[b.length()];
    }

    // ================================================================================================ files

    /** The fixed files and directories the generated configurations point at. */
    static final class Fixture {
        final Path caseFile;
        final Path linkFile;
        final Path decoyFile;
        final Path missingFile;
        final Path directoryFile;
        final Path danglingFile;
        final Path loopFile;
        final Path fifoFile;
        final Path logs;
        final Path regularFile;
        final Path subDirectory;
        final Path agentEmpty;
        final Path agentWithFile;
        final Path agentWithDirectory;
        final Path agentDangling;

        Fixture(Path root) throws Exception {
            Path files = Files.createDirectories(root.resolve("files"));
            caseFile = files.resolve("case.properties");
            Files.writeString(caseFile, "");
            linkFile = Files.createSymbolicLink(files.resolve("link.properties"), caseFile);
            // named by the configs that a higher source overrides: read, its values would show
            decoyFile = files.resolve("decoy.properties");
            Files.writeString(decoyFile, "keepalive.count = 77\nkeepalive.idle = 7777s\nlog.level = off\n");
            missingFile = files.resolve("missing.properties");
            directoryFile = Files.createDirectories(files.resolve("directory.properties"));
            danglingFile = Files.createSymbolicLink(files.resolve("dangling.properties"), files.resolve("nothing"));
            loopFile = files.resolve("loop-a.properties");
            Files.createSymbolicLink(loopFile, files.resolve("loop-b.properties"));
            Files.createSymbolicLink(files.resolve("loop-b.properties"), loopFile);
            fifoFile = mkfifo(files.resolve("fifo.properties"));
            logs = Files.createDirectories(root.resolve("logs"));
            regularFile = Files.writeString(logs.resolve("regular.txt"), "x");
            subDirectory = Files.createDirectories(logs.resolve("sub"));
            agentEmpty = Files.createDirectories(root.resolve("agent-empty"));
            agentWithFile = Files.createDirectories(root.resolve("agent-file"));
            Files.writeString(agentWithFile.resolve("agent.properties"), "keepalive.count = 88\n");
            agentWithDirectory = Files.createDirectories(root.resolve("agent-directory"));
            Files.createDirectories(agentWithDirectory.resolve("agent.properties"));
            agentDangling = Files.createDirectories(root.resolve("agent-dangling"));
            Files.createSymbolicLink(agentDangling.resolve("agent.properties"), root.resolve("nothing"));
        }

        private static Path mkfifo(Path path) {
            try {
                Process process = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
                if (process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0) {
                    return path;
                }
            } catch (IOException | InterruptedException e) {
                // no FIFO cases then
            }
            System.out.println("SettingsFuzzTest: mkfifo unavailable, no FIFO cases");
            return null;
        }
    }

    // ================================================================================================ the model

    /** What the contract says of a generated case: the bads that must stop the start, else the exact settings. */
    static final class Model {

        /** A known key's parsed value: an Integer (kernel value or UNCHANGED), a LogLevel, a Path, or a Bad. */
        static Object value(Entry entry) {
            String key = entry.key;
            String raw = entry.value;
            String v = stripSpacesAndTabs(raw);
            Bad bad = new Bad("invalid " + key + " value", entry.wherePattern, key);
            bad.value = plain(v) ? v : null;
            if (key.equals("log.file")) {
                return entry.pathValid ? Paths.get(v) : bad;
            }
            if (OPTIONS.containsKey(key) && v.equals("unchanged")) {
                return Settings.UNCHANGED;
            }
            switch (key) {
                case "keepalive":
                    bad.hint = "false";
                    if (asciiEqualsIgnoreCase(v, "true")) {
                        return 1;
                    }
                    return asciiEqualsIgnoreCase(v, "false") ? (Object) 0 : bad;
                case "keepalive.count": {
                    bad.hint = "127";
                    if (!DIGITS.matcher(v).matches()) {
                        return bad;
                    }
                    BigInteger n = new BigInteger(v);
                    return n.compareTo(BigInteger.ONE) >= 0 && n.compareTo(BigInteger.valueOf(127)) <= 0
                            ? (Object) n.intValue() : bad;
                }
                case "keepalive.idle":
                case "keepalive.interval":
                case "user_timeout": {
                    boolean seconds = !key.equals("user_timeout");
                    bad.hint = seconds ? "32767s" : "2147483647ms";
                    if (DIGITS.matcher(v).matches()) {
                        bad.fix = v.length() <= 20 ? v + "s" : null;
                        return bad;
                    }
                    Matcher m = DURATION.matcher(v);
                    if (!m.matches()) {
                        return bad;
                    }
                    BigInteger millis = new BigInteger(m.group(1)).multiply(BigInteger.valueOf(
                            m.group(2).equals("ms") ? 1 : m.group(2).equals("s") ? 1000
                                    : m.group(2).equals("m") ? 60_000 : 3_600_000));
                    if (!seconds) {
                        return millis.signum() >= 0 && millis.compareTo(INT_MAX) <= 0 ? (Object) millis.intValue() : bad;
                    }
                    if (millis.mod(THOUSAND).signum() != 0) {
                        bad.wholeSeconds = true;
                        return bad;
                    }
                    BigInteger s = millis.divide(THOUSAND);
                    if (s.compareTo(BigInteger.ONE) >= 0 && s.compareTo(BigInteger.valueOf(32767)) <= 0) {
                        return s.intValue();
                    }
                    bad.wholeButOutOfRange = true;
                    return bad;
                }
                case "log.level":
                    bad.hint = "trace";
                    for (String level : LEVELS) {
                        if (asciiEqualsIgnoreCase(v, level)) {
                            return LogLevel.valueOf(level.toUpperCase(Locale.ROOT));
                        }
                    }
                    return bad;
                default:
                    throw new IllegalStateException(key);
            }
        }

        static String stripSpacesAndTabs(String s) {
            int from = 0;
            int to = s.length();
            while (from < to && (s.charAt(from) == ' ' || s.charAt(from) == '\t')) {
                from++;
            }
            while (to > from && (s.charAt(to - 1) == ' ' || s.charAt(to - 1) == '\t')) {
                to--;
            }
            return s.substring(from, to);
        }

        static boolean asciiEqualsIgnoreCase(String value, String lowerKeyword) {
            if (value.length() != lowerKeyword.length()) {
                return false;
            }
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                char lower = c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
                if (lower != lowerKeyword.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        static Expected expect(Case c, Fixture fixture) {
            Expected e = new Expected();
            List<List<Entry>> sources = List.of(c.args, c.propEntries, c.envEntries);
            // 1. every entry of the three outer sources
            Entry winner = null;
            for (List<Entry> source : sources) {
                for (Entry entry : source) {
                    if (CONFIG.equals(entry.key)) {
                        if (winner == null) {
                            winner = entry;
                        } else if (stripSpacesAndTabs(entry.value).isEmpty()) {
                            e.bads.add(new Bad("empty config, overridden", entry.wherePattern, CONFIG));
                        }
                    } else {
                        check(entry, e, null);
                    }
                }
            }
            // 2. which file
            Path named = null;
            if (winner != null) {
                if (stripSpacesAndTabs(winner.value).isEmpty()) {
                    e.bads.add(new Bad("empty config", winner.wherePattern, CONFIG));
                } else {
                    named = Paths.get(winner.value);
                }
            } else if (c.agentDir != null && !c.agentDir.equals(fixture.agentEmpty)) {
                named = c.agentDir.resolve("agent.properties");
            }
            List<Entry> file = new ArrayList<>();
            if (named != null) {
                boolean readable = named.equals(fixture.caseFile) || named.equals(fixture.linkFile)
                        || named.equals(fixture.agentWithFile.resolve("agent.properties"));
                if (!readable || c.notUtf8) {
                    // missing, a directory, a FIFO, a dangling or looping link, or not UTF-8
                    e.bads.add(new Bad("unusable file", Pattern.compile(Pattern.quote(named.toString())
                            + "(?![\\w.-])"), null));
                } else {
                    Map<String, Entry> seen = new LinkedHashMap<>();
                    for (Entry entry : c.fileEntries) {
                        Entry first = entry.key == null ? null : seen.get(entry.key);
                        if (first != null) {
                            Bad bad = new Bad("duplicated key", entry.wherePattern, entry.key);
                            bad.alsoWhere = first.where;
                            e.bads.add(bad);
                        } else if (entry.key != null) {
                            seen.put(entry.key, entry);
                        }
                        check(entry, e, null);
                    }
                    file.addAll(seen.values());
                }
            }
            if (!e.bads.isEmpty()) {
                return e;
            }
            // 3. precedence: argument, property, environment, file, default
            List<List<Entry>> ordered = List.of(c.args, c.propEntries, c.envEntries, file);
            for (int i = 0; i < OPTION_KEYS.length; i++) {
                Entry entry = first(OPTION_KEYS[i], ordered);
                if (entry != null) {
                    e.values[i] = (Integer) value(entry);
                    e.sources[i] = entry.where;
                }
            }
            Entry level = first("log.level", ordered);
            if (level != null) {
                e.level = (LogLevel) value(level);
                e.levelSource = level.where;
            }
            Entry logFile = first("log.file", ordered);
            if (logFile != null) {
                e.logFile = (Path) value(logFile);
                e.logFileSource = logFile.where;
            }
            return e;
        }

        private static Entry first(String key, List<List<Entry>> sources) {
            for (List<Entry> source : sources) {
                for (Entry entry : source) {
                    if (key.equals(entry.key)) {
                        return entry;
                    }
                }
            }
            return null;
        }

        private static void check(Entry entry, Expected e, Object unused) {
            if (entry.malformed) {
                Bad bad = new Bad("malformed", entry.wherePattern, null);
                e.bads.add(bad);
            } else if (entry.key == null) {
                Bad bad = new Bad("unknown key " + escape(entry.keyText, 80), entry.wherePattern,
                        entry.src == Src.ENV || plain(entry.keyText) ? null : null);
                bad.value = entry.src != Src.ENV && plain(entry.keyText) ? entry.keyText : null;
                bad.suggestion = entry.suggestion;
                e.bads.add(bad);
            } else if (entry.key.equals(CONFIG)) {
                e.bads.add(new Bad("config inside the file", entry.wherePattern, CONFIG));
            } else {
                Object value = value(entry);
                if (value instanceof Bad) {
                    e.bads.add((Bad) value);
                }
            }
        }
    }

    // ================================================================================================ the generator

    static final class Generator {
        private static final String POISON = "@%~^&*|<>?\"`$#\u00a7\u20ac\u4e2d";
        private static final int[] SPECIAL = {0x2028, 0x2029, 0x202e, 0x200b, 0xfeff, 0x0130, 0x017f, 0x212a,
            0x0085, 0x00a0, 0x3000, 0x0301};
        private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
        private static final String UNICODE_LETTERS = "\u00e9\u00df\u0436\u4e2d\u03bb\u00fc\u00c5";

        private final Random r;
        private final Fixture fx;
        private boolean dirty;

        Generator(Random r, Fixture fx) {
            this.r = r;
            this.fx = fx;
        }

        private boolean chance(double p) {
            return r.nextDouble() < p;
        }

        private int between(int lo, int hi) {
            return lo + r.nextInt(hi - lo + 1);
        }

        private long betweenLong(long lo, long hi) {
            return lo + (long) (r.nextDouble() * (hi - lo + 1));
        }

        @SafeVarargs
        private final <T> T pick(T... items) {
            return items[r.nextInt(items.length)];
        }

        Case next() {
            Case c = new Case();
            dirty = chance(0.6);

            if (chance(0.45)) {
                for (String key : distinctKeys(between(1, 4))) {
                    c.args.add(known(Src.ARG, key));
                }
            }
            if (chance(0.45)) {
                for (String key : distinctKeys(between(1, 4))) {
                    addProperty(c, known(Src.PROP, key));
                }
            }
            if (chance(0.45)) {
                for (String key : distinctKeys(between(1, 4))) {
                    addVariable(c, known(Src.ENV, key));
                }
            }
            if (chance(0.3)) {
                c.props.put(pick("java.version", "user.dir", "tcphardeningx.keepalive", "my.tcphardening.keepalive",
                        "tcphardening"), junk(Src.PROP));
            }
            if (chance(0.3)) {
                c.env.put(pick("PATH", "HOME", "TCPHARDENINGX_KEEPALIVE", "MY_TCPHARDENING_KEEPALIVE_IDLE",
                        "TCPHARDENING"), junk(Src.ENV));
            }
            if (dirty && chance(0.12)) {
                c.args.add(unknown(Src.ARG));
            }
            if (dirty && chance(0.06)) {
                c.args.add(malformedArgument());
            }
            if (dirty && chance(0.12)) {
                addProperty(c, unknown(Src.PROP));
            }
            if (dirty && chance(0.12)) {
                addVariable(c, unknownVariable());
            }

            // which file: config in some of the three sources, the top one wins; else agent.properties
            Src[] places = {Src.ARG, Src.PROP, Src.ENV};
            boolean[] hasConfig = new boolean[3];
            if (chance(0.55)) {
                hasConfig[r.nextInt(3)] = true;
                if (chance(0.3)) {
                    hasConfig[r.nextInt(3)] = true;
                }
            }
            boolean winnerPlaced = false;
            for (int i = 0; i < 3; i++) {
                if (!hasConfig[i]) {
                    continue;
                }
                String value;
                if (!winnerPlaced) {
                    c.winnerKind = configKind();
                    value = configValue(c);
                    winnerPlaced = true;
                } else {
                    value = KNOWN_BUGS && chance(0.2) ? "" : fx.decoyFile.toString();
                }
                Entry entry = entry(places[i], CONFIG, CONFIG, value);
                if (places[i] == Src.ARG) {
                    c.args.add(entry);
                } else if (places[i] == Src.PROP) {
                    addProperty(c, entry);
                } else {
                    addVariable(c, entry);
                }
            }
            double d = r.nextDouble();
            c.agentDir = d < 0.2 ? null : d < 0.4 ? fx.agentEmpty : d < 0.9 || !dirty ? fx.agentWithFile
                    : KNOWN_BUGS && chance(0.5) ? fx.agentDangling : fx.agentWithDirectory;
            if (c.winnerKind == ConfigKind.VALID || c.winnerKind == ConfigKind.LINK) {
                c.writtenFile = fx.caseFile;
                c.namedFile = c.winnerKind == ConfigKind.VALID ? fx.caseFile : fx.linkFile;
            } else if (c.winnerKind == null && c.agentDir == fx.agentWithFile) {
                c.writtenFile = fx.agentWithFile.resolve("agent.properties");
                c.namedFile = c.writtenFile;
            }
            if (c.writtenFile != null) {
                fileContent(c);
            }

            Collections.shuffle(c.args, r);
            if (c.args.isEmpty()) {
                c.argString = pick(null, "", " ");
            } else {
                StringBuilder b = new StringBuilder();
                for (Entry entry : c.args) {
                    b.append(b.length() == 0 ? "" : ",").append(entry.keyText);
                    if (!entry.malformed) {
                        b.append('=').append(entry.value);
                    }
                }
                c.argString = b.toString();
            }
            return c;
        }

        private void addProperty(Case c, Entry entry) {
            String name = "tcphardening." + entry.keyText;
            if (!c.props.containsKey(name)) {
                c.props.put(name, entry.value);
                c.propEntries.add(entry);
            }
        }

        private void addVariable(Case c, Entry entry) {
            if (!c.env.containsKey(entry.keyText)) {
                c.env.put(entry.keyText, entry.value);
                c.envEntries.add(entry);
            }
        }

        private List<String> distinctKeys(int n) {
            List<String> keys = new ArrayList<>(KEYS);
            Collections.shuffle(keys, r);
            return keys.subList(0, Math.min(n, keys.size()));
        }

        private Entry entry(Src src, String keyText, String key, String value) {
            Entry entry = new Entry(src, src == Src.ENV ? environmentName(keyText) : keyText, key, value);
            if (src != Src.FILE) {
                setWhere(entry, 0, null);
            }
            return entry;
        }

        private Entry known(Src src, String key) {
            if (key.equals("log.file")) {
                return logFile(src);
            }
            return entry(src, key, key, value(key, src));
        }

        static void setWhere(Entry entry, int line, Path file) {
            entry.line = line;
            switch (entry.src) {
                case ARG:
                    entry.where = "agent argument";
                    entry.wherePattern = Pattern.compile(Pattern.quote(entry.where));
                    break;
                case PROP:
                    entry.where = "system property -Dtcphardening." + entry.keyText;
                    entry.wherePattern = Pattern.compile(Pattern.quote(entry.where) + "(?![\\w.-])");
                    break;
                case ENV:
                    entry.where = "environment variable " + entry.keyText;
                    entry.wherePattern = Pattern.compile(Pattern.quote(entry.where) + "(?![\\w.])");
                    break;
                default:
                    entry.where = file + ":" + line;
                    entry.wherePattern = Pattern.compile(Pattern.quote(entry.where) + "(?![0-9])");
            }
        }

        // ---- values

        private String value(String key, Src src) {
            String v;
            double x = r.nextDouble();
            if (!dirty || x < 0.6) {
                v = plausible(key, !dirty || x < 0.3);
            } else if (x < 0.75) {
                v = curatedInvalid(key);
            } else if (x < 0.8) {
                v = chance(0.5) ? "" : spaces(between(1, 3));
            } else {
                v = junk(src);
            }
            if (OPTIONS.containsKey(key) && chance(0.05)) {
                v = "unchanged";
            }
            if (!v.isEmpty() && chance(0.15)) {
                v = spaces(between(0, 2)) + v + spaces(between(0, 2));
            }
            return v;
        }

        private String spaces(int n) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < n; i++) {
                b.append(chance(0.7) ? ' ' : '\t');
            }
            return b.toString();
        }

        private String randomCase(String keyword) {
            if (chance(0.6)) {
                return keyword;
            }
            StringBuilder b = new StringBuilder();
            for (char c : keyword.toCharArray()) {
                b.append(chance(0.5) ? Character.toUpperCase(c) : c);
            }
            return b.toString();
        }

        private String plausible(String key, boolean clean) {
            switch (key) {
                case "keepalive":
                    return randomCase(pick("true", "false"));
                case "keepalive.idle":
                case "keepalive.interval":
                    return duration(true, clean);
                case "user_timeout":
                    return duration(false, clean);
                case "keepalive.count":
                    return count(clean);
                default:
                    return randomCase(pick(LEVELS));
            }
        }

        private String duration(boolean seconds, boolean clean) {
            String unit = pick("ms", "s", "m", "h");
            long factor = unit.equals("ms") ? 1 : unit.equals("s") ? 1000 : unit.equals("m") ? 60_000 : 3_600_000;
            long lowMs = seconds ? 1000 : 0;
            long highMs = seconds ? 32_767_000L : Integer.MAX_VALUE;
            long low = (lowMs + factor - 1) / factor;
            long high = highMs / factor;
            String digits;
            if (clean) {
                long amount = chance(0.15) ? pick(low, high) : betweenLong(low, high);
                if (seconds && unit.equals("ms")) {
                    amount = amount / 1000 * 1000;
                    amount = Math.max(amount, 1000);
                }
                digits = Long.toString(amount);
            } else {
                double x = r.nextDouble();
                if (x < 0.3) {
                    digits = Long.toString(Math.max(0, pick(0L, low - 1, low, low + 1, high - 1, high, high + 1,
                            1500L, 999L, 1001L, 32_767_001L)));
                } else if (x < 0.55) {
                    digits = Integer.toString(between(0, 100));
                } else if (x < 0.75) {
                    digits = Long.toString(betweenLong(0, 4 * high + 10));
                } else if (x < 0.9) {
                    digits = Long.toString(betweenLong(0, 1L << 40));
                } else {
                    digits = hugeDigits();
                }
            }
            digits = leadingZeros(digits, 30);
            if (!clean && chance(0.06)) {
                return digits;
            }
            if (!clean && chance(0.04) && !new BigInteger(digits).equals(BigInteger.ZERO)) {
                return "-" + digits + unit;
            }
            return digits + unit;
        }

        private String count(boolean clean) {
            String digits;
            if (clean) {
                digits = Integer.toString(chance(0.15) ? pick(1, 127) : between(1, 127));
            } else {
                double x = r.nextDouble();
                if (x < 0.3) {
                    digits = Integer.toString(pick(0, 1, 2, 126, 127, 128, 255, 256, 6));
                } else if (x < 0.8) {
                    digits = Integer.toString(between(0, 300));
                } else if (x < 0.9) {
                    digits = pick("9223372036854775807", "9223372036854775808", "4294967296", "2147483648");
                } else {
                    digits = hugeDigits();
                }
            }
            digits = leadingZeros(digits, 12);
            if (!clean && chance(0.05)) {
                return digits + pick("s", "ms", "x", "h");
            }
            if (!clean && chance(0.03) && !new BigInteger(digits).equals(BigInteger.ZERO)) {
                return "-" + digits;
            }
            return digits;
        }

        private String hugeDigits() {
            StringBuilder b = new StringBuilder().append((char) ('1' + r.nextInt(9)));
            int n = between(12, 40);
            for (int i = 0; i < n; i++) {
                b.append((char) ('0' + r.nextInt(10)));
            }
            return b.toString();
        }

        /**
         * Leading zeros keep the number's value. Without the known bugs, totals stay within what the loader reads
         * (12 characters for counts, 30 digits for durations): see SettingsLoaderTest#countWithManyLeadingZeros.
         */
        private String leadingZeros(String digits, int limit) {
            int max = (KNOWN_BUGS ? 45 : limit) - digits.length();
            if (max <= 0 || !chance(0.1)) {
                return digits;
            }
            int n = chance(0.8) ? between(1, Math.min(3, max)) : between(1, max);
            return "0".repeat(n) + digits;
        }

        private String curatedInvalid(String key) {
            switch (key) {
                case "keepalive":
                    return pick("yes", "no", "1", "0", "on", "off", "truee", "fals", "true false", "t", "enabled",
                            "\u0442rue");
                case "keepalive.count":
                    return pick("five", "5s", "1 2", "0x7f", "\uff15", "1e2", "5 5", "true", "\u0665");
                case "log.level":
                    return pick("warning", "verbose", "fatal", "all", "none", "information", "err", "infoo", "in fo",
                            "3", "\u0130nfo", "\u0131nfo");
                default:
                    return pick("s", "ms", "h", "m", "30d", "30sec", "30 seconds", "30us", "30ns", "1e3ms", "0x1Fs",
                            "thirty", "30secs", "true", "s30", "ms30", "\uff13\uff10s", "\u0663\u0660s", "30w", "1y",
                            "30\u017f");
            }
        }

        /** Random text, never a valid value of any key but log.file (it holds a character no valid value has). */
        private String junk(Src src) {
            double x = r.nextDouble();
            int length = x < 0.7 ? between(0, 12) : x < 0.9 ? between(13, 80) : x < 0.98 ? between(200, 2000)
                    : between(3000, 8000);
            StringBuilder b = new StringBuilder();
            while (b.length() < length) {
                appendRandom(b, src);
            }
            String poison;
            if (chance(0.3)) {
                do {
                    poison = String.valueOf((char) between(0, 0x1f));
                } while (!allowed(poison.charAt(0), src));
            } else {
                poison = new String(Character.toChars(chance(0.1) ? 0x1f600 : POISON.codePointAt(
                        POISON.offsetByCodePoints(0, r.nextInt(POISON.codePointCount(0, POISON.length()))))));
            }
            int at = r.nextInt(b.length() + 1);
            if (at > 0 && at < b.length() && Character.isHighSurrogate(b.charAt(at - 1))
                    && Character.isLowSurrogate(b.charAt(at))) {
                at--;
            }
            b.insert(at, poison);
            return visible(src) + b + visible(src);
        }

        private String visible(Src src) {
            if (chance(0.2)) {
                return String.valueOf(UNICODE_LETTERS.charAt(r.nextInt(UNICODE_LETTERS.length())));
            }
            char c;
            do {
                c = (char) between(0x21, 0x7e);
            } while (!allowed(c, src));
            return String.valueOf(c);
        }

        private static boolean allowed(char c, Src src) {
            switch (src) {
                case ARG:
                    return c != ',';
                case FILE:
                    return c != '\r' && c != '\n' && c != '\\' && !Character.isSurrogate(c);
                default:
                    return true;
            }
        }

        private void appendRandom(StringBuilder b, Src src) {
            int kind = r.nextInt(12);
            if (kind == 10) {
                b.appendCodePoint(between(0x10000, 0x10ffff));
                return;
            }
            char c;
            switch (kind) {
                case 0:
                case 1:
                case 2:
                    c = (char) between(0x20, 0x7e);
                    break;
                case 3:
                    c = "0123456789msh".charAt(r.nextInt(13));
                    break;
                case 4:
                    c = chance(0.5) ? ' ' : '\t';
                    break;
                case 5:
                    c = (char) between(0, 0x1f);
                    break;
                case 6:
                    c = (char) between(0x7f, 0x9f);
                    break;
                case 7:
                    c = (char) between(0xa0, 0xff);
                    break;
                case 8:
                    c = chance(0.5) ? (char) between(0x100, 0xd7ff) : (char) between(0xe000, 0xfffd);
                    break;
                case 9:
                    c = (char) SPECIAL[r.nextInt(SPECIAL.length)];
                    break;
                default:
                    c = (char) between(0xd800, 0xdfff);
            }
            if (allowed(c, src)) {
                b.append(c);
            }
        }

        private Entry logFile(Src src) {
            double x = dirty ? r.nextDouble() : r.nextDouble() * 0.66;
            String value;
            boolean valid;
            if (x < 0.5) {
                value = fx.logs.resolve(fileName() + ".log").toString();
                valid = true;
            } else if (x < 0.58) {
                value = fx.regularFile.toString();
                valid = true;
            } else if (x < 0.66) {
                // relative to the working directory; in the file it would be open to reading, so not there
                value = src == Src.FILE ? fx.logs.resolve(fileName()).toString() : fileName() + ".log";
                valid = true;
            } else if (x < 0.74) {
                value = fx.logs.resolve("missing-" + fileName()).resolve(fileName() + ".log").toString();
                valid = false;
            } else if (x < 0.8) {
                value = pick(fx.subDirectory, fx.logs, Paths.get("/")).toString();
                valid = false;
            } else if (x < 0.86) {
                value = fx.regularFile.resolve(fileName() + ".log").toString();
                valid = false;
            } else if (x < 0.92) {
                value = pick("", " ", "\t ");
                valid = false;
            } else {
                value = fx.logs.resolve("a").toString() + "\u0000" + fileName() + ".log";
                valid = false;
            }
            Entry entry = entry(src, "log.file", "log.file", value);
            entry.pathValid = valid;
            return entry;
        }

        private String fileName() {
            StringBuilder b = new StringBuilder().append(LETTERS.charAt(r.nextInt(26)));
            int n = chance(0.05) ? between(100, 200) : between(0, 15);
            String chars = LETTERS + "ABCXYZ0123456789_-." + UNICODE_LETTERS;
            for (int i = 0; i < n; i++) {
                b.append(chars.charAt(r.nextInt(chars.length())));
            }
            return b.toString();
        }

        // ---- keys

        /** An unknown key for the argument, a property or the file. */
        private Entry unknown(Src src) {
            List<String> candidates = new ArrayList<>(KEYS);
            if (src != Src.FILE) {
                candidates.add(CONFIG);
            }
            String key;
            String suggestion = null;
            do {
                double x = r.nextDouble();
                String base = candidates.get(r.nextInt(candidates.size()));
                if (x < 0.5) {
                    key = typo(base, LETTERS + "._");
                    suggestion = uniqueNearest(key.toLowerCase(Locale.ROOT), candidates, base) ? base : null;
                } else if (x < 0.65) {
                    key = base.toUpperCase(Locale.ROOT);
                    suggestion = base;
                } else if (x < 0.85) {
                    key = randomWord(between(1, 20), LETTERS + "0123456789._-");
                    suggestion = null;
                } else if (KNOWN_BUGS && x < 0.9) {
                    key = randomWord(between(201, 400), LETTERS);
                    suggestion = null;
                } else {
                    key = randomWord(between(1, 15), LETTERS + UNICODE_LETTERS + "\u0007\u001b\u2028\u202e");
                    if (src == Src.PROP && !KNOWN_BUGS) {
                        key = key.replaceAll("[\u0007\u001b\u2028\u202e]", "x");
                    }
                    suggestion = null;
                }
            } while (KEYS.contains(key) || key.equals(CONFIG) || !keyFits(key, src));
            Entry entry = entry(src, key, null, value(pick(KEYS.toArray(new String[0])), src));
            entry.suggestion = suggestion;
            return entry;
        }

        private static boolean keyFits(String key, Src src) {
            if (key.isEmpty() || key.charAt(0) <= ' ' || key.charAt(key.length() - 1) <= ' '
                    || Character.getType(key.charAt(0)) == Character.FORMAT
                    || Character.getType(key.charAt(key.length() - 1)) == Character.FORMAT) {
                return false;
            }
            if (src == Src.FILE) {
                return key.indexOf('=') < 0 && key.indexOf(':') < 0 && key.charAt(0) != '#' && key.charAt(0) != '!';
            }
            return src != Src.ARG || key.indexOf('=') < 0 && key.indexOf(',') < 0;
        }

        private String typo(String base, String alphabet) {
            String result;
            do {
                StringBuilder b = new StringBuilder(base);
                int at = r.nextInt(base.length() + 1);
                char c = alphabet.charAt(r.nextInt(alphabet.length()));
                int kind = r.nextInt(3);
                if (kind == 0) {
                    b.insert(at, c);
                } else if (kind == 1 && at < base.length()) {
                    b.deleteCharAt(at);
                } else if (at < base.length()) {
                    b.setCharAt(at, c);
                }
                result = b.toString();
            } while (result.equals(base) || result.isEmpty());
            return result;
        }

        /** Whether {@code key} is within one edit of {@code base} and all other candidates are at least 3 away. */
        private static boolean uniqueNearest(String key, List<String> candidates, String base) {
            if (levenshtein(key, base) > 1) {
                return false;
            }
            for (String other : candidates) {
                if (!other.equals(base) && levenshtein(key, other) < 3) {
                    return false;
                }
            }
            return true;
        }

        private String randomWord(int n, String alphabet) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < n; i++) {
                b.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            return b.toString();
        }

        private Entry unknownVariable() {
            List<String> known = new ArrayList<>();
            for (String key : KEYS) {
                known.add(environmentName(key));
            }
            known.add(environmentName(CONFIG));
            String name;
            String suggestion;
            do {
                double x = r.nextDouble();
                String base = known.get(r.nextInt(known.size()));
                if (x < 0.6) {
                    String suffix = typo(base.substring("TCPHARDENING_".length()), "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
                    name = "TCPHARDENING_" + suffix;
                    suggestion = uniqueNearest(name, known, base) ? base : null;
                } else if (KNOWN_BUGS && x < 0.7) {
                    name = "TCPHARDENING_" + randomWord(between(1, 10), "ABC\u001b\n");
                    suggestion = null;
                } else {
                    name = "TCPHARDENING_" + randomWord(between(0, 20), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
                    suggestion = null;
                }
            } while (known.contains(name));
            // built directly: the name is the variable, not a key to convert
            Entry entry = new Entry(Src.ENV, name, null, junk(Src.ENV));
            setWhere(entry, 0, null);
            entry.suggestion = suggestion;
            return entry;
        }

        private Entry malformedArgument() {
            String text;
            do {
                text = chance(0.5) ? randomWord(between(1, 20), LETTERS + ".") : junk(Src.ARG);
            } while (text.indexOf('=') >= 0 || text.indexOf(',') >= 0 || KEYS.contains(text) || text.equals(CONFIG));
            Entry entry = entry(Src.ARG, text, null, "");
            entry.malformed = true;
            return entry;
        }

        // ---- the file

        private ConfigKind configKind() {
            if (!dirty) {
                return chance(0.8) ? ConfigKind.VALID : ConfigKind.LINK;
            }
            ConfigKind kind = pick(ConfigKind.VALID, ConfigKind.VALID, ConfigKind.VALID, ConfigKind.VALID,
                    ConfigKind.LINK, ConfigKind.MISSING, ConfigKind.DIRECTORY, ConfigKind.DANGLING, ConfigKind.LOOP,
                    ConfigKind.FIFO, ConfigKind.EMPTY);
            return kind == ConfigKind.FIFO && fx.fifoFile == null ? ConfigKind.VALID : kind;
        }

        private String configValue(Case c) {
            switch (c.winnerKind) {
                case VALID:
                    return fx.caseFile.toString();
                case LINK:
                    return fx.linkFile.toString();
                case MISSING:
                    return fx.missingFile.toString();
                case DIRECTORY:
                    return fx.directoryFile.toString();
                case DANGLING:
                    return fx.danglingFile.toString();
                case LOOP:
                    return fx.loopFile.toString();
                case FIFO:
                    return fx.fifoFile.toString();
                default:
                    return pick("", " ", "\t");
            }
        }

        private static final class Line {
            String text;
            Entry entry;
            byte[] badBytes;
        }

        private void fileContent(Case c) {
            for (int attempt = 0; ; attempt++) {
                List<Line> lines = new ArrayList<>();
                List<String> keys = distinctKeys(between(0, 6));
                for (String key : keys) {
                    lines.add(entryLine(known(Src.FILE, key)));
                }
                for (int i = between(0, 4); i > 0; i--) {
                    lines.add(commentOrBlank(false));
                }
                if (dirty && chance(0.15)) {
                    lines.add(entryLine(unknown(Src.FILE)));
                }
                if (dirty && chance(0.08)) {
                    lines.add(entryLine(entry(Src.FILE, CONFIG, CONFIG, fx.decoyFile.toString())));
                }
                if (dirty && chance(0.08)) {
                    lines.add(malformedLine());
                }
                if (dirty && chance(0.1) && !keys.isEmpty()) {
                    lines.add(entryLine(known(Src.FILE, keys.get(r.nextInt(keys.size())))));
                }
                if (attempt < 3 && chance(0.04)) {
                    lines.add(commentOrBlank(true));
                }
                Collections.shuffle(lines, r);
                c.notUtf8 = dirty && chance(0.06);
                if (c.notUtf8) {
                    Line comment = commentOrBlank(false);
                    comment.text = "#" + comment.text.replaceFirst("^[#!]", "");
                    comment.badBytes = pick(new byte[] {(byte) 0xff}, new byte[] {(byte) 0xc0, (byte) 0xaf},
                            new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, new byte[] {(byte) 0x80},
                            new byte[] {(byte) 0xc3, 'x'}, new byte[] {(byte) 0xe2, (byte) 0x82},
                            new byte[] {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                            new byte[] {(byte) 0xe9});
                    lines.add(r.nextInt(lines.size() + 1), comment);
                }
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                StringBuilder text = new StringBuilder();
                if (chance(0.1)) {
                    bytes.writeBytes("\uFEFF".getBytes(StandardCharsets.UTF_8));
                    text.append('\uFEFF');
                }
                c.fileEntries.clear();
                String previousEnd = "";
                for (int i = 0; i < lines.size(); i++) {
                    Line line = lines.get(i);
                    if (line.entry != null) {
                        setWhere(line.entry, i + 1, c.namedFile);
                        c.fileEntries.add(line.entry);
                    }
                    byte[] encoded = line.text.getBytes(StandardCharsets.UTF_8);
                    if (line.badBytes != null) {
                        bytes.write(encoded, 0, 1);
                        bytes.writeBytes(line.badBytes);
                        bytes.write(encoded, 1, encoded.length - 1);
                    } else {
                        bytes.writeBytes(encoded);
                    }
                    String end = i == lines.size() - 1 && chance(0.5) ? "" : pick("\n", "\n", "\n", "\r\n", "\r\n", "\r");
                    if (previousEnd.equals("\r") && line.text.isEmpty() && end.equals("\n")) {
                        end = "\r\n"; // "\r" + "" + "\n" would be one line end, not two
                    }
                    bytes.writeBytes(end.getBytes(StandardCharsets.UTF_8));
                    text.append(line.text).append(end);
                    previousEnd = end;
                }
                c.fileBytes = bytes.toByteArray();
                c.fileText = text.toString();
                if (c.fileBytes.length <= 60 * 1024) {
                    return;
                }
            }
        }

        private Line entryLine(Entry entry) {
            Line line = new Line();
            line.entry = entry;
            String separator = pick("=", ":", " = ", " : ", "\t=\t", " =", ": ", "  :  ");
            String indent = chance(0.2) ? spaces(between(1, 3)) : "";
            line.text = indent + entry.keyText + separator + entry.value;
            return line;
        }

        private Line malformedLine() {
            Line line = new Line();
            String text;
            do {
                text = randomWord(between(1, 20), LETTERS + "0123456789._-" + UNICODE_LETTERS);
            } while (KEYS.contains(text) || text.equals(CONFIG));
            Entry entry = new Entry(Src.FILE, text, null, "");
            entry.malformed = true;
            line.entry = entry;
            line.text = (chance(0.2) ? spaces(between(1, 3)) : "") + text;
            return line;
        }

        private Line commentOrBlank(boolean long_) {
            Line line = new Line();
            double x = r.nextDouble();
            if (long_ || x < 0.6) {
                StringBuilder b = new StringBuilder(chance(0.2) ? spaces(between(1, 3)) : "");
                b.append(chance(0.7) ? '#' : '!');
                int n = long_ ? between(2000, 8000) : between(0, 40);
                while (b.length() < n) {
                    if (chance(0.1)) {
                        b.append(KEYS.get(r.nextInt(KEYS.size()))).append(" = x");
                    } else {
                        appendRandom(b, Src.FILE);
                    }
                }
                line.text = b.toString();
            } else if (x < 0.8) {
                line.text = "";
            } else {
                line.text = spaces(between(1, 4));
            }
            return line;
        }
    }
}
