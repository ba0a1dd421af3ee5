package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.zip.ZipFile;

/** The built agent jar, as users run it. */
public final class AgentJar {

    private AgentJar() {
    }

    public static Path path() {
        String property = System.getProperty("agent.jar");
        if (property == null) {
            throw new IllegalStateException("system property agent.jar is not set: run the tests through Maven");
        }
        Path jar = Paths.get(property).toAbsolutePath().normalize();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " does not exist; build it first: mvn -q -DskipTests package");
        }
        return jar;
    }

    /** Whether the jar holds the agent class {@code className} (stored as {@code .classdata} for its own loader). */
    public static boolean contains(String className) {
        try (ZipFile jar = new ZipFile(path().toFile())) {
            return jar.getEntry("io/tcphardening/classes/" + className.replace('.', '/') + ".classdata") != null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The directory of the integration tests' compiled classes, the class path of the forked applications. */
    public static String testClasses() {
        return System.getProperty("it.classes");
    }
}
