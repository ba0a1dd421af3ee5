package io.tcphardening.it.kit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the options the kernel holds for every TCP socket of another process, through {@code sockopt_probe} (C,
 * {@code pidfd_getfd} + getsockopt): a path that shares no code with the JVM or the agent.
 */
public final class KernelProbe {

    private KernelProbe() {
    }

    public static List<KernelSocket> read(long pid) {
        List<KernelSocket> sockets = new ArrayList<>();
        for (String line : CProgram.outputLines("sockopt_probe", Long.toString(pid))) {
            sockets.add(KernelSocket.parse(line));
        }
        return sockets;
    }

    /** One TCP socket of the probed process, as the kernel has it. */
    public static final class KernelSocket {
        public final int fd;
        public final String family;
        /** {@code tcp}, or {@code mptcp} for a Multipath TCP socket. */
        public final String protocol;
        public final String state;
        public final String local;
        public final int localPort;
        public final String remote;
        public final int remotePort;
        public final boolean keepAlive;
        public final int keepIdle;
        public final int keepIntvl;
        public final int keepCnt;
        public final int userTimeout;

        private KernelSocket(Map<String, String> fields) {
            fd = Integer.parseInt(fields.get("fd"));
            family = fields.get("family");
            protocol = fields.get("protocol");
            state = fields.get("state");
            local = fields.get("local");
            localPort = port(local);
            remote = fields.get("remote");
            remotePort = remote.equals("-") ? -1 : port(remote);
            keepAlive = fields.get("keepalive").equals("1");
            keepIdle = Integer.parseInt(fields.get("keepidle"));
            keepIntvl = Integer.parseInt(fields.get("keepintvl"));
            keepCnt = Integer.parseInt(fields.get("keepcnt"));
            userTimeout = Integer.parseInt(fields.get("user_timeout"));
        }

        static KernelSocket parse(String line) {
            Map<String, String> fields = new HashMap<>();
            for (String field : line.trim().split(" ")) {
                int eq = field.indexOf('=');
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
            return new KernelSocket(fields);
        }

        private static int port(String address) {
            return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        }

        public boolean isListener() {
            return state.equals("LISTEN");
        }

        /** The five values as one comparable text: keepalive idle interval count user_timeout. */
        public String options() {
            return (keepAlive ? 1 : 0) + " " + keepIdle + " " + keepIntvl + " " + keepCnt + " " + userTimeout;
        }

        @Override
        public String toString() {
            return "fd " + fd + " " + protocol + " " + state + " " + local + " -> " + remote + ": keepalive=" + keepAlive + " idle="
                    + keepIdle + " intvl=" + keepIntvl + " cnt=" + keepCnt + " user_timeout=" + userTimeout;
        }
    }
}
