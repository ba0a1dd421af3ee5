package io.tcphardening.it.apps;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Opens and closes {@code N} loopback connections one after the other, prints {@code DONE N}, and exits at once. */
public final class ConnectionLoopApp {

    private ConnectionLoopApp() {
    }

    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, loopback)) {
            for (int i = 0; i < count; i++) {
                try (Socket client = new Socket(loopback, server.getLocalPort()); Socket accepted = server.accept()) {
                    client.getOutputStream().write(1);
                    accepted.getInputStream().read();
                }
            }
        }
        System.out.println("DONE " + count);
    }
}
