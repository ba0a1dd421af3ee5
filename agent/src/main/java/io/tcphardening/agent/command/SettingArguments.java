package io.tcphardening.agent.command;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code key=value} arguments of {@code attach} and {@code inspect}, which become one agent argument: the shell
 * already separated them, and joining them with commas must not split them differently. A match's commas survive the
 * agent argument reader; {@code rules} lists its names with spaces there, so commas between them become spaces.
 */
final class SettingArguments {

    private static final String RULES = "rules";

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

    private static String key(String argument) {
        int eq = argument.indexOf('=');
        return (eq < 0 ? argument : argument.substring(0, eq)).trim();
    }
}
