package io.tcphardening.it.kit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Class paths of the fixture applications (modules under {@code fixtures/}), each its own. */
public final class Fixtures {

    private Fixtures() {
    }

    /** The fixture's classes and the class path its module resolved ({@code target/classpath.txt}). */
    public static String classpath(String fixture) {
        Path target = target(fixture);
        try {
            return target.resolve("classes") + File.pathSeparator + Files.readString(target.resolve("classpath.txt")).trim();
        } catch (IOException e) {
            throw new UncheckedIOException("build the fixtures first: mvn -DskipTests package", e);
        }
    }

    /** The Netty fixture's classes on Netty 4.1's jars instead of 4.2's. */
    public static String nettyFourOneClasspath() {
        Path target = target("netty");
        List<String> entries = new ArrayList<>();
        entries.add(target.resolve("classes").toString());
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(target.resolve("netty41"), "*.jar")) {
            for (Path jar : jars) {
                entries.add(jar.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return String.join(File.pathSeparator, entries);
    }

    private static Path target(String fixture) {
        return Paths.get(System.getProperty("fixtures.dir", "../fixtures"), fixture, "target").toAbsolutePath();
    }
}
