package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
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

    /** One JDK: its home, feature release and full version. */
    public static final class Jdk {
        private final Path home;
        private final int major;
        private final String version;

        Jdk(Path home, int major, String version) {
            this.home = home;
            this.major = major;
            this.version = version;
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
            return "JDK " + major + " (" + version + ", " + home + ")";
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
