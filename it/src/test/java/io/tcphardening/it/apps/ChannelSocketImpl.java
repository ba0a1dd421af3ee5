package io.tcphardening.it.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.StandardSocketOptions;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * An application's own {@link SocketImpl}, as some libraries ship one (to add tracing, or to run sockets over another
 * transport): this one carries its connections over JDK {@code SocketChannel}s. It never touches the platform
 * implementation the agent hooks, so {@code java.net.Socket} only sees this class; whatever hardening its connections
 * get comes through the channels underneath.
 */
class ChannelSocketImpl extends SocketImpl {

    private SocketChannel channel;
    private ServerSocketChannel server;
    private boolean stream;

    @Override
    protected void create(boolean stream) throws IOException {
        this.stream = stream;
    }

    @Override
    protected void connect(String host, int port) throws IOException {
        connect(new InetSocketAddress(host, port), 0);
    }

    @Override
    protected void connect(InetAddress address, int port) throws IOException {
        connect(new InetSocketAddress(address, port), 0);
    }

    @Override
    protected void connect(SocketAddress remote, int timeout) throws IOException {
        if (!stream) {
            throw new SocketException("ChannelSocketImpl supports stream sockets only");
        }
        channel = SocketChannel.open();
        channel.connect(remote);
        connected();
    }

    private void connected() throws IOException {
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
        localport = local.getPort();
        address = remote.getAddress();
        port = remote.getPort();
    }

    @Override
    protected void bind(InetAddress host, int port) throws IOException {
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(host, port));
        localport = ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    @Override
    protected void listen(int backlog) {
        // the channel listens from bind on
    }

    @Override
    protected void accept(SocketImpl accepted) throws IOException {
        ChannelSocketImpl impl = (ChannelSocketImpl) accepted;
        impl.channel = server.accept();
        impl.connected();
    }

    @Override
    protected InputStream getInputStream() throws IOException {
        return Channels.newInputStream(channel);
    }

    @Override
    protected OutputStream getOutputStream() throws IOException {
        return Channels.newOutputStream(channel);
    }

    @Override
    protected int available() {
        return 0;
    }

    @Override
    protected void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected void sendUrgentData(int data) throws IOException {
        throw new SocketException("no urgent data");
    }

    @Override
    public void setOption(int optionId, Object value) throws SocketException {
        try {
            if (optionId == SO_KEEPALIVE && channel != null) {
                channel.setOption(StandardSocketOptions.SO_KEEPALIVE, (Boolean) value);
            }
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
    }

    @Override
    public Object getOption(int optionId) throws SocketException {
        try {
            switch (optionId) {
                case SO_KEEPALIVE:
                    return channel == null ? Boolean.FALSE : channel.getOption(StandardSocketOptions.SO_KEEPALIVE);
                case SO_BINDADDR:
                    return channel == null ? null : ((InetSocketAddress) channel.getLocalAddress()).getAddress();
                case SO_TIMEOUT:
                    return 0;
                default:
                    return null;
            }
        } catch (IOException e) {
            throw new SocketException(e.getMessage());
        }
    }
}
