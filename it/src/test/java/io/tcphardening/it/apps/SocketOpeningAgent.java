package io.tcphardening.it.apps;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Another agent, listed before or after ours, that connects at awkward moments: in its premain, and inside its
 * {@code ClassFileTransformer} while a class is being loaded: the first class it sees at all (listed before ours, a
 * class the JVM loads to open our jar; after ours, whatever comes next, on JDK 25 one of our agent's classes on its
 * log thread); every class defined by a class loader other than the JDK's three (our agent's own loader, among
 * others: while our agent is loading its classes, on any of its threads, even inside its own hooks); and the class
 * named by its argument (the application's main class), whose connections it keeps open for the kernel check. A
 * transformer that connects loads classes itself; those loads reach it again, and it ignores them, as any real
 * transformer must.
 */
public final class SocketOpeningAgent {

    private SocketOpeningAgent() {
    }

    /**
     * Argument: the class at whose loading it keeps connections open, and optionally {@code ,register-first}.
     * By default it connects, then registers its transformer. With {@code register-first} it registers its
     * transformer at once and does not connect in premain, so that the JVM's first socket, whoever opens it, is
     * opened under its transformer; it then drops the first-class trigger, which would connect while the JDK's
     * socket classes are half loaded and fail (ClassCircularityError) with or without our agent.
     */
    public static void premain(String args, Instrumentation inst) {
        String[] parts = args.split(",");
        boolean registerFirst = parts.length > 1 && parts[1].equals("register-first");
        Connecting transformer = new Connecting(parts[0].replace('.', '/'), !registerFirst);
        if (!registerFirst) {
            Connections.openAndClose();
            System.out.println("SOCKET-AGENT premain connected");
        }
        inst.addTransformer(transformer);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("SOCKET-AGENT connected while loading "
                + transformer.customLoaderClasses + " classes of other class loaders")));
    }

    private static boolean isJdkLoader(ClassLoader loader) {
        return loader == null || loader == ClassLoader.getPlatformClassLoader()
                || loader == ClassLoader.getSystemClassLoader();
    }

    private static final class Connecting implements ClassFileTransformer {
        private final String keepAtClass;
        private final AtomicBoolean first;
        private final ThreadLocal<Boolean> inside = new ThreadLocal<>();
        final AtomicInteger customLoaderClasses = new AtomicInteger();

        Connecting(String keepAtClass, boolean atFirstClass) {
            this.keepAtClass = keepAtClass;
            this.first = new AtomicBoolean(atFirstClass);
        }

        @Override
        public byte[] transform(ClassLoader loader, String className, Class<?> redefined, ProtectionDomain domain,
                                byte[] bytes) {
            if (inside.get() != null || className == null) {
                return null;
            }
            inside.set(Boolean.TRUE);
            try {
                if (first.compareAndSet(true, false)) {
                    Connections.openAndClose();
                    System.out.println("SOCKET-AGENT connected while loading " + className);
                }
                if (!isJdkLoader(loader)) {
                    Connections.openAndClose();
                    customLoaderClasses.incrementAndGet();
                }
                if (className.equals(keepAtClass)) {
                    Connections.open("transformer");
                    System.out.println("SOCKET-AGENT kept connections opened while loading " + className);
                }
            } catch (RuntimeException | Error e) {
                System.out.println("SOCKET-AGENT failed: " + e);
            } finally {
                inside.remove();
            }
            return null;
        }
    }
}
