package io.tcphardening.boot;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Loads the agent and its relocated Byte Buddy and tinylog from {@code io/tcphardening/classes.pack} inside the agent
 * jar, one stored entry that no other class loader reads as classes. The application's class loader, which has the
 * jar on its class path, therefore cannot load any of them, and the agent cannot see the application's classes:
 * isolation both ways. The parent is the platform loader, so the agent sees the JDK's modules and nothing else. Other
 * resources are plain entries under {@code io/tcphardening/classes/}.
 *
 * <p>Why one pack rather than an entry per class: the JVM opens an agent jar on every start, and each of ~500 entries
 * cost its central-directory walk; each class read from its own entry was a look-up and an inflation. The pack's
 * layout, written by the build's {@code AgentJarPacker}: {@code int count}, then {@code count} records of three ints
 * (name offset, class offset, class length; sorted by name), then each name as a {@code u2} length and its ASCII
 * binary name, then the class files. Offsets count from the start of the pack. Only the index stays in memory; each
 * class is one positioned read of the stored entry. Class files are served as streams
 * ({@link #getResourceAsStream}), not as URLs.
 *
 * <p>It is also the door between the two sides, typed with JDK interfaces alone: {@code Agent}'s static initializer
 * hands it the agent's entry point ({@link #accept}), which {@link AgentEntry} then calls. No reflection: the first
 * {@code Method.invoke} of a JVM spins method handles, 17 ms of every start on JDK 25.
 */
final class AgentClassLoader extends ClassLoader implements Consumer<BiFunction<String, Object[], Object>> {

    static final String RESOURCES = "io/tcphardening/classes/";
    static final String PACK = "io/tcphardening/classes.pack";
    private static final String AGENT = "io.tcphardening.agent.Agent";
    private static final int RECORD = 12;

    private static AgentClassLoader instance;

    static {
        registerAsParallelCapable();
    }

    private final JarFile jar;
    private final JarEntry pack;
    /** The pack's count, records and names: everything before the first class file. */
    private final byte[] index;
    private final URL jarUrl;
    private final ProtectionDomain domain;
    private volatile BiFunction<String, Object[], Object> agent;

    private AgentClassLoader(Path jarPath) throws IOException {
        super("tcp-hardening-agent", ClassLoader.getPlatformClassLoader());
        this.jar = new JarFile(jarPath.toFile(), false);
        this.pack = jar.getJarEntry(PACK);
        if (pack == null) {
            throw new IOException(jarPath + " has no " + PACK);
        }
        try (DataInputStream in = new DataInputStream(jar.getInputStream(pack))) {
            // the index (count, records, names) ends where the first class file starts: the first record's offset
            int count = in.readInt();
            byte[] start = new byte[4 + Math.min(count, 1) * RECORD];
            writeInt(start, 0, count);
            in.readFully(start, 4, start.length - 4);
            this.index = Arrays.copyOf(start, count == 0 ? start.length : readInt(start, 4 + 4));
            in.readFully(index, start.length, index.length - start.length);
        }
        this.jarUrl = jarPath.toUri().toURL();
        this.domain = new ProtectionDomain(new CodeSource(jarUrl, (Certificate[]) null), null, this, null);
    }

    /** One loader per JVM, so that a second attach finds the running agent instead of starting a second one. */
    static synchronized AgentClassLoader get(Path jarPath) throws IOException {
        if (instance == null) {
            instance = new AgentClassLoader(jarPath);
        }
        return instance;
    }

    /** The agent's entry point: a command ({@code start} or {@code main}) and its arguments. */
    BiFunction<String, Object[], Object> agent() throws ClassNotFoundException {
        if (agent == null) {
            Class.forName(AGENT, true, this);  // its static initializer calls accept
        }
        return agent;
    }

    /** Called once, by {@code Agent}'s static initializer; later calls change nothing. */
    @Override
    public synchronized void accept(BiFunction<String, Object[], Object> entryPoint) {
        if (agent == null) {
            agent = entryPoint;
        }
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        byte[] bytes;
        try {
            bytes = classFile(name);
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
        if (bytes == null) {
            throw new ClassNotFoundException(name);
        }
        try {
            return defineClass(name, bytes, 0, bytes.length, domain);
        } catch (LinkageError e) {
            // Another agent's transformer runs inside defineClass; if it opens a socket, the agent's hooks run there
            // and may need this very class: then this thread has defined it meanwhile, and this second definition
            // is refused as a duplicate. The class is there, and it is the same: use it.
            Class<?> defined = findLoadedClass(name);
            if (defined == null) {
                throw e;
            }
            return defined;
        }
    }

    /** The class file of the binary name {@code name} from the pack, or null if the pack has none. */
    private byte[] classFile(String name) throws IOException {
        int record = find(name);
        if (record < 0) {
            return null;
        }
        int offset = readInt(index, record + 4);
        byte[] bytes = new byte[readInt(index, record + 8)];
        try (InputStream in = jar.getInputStream(pack)) {
            long skipped = 0;
            while (skipped < offset) {
                long step = in.skip(offset - skipped);
                if (step <= 0) {
                    throw new IOException(PACK + " ends before " + name);
                }
                skipped += step;
            }
            new DataInputStream(in).readFully(bytes);
        }
        return bytes;
    }

    /** Binary search of the sorted names; returns the record's position in the index, or -1. */
    private int find(String name) {
        int low = 0;
        int high = readInt(index, 0) - 1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            int record = 4 + middle * RECORD;
            int order = compare(name, readInt(index, record));
            if (order == 0) {
                return record;
            }
            if (order < 0) {
                high = middle - 1;
            } else {
                low = middle + 1;
            }
        }
        return -1;
    }

    /** {@code name} against the ASCII name at {@code at} (a {@code u2} length, then the bytes), as the packer sorts. */
    private int compare(String name, int at) {
        int length = ((index[at] & 0xff) << 8) | (index[at + 1] & 0xff);
        int common = Math.min(length, name.length());
        for (int i = 0; i < common; i++) {
            int difference = name.charAt(i) - (index[at + 2 + i] & 0xff);
            if (difference != 0) {
                return difference;
            }
        }
        return name.length() - length;
    }

    private static int readInt(byte[] bytes, int at) {
        return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
                | (bytes[at + 3] & 0xff);
    }

    private static void writeInt(byte[] bytes, int at, int value) {
        bytes[at] = (byte) (value >>> 24);
        bytes[at + 1] = (byte) (value >>> 16);
        bytes[at + 2] = (byte) (value >>> 8);
        bytes[at + 3] = (byte) value;
    }

    @Override
    protected URL findResource(String name) {
        if (jar.getJarEntry(RESOURCES + name) == null) {
            return null;
        }
        try {
            return new URL("jar:" + jarUrl + "!/" + RESOURCES + name);
        } catch (IOException e) {
            // a MalformedURLException, not named: each exception class named here is loaded at every JVM's start
            return null;
        }
    }

    /** Class files from the pack, other resources straight from the jar: no {@code jar:} URL machinery. */
    @Override
    public InputStream getResourceAsStream(String name) {
        try {
            if (name.endsWith(".class")) {
                byte[] bytes = classFile(name.substring(0, name.length() - ".class".length()).replace('/', '.'));
                if (bytes != null) {
                    return new ByteArrayInputStream(bytes);
                }
            } else {
                JarEntry entry = jar.getJarEntry(RESOURCES + name);
                if (entry != null) {
                    return jar.getInputStream(entry);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return super.getResourceAsStream(name);
    }

    @Override
    protected Enumeration<URL> findResources(String name) {
        URL url = findResource(name);
        return url == null ? Collections.emptyEnumeration() : Collections.enumeration(Collections.singletonList(url));
    }
}
