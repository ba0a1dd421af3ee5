package io.tcphardening.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Opens and closes {@code count} connections (half Socket, half SocketChannel), then collects garbage and prints
 * what is retained: {@code heap BYTES metaspace BYTES classes N}.
 */
public final class Memory {

    private Memory() {
    }

    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, loopback);
             ServerSocketChannel channelServer = ServerSocketChannel.open()) {
            channelServer.bind(new java.net.InetSocketAddress(loopback, 0));
            for (int i = 0; i < count / 2; i++) {
                try (Socket client = new Socket(loopback, server.getLocalPort()); Socket accepted = server.accept()) {
                    client.setKeepAlive(false);  // as pgjdbc does: exercises the agent's override notes
                }
                try (SocketChannel client = SocketChannel.open(channelServer.getLocalAddress());
                     SocketChannel accepted = channelServer.accept()) {
                    accepted.isOpen();
                }
            }
        }
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
        }
        long metaspace = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getName().equals("Metaspace")) {
                metaspace = pool.getUsage().getUsed();
            }
        }
        System.out.println("heap " + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed()
                + " metaspace " + metaspace + " classes "
                + ManagementFactory.getClassLoadingMXBean().getLoadedClassCount());
    }
}
