package io.tcphardening.agent.live;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The TCP sockets a process holds open, as {@code /proc} describes them: every descriptor of {@code /proc/PID/fd} that
 * links to {@code socket:[INODE]}, joined by inode with {@code /proc/PID/net/tcp} and {@code tcp6} (the tables of the
 * process's own network namespace) for state and addresses. Plain file reads: nothing of the process is touched.
 *
 * <p>A listing is a snapshot. A descriptor listed here may be closed, and its number reused, a moment later: whoever
 * acts on one must first take a duplicate of it and check that the duplicate still is {@link #link the same socket}.
 */
public final class ProcTcpSockets {

    /** One TCP socket behind one descriptor number of the process. */
    public static final class Entry {
        public final int fd;
        public final long inode;
        public final String state;
        public final InetSocketAddress local;
        /** Null for a socket without a peer (a listener). */
        public final InetSocketAddress remote;

        Entry(int fd, long inode, String state, InetSocketAddress local, InetSocketAddress remote) {
            this.fd = fd;
            this.inode = inode;
            this.state = state;
            this.local = local;
            this.remote = remote;
        }

        public boolean listening() {
            return state.equals("LISTEN");
        }
    }

    /** The kernel's TCP states by number (include/net/tcp_states.h). */
    private static final String[] STATES = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

    private ProcTcpSockets() {
        // no instances
    }

    /** What a descriptor of a socket links to in {@code /proc/PID/fd}: the identity checked after duplicating it. */
    public static String link(long inode) {
        return "socket:[" + inode + "]";
    }

    /** The TCP sockets of process {@code pid}, ordered by descriptor number. */
    public static List<Entry> of(long pid) throws IOException {
        Path proc = Paths.get("/proc", Long.toString(pid));
        Map<Long, String[]> tcp = tables(proc);
        List<Entry> sockets = new ArrayList<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (NoSuchFileException closedMeanwhile) {
                    continue;
                }
                if (!target.startsWith("socket:[")) {
                    continue;
                }
                long inode = Long.parseLong(target.substring(8, target.length() - 1));
                String[] row = tcp.get(inode);
                if (row != null) {
                    sockets.add(new Entry(Integer.parseInt(fd.getFileName().toString()), inode, state(row[3]),
                            address(row[1]), row[3].equals("0A") ? null : address(row[2])));
                }
            }
        }
        sockets.sort((a, b) -> Integer.compare(a.fd, b.fd));
        return sockets;
    }

    /**
     * Whether each TCP socket of this process, by inode, is in a keepalive probe cycle or retransmitting: the columns
     * {@code timeout} (icsk_probes_out, decimal) and {@code retrnsmt} (icsk_retransmits, hex).
     */
    public static Map<Long, Boolean> probingOrRetransmitting() throws IOException {
        Map<Long, Boolean> sockets = new HashMap<>();
        for (Map.Entry<Long, String[]> row : tables(Paths.get("/proc/self")).entrySet()) {
            String[] f = row.getValue();
            sockets.put(row.getKey(), Integer.parseInt(f[8]) != 0 || Long.parseLong(f[6], 16) != 0);
        }
        return sockets;
    }

    /** The rows of {@code net/tcp} and {@code tcp6} under {@code proc}, by inode. */
    private static Map<Long, String[]> tables(Path proc) throws IOException {
        Map<Long, String[]> tcp = new HashMap<>();
        readTable(proc.resolve("net/tcp"), tcp);
        readTable(proc.resolve("net/tcp6"), tcp);
        return tcp;
    }

    /** Rows by inode; columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ... */
    private static void readTable(Path table, Map<Long, String[]> rows) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(table, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException noIpv6) {
            return;
        }
        for (int i = 1; i < lines.size(); i++) {
            String[] fields = lines.get(i).trim().split("\\s+");
            if (fields.length > 9) {
                long inode = Long.parseLong(fields[9]);
                if (inode != 0) {  // TIME_WAIT and orphaned sockets have none, and no descriptor either
                    rows.put(inode, fields);
                }
            }
        }
    }

    private static String state(String hex) {
        int number = Integer.parseInt(hex, 16);
        return number < STATES.length ? STATES[number] : hex;
    }

    /**
     * "0100007F:1F90": the address as the kernel's 32-bit words, each printed in this machine's byte order (little
     * endian on the platforms the agent runs on), then the port. An IPv4-mapped IPv6 address becomes IPv4.
     */
    static InetSocketAddress address(String field) {
        int colon = field.indexOf(':');
        String hex = field.substring(0, colon);
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                int at = word * 8 + (3 - i) * 2;
                bytes[word * 4 + i] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
            }
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes),
                    Integer.parseInt(field.substring(colon + 1), 16));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address: " + field, e);
        }
    }

    /** "127.0.0.1:8080" or "[::1]:8080", never a host name (no DNS look-up); "-" for none. */
    public static String format(InetSocketAddress address) {
        if (address == null) {
            return "-";
        }
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
