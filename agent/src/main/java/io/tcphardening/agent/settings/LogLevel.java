package io.tcphardening.agent.settings;

import java.util.Locale;

/** The agent's log levels, most severe first; {@link #OFF} logs nothing. */
public enum LogLevel {
    OFF, ERROR, WARN, INFO, DEBUG, TRACE;

    /** Whether a line at {@code level} is written when this is the configured level. */
    public boolean allows(LogLevel level) {
        return level != OFF && level.ordinal() <= ordinal();
    }

    String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
