package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
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

    /** Whether the jar holds the agent class {@code className}, in the pack that only the agent's loader reads. */
    public static boolean contains(String className) {
        return packedClasses().contains(className);
    }

    /**
     * The binary names of the classes in {@code io/tcphardening/classes.pack}, read as its format says (see the
     * build's {@code AgentJarPacker}): {@code int count}, {@code count} records of three ints (name offset, class
     * offset, class length), each name a {@code u2} length and ASCII bytes.
     */
    public static Set<String> packedClasses() {
        try (ZipFile jar = new ZipFile(path().toFile())) {
            ZipEntry pack = jar.getEntry("io/tcphardening/classes.pack");
            if (pack == null) {
                return Set.of();
            }
            byte[] bytes;
            try (InputStream in = jar.getInputStream(pack)) {
                bytes = in.readAllBytes();
            }
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            int count = buffer.getInt(0);
            Set<String> names = new TreeSet<>();
            for (int i = 0; i < count; i++) {
                int nameAt = buffer.getInt(4 + 12 * i);
                int length = buffer.getShort(nameAt) & 0xffff;
                names.add(new String(bytes, nameAt + 2, length, StandardCharsets.US_ASCII));
            }
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The directory of the integration tests' compiled classes, the class path of the forked applications. */
    public static String testClasses() {
        return System.getProperty("it.classes");
    }
}
