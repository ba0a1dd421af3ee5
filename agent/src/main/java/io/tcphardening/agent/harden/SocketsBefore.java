package io.tcphardening.agent.harden;

import java.io.File;
import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * The sockets that were open when the settings in force took effect: the only ones whose options the agent's own hooks
 * may not have written. A socket created later got its values from the agent microseconds before it connects, under
 * the JDK's close lock, and the application's writes since went through the agent too; reading all five back then
 * only costs the connection five system calls (issue 21). Sockets that predate the settings are read back and
 * corrected as before.
 *
 * <p>Three cases. {@link #NONE}: the agent started before any JDK socket class was used (the common start), so every
 * socket, and every listener whose connections inherit its options, had the agent's hook. A listing, taken at an
 * attach, at a replacement of the settings, or at a start after another agent already used sockets: the descriptor
 * numbers open then. A number in it may be a socket from before (or a later socket that reuses a number; read back
 * needlessly, never wrongly); and since a listener from before hands on its own options to everything it accepts,
 * accepted connections are always read back. {@link #UNKNOWN}: no listing (yet), everything is read back.
 */
final class SocketsBefore {

    static final SocketsBefore NONE = new SocketsBefore(new int[0], null);
    static final SocketsBefore UNKNOWN = new SocketsBefore(null, null);

    /** Sorted descriptor numbers, or null for "any". */
    private final int[] descriptors;
    /** {@code sun.nio.ch.IOUtil.fdVal}: a descriptor's number. Null where no number is ever looked up. */
    private final MethodHandle number;

    private SocketsBefore(int[] descriptors, MethodHandle number) {
        this.descriptors = descriptors;
        this.number = number;
    }

    /** The sockets this process has open now, from {@code /proc/self/fd}. */
    static SocketsBefore listed(MethodHandles.Lookup ioUtil) throws IOException, ReflectiveOperationException {
        String[] names = new File("/proc/self/fd").list();
        if (names == null) {
            throw new IOException("/proc/self/fd cannot be listed");
        }
        int[] found = new int[names.length];
        int count = 0;
        for (String name : names) {
            try {
                if (Files.readSymbolicLink(Paths.get("/proc/self/fd", name)).toString().startsWith("socket:")) {
                    found[count++] = Integer.parseInt(name);
                }
            } catch (IOException closedMeanwhile) {
                // not there any more: not a socket from before
            }
        }
        if (count == 0) {
            return NONE;
        }
        int[] sockets = Arrays.copyOf(found, count);
        Arrays.sort(sockets);
        Class<?> io = ioUtil.lookupClass();
        return new SocketsBefore(sockets, ioUtil.findStatic(io, "fdVal",
                MethodType.methodType(int.class, FileDescriptor.class)));
    }

    /** Whether no socket predates the settings: then none need be looked up. */
    boolean isNone() {
        return descriptors != null && descriptors.length == 0;
    }

    /** Whether a socket that connected on {@code fd} may predate the settings (its options are then read back). */
    boolean mayPredate(FileDescriptor fd) {
        if (descriptors == null) {
            return true;
        }
        if (descriptors.length == 0) {
            return false;
        }
        try {
            return Arrays.binarySearch(descriptors, (int) number.invokeExact(fd)) >= 0;
        } catch (Throwable t) {
            return true;
        }
    }

    /**
     * Whether the listener of an accepted connection may predate the settings: it may carry other values than the
     * agent's, which the connection inherited.
     */
    boolean listenerMayPredate() {
        return descriptors == null || descriptors.length > 0;
    }
}
