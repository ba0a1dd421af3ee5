package io.tcphardening.agent.live;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
