package io.tcphardening.boot;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.Collections;
import java.util.Enumeration;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Loads the agent and its relocated Byte Buddy and tinylog from {@code io/tcphardening/classes/} inside the agent jar,
 * where class files are stored as {@code .classdata}. The application's class loader, which has the jar on its class
 * path, therefore cannot load any of them, and the agent cannot see the application's classes: isolation both ways.
 * The parent is the platform loader, so the agent sees the JDK's modules and nothing else.
 *
 * <p>It is also the door between the two sides, typed with JDK interfaces alone: {@code Agent}'s static initializer
 * hands it the agent's entry point ({@link #accept}), which {@link AgentEntry} then calls. No reflection: the first
 * {@code Method.invoke} of a JVM spins method handles, 17 ms of every start on JDK 25.
 */
final class AgentClassLoader extends ClassLoader implements Consumer<BiFunction<String, Object[], Object>> {

    static final String PREFIX = "io/tcphardening/classes/";
    private static final String AGENT = "io.tcphardening.agent.Agent";

    private static AgentClassLoader instance;

    static {
        registerAsParallelCapable();
    }

    private final JarFile jar;
    private final URL jarUrl;
    private final ProtectionDomain domain;
    private volatile BiFunction<String, Object[], Object> agent;

    private AgentClassLoader(Path jarPath) throws IOException {
        super("tcp-hardening-agent", ClassLoader.getPlatformClassLoader());
        this.jar = new JarFile(jarPath.toFile(), false);
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
        JarEntry entry = jar.getJarEntry(PREFIX + name.replace('.', '/') + ".classdata");
        if (entry == null) {
            throw new ClassNotFoundException(name);
        }
        byte[] bytes;
        try (InputStream in = jar.getInputStream(entry)) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
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

    @Override
    protected URL findResource(String name) {
        String entryName = PREFIX + (name.endsWith(".class") ? name + "data" : name);
        if (jar.getJarEntry(entryName) == null) {
            return null;
        }
        try {
            return new URL("jar:" + jarUrl + "!/" + entryName);
        } catch (MalformedURLException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Straight from the jar: no {@code jar:} URL machinery on the start-up path. */
    @Override
    public InputStream getResourceAsStream(String name) {
        JarEntry entry = jar.getJarEntry(PREFIX + (name.endsWith(".class") ? name + "data" : name));
        if (entry == null) {
            return super.getResourceAsStream(name);
        }
        try {
            return jar.getInputStream(entry);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    protected Enumeration<URL> findResources(String name) {
        URL url = findResource(name);
        return url == null ? Collections.emptyEnumeration() : Collections.enumeration(Collections.singletonList(url));
    }
}
