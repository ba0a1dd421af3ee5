package io.tcphardening.it.kit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** A shared library of the tests' own, compiled from {@code src/test/c/NAME.c}, for a forked JVM's LD_PRELOAD. */
public final class PreloadLibrary {

    private PreloadLibrary() {
    }

    /** Compiles once per build; again only when the source is newer. */
    public static synchronized Path of(String name) {
        Path source = Paths.get(System.getProperty("it.sources", "src/test"), "c", name + ".c");
        Path target = Paths.get(System.getProperty("it.build", "target"), "lib" + name + ".so");
        try {
            if (!Files.exists(target) || Files.getLastModifiedTime(source).compareTo(Files.getLastModifiedTime(target)) > 0) {
                Process cc = new ProcessBuilder("cc", "-O2", "-Wall", "-shared", "-fPIC", "-o", target.toString(),
                        source.toString(), "-ldl").redirectErrorStream(true).start();
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
        return target.toAbsolutePath();
    }
}
