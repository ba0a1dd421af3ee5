package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.StormApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.CProgram;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Connection storms in forked JVMs with the agent on every JDK ({@link StormApp}): 8 platform threads opening and
 * closing connections as fast as they can for {@value #SECONDS} s — on JDK 21+ with 8 virtual threads doing the same
 * alongside, for the same {@value #SECONDS} s — must end (no deadlock), leave exactly as many descriptors open as
 * before (counted in {@code /proc/PID/fd} from outside), and leave the agent's heap as it was: the instances of the
 * agent's classes, counted by the JVM's own heap histogram after a full collection ({@code jcmd GC.class_histogram}),
 * do not grow with the number of connections, nor does the live heap as a whole. A storm in a sandbox that refuses TCP_USER_TIMEOUT shows the agent's
 * failure log counted and rate-limited.
 */
class StormIT {

    static final int SECONDS = 30;
    static final int THREADS = 8;
    /** Agent objects that may come and go between two quiet moments (lazily created singletons, not connections). */
    static final int HEAP_SLACK = 32;
    /**
     * Growth of the whole live heap allowed over a storm of some 400,000 connections: 5 bytes kept per connection
     * would exceed it. What does grow legitimately is the table of the agent's weak map of replaced values, sized by
     * the most sockets that had an entry at one time, which never shrinks (128 KiB measured).
     */
    static final long LIVE_HEAP_SLACK = 2L << 20;

    @TestFactory
    List<DynamicTest> aStormLeavesNoDescriptorsNoMemoryAndNoDeadlock() {
        return PerJdk.tests(jdk -> {
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(StormApp.class.getName())
                    .args(Integer.toString(SECONDS), Integer.toString(THREADS))
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=warn");
            if (jdk.major() >= 21) {
                jvm.args("--virtual");
            }
            try (ForkedJvm.Running running = jvm.start()) {
                running.awaitLine("WARM"::equals, Duration.ofSeconds(60));
                // the histogram first: the JVM opens its attach listener's socket at the first jcmd
                Histogram heapBefore = histogram(jdk, running.pid());
                int descriptorsBefore = descriptors(running.pid());
                running.sendLine("go");
                String quiet = running.awaitLine(l -> l.startsWith("QUIET ") || l.startsWith("STUCK "),
                        Duration.ofSeconds(SECONDS + 90));
                assertTrue(quiet.startsWith("QUIET "), "a storm thread never finished\n" + running.describe());
                Histogram heapAfter = histogram(jdk, running.pid());
                int descriptorsAfter = descriptors(running.pid());
                running.sendLine("done");
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());

                long connections = Long.parseLong(quiet.substring("QUIET connections=".length()));
                System.out.println("[storm] JDK " + jdk.major() + ": " + connections + " connections in " + SECONDS
                        + " s by " + THREADS + (jdk.major() >= 21 ? " platform and " + THREADS + " virtual" : "")
                        + " threads; descriptors " + descriptorsBefore + " -> " + descriptorsAfter
                        + "; live heap " + heapBefore.liveBytes + " -> " + heapAfter.liveBytes + " bytes; agent instances "
                        + total(heapBefore.agent) + " -> " + total(heapAfter.agent) + " " + heapAfter.agent);
                assertTrue(connections >= 1_000, "the storm ran: " + quiet);
                assertEquals(List.of(), running.stdoutLines().stream().filter(l -> l.startsWith("SEEN "))
                        .collect(Collectors.toList()), "the application saw no exception");
                assertEquals(descriptorsBefore, descriptorsAfter, "descriptors open before and after the storm");
                assertTrue(total(heapAfter.agent) <= total(heapBefore.agent) + HEAP_SLACK,
                        "the agent's instances grew: " + heapBefore.agent + " -> " + heapAfter.agent);
                // the weak map of replaced application values holds nothing for closed, collected sockets
                assertTrue(heapAfter.agent.getOrDefault("io.tcphardening.agent.harden.OverrideNotes$Note", 0L) <= 2,
                        heapAfter.agent.toString());
                assertTrue(heapAfter.liveBytes <= heapBefore.liveBytes + LIVE_HEAP_SLACK,
                        "live heap " + heapBefore.liveBytes + " -> " + heapAfter.liveBytes);
                assertFalse(running.stderr().contains(" WARN: ") || running.stderr().contains(" ERROR: "),
                        running.describe());
            }
        });
    }

    /**
     * A kernel that refuses TCP_USER_TIMEOUT (a seccomp sandbox, {@code refuse_option.c}): every connection of a
     * short storm fails to take it, and the application never notices. The log has one line per kind of failure,
     * which says that further ones are counted, and at exit one summary per kind with the count, not one line per
     * failure.
     */
    @TestFactory
    List<DynamicTest> failuresAreCountedAndRateLimited() {
        return PerJdk.tests(jdk -> {
            ForkedJvm.Result result = ForkedJvm.on(jdk)
                    .launchedBy(CProgram.binary("refuse_option").toString(), "6", "18", "--")
                    .classpath(AgentJar.testClasses()).mainClass(StormApp.class.getName())
                    .args("2", "4", "--unattended")
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=warn")
                    .run(Duration.ofSeconds(90));
            Assumptions.assumeFalse(result.exitCode == 3 && result.stderr.contains("cannot install the seccomp filter"),
                    "no seccomp filters here: " + result.stderr.trim());
            assertEquals(0, result.exitCode, result.toString());
            assertFalse(result.stdout.contains("SEEN "), "the application saw no exception\n" + result);
            String quiet = result.stdout.lines().filter(l -> l.startsWith("QUIET ")).findFirst().orElseThrow();
            long connections = Long.parseLong(quiet.substring("QUIET connections=".length()));

            List<String> warnings = result.stderr.lines().filter(l -> l.contains(" WARN: ")).collect(Collectors.toList());
            // the option the kernel refuses is reported once, whatever the socket kind, then summarised
            List<String> first = warnings.stream().filter(l -> l.contains("cannot set or read back TCP_USER_TIMEOUT"))
                    .collect(Collectors.toList());
            Pattern summary = Pattern.compile(" WARN: (\\d+) more failures since the last report: (TCP_USER_TIMEOUT)"
                    + " \\((\\d+) in all\\)$");
            Map<String, Long> totals = new TreeMap<>();
            for (String line : warnings) {
                Matcher matcher = summary.matcher(line);
                if (matcher.find()) {
                    totals.put(matcher.group(2), Long.parseLong(matcher.group(3)));
                }
            }
            System.out.println("[storm] JDK " + jdk.major() + " refusing TCP_USER_TIMEOUT: " + connections
                    + " connections, " + warnings.size() + " warning lines, failures counted " + totals);
            assertEquals(1, first.size(), "one line for the refused option\n" + result);
            assertTrue(first.get(0).contains("further failures of this kind are counted"), result.toString());
            // at exit, one summary with the total
            assertEquals(1, totals.size(), "one summary\n" + result);
            assertEquals(warnings.size(), first.size() + totals.size(), "nothing else was logged\n" + result);
            // every connection end failed at least once (client and accepted)
            assertTrue(totals.values().stream().mapToLong(Long::longValue).sum() >= connections, totals.toString());
        });
    }

    /** Open descriptors of a process, from outside it. */
    private static int descriptors(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Paths.get("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        }
    }

    /** The live heap after a full collection (the histogram forces one), as the JVM itself counts it. */
    private static final class Histogram {
        /** Instances of the agent's classes, by class name. */
        final Map<String, Long> agent = new TreeMap<>();
        long liveBytes;
    }

    private static Histogram histogram(Jdks.Jdk jdk, long pid) throws IOException, InterruptedException {
        Process jcmd = new ProcessBuilder(jdk.home().resolve("bin/jcmd").toString(), Long.toString(pid),
                "GC.class_histogram").redirectErrorStream(true).start();
        String output = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, jcmd.waitFor(), output);
        Histogram histogram = new Histogram();
        for (String line : output.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 4 && fields[3].startsWith("io.tcphardening.")
                    && !fields[3].startsWith("io.tcphardening.it.")) {
                histogram.agent.merge(fields[3], Long.parseLong(fields[1]), Long::sum);
            } else if (fields.length == 3 && fields[0].equals("Total")) {
                histogram.liveBytes = Long.parseLong(fields[2]);
            }
        }
        assertFalse(histogram.agent.isEmpty() || histogram.liveBytes == 0, "a heap histogram\n" + output);
        return histogram;
    }

    private static long total(Map<String, Long> instances) {
        return instances.values().stream().mapToLong(Long::longValue).sum();
    }
}
