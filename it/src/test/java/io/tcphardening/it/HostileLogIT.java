package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.LogPressureApp;
import io.tcphardening.it.kit.AgentCommand;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's log under hostile conditions, as an operator meets them: a log.file that cannot be the log (a FIFO
 * nobody reads, a device, a read-only file system), a full file system, a file shared by several JVMs, rotated under
 * the writer (rename and copytruncate), and a JVM terminated in the middle of a burst of connections. Everything is
 * read from outside the JVMs: their exit status and standard streams, the files with this test's own reads,
 * {@code jcmd} for a JVM's attach listener, and the JDK's own getter for the agent's effect on a socket.
 *
 * <p>The file systems (read-only, full) are small tmpfs mounts of this test's own, unmounted in finally blocks; where
 * mounting is impossible those cases are skipped with a printed reason, the others still run.
 */
class HostileLogIT {

    /** A line of the log file: whole, naming its process. A torn or glued line does not match. */
    private static final Pattern FILE_LINE = Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z tcp-hardening\\[(\\d+)]"
            + " (ERROR|WARN|INFO|DEBUG): \\S.*");
    /**
     * A connection's line, to its end, with the client's port (which the application prints): the local port of a
     * connect, the peer's port of an accept. Anything glued on would break the end of it.
     */
    private static final Pattern CONNECTION = Pattern.compile(".* INFO: Socket (?:connect 127\\.0\\.0\\.1:(\\d+) ->"
            + " 127\\.0\\.0\\.1:\\d+|accept 127\\.0\\.0\\.1:\\d+ <- 127\\.0\\.0\\.1:(\\d+)): keepalive=true"
            + " keepalive\\.idle=60s keepalive\\.interval=10s keepalive\\.count=6 user_timeout=120000ms");
    /** A line of the agent's on standard error: its log there, or one of its own messages. */
    private static final Pattern AGENT_STDERR = Pattern.compile(
            "(tcp-hardening-agent: |\\d{4}-\\d{2}-\\d{2}T\\S+Z tcp-hardening [A-Z]+: ).*");
    private static final String NOT_REGULAR = " is not a regular file (a FIFO, device or socket): the log is written"
            + " to regular files only";
    private static final String NO_SPACE = "No space left on device";
    /**
     * How long a start or an attach may take before the test calls it a hang. Not a speed claim: a FIFO's open blocks
     * for good, any bound catches that; this one is wide because an attach took up to 8 s on a loaded 2-core machine.
     */
    private static final long HANG_MILLIS = 30_000;

    private static long suiteStart;

    @TempDir
    Path temp;

    @BeforeAll
    static void clock() {
        suiteStart = System.nanoTime();
    }

    @AfterAll
    static void time() {
        System.out.println("[hostile-log] HostileLogIT took " + millisSince(suiteStart) + " ms");
    }

    // ---- 1. a log.file that cannot be the log, or a full file system

    private enum Kind { FIFO, DEVICE, READ_ONLY_FILE, READ_ONLY_DIRECTORY }

    /** A path that cannot be the log, and why the agent must say it cannot. */
    private static final class Unusable {
        final Kind kind;
        final String name;
        final Path file;
        final String reason;

        Unusable(Kind kind, String name, Path file, String reason) {
            this.kind = kind;
            this.name = name;
            this.file = file;
            this.reason = reason;
        }
    }

    /**
     * The start goes on with the log on standard error and one WARN line saying why; with {@code log.required=true} it
     * stops with one line and status 2. The file is left as it was: nothing was written to it, not even opened.
     */
    @TestFactory
    List<DynamicTest> aFileThatCannotBeTheLogNeverHoldsUpTheStart() {
        return PerJdk.tests(jdk -> {
            Path dir = Files.createDirectory(temp.resolve("start-" + jdk.major()));
            try (Tmpfs readOnly = Tmpfs.mount(dir.resolve("ro"), "size=1m")) {
                List<Unusable> cases = new ArrayList<>(fifoAndDevice(dir));
                if (readOnly != null) {
                    Path existing = Files.writeString(readOnly.dir.resolve("existing.log"), "an earlier line\n");
                    readOnly.remountReadOnly();
                    cases.add(new Unusable(Kind.READ_ONLY_FILE, "a file on a read-only file system", existing,
                            existing + " is not writable by this process"));
                    cases.add(newFileIn(readOnly));
                }
                for (Unusable unusable : cases) {
                    startsWithTheLogOnStandardError(jdk, unusable);
                    ForkedJvm.Result required = pressure(jdk, "log.file=" + unusable.file + ",log.required=true")
                            .run(Duration.ofSeconds(60));
                    assertEquals(2, required.exitCode, unusable.name + "\n" + required);
                    assertEquals(List.of("tcp-hardening-agent: configuration error, the application was not started:"
                            + " log.file " + unusable.file + " cannot be the log (log.required=true): "
                            + unusable.reason), required.stderr.lines().collect(Collectors.toList()),
                            unusable.name + "\n" + required);
                    assertFalse(required.stdout.contains("READY"), unusable.name + "\n" + required);
                    assertUntouched(unusable);
                }
            }
        });
    }

    private void startsWithTheLogOnStandardError(Jdks.Jdk jdk, Unusable unusable) throws Exception {
        long start = System.nanoTime();
        try (ForkedJvm.Running app = pressure(jdk, "log.file=" + unusable.file).start()) {
            app.awaitLine("READY"::equals, Duration.ofMillis(HANG_MILLIS));
            long took = millisSince(start);
            System.out.println("[hostile-log] " + jdk.name() + ", " + unusable.name + ": READY after " + took + " ms");
            assertTrue(took < HANG_MILLIS, unusable.name + ": the start hung\n" + app.describe());
            List<String> lines = awaitAgentLines(app, 2);
            assertEquals("WARN: log.file " + unusable.file + " is not used, the log goes to standard error: "
                    + unusable.reason + " (set log.required=true to stop the start instead)", afterName(lines.get(0)),
                    unusable.name + "\n" + app.describe());
            assertTrue(afterName(lines.get(1)).startsWith("INFO: tcp-hardening-agent "), app.describe());
            // the agent works with its log on standard error: the JDK's getter sees its keepalive, the log its lines
            app.sendLine("connect 1");
            app.awaitLine("CONNECTED 1 keepalive=true"::equals, Duration.ofSeconds(30));
            lines = awaitAgentLines(app, 4);
            assertTrue(CONNECTION.matcher(lines.get(2)).matches() && CONNECTION.matcher(lines.get(3)).matches(),
                    app.describe());
            app.closeStdin();
            assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
            assertEquals(4, agentLines(app.stderr()).size(), app.describe());
        }
        assertUntouched(unusable);
    }

    /**
     * A full disk is no configuration error (the file is a writable regular file; space comes back): the start goes
     * on even with {@code log.required=true}. The write that fails is said once on standard error, the lines are
     * counted, and when space is back the file says how many it misses. One page is left free, so that a write is cut
     * short in the middle, as on a disk that fills up: the file must still hold whole lines only, and the count must
     * be exact.
     */
    @TestFactory
    List<DynamicTest> aFullFileSystemCountsTheLinesItCannotTake() {
        return PerJdk.tests(jdk -> {
            try (Tmpfs full = Tmpfs.mount(temp.resolve("full-" + jdk.major()), "size=64k")) {
                if (full == null) {
                    return;
                }
                Path filler = full.fill(4096);
                Path log = full.dir.resolve("agent.log");
                long start = System.nanoTime();
                try (ForkedJvm.Running app = pressure(jdk, "log.file=" + log + ",log.required=true").start()) {
                    app.awaitLine("READY"::equals, Duration.ofMillis(HANG_MILLIS));
                    System.out.println("[hostile-log] " + jdk.name() + ", a full file system: READY after "
                            + millisSince(start) + " ms");
                    app.sendLine("connect 30");
                    app.awaitLine("CONNECTED 30 keepalive=true"::equals, Duration.ofSeconds(30));
                    List<String> said = awaitAgentLines(app, 1);
                    assertEquals("tcp-hardening-agent: cannot write its log file " + log + ": " + NO_SPACE + "; lines"
                            + " that cannot be written are counted (MBean LogLinesUnwritten), not reported one by one",
                            said.get(0), app.describe());
                    Files.delete(filler);
                    app.sendLine("connect 1");
                    app.awaitLine("CONNECTED 1 keepalive=true"::equals, Duration.ofSeconds(30));
                    app.closeStdin();
                    assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
                    // all missed lines were said in the file: nothing more to say at exit
                    assertEquals(1, agentLines(app.stderr()).size(), app.describe());
                }
                List<String> lines = wholeLines(log);
                Pattern note = Pattern.compile(".* WARN: (\\d+) log lines could not be written to this file \\("
                        + NO_SPACE + "\\)");
                List<String> notes = lines.stream().filter(l -> note.matcher(l).matches()).collect(Collectors.toList());
                assertEquals(1, notes.size(), String.join("\n", lines));
                Matcher missed = note.matcher(notes.get(0));
                assertTrue(missed.matches());
                long connections = lines.stream().filter(l -> CONNECTION.matcher(l).matches()).count();
                long started = lines.stream().filter(l -> l.contains(" INFO: tcp-hardening-agent ")).count();
                System.out.println("[hostile-log] " + jdk.name() + ", a full file system: " + (connections + started)
                        + " lines in the file, " + missed.group(1) + " missed and counted");
                assertEquals(1 + 2 * 31, started + connections + Long.parseLong(missed.group(1)),
                        "every line is in the file or counted as missed, none both\n" + String.join("\n", lines));
                assertEquals(lines.size(), started + connections + 1, String.join("\n", lines));
                assertTrue(CONNECTION.matcher(lines.get(lines.size() - 1)).matches(), "the last connection's lines"
                        + " are in the file after its note\n" + String.join("\n", lines));
            }
        });
    }

    /**
     * The same paths given at an attach: the attach listener runs the agent's start, so a FIFO opened there would
     * block {@code jcmd} and every later attach for good. With {@code log.required=true} the FIFO's attach is refused
     * with one line and status 2 and changes nothing; without it the agent loads with its log on the JVM's standard
     * error. A full file system takes the attach too; at exit the JVM says how many lines the file did not get.
     */
    @TestFactory
    List<DynamicTest> attachingWithAFileThatCannotBeTheLogNeverBlocksTheJvm() {
        return PerJdk.tests(jdk -> {
            Path dir = Files.createDirectory(temp.resolve("attach-" + jdk.major()));
            try (Tmpfs readOnly = Tmpfs.mount(dir.resolve("ro"), "size=1m,ro");
                 Tmpfs full = Tmpfs.mount(dir.resolve("full"), "size=64k")) {
                List<Unusable> cases = new ArrayList<>(fifoAndDevice(dir));
                if (readOnly != null) {
                    cases.add(newFileIn(readOnly));
                }
                // one JVM a case, started together; the attaches one after the other, each well inside the hang bound
                List<ForkedJvm.Running> apps = new ArrayList<>();
                try {
                    for (int i = 0; i < cases.size() + (full == null ? 0 : 1); i++) {
                        apps.add(pressure(jdk, null).start());
                    }
                    for (int i = 0; i < cases.size(); i++) {
                        attachesWithTheLogOnStandardError(jdk, apps.get(i), cases.get(i));
                    }
                    if (full != null) {
                        attachesWithAFullFileSystem(jdk, apps.get(cases.size()), full);
                    }
                } finally {
                    apps.forEach(ForkedJvm.Running::close);
                }
            }
        });
    }

    private void attachesWithTheLogOnStandardError(Jdks.Jdk jdk, ForkedJvm.Running app, Unusable unusable)
            throws Exception {
        app.awaitLine("READY"::equals, Duration.ofSeconds(60));
        String pid = Long.toString(app.pid());
        List<String> expected = new ArrayList<>();
        if (unusable.kind == Kind.FIFO) {
            // The refusal is the start test's check, run here in the attach listener: a FIFO opened there to find
            // out would block it, so only the FIFO is tried (each attach is a JVM of its own, seconds on this machine).
            ForkedJvm.Result refused = AgentCommand.run(AgentCommand.other(jdk), "attach", pid,
                    "log.file=" + unusable.file, "log.required=true");
            String error = "configuration error, the agent was not loaded: log.file " + unusable.file + " cannot be"
                    + " the log (log.required=true): " + unusable.reason;
            assertEquals(2, refused.exitCode, unusable.name + "\n" + refused);
            assertEquals(List.of("tcp-hardening-agent: JVM " + pid + ": " + error),
                    refused.stderr.lines().collect(Collectors.toList()), unusable.name + "\n" + refused);
            expected.add("tcp-hardening-agent: " + error);
        }

        long start = System.nanoTime();
        ForkedJvm.Result attach = AgentCommand.run(AgentCommand.other(jdk), "attach", pid, "log.file=" + unusable.file);
        long took = millisSince(start);
        System.out.println("[hostile-log] " + jdk.name() + ", " + unusable.name + ": attached in " + took + " ms");
        assertEquals(0, attach.exitCode, unusable.name + "\n" + attach);
        assertTrue(took < HANG_MILLIS, unusable.name + ": the attach hung\n" + attach);
        assertJcmdAnswers(jdk, app);

        List<String> lines = awaitAgentLines(app, expected.size() + 3);
        assertEquals(expected, lines.subList(0, expected.size()), app.describe());
        lines = lines.subList(expected.size(), lines.size());
        assertEquals("WARN: log.file " + unusable.file + " is not used, the log goes to standard error: "
                + unusable.reason + " (set log.required=true to stop the start instead)", afterName(lines.get(0)),
                unusable.name + "\n" + app.describe());
        assertTrue(afterName(lines.get(1)).startsWith("INFO: tcp-hardening-agent "), app.describe());
        assertEquals("INFO: connections open before the attach: hardened 0, skipped 0", afterName(lines.get(2)),
                app.describe());
        app.sendLine("connect 1");
        app.awaitLine("CONNECTED 1 keepalive=true"::equals, Duration.ofSeconds(30));
        app.closeStdin();
        assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
        assertEquals(expected.size() + 5, agentLines(app.stderr()).size(), "the connection's two lines, nothing"
                + " more\n" + app.describe());
        assertUntouched(unusable);
    }

    private void attachesWithAFullFileSystem(Jdks.Jdk jdk, ForkedJvm.Running app, Tmpfs full) throws Exception {
        full.fill(0);
        Path log = full.dir.resolve("agent.log");
        app.awaitLine("READY"::equals, Duration.ofSeconds(60));
        long start = System.nanoTime();
        ForkedJvm.Result attach = AgentCommand.run(AgentCommand.other(jdk), "attach", Long.toString(app.pid()),
                "log.file=" + log);
        System.out.println("[hostile-log] " + jdk.name() + ", a full file system: attached in " + millisSince(start)
                + " ms");
        assertEquals(0, attach.exitCode, attach.toString());
        assertJcmdAnswers(jdk, app);
        app.sendLine("connect 10");
        app.awaitLine("CONNECTED 10 keepalive=true"::equals, Duration.ofSeconds(30));
        app.closeStdin();
        assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
        // the start line, the attach's line on the connections it found, two lines a connection
        assertEquals(List.of("tcp-hardening-agent: cannot write its log file " + log + ": " + NO_SPACE + "; lines that"
                + " cannot be written are counted (MBean LogLinesUnwritten), not reported one by one",
                "tcp-hardening-agent: " + (2 + 2 * 10) + " log lines could not be written to " + log + " (" + NO_SPACE
                        + ")"), agentLines(app.stderr()), app.describe());
        assertEquals(0, Files.size(log), "nothing was written: there was no room");
    }

    // ---- 2. one file, several JVMs

    /**
     * Four JVMs append to one file at the same time, on the machine's JDKs in turn (a fleet of mixed JDKs shares a log
     * directory too). Every line is whole and in the file once: per process its start line and two lines a connection.
     * They start connecting together, on a word from the test once all four are up, so that their writes overlap.
     */
    @Test
    void fourJvmsShareOneFileWithoutATornOrLostLine() throws Exception {
        int connections = 2000;
        Path log = temp.resolve("shared.log");
        long start = System.nanoTime();
        List<ForkedJvm.Running> apps = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                Jdks.Jdk jdk = Jdks.all().get(i % Jdks.all().size());
                System.out.println("[hostile-log] shared file: JVM " + i + " on " + jdk.name());
                apps.add(pressure(jdk, "log.file=" + log).start());
            }
            for (ForkedJvm.Running app : apps) {
                app.awaitLine("READY"::equals, Duration.ofSeconds(60));
            }
            apps.forEach(app -> app.sendLine("connect " + connections));
            for (ForkedJvm.Running app : apps) {
                app.awaitLine(("CONNECTED " + connections + " keepalive=true")::equals, Duration.ofSeconds(120));
                app.closeStdin();
            }
            for (ForkedJvm.Running app : apps) {
                assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
                assertEquals(List.of(), agentLines(app.stderr()), app.describe());
            }
        } finally {
            apps.forEach(ForkedJvm.Running::close);
        }
        List<String> lines = wholeLines(log);
        Map<Long, Long> perPid = new HashMap<>();
        int switches = 0;
        String previous = null;
        for (String line : lines) {
            Matcher matcher = FILE_LINE.matcher(line);
            assertTrue(matcher.matches());
            assertTrue(CONNECTION.matcher(line).matches() || line.contains(" INFO: tcp-hardening-agent "), line);
            perPid.merge(Long.parseLong(matcher.group(1)), 1L, Long::sum);
            switches += previous != null && !previous.equals(matcher.group(1)) ? 1 : 0;
            previous = matcher.group(1);
        }
        System.out.println("[hostile-log] shared file: " + lines.size() + " lines, the writer changed " + switches
                + " times, " + millisSince(start) + " ms");
        Map<Long, Long> expected = new HashMap<>();
        apps.forEach(app -> expected.put(app.pid(), 1L + 2L * connections));
        assertEquals(expected, perPid, "each JVM's start line and two lines a connection, no more, no less");
    }

    // ---- 3. rotation in the middle of a run

    /**
     * logrotate's default: the file is renamed while the application connects, the agent notices within a second or
     * so and creates the file anew. Counted exactly: one connecting thread makes the order of the lines that of the
     * connections it prints, and the old and the new file together hold every line, in order, once.
     */
    @TestFactory
    List<DynamicTest> aRenamedFileIsFollowedWithoutLosingALine() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("renamed-" + jdk.major() + ".log");
            Path rotated = temp.resolve("renamed-" + jdk.major() + ".log.1");
            List<String> ports;
            try (ForkedJvm.Running app = pressure(jdk, "log.file=" + log).start()) {
                app.awaitLine("READY"::equals, Duration.ofSeconds(60));
                app.sendLine("burst 1");
                awaitConnectionLines(log, 200, app);
                Files.move(log, rotated, StandardCopyOption.ATOMIC_MOVE);
                awaitConnectionLines(log, 200, app);
                ports = stop(app);
            }
            List<String> old = wholeLines(rotated);
            List<String> renewed = wholeLines(log);
            System.out.println("[hostile-log] " + jdk.name() + ", rename: " + ports.size() + " connections, "
                    + old.size() + " lines in the renamed file, " + renewed.size() + " in the new one");
            List<String> all = new ArrayList<>(old);
            all.addAll(renewed);
            assertTrue(all.get(0).contains(" INFO: tcp-hardening-agent "), all.get(0));
            assertEquals(expectedConnections(ports), connectionKeys(all.subList(1, all.size())),
                    "every connection's two lines, in order, once, across both files");
        });
    }

    /**
     * logrotate's copytruncate: the file is copied and then truncated in place while the agent writes to it. The lines
     * written between the copy and the truncation are lost (that is copytruncate's own gap, printed here); every other
     * line is in one of the two files, in order, and the truncated file goes on from its new start: no hole of NUL
     * bytes where the writer's old offset was.
     */
    @TestFactory
    List<DynamicTest> aCopiedAndTruncatedFileGoesOnFromItsNewStart() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("truncated-" + jdk.major() + ".log");
            Path copy = temp.resolve("truncated-" + jdk.major() + ".log.1");
            List<String> ports;
            try (ForkedJvm.Running app = pressure(jdk, "log.file=" + log).start()) {
                app.awaitLine("READY"::equals, Duration.ofSeconds(60));
                app.sendLine("burst 1");
                awaitConnectionLines(log, 400, app);
                Files.copy(log, copy);
                try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "rw")) {
                    file.setLength(0);
                }
                awaitConnectionLines(log, 200, app);
                ports = stop(app);
            }
            cutToTheLastWholeLine(copy);
            List<String> copied = wholeLines(copy);
            List<String> truncated = wholeLines(log);
            List<String> expected = expectedConnections(ports);
            List<String> before = connectionKeys(copied.subList(1, copied.size()));
            List<String> after = connectionKeys(truncated);
            int gap = expected.size() - before.size() - after.size();
            System.out.println("[hostile-log] " + jdk.name() + ", copytruncate: " + ports.size() + " connections, "
                    + before.size() + " lines copied, " + after.size() + " after the truncation, " + gap
                    + " written between the copy and the truncation");
            assertTrue(gap >= 0, "no line twice");
            assertEquals(expected.subList(0, before.size()), before, "the copy holds the first lines in order");
            assertEquals(expected.subList(expected.size() - after.size(), expected.size()), after,
                    "the truncated file holds the last lines in order, and nothing but whole lines");
        });
    }

    // ---- 4. the JVM terminated in a burst

    /**
     * SIGTERM while two threads connect as fast as they can (and go on connecting while the JVM exits): every
     * connection the application printed has both its lines in the file, or the JVM said on standard error how many
     * lines it could not wait for.
     */
    @TestFactory
    List<DynamicTest> sigtermInABurstLosesNoLineUnsaid() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("sigterm-" + jdk.major() + ".log");
            ForkedJvm.Running app = pressure(jdk, "log.file=" + log).start();
            try {
                app.awaitLine("READY"::equals, Duration.ofSeconds(60));
                app.sendLine("burst 2");
                awaitConnectionLines(log, 500, app);
                assertTrue(ProcessHandle.of(app.pid()).map(ProcessHandle::destroy).orElse(false), "SIGTERM sent");
                assertEquals(143, app.waitFor(Duration.ofSeconds(30)), app.describe());
            } finally {
                app.close();
            }
            List<String> ports = app.stdoutLines().stream().filter(l -> l.startsWith("CONN "))
                    .map(l -> l.substring(5)).collect(Collectors.toList());
            List<String> lines = wholeLines(log);
            List<String> connectionLines = lines.stream().filter(l -> l.contains(" INFO: Socket "))
                    .collect(Collectors.toList());
            // a client port comes back in a burst of thousands: lines are counted by port and side, not looked up
            Map<String, Long> inFile = connectionKeys(connectionLines).stream()
                    .collect(Collectors.groupingBy(k -> k, Collectors.counting()));
            Map<String, Long> printed = expectedConnections(ports).stream()
                    .collect(Collectors.groupingBy(k -> k, Collectors.counting()));
            long missing = printed.entrySet().stream()
                    .mapToLong(e -> Math.max(0, e.getValue() - inFile.getOrDefault(e.getKey(), 0L))).sum();
            // lines not in the file must have been said: at exit on standard error, or in the file as dropped
            Matcher notWritten = Pattern.compile("tcp-hardening-agent: (\\d+) log lines were not written before the JVM"
                    + " exited").matcher(String.join("\n", agentLines(app.stderr())));
            long said = notWritten.find() ? Long.parseLong(notWritten.group(1)) : 0;
            Pattern droppedLine = Pattern.compile(".* WARN: \\d+ log lines dropped because the log could not keep up"
                    + " \\((\\d+) in all\\)");
            said += lines.stream().map(droppedLine::matcher).filter(Matcher::matches)
                    .mapToLong(m -> Long.parseLong(m.group(1))).max().orElse(0);
            assertEquals(lines.size() - connectionLines.size(), lines.stream().filter(l -> droppedLine.matcher(l)
                    .matches() || l.contains(" INFO: tcp-hardening-agent ")).count(), "besides the connections' lines"
                    + " only the start line and counts of dropped lines");
            System.out.println("[hostile-log] " + jdk.name() + ", SIGTERM: " + ports.size() + " connections printed, "
                    + connectionLines.size() + " connection lines in the file, " + missing + " missing, " + said
                    + " said not written or dropped");
            assertTrue(missing <= said, missing + " lines of printed connections missing, " + said + " said\n"
                    + app.describe());
            assertTrue(agentLines(app.stderr()).size() <= 1, app.describe());
        });
    }

    // ---- helpers

    private static ForkedJvm pressure(Jdks.Jdk jdk, String agentArgs) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(LogPressureApp.class.getName());
        return agentArgs == null ? jvm : jvm.javaagent(AgentJar.path(), agentArgs);
    }

    private static List<Unusable> fifoAndDevice(Path dir) throws Exception {
        Path fifo = dir.resolve("fifo.log");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor(), "mkfifo " + fifo);
        Path device = Path.of("/dev/null");
        return List.of(new Unusable(Kind.FIFO, "a FIFO nobody reads", fifo, fifo + NOT_REGULAR),
                new Unusable(Kind.DEVICE, "a device", device, device + NOT_REGULAR));
    }

    private static Unusable newFileIn(Tmpfs readOnly) {
        Path absent = readOnly.dir.resolve("new.log");
        return new Unusable(Kind.READ_ONLY_DIRECTORY, "a new file in a read-only directory", absent,
                "the directory of " + absent + " is not writable by this process (a read-only file system?)");
    }

    /** The path is as it was: a FIFO still (nobody wrote into it), no file created, an existing file unchanged. */
    private static void assertUntouched(Unusable unusable) throws IOException {
        if (unusable.kind == Kind.FIFO) {
            assertTrue(Files.exists(unusable.file) && !Files.isRegularFile(unusable.file), unusable.name);
        } else if (unusable.kind == Kind.READ_ONLY_DIRECTORY) {
            assertFalse(Files.exists(unusable.file), unusable.name);
        } else if (unusable.kind == Kind.READ_ONLY_FILE) {
            assertEquals("an earlier line\n", Files.readString(unusable.file), unusable.name);
        }
    }

    private static void assertJcmdAnswers(Jdks.Jdk jdk, ForkedJvm.Running app) throws Exception {
        long start = System.nanoTime();
        Process jcmd = new ProcessBuilder(jdk.home().resolve("bin/jcmd").toString(), Long.toString(app.pid()),
                "VM.version").redirectErrorStream(true).start();
        jcmd.getOutputStream().close();
        String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(jcmd.waitFor(60, TimeUnit.SECONDS), "jcmd " + app.pid() + " VM.version did not end");
        System.out.println("[hostile-log] " + jdk.name() + ": jcmd VM.version answered in " + millisSince(start)
                + " ms");
        assertEquals(0, jcmd.exitValue(), out + app.describe());
        assertTrue(out.contains("JDK " + jdk.major()), out);
    }

    /** The agent's lines on the JVM's standard error, waiting (at most 30 s) until there are {@code count}. */
    private static List<String> awaitAgentLines(ForkedJvm.Running app, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<String> lines = agentLines(app.stderr());
        while (lines.size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(count + " lines of the agent expected on standard error\n" + app.describe());
            }
            Thread.sleep(20);
            lines = agentLines(app.stderr());
        }
        return lines;
    }

    private static List<String> agentLines(String stderr) {
        return stderr.lines().filter(l -> AGENT_STDERR.matcher(l).matches()).collect(Collectors.toList());
    }

    /** A line of the log on standard error without its timestamp and name: {@code LEVEL: text}. */
    private static String afterName(String line) {
        return line.substring(line.indexOf(" tcp-hardening ") + " tcp-hardening ".length());
    }

    /** Waits (at most 30 s) until the file holds {@code count} connection lines; it may not exist yet. */
    private static void awaitConnectionLines(Path log, int count, ForkedJvm.Running app) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(log) || Files.readAllLines(log).stream().filter(l -> l.contains(" INFO: Socket "))
                .count() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(log + " did not get " + count + " connection lines\n" + app.describe());
            }
            Thread.sleep(50);
        }
    }

    /** Stops the application's burst, lets it exit, and returns the ports it printed, in order. */
    private static List<String> stop(ForkedJvm.Running app) {
        app.sendLine("stop");
        String stopped = app.awaitLine(l -> l.startsWith("STOPPED "), Duration.ofSeconds(30));
        app.closeStdin();
        assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
        assertEquals(List.of(), agentLines(app.stderr()), app.describe());
        List<String> ports = app.stdoutLines().stream().filter(l -> l.startsWith("CONN ")).map(l -> l.substring(5))
                .collect(Collectors.toList());
        assertEquals("STOPPED " + ports.size(), stopped, app.describe());
        return ports;
    }

    /** Each connection's two lines, as {@link #connectionKeys} names them, in the order the application made them. */
    private static List<String> expectedConnections(List<String> ports) {
        List<String> keys = new ArrayList<>();
        for (String port : ports) {
            keys.add("connect " + port);
            keys.add("accept " + port);
        }
        return keys;
    }

    /** The connection lines of a file, each named by its side and the client's port; any other line fails. */
    private static List<String> connectionKeys(List<String> lines) {
        List<String> keys = new ArrayList<>();
        for (String line : lines) {
            Matcher matcher = CONNECTION.matcher(line);
            assertTrue(matcher.matches(), "a connection's line, whole: " + line);
            keys.add(matcher.group(1) != null ? "connect " + matcher.group(1) : "accept " + matcher.group(2));
        }
        return keys;
    }

    /**
     * The lines of a log file, checked whole: no NUL byte anywhere (a writer at a stale offset after a truncation
     * leaves a hole of them), a line break at the end, and every line a line of the agent's.
     */
    private static List<String> wholeLines(Path log) throws IOException {
        byte[] bytes = Files.readAllBytes(log);
        for (int i = 0; i < bytes.length; i++) {
            assertTrue(bytes[i] != 0, "a NUL byte at offset " + i + " of " + log);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        assertTrue(text.isEmpty() || text.endsWith("\n"), log + " ends with a whole line");
        List<String> lines = text.lines().collect(Collectors.toList());
        for (String line : lines) {
            assertTrue(FILE_LINE.matcher(line).matches(), "a whole line of the agent's in " + log + ": " + line);
        }
        return lines;
    }

    /**
     * The copy is read while the agent appends: a read may see part of a write that spans pages (it is logrotate's
     * race too, not the writer's). That part, if any, is cut off and printed; its lines count in copytruncate's gap.
     */
    private static void cutToTheLastWholeLine(Path copy) throws IOException {
        byte[] bytes = Files.readAllBytes(copy);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            System.out.println("[hostile-log] the copy ended inside a write: "
                    + new String(bytes, end, bytes.length - end, StandardCharsets.UTF_8));
            try (RandomAccessFile file = new RandomAccessFile(copy.toFile(), "rw")) {
                file.setLength(end);
            }
        }
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }

    /** A tmpfs of this test's own; unmounted at close. */
    private static final class Tmpfs implements AutoCloseable {
        final Path dir;

        private Tmpfs(Path dir) {
            this.dir = dir;
        }

        /** Mounted at {@code dir} with {@code options}; null, and the reason printed, where mounting is refused. */
        static Tmpfs mount(Path dir, String options) throws Exception {
            Files.createDirectories(dir);
            String failure = run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString());
            if (failure != null) {
                System.out.println("[hostile-log] SKIPPED the cases on a tmpfs (" + options + "): cannot mount one at "
                        + dir + ": " + failure);
                return null;
            }
            return new Tmpfs(dir);
        }

        void remountReadOnly() throws Exception {
            String failure = run("mount", "-o", "remount,ro", dir.toString());
            assertEquals(null, failure, "remount " + dir + " read-only");
        }

        /** Fills the file system but for {@code free} bytes; returns the file that fills it. */
        Path fill(long free) throws IOException {
            Path filler = dir.resolve("filler");
            byte[] page = new byte[4096];
            try (RandomAccessFile file = new RandomAccessFile(filler.toFile(), "rw")) {
                while (Files.getFileStore(dir).getUsableSpace() > free) {
                    file.write(page);
                }
            }
            assertEquals(free, Files.getFileStore(dir).getUsableSpace(), "free space left on " + dir);
            return filler;
        }

        @Override
        public void close() throws Exception {
            String failure = run("umount", dir.toString());
            if (failure != null) {
                // a JVM that still holds a file there (a failed test): detach it now, it goes when they end
                assertEquals(null, run("umount", "-l", dir.toString()), "umount -l " + dir + " after: " + failure);
            }
        }

        /** Runs a command; null if it succeeded, else what it printed. */
        private static String run(String... command) throws Exception {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return process.waitFor() == 0 ? null : "exit " + process.exitValue() + ": " + out;
        }
    }
}
