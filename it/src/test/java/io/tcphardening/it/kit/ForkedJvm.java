package io.tcphardening.it.kit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Starts a separate JVM of a given JDK, optionally with the agent, as a user would. */
public final class ForkedJvm {

    private final Jdks.Jdk jdk;
    private final List<String> jvmArgs = new ArrayList<>();
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<String> launcher = new ArrayList<>();
    private String classpath;
    private String mainClass;
    private Path workDir;

    private ForkedJvm(Jdks.Jdk jdk) {
        this.jdk = jdk;
    }

    public static ForkedJvm on(Jdks.Jdk jdk) {
        return new ForkedJvm(jdk);
    }

    public ForkedJvm classpath(String... entries) {
        this.classpath = String.join(java.io.File.pathSeparator, entries);
        return this;
    }

    public ForkedJvm mainClass(String name) {
        this.mainClass = name;
        return this;
    }

    public ForkedJvm args(String... values) {
        args.addAll(List.of(values));
        return this;
    }

    public ForkedJvm javaagent(Path jar, String agentArgs) {
        jvmArgs.add("-javaagent:" + jar + (agentArgs == null ? "" : "=" + agentArgs));
        return this;
    }

    public ForkedJvm jvmArg(String arg) {
        jvmArgs.add(arg);
        return this;
    }

    public ForkedJvm env(String name, String value) {
        env.put(name, value);
        return this;
    }

    /**
     * Runs the JVM through a launcher command (a sandbox, a network namespace, a socket handed in as standard input);
     * {@link Running#pid} is then the launcher's, which is the JVM's only if the launcher execs it.
     */
    public ForkedJvm launchedBy(String... command) {
        launcher.addAll(List.of(command));
        return this;
    }

    public ForkedJvm workDir(Path dir) {
        this.workDir = dir;
        return this;
    }

    public List<String> command() {
        List<String> command = new ArrayList<>(launcher);
        command.add(jdk.java().toString());
        command.addAll(jdk.jvmArgs());
        command.addAll(jvmArgs);
        if (classpath != null) {
            command.add("-cp");
            command.add(classpath);
        }
        if (mainClass != null) {
            command.add(mainClass);
        }
        command.addAll(args);
        return command;
    }

    public Running start() {
        ProcessBuilder builder = new ProcessBuilder(command());
        // The agent must not be configured by whatever the test runner's environment holds.
        builder.environment().keySet().removeIf(name -> name.startsWith("TCPHARDENING_") || name.equals("JAVA_TOOL_OPTIONS"));
        builder.environment().putAll(env);
        if (workDir != null) {
            builder.directory(workDir.toFile());
        }
        StaleAttachSockets.remove();
        try {
            return new Running(builder.start(), String.join(" ", command()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts, waits for exit, and returns what the JVM printed. */
    public Result run(Duration timeout) {
        try (Running running = start()) {
            running.closeStdin();
            int status = running.waitFor(timeout);
            return new Result(status, running.stdout(), running.stderr());
        }
    }

    /** What a finished JVM printed, and its exit status. */
    public static final class Result {
        public final int exitCode;
        public final String stdout;
        public final String stderr;

        public Result(int exitCode, String stdout, String stderr) {
            this.exitCode = exitCode;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /** A JVM that is running; its output is drained continuously so that it never blocks on a full pipe. */
    public static final class Running implements AutoCloseable {
        private final Process process;
        private final String command;
        private final List<String> stdoutLines = new ArrayList<>();
        private final StringBuffer stderr = new StringBuffer();
        private final OutputStream stdin;

        Running(Process process, String command) {
            this.process = process;
            this.command = command;
            this.stdin = process.getOutputStream();
            drain(process.getInputStream(), line -> {
                synchronized (stdoutLines) {
                    stdoutLines.add(line);
                    stdoutLines.notifyAll();
                }
            });
            drain(process.getErrorStream(), line -> stderr.append(line).append('\n'));
        }

        private static void drain(InputStream stream, java.util.function.Consumer<String> sink) {
            Thread thread = new Thread(() -> {
                try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        sink.accept(line);
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            }, "forked-jvm-drain");
            thread.setDaemon(true);
            thread.start();
        }

        public long pid() {
            return process.pid();
        }

        /** The first line of standard output that matches, waiting for it; fails with everything printed so far. */
        public String awaitLine(Predicate<String> matching, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (stdoutLines) {
                while (true) {
                    for (String line : stdoutLines) {
                        if (matching.test(line)) {
                            return line;
                        }
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || (!process.isAlive() && drainedAfterExit())) {
                        throw new AssertionError((left <= 0 ? "timed out" : "the JVM exited (" + exitValue() + ")")
                                + " waiting for a line of output\n" + describe());
                    }
                    try {
                        stdoutLines.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new AssertionError(e);
                    }
                }
            }
        }

        private boolean drainedAfterExit() {
            try {
                Thread.sleep(200);  // let the drain threads read the last lines
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return true;
        }

        private String exitValue() {
            return process.isAlive() ? "running" : Integer.toString(process.exitValue());
        }

        public void sendLine(String line) {
            try {
                stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                stdin.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        public void closeStdin() {
            try {
                stdin.close();
            } catch (IOException ignored) {
                // already gone
            }
        }

        /** Waits for exit and returns the status; on timeout kills the JVM and fails with its output. */
        public int waitFor(Duration timeout) {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError("the JVM did not exit within " + timeout + "\n" + describe());
                }
                Thread.sleep(100);  // the drain threads finish reading after exit
                return process.exitValue();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        public String stdout() {
            synchronized (stdoutLines) {
                return stdoutLines.isEmpty() ? "" : String.join("\n", stdoutLines) + "\n";
            }
        }

        public List<String> stdoutLines() {
            synchronized (stdoutLines) {
                return new ArrayList<>(stdoutLines);
            }
        }

        public String stderr() {
            return stderr.toString();
        }

        public String describe() {
            return "command: " + command + "\n--- stdout\n" + stdout() + "--- stderr\n" + stderr();
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
    }
}
