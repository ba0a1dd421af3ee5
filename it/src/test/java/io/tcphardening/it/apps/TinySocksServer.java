package io.tcphardening.it.apps;

import java.io.Closeable;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A SOCKS5 proxy on loopback, just enough for {@code new Socket(new Proxy(Proxy.Type.SOCKS, ...))}: no
 * authentication, CONNECT to an IPv4 address or a name, no relaying (the test only needs the connections to exist).
 */
final class TinySocksServer implements Closeable {

    private final ServerSocket server;
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    TinySocksServer(InetAddress host) throws IOException {
        server = new ServerSocket(0, 50, host);
        Thread thread = new Thread(this::serve, "socks-server");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    private void serve() {
        try {
            while (true) {
                Socket client = server.accept();
                open.add(client);
                DataInputStream in = new DataInputStream(client.getInputStream());
                OutputStream out = client.getOutputStream();
                in.readUnsignedByte();  // version 5
                in.readFully(new byte[in.readUnsignedByte()]);  // the methods offered
                out.write(new byte[] {5, 0});  // no authentication
                in.readFully(new byte[3]);  // version, CONNECT, reserved
                String host;
                int type = in.readUnsignedByte();
                if (type == 1) {
                    byte[] address = new byte[4];
                    in.readFully(address);
                    host = InetAddress.getByAddress(address).getHostAddress();
                } else {
                    byte[] name = new byte[in.readUnsignedByte()];
                    in.readFully(name);
                    host = new String(name, java.nio.charset.StandardCharsets.US_ASCII);
                }
                int port = in.readUnsignedShort();
                Socket target = new Socket(host, port);
                open.add(target);
                byte[] bound = target.getLocalAddress().getAddress();
                out.write(new byte[] {5, 0, 0, 1, bound[0], bound[1], bound[2], bound[3],
                        (byte) (target.getLocalPort() >> 8), (byte) target.getLocalPort()});
                out.flush();
            }
        } catch (IOException e) {
            // closed at the end of the application
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
    }
}
