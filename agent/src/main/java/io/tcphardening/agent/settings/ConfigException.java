package io.tcphardening.agent.settings;

/**
 * An operator's configuration mistake. Its message is complete and meant for the operator as it is: where the value
 * came from, the key, the value, and what is allowed. It never carries a stack trace to the operator.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The exit status of a JVM (or command) stopped by a configuration mistake. */
    public static final int EXIT_STATUS = 2;

    public ConfigException(String message) {
        super(message, null, false, false);
    }
}
