package io.tcphardening.bench;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** The small application of the start-up benchmark: opens one loopback connection and exits. */
public final class OneConnection {

    private OneConnection() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, loopback);
             Socket client = new Socket(loopback, server.getLocalPort());
             Socket accepted = server.accept()) {
            client.getOutputStream().write(1);
            accepted.getInputStream().read();
        }
    }
}
