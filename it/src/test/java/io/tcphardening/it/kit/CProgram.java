package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The small C helpers under {@code src/test/c}, compiled once per build; again only when a source is newer. */
public final class CProgram {

    private static final Map<String, Path> BINARIES = new HashMap<>();

    private CProgram() {
    }

    /** The binary of {@code src/test/c/NAME.c}. */
    public static Path binary(String name) {
        return compiled(name, name);
    }

    /** Runs {@code src/test/c/NAME.c} with {@code args}; its non-blank output lines, or fails with what it printed. */
    public static List<String> outputLines(String name, String... args) {
        List<String> command = new ArrayList<>(List.of(binary(name).toString()));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).start();
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new AssertionError(String.join(" ", command) + " failed: " + new String(err, StandardCharsets.UTF_8));
            }
            List<String> lines = new ArrayList<>();
            for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** {@code src/test/c/NAME.c} as a shared library, for a forked JVM's {@code LD_PRELOAD}. */
    public static Path sharedLibrary(String name) {
        return compiled(name, "lib" + name + ".so", "-shared", "-fPIC", "-ldl");
    }

    /** The source's time, or that of a header beside it (process_sockets.h) if one changed later. */
    private static FileTime newestSource(Path source) throws IOException {
        FileTime newest = Files.getLastModifiedTime(source);
        try (DirectoryStream<Path> headers = Files.newDirectoryStream(source.getParent(), "*.h")) {
            for (Path header : headers) {
                FileTime time = Files.getLastModifiedTime(header);
                if (time.compareTo(newest) > 0) {
                    newest = time;
                }
            }
        }
        return newest;
    }

    private static synchronized Path compiled(String name, String fileName, String... options) {
        Path binary = BINARIES.get(fileName);
        if (binary != null) {
            return binary;
        }
        Path source = Paths.get(System.getProperty("it.sources", "src/test"), "c", name + ".c");
        Path target = Paths.get(System.getProperty("it.build", "target"), fileName).toAbsolutePath();
        try {
            if (!Files.exists(target) || newestSource(source).compareTo(Files.getLastModifiedTime(target)) > 0) {
                List<String> command = new ArrayList<>(List.of("cc", "-O2", "-Wall", "-o", target.toString(),
                        source.toString()));
                command.addAll(List.of(options));
                Process cc = new ProcessBuilder(command).redirectErrorStream(true).start();
                String output = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (cc.waitFor() != 0) {
                    throw new AssertionError("cannot compile " + source + ":\n" + output);
                }
            }
        } catch (IOException e) {
            throw new AssertionError("cannot compile " + source + " (is a C compiler installed?): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        BINARIES.put(fileName, target);
        return target;
    }
}
