package io.tcphardening.it.apps;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads its networking code through its own child-first class loader (as application servers and plugin systems
 * do), which connects while it is loading a class, holding its own lock (the loader is not parallel capable) and
 * before the class is defined; the loaded class connects again in its static initializer. Two threads load two
 * such classes at once through the same loader. Then {@code READY}; waits for a line.
 */
public final class ChildFirstLoaderApp {

    private ChildFirstLoaderApp() {
    }

    /** Loaded by the child-first loader, not by the application's: connects while being initialised. */
    public static final class Networking {
        static {
            Connections.open("loaded-" + Networking.class.getClassLoader().getClass().getSimpleName());
        }

        public static void touch() {
        }
    }

    /** The second class loaded through the same loader, on another thread. */
    public static final class MoreNetworking {
        static {
            Connections.open("loaded-more");
        }

        public static void touch() {
        }
    }

    /** Defines the application's own classes itself, from the same class path, and connects while doing so. */
    static final class ChildFirst extends URLClassLoader {
        ChildFirst(URL[] path, ClassLoader parent) {
            super(path, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (this) {
                if (!name.startsWith("io.tcphardening.it.apps.") || name.equals(ChildFirstLoaderApp.class.getName())) {
                    return super.loadClass(name, resolve);
                }
                Class<?> loaded = findLoadedClass(name);
                if (loaded == null) {
                    if (name.contains("Networking")) {
                        Connections.openAndClose();
                    }
                    loaded = define(name);
                }
                if (resolve) {
                    resolveClass(loaded);
                }
                return loaded;
            }
        }

        private Class<?> define(String name) throws ClassNotFoundException {
            try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
                if (in == null) {
                    throw new ClassNotFoundException(name);
                }
                byte[] bytes = in.readAllBytes();
                return defineClass(name, bytes, 0, bytes.length);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        URL classes = ChildFirstLoaderApp.class.getProtectionDomain().getCodeSource().getLocation();
        ChildFirst loader = new ChildFirst(new URL[] {classes}, ChildFirstLoaderApp.class.getClassLoader());
        List<Throwable> failures = new ArrayList<>();
        Thread other = new Thread(() -> touch(loader, MoreNetworking.class.getName(), failures), "loader-other");
        other.start();
        touch(loader, Networking.class.getName(), failures);
        other.join();
        Class<?> networking = Class.forName(Networking.class.getName(), false, loader);
        System.out.println("LOADED-BY " + networking.getClassLoader().getClass().getSimpleName() + " "
                + (networking != Networking.class) + " failures " + failures);
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        loader.close();
    }

    private static void touch(ClassLoader loader, String name, List<Throwable> failures) {
        try {
            Class.forName(name, true, loader).getMethod("touch").invoke(null);
        } catch (Throwable t) {
            synchronized (failures) {
                failures.add(t);
            }
        }
    }
}
