package io.tcphardening.agent.settings;

/**
 * The five socket options the agent manages: their configuration key, their Linux level and number, their unit and
 * range, and the name hooked code passes for them (matched by name, so that the agent needs neither the
 * {@code jdk.net} module nor a reference to Netty's option classes).
 */
public enum TcpOption {
    KEEPALIVE("keepalive", "SO_KEEPALIVE", 1, 9, Unit.BOOLEAN, 0, 1, "SO_KEEPALIVE"),
    KEEPIDLE("keepalive.idle", "TCP_KEEPIDLE", 6, 4, Unit.SECONDS, 1, 32767, "TCP_KEEPIDLE"),
    KEEPINTVL("keepalive.interval", "TCP_KEEPINTVL", 6, 5, Unit.SECONDS, 1, 32767, "TCP_KEEPINTERVAL"),
    KEEPCNT("keepalive.count", "TCP_KEEPCNT", 6, 6, Unit.COUNT, 1, 127, "TCP_KEEPCOUNT"),
    USER_TIMEOUT("user_timeout", "TCP_USER_TIMEOUT", 6, 18, Unit.MILLISECONDS, 0, Integer.MAX_VALUE, "TCP_USER_TIMEOUT");

    public enum Unit { BOOLEAN, SECONDS, COUNT, MILLISECONDS }

    /** The key in {@code agent.properties}. */
    public final String key;
    /** The Linux name, used in log lines. */
    public final String linuxName;
    /** {@code setsockopt} level: SOL_SOCKET (1) or IPPROTO_TCP (6). */
    public final int level;
    public final int number;
    public final Unit unit;
    /** The kernel's range, in the kernel's unit. */
    public final int min;
    public final int max;
    /**
     * The name hooked code passes for this option: {@code SocketOption.name()} of the JDK's option where the JDK has
     * one (it has none for TCP_USER_TIMEOUT), and the same names for Netty's config setters.
     */
    final String jdkName;

    TcpOption(String key, String linuxName, int level, int number, Unit unit, int min, int max, String jdkName) {
        this.key = key;
        this.linuxName = linuxName;
        this.level = level;
        this.number = number;
        this.unit = unit;
        this.min = min;
        this.max = max;
        this.jdkName = jdkName;
    }

    public static final TcpOption[] ALL = values();

    /** A kernel value written the way an operator writes it in {@code agent.properties}. */
    public String format(int value) {
        // not a switch: a switch on an enum compiles to one more class, loaded at every start
        if (unit == Unit.BOOLEAN) {
            return value != 0 ? "true" : "false";
        }
        if (unit == Unit.SECONDS) {
            return value + "s";
        }
        return unit == Unit.MILLISECONDS ? value + "ms" : Integer.toString(value);
    }

    /** The kernel value as the JDK's {@code setOption} expects it: Boolean for SO_KEEPALIVE, else Integer. */
    public Object toJdkValue(int value) {
        return unit == Unit.BOOLEAN ? Boolean.valueOf(value != 0) : Integer.valueOf(value);
    }

    /** The kernel value of a JDK option value, or {@code Integer.MIN_VALUE} if it is of no type the JDK accepts. */
    public int fromJdkValue(Object value) {
        if (unit == Unit.BOOLEAN && value instanceof Boolean) {
            return (Boolean) value ? 1 : 0;
        }
        if (unit != Unit.BOOLEAN && value instanceof Integer) {
            return (Integer) value;
        }
        return Integer.MIN_VALUE;
    }

    public static TcpOption byJdkName(String name) {
        for (TcpOption option : ALL) {
            if (name.equals(option.jdkName)) {
                return option;
            }
        }
        return null;
    }
}
