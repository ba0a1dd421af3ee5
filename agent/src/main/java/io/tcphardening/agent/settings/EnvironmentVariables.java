package io.tcphardening.agent.settings;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The process's environment variables whose names start with a prefix, read from {@code /proc/self/environ}.
 *
 * <p>Why not {@code System.getenv()}: its first use decodes the whole environment into eleven classes that are not in
 * the JDK's class-data archive, about 2 ms of every JVM's start (more with the hundreds of variables of a container),
 * for the few variables the agent looks at. The file holds the environment the process was started with, which is
 * what {@code System.getenv()} returns too. If a variable with the prefix is not ASCII, or there is no such file (not
 * Linux), {@code System.getenv()} answers instead, decoding exactly as the JDK does.
 */
public final class EnvironmentVariables {

    private static final String FILE = "/proc/self/environ";

    private EnvironmentVariables() {
    }

    public static Map<String, String> withPrefix(String prefix) {
        byte[] environ;
        try (InputStream in = new FileInputStream(FILE)) {
            environ = in.readAllBytes();
        } catch (IOException | RuntimeException e) {
            return fromSystem(prefix);
        }
        Map<String, String> variables = new LinkedHashMap<>();
        byte[] wanted = prefix.getBytes(StandardCharsets.US_ASCII);
        for (int start = 0, end; start < environ.length; start = end + 1) {
            end = start;
            while (end < environ.length && environ[end] != 0) {
                end++;
            }
            if (!startsWith(environ, start, end, wanted)) {
                continue;
            }
            int equals = start;
            while (equals < end && environ[equals] != '=') {
                equals++;
            }
            if (equals == end) {
                continue;  // no value: not a variable System.getenv() would show
            }
            if (!isAscii(environ, start, end)) {
                return fromSystem(prefix);
            }
            variables.put(new String(environ, start, equals - start, StandardCharsets.US_ASCII),
                    new String(environ, equals + 1, end - equals - 1, StandardCharsets.US_ASCII));
        }
        return variables;
    }

    private static Map<String, String> fromSystem(String prefix) {
        Map<String, String> variables = new LinkedHashMap<>();
        for (Map.Entry<String, String> variable : System.getenv().entrySet()) {
            if (variable.getKey().startsWith(prefix)) {
                variables.put(variable.getKey(), variable.getValue());
            }
        }
        return variables;
    }

    private static boolean startsWith(byte[] bytes, int start, int end, byte[] prefix) {
        if (end - start < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[start + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAscii(byte[] bytes, int start, int end) {
        for (int i = start; i < end; i++) {
            if (bytes[i] < 0) {
                return false;
            }
        }
        return true;
    }
}
