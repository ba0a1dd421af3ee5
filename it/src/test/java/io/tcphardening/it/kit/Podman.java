package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Podman, run as root with a configuration and a storage of the tests' own, given through {@code CONTAINERS_CONF}
 * and {@code CONTAINERS_STORAGE_CONF}: the machine's global configuration and its images, containers and volumes are
 * never read or changed, and test runs in other work trees of the same machine do not meet (the run directories are
 * named after this build directory). Two settings make Debian's Podman work here: runc as the OCI runtime (crun
 * refuses the hybrid cgroup hierarchy of such machines: "cgroups in hybrid mode not supported"), and default ulimits
 * within the machine's hard limits (Podman asks for 1048576 open files, which a process limited to 20000 cannot
 * grant: "error setting rlimit type 7: operation not permitted").
 */
public final class Podman {

    private static Podman instance;

    private final List<String> environment = new ArrayList<>();
    private final Path home;

    private Podman(Path home, Path containersConf, Path storageConf) {
        this.home = home;
        environment.add("CONTAINERS_CONF=" + containersConf);
        environment.add("CONTAINERS_STORAGE_CONF=" + storageConf);
    }

    /**
     * The tests' Podman; a test that needs it is skipped, with the reason printed, only where the machine has no
     * Podman at all. A Podman that is installed but does not work fails the test.
     */
    public static synchronized Podman get() {
        if (instance != null) {
            return instance;
        }
        if (!onPath("podman")) {
            String reason = "podman is not installed, so this machine cannot run containers (.ci/run installs it: "
                    + "apt-get install podman runc)";
            System.out.println("[containers] SKIPPED: " + reason);
            Assumptions.abort(reason);
        }
        try {
            Path build = Paths.get(System.getProperty("it.build", "target")).toAbsolutePath().normalize();
            Path home = build.resolve("podman");
            Files.createDirectories(home);
            // Short: the runtime's sockets live under the run directory, and a Unix socket path is at most 107 bytes.
            String run = "/run/tcph-it-" + Integer.toHexString(build.toString().hashCode());
            Path containersConf = home.resolve("containers.conf");
            Files.writeString(containersConf, String.join("\n",
                    "[containers]",
                    "default_ulimits = [\"nofile=20000:20000\", \"nproc=4096:4096\"]",
                    "[engine]",
                    "runtime = \"runc\"",
                    "tmp_dir = \"" + run + "/libpod\"",
                    ""));
            Path storageConf = home.resolve("storage.conf");
            Files.writeString(storageConf, String.join("\n",
                    "[storage]",
                    "driver = \"overlay\"",
                    "graphroot = \"" + home.resolve("storage") + "\"",
                    "runroot = \"" + run + "/storage\"",
                    ""));
            instance = new Podman(home, containersConf, storageConf);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        instance.ok(Duration.ofMinutes(1), "info");
        return instance;
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, command))) {
                return true;
            }
        }
        return false;
    }

    /** A directory of the tests' own beside the storage, kept between runs (until mvn clean). */
    public Path home() {
        return home;
    }

    /** Runs {@code podman args...}; what it printed and its exit status. */
    public Result run(Duration timeout, String... args) {
        List<String> command = new ArrayList<>();
        command.add("podman");
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        for (String variable : environment) {
            int eq = variable.indexOf('=');
            builder.environment().put(variable.substring(0, eq), variable.substring(eq + 1));
        }
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(process, true));
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(process, false));
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not end within " + timeout);
            }
            return new Result(String.join(" ", command), process.exitValue(),
                    new String(out.join(), StandardCharsets.UTF_8), new String(err.join(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs {@code podman args...}, which must succeed; its standard output. */
    public String ok(Duration timeout, String... args) {
        Result result = run(timeout, args);
        if (result.exitCode != 0) {
            throw new AssertionError(result.toString());
        }
        return result.stdout;
    }

    private static byte[] readAll(Process process, boolean stdout) {
        try {
            return (stdout ? process.getInputStream() : process.getErrorStream()).readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** What one podman command printed, and its exit status. */
    public static final class Result {
        public final String command;
        public final int exitCode;
        public final String stdout;
        public final String stderr;

        Result(String command, int exitCode, String stdout, String stderr) {
            this.command = command;
            this.exitCode = exitCode;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        @Override
        public String toString() {
            return command + ": exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }
}
