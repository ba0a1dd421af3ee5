package io.tcphardening.agent.settings;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
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
            LogLevel.INFO, DEFAULT_SOURCE, null, DEFAULT_SOURCE);

    private final int[] values;
    private final String[] sources;
    private final LogLevel logLevel;
    private final String logLevelSource;
    private final Path logFile;
    private final String logFileSource;

    Settings(int[] values, String[] sources, LogLevel logLevel, String logLevelSource, Path logFile,
             String logFileSource) {
        this.values = values.clone();
        this.sources = sources.clone();
        this.logLevel = logLevel;
        this.logLevelSource = logLevelSource;
        this.logFile = logFile;
        this.logFileSource = logFileSource;
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

    /** Whether any of the five options is set at all; with none, the agent has nothing to do. */
    public boolean setsAnything() {
        for (int value : values) {
            if (value != UNCHANGED) {
                return true;
            }
        }
        return false;
    }

    /** Every setting with the place it came from, for the start-up line. */
    public String describe() {
        StringBuilder line = new StringBuilder();
        Map<String, String> sources = sources();
        for (Map.Entry<String, String> setting : values().entrySet()) {
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
        Map<String, String> values = new LinkedHashMap<>();
        for (TcpOption option : TcpOption.ALL) {
            int value = value(option);
            values.put(option.key, value == UNCHANGED ? "unchanged" : option.format(value));
        }
        values.put("log.level", logLevel.key());
        values.put("log.file", logFile == null ? "stderr" : logFile.toString());
        return values;
    }

    /** Where each setting came from ("agent argument", "/etc/app/agent.properties:3", "default", ...). */
    public Map<String, String> sources() {
        Map<String, String> sources = new LinkedHashMap<>();
        for (TcpOption option : TcpOption.ALL) {
            sources.put(option.key, source(option));
        }
        sources.put("log.level", logLevelSource);
        sources.put("log.file", logFileSource);
        return sources;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof Settings)) {
            return false;
        }
        Settings that = (Settings) other;
        return Arrays.equals(values, that.values) && logLevel == that.logLevel
                && (logFile == null ? that.logFile == null : logFile.equals(that.logFile));
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
