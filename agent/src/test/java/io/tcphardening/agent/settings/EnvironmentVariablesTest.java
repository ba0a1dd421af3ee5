package io.tcphardening.agent.settings;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The environment read from /proc/self/environ against the JDK's own decoding of it. */
class EnvironmentVariablesTest {

    @ParameterizedTest
    @ValueSource(strings = {"", "P", "PATH", "HOME", "TCPHARDENING_", "NO_SUCH_PREFIX_"})
    void sameVariablesAsSystemGetenv(String prefix) {
        Map<String, String> expected = new TreeMap<>();
        System.getenv().forEach((name, value) -> {
            if (name.startsWith(prefix)) {
                expected.put(name, value);
            }
        });
        assertEquals(expected, new TreeMap<>(EnvironmentVariables.withPrefix(prefix)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"PATH"})
    void aVariableEveryTestRunHas(String name) {
        assertFalse(EnvironmentVariables.withPrefix(name).isEmpty(), "the test needs " + name + " in its environment");
    }
}
