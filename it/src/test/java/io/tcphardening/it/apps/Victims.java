package io.tcphardening.it.apps;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.ProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Unrelated sockets opened right after a race closed a TCP socket, so that they take its descriptor number (the
 * kernel hands out the lowest free one): UDP and Unix-domain sockets, alternately. Any option the agent wrote to
 * the number it saw would land on one of them; SO_KEEPALIVE, a generic socket flag, would stay set, and the test
 * reads it from outside before they are closed. Kept open until {@link #closeAll}, so none escapes that check.
 */
final class Victims {

    private final ProtocolFamily unix;
    /** {@code SocketChannel.open(ProtocolFamily)}, JDK 15+ (this class is compiled for JDK 11). */
    private final Method openWithFamily;
    private final List<AbstractInterruptibleChannel> open = new ArrayList<>();
    private int opened;

    Victims() throws ReflectiveOperationException {
        this.unix = OddSocketsApp.unixFamily();
        this.openWithFamily = SocketChannel.class.getMethod("open", ProtocolFamily.class);
    }

    /** Opens one; returns its descriptor number. */
    synchronized int open() throws IOException {
        AbstractInterruptibleChannel victim;
        try {
            victim = opened++ % 2 == 0 ? DatagramChannel.open() : (SocketChannel) openWithFamily.invoke(null, unix);
        } catch (ReflectiveOperationException e) {
            throw new IOException(e);
        }
        open.add(victim);
        return DescriptorNumbers.of(victim);
    }

    synchronized void closeAll() throws IOException {
        for (AbstractInterruptibleChannel victim : open) {
            victim.close();
        }
        open.clear();
    }
}
