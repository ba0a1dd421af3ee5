package io.tcphardening.it.apps;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Prints MAIN-RAN, opens one loopback connection, and reports which of the given class names the application's class
 * loader can load: {@code VISIBLE name} or {@code HIDDEN name}.
 */
public final class HelloApp {

    private HelloApp() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("MAIN-RAN");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket accepted = server.accept()) {
            System.out.println("CONNECTED " + client.getKeepAlive());
        }
        for (String name : args) {
            try {
                Class.forName(name, false, HelloApp.class.getClassLoader());
                System.out.println("VISIBLE " + name);
            } catch (ClassNotFoundException e) {
                System.out.println("HIDDEN " + name);
            }
        }
    }
}
