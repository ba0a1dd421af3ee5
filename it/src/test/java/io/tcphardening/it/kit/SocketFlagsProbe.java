package io.tcphardening.it.kit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads the family, type and SO_KEEPALIVE flag of every socket of another process that is not TCP, through
 * {@code socket_flags_probe} (C, {@code pidfd_getfd} + getsockopt): what the agent must never have written to.
 */
public final class SocketFlagsProbe {

    private SocketFlagsProbe() {
    }

    public static List<OtherSocket> read(long pid) {
        try {
            Process process = new ProcessBuilder(CProgram.binary("socket_flags_probe").toString(), Long.toString(pid))
                    .start();
            byte[] out = process.getInputStream().readAllBytes();
            byte[] err = process.getErrorStream().readAllBytes();
            if (!process.waitFor(10, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new AssertionError("socket_flags_probe " + pid + " failed: "
                        + new String(err, StandardCharsets.UTF_8));
            }
            List<OtherSocket> sockets = new ArrayList<>();
            for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    sockets.add(new OtherSocket(line));
                }
            }
            return sockets;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
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
