package io.tcphardening.agent;

import java.net.InetSocketAddress;
import jdk.jfr.FlightRecorder;

/**
 * Records a {@link HardenedConnectionEvent} per hardened connection when a flight recording wants it, and costs next
 * to nothing when none does. Whether JFR is in the runtime at all (a jlinked image or a modular application may lack
 * {@code jdk.jfr}) is decided once, on the agent's thread ({@link #prepare}), which also loads
 * {@code FlightRecorder}, one small class. Each connection then asks {@code FlightRecorder.isInitialized()}, a
 * static field: until some recording has started, nothing else of JFR is loaded, not even the event class. Once a
 * recorder exists, each connection asks the event whether it is enabled, JFR's own cheap check.
 */
final class ConnectionEvents {

    private static final int UNKNOWN = 0;
    private static final int ABSENT = 1;
    private static final int PRESENT = 2;

    private volatile int jfr = UNKNOWN;

    /** Off the application's path: is JFR there, and load what {@link #wanted} needs. */
    void prepare() {
        jfr();
    }

    private int jfr() {
        int state = jfr;
        if (state == UNKNOWN) {
            state = ModuleLayer.boot().findModule("jdk.jfr").isPresent() ? PRESENT : ABSENT;
            if (state == PRESENT) {
                FlightRecorder.isInitialized();
            }
            jfr = state;
        }
        return state;
    }

    /** Whether a running recording has {@code tcphardening.Connection} enabled. */
    boolean wanted() {
        return jfr() == PRESENT && FlightRecorder.isInitialized() && new HardenedConnectionEvent().isEnabled();
    }

    /** One event with the values read back from the kernel ({@link Settings#UNCHANGED} where one could not be). */
    void record(String kind, boolean accepted, InetSocketAddress local, InetSocketAddress remote, int[] values) {
        HardenedConnectionEvent event = new HardenedConnectionEvent();
        event.kind = kind;
        event.direction = accepted ? "accept" : "connect";
        event.localAddress = host(local);
        event.localPort = local == null ? -1 : local.getPort();
        event.remoteAddress = host(remote);
        event.remotePort = remote == null ? -1 : remote.getPort();
        event.keepAlive = values[TcpOption.KEEPALIVE.ordinal()] > 0;
        event.keepAliveIdle = values[TcpOption.KEEPIDLE.ordinal()];
        event.keepAliveInterval = values[TcpOption.KEEPINTVL.ordinal()];
        event.keepAliveCount = values[TcpOption.KEEPCNT.ordinal()];
        event.userTimeout = values[TcpOption.USER_TIMEOUT.ordinal()];
        event.commit();
    }

    /** The numeric address, never a name: an event must not cause a DNS look-up. */
    private static String host(InetSocketAddress address) {
        if (address == null) {
            return null;
        }
        return address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
    }
}
