package io.tcphardening.agent.live;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code /proc/net/tcp} decoding, against literal rows and against this JVM's own sockets. */
class ProcTcpSocketsTest {

    @Test
    void decodesAddressesAsTheKernelPrintsThem() {
        assertEquals("127.0.0.1:8080", ProcTcpSockets.format(ProcTcpSockets.address("0100007F:1F90")));
        assertEquals("[0:0:0:0:0:0:0:1]:80",
                ProcTcpSockets.format(ProcTcpSockets.address("00000000000000000000000001000000:0050")));
        // IPv4-mapped, as the JDK's dual-stack sockets show: written as the IPv4 address
        assertEquals("127.0.0.1:41000",
                ProcTcpSockets.format(ProcTcpSockets.address("0000000000000000FFFF00000100007F:A028")));
        assertEquals("-", ProcTcpSockets.format(null));
    }

    @Test
    void findsThisJvmsListenerByItsDescriptor() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<ProcTcpSockets.Entry> sockets = ProcTcpSockets.of(ProcessHandle.current().pid());
            assertTrue(sockets.stream().anyMatch(s -> s.listening() && s.remote == null
                    && s.local.equals(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()))),
                    "listener on " + server.getLocalPort() + " among " + sockets.size() + " sockets");
        }
    }

    /** An idle loopback connection, both ends: listed, neither probing nor retransmitting. */
    @Test
    void anIdleConnectionIsNeitherProbingNorRetransmitting() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket accepted = server.accept()) {
            List<ProcTcpSockets.Entry> sockets = ProcTcpSockets.of(ProcessHandle.current().pid());
            Map<Long, Boolean> busy = ProcTcpSockets.probingOrRetransmitting();
            int ends = 0;
            for (ProcTcpSockets.Entry socket : sockets) {
                if (socket.remote != null && (socket.local.getPort() == client.getLocalPort()
                        || socket.remote.getPort() == client.getLocalPort())) {
                    assertFalse(busy.get(socket.inode), "idle end " + ProcTcpSockets.format(socket.local));
                    ends++;
                }
            }
            assertEquals(2, ends, "both ends of the connection listed among " + sockets.size() + " sockets");
        }
    }
}
