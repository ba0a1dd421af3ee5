package io.tcphardening.it.kit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Every thread's stack of a forked JVM, through the JDK's own {@code jcmd}: what a deadlock looks like. */
public final class ThreadDump {

    private ThreadDump() {
    }

    public static String of(Jdks.Jdk jdk, long pid) {
        try {
            Process jcmd = new ProcessBuilder(jdk.home().resolve("bin/jcmd").toString(), Long.toString(pid),
                    "Thread.print").redirectErrorStream(true).start();
            if (!jcmd.waitFor(30, TimeUnit.SECONDS)) {
                jcmd.destroyForcibly();
                return "(jcmd " + pid + " Thread.print did not answer within 30 s)";
            }
            return new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no thread dump: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(no thread dump: interrupted)";
        }
    }

    /**
     * Waits for a line like {@link ForkedJvm.Running#awaitLine}; if none comes in time (a deadlock), fails with the
     * JVM's thread dump taken before it is killed.
     */
    public static String awaitLine(Jdks.Jdk jdk, ForkedJvm.Running running, Predicate<String> matching,
                                   Duration timeout) {
        try {
            return running.awaitLine(matching, timeout);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n--- thread dump\n" + of(jdk, running.pid()), e);
        }
    }
}
