package io.tcphardening.it.kit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Fixed ports for a forked application to listen on, so that the agent's rules can name them before it starts:
 * below the kernel's ephemeral range (32768 up), so that no connection's local port lands on one, each free on both
 * loopback addresses when chosen, and never handed out twice by this JVM.
 */
public final class FreePorts {

    private static int next = ThreadLocalRandom.current().nextInt(20_000, 30_000);

    private FreePorts() {
    }

    public static synchronized int next() {
        while (!free(next)) {
            next++;
        }
        if (next >= 32_768) {
            throw new IllegalStateException("no free port below the ephemeral range");
        }
        return next++;
    }

    private static boolean free(int port) {
        for (String address : List.of("127.0.0.1", "::1")) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress(InetAddress.getByName(address), port));
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }
}
