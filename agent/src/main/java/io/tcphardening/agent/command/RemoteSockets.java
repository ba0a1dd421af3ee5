package io.tcphardening.agent.command;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;

/**
 * Socket descriptors of another process, duplicated into this one ({@code pidfd_open} + {@code pidfd_getfd}, Linux
 * 5.6+) and read with {@code getsockopt}: the kernel's values, whatever runs in that process. A duplicate is the same
 * socket, and it stays that socket until this process closes it, even if the other process closes its descriptor.
 *
 * <p>Needs the right to ptrace the process: root, {@code CAP_SYS_PTRACE}, or its own user where
 * {@code kernel.yama.ptrace_scope} is 0. Implemented with {@code java.lang.foreign} by {@code ForeignRemoteSockets},
 * compiled for Java 22 from {@code src/java22} and loaded only on 22 or newer: no native library of the agent's own.
 */
interface RemoteSockets extends AutoCloseable {

    /** The first Java release whose {@code java.lang.foreign} is final. */
    int JAVA_RELEASE = 22;

    /** The implementation, compiled only where a JDK 22+ was found at build time (agent/pom.xml). */
    String IMPLEMENTATION = "io.tcphardening.agent.command.ForeignRemoteSockets";

    /** A duplicate of the process's descriptor {@code fd}, or -1 if the process no longer has it open. */
    int duplicate(int fd) throws IOException;

    /** {@code getsockopt} of an int option on a duplicate. */
    int option(int duplicate, int level, int name) throws IOException;

    /** Closes a duplicate. */
    void release(int duplicate);

    /** Closes the process handle. */
    @Override
    void close();

    /** Whether this build of the agent has the implementation; looked up as a resource, it loads nothing. */
    static boolean isBuilt() {
        // a stream, not getResource: the agent's loader serves its class files as streams only
        try (InputStream in = RemoteSockets.class.getClassLoader().getResourceAsStream(
                IMPLEMENTATION.replace('.', '/') + ".class")) {
            return in != null;
        } catch (IOException e) {
            return false;
        }
    }

    static RemoteSockets open(long pid) throws IOException {
        if (Runtime.version().feature() < JAVA_RELEASE) {
            throw new IOException("reading another process's sockets needs Java " + JAVA_RELEASE + " or newer");
        }
        try {
            return (RemoteSockets) Class.forName(IMPLEMENTATION, true,
                    RemoteSockets.class.getClassLoader()).getDeclaredMethod("open", long.class).invoke(null, pid);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IOException) {
                throw (IOException) e.getCause();
            }
            throw new IOException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IOException("the agent jar lacks its Java " + JAVA_RELEASE + " part: " + e);
        }
    }
}
