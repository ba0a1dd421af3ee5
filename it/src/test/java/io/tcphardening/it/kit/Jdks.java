package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Every JDK on the machine: the directories under {@code /usr/lib/jvm} (and any listed in {@code TCPH_EXTRA_JDKS},
 * colon-separated) that hold {@code bin/java} and a {@code release} file of Java 11 or newer, deduplicated by real
 * path. A JDK installed later is picked up without a code change.
 */
public final class Jdks {

    private static List<Jdk> all;

    private Jdks() {
    }

    /** One JDK: its home, feature release and full version; a variant also has JVM options of its own. */
    public static final class Jdk {
        private final Path home;
        private final int major;
        private final String version;
        private final List<String> jvmArgs;
        private final String name;

        Jdk(Path home, int major, String version) {
            this(home, major, version, List.of(), "JDK " + major);
        }

        private Jdk(Path home, int major, String version, List<String> jvmArgs, String name) {
            this.home = home;
            this.major = major;
            this.version = version;
            this.jvmArgs = jvmArgs;
            this.name = name;
        }

        /** Options every JVM started on this JDK gets (ForkedJvm puts them first). */
        public List<String> jvmArgs() {
            return jvmArgs;
        }

        /** "JDK 17", or "JDK 17 legacy socket impl" for the variant. */
        public String name() {
            return name;
        }

        public Path home() {
            return home;
        }

        public Path java() {
            return home.resolve("bin/java");
        }

        public int major() {
            return major;
        }

        public String version() {
            return version;
        }

        @Override
        public String toString() {
            return name + " (" + version + ", " + home + (jvmArgs.isEmpty() ? "" : ", " + jvmArgs) + ")";
        }
    }

    private static final String NIO_SOCKET_IMPL = "sun/nio/ch/NioSocketImpl";
    private static List<Jdk> legacyVariants;

    /**
     * The JDKs that have both socket implementations (13 to 17), each as a variant that selects the legacy one with
     * {@code -Djdk.net.usePlainSocketImpl=true}: what every test of java.net.Socket and ServerSocket runs again on.
     * Found by the classes in each JDK's runtime image, so a JDK added later is picked up as it is.
     */
    public static synchronized List<Jdk> legacySocketImplVariants() {
        if (legacyVariants == null) {
            List<Jdk> variants = new ArrayList<>();
            for (Jdk jdk : all()) {
                if (has(jdk, NIO_SOCKET_IMPL) && has(jdk, "java/net/AbstractPlainSocketImpl")) {
                    variants.add(new Jdk(jdk.home, jdk.major, jdk.version,
                            List.of("-Djdk.net.usePlainSocketImpl=true"), "JDK " + jdk.major + " legacy socket impl"));
                }
            }
            legacyVariants = List.copyOf(variants);
            System.out.println("[jdks] with the legacy socket implementation to select: " + legacyVariants);
        }
        return legacyVariants;
    }

    /** Whether the JDK's runtime image holds the class, read through the jrt file system of that JDK. */
    private static boolean has(Jdk jdk, String internalName) {
        try (FileSystem jrt = FileSystems.newFileSystem(URI.create("jrt:/"), Map.of("java.home", jdk.home.toString()))) {
            return Files.exists(jrt.getPath("modules", "java.base", internalName + ".class"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static synchronized List<Jdk> all() {
        if (all == null) {
            Map<Path, Jdk> found = new LinkedHashMap<>();
            List<Path> roots = new ArrayList<>();
            roots.add(Paths.get("/usr/lib/jvm"));
            String extra = System.getenv("TCPH_EXTRA_JDKS");
            if (extra != null) {
                for (String dir : extra.split(":")) {
                    if (!dir.isEmpty()) {
                        roots.add(Paths.get(dir));
                    }
                }
            }
            for (Path root : roots) {
                for (Path candidate : candidates(root)) {
                    Jdk jdk = read(candidate);
                    if (jdk != null) {
                        found.putIfAbsent(jdk.home(), jdk);
                    }
                }
            }
            List<Jdk> sorted = new ArrayList<>(found.values());
            sorted.sort(Comparator.comparingInt(Jdk::major).thenComparing(Jdk::version));
            all = List.copyOf(sorted);
            System.out.println("[jdks] found " + all.size() + ": " + all);
        }
        return all;
    }

    /** A root that is itself a JDK, or a directory of JDKs. */
    private static List<Path> candidates(Path root) {
        List<Path> candidates = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return candidates;
        }
        candidates.add(root);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
            for (Path entry : entries) {
                candidates.add(entry);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return candidates;
    }

    /** The JDK (or jlinked runtime) in {@code dir}, or null if it is none of Java 11 or newer. */
    public static Jdk at(Path dir) {
        return read(dir);
    }

    private static Jdk read(Path dir) {
        try {
            Path home = dir.toRealPath();
            Path release = home.resolve("release");
            if (!Files.isExecutable(home.resolve("bin/java")) || !Files.isRegularFile(release)) {
                return null;
            }
            Properties properties = new Properties();
            try (var in = Files.newInputStream(release)) {
                properties.load(in);
            }
            String version = properties.getProperty("JAVA_VERSION", "").replace("\"", "");
            String feature = version.startsWith("1.") ? version.substring(2) : version;
            int end = 0;
            while (end < feature.length() && Character.isDigit(feature.charAt(end))) {
                end++;
            }
            int major = end == 0 ? 0 : Integer.parseInt(feature.substring(0, end));
            return major >= 11 ? new Jdk(home, major, version) : null;
        } catch (IOException e) {
            return null;
        }
    }
}
