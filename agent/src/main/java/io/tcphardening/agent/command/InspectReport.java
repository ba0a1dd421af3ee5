package io.tcphardening.agent.command;

import io.tcphardening.agent.live.AgentProperties;
import io.tcphardening.agent.live.ProcTcpSockets;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code inspect} found: one row per TCP socket with the kernel's five values and what differs from the settings
 * compared with; written as a table for people or as one JSON object with stable field names for tools.
 *
 * <p>JSON: {@code pid}, {@code jvm}, {@code agent} ({@code loaded}, {@code version}, {@code note}),
 * {@code compared_with} ({@code agent}, {@code command line} or {@code defaults}), {@code settings} (the five values,
 * null where {@code unchanged}), {@code sockets} (each {@code fd}, {@code state}, {@code listening}, {@code local},
 * {@code remote}, the five values, {@code matches}, {@code differs}: keys of the options that differ) and
 * {@code skipped} ({@code fd}, {@code reason}). The five values: {@code keepalive} (boolean),
 * {@code keepalive_idle_s}, {@code keepalive_interval_s}, {@code keepalive_count}, {@code user_timeout_ms}.
 */
final class InspectReport {

    static final String AGENT = "agent";
    static final String COMMAND_LINE = "command line";
    static final String DEFAULTS = "defaults";
    /**
     * The agent may run there, but its settings could not be read (attach refused) and none were given: comparing
     * with the defaults would report differences from values that are not in force.
     */
    static final String NOTHING = "nothing";

    private static final class Row {
        final ProcTcpSockets.Entry socket;
        final int[] values;
        /** Null when not compared. */
        final List<String> differs;

        Row(ProcTcpSockets.Entry socket, int[] values, List<String> differs) {
            this.socket = socket;
            this.values = values;
            this.differs = differs;
        }
    }

    private final long pid;
    private final boolean jvm;
    /** The agent's version where it runs in the process, else null. */
    private final String agentVersion;
    private final String agentNote;
    private final String comparedWith;
    /** Null when compared with {@link #NOTHING}. */
    private final Settings settings;
    private final List<Row> rows = new ArrayList<>();
    private final List<String[]> skipped = new ArrayList<>();

    InspectReport(long pid, boolean jvm, String agentVersion, String agentNote, String comparedWith,
                  Settings settings) {
        this.pid = pid;
        this.jvm = jvm;
        this.agentVersion = agentVersion;
        this.agentNote = agentNote;
        this.comparedWith = comparedWith;
        this.settings = settings;
    }

    void socket(ProcTcpSockets.Entry socket, int[] kernel) {
        int[] values = kernel.clone();
        values[TcpOption.KEEPALIVE.ordinal()] = values[TcpOption.KEEPALIVE.ordinal()] != 0 ? 1 : 0;
        List<String> differs = settings == null ? null : new ArrayList<>();
        for (TcpOption option : TcpOption.ALL) {
            if (settings != null && settings.isSet(option) && settings.value(option) != values[option.ordinal()]) {
                differs.add(option.key);
            }
        }
        rows.add(new Row(socket, values, differs));
    }

    void skipped(ProcTcpSockets.Entry socket, String reason) {
        skipped.add(new String[] {Integer.toString(socket.fd), reason});
    }

    String text() {
        StringBuilder text = new StringBuilder();
        text.append("process ").append(pid).append(": ")
                .append(agentVersion == null ? agentNote : "tcp-hardening-agent " + agentVersion + " is loaded");
        if (settings == null) {
            text.append("; not compared with any settings (give them as key=value or config=PATH to compare)\n");
        } else {
            text.append("; compared with ").append(comparedWith.equals(AGENT) ? "its settings" : "the " + comparedWith)
                    .append(": ").append(AgentProperties.asArguments(settings).replace(',', ' ')).append('\n');
        }
        text.append(String.format("%5s  %-12s %-28s %-28s %-9s %6s %6s %3s %10s  %s%n", "FD", "STATE", "LOCAL",
                "REMOTE", "KEEPALIVE", "IDLE", "INTVL", "CNT", "USER_TMO", "MATCH"));
        int matching = 0;
        for (Row row : rows) {
            int[] v = row.values;
            text.append(String.format("%5d  %-12s %-28s %-28s %-9s %5ds %5ds %3d %8dms  %s%n", row.socket.fd,
                    row.socket.state, ProcTcpSockets.format(row.socket.local), ProcTcpSockets.format(row.socket.remote),
                    v[TcpOption.KEEPALIVE.ordinal()] != 0 ? "on" : "off", v[TcpOption.KEEPIDLE.ordinal()],
                    v[TcpOption.KEEPINTVL.ordinal()], v[TcpOption.KEEPCNT.ordinal()],
                    v[TcpOption.USER_TIMEOUT.ordinal()],
                    row.differs == null ? "?"
                            : row.differs.isEmpty() ? "yes" : "no: " + String.join(", ", row.differs)));
            matching += row.differs != null && row.differs.isEmpty() ? 1 : 0;
        }
        for (String[] skip : skipped) {
            text.append(String.format("%5s  skipped: %s%n", skip[0], skip[1]));
        }
        text.append(rows.size()).append(" TCP sockets: ");
        if (settings == null) {
            text.append("not compared, the agent's settings there could not be read");
        } else {
            text.append(matching).append(" match, ").append(rows.size() - matching).append(" differ");
        }
        if (!skipped.isEmpty()) {
            text.append(", ").append(skipped.size()).append(" skipped");
        }
        return text.append('\n').toString();
    }

    String json() {
        StringBuilder json = new StringBuilder("{\"pid\":").append(pid).append(",\"jvm\":").append(jvm);
        json.append(",\"agent\":{\"loaded\":").append(agentVersion != null).append(",\"version\":");
        string(json, agentVersion).append(",\"note\":");
        string(json, agentNote).append("},\"compared_with\":");
        string(json, comparedWith).append(",\"settings\":");
        if (settings == null) {
            json.append("null");
        } else {
            json.append('{');
            for (TcpOption option : TcpOption.ALL) {
                json.append(option.ordinal() == 0 ? "" : ",");
                value(json, option, settings.isSet(option) ? settings.value(option) : null);
            }
            json.append('}');
        }
        json.append(",\"sockets\":[");
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            json.append(i == 0 ? "" : ",").append("{\"fd\":").append(row.socket.fd).append(",\"state\":");
            string(json, row.socket.state).append(",\"listening\":").append(row.socket.listening())
                    .append(",\"local\":");
            string(json, ProcTcpSockets.format(row.socket.local)).append(",\"remote\":");
            string(json, row.socket.remote == null ? null : ProcTcpSockets.format(row.socket.remote));
            for (TcpOption option : TcpOption.ALL) {
                json.append(',');
                value(json, option, row.values[option.ordinal()]);
            }
            if (row.differs == null) {
                json.append(",\"matches\":null,\"differs\":null}");
                continue;
            }
            json.append(",\"matches\":").append(row.differs.isEmpty()).append(",\"differs\":[");
            for (int d = 0; d < row.differs.size(); d++) {
                string(json.append(d == 0 ? "" : ","), row.differs.get(d));
            }
            json.append("]}");
        }
        json.append("],\"skipped\":[");
        for (int i = 0; i < skipped.size(); i++) {
            json.append(i == 0 ? "" : ",").append("{\"fd\":").append(skipped.get(i)[0]).append(",\"reason\":");
            string(json, skipped.get(i)[1]).append('}');
        }
        return json.append("]}\n").toString();
    }

    /** The JSON name of an option's value, with its unit. */
    static String jsonName(TcpOption option) {
        switch (option) {
            case KEEPALIVE:
                return "keepalive";
            case KEEPIDLE:
                return "keepalive_idle_s";
            case KEEPINTVL:
                return "keepalive_interval_s";
            case KEEPCNT:
                return "keepalive_count";
            default:
                return "user_timeout_ms";
        }
    }

    private static void value(StringBuilder json, TcpOption option, Integer value) {
        json.append('"').append(jsonName(option)).append("\":");
        if (value == null) {
            json.append("null");
        } else if (option == TcpOption.KEEPALIVE) {
            json.append(value != 0);
        } else {
            json.append(value);
        }
    }

    private static StringBuilder string(StringBuilder json, String text) {
        if (text == null) {
            return json.append("null");
        }
        json.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                json.append('\\').append(c);
            } else if (c < 0x20) {
                json.append(String.format("\\u%04x", (int) c));
            } else {
                json.append(c);
            }
        }
        return json.append('"');
    }
}
