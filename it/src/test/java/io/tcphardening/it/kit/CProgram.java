package io.tcphardening.it.kit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;

/** The small C helpers under {@code src/test/c}, compiled once per build; again only when a source is newer. */
public final class CProgram {

    private static final Map<String, Path> BINARIES = new HashMap<>();

    private CProgram() {
    }

    /** The binary of {@code src/test/c/NAME.c}. */
    public static synchronized Path binary(String name) {
        Path binary = BINARIES.get(name);
        if (binary != null) {
            return binary;
        }
        Path source = Paths.get(System.getProperty("it.sources", "src/test"), "c", name + ".c");
        Path target = Paths.get(System.getProperty("it.build", "target"), name);
        try {
            if (!Files.exists(target) || Files.getLastModifiedTime(source).compareTo(Files.getLastModifiedTime(target)) > 0) {
                Process cc = new ProcessBuilder("cc", "-O2", "-Wall", "-o", target.toString(), source.toString())
                        .redirectErrorStream(true).start();
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
        BINARIES.put(name, target);
        return target;
    }
}
