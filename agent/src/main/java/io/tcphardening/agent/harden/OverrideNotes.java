package io.tcphardening.agent.harden;

import io.tcphardening.agent.settings.TcpOption;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Remembers, per socket, which application values the agent replaced, so that each is reported once: with the
 * connection's line if the application set it before the connection was made, else in a line of its own.
 *
 * <p>Entries exist only for sockets whose application wrote one of the five options, and are weak: a closed and
 * forgotten socket leaves nothing behind. Socket objects do not override {@code equals}, so this is by identity.
 */
final class OverrideNotes {

    private static final class Note {
        int reported;
        StringBuilder pending;
    }

    private final Map<Object, Note> notes = new WeakHashMap<>();
    /** Whether any note was ever taken: spares every connection a synchronized look-up in the common case. */
    private volatile boolean any;

    /**
     * Records that the application's value of an option was replaced.
     *
     * @param connected whether the socket's connection line has been written already
     * @return true if the caller should report it now in a line of its own
     */
    synchronized boolean replaced(Object socket, TcpOption option, String description, boolean connected) {
        any = true;
        Note note = notes.computeIfAbsent(socket, s -> new Note());
        int bit = 1 << option.ordinal();
        if ((note.reported & bit) != 0) {
            return false;
        }
        note.reported |= bit;
        if (connected) {
            return true;
        }
        if (note.pending == null) {
            note.pending = new StringBuilder(description);
        } else {
            note.pending.append(", ").append(description);
        }
        return false;
    }

    /** The connection's line is being written: returns the replacements to add to it, or null. */
    String takePending(Object socket) {
        if (!any) {
            return null;
        }
        synchronized (this) {
            Note note = notes.get(socket);
            if (note == null || note.pending == null) {
                return null;
            }
            String pending = note.pending.toString();
            note.pending = null;
            return pending;
        }
    }
}
