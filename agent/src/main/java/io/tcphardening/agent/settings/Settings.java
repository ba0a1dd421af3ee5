package io.tcphardening.agent.settings;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The effective configuration: one immutable value, built once by {@link SettingsLoader} and replaced as a whole
 * (never changed in place), so that every connection sees one consistent set of values.
 */
public final class Settings {

    /** The operator chose to leave this option as the application and the kernel have it. */
    public static final int UNCHANGED = -1;

    static final String DEFAULT_SOURCE = "default";

    /**
     * Built-in values: a dead peer is noticed within about two minutes, idle or busy. Idle: probing starts after 60 s
     * of silence and gives up after 6 unanswered probes 10 s apart (60 s + 6 × 10 s = 120 s). Busy: data left
     * unacknowledged for 120 s ends the connection; on Linux the same bound also ends an idle connection whose probes
     * go unanswered. Two minutes rides out a routing change, a VM migration or a long GC pause of the peer.
     */
    static final Settings DEFAULTS = new Settings(
            new int[] {1, 60, 10, 6, 120_000},
            new String[] {DEFAULT_SOURCE, DEFAULT_SOURCE, DEFAULT_SOURCE, DEFAULT_SOURCE, DEFAULT_SOURCE},
            LogLevel.INFO, DEFAULT_SOURCE, null, DEFAULT_SOURCE, AppValues.REPLACE, DEFAULT_SOURCE);

    private final int[] values;
    private final String[] sources;
    private final LogLevel logLevel;
    private final String logLevelSource;
    private final Path logFile;
    private final String logFileSource;
    private final AppValues appValues;
    private final String appValuesSource;
    /** The global settings as a decision: what a connection no rule matches gets. */
    private final Decision defaults;
    private final Rule[] rules;
    private final String rulesSource;
    /** What any rule's match looks at: a connection's facts are gathered only where some rule needs them. */
    private final boolean rulesUseRemote;
    private final boolean rulesUseHost;
    private final boolean rulesUseLocalPort;
    /** Whether a log file that cannot be the log stops the start (else: standard error and one WARN line). */
    private final boolean logRequired;
    private final String logRequiredSource;
    /** How far below the configured idle time each connection's is spread, in percent: 0 keeps it exact. */
    private final int keepaliveJitter;
    private final String keepaliveJitterSource;

    Settings(int[] values, String[] sources, LogLevel logLevel, String logLevelSource, Path logFile,
             String logFileSource, AppValues appValues, String appValuesSource) {
        this.values = values.clone();
        this.sources = sources.clone();
        this.logLevel = logLevel;
        this.logLevelSource = logLevelSource;
        this.logFile = logFile;
        this.logFileSource = logFileSource;
        this.appValues = appValues;
        this.appValuesSource = appValuesSource;
        this.defaults = new Decision(Decision.DEFAULT, values, appValues);
        this.rules = new Rule[0];
        this.rulesSource = DEFAULT_SOURCE;
        this.rulesUseRemote = false;
        this.rulesUseHost = false;
        this.rulesUseLocalPort = false;
        this.logRequired = false;
        this.logRequiredSource = DEFAULT_SOURCE;
        this.keepaliveJitter = 0;
        this.keepaliveJitterSource = DEFAULT_SOURCE;
    }

    /** These settings with rules (built against these settings' global values), log.required and the jitter. */
    private Settings(Settings global, List<Rule> rules, String rulesSource, boolean logRequired,
                     String logRequiredSource, int keepaliveJitter, String keepaliveJitterSource) {
        this.values = global.values;
        this.sources = global.sources;
        this.logLevel = global.logLevel;
        this.logLevelSource = global.logLevelSource;
        this.logFile = global.logFile;
        this.logFileSource = global.logFileSource;
        this.appValues = global.appValues;
        this.appValuesSource = global.appValuesSource;
        this.defaults = global.defaults;
        this.rules = rules.toArray(new Rule[0]);
        this.rulesSource = rulesSource;
        boolean remote = false;
        boolean host = false;
        boolean localPort = false;
        for (Rule rule : this.rules) {
            remote |= rule.match().usesRemote();
            host |= rule.match().usesHost();
            localPort |= rule.match().usesLocalPort();
        }
        this.rulesUseRemote = remote;
        this.rulesUseHost = host;
        this.rulesUseLocalPort = localPort;
        this.logRequired = logRequired;
        this.logRequiredSource = logRequiredSource;
        this.keepaliveJitter = keepaliveJitter;
        this.keepaliveJitterSource = keepaliveJitterSource;
    }

    Settings withRules(List<Rule> rules, String rulesSource) {
        return new Settings(this, rules, rulesSource, logRequired, logRequiredSource, keepaliveJitter,
                keepaliveJitterSource);
    }

    Settings withLogRequired(boolean required, String source) {
        return new Settings(this, List.of(rules), rulesSource, required, source, keepaliveJitter,
                keepaliveJitterSource);
    }

    Settings withKeepaliveJitter(int percent, String source) {
        return new Settings(this, List.of(rules), rulesSource, logRequired, logRequiredSource, percent, source);
    }

    /** {@code log.required}: a log file that cannot be the log stops the start. */
    public boolean logRequired() {
        return logRequired;
    }

    /** {@code keepalive.jitter} in percent: each connection's idle time is spread up to this far below the setting. */
    public int keepaliveJitter() {
        return keepaliveJitter;
    }

    /**
     * How far below {@code idle} seconds {@code keepalive.jitter} may put a connection's idle time: the agent spreads
     * within it, and {@code inspect} takes a value within it as matching. At least 1 s is always left.
     */
    public int keepaliveJitterRange(int idle) {
        return Math.min(idle - 1, (int) ((long) idle * keepaliveJitter / 100));
    }

    /** The global settings' policy for the application's own values. */
    public AppValues appValues() {
        return appValues;
    }

    /** The global settings as a decision: for listeners, and for connections that no rule matches. */
    public Decision defaults() {
        return defaults;
    }

    /** The rules in the order they are tried. */
    public List<Rule> rules() {
        return List.of(rules);
    }

    public boolean hasRules() {
        return rules.length > 0;
    }

    /**
     * Whether the agent must remember what the application writes: a rule may decide a connection only once it
     * connects, and a policy other than {@code replace} needs the application's value at every later write of ours.
     */
    public boolean tracksApplicationValues() {
        return rules.length > 0 || appValues != AppValues.REPLACE;
    }

    public boolean rulesUseRemote() {
        return rulesUseRemote;
    }

    public boolean rulesUseHost() {
        return rulesUseHost;
    }

    public boolean rulesUseLocalPort() {
        return rulesUseLocalPort;
    }

    /**
     * The decision for one connection: the first rule that matches, else the global settings. One scan of the rules,
     * no allocation beyond the caller's.
     *
     * @param remote    the peer's address as {@link Match#bytes} gives it, or null if not known
     * @param localPort for an accepted connection the listener's port, else -1
     * @param host      the host name the application gave, or null
     */
    public Decision decide(boolean accepted, byte[] remote, int remotePort, int localPort, String host) {
        String lowerHost = host == null ? null : host.toLowerCase(Locale.ROOT);
        for (Rule rule : rules) {
            if (rule.match().matches(accepted, remote, remotePort, localPort, lowerHost)) {
                return rule.decision();
            }
        }
        return defaults;
    }

    /** The decision for a connection given by address; for {@code check --explain} and {@code inspect}. */
    public Decision decide(boolean accepted, InetAddress remote, int remotePort, int localPort, String host) {
        return decide(accepted, remote == null ? null : Match.bytes(remote), remotePort, localPort, host);
    }

    public boolean isSet(TcpOption option) {
        return values[option.ordinal()] != UNCHANGED;
    }

    /** The configured kernel value, or {@link #UNCHANGED}. */
    public int value(TcpOption option) {
        return values[option.ordinal()];
    }

    String source(TcpOption option) {
        return sources[option.ordinal()];
    }

    public LogLevel logLevel() {
        return logLevel;
    }

    /** The log file, or null for standard error. */
    public Path logFile() {
        return logFile;
    }

    /** Whether any of the five options is set at all, globally or by a rule; with none, the agent has nothing to do. */
    public boolean setsAnything() {
        if (!defaults.leavesAlone()) {
            return true;
        }
        for (Rule rule : rules) {
            if (!rule.decision().leavesAlone()) {
                return true;
            }
        }
        return false;
    }

    /** {@link #describe} and, if there are rules, each in the order they are tried: the start-up line. */
    public String describeAll() {
        if (rules.length == 0) {
            return describe();
        }
        return describe() + "; rules, the first that matches decides: " + String.join("; ", describeRules());
    }

    /** Each rule in order, described with its sources: for the start-up line and {@code check}. */
    public List<String> describeRules() {
        List<String> lines = new ArrayList<>();
        for (Rule rule : rules) {
            lines.add(rule.describe());
        }
        return lines;
    }

    /** Every global setting with the place it came from, for the start-up line; the rules: {@link #describeRules}. */
    public String describe() {
        StringBuilder line = new StringBuilder();
        Map<String, String> sources = sources(false);
        for (Map.Entry<String, String> setting : values(false).entrySet()) {
            if (line.length() > 0) {
                line.append(", ");
            }
            line.append(setting.getKey()).append('=').append(setting.getValue())
                    .append(" (").append(sources.get(setting.getKey())).append(')');
        }
        return line.toString();
    }

    /** Every setting's value as {@code agent.properties} writes it ("61s", "unchanged", "stderr"), in documented order. */
    public Map<String, String> values() {
        return values(true);
    }

    /** {@code withRules} false: the global settings alone (the rules' are described by {@link #describeRules}). */
    private Map<String, String> values(boolean withRules) {
        Map<String, String> values = new LinkedHashMap<>();
        for (TcpOption option : TcpOption.ALL) {
            int value = value(option);
            values.put(option.key, value == UNCHANGED ? "unchanged" : option.format(value));
        }
        values.put("log.level", logLevel.key());
        values.put("log.file", logFile == null ? "stderr" : logFile.toString());
        values.put("log.required", Boolean.toString(logRequired));
        values.put("keepalive.jitter", keepaliveJitter + "%");
        values.put("app.values", appValues.key());
        if (withRules && rules.length > 0) {
            values.put("rules", ruleNames());
            for (Rule rule : rules) {
                for (Map.Entry<String, String[]> given : rule.given().entrySet()) {
                    values.put(given.getKey(), given.getValue()[0]);
                }
            }
        }
        return values;
    }

    /** Where each setting came from ("agent argument", "/etc/app/agent.properties:3", "default", ...). */
    public Map<String, String> sources() {
        return sources(true);
    }

    private Map<String, String> sources(boolean withRules) {
        Map<String, String> sources = new LinkedHashMap<>();
        for (TcpOption option : TcpOption.ALL) {
            sources.put(option.key, source(option));
        }
        sources.put("log.level", logLevelSource);
        sources.put("log.file", logFileSource);
        sources.put("log.required", logRequiredSource);
        sources.put("keepalive.jitter", keepaliveJitterSource);
        sources.put("app.values", appValuesSource);
        if (withRules && rules.length > 0) {
            sources.put("rules", rulesSource);
            for (Rule rule : rules) {
                for (Map.Entry<String, String[]> given : rule.given().entrySet()) {
                    sources.put(given.getKey(), given.getValue()[1]);
                }
            }
        }
        return sources;
    }

    /** The rule names in order, separated by spaces (as {@code rules} takes them in every source). */
    public String ruleNames() {
        StringBuilder names = new StringBuilder();
        for (Rule rule : rules) {
            names.append(names.length() == 0 ? "" : " ").append(rule.name());
        }
        return names.toString();
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Settings)) {
            return false;
        }
        Settings that = (Settings) other;
        return Arrays.equals(values, that.values) && logLevel == that.logLevel
                && (logFile == null ? that.logFile == null : logFile.equals(that.logFile))
                && appValues == that.appValues && describeRules().equals(that.describeRules())
                && logRequired == that.logRequired && keepaliveJitter == that.keepaliveJitter;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values) * 31 + logLevel.hashCode();
    }

    @Override
    public String toString() {
        return describe();
    }
}
