package io.tcphardening.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's map of packages is the architecture, and this test holds the compiled classes to it: every package of
 * the agent has a row, each package uses only the packages its row allows, and what the rows allow has no cycle.
 *
 * <p>What a class uses is read from its compiled class file (every class named in its constant pool, in descriptors
 * and signatures too), not from its imports: a fully qualified name or a type reached through a method's return value
 * counts as well.
 */
class PackageLayoutTest {

    private static final String PREFIX = "io.tcphardening.";
    /** A row of the map: {@code | `agent.harden` | what it owns | `agent.settings`, `agent.observe` |}. */
    private static final Pattern ROW = Pattern.compile("^\\| `(agent(?:\\.[a-z]+)*|boot)` \\|[^|]+\\|([^|]+)\\|\\s*$");
    private static final Pattern NAME = Pattern.compile("`(agent(?:\\.[a-z]+)*|boot)`");
    private static final Pattern USED = Pattern.compile("io/tcphardening/((?:agent|boot)(?:/[a-z]+)*)/[A-Z][\\w$]*");

    @Test
    void everyPackageUsesOnlyWhatTheReadmeMapAllows() throws IOException {
        Map<String, Set<String>> allowed = readmeMap();
        Map<String, Set<String>> used = usedPackages();
        assertFalse(used.isEmpty(), "no compiled classes found in " + classesDirectory());
        for (Map.Entry<String, Set<String>> entry : used.entrySet()) {
            String from = entry.getKey();
            assertTrue(allowed.containsKey(from), "package " + from + " has no row in the README's map of packages");
            Set<String> extra = new TreeSet<>(entry.getValue());
            extra.removeAll(allowed.get(from));
            assertEquals(Set.of(), extra, from + " uses packages its row in the README's map does not allow");
        }
        for (String listed : allowed.keySet()) {
            assertTrue(used.containsKey(listed), "the README's map lists " + listed + ", which has no classes");
        }
    }

    @Test
    void theMapHasNoCycles() throws IOException {
        Map<String, Set<String>> allowed = readmeMap();
        // Kahn's algorithm: a package is placed once everything it may use is placed.
        Set<String> placed = new TreeSet<>();
        boolean progress = true;
        while (progress) {
            progress = false;
            for (Map.Entry<String, Set<String>> entry : allowed.entrySet()) {
                if (!placed.contains(entry.getKey()) && placed.containsAll(entry.getValue())) {
                    placed.add(entry.getKey());
                    progress = true;
                }
            }
        }
        Set<String> cyclic = new TreeSet<>(allowed.keySet());
        cyclic.removeAll(placed);
        assertEquals(Set.of(), cyclic, "packages on a cycle (or allowed to use an unlisted package)");
        assertEquals(Set.of(), allowed.get("agent.settings"), "settings use nothing of ours");
        assertEquals(Set.of(), allowed.get("boot"), "the entry classes use nothing of ours (the agent by name only)");
    }

    @Test
    void theReaderFindsDependencies() throws IOException {
        // the check above proves nothing if the class file reader found nothing: the top package uses all others
        Set<String> top = usedPackages().get("agent");
        assertTrue(top != null && top.containsAll(List.of("agent.settings", "agent.harden", "agent.command")),
                "the agent's start path uses settings, hardening and the commands: " + top);
    }

    /** Package (without {@code io.tcphardening.}) to the packages its row allows it to use. */
    private static Map<String, Set<String>> readmeMap() throws IOException {
        Map<String, Set<String>> map = new LinkedHashMap<>();
        for (String line : Files.readAllLines(classesDirectory().resolve("../../../README.md").normalize())) {
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                Set<String> uses = new TreeSet<>();
                Matcher name = NAME.matcher(row.group(2));
                while (name.find()) {
                    uses.add(name.group(1));
                }
                assertTrue(map.put(row.group(1), uses) == null, "two rows for " + row.group(1));
            }
        }
        assertFalse(map.isEmpty(), "the README has no map of packages (rows like | `agent.settings` | ... | ... |)");
        return map;
    }

    /** Package to the other packages of ours its classes name. */
    private static Map<String, Set<String>> usedPackages() throws IOException {
        Map<String, Set<String>> used = new TreeMap<>();
        Path root = classesDirectory();
        List<Path> classes = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root.resolve("io/tcphardening"))) {
            files.filter(f -> f.toString().endsWith(".class")).forEach(classes::add);
        }
        for (Path file : classes) {
            String from = packageOf(root.relativize(file.getParent()).toString());
            if (from == null) {
                continue;  // the build's own classes, or a relocated library
            }
            Set<String> targets = used.computeIfAbsent(from, k -> new TreeSet<>());
            for (String text : utf8Constants(file)) {
                Matcher m = USED.matcher(text);
                while (m.find()) {
                    String to = packageOf(m.group(1));
                    if (to != null && !to.equals(from)) {
                        targets.add(to);
                    }
                }
            }
        }
        return used;
    }

    private static String packageOf(String directory) {
        String name = directory.replace('/', '.').replace('\\', '.');
        if (name.startsWith(PREFIX)) {
            name = name.substring(PREFIX.length());
        }
        return name.equals("boot") || name.equals("agent") || name.startsWith("agent.") ? name : null;
    }

    /** Every UTF-8 constant of a class file: class names, descriptors, signatures, strings. */
    private static List<String> utf8Constants(Path classFile) throws IOException {
        List<String> texts = new ArrayList<>();
        try (InputStream file = Files.newInputStream(classFile); DataInputStream in = new DataInputStream(file)) {
            in.readInt();
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1:
                        byte[] bytes = new byte[in.readUnsignedShort()];
                        in.readFully(bytes);
                        texts.add(new String(bytes, StandardCharsets.ISO_8859_1));
                        break;
                    case 7: case 8: case 16: case 19: case 20:
                        in.skipBytes(2);
                        break;
                    case 15:
                        in.skipBytes(3);
                        break;
                    case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18:
                        in.skipBytes(4);
                        break;
                    case 5: case 6:
                        in.skipBytes(8);
                        i++;  // takes two entries
                        break;
                    default:
                        throw new IOException(classFile + ": constant pool tag " + tag + " unknown");
                }
            }
        }
        return texts;
    }

    private static Path classesDirectory() {
        try {
            return Paths.get(PackageLayoutTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                    .resolve("../classes").normalize();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
