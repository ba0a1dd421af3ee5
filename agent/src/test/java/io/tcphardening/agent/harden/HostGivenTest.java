package io.tcphardening.agent.harden;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The host name a rule's {@code host=} glob sees: the one the application gave, never a look-up, never a literal. */
class HostGivenTest {

    private static final byte[] V4 = {10, 1, 2, 3};
    private static final byte[] V6 = {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

    @Test
    void aNameGivenByTheApplicationIsSeen() throws UnknownHostException {
        assertEquals("db1.example", SocketHardener.hostGiven(InetAddress.getByAddress("db1.example", V4)));
        assertEquals("1password.example", SocketHardener.hostGiven(InetAddress.getByAddress("1password.example", V6)));
        assertEquals("Search-2.Example.COM",
                SocketHardener.hostGiven(InetAddress.getByAddress("Search-2.Example.COM", V4)));
    }

    @Test
    void anAddressWithoutANameHasNone() throws UnknownHostException {
        assertNull(SocketHardener.hostGiven(InetAddress.getByAddress(V4)));
        assertNull(SocketHardener.hostGiven(InetAddress.getByAddress(V6)));
        assertNull(SocketHardener.hostGiven(new InetSocketAddress("10.1.2.3", 5432).getAddress()));
        assertNull(SocketHardener.hostGiven(new InetSocketAddress("fd00::1", 5432).getAddress()));
    }

    /** Netty's channels keep the text the application connected with as the name, a literal too. */
    @Test
    void aLiteralKeptAsTheNameIsNoName() throws UnknownHostException {
        assertNull(SocketHardener.hostGiven(InetAddress.getByAddress("10.1.2.3", V4)));
        assertNull(SocketHardener.hostGiven(InetAddress.getByAddress("fd00:0:0:0:0:0:0:1", V6)));
        assertNull(SocketHardener.hostGiven(InetAddress.getByAddress("fd00::1", V6)));
    }
}
