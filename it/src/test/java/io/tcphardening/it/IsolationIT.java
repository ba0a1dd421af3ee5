package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.Fixtures;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing of the agent leaks into the application: an application with its own Byte Buddy and tinylog, of other
 * versions than the agent's relocated copies, and its own {@code tinylog.properties} ({@code fixtures/isolation}),
 * runs with the agent exactly as without it. Compared with a run without the agent, the application sees the same
 * (its own libraries, its own tinylog provider and resources, the same lines) and, through every class loader it
 * has, none of the agent's classes; the only extra thread is the agent's named daemon log writer. From outside,
 * through {@code /proc}: the agent opens no socket (no listening port, TCP or UDP), has no file open for writing but
 * its configured log, and leaves no file in the working directory, in {@code java.io.tmpdir} or beside its jar.
 *
 * <p>Already covered elsewhere: {@link OperatorIT} (the application's class loader cannot load the agent's classes;
 * a {@code tinylog.properties} and {@code -Dtinylog.*} of an application that has no tinylog do not reach the
 * agent's log) and {@link JarAndLoadingIT} (only the two entry classes are loadable from the jar).
 */
class IsolationIT {

    /** The agent's own classes and its relocated libraries: no loader of the application may find them. */
    private static final String[] AGENT_CLASSES = {"io.tcphardening.agent.Agent",
        "io.tcphardening.agent.harden.SocketHardener", "io.tcphardening.agent.observe.HardeningLog",
        "io.tcphardening.shaded.bytebuddy.jar.asm.ClassReader", "io.tcphardening.shaded.tinylog.writers.FileWriter",
        "io.tcphardening.shaded.tinylog.core.LogEntry"};
    private static final List<String> LOADERS = List.of("application", "system", "context", "platform", "boot",
            "bytebuddy");

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> anApplicationWithItsOwnByteBuddyAndTinylogRunsAsWithoutTheAgent() {
        return PerJdk.tests(jdk -> {
            Path dir = Files.createDirectories(temp.resolve("jdk" + jdk.major()));
            Path work = Files.createDirectories(dir.resolve("work"));
            Path tmp = Files.createDirectories(dir.resolve("tmp"));
            Path agentDir = Files.createDirectories(dir.resolve("agent"));
            Path agent = Files.copy(AgentJar.path(), agentDir.resolve("tcp-hardening-agent.jar"));
            Path appLog = dir.resolve("application.log");
            Path agentLog = dir.resolve("agent.log");

            Seen without = run(jdk, null, work, tmp, appLog);
            String applicationLines = Files.readString(appLog);
            Files.delete(appLog);
            Seen with = run(jdk, "-javaagent:" + agent + "=log.file=" + agentLog, work, tmp, appLog);
            String context = "--- without the agent\n" + without + "--- with the agent\n" + with;

            // the application's own libraries, and what it prints, are the same
            assertTrue(with.printed("CODE net.bytebuddy.ByteBuddy file:", "/byte-buddy-1.17.8.jar"), context);
            assertTrue(with.printed("CODE net.bytebuddy.jar.asm.ClassReader file:", "/byte-buddy-1.17.8.jar"), context);
            assertTrue(with.printed("CODE org.tinylog.Logger file:", "/tinylog-api-2.6.2.jar"), context);
            assertTrue(with.printed("PROVIDER org.tinylog.core.TinylogLoggingProvider", ""), context);
            assertTrue(with.printed("GENERATED made by the application", ""), context);
            assertEquals(without.lines("THREAD ", "LISTEN "), with.lines("THREAD ", "LISTEN "), context);
            assertEquals(without.stderr, with.stderr, "the agent logs to its file only: " + context);
            for (String name : AGENT_CLASSES) {
                for (String loader : LOADERS) {
                    assertTrue(with.printed("HIDDEN " + name + " " + loader, ""), name + " " + loader + context);
                }
            }
            // the application's tinylog kept its configuration; the agent's log kept its own format
            assertEquals(applicationLines, Files.readString(appLog), context);
            assertTrue(applicationLines.contains("APPLICATION INFO: the application logs through its own tinylog"),
                    applicationLines);
            String agentLines = Files.readString(agentLog);
            assertTrue(agentLines.lines().anyMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z tcp-hardening\\[\\d+\\] INFO:"
                    + " Socket connect .*")), agentLines);
            assertFalse(agentLines.contains("APPLICATION") || applicationLines.contains("tcp-hardening"),
                    agentLines + applicationLines);

            // one extra thread: the agent's daemon log writer
            Set<String> extra = new TreeSet<>(with.lines("THREAD "));
            extra.removeAll(without.lines("THREAD "));
            Set<String> missing = new TreeSet<>(without.lines("THREAD "));
            missing.removeAll(with.lines("THREAD "));
            assertEquals(Set.of("THREAD tcp-hardening daemon"), extra, context);
            assertEquals(Set.of(), missing, context);

            // no socket of its own, so no port; no file open for writing but its log
            assertEquals(List.of(with.applicationPort()), with.process.listeningPorts, context);
            assertEquals(without.process.sockets, with.process.sockets, "the application's three sockets: " + context);
            assertEquals(0, with.process.udpSockets, context);
            Set<String> expectedWritable = new TreeSet<>(without.process.writableFiles);
            expectedWritable.add(agentLog.toRealPath().toString());
            assertEquals(expectedWritable, with.process.writableFiles, context);

            // and no file left behind
            assertEquals(List.of(), list(work), "working directory");
            assertEquals(List.of(), list(tmp), "java.io.tmpdir");
            assertEquals(List.of(agent), list(agentDir), "beside the agent's jar");
        });
    }

    private static Seen run(Jdks.Jdk jdk, String javaagent, Path work, Path tmp, Path appLog) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(Fixtures.classpath("isolation"))
                .mainClass("io.tcphardening.fixtures.IsolationApp").args(AGENT_CLASSES).workDir(work)
                .jvmArg("-Djava.io.tmpdir=" + tmp).jvmArg("-Dapp.log=" + appLog);
        if (javaagent != null) {
            jvm.jvmArg(javaagent);
        }
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(60));
            ProcessView process = ProcessView.of(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            return new Seen(running.stdoutLines(), running.stderr(), process);
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.collect(Collectors.toList());
        }
    }

    /** One run: what the application printed, and what its process held at READY. */
    private static final class Seen {
        final List<String> stdout;
        final String stderr;
        final ProcessView process;

        Seen(List<String> stdout, String stderr, ProcessView process) {
            this.stdout = stdout;
            this.stderr = stderr;
            this.process = process;
        }

        /** Whether a line starts with {@code prefix} and ends with {@code suffix}. */
        boolean printed(String prefix, String suffix) {
            return stdout.stream().anyMatch(l -> l.startsWith(prefix) && l.endsWith(suffix));
        }

        /** The printed lines that start with {@code prefix}. */
        Set<String> lines(String prefix) {
            return stdout.stream().filter(l -> l.startsWith(prefix)).collect(Collectors.toCollection(TreeSet::new));
        }

        /** The printed lines, in order, but those that start with either prefix. */
        List<String> lines(String exceptPrefix, String exceptOther) {
            return stdout.stream().filter(l -> !l.startsWith(exceptPrefix) && !l.startsWith(exceptOther))
                    .collect(Collectors.toList());
        }

        int applicationPort() {
            return stdout.stream().filter(l -> l.startsWith("LISTEN ")).map(l -> Integer.parseInt(l.substring(7)))
                    .findFirst().orElseThrow(() -> new AssertionError("no LISTEN line\n" + this));
        }

        @Override
        public String toString() {
            return "--- stdout\n" + String.join("\n", stdout) + "\n--- stderr\n" + stderr + "--- process\n" + process
                    + "\n";
        }
    }

    /** What a running process holds, read from {@code /proc}: nothing here goes through the JVM. */
    private static final class ProcessView {
        /** The number of sockets of any kind among its descriptors. */
        int sockets;
        int udpSockets;
        final List<Integer> listeningPorts = new ArrayList<>();
        final Set<String> writableFiles = new TreeSet<>();

        static ProcessView of(long pid) {
            ProcessView view = new ProcessView();
            Set<String> inodes = new HashSet<>();
            Path fds = Paths.get("/proc", Long.toString(pid), "fd");
            try (Stream<Path> entries = Files.list(fds)) {
                for (Path fd : (Iterable<Path>) entries::iterator) {
                    String target;
                    try {
                        target = Files.readSymbolicLink(fd).toString();
                    } catch (IOException closedMeanwhile) {
                        continue;
                    }
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring(8, target.length() - 1));
                    } else if (target.startsWith("/") && !target.startsWith("/dev/") && isWritable(pid, fd)) {
                        view.writableFiles.add(target);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            view.sockets = inodes.size();
            for (String table : new String[] {"tcp", "tcp6"}) {
                for (String[] row : rows(pid, table)) {
                    if (inodes.contains(row[9]) && row[3].equals("0A")) {  // 0A: LISTEN
                        view.listeningPorts.add(Integer.parseInt(row[1].substring(row[1].indexOf(':') + 1), 16));
                    }
                }
            }
            for (String table : new String[] {"udp", "udp6"}) {
                view.udpSockets += (int) rows(pid, table).stream().filter(row -> inodes.contains(row[9])).count();
            }
            return view;
        }

        /** Opened with O_WRONLY or O_RDWR: the octal {@code flags} of {@code /proc/PID/fdinfo/N}. */
        private static boolean isWritable(long pid, Path fd) {
            try {
                for (String line : Files.readAllLines(Paths.get("/proc", Long.toString(pid), "fdinfo",
                        fd.getFileName().toString()))) {
                    if (line.startsWith("flags:")) {
                        return (Integer.parseInt(line.substring(6).trim(), 8) & 3) != 0;
                    }
                }
                return false;
            } catch (IOException closedMeanwhile) {
                return false;
            }
        }

        private static List<String[]> rows(long pid, String table) {
            try {
                return Files.readAllLines(Paths.get("/proc", Long.toString(pid), "net", table)).stream().skip(1)
                        .map(l -> l.trim().split("\\s+")).collect(Collectors.toList());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public String toString() {
            return "sockets " + sockets + " (udp " + udpSockets + "), listening on " + listeningPorts
                    + ", open for writing " + writableFiles;
        }
    }
}
