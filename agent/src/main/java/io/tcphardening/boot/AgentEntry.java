package io.tcphardening.boot;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
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

    private static final String AGENT = "io.tcphardening.agent.Agent";

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
            status = (Integer) agentMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            System.err.println("tcp-hardening-agent: " + e.getCause());
            status = 1;
        } catch (Throwable t) {
            System.err.println("tcp-hardening-agent: " + t);
            status = 1;
        }
        System.exit(status);
    }

    private static void start(String args, Instrumentation inst, boolean live) {
        try {
            agentMethod("start", String.class, Instrumentation.class, boolean.class, Path.class)
                    .invoke(null, args, inst, live, jarPath());
        } catch (InvocationTargetException e) {
            notStarted(e.getCause());
        } catch (Throwable t) {
            notStarted(t);
        }
    }

    private static Method agentMethod(String name, Class<?>... parameters) throws Exception {
        return Class.forName(AGENT, true, AgentClassLoader.get(jarPath())).getMethod(name, parameters);
    }

    private static Path jarPath() throws URISyntaxException {
        return Paths.get(AgentEntry.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private static void notStarted(Throwable t) {
        // The agent is broken, not the application: say so loudly, and let the application run unprotected.
        System.err.println("tcp-hardening-agent: NOT ACTIVE, the application runs without it: " + t);
    }
}
