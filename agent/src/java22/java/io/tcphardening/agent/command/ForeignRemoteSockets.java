package io.tcphardening.agent.command;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link RemoteSockets} through {@code java.lang.foreign}: libc's {@code syscall} for {@code pidfd_open} and
 * {@code pidfd_getfd} (glibc before 2.36 has no wrappers for them), {@code getsockopt} and {@code close}, with
 * {@code errno} captured. Compiled for Java 22; used by the {@code inspect} command only, which the jar's manifest
 * ({@code Enable-Native-Access: ALL-UNNAMED}) allows these calls without a warning.
 */
final class ForeignRemoteSockets implements RemoteSockets {

    /** The same on every Linux architecture but alpha: both came after the numbers were unified (424 and up). */
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;
    private static final int EPERM = 1;
    private static final int ESRCH = 3;
    private static final int EBADF = 9;
    private static final int ENOSYS = 38;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURED = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURED.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** long syscall(long number, ...): the arguments after the number are variadic, passed as longs. */
    private static final MethodHandle SYSCALL = downcall("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    /** int getsockopt(int fd, int level, int name, void *value, socklen_t *length). */
    private static final MethodHandle GETSOCKOPT = downcall("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final long pid;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment errno = arena.allocate(CAPTURED);
    private final MemorySegment value = arena.allocate(JAVA_INT);
    private final MemorySegment length = arena.allocate(JAVA_INT);
    private int pidfd = -1;

    private ForeignRemoteSockets(long pid) {
        this.pid = pid;
    }

    static RemoteSockets open(long pid) throws IOException {
        ForeignRemoteSockets sockets = new ForeignRemoteSockets(pid);
        sockets.pidfd = (int) sockets.syscall(SYS_PIDFD_OPEN, pid, 0);
        if (sockets.pidfd < 0) {
            int error = sockets.errno();
            sockets.close();
            throw new IOException(error == ESRCH ? "there is no process " + pid
                    : error == ENOSYS ? "this kernel has no pidfd_open (Linux 5.3+ and pidfd_getfd, 5.6+, are needed)"
                    : "pidfd_open(" + pid + ") failed with errno " + error);
        }
        return sockets;
    }

    @Override
    public int duplicate(int fd) throws IOException {
        int duplicate = (int) syscall(SYS_PIDFD_GETFD, pidfd, fd);
        if (duplicate >= 0) {
            return duplicate;
        }
        int error = errno();
        if (error == EBADF) {
            return -1;
        }
        if (error == EPERM) {
            throw new IOException("not permitted to read the sockets of process " + pid + ": that needs root,"
                    + " CAP_SYS_PTRACE, or its own user where kernel.yama.ptrace_scope is 0");
        }
        throw new IOException(error == ENOSYS ? "this kernel has no pidfd_getfd (Linux 5.6+ is needed)"
                : "pidfd_getfd(" + pid + ", " + fd + ") failed with errno " + error);
    }

    @Override
    public int option(int duplicate, int level, int name) throws IOException {
        value.set(JAVA_INT, 0, 0);
        length.set(JAVA_INT, 0, (int) JAVA_INT.byteSize());
        int result;
        try {
            result = (int) GETSOCKOPT.invokeExact(errno, duplicate, level, name, value, length);
        } catch (Throwable t) {
            throw new IOException("getsockopt: " + t, t);
        }
        if (result != 0) {
            throw new IOException("getsockopt(" + level + ", " + name + ") failed with errno " + errno());
        }
        return value.get(JAVA_INT, 0);
    }

    @Override
    public void release(int duplicate) {
        try {
            int result = (int) CLOSE.invokeExact(duplicate);
        } catch (Throwable ignored) {
            // a descriptor of this process only: nothing of the other process depends on it
        }
    }

    @Override
    public void close() {
        if (pidfd >= 0) {
            release(pidfd);
            pidfd = -1;
        }
        arena.close();
    }

    private long syscall(long number, long first, long second) throws IOException {
        try {
            return (long) SYSCALL.invokeExact(errno, number, first, second, 0L);
        } catch (Throwable t) {
            throw new IOException("syscall " + number + ": " + t, t);
        }
    }

    private int errno() {
        return (int) ERRNO.get(errno, 0L);
    }

    private static MethodHandle downcall(String function, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment address = LINKER.defaultLookup().find(function)
                .orElseThrow(() -> new IllegalStateException("libc has no " + function));
        return LINKER.downcallHandle(address, descriptor, options);
    }
}
