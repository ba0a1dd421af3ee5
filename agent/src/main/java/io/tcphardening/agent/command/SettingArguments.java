package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.SettingsLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code key=value} arguments of {@code attach} and {@code inspect}, which become one agent argument: the shell
 * already separated them, and joining them with commas must not split them differently. A match's commas survive the
 * agent argument reader; {@code rules} lists its names with spaces there, so commas between them become spaces.
 */
final class SettingArguments {

    private static final String RULES = "rules";
    private static final String RULE_PREFIX = "rule.";

    private SettingArguments() {
        // no instances
    }

    /** The arguments as one agent argument. */
    static String join(List<String> arguments) {
        List<String> items = new ArrayList<>();
        for (String argument : arguments) {
            items.add(key(argument).equals(RULES) ? argument.replace(',', ' ') : argument);
        }
        return String.join(",", items);
    }

    /**
     * Checks what {@code attach} passes before anything reaches the JVM: as a whole where it is complete; else, the
     * rules the command names may take their other keys from the JVM's own sources (its {@code rules} from a system
     * property, say, with one rule's timeout changed here), which only the JVM can see and judge as a whole. So the
     * values given here are checked alone, each rule completed with what it may find there.
     */
    static void validate(List<String> arguments) throws ConfigException {
        try {
            SettingsLoader.load(join(arguments), Map.of(), Map.of(), null);
            return;
        } catch (ConfigException asAWhole) {
            if (arguments.stream().noneMatch(a -> key(a).equals(RULES) || key(a).startsWith(RULE_PREFIX))) {
                throw asAWhole;
            }
        }
        List<String> plain = new ArrayList<>();
        List<String> ruleKeys = new ArrayList<>();
        List<String> names = new ArrayList<>();
        String rules = null;
        for (String argument : arguments) {
            String key = key(argument);
            if (key.equals(RULES)) {
                rules = argument;
            } else if (key.startsWith(RULE_PREFIX)) {
                ruleKeys.add(argument);
                String name = key.substring(RULE_PREFIX.length()).split("\\.", 2)[0];
                if (!names.contains(name)) {
                    names.add(name);
                }
            } else {
                plain.add(argument);
            }
        }
        SettingsLoader.load(join(plain), Map.of(), Map.of(), null);
        List<String> completed = new ArrayList<>();
        if (rules != null) {
            completed.add(rules);
            names.clear();
            for (String name : value(rules).split("[\\s,]+")) {
                if (!name.isEmpty()) {
                    names.add(name);
                }
            }
        } else {
            completed.add(RULES + "=" + String.join(" ", names));
        }
        completed.addAll(ruleKeys);
        for (String name : names) {
            String match = RULE_PREFIX + name + ".match";
            if (name.matches("[a-z0-9_-]{1,64}") && ruleKeys.stream().noneMatch(a -> key(a).equals(match))) {
                completed.add(match + "=connect");  // a stand-in for the match the JVM's sources may have
            }
        }
        SettingsLoader.load(join(completed), Map.of(), Map.of(), null);
    }

    private static String key(String argument) {
        int eq = argument.indexOf('=');
        return (eq < 0 ? argument : argument.substring(0, eq)).trim();
    }

    private static String value(String argument) {
        int eq = argument.indexOf('=');
        return eq < 0 ? "" : argument.substring(eq + 1);
    }
}
