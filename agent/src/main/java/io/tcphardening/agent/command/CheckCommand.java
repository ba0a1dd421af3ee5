package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.AppValues;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.EnvironmentVariables;
import io.tcphardening.agent.settings.Rule;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code check [--strict] [config=PATH] [key=value ...] [--explain CONNECTION]}: validates a configuration exactly as
 * the agent would, from the same sources, and prints the effective settings, each rule, the worst-case detection
 * times of each, and the warnings ({@link ConfigWarnings}). With {@code --explain} it prints instead what the agent
 * would do to one connection ({@link Explanation}), then the warnings: the exit status means the same either way.
 */
final class CheckCommand {

    /** {@code --strict}: the configuration is valid, but warnings were printed. */
    private static final int WARNINGS_STATUS = 1;

    static final String EXPLAIN = "--explain";

    private CheckCommand() {
        // no instances
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        boolean strict = false;
        List<String> settingArgs = new ArrayList<>();
        List<String> explain = null;
        for (String arg : args) {
            if (arg.equals("--strict")) {
                strict = true;
            } else if (explain != null) {
                explain.add(arg);  // the connection is the rest of the line
            } else if (arg.equals(EXPLAIN)) {
                explain = new ArrayList<>();
            } else {
                settingArgs.add(arg);
            }
        }
        Explanation explanation = null;
        if (explain != null) {
            try {
                explanation = Explanation.parse(explain);
            } catch (IllegalArgumentException e) {
                // the same status as invalid settings: nothing can be answered
                err.println("tcp-hardening-agent: invalid " + EXPLAIN + ": " + e.getMessage());
                return ConfigException.EXIT_STATUS;
            }
        }
        Settings settings;
        try {
            settings = SettingsLoader.load(SettingArguments.join(settingArgs), SettingsLoader.systemProperties(),
                    EnvironmentVariables.withPrefix(SettingsLoader.ENV_PREFIX), Cli.agentDirectory());
        } catch (ConfigException e) {
            err.println("tcp-hardening-agent: invalid configuration: " + e.getMessage());
            return ConfigException.EXIT_STATUS;
        }
        KernelDefaults kernel = KernelDefaults.ofThisMachine();
        List<String> warnings = ConfigWarnings.of(settings, new DeadPeerDetection(settings.defaults(), kernel));
        if (explanation != null) {
            for (String line : explanation.lines(settings, kernel)) {
                out.println(line);
            }
        } else {
            report(settings, kernel, out);
        }
        for (String warning : warnings) {
            out.println("warning: " + warning);
        }
        if (warnings.isEmpty() && explanation == null) {
            out.println("no warnings");
        }
        if (explanation == null) {
            for (String note : ConfigWarnings.notes(settings)) {
                out.println("note: " + note);
            }
        }
        return strict && !warnings.isEmpty() ? WARNINGS_STATUS : 0;
    }

    /** The settings, their detection times, and each rule with its own. */
    private static void report(Settings settings, KernelDefaults kernel, PrintStream out) {
        out.println("valid: " + settings.describe().replace(", ", "\n       "));
        out.println("worst case to notice a dead peer (Linux), from the last time it was heard:");
        for (String line : detection(settings.defaults(), kernel)) {
            out.println("  " + line);
        }
        if (!settings.hasRules()) {
            return;
        }
        out.println("rules = " + settings.ruleNames() + " (" + settings.sources().get("rules") + "), tried in this"
                + " order: the first that matches decides; a connection none matches gets the settings above");
        List<String> descriptions = settings.describeRules();
        for (int i = 0; i < descriptions.size(); i++) {
            out.println("  " + descriptions.get(i));
            for (String line : detection(settings.rules().get(i).decision(), kernel)) {
                out.println("    " + line);
            }
        }
    }

    /** The idle and busy lines of one decision, and what its policy does to them. */
    static List<String> detection(Decision decision, KernelDefaults kernel) {
        DeadPeerDetection detection = new DeadPeerDetection(decision, kernel);
        List<String> lines = new ArrayList<>();
        lines.add("idle connection: " + detection.idle());
        lines.add("busy connection: " + detection.busy());
        if (decision.appValues() == AppValues.KEEP) {
            lines.add("app.values=keep: where the application sets an option itself, its value stands, and these"
                    + " times with it do not hold");
        }
        return lines;
    }

    /** "rule.db.match = 'connect port=5432' (/etc/app/agent.properties:2)": a rule's match as the operator gave it. */
    static String matchAsGiven(Rule rule, Map<String, String> sources) {
        String key = rule.key("match");
        return key + " = " + SettingsLoader.quote(rule.match().toString()) + " (" + sources.get(key) + ")";
    }
}
