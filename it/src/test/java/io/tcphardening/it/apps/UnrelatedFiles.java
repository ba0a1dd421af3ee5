package io.tcphardening.it.apps;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fixed set of descriptors that are not TCP, open for a whole run: connected Unix-domain sockets, UDP sockets, a
 * pipe and regular files. The test reads the sockets' SO_KEEPALIVE from outside (it must stay off); {@link #verify}
 * checks that the files still hold what was written and that the pipe and sockets still carry data.
 */
final class UnrelatedFiles implements Closeable {

    private static final byte[] CONTENT = "unrelated file, must not change\n".getBytes(StandardCharsets.UTF_8);

    private final List<Closeable> open = new ArrayList<>();
    private final List<SocketChannel[]> unixPairs = new ArrayList<>();
    private final List<DatagramChannel> udp = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();
    private final List<java.nio.channels.FileChannel> fileChannels = new ArrayList<>();
    private final Pipe pipe;

    UnrelatedFiles() throws Exception {
        Path dir = Files.createTempDirectory("tcph-unrelated");
        dir.toFile().deleteOnExit();  // registered first, deleted last
        dir.resolve("socket").toFile().deleteOnExit();
        SocketAddress address = (SocketAddress) Class.forName("java.net.UnixDomainSocketAddress")
                .getMethod("of", Path.class).invoke(null, dir.resolve("socket"));
        ServerSocketChannel server = (ServerSocketChannel) ServerSocketChannel.class
                .getMethod("open", java.net.ProtocolFamily.class).invoke(null, OddSocketsApp.unixFamily());
        server.bind(address);
        open.add(server);
        for (int i = 0; i < 2; i++) {
            SocketChannel client = SocketChannel.open(address);
            SocketChannel accepted = server.accept();
            unixPairs.add(new SocketChannel[] {client, accepted});
            open.add(client);
            open.add(accepted);
        }
        for (int i = 0; i < 3; i++) {
            DatagramChannel channel = DatagramChannel.open().bind(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            udp.add(channel);
            open.add(channel);
        }
        pipe = Pipe.open();
        open.add(pipe.sink());
        open.add(pipe.source());
        for (int i = 0; i < 2; i++) {
            Path file = dir.resolve("file-" + i);
            file.toFile().deleteOnExit();
            Files.write(file, CONTENT);
            files.add(file);
            java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file);
            fileChannels.add(channel);
            open.add(channel);
        }
    }

    /** Null if everything is as it was, else what changed. */
    String verify() throws IOException {
        for (int i = 0; i < files.size(); i++) {
            ByteBuffer content = ByteBuffer.allocate(CONTENT.length + 1);
            fileChannels.get(i).read(content, 0);
            if (content.position() != CONTENT.length || !Files.readString(files.get(i)).equals(
                    new String(CONTENT, StandardCharsets.UTF_8))) {
                return files.get(i) + " changed";
            }
        }
        pipe.sink().write(ByteBuffer.wrap(new byte[] {42}));
        ByteBuffer one = ByteBuffer.allocate(1);
        pipe.source().read(one);
        if (one.get(0) != 42) {
            return "the pipe lost its data";
        }
        for (SocketChannel[] pair : unixPairs) {
            pair[0].write(ByteBuffer.wrap(new byte[] {7}));
            one.clear();
            pair[1].read(one);
            if (one.get(0) != 7) {
                return "a Unix-domain socket lost its data";
            }
        }
        for (DatagramChannel channel : udp) {
            channel.send(ByteBuffer.wrap(new byte[] {9}), channel.getLocalAddress());
            one.clear();
            channel.receive(one);
            if (one.get(0) != 9) {
                return "a UDP socket lost its data";
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        for (Closeable closeable : open) {
            closeable.close();
        }
    }
}
