package io.tcphardening.agent.observe;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/**
 * One connection the agent hardened, in a flight recording beside the application's own socket events: off unless a
 * recording enables {@code tcphardening.Connection}. Only {@link ConnectionEvents} touches this class, and only once
 * a recorder exists, so that an application without a recording loads nothing of JFR for it.
 */
@Name("tcphardening.Connection")
@Label("Hardened TCP Connection")
@Description("A TCP connection whose keepalive and user timeout options the tcp-hardening agent confirmed, with"
        + " the values read back from the kernel")
@Category({"Java Application", "TCP Hardening"})
@Enabled(false)
@StackTrace(false)
final class HardenedConnectionEvent extends Event {

    @Label("Kind")
    @Description("Socket, SocketChannel, AsynchronousSocketChannel, Netty epoll, ...")
    String kind;

    @Label("Direction")
    @Description("connect or accept")
    String direction;

    @Label("Local Address")
    String localAddress;

    @Label("Local Port")
    int localPort;

    @Label("Remote Address")
    String remoteAddress;

    @Label("Remote Port")
    int remotePort;

    @Label("Rule")
    @Description("The rule that chose the values (rule.NAME.match), or default when none matched")
    String rule;

    @Label("SO_KEEPALIVE")
    boolean keepAlive;

    @Label("TCP_KEEPIDLE")
    @Description("Idle time before the first keepalive probe; -1 if it could not be read")
    @Timespan(Timespan.SECONDS)
    long keepAliveIdle;

    @Label("TCP_KEEPINTVL")
    @Description("Time between keepalive probes; -1 if it could not be read")
    @Timespan(Timespan.SECONDS)
    long keepAliveInterval;

    @Label("TCP_KEEPCNT")
    @Description("Unanswered keepalive probes that end the connection; -1 if it could not be read")
    int keepAliveCount;

    @Label("TCP_USER_TIMEOUT")
    @Description("How long data may stay unacknowledged; 0 is the kernel's default, -1 if it could not be read")
    @Timespan(Timespan.MILLISECONDS)
    long userTimeout;
}
