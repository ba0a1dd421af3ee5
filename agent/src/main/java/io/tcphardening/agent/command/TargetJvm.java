package io.tcphardening.agent.command;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.ConnectException;
import java.net.SocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Properties;
import net.bytebuddy.agent.ByteBuddyAgent;

/**
 * The process that {@code attach} and {@code inspect} act on: checked from {@code /proc} before anything is sent to
 * it, and reached through the JVM's attach mechanism. Attaching goes through Byte Buddy's attachment providers, which
 * pick the JDK's {@code jdk.attach} module where this Java has it; their emulation for a JRE needs JNA on Linux, which
 * the agent does not bundle, so a JRE is told to use a JDK's {@code java}. Every failure is one sentence for the
 * operator ({@link Failure}), never a stack trace.
 */
final class TargetJvm {

    /** Why the command cannot act on the process, in the operator's words. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message, null, false, false);
        }
    }

    final long pid;
    private final Path proc;

    private TargetJvm(long pid) {
        this.pid = pid;
        this.proc = Paths.get("/proc", Long.toString(pid));
    }

    /** A process that exists and that this user may act on; {@link #isJvm} tells whether it is a JVM. */
    static TargetJvm of(String pidText) throws Failure {
        long pid;
        try {
            pid = Long.parseLong(pidText);
        } catch (NumberFormatException e) {
            throw new Failure("'" + pidText + "' is not a process id");
        }
        TargetJvm target = new TargetJvm(pid);
        if (pid <= 0 || !Files.isDirectory(target.proc)) {
            throw new Failure("there is no process " + pidText);
        }
        long own = effectiveUid(Paths.get("/proc/self"));
        long theirs = effectiveUid(target.proc);
        if (own != 0 && own != theirs) {
            throw new Failure("process " + pid + " belongs to user " + target.owner() + " (uid " + theirs
                    + "): only that user or root may attach to it or read its sockets; run the command as that user"
                    + " (sudo -u " + target.owner() + " java -jar ...) or as root");
        }
        return target;
    }

    /** Whether the HotSpot (or OpenJ9) JVM library is mapped into the process. */
    boolean isJvm() throws Failure {
        try {
            List<String> maps = Files.readAllLines(proc.resolve("maps"), StandardCharsets.ISO_8859_1);
            for (String line : maps) {
                if (line.endsWith("/libjvm.so") || line.endsWith("/libj9vm29.so")) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            throw new Failure("cannot read " + proc.resolve("maps") + ": " + e.getMessage());
        }
    }

    String owner() {
        try {
            return Files.getOwner(proc).getName();
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * Attaches, loads {@code agentJar} with {@code agentArgs} unless the jar is null, reads the JVM's agent properties
     * and detaches. Reading them is a read-only request (jcmd makes the same).
     */
    Properties attach(Path agentJar, String agentArgs) throws Failure {
        ByteBuddyAgent.AttachmentProvider.Accessor accessor = ByteBuddyAgent.AttachmentProvider.DEFAULT.attempt();
        if (!accessor.isAvailable()) {
            throw new Failure("this Java (" + System.getProperty("java.home") + ") cannot attach to a JVM: it has no"
                    + " jdk.attach module (a JRE?); run the command with a JDK's java");
        }
        removeStaleAttachSocket();
        Class<?> type = accessor.getVirtualMachineType();
        Object vm = invoke(type, "attach", null, new Class<?>[] {String.class}, Long.toString(pid));
        try {
            if (agentJar != null) {
                invoke(type, "loadAgent", vm, new Class<?>[] {String.class, String.class}, agentJar.toString(),
                        agentArgs);
            }
            return (Properties) invoke(type, "getAgentProperties", vm, new Class<?>[0]);
        } finally {
            try {
                invoke(type, "detach", vm, new Class<?>[0]);
            } catch (Failure ignored) {
                // the JVM went away after answering: nothing left to release
            }
        }
    }

    /**
     * A JVM killed without its exit (SIGKILL, OOM killer) leaves its attach socket, {@code /tmp/.java_pid<PID>}, behind;
     * a later process given the same pid then looks reachable, and the JDK's attach connects to the dead socket and
     * fails ("Connection refused") instead of asking the JVM to open a new one. So a socket file that refuses a
     * connection is removed first: a live JVM's file is renamed into place only once it listens. Java 16 and later
     * (Unix-domain channels); on an older {@code java} the JDK's attach alone decides.
     */
    private void removeStaleAttachSocket() {
        Path socket = proc.resolve("root/tmp/.java_pid" + namespacePid());
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        SocketAddress address;
        try {
            address = (SocketAddress) Class.forName("java.net.UnixDomainSocketAddress").getMethod("of", Path.class)
                    .invoke(null, socket);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return;
        }
        try (SocketChannel answered = SocketChannel.open(address)) {
            return;  // a live attach listener
        } catch (ConnectException refused) {
            try {
                Files.deleteIfExists(socket);
                System.err.println("tcp-hardening-agent: removed " + socket + ", a stale attach socket of an earlier"
                        + " process " + pid + " that refused connections");
            } catch (IOException e) {
                // the JDK's attach reports what follows
            }
        } catch (IOException e) {
            // not ours to judge: the JDK's attach reports what follows
        }
    }

    /** The process's pid inside its own pid namespace (a container's), which names its attach socket. */
    private String namespacePid() {
        try {
            String[] pids = status(proc, "NSpid:");
            if (pids != null) {
                return pids[pids.length - 1];
            }
        } catch (IOException e) {
            // the JDK's attach reports what follows
        }
        return Long.toString(pid);  // no NSpid line (an old kernel): the pid is the same everywhere
    }

    private Object invoke(Class<?> type, String name, Object vm, Class<?>[] parameters, Object... args)
            throws Failure {
        Method method;
        try {
            method = type.getMethod(name, parameters);
        } catch (NoSuchMethodException e) {
            throw new Failure("the attach support of this Java (" + type.getName() + ") has no " + name);
        }
        try {
            return method.invoke(vm, args);
        } catch (InvocationTargetException e) {
            throw explain(e.getCause());
        } catch (IllegalAccessException e) {
            throw new Failure("the attach support of this Java cannot be used: " + e.getMessage());
        }
    }

    /** The JDK's attach exceptions, as what the operator can do about them. */
    private Failure explain(Throwable cause) {
        String type = cause.getClass().getSimpleName();
        String message = String.valueOf(cause.getMessage());
        if (message.contains("does not support the attach mechanism")) {
            return new Failure("JVM " + pid + " refuses attach: it was started with -XX:+DisableAttachMechanism");
        }
        if (message.contains("doesn't respond") || message.contains("not respond")) {
            return new Failure("JVM " + pid + " did not answer the attach request within 10 s: attach is disabled"
                    + " there (-XX:+DisableAttachMechanism) or the JVM is not responding");
        }
        if (message.contains("No such process") || !Files.isDirectory(proc)) {
            return new Failure("process " + pid + " ended");
        }
        if (message.contains("Operation not permitted") || message.contains("Permission denied")) {
            return new Failure("not permitted to attach to JVM " + pid + " of user " + owner() + ": run the command"
                    + " as that user or as root");
        }
        if (type.equals("AgentLoadException") || type.equals("AgentInitializationException")) {
            return new Failure("JVM " + pid + " could not load the agent: " + message);
        }
        return new Failure("cannot attach to JVM " + pid + ": " + type + ": " + message);
    }

    /** The effective uid from {@code /proc/PID/status} ("Uid: real effective saved fs"). */
    private static long effectiveUid(Path proc) throws Failure {
        try {
            String[] uids = status(proc, "Uid:");
            if (uids != null) {
                return Long.parseLong(uids[1]);
            }
        } catch (IOException | RuntimeException e) {
            throw new Failure("cannot read " + proc.resolve("status") + ": " + e.getMessage());
        }
        throw new Failure(proc.resolve("status") + " names no user");
    }

    /** The fields of the line of {@code /proc/PID/status} that starts with {@code name}, or null if none does. */
    private static String[] status(Path proc, String name) throws IOException {
        for (String line : Files.readAllLines(proc.resolve("status"), StandardCharsets.ISO_8859_1)) {
            if (line.startsWith(name)) {
                return line.substring(name.length()).trim().split("\\s+");
            }
        }
        return null;
    }
}
