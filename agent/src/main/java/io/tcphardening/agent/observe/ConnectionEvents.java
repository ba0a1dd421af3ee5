package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.TcpOption;
import java.net.InetSocketAddress;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * Records a {@link HardenedConnectionEvent} per hardened connection when a flight recording wants it, and costs next
 * to nothing when none does. Whether JFR is in the runtime at all (a jlinked image or a modular application may lack
 * {@code jdk.jfr}) is decided once, on the agent's thread ({@link #prepare}), which also loads
 * {@code FlightRecorder}, one small class. Each connection then asks {@code FlightRecorder.isInitialized()}, a
 * static field: until some recording has started, nothing else of JFR is loaded.
 *
 * <p>Once a recorder exists, the event class is still not loaded until a running recording's settings enable
 * {@code tcphardening.Connection}: loading it makes JFR instrument it, measured at several milliseconds on JDK 17 and
 * tens on JDK 25, which a JVM with an ordinary continuous recording must not pay on its first connection.
 * {@link EnablingRecordings} follows the recordings through JFR's listener; from the first enabling recording on, the
 * event's own {@code isEnabled()}, JFR's cheap check, decides.
 */
public final class ConnectionEvents {

    private static final int UNKNOWN = 0;
    private static final int ABSENT = 1;
    private static final int PRESENT = 2;

    /** A recording's setting that turns the event on, as a .jfc file or JFR.start writes it. */
    private static final String ENABLED_SETTING = "tcphardening.Connection#enabled";

    private volatile int jfr = UNKNOWN;
    private volatile EnablingRecordings recordings;

    /** Whether JFR is there, found out once (the first hardened connection asks). */
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
    public boolean wanted() {
        if (jfr() != PRESENT || !FlightRecorder.isInitialized()) {
            return false;
        }
        EnablingRecordings current = recordings;
        if (current == null) {
            current = watchRecordings();
        }
        return current.seen && new HardenedConnectionEvent().isEnabled();
    }

    private synchronized EnablingRecordings watchRecordings() {
        if (recordings == null) {
            recordings = EnablingRecordings.watch();
        }
        return recordings;
    }

    /**
     * Whether a recording that enables the event has been seen running, from JFR's notifications: the recorder's
     * (at once, when added) and each recording's change of state. Sticky: the event class, once loaded, answers
     * exactly, also for settings changed later on a running recording.
     */
    private static final class EnablingRecordings implements FlightRecorderListener {
        volatile boolean seen;

        /**
         * Here, not in the outer class: passing this class as a {@code FlightRecorderListener} makes the verifier
         * load that JFR interface with the class that does it, and a runtime without {@code jdk.jfr} (a slim jlinked
         * image) must be able to load the outer class.
         */
        static EnablingRecordings watch() {
            EnablingRecordings watching = new EnablingRecordings();
            FlightRecorder.addListener(watching);  // calls recorderInitialized at once: the recorder exists
            return watching;
        }

        @Override
        public void recorderInitialized(FlightRecorder recorder) {
            look(recorder);
        }

        @Override
        public void recordingStateChanged(Recording recording) {
            look(FlightRecorder.getFlightRecorder());
        }

        private void look(FlightRecorder recorder) {
            for (Recording recording : recorder.getRecordings()) {
                if (recording.getState() == RecordingState.RUNNING
                        && "true".equals(recording.getSettings().get(ENABLED_SETTING))) {
                    seen = true;
                }
            }
        }
    }

    /** One event with the values read back from the kernel ({@link Settings#UNCHANGED} where one could not be). */
    public void record(String kind, boolean accepted, InetSocketAddress local, InetSocketAddress remote, int[] values,
                       String rule) {
        HardenedConnectionEvent event = new HardenedConnectionEvent();
        event.kind = kind;
        event.rule = rule;
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
