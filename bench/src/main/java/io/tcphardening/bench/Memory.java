package io.tcphardening.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.AsynchronousServerSocketChannel;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Opens and closes {@code count} connections (Socket, SocketChannel and AsynchronousSocketChannel in turn); after
 * {@code checkpoint} of them and after all, collects garbage and prints what is retained:
 * {@code at N heap BYTES metaspace BYTES classes N}.
 */
public final class Memory {

    private Memory() {
    }

    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        int checkpoint = args.length > 1 ? Integer.parseInt(args[1]) : count;
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 50, loopback);
             ServerSocketChannel channelServer = ServerSocketChannel.open();
             AsynchronousServerSocketChannel asyncServer = AsynchronousServerSocketChannel.open()) {
            channelServer.bind(new InetSocketAddress(loopback, 0));
            asyncServer.bind(new InetSocketAddress(loopback, 0));
            for (int i = 1; i <= count; i++) {
                switch (i % 3) {
                    case 0:
                        try (Socket client = new Socket(loopback, server.getLocalPort());
                             Socket accepted = server.accept()) {
                            client.setKeepAlive(false);  // as pgjdbc does: exercises the agent's override notes
                        }
                        break;
                    case 1:
                        try (SocketChannel client = SocketChannel.open(channelServer.getLocalAddress());
                             SocketChannel accepted = channelServer.accept()) {
                            accepted.isOpen();
                        }
                        break;
                    default:
                        Future<AsynchronousSocketChannel> acceptance = asyncServer.accept();
                        try (AsynchronousSocketChannel client = AsynchronousSocketChannel.open()) {
                            client.connect(asyncServer.getLocalAddress()).get(10, TimeUnit.SECONDS);
                            acceptance.get(10, TimeUnit.SECONDS).close();
                        }
                }
                if (i == checkpoint || i == count) {
                    retained(i);
                }
            }
        }
    }

    private static void retained(int connections) throws InterruptedException {
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
        System.out.println("at " + connections + " heap " + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage()
                .getUsed() + " metaspace " + metaspace + " classes "
                + ManagementFactory.getClassLoadingMXBean().getLoadedClassCount());
    }
}
