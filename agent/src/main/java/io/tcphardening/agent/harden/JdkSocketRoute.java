package io.tcphardening.agent.harden;

import java.io.FileDescriptor;

/**
 * How the agent writes and reads the options of a JDK socket that {@link JdkSocketAccess#locked} holds open. Chosen
 * once at start: the JDK's own setsockopt natives ({@link NativeSocketOptions}), or, on a JDK that has moved them,
 * each socket object's own {@code setOption} ({@link JdkApiSocketOptions}), which has no TCP_USER_TIMEOUT.
 */
public interface JdkSocketRoute {

    /** The socket as an {@link OpenSocket}; valid only while the socket's lock is held. */
    OpenSocket open(Object socket, FileDescriptor fd);

    /** What this route cannot do, for one line at start; null if it does everything. */
    String limitation();
}
