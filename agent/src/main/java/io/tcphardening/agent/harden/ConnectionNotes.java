package io.tcphardening.agent.harden;

import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.TcpOption;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * What the agent remembers of one socket between its hooks: the rule decided for it, the values the application
 * wrote itself (which a policy other than {@code replace} weighs at every later write of the agent's), and which of
 * the application's values were reported, so that each is reported once: with the connection's line if the
 * application set it before the connection was made, else in a line of its own.
 *
 * <p>Entries exist only for sockets that need one (rules configured, a policy that keeps values, a value replaced),
 * and are weak: a closed and forgotten socket leaves nothing behind. Socket objects do not override {@code equals},
 * so this is by identity. A Netty channel is noted under the channel, never its config.
 */
final class ConnectionNotes {

    /** No value written by the application. */
    static final int NONE = Integer.MIN_VALUE;

    private static final class Note {
        Decision decision;
        int written;
        final int[] values = new int[TcpOption.ALL.length];
        int reported;
        StringBuilder pending;
    }

    private final Map<Object, Note> notes = new WeakHashMap<>();
    /** Whether any note was ever taken: spares every connection a synchronized look-up in the common case. */
    private volatile boolean any;
    /** Whether the application ever wrote one of the options: with rules, decisions are noted but values rarely. */
    private volatile boolean written;

    private Note note(Object socket) {
        any = true;
        Note note = notes.get(socket);
        if (note == null) {
            note = new Note();  // not computeIfAbsent: a lambda spins a class at its first use, a connection's
            notes.put(socket, note);
        }
        return note;
    }

    /** The rule decided for the socket, to be used by its later hooks. */
    synchronized void decided(Object socket, Decision decision) {
        note(socket).decision = decision;
    }

    /** The rule decided for the socket, or null if none was (yet). */
    Decision decision(Object socket) {
        if (!any) {
            return null;
        }
        synchronized (this) {
            Note note = notes.get(socket);
            return note == null ? null : note.decision;
        }
    }

    /** Whether anything is noted for the socket. */
    boolean hasNote(Object socket) {
        if (!any) {
            return false;
        }
        synchronized (this) {
            return notes.containsKey(socket);
        }
    }

    synchronized void applicationWrote(Object socket, TcpOption option, int value) {
        written = true;
        Note note = note(socket);
        note.written |= 1 << option.ordinal();
        note.values[option.ordinal()] = value;
    }

    /** The application's values by option ({@link #NONE} where it wrote none), or null if it wrote none. */
    int[] applicationValues(Object socket) {
        if (!written) {
            return null;
        }
        synchronized (this) {
            Note note = notes.get(socket);
            if (note == null || note.written == 0) {
                return null;
            }
            int[] values = new int[TcpOption.ALL.length];
            for (TcpOption option : TcpOption.ALL) {
                values[option.ordinal()] = (note.written & 1 << option.ordinal()) != 0 ? note.values[option.ordinal()]
                        : NONE;
            }
            return values;
        }
    }

    /**
     * Records that the agent decided about an application's value of an option (replaced it, or let it stand).
     *
     * @param connected whether the socket's connection line has been written already
     * @return true if the caller should report it now in a line of its own
     */
    synchronized boolean decidedValue(Object socket, TcpOption option, String description, boolean connected) {
        Note note = note(socket);
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

    /** The connection's line is being written: returns the decisions to add to it, or null. */
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
