package io.tcphardening.it.apps;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.instrument.Instrumentation;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Another agent, listed before ours: its premain opens and closes connections, so that the JDK's socket classes are
 * loaded, linked and used before our agent starts, and must be retransformed.
 */
public final class EarlySocketAgent {

    private EarlySocketAgent() {
    }

    public static void premain(String args, Instrumentation inst) {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, loopback);
             Socket client = new Socket(loopback, server.getLocalPort()); Socket accepted = server.accept();
             ServerSocketChannel channelServer = ServerSocketChannel.open();
             SocketChannel channel = SocketChannel.open(channelServer.bind(null).getLocalAddress());
             SocketChannel channelAccepted = channelServer.accept()) {
            System.out.println("EARLY-AGENT-RAN");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
