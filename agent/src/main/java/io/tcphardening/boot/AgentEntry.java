package io.tcphardening.boot;

import java.lang.instrument.Instrumentation;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The agent's entry points: {@code premain} ({@code -javaagent:}), {@code agentmain} (attach) and {@code main}
 * ({@code java -jar tcp-hardening-agent.jar ...}).
 *
 * <p>This class and {@link AgentClassLoader} are the only agent classes the application's class loader can see. Rules:
 * load nothing else here, delegate at once to {@code io.tcphardening.agent.Agent} inside the agent's own class loader,
 * and never let an exception escape: an exception out of {@code premain} aborts the application's start.
 */
public final class AgentEntry {

    private AgentEntry() {
        // no instances
    }

    public static void premain(String args, Instrumentation inst) {
        start(args, inst, false);
    }

    public static void agentmain(String args, Instrumentation inst) {
        start(args, inst, true);
    }

    public static void main(String[] args) {
        int status;
        try {
            status = (Integer) AgentClassLoader.get(jarPath()).agent().apply("main", new Object[] {args});
        } catch (Throwable t) {
            System.err.println("tcp-hardening-agent: " + t);
            status = 1;
        }
        System.exit(status);
    }

    private static void start(String args, Instrumentation inst, boolean live) {
        try {
            Path jar = jarPath();
            AgentClassLoader.get(jar).agent().apply("start", new Object[] {args, inst, live, jar});
        } catch (Throwable t) {
            notStarted(t);
        }
    }

    private static Path jarPath() throws URISyntaxException {
        return Paths.get(AgentEntry.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static void notStarted(Throwable t) {
        // The agent is broken, not the application: say so loudly, and let the application run unprotected.
        System.err.println("tcp-hardening-agent: NOT ACTIVE, the application runs without it: " + t);
    }
}
