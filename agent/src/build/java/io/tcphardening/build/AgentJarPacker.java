package io.tcphardening.build;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;

/**
 * Build step, run after shade: writes the agent jar from the shaded one. At its top stay the manifest and the two
 * entry classes ({@code io/tcphardening/boot/}), the only ones the application's class loader may find; every other
 * class goes into one stored entry, {@code io/tcphardening/classes.pack}, which only {@code AgentClassLoader} reads,
 * and every other resource under {@code io/tcphardening/classes/}.
 *
 * <p>The pack's layout, read by {@code AgentClassLoader}: {@code int count}; {@code count} records of three ints
 * (name offset, class offset, class length), sorted by the class's binary name; the names, each a {@code u2} length
 * and ASCII bytes; the class files, in the records' order. Offsets count from the pack's first byte, big-endian.
 *
 * <p>Usage: {@code AgentJarPacker SHADED_JAR AGENT_JAR}.
 */
public final class AgentJarPacker {

    private static final String BOOT = "io/tcphardening/boot/";
    private static final String RESOURCES = "io/tcphardening/classes/";
    private static final String PACK = "io/tcphardening/classes.pack";
    private static final int RECORD = 12;

    private AgentJarPacker() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: AgentJarPacker SHADED_JAR AGENT_JAR");
        }
        Map<String, JarEntry> boot = new TreeMap<>();
        Map<String, JarEntry> resources = new TreeMap<>();
        Map<String, byte[]> classes = new TreeMap<>();
        Map<JarEntry, byte[]> contents = new HashMap<>();
        Manifest manifest;
        long newest = 0;
        try (JarFile shaded = new JarFile(args[0], false)) {
            manifest = shaded.getManifest();
            for (JarEntry entry : Collections.list(shaded.entries())) {
                String name = entry.getName();
                if (entry.isDirectory() || name.equals(JarFile.MANIFEST_NAME)) {
                    continue;
                }
                byte[] bytes;
                try (InputStream in = shaded.getInputStream(entry)) {
                    bytes = in.readAllBytes();
                }
                newest = Math.max(newest, entry.getTime());
                if (name.startsWith(BOOT)) {
                    boot.put(name, entry);
                    contents.put(entry, bytes);
                } else if (name.endsWith(".class")) {
                    classes.put(name.substring(0, name.length() - ".class".length()).replace('/', '.'), bytes);
                } else {
                    resources.put(RESOURCES + name, entry);
                    contents.put(entry, bytes);
                }
            }
        }
        byte[] pack = pack(classes);
        Path out = Paths.get(args[1]);
        try (OutputStream file = Files.newOutputStream(out); JarOutputStream jar = new JarOutputStream(file)) {
            // Written as an entry of its own rather than by JarOutputStream(file, manifest), which stamps it with the
            // current time: every entry carries a time of the build's input, so that the same commit gives the same
            // jar, and the same container image digest.
            ByteArrayOutputStream manifestBytes = new ByteArrayOutputStream();
            manifest.write(manifestBytes);
            write(jar, JarFile.MANIFEST_NAME, newest, manifestBytes.toByteArray());
            for (Map.Entry<String, JarEntry> entry : boot.entrySet()) {
                write(jar, entry.getKey(), entry.getValue().getTime(), contents.get(entry.getValue()));
            }
            // stored: AgentClassLoader reads each class at its offset, without inflating what comes before it
            ZipEntry packEntry = new ZipEntry(PACK);
            packEntry.setMethod(ZipEntry.STORED);
            packEntry.setSize(pack.length);
            packEntry.setCompressedSize(pack.length);
            CRC32 crc = new CRC32();
            crc.update(pack);
            packEntry.setCrc(crc.getValue());
            packEntry.setTime(newest);
            jar.putNextEntry(packEntry);
            jar.write(pack);
            jar.closeEntry();
            for (Map.Entry<String, JarEntry> entry : resources.entrySet()) {
                write(jar, entry.getKey(), entry.getValue().getTime(), contents.get(entry.getValue()));
            }
        }
        System.out.println("AgentJarPacker: " + out + ": " + boot.size() + " entry classes, " + classes.size()
                + " classes in " + PACK + " (" + pack.length + " bytes), " + resources.size() + " resources");
    }

    private static void write(JarOutputStream jar, String name, long time, byte[] bytes) throws IOException {
        JarEntry entry = new JarEntry(name);
        entry.setTime(time);
        jar.putNextEntry(entry);
        jar.write(bytes);
        jar.closeEntry();
    }

    /** {@code classes} by binary name, iterated in String order: the order AgentClassLoader's binary search assumes. */
    static byte[] pack(Map<String, byte[]> classes) throws IOException {
        ByteArrayOutputStream names = new ByteArrayOutputStream();
        int[] nameOffsets = new int[classes.size()];
        int i = 0;
        for (String name : classes.keySet()) {
            byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
            if (!new String(ascii, StandardCharsets.US_ASCII).equals(name) || ascii.length > 0xffff) {
                throw new IOException("class name not packable (ASCII, at most 65535 bytes): " + name);
            }
            nameOffsets[i++] = names.size();
            names.write(ascii.length >>> 8);
            names.write(ascii.length);
            names.write(ascii);
        }
        int namesStart = 4 + classes.size() * RECORD;
        int offset = namesStart + names.size();
        ByteArrayOutputStream packed = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(packed);
        out.writeInt(classes.size());
        i = 0;
        for (byte[] bytes : classes.values()) {
            out.writeInt(namesStart + nameOffsets[i++]);
            out.writeInt(offset);
            out.writeInt(bytes.length);
            offset += bytes.length;
        }
        names.writeTo(out);
        for (byte[] bytes : classes.values()) {
            out.write(bytes);
        }
        out.flush();
        return packed.toByteArray();
    }
}
