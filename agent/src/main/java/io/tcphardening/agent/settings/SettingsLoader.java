package io.tcphardening.agent.settings;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Builds {@link Settings} from the operator's sources, validating every value of every source: a mistake anywhere
 * stops the start, even in a value that a higher source overrides, because it means the operator's intent is unclear.
 *
 * <p>Precedence, highest first: the agent argument ({@code -javaagent:jar=config=PATH,key=value,...}), system
 * properties {@code -Dtcphardening.KEY}, environment variables {@code TCPHARDENING_KEY} (dots become underscores, upper
 * case), the properties file, the built-in defaults. The file is the one named by {@code config} in the first of
 * those sources that names one, else {@code agent.properties} beside the agent jar if it exists.
 *
 * <p>Pure: it reads the file it is pointed at and nothing else; the caller passes properties and environment in.
 */
public final class SettingsLoader {

    public static final String CONFIG = "config";
    static final String LOG_LEVEL = "log.level";
    public static final String LOG_FILE = "log.file";
    static final String APP_VALUES = "app.values";
    static final String LOG_REQUIRED = "log.required";
    static final String KEEPALIVE_JITTER = "keepalive.jitter";
    static final String RULES = "rules";
    private static final String RULE_PREFIX = "rule.";
    /** What may follow {@code rule.NAME.}: the match, the five options, the policy. */
    private static final List<String> RULE_SUFFIXES;
    static final String DEFAULT_FILE = "agent.properties";
    public static final String UNCHANGED = "unchanged";

    private static final String PROPERTY_PREFIX = "tcphardening.";
    public static final String ENV_PREFIX = "TCPHARDENING_";

    /** Every key the agent knows, in the order they are documented. */
    static final List<String> KEYS;

    static {
        List<String> keys = new ArrayList<>();
        for (TcpOption option : TcpOption.ALL) {
            keys.add(option.key);
        }
        keys.add(LOG_LEVEL);
        keys.add(LOG_FILE);
        keys.add(LOG_REQUIRED);
        keys.add(KEEPALIVE_JITTER);
        keys.add(APP_VALUES);
        keys.add(RULES);
        KEYS = List.copyOf(keys);
        List<String> suffixes = new ArrayList<>();
        suffixes.add(Rule.MATCH);
        for (TcpOption option : TcpOption.ALL) {
            suffixes.add(option.key);
        }
        suffixes.add(Rule.APP_VALUES);
        RULE_SUFFIXES = List.copyOf(suffixes);
    }

    /** A raw value and where it came from, in the words an operator would use to find it. */
    private static final class Entry {
        final String value;
        final String source;
        /** A rule's match, parsed once: validated in every source, then used from the highest. */
        Match match;

        Entry(String value, String source) {
            this.value = value;
            this.source = source;
        }
    }

    private SettingsLoader() {
        // no instances
    }

    /**
     * @param agentArgs   the text after {@code =} in {@code -javaagent:jar=...}, or null
     * @param properties  the JVM's system properties
     * @param environment the process environment
     * @param agentDir    the directory of the agent jar, where {@code agent.properties} is looked for; may be null
     */
    public static Settings load(String agentArgs, Map<String, String> properties, Map<String, String> environment,
                         Path agentDir) throws ConfigException {
        Map<String, Entry> fromArgs = fromAgentArgs(agentArgs);
        Map<String, Entry> fromProperties = fromProperties(properties);
        Map<String, Entry> fromEnvironment = fromEnvironment(environment);

        Entry config = first(CONFIG, fromArgs, fromProperties, fromEnvironment);
        Map<String, Entry> fromFile = new LinkedHashMap<>();
        if (config != null) {
            fromFile = fromFile(path(config, CONFIG));
        } else if (agentDir != null && Files.exists(agentDir.resolve(DEFAULT_FILE), LinkOption.NOFOLLOW_LINKS)) {
            fromFile = fromFile(agentDir.resolve(DEFAULT_FILE));
        }

        List<Map<String, Entry>> sources = List.of(fromArgs, fromProperties, fromEnvironment, fromFile);
        for (Map<String, Entry> source : sources) {
            for (Map.Entry<String, Entry> entry : source.entrySet()) {
                if (entry.getKey().equals(CONFIG)) {
                    path(entry.getValue(), CONFIG);  // even one a higher source overrides must be a path
                } else {
                    validate(entry.getKey(), entry.getValue());
                }
            }
        }

        Settings defaults = Settings.DEFAULTS;
        int[] values = new int[TcpOption.ALL.length];
        String[] valueSources = new String[TcpOption.ALL.length];
        for (TcpOption option : TcpOption.ALL) {
            Entry entry = first(option.key, fromArgs, fromProperties, fromEnvironment, fromFile);
            values[option.ordinal()] = entry == null ? defaults.value(option) : optionValue(option, entry);
            valueSources[option.ordinal()] = entry == null ? defaults.source(option) : entry.source;
        }
        Entry level = first(LOG_LEVEL, fromArgs, fromProperties, fromEnvironment, fromFile);
        Entry file = first(LOG_FILE, fromArgs, fromProperties, fromEnvironment, fromFile);
        Entry policy = first(APP_VALUES, fromArgs, fromProperties, fromEnvironment, fromFile);
        Settings global = new Settings(values, valueSources,
                level == null ? defaults.logLevel() : logLevel(level),
                level == null ? Settings.DEFAULT_SOURCE : level.source,
                file == null ? defaults.logFile() : logFile(file),
                file == null ? Settings.DEFAULT_SOURCE : file.source,
                policy == null ? defaults.appValues() : appValues(APP_VALUES, policy),
                policy == null ? Settings.DEFAULT_SOURCE : policy.source);
        Entry required = first(LOG_REQUIRED, fromArgs, fromProperties, fromEnvironment, fromFile);
        if (required != null) {
            global = global.withLogRequired(logRequired(required), required.source);
        }
        Entry jitter = first(KEEPALIVE_JITTER, fromArgs, fromProperties, fromEnvironment, fromFile);
        if (jitter != null) {
            global = global.withKeepaliveJitter(jitter(jitter), jitter.source);
        }
        return withRules(global, sources);
    }

    /**
     * The rules, each key taken from the highest source that gives it, then checked as a whole: every rule key's
     * name is listed in {@code rules}, and every listed rule has a match.
     */
    private static Settings withRules(Settings global, List<Map<String, Entry>> sources) throws ConfigException {
        Entry list = first(RULES, sources.get(0), sources.get(1), sources.get(2), sources.get(3));
        List<String> names = list == null ? List.of() : ruleNames(list);
        // each listed rule's settings by suffix ("match", "user_timeout", ...), from the highest source giving each
        Map<String, Map<String, Entry>> byRule = new HashMap<>();
        for (Map<String, Entry> source : sources) {
            for (Map.Entry<String, Entry> entry : source.entrySet()) {
                String key = entry.getKey();
                if (!key.startsWith(RULE_PREFIX)) {
                    continue;
                }
                String name = ruleName(key);
                if (!names.contains(name)) {
                    throw new ConfigException(entry.getValue().source + ": " + key + " = "
                            + quote(entry.getValue().value) + " belongs to a rule named " + name + ", which " + RULES
                            + " does not list" + (list == null ? " (no source sets " + RULES + ")" : " (" + RULES
                            + " = " + quote(list.value) + " at " + list.source + ")")
                            + "; add it there or remove the key");
                }
                Map<String, Entry> settings = byRule.get(name);
                if (settings == null) {
                    settings = new HashMap<>();
                    byRule.put(name, settings);
                }
                settings.putIfAbsent(ruleSuffix(key), entry.getValue());
            }
        }
        if (names.isEmpty()) {
            return global;
        }
        List<Rule> rules = new ArrayList<>();
        for (String name : names) {
            Map<String, Entry> settings = byRule.get(name);
            Entry match = settings == null ? null : settings.get(Rule.MATCH);
            if (match == null) {
                throw new ConfigException(list.source + ": " + RULES + " = " + quote(list.value) + " lists " + name
                        + ", which has no " + RULE_PREFIX + name + "." + Rule.MATCH + "; a rule needs one (for example "
                        + RULE_PREFIX + name + "." + Rule.MATCH + " = connect port=5432)");
            }
            int[] named = new int[TcpOption.ALL.length];
            String[] namedSources = new String[TcpOption.ALL.length];
            for (TcpOption option : TcpOption.ALL) {
                Entry entry = settings.get(option.key);
                named[option.ordinal()] = entry == null ? Rule.NOT_NAMED : optionValue(option, entry,
                        RULE_PREFIX + name + "." + option.key);
                namedSources[option.ordinal()] = entry == null ? null : entry.source;
            }
            Entry policy = settings.get(Rule.APP_VALUES);
            rules.add(new Rule(name, match(RULE_PREFIX + name + "." + Rule.MATCH, match), match.source, named,
                    namedSources, policy == null ? null : appValues(RULE_PREFIX + name + "." + Rule.APP_VALUES, policy),
                    policy == null ? null : policy.source, global));
        }
        return global.withRules(rules, list.source);
    }

    @SafeVarargs
    private static Entry first(String key, Map<String, Entry>... sources) {
        for (Map<String, Entry> source : sources) {
            Entry entry = source.get(key);
            if (entry != null) {
                return entry;
            }
        }
        return null;
    }

    // ---- sources

    private static Map<String, Entry> fromAgentArgs(String args) throws ConfigException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        if (args == null || args.isBlank()) {
            return entries;
        }
        for (String item : agentArgItems(args)) {
            String source = "agent argument";
            int eq = item.indexOf('=');
            if (eq < 0) {
                throw new ConfigException(source + " " + quote(item)
                        + " is not key=value; write for example -javaagent:tcp-hardening-agent.jar=config=/etc/app/"
                        + "agent.properties,user_timeout=30s");
            }
            String key = item.substring(0, eq).trim();
            checkKnown(key, source, true);
            put(entries, key, new Entry(item.substring(eq + 1).trim(), source));
        }
        return entries;
    }

    /**
     * The agent argument's items. Pairs are separated by commas, and a rule's match lists its addresses and ports
     * with commas too: a comma continues the value before it unless what follows starts with a key of ours and
     * {@code =} ({@code rule.db.match=connect port=5432,6432,user_timeout=30s} is two pairs). Within a match, what
     * follows a comma starts a pair if it starts with a word and {@code =}: a misspelt key is reported as one, and no
     * address, port list or match term ({@code 6432}, {@code fd00::/8 port=5432}) looks like that.
     */
    static List<String> agentArgItems(String args) {
        List<String> items = new ArrayList<>();
        for (String piece : args.split(",", -1)) {
            if (items.isEmpty() || startsPair(piece) || !isMatchKey(items.get(items.size() - 1))) {
                items.add(piece);
            } else {
                items.set(items.size() - 1, items.get(items.size() - 1) + "," + piece);
            }
        }
        return items;
    }

    /** Only a rule's match has commas in its value. */
    private static boolean isMatchKey(String item) {
        int eq = item.indexOf('=');
        String key = eq < 0 ? "" : item.substring(0, eq).trim();
        return key.startsWith(RULE_PREFIX) && key.endsWith("." + Rule.MATCH);
    }

    private static boolean startsPair(String piece) {
        int eq = piece.indexOf('=');
        String key = eq < 0 ? "" : piece.substring(0, eq).trim();
        if (key.isEmpty() || !Character.isLetter(key.charAt(0))) {
            return false;
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, Entry> fromProperties(Map<String, String> properties) throws ConfigException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, String> property : properties.entrySet()) {
            if (property.getKey().startsWith(PROPERTY_PREFIX)) {
                String key = property.getKey().substring(PROPERTY_PREFIX.length());
                String source = "system property -D" + display(property.getKey());
                checkKnown(key, source, true);
                entries.put(key, new Entry(property.getValue().trim(), source));
            }
        }
        return entries;
    }

    private static Map<String, Entry> fromEnvironment(Map<String, String> environment) throws ConfigException {
        Map<String, String> keyByVariable = new LinkedHashMap<>();
        keyByVariable.put(environmentName(CONFIG), CONFIG);
        for (String key : KEYS) {
            keyByVariable.put(environmentName(key), key);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, String> variable : environment.entrySet()) {
            String name = variable.getKey();
            if (!name.startsWith(ENV_PREFIX)) {
                continue;
            }
            String key = keyByVariable.get(name);
            String source = "environment variable " + display(name);
            if (key == null) {
                key = ruleKeyOfVariable(name);
                if (key != null) {
                    checkKnown(key, source, false);
                }
            }
            if (key == null) {
                String guess = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
                throw new ConfigException(source + " is not a setting of the agent" + suggestion(guess, true, true));
            }
            entries.put(key, new Entry(variable.getValue().trim(), source));
        }
        return entries;
    }

    /**
     * {@code TCPHARDENING_RULE_DB_KEEPALIVE_IDLE} is {@code rule.db.keepalive.idle}: the longest setting that ends the
     * name is the setting, what is between is the rule's name, in lower case. Null if it is no rule key.
     */
    private static String ruleKeyOfVariable(String variable) {
        String prefix = ENV_PREFIX + "RULE_";
        if (!variable.startsWith(prefix)) {
            return null;
        }
        String rest = variable.substring(prefix.length());
        String best = null;
        for (String suffix : RULE_SUFFIXES) {
            String upper = "_" + suffix.toUpperCase(Locale.ROOT).replace('.', '_');
            if (rest.endsWith(upper) && rest.length() > upper.length() && (best == null || suffix.length() > best.length())) {
                best = suffix;
            }
        }
        if (best == null) {
            return null;
        }
        String name = rest.substring(0, rest.length() - best.length() - 1).toLowerCase(Locale.ROOT);
        return RULE_PREFIX + name + "." + best;
    }

    static String environmentName(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * The lines of a file, ended by {@code \n}, {@code \r\n} or {@code \r}: not with {@code String.split}, whose
     * pattern here is compiled at every start that reads a file (~1 ms, interpreted). Over a char array: this runs
     * interpreted, where each {@code charAt} is a few calls.
     */
    static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        char[] chars = text.toCharArray();
        int start = 0;
        for (int i = 0; i < chars.length; i++) {
            char c = chars[i];
            if (c == '\n' || c == '\r') {
                lines.add(new String(chars, start, i - start));
                if (c == '\r' && i + 1 < chars.length && chars[i + 1] == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        lines.add(new String(chars, start, chars.length - start));
        return lines;
    }

    private static Map<String, Entry> fromFile(Path file) throws ConfigException {
        String text = SettingsFile.read(file, "configuration file " + display(file.toString()));
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        List<String> lines = lines(text);
        String name = display(file.toString());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith("!")) {
                continue;
            }
            String source = name + ":" + (i + 1);
            int separator = separatorIndex(line);
            if (separator < 0) {
                throw new ConfigException(source + ": " + quote(line) + " is not key = value");
            }
            String key = line.substring(0, separator).trim();
            checkKnown(key, source, false);
            Entry previous = entries.get(key);
            if (previous != null) {
                throw new ConfigException(source + ": " + key + " is set twice (also at " + previous.source
                        + "); keep one");
            }
            entries.put(key, new Entry(line.substring(separator + 1).trim(), source));
        }
        return entries;
    }

    private static int separatorIndex(String line) {
        int eq = line.indexOf('=');
        int colon = line.indexOf(':');
        if (eq < 0) {
            return colon;
        }
        return colon < 0 ? eq : Math.min(eq, colon);
    }

    private static void put(Map<String, Entry> entries, String key, Entry entry) throws ConfigException {
        if (entries.containsKey(key)) {
            throw new ConfigException(entry.source + ": " + key + " is given twice; keep one");
        }
        entries.put(key, entry);
    }

    private static void checkKnown(String key, String source, boolean configAllowed) throws ConfigException {
        if (KEYS.contains(key) || (configAllowed && key.equals(CONFIG))) {
            return;
        }
        if (key.startsWith(RULE_PREFIX)) {
            checkRuleKey(key, source);
            return;
        }
        if (key.equals(CONFIG)) {
            throw new ConfigException(source + ": config names the file itself; it cannot appear inside the file");
        }
        throw new ConfigException(source + ": " + quote(key) + " is not a setting of the agent"
                + suggestion(key, configAllowed, false));
    }

    /** {@code rule.NAME.SUFFIX}: a name of lower-case letters, digits, '-' and '_', and a setting a rule takes. */
    private static void checkRuleKey(String key, String source) throws ConfigException {
        String rest = key.substring(RULE_PREFIX.length());
        int dot = rest.indexOf('.');
        String name = dot < 0 ? rest : rest.substring(0, dot);
        String suffix = dot < 0 ? "" : rest.substring(dot + 1);
        if (!validRuleName(name)) {
            throw new ConfigException(source + ": " + quote(key) + " does not name a rule: rule names are lower-case"
                    + " letters, digits, '-' and '_' (rule.NAME.match, rule.NAME.user_timeout, ...)");
        }
        if (!RULE_SUFFIXES.contains(suffix)) {
            throw new ConfigException(source + ": " + quote(key) + " is not a setting of a rule; a rule takes "
                    + String.join(", ", RULE_SUFFIXES));
        }
    }

    static boolean validRuleName(String name) {
        if (name.isEmpty() || name.length() > 64) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** The NAME of {@code rule.NAME.SUFFIX}, a key {@link #checkRuleKey} accepted. */
    private static String ruleName(String key) {
        String rest = key.substring(RULE_PREFIX.length());
        return rest.substring(0, rest.indexOf('.'));
    }

    /** The SUFFIX of {@code rule.NAME.SUFFIX} ("match", "user_timeout", ...), a key {@link #checkRuleKey} accepted. */
    private static String ruleSuffix(String key) {
        return key.substring(key.indexOf('.', RULE_PREFIX.length()) + 1);
    }

    private static String suggestion(String key, boolean configAllowed, boolean asEnvironment) {
        List<String> candidates = new ArrayList<>(KEYS);
        if (configAllowed) {
            candidates.add(CONFIG);
        }
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            int distance = distance(key.toLowerCase(Locale.ROOT), candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        StringBuilder known = new StringBuilder();
        for (String candidate : candidates) {
            known.append(known.length() == 0 ? "" : ", ").append(asEnvironment ? environmentName(candidate) : candidate);
        }
        if (best == null) {
            return "; known: " + known;
        }
        String nearest = asEnvironment ? environmentName(best) : best;
        return bestDistance <= Math.max(2, best.length() / 3)
                ? "; did you mean " + nearest + "? (known: " + known + ")"
                : "; known: " + known;
    }

    /** Levenshtein distance, for suggesting the key an operator probably meant. */
    private static int distance(String a, String b) {
        if (a.length() > 200) {
            return Integer.MAX_VALUE;
        }
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    // ---- values

    private static void validate(String key, Entry entry) throws ConfigException {
        if (key.equals(LOG_LEVEL)) {
            logLevel(entry);
        } else if (key.equals(LOG_FILE)) {
            logFile(entry);
        } else if (key.equals(APP_VALUES) || key.endsWith("." + Rule.APP_VALUES) && key.startsWith(RULE_PREFIX)) {
            appValues(key, entry);
        } else if (key.equals(RULES)) {
            ruleNames(entry);
        } else if (key.equals(LOG_REQUIRED)) {
            logRequired(entry);
        } else if (key.equals(KEEPALIVE_JITTER)) {
            jitter(entry);
        } else if (key.startsWith(RULE_PREFIX) && key.endsWith("." + Rule.MATCH)) {
            match(key, entry);
        } else if (key.startsWith(RULE_PREFIX)) {
            String suffix = ruleSuffix(key);
            for (TcpOption option : TcpOption.ALL) {
                if (option.key.equals(suffix)) {
                    optionValue(option, entry, key);
                }
            }
        } else {
            for (TcpOption option : TcpOption.ALL) {
                if (option.key.equals(key)) {
                    optionValue(option, entry);
                }
            }
        }
    }

    static int optionValue(TcpOption option, Entry entry) throws ConfigException {
        return optionValue(option, entry, option.key);
    }

    /** {@code key} is the option's own key or a rule's ({@code rule.db.user_timeout}), for the message. */
    static int optionValue(TcpOption option, Entry entry, String key) throws ConfigException {
        String value = entry.value.toLowerCase(Locale.ROOT);
        if (value.equals(UNCHANGED)) {
            return Settings.UNCHANGED;
        }
        // not a switch: a switch on an enum compiles to one more class (and loads NoSuchFieldError), at every start
        if (option.unit == TcpOption.Unit.BOOLEAN) {
            if (value.equals("true") || value.equals("false")) {
                return value.equals("true") ? 1 : 0;
            }
            throw invalid(key, entry, "true, false, or " + UNCHANGED);
        }
        if (option.unit == TcpOption.Unit.COUNT) {
            if (!value.isEmpty() && digits(value) == value.length()) {
                String number = withoutLeadingZeros(value);
                long count = number.length() > 12 ? Long.MAX_VALUE : Long.parseLong(number);
                if (count >= option.min && count <= option.max) {
                    return (int) count;
                }
            }
            throw invalid(key, entry, allowed(option));
        }
        return duration(option, entry, value, key);
    }

    private static int duration(TcpOption option, Entry entry, String value, String key) throws ConfigException {
        int digits = digits(value);
        if (!value.isEmpty() && digits == value.length()) {
            throw new ConfigException(entry.source + ": " + key + " = " + quote(entry.value)
                    + " has no unit; durations always carry one: " + value + "ms, " + value + "s, " + value + "m or "
                    + value + "h (allowed: " + allowed(option) + ")");
        }
        String unit = value.substring(Math.max(digits, 0)).trim();
        if (digits <= 0 || !(unit.equals("ms") || unit.equals("s") || unit.equals("m") || unit.equals("h"))) {
            throw invalid(key, entry, allowed(option));
        }
        String number = withoutLeadingZeros(value.substring(0, digits));
        if (number.length() > 12) {
            // beyond any option's range, whatever the unit; but a fraction of a second is the first thing to fix
            if (option.unit == TcpOption.Unit.SECONDS && unit.equals("ms") && !number.endsWith("000")) {
                throw notWholeSeconds(option, entry, key);
            }
            throw invalid(key, entry, allowed(option));
        }
        long amount = Long.parseLong(number);
        long millis;
        switch (unit) {
            case "h":
                millis = amount * 3_600_000L;
                break;
            case "m":
                millis = amount * 60_000L;
                break;
            case "s":
                millis = amount * 1_000L;
                break;
            default:
                millis = amount;
        }
        if (option.unit == TcpOption.Unit.SECONDS) {
            if (millis % 1000 != 0) {
                throw notWholeSeconds(option, entry, key);
            }
            long seconds = millis / 1000;
            if (seconds < option.min || seconds > option.max) {
                throw invalid(key, entry, allowed(option));
            }
            return (int) seconds;
        }
        if (millis < option.min || millis > option.max) {
            throw invalid(key, entry, allowed(option));
        }
        return (int) millis;
    }

    private static ConfigException notWholeSeconds(TcpOption option, Entry entry, String key) {
        return new ConfigException(entry.source + ": " + key + " = " + quote(entry.value)
                + " is not a whole number of seconds (the kernel counts this option in seconds); allowed: "
                + allowed(option));
    }

    private static String withoutLeadingZeros(String digits) {
        int start = 0;
        while (start < digits.length() - 1 && digits.charAt(start) == '0') {
            start++;
        }
        return digits.substring(start);
    }

    /**
     * The length of the run of ASCII digits that starts {@code value}, or -1 if it has more than 30 (beyond any
     * option's range: rejected without parsing). A value of digits only has a result equal to its length.
     */
    private static int digits(String value) {
        int length = 0;
        while (length < value.length() && value.charAt(length) >= '0' && value.charAt(length) <= '9') {
            length++;
        }
        return length > 30 ? -1 : length;
    }

    static String allowed(TcpOption option) {
        if (option.unit == TcpOption.Unit.BOOLEAN) {
            return "true, false, or " + UNCHANGED;
        }
        if (option.unit == TcpOption.Unit.COUNT) {
            return "a whole number from " + option.min + " to " + option.max + ", or " + UNCHANGED;
        }
        if (option.unit == TcpOption.Unit.SECONDS) {
            return "a duration in whole seconds from 1s to 32767s, for example 30s or 5m, or " + UNCHANGED;
        }
        return "a duration from 0ms (the kernel's default) to 2147483647ms (about 24 days), for example 30s or 2m, or "
                + UNCHANGED;
    }

    private static boolean logRequired(Entry entry) throws ConfigException {
        String value = entry.value.toLowerCase(Locale.ROOT);
        if (value.equals("true") || value.equals("false")) {
            return value.equals("true");
        }
        throw invalid(LOG_REQUIRED, entry, "true (a log file that cannot be written stops the start) or false (the log"
                + " goes to standard error instead, with one WARN line)");
    }

    /** "10%": the most each connection's idle time is spread below the setting; 0 to 50 percent. */
    static int jitter(Entry entry) throws ConfigException {
        String value = entry.value.trim();
        String digits = value.endsWith("%") ? value.substring(0, value.length() - 1).trim() : null;
        if (digits != null && !digits.isEmpty() && digits.length() <= 3 && digits(digits) == digits.length()
                && Integer.parseInt(digits) <= 50) {
            return Integer.parseInt(digits);
        }
        throw invalid(KEEPALIVE_JITTER, entry, "a percentage from 0% to 50%, for example 10%: each connection's"
                + " keepalive.idle is spread up to that far below the setting, never above");
    }

    /** {@code key} is {@code app.values} or a rule's ({@code rule.db.app.values}), for the message. */
    private static AppValues appValues(String key, Entry entry) throws ConfigException {
        AppValues policy = AppValues.byKey(entry.value.toLowerCase(Locale.ROOT));
        if (policy == null) {
            throw new ConfigException(entry.source + ": " + key + " = " + quote(entry.value) + " is not a policy for"
                    + " the application's own values; allowed: replace (the configured value replaces the"
                    + " application's), stricter (the application's stands where it detects a dead peer no later),"
                    + " keep (the application's stands)");
        }
        return policy;
    }

    /** The rule names of {@code rules}, separated by whitespace or commas, each once. */
    private static List<String> ruleNames(Entry entry) throws ConfigException {
        List<String> names = new ArrayList<>();
        for (String name : Match.words(entry.value, true)) {
            if (name.isEmpty()) {
                continue;
            }
            if (!validRuleName(name)) {
                throw new ConfigException(entry.source + ": " + RULES + " = " + quote(entry.value) + " names "
                        + quote(name) + "; rule names are lower-case letters, digits, '-' and '_'");
            }
            if (names.contains(name)) {
                throw new ConfigException(entry.source + ": " + RULES + " = " + quote(entry.value) + " lists " + name
                        + " twice; two rules cannot have the same name");
            }
            names.add(name);
        }
        return names;
    }

    private static Match match(String key, Entry entry) throws ConfigException {
        if (entry.match != null) {
            return entry.match;
        }
        try {
            entry.match = Match.parse(entry.value);
            return entry.match;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(entry.source + ": " + key + " = " + quote(entry.value) + " is not valid: "
                    + e.getMessage());
        }
    }

    private static LogLevel logLevel(Entry entry) throws ConfigException {
        for (LogLevel level : LogLevel.values()) {
            if (level.key().equals(entry.value.toLowerCase(Locale.ROOT))) {
                return level;
            }
        }
        throw invalid(LOG_LEVEL, entry, "off, error, warn, info, debug or trace");
    }

    private static Path logFile(Entry entry) throws ConfigException {
        Path file = path(entry, LOG_FILE);
        if (Files.isDirectory(file)) {
            throw invalid(LOG_FILE, entry, "a file, not a directory");
        }
        Path directory = file.toAbsolutePath().getParent();
        if (directory == null || !Files.isDirectory(directory)) {
            throw invalid(LOG_FILE, entry, "a file in a directory that exists");
        }
        return file;
    }

    private static Path path(Entry entry, String key) throws ConfigException {
        if (entry.value.isEmpty()) {
            throw invalid(key, entry, "a path");
        }
        Path path = SettingsFile.path(entry.value);
        if (path == null) {
            throw invalid(key, entry, "a valid path");
        }
        return path;
    }

    private static ConfigException invalid(String key, Entry entry, String allowed) {
        return new ConfigException(entry.source + ": " + key + " = " + quote(entry.value) + " is not valid; allowed: "
                + allowed);
    }

    /** A name or path as it is, when it is plain and short enough to show; else {@link #quote quoted}. */
    static String display(String text) {
        if (text.length() > 300) {
            return quote(text);
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && !Character.isLetterOrDigit(c))) {
                return quote(text);
            }
        }
        return text;
    }

    /**
     * A value as it can safely be shown on one line of a terminal: quoted, escaped, and cut if long. Public for the
     * commands, whose messages quote their own arguments the same way.
     */
    public static String quote(String value) {
        StringBuilder quoted = new StringBuilder("'");
        int shown = 0;
        for (int i = 0; i < value.length() && shown < 60; i++, shown++) {
            char c = value.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && !Character.isLetterOrDigit(c))) {
                quoted.append(String.format("\\u%04x", (int) c));
            } else {
                quoted.append(c);
            }
        }
        if (value.length() > 60) {
            quoted.append("...(").append(value.length()).append(" characters)");
        }
        return quoted.append('\'').toString();
    }

    /** The JVM's system properties as a map: the second source, passed to {@link #load}. */
    public static Map<String, String> systemProperties() {
        Map<String, String> properties = new HashMap<>();
        Properties system = System.getProperties();
        for (String name : system.stringPropertyNames()) {
            properties.put(name, system.getProperty(name));
        }
        return properties;
    }
}
