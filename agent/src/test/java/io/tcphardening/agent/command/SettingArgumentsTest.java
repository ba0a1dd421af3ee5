package io.tcphardening.agent.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The command line of {@code attach} and {@code inspect} as one agent argument, and what {@code attach} checks before
 * it sends it: only what the JVM's own sources cannot change.
 */
class SettingArgumentsTest {

    @Test
    void aRulesListWithCommasAndAMatchWithCommasStayWhatTheShellGave() throws ConfigException {
        String joined = SettingArguments.join(List.of("rules=db,in", "rule.db.match=connect remote=10.0.0.0/8,fd00::/8"
                + " port=5432,6432", "rule.db.user_timeout=15s", "rule.in.match=accept", "user_timeout=1m"));
        Settings settings = SettingsLoader.load(joined, Map.of(), Map.of(), null);
        assertEquals("db in", settings.ruleNames());
        assertEquals("connect remote=10.0.0.0/8,fd00::/8 port=5432,6432", settings.values().get("rule.db.match"));
        assertEquals("15000ms", settings.values().get("rule.db.user_timeout"));
        assertEquals("60000ms", settings.values().get("user_timeout"));
    }

    @Test
    void aRuleKeyWhoseRuleTheJvmMayListPassesItsValueIsStillChecked() throws ConfigException {
        // the JVM's -Dtcphardening.rules=db and rule.db.match decide whether this is whole; the command cannot see them
        SettingArguments.validate(List.of("rule.db.user_timeout=5s"));
        SettingArguments.validate(List.of("rules=db", "keepalive.idle=30s"));
        ConfigException unit = assertThrows(ConfigException.class,
                () -> SettingArguments.validate(List.of("rule.db.user_timeout=5")));
        assertEquals("agent argument: rule.db.user_timeout = '5' has no unit", unit.getMessage().split(";")[0]);
        ConfigException match = assertThrows(ConfigException.class,
                () -> SettingArguments.validate(List.of("rules=db", "rule.db.match=connect port=0")));
        assertEquals("agent argument: rule.db.match = 'connect port=0' is not valid: port=0 is not a port or range of"
                + " ports (1 to 65535, a range as 8000-8999)", match.getMessage());
        ConfigException plain = assertThrows(ConfigException.class,
                () -> SettingArguments.validate(List.of("rule.db.user_timeout=5s", "keepalive.count=0")));
        assertEquals("agent argument: keepalive.count = '0' is not valid; allowed: a whole number from 1 to 127, or"
                + " unchanged", plain.getMessage());
    }

    @Test
    void whatNoSourceCanMendIsRefusedHere() {
        // rules given here wins over every source of the JVM: a key of a rule it does not list stays an error
        ConfigException unlisted = assertThrows(ConfigException.class,
                () -> SettingArguments.validate(List.of("rules=db", "rule.other.user_timeout=5s")));
        assertEquals("agent argument: rule.other.user_timeout = '5s' belongs to a rule named other, which rules does not"
                + " list (rules = 'db' at agent argument); add it there or remove the key", unlisted.getMessage());
        ConfigException name = assertThrows(ConfigException.class,
                () -> SettingArguments.validate(List.of("rule.DB.user_timeout=5s")));
        assertEquals("agent argument: 'rule.DB.user_timeout' does not name a rule: rule names are lower-case letters,"
                + " digits, '-' and '_' (rule.NAME.match, rule.NAME.user_timeout, ...)", name.getMessage());
    }
}
