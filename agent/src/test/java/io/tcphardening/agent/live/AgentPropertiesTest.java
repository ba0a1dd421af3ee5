package io.tcphardening.agent.live;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The settings the agent publishes for {@code inspect} are read back by the agent argument reader as the same
 * configuration: rules whose matches hold commas, spaces, IPv6 addresses and ranges included.
 */
class AgentPropertiesTest {

    @Test
    void publishedSettingsReadBackAsTheSameConfiguration() throws ConfigException {
        Map<String, String> properties = new LinkedHashMap<>();
        // as system properties, where rules may be separated by commas and nothing else is split
        properties.put("tcphardening.keepalive.idle", "61s");
        properties.put("tcphardening.user_timeout", "unchanged");
        properties.put("tcphardening.app.values", "stricter");
        properties.put("tcphardening.rules", "db,inbound  sidecar");
        properties.put("tcphardening.rule.db.match", "connect remote=10.0.0.0/8,fd00::/8 port=5432,6000-6432"
                + " host=db-*.example,*.db");
        properties.put("tcphardening.rule.db.keepalive.idle", "10s");
        properties.put("tcphardening.rule.db.app.values", "replace");
        properties.put("tcphardening.rule.inbound.match", "accept   local-port=8443,9000-9001");
        properties.put("tcphardening.rule.inbound.user_timeout", "5m");
        properties.put("tcphardening.rule.sidecar.match", "remote=127.0.0.0/8,::1");
        for (String option : new String[] {"keepalive", "keepalive.idle", "keepalive.interval", "keepalive.count",
            "user_timeout"}) {
            properties.put("tcphardening.rule.sidecar." + option, "unchanged");
        }
        Settings published = SettingsLoader.load(null, properties, Map.of(), null);

        String arguments = AgentProperties.asArguments(published);
        assertEquals("keepalive=true,keepalive.idle=61s,keepalive.interval=10s,keepalive.count=6,"
                + "user_timeout=unchanged,keepalive.jitter=0%,app.values=stricter,rules=db inbound sidecar,"
                + "rule.db.match=connect remote=10.0.0.0/8,fd00::/8 port=5432,6000-6432 host=db-*.example,*.db,"
                + "rule.db.keepalive.idle=10s,rule.db.app.values=replace,"
                + "rule.inbound.match=accept local-port=8443,9000-9001,rule.inbound.user_timeout=300000ms,"
                + "rule.sidecar.match=remote=127.0.0.0/8,::1,rule.sidecar.keepalive=unchanged,"
                + "rule.sidecar.keepalive.idle=unchanged,rule.sidecar.keepalive.interval=unchanged,"
                + "rule.sidecar.keepalive.count=unchanged,rule.sidecar.user_timeout=unchanged", arguments);

        Settings read = SettingsLoader.load(arguments, Map.of(), Map.of(), null);
        Map<String, String> expected = new LinkedHashMap<>(published.values());
        Map<String, String> actual = new LinkedHashMap<>(read.values());
        expected.keySet().removeIf(key -> key.startsWith("log."));
        actual.keySet().removeIf(key -> key.startsWith("log."));
        assertEquals(expected, actual);
    }

    @Test
    void readBackSettingsDecideConnectionsAsTheOriginal() throws Exception {
        Settings published = SettingsLoader.load("rules=v6 v4,rule.v6.match=connect remote=::1,fd00::/8 port=1-2,7,"
                + "rule.v6.keepalive.count=3,rule.v4.match=remote=127.0.0.2,127.0.0.3,rule.v4.keepalive=false",
                Map.of(), Map.of(), null);
        Settings read = SettingsLoader.load(AgentProperties.asArguments(published), Map.of(), Map.of(), null);
        Object[][] connections = {
            {false, "::1", 7, "v6"}, {false, "::1", 3, "default"}, {true, "::1", 7, "default"},
            {true, "127.0.0.3", 80, "v4"}, {false, "127.0.0.1", 80, "default"},
        };
        for (Object[] c : connections) {
            InetAddress remote = InetAddress.getByName((String) c[1]);
            assertEquals(c[3], read.decide((Boolean) c[0], remote, (Integer) c[2], -1, null).rule());
            assertEquals(published.decide((Boolean) c[0], remote, (Integer) c[2], -1, null).toString(),
                    read.decide((Boolean) c[0], remote, (Integer) c[2], -1, null).toString());
        }
    }
}
