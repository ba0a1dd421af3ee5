package io.tcphardening.bench;

import java.lang.instrument.Instrumentation;

/** The floor of any {@code -javaagent}: a premain that does nothing, in a jar of one class. */
public final class NoopAgent {

    private NoopAgent() {
    }

    public static void premain(String args, Instrumentation inst) {
        // nothing: what remains is the cost of -javaagent itself
    }
}
