package io.tcphardening.agent.command;

import io.tcphardening.agent.live.ProcTcpSockets;
import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.Rule;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code inspect} found: one row per TCP socket with the kernel's five values and what differs from the settings
 * compared with; written as a table for people or as one JSON object with stable field names for tools.
 *
 * <p>Each socket is compared with the values the agent gives it: a connection with those of the first rule that
 * matches it, decided as the agent decides (accepted when its local port is one of the process's listeners'; no host
 * name is known from {@code /proc}, so a rule with {@code host=} matches none here), else with the global settings,
 * as a listener is. An option a rule leaves {@code unchanged} is not compared; a socket whose rule leaves all five
 * unchanged is shown as left alone and counts as matching. Under {@code app.values} a value the application could have
 * set and the agent would let stand is no difference: with {@code stricter} a stricter one, with {@code keep} any.
 * With rules, a socket that is not connected yet is not compared: its rule is decided when it connects.
 *
 * <p>JSON: {@code pid}, {@code jvm}, {@code agent} ({@code loaded}, {@code version}, {@code note}),
 * {@code compared_with} ({@code agent}, {@code command line}, {@code defaults} or {@code nothing}), {@code settings}
 * (null when compared with nothing: the five values, null where {@code unchanged}; {@code app_values}; {@code rules}
 * in the order they are tried, each {@code name}, {@code match}, the five values it gives, {@code app_values} and
 * {@code left_alone}), {@code sockets} (each {@code fd}, {@code state}, {@code listening}, {@code local},
 * {@code remote}, the five values, {@code rule}: the name of the rule compared with, {@code default} for the global
 * settings, null when not compared; {@code left_alone}; {@code matches}; {@code differs}: keys of the options that
 * differ; the last three null when not compared) and {@code skipped} ({@code fd}, {@code reason}). The five values:
 * {@code keepalive} (boolean), {@code keepalive_idle_s}, {@code keepalive_interval_s}, {@code keepalive_count},
 * {@code user_timeout_ms}.
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
        final Decision decision;
        /** Null when not compared. */
        final List<String> differs;

        Row(ProcTcpSockets.Entry socket, int[] values, Decision decision, List<String> differs) {
            this.socket = socket;
            this.values = values;
            this.decision = decision;
            this.differs = differs;
        }

        boolean leftAlone() {
            return decision != null && decision.leavesAlone();
        }

        /** A socket left alone matches: its rule sets nothing that could differ. */
        boolean matches() {
            return differs != null && differs.isEmpty();
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

    /** keepalive.jitter: an idle time spread below the configured one, as far as the jitter allows, matches it. */
    private boolean spreadIdle(TcpOption option, int value, Decision decision) {
        int idle = decision.value(option);
        int range = settings.keepaliveJitterRange(idle);
        return option == TcpOption.KEEPIDLE && range > 0 && value <= idle && value >= idle - range;
    }

    /** One socket; {@code accepted}: a connection whose local port is one of the process's listeners'. */
    void socket(ProcTcpSockets.Entry socket, boolean accepted, int[] kernel) {
        int[] values = kernel.clone();
        values[TcpOption.KEEPALIVE.ordinal()] = values[TcpOption.KEEPALIVE.ordinal()] != 0 ? 1 : 0;
        Decision decision = decision(socket, accepted);
        List<String> differs = decision == null ? null : new ArrayList<>();
        for (TcpOption option : TcpOption.ALL) {
            int value = values[option.ordinal()];
            // hold: the value the agent would leave the socket with had the application set this one itself
            if (decision != null && decision.isSet(option) && decision.hold(option, value) != value
                    && !spreadIdle(option, value, decision)) {
                differs.add(option.key);
            }
        }
        rows.add(new Row(socket, values, decision, differs));
    }

    /** What the agent gives the socket, or null when there is nothing to compare with. */
    private Decision decision(ProcTcpSockets.Entry socket, boolean accepted) {
        if (settings == null) {
            return null;
        }
        if (socket.listening()) {
            return settings.defaults();
        }
        if (socket.remote.getPort() == 0) {
            // not connected: without rules it got the global settings when it was made, with rules none yet
            return settings.hasRules() ? null : settings.defaults();
        }
        return settings.decide(accepted, socket.remote.getAddress(), socket.remote.getPort(),
                accepted ? socket.local.getPort() : -1, null);
    }

    void skipped(ProcTcpSockets.Entry socket, String reason) {
        skipped.add(new String[] {Integer.toString(socket.fd), reason});
    }

    String text() {
        StringBuilder text = new StringBuilder();
        text.append("process ").append(pid).append(": ")
                .append(agentVersion == null ? agentNote : "tcp-hardening-agent " + agentVersion + " is loaded");
        boolean rules = settings != null && settings.hasRules();
        if (settings == null) {
            text.append("; not compared with any settings (give them as key=value or config=PATH to compare)\n");
        } else {
            text.append("; compared with ").append(comparedWith.equals(AGENT) ? "its settings" : "the " + comparedWith)
                    .append(": ").append(describe(settings)).append('\n');
        }
        int ruleWidth = "default".length();
        for (Rule rule : rules ? settings.rules() : List.<Rule>of()) {
            ruleWidth = Math.max(ruleWidth, rule.name().length());
        }
        String ruleColumn = rules ? " %-" + ruleWidth + "s " : "%s";
        text.append(String.format("%5s  %-12s %-28s %-28s %-9s %6s %6s %3s %10s " + ruleColumn + " %s%n", "FD",
                "STATE", "LOCAL", "REMOTE", "KEEPALIVE", "IDLE", "INTVL", "CNT", "USER_TMO", rules ? "RULE" : "",
                "MATCH"));
        int matching = 0;
        int differing = 0;
        int leftAlone = 0;
        for (Row row : rows) {
            int[] v = row.values;
            String match = row.differs == null ? (rules ? "? (not connected: no rule yet)" : "?")
                    : row.leftAlone() ? "left alone"
                    : row.differs.isEmpty() ? "yes" : "no: " + String.join(", ", row.differs);
            text.append(String.format("%5d  %-12s %-28s %-28s %-9s %5ds %5ds %3d %8dms " + ruleColumn + " %s%n",
                    row.socket.fd, row.socket.state, ProcTcpSockets.format(row.socket.local),
                    ProcTcpSockets.format(row.socket.remote), v[TcpOption.KEEPALIVE.ordinal()] != 0 ? "on" : "off",
                    v[TcpOption.KEEPIDLE.ordinal()], v[TcpOption.KEEPINTVL.ordinal()], v[TcpOption.KEEPCNT.ordinal()],
                    v[TcpOption.USER_TIMEOUT.ordinal()],
                    !rules ? "" : row.decision == null ? "-" : row.decision.rule(), match));
            matching += row.matches() ? 1 : 0;
            differing += row.differs != null && !row.differs.isEmpty() ? 1 : 0;
            leftAlone += row.leftAlone() ? 1 : 0;
        }
        for (String[] skip : skipped) {
            text.append(String.format("%5s  skipped: %s%n", skip[0], skip[1]));
        }
        text.append(rows.size()).append(" TCP sockets: ");
        if (settings == null) {
            text.append("not compared, the agent's settings there could not be read");
        } else {
            text.append(matching).append(" match");
            if (leftAlone > 0) {
                text.append(" (").append(leftAlone).append(" left alone by their rule)");
            }
            text.append(", ").append(differing).append(" differ");
            int undecided = rows.size() - matching - differing;
            if (undecided > 0) {
                text.append(", ").append(undecided).append(" not connected");
            }
        }
        if (!skipped.isEmpty()) {
            text.append(", ").append(skipped.size()).append(" skipped");
        }
        return text.append('\n').toString();
    }

    /**
     * "keepalive=true keepalive.idle=61s ... app.values=replace; rules, the first that matches decides: db [connect
     * port=5432,6432] keepalive.idle=10s user_timeout=15000ms; sidecar [remote=127.0.0.0/8] left alone".
     */
    static String describe(Settings settings) {
        Map<String, String> values = settings.values();
        StringBuilder text = new StringBuilder();
        for (Map.Entry<String, String> setting : values.entrySet()) {
            String key = setting.getKey();
            if (!key.startsWith("log.") && !key.startsWith("rule")) {
                text.append(text.length() == 0 ? "" : " ").append(key).append('=').append(setting.getValue());
            }
        }
        if (!settings.hasRules()) {
            return text.toString();
        }
        text.append("; rules, the first that matches decides:");
        for (Rule rule : settings.rules()) {
            String prefix = rule.key("");
            text.append(' ').append(rule.name()).append(" [").append(rule.match()).append(']');
            if (rule.decision().leavesAlone()) {
                text.append(" left alone;");
                continue;
            }
            for (Map.Entry<String, String> setting : values.entrySet()) {
                String key = setting.getKey();
                if (key.startsWith(prefix) && !key.equals(rule.key("match"))) {
                    text.append(' ').append(key.substring(prefix.length())).append('=').append(setting.getValue());
                }
            }
            text.append(';');
        }
        text.setLength(text.length() - 1);
        return text.toString();
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
            json.append(",\"app_values\":");
            string(json, settings.appValues().key()).append(",\"rules\":[");
            List<Rule> rules = settings.rules();
            for (int i = 0; i < rules.size(); i++) {
                Rule rule = rules.get(i);
                json.append(i == 0 ? "{\"name\":" : ",{\"name\":");
                string(json, rule.name()).append(",\"match\":");
                string(json, rule.match().toString());
                Decision decision = rule.decision();
                for (TcpOption option : TcpOption.ALL) {
                    json.append(',');
                    value(json, option, decision.isSet(option) ? decision.value(option) : null);
                }
                json.append(",\"app_values\":");
                string(json, decision.appValues().key()).append(",\"left_alone\":").append(decision.leavesAlone())
                        .append('}');
            }
            json.append("]}");
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
            json.append(",\"rule\":");
            string(json, row.decision == null ? null : row.decision.rule());
            if (row.differs == null) {
                json.append(",\"left_alone\":null,\"matches\":null,\"differs\":null}");
                continue;
            }
            json.append(",\"left_alone\":").append(row.leftAlone()).append(",\"matches\":").append(row.matches())
                    .append(",\"differs\":[");
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
