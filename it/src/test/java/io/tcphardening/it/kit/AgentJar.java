package io.tcphardening.it.kit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

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

    /** The directory of the integration tests' compiled classes, the class path of the forked applications. */
    public static String testClasses() {
        return System.getProperty("it.classes");
    }
}
