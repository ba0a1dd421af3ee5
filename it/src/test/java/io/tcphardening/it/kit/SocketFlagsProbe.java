package io.tcphardening.it.kit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the family, type and SO_KEEPALIVE flag of every socket of another process that is not TCP, through
 * {@code socket_flags_probe} (C, {@code pidfd_getfd} + getsockopt): what the agent must never have written to.
 */
public final class SocketFlagsProbe {

    private SocketFlagsProbe() {
    }

    public static List<OtherSocket> read(long pid) {
        List<OtherSocket> sockets = new ArrayList<>();
        for (String line : CProgram.outputLines("socket_flags_probe", Long.toString(pid))) {
            sockets.add(new OtherSocket(line));
        }
        return sockets;
    }

    /** One socket that is not TCP, as the kernel has it. */
    public static final class OtherSocket {
        public final int fd;
        /** unix, inet, inet6 or the number. */
        public final String family;
        /** stream, dgram, seqpacket or the number. */
        public final String type;
        public final boolean keepAlive;

        OtherSocket(String line) {
            Map<String, String> fields = new HashMap<>();
            for (String field : line.trim().split(" ")) {
                int eq = field.indexOf('=');
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
            fd = Integer.parseInt(fields.get("fd"));
            family = fields.get("family");
            type = fields.get("type");
            keepAlive = fields.get("keepalive").equals("1");
        }

        @Override
        public String toString() {
            return "fd " + fd + " " + family + " " + type + " keepalive=" + keepAlive;
        }
    }
}
