package io.tcphardening.agent;

/**
 * An operator's configuration mistake. Its message is complete and meant for the operator as it is: where the value
 * came from, the key, the value, and what is allowed. It never carries a stack trace to the operator.
 */
final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    ConfigException(String message) {
        super(message, null, false, false);
    }
}
