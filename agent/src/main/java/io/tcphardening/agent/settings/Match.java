package io.tcphardening.agent.settings;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The connections a rule applies to ({@code rule.NAME.match}): terms separated by whitespace, all of which must hold.
 * {@code connect} or {@code accept}; {@code remote=} addresses and CIDRs, IPv4 or IPv6; {@code port=} remote ports and
 * ranges; {@code local-port=} the listener's ports (accepted connections only); {@code host=} globs matched against
 * the host name the application connected to, where it gave one.
 *
 * <p>Addresses are parsed as literals only: a match never causes a DNS look-up, neither here nor per connection.
 */
public final class Match {

    static final int ANY = 0;
    static final int CONNECT = 1;
    static final int ACCEPT = 2;

    static final String TERMS = "connect, accept, remote=, port=, local-port=, host=";

    private final String text;
    private final int direction;
    /** Each CIDR as its address (4 or 16 bytes, IPv4-mapped addresses as IPv4) and prefix length; null: any. */
    private final byte[][] networks;
    private final int[] prefixes;
    /** Port ranges as pairs of first and last port; null: any. */
    private final int[] ports;
    private final int[] localPorts;
    /** Lower-case globs; null: any. */
    private final String[] hosts;

    private Match(String text, int direction, byte[][] networks, int[] prefixes, int[] ports, int[] localPorts,
                  String[] hosts) {
        this.text = text;
        this.direction = direction;
        this.networks = networks;
        this.prefixes = prefixes;
        this.ports = ports;
        this.localPorts = localPorts;
        this.hosts = hosts;
    }

    /** The match as the operator wrote it, whitespace normalised. */
    @Override
    public String toString() {
        return text;
    }

    public boolean usesRemote() {
        return networks != null || ports != null;
    }

    public boolean usesHost() {
        return hosts != null;
    }

    public boolean usesLocalPort() {
        return localPorts != null;
    }

    /**
     * Whether a connection matches.
     *
     * @param accepted   accepted from a listener (else connected by the application)
     * @param remote     the peer's address, or null if not known
     * @param remotePort the peer's port, or -1
     * @param localPort  for an accepted connection the listener's port, else -1
     * @param host       the host name the application gave, lower case, or null
     */
    public boolean matches(boolean accepted, byte[] remote, int remotePort, int localPort, String host) {
        if (direction != ANY && (direction == ACCEPT) != accepted) {
            return false;
        }
        if (localPorts != null && (!accepted || !inRanges(localPorts, localPort))) {
            return false;
        }
        if (ports != null && !inRanges(ports, remotePort)) {
            return false;
        }
        if (networks != null && (remote == null || !inNetworks(remote))) {
            return false;
        }
        return hosts == null || host != null && anyGlob(host);
    }

    /** The address of {@code address} as this class compares it: IPv4-mapped IPv6 addresses as IPv4. */
    public static byte[] bytes(InetAddress address) {
        return compared(address.getAddress());
    }

    /**
     * The address an IPv4 or IPv6 literal ({@code 10.1.2.3}, {@code fd00::1}, no brackets) names, as this class
     * compares it, or null if the text is not a literal: never a DNS look-up. For {@code check --explain}.
     */
    public static byte[] address(String literal) {
        byte[] bytes = literal(literal);
        return bytes == null ? null : compared(bytes);
    }

    private static byte[] compared(byte[] bytes) {
        return bytes.length == 16 && isMapped(bytes) ? new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]} : bytes;
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }

    private static boolean inRanges(int[] ranges, int port) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (port >= ranges[i] && port <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private boolean inNetworks(byte[] address) {
        for (int i = 0; i < networks.length; i++) {
            if (inNetwork(address, networks[i], prefixes[i])) {
                return true;
            }
        }
        return false;
    }

    private static boolean inNetwork(byte[] address, byte[] network, int prefix) {
        if (address.length != network.length) {
            return false;
        }
        int whole = prefix / 8;
        for (int i = 0; i < whole; i++) {
            if (address[i] != network[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xff << (8 - rest) & 0xff;
        return (address[whole] & mask) == (network[whole] & mask);
    }

    private boolean anyGlob(String host) {
        for (String glob : hosts) {
            if (glob(glob, 0, host, 0)) {
                return true;
            }
        }
        return false;
    }

    /** {@code *} any run of characters, {@code ?} one character; iterative, no back-tracking blow-up. */
    static boolean glob(String glob, int g, String text, int t) {
        int star = -1;
        int resume = 0;
        while (t < text.length()) {
            if (g < glob.length() && (glob.charAt(g) == '?' || glob.charAt(g) == text.charAt(t))) {
                g++;
                t++;
            } else if (g < glob.length() && glob.charAt(g) == '*') {
                star = g++;
                resume = t;
            } else if (star >= 0) {
                g = star + 1;
                t = ++resume;
            } else {
                return false;
            }
        }
        while (g < glob.length() && glob.charAt(g) == '*') {
            g++;
        }
        return g == glob.length();
    }

    /**
     * Whether this match holds for every connection that {@code later} holds for, so that a rule listed after one
     * with this match can never decide anything. Conservative: true only where certain.
     */
    public boolean covers(Match later) {
        // local-port= holds only for accepted connections, whatever direction the match names
        int laterDirection = later.localPorts != null ? ACCEPT : later.direction;
        if (direction != ANY && direction != laterDirection) {
            return false;
        }
        if (localPorts != null && (later.localPorts == null || !rangesInside(later.localPorts, localPorts))) {
            return false;
        }
        if (ports != null && (later.ports == null || !rangesInside(later.ports, ports))) {
            return false;
        }
        if (networks != null) {
            if (later.networks == null) {
                return false;
            }
            for (int i = 0; i < later.networks.length; i++) {
                boolean inside = false;
                for (int j = 0; j < networks.length && !inside; j++) {
                    inside = later.prefixes[i] >= prefixes[j] && inNetwork(later.networks[i], networks[j], prefixes[j]);
                }
                if (!inside) {
                    return false;
                }
            }
        }
        if (hosts != null) {
            if (later.hosts == null) {
                return false;
            }
            for (String glob : later.hosts) {
                boolean inside = false;
                for (String mine : hosts) {
                    inside |= mine.equals("*") || mine.equals(glob) || glob.indexOf('*') < 0 && glob.indexOf('?') < 0
                            && glob(mine, 0, glob, 0);
                }
                if (!inside) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean rangesInside(int[] inner, int[] outer) {
        for (int i = 0; i < inner.length; i += 2) {
            boolean inside = false;
            for (int j = 0; j < outer.length && !inside; j += 2) {
                inside = inner[i] >= outer[j] && inner[i + 1] <= outer[j + 1];
            }
            if (!inside) {
                return false;
            }
        }
        return true;
    }

    // ---- parsing

    /**
     * Parses a match; the exception's message says what is wrong, in the operator's words. Written for the
     * interpreter, where it runs at every start with rules: no lower-casing of whole terms, no lists of boxed values,
     * no {@code String.split}; ten rules' matches took ~1.2 ms interpreted through the JDK's parsers and lists.
     */
    static Match parse(String value) {
        String[] terms = words(value, false);
        if (terms.length == 0) {
            throw new IllegalArgumentException("a match needs at least one term (" + TERMS + ")");
        }
        int direction = ANY;
        byte[][] networks = null;
        int[] prefixes = null;
        int[] ports = null;
        int[] localPorts = null;
        String[] hosts = null;
        StringBuilder text = new StringBuilder(value.length());
        for (String term : terms) {
            text.append(text.length() == 0 ? "" : " ").append(term);
            int eq = term.indexOf('=');
            String name = eq < 0 ? term : term.substring(0, eq);
            String list = eq < 0 ? null : term.substring(eq + 1);
            if ((name.equalsIgnoreCase("connect") || name.equalsIgnoreCase("accept")) && eq < 0) {
                if (direction != ANY) {
                    throw twice(name, eq);
                }
                direction = name.equalsIgnoreCase("connect") ? CONNECT : ACCEPT;
            } else if (name.equalsIgnoreCase("remote") && eq >= 0) {
                if (networks != null) {
                    throw twice(name, eq);
                }
                String[] items = items("remote", list);
                networks = new byte[items.length][];
                prefixes = new int[items.length];
                for (int i = 0; i < items.length; i++) {
                    networks[i] = network(items[i], prefixes, i);
                }
            } else if (name.equalsIgnoreCase("port") && eq >= 0) {
                if (ports != null) {
                    throw twice(name, eq);
                }
                ports = ports("port", list);
            } else if (name.equalsIgnoreCase("local-port") && eq >= 0) {
                if (localPorts != null) {
                    throw twice(name, eq);
                }
                localPorts = ports("local-port", list);
            } else if (name.equalsIgnoreCase("host") && eq >= 0) {
                if (hosts != null) {
                    throw twice(name, eq);
                }
                hosts = items("host", list);
                for (int h = 0; h < hosts.length; h++) {
                    String glob = hosts[h];
                    for (int i = 0; i < glob.length(); i++) {
                        char c = glob.charAt(i);
                        if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.'
                                || c == '-' || c == '_' || c == '*' || c == '?')) {
                            throw new IllegalArgumentException("host=" + glob + " is not a host name glob (letters,"
                                    + " digits, '.', '-', '_', '*' and '?')");
                        }
                    }
                    hosts[h] = glob.toLowerCase(Locale.ROOT);
                }
            } else {
                throw new IllegalArgumentException("'" + term + "' is not a match term; known: " + TERMS);
            }
        }
        if (direction == CONNECT && localPorts != null) {
            throw new IllegalArgumentException("local-port= is the listener's port: it applies to accepted connections,"
                    + " never to connect");
        }
        return new Match(text.toString(), direction, networks, prefixes, ports, localPorts, hosts);
    }

    private static IllegalArgumentException twice(String name, int eq) {
        return new IllegalArgumentException(eq < 0 ? "the direction is given twice"
                : name.toLowerCase(Locale.ROOT) + "= is given twice; list its values in one term, separated by commas");
    }

    /** The comma-separated items of a term's list; an empty item is an error. */
    private static String[] items(String name, String list) {
        int count = 1;
        for (int i = 0; i < list.length(); i++) {
            count += list.charAt(i) == ',' ? 1 : 0;
        }
        String[] items = new String[count];
        int start = 0;
        for (int i = 0; i < count; i++) {
            int end = list.indexOf(',', start);
            items[i] = list.substring(start, end < 0 ? list.length() : end);
            if (items[i].isEmpty()) {
                throw new IllegalArgumentException(name + "= has an empty item; separate " + name
                        + " values with single commas, no spaces");
            }
            start = end + 1;
        }
        return items;
    }

    private static int[] ports(String name, String list) {
        String[] items = items(name, list);
        int[] ranges = new int[items.length * 2];
        for (int i = 0; i < items.length; i++) {
            String item = items[i];
            int dash = item.indexOf('-', 1);
            int first = port(name, item, 0, dash < 0 ? item.length() : dash);
            int last = dash < 0 ? first : port(name, item, dash + 1, item.length());
            if (last < first) {
                throw new IllegalArgumentException(name + "=" + item + " is a range whose end is before its start");
            }
            ranges[2 * i] = first;
            ranges[2 * i + 1] = last;
        }
        return ranges;
    }

    /** The port written from {@code start} to {@code end} of {@code item}. */
    private static int port(String name, String item, int start, int end) {
        int port = number(item, start, end, 5);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(name + "=" + item + " is not a port or range of ports (1 to 65535,"
                    + " a range as 8000-8999)");
        }
        return port;
    }

    /** The decimal number of one to {@code maxDigits} ASCII digits from {@code start} to {@code end}, or -1. */
    private static int number(String text, int start, int end, int maxDigits) {
        if (end <= start || end - start > maxDigits) {
            return -1;
        }
        int value = 0;
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    /**
     * {@code text} cut at whitespace (and at commas, if {@code commas}), empty pieces dropped. Not a regular
     * expression: rules are parsed on the JVM's start path, where java.util.regex's first use cost about 5 ms.
     */
    static String[] words(String text, boolean commas) {
        List<String> words = new ArrayList<>();
        char[] chars = text.toCharArray();  // interpreted at start, where each charAt is a few calls
        int start = -1;
        for (int i = 0; i <= chars.length; i++) {
            char c = i == chars.length ? ' ' : chars[i];
            boolean separator = c == ' ' || commas && c == ','
                    || (c <= ' ' || c >= 0x80) && Character.isWhitespace(c);
            if (separator && start >= 0) {
                words.add(new String(chars, start, i - start));
                start = -1;
            } else if (!separator && start < 0) {
                start = i;
            }
        }
        return words.toArray(new String[0]);
    }

    /** An address or CIDR, parsed as a literal: never a DNS look-up. Its prefix length goes to {@code prefixes[i]}. */
    private static byte[] network(String item, int[] prefixes, int i) {
        int slash = item.indexOf('/');
        String address = slash < 0 ? item : item.substring(0, slash);
        if (address.startsWith("[") && address.endsWith("]")) {
            address = address.substring(1, address.length() - 1);
        }
        byte[] bytes = literal(address);
        if (bytes == null) {
            throw new IllegalArgumentException("remote=" + item + " is not an IPv4 or IPv6 address or CIDR (for"
                    + " example 10.0.0.0/8, 192.0.2.7, fd00::/8; host names go in host=)");
        }
        int prefix = bytes.length * 8;
        if (slash >= 0) {
            prefix = number(item, slash + 1, item.length(), 3);
            if (prefix < 0 || prefix > bytes.length * 8) {
                throw new IllegalArgumentException("remote=" + item + " has a prefix length outside 0 to "
                        + bytes.length * 8);
            }
        }
        if (bytes.length == 16 && isMapped(bytes) && prefix >= 96) {
            bytes = new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]};
            prefix -= 96;
        }
        // the bits beyond the prefix: those of its last byte, then whole bytes
        int partial = prefix % 8 == 0 ? 0 : 0xff >> (prefix % 8);
        boolean beyond = partial != 0 && (bytes[prefix / 8] & partial) != 0;
        for (int b = (prefix + 7) / 8; b < bytes.length && !beyond; b++) {
            beyond = bytes[b] != 0;
        }
        if (beyond) {
            throw new IllegalArgumentException("remote=" + item + " has bits set beyond its prefix length (the"
                    + " network is " + network(bytes, prefix) + ")");
        }
        prefixes[i] = prefix;
        return bytes;
    }

    private static String network(byte[] bytes, int prefix) {
        byte[] masked = bytes.clone();
        for (int bit = prefix; bit < masked.length * 8; bit++) {
            masked[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
        }
        try {
            return InetAddress.getByAddress(masked).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            return "?";
        }
    }

    /**
     * The bytes of an IPv4 or IPv6 literal, or null if it is none: 4 for IPv4, 16 for any IPv6 text (an IPv4-mapped
     * one too: the caller decides what it matches). Parsed here, character by character, rather than by
     * {@code InetAddress}: rules are parsed on the JVM's start path, interpreted, where the JDK's parser cost a third
     * of the time of ten rules. Never a name, never a zone id, never a look-up.
     */
    static byte[] literal(String text) {
        if (text.isEmpty() || text.length() > 45) {
            return null;
        }
        return text.indexOf(':') < 0 ? ipv4(text) : ipv6(text);
    }

    /** Dotted decimal, four parts of one to three digits, each at most 255. */
    private static byte[] ipv4(String text) {
        byte[] bytes = new byte[4];
        int part = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i <= text.length(); i++) {
            char c = i == text.length() ? '.' : text.charAt(i);
            if (c == '.') {
                if (digits == 0 || part == 4) {
                    return null;
                }
                bytes[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9' && digits < 3) {
                value = value * 10 + (c - '0');
                digits++;
                if (value > 255) {
                    return null;
                }
            } else {
                return null;
            }
        }
        return part == 4 ? bytes : null;
    }

    /**
     * RFC 4291 section 2.2: eight groups of hex digits (up to 0xffff) separated by colons, one {@code ::} standing
     * for one or more groups of zeros, the last two groups optionally written as a dotted IPv4 address.
     */
    private static byte[] ipv6(String text) {
        byte[] bytes = new byte[16];
        int n = text.length();
        int out = 0;     // bytes written
        int gap = -1;    // where "::" stands, in bytes written before it
        int i = 0;
        if (text.charAt(0) == ':') {
            if (n < 2 || text.charAt(1) != ':') {
                return null;
            }
            gap = 0;
            i = 2;
        }
        while (i < n) {
            if (out == 16) {
                return null;
            }
            int start = i;
            int value = 0;
            for (int digit; i < n && (digit = hex(text.charAt(i))) >= 0; i++) {
                value = value * 16 + digit;
                if (value > 0xffff) {  // as the JDK reads it: leading zeros beyond four digits are still zeros
                    return null;
                }
            }
            if (i < n && text.charAt(i) == '.') {  // the dotted IPv4 tail: what is left must be it, whole
                byte[] v4 = out <= 12 ? ipv4(text.substring(start)) : null;
                if (v4 == null) {
                    return null;
                }
                System.arraycopy(v4, 0, bytes, out, 4);
                out += 4;
                break;
            }
            if (i == start) {
                return null;
            }
            bytes[out++] = (byte) (value >> 8);
            bytes[out++] = (byte) value;
            if (i == n) {
                break;
            }
            if (text.charAt(i) != ':' || ++i == n) {  // another character, or a trailing ':'
                return null;
            }
            if (text.charAt(i) == ':') {
                if (gap >= 0) {
                    return null;
                }
                gap = out;
                i++;
            }
        }
        if (gap < 0) {
            return out == 16 ? bytes : null;
        }
        if (out == 16) {
            return null;  // "::" stands for at least one group
        }
        int after = out - gap;
        System.arraycopy(bytes, gap, bytes, 16 - after, after);
        for (int b = gap; b < 16 - after; b++) {
            bytes[b] = 0;
        }
        return bytes;
    }

    /** ASCII hex digits only: {@code Character.digit} takes other scripts' digits too. */
    private static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : -1;
    }
}
