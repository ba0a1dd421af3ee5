package io.tcphardening.agent.command;

import io.tcphardening.agent.settings.AppValues;
import io.tcphardening.agent.settings.Decision;
import io.tcphardening.agent.settings.Match;
import io.tcphardening.agent.settings.Rule;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import io.tcphardening.agent.settings.TcpOption;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code check --explain}: one connection as the operator names it, and what the agent would do to it: the rule that
 * decides ({@link Settings#decide}, so the answer is the agent's own), its five values with the key and source each
 * came from, its policy for the application's own values, and the worst-case detection times.
 *
 * <p>Addresses are literals only ({@link Match#address}): the agent decides on the addresses a connection has, never
 * on a DNS answer, and so does this; a host name is given apart, as {@code host=}.
 */
final class Explanation {

    static final String FORMS = "connect ADDRESS:PORT [host=NAME], or accept local-port=PORT remote=ADDRESS[:PORT]"
            + " (an IPv6 address in brackets: [fd00::1]:5432)";

    /** A longer name is no DNS name (RFC 1035). */
    private static final int MAX_HOST_LENGTH = 253;

    private final boolean accepted;
    private final Peer peer;
    private final int localPort;
    private final String host;

    /** The other end of the connection, as given and as matched. */
    private static final class Peer {
        final String text;
        final byte[] address;
        /** -1: not given. */
        final int port;

        Peer(String text, byte[] address, int port) {
            this.text = text;
            this.address = address;
            this.port = port;
        }
    }

    private Explanation(boolean accepted, Peer peer, int localPort, String host) {
        this.accepted = accepted;
        this.peer = peer;
        this.localPort = localPort;
        this.host = host;
    }

    /**
     * The connection named by the words after {@code --explain}; the exception's message says what is wrong, in one
     * line, in the operator's words.
     */
    static Explanation parse(List<String> words) {
        if (words.isEmpty()) {
            throw new IllegalArgumentException("it needs a connection: " + FORMS);
        }
        String direction = words.get(0).toLowerCase(Locale.ROOT);
        if (!direction.equals("connect") && !direction.equals("accept")) {
            throw new IllegalArgumentException(quote(words.get(0)) + " is not connect or accept; write " + FORMS);
        }
        boolean accepted = direction.equals("accept");
        String peer = null;
        String host = null;
        String localPort = null;
        for (String word : words.subList(1, words.size())) {
            if (word.startsWith("-")) {
                throw new IllegalArgumentException(quote(word) + " is not part of a connection; write " + FORMS);
            }
            int eq = word.indexOf('=');
            String name = eq < 0 ? "" : word.substring(0, eq).toLowerCase(Locale.ROOT);
            String value = word.substring(eq + 1);
            if (accepted ? name.equals("remote") : eq < 0) {
                peer = once(peer, value, accepted ? "remote=" : "the peer's ADDRESS:PORT");
            } else if (!accepted && name.equals("host")) {
                host = once(host, value, "host=");
            } else if (accepted && name.equals("local-port")) {
                localPort = once(localPort, value, "local-port=");
            } else if (accepted && name.equals("host")) {
                throw new IllegalArgumentException("host= is the name the application connected to: an accepted"
                        + " connection has none; write accept local-port=PORT remote=ADDRESS[:PORT]");
            } else if (!accepted && name.equals("local-port")) {
                throw new IllegalArgumentException("local-port= is the listener's port of an accepted connection;"
                        + " write connect ADDRESS:PORT [host=NAME], or accept local-port=PORT remote=ADDRESS[:PORT]");
            } else if (!accepted && name.equals("remote")) {
                throw new IllegalArgumentException("connect takes the peer without remote=: connect ADDRESS:PORT"
                        + " [host=NAME], for example connect 10.1.2.3:5432");
            } else if (accepted && eq < 0) {
                throw new IllegalArgumentException("accept takes the peer as remote=ADDRESS[:PORT], beside"
                        + " local-port=PORT, not " + quote(word) + "; for example accept local-port=8443"
                        + " remote=10.1.2.3");
            } else {
                throw new IllegalArgumentException(quote(word) + " is not part of a connection; write " + FORMS);
            }
        }
        if (peer == null) {
            throw new IllegalArgumentException(accepted
                    ? "accept needs remote=ADDRESS[:PORT], the peer; for example accept local-port=8443"
                    + " remote=10.1.2.3"
                    : "connect needs the peer's ADDRESS:PORT; for example connect 10.1.2.3:5432");
        }
        if (accepted && localPort == null) {
            throw new IllegalArgumentException("accept needs local-port=PORT, the listener's port; for example accept"
                    + " local-port=8443 remote=10.1.2.3");
        }
        return new Explanation(accepted, peer(peer, !accepted), accepted ? port(localPort, "local-port=") : -1,
                host == null ? null : hostName(host));
    }

    private static String once(String before, String value, String what) {
        if (before != null) {
            throw new IllegalArgumentException(what + " is given twice (" + quote(before) + " and " + quote(value)
                    + "); one connection has one");
        }
        return value;
    }

    /** ADDRESS[:PORT]: an IPv4 literal, or an IPv6 literal in brackets, the port after them. */
    private static Peer peer(String text, boolean portRequired) {
        String address;
        String port = null;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || text.substring(1, close).indexOf(':') < 0) {
                throw new IllegalArgumentException(quote(text) + " is not [IPv6 ADDRESS] or [IPv6 ADDRESS]:PORT; for"
                        + " example [fd00::1]:5432");
            }
            address = text.substring(1, close);
            String rest = text.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                throw new IllegalArgumentException(quote(text) + " has " + quote(rest) + " after its address, where"
                        + " only :PORT may follow; for example [fd00::1]:5432");
            }
            port = rest.isEmpty() ? null : rest.substring(1);
        } else {
            int colon = text.indexOf(':');
            if (colon >= 0 && text.indexOf(':', colon + 1) >= 0) {
                // fd00::1:5432 could be an address or an address and a port: the brackets say which
                throw new IllegalArgumentException(quote(text) + ": write an IPv6 address in brackets, the port after"
                        + " them, for example [fd00::1]:5432");
            }
            address = colon < 0 ? text : text.substring(0, colon);
            port = colon < 0 ? null : text.substring(colon + 1);
        }
        byte[] bytes = Match.address(address);
        if (bytes == null) {
            throw new IllegalArgumentException(quote(address) + " is not an IP address: --explain takes the address"
                    + " a connection has and never looks a name up" + (portRequired
                    ? "; give the name the application used as host=NAME beside it" : ""));
        }
        if (port == null && portRequired) {
            throw new IllegalArgumentException(quote(text) + " has no port: connect needs the peer's ADDRESS:PORT,"
                    + " for example 10.1.2.3:5432 or [fd00::1]:5432");
        }
        return new Peer(address, bytes, port == null ? -1 : port(port, "the peer's port"));
    }

    private static int port(String digits, String what) {
        boolean number = !digits.isEmpty() && digits.length() <= 5;
        for (int i = 0; number && i < digits.length(); i++) {
            number = digits.charAt(i) >= '0' && digits.charAt(i) <= '9';
        }
        if (!number || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
            throw new IllegalArgumentException(what + (what.endsWith("=") ? "" : " ") + quote(digits)
                    + " is not a port (1 to 65535)");
        }
        return Integer.parseInt(digits);
    }

    /** The characters a rule's host= glob can match, without the glob's own. */
    private static String hostName(String name) {
        boolean valid = !name.isEmpty() && name.length() <= MAX_HOST_LENGTH;
        for (int i = 0; valid && i < name.length(); i++) {
            char c = name.charAt(i);
            valid = c < 0x80 && Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_';
        }
        if (!valid) {
            throw new IllegalArgumentException("host=" + quote(name) + " is not a host name (letters, digits, '.',"
                    + " '-' and '_'; globs belong in a rule's match)");
        }
        return name;
    }

    private static String quote(String text) {
        return SettingsLoader.quote(text);
    }

    // ---- the answer

    List<String> lines(Settings settings, KernelDefaults kernel) {
        Decision decision = settings.decide(accepted, peer.address, peer.port, localPort, host);
        Map<String, String> sources = settings.sources();
        Rule deciding = null;
        List<String> tried = new ArrayList<>();
        for (Rule rule : settings.rules()) {
            if (rule.decision() == decision) {  // each rule has its own decision: identity names the rule
                deciding = rule;
                break;
            }
            tried.add(rule.name());
        }
        List<String> lines = new ArrayList<>();
        String connection = connection(settings);
        if (deciding != null) {
            lines.add(connection + ": rule " + deciding.name() + " decides, " + CheckCommand.matchAsGiven(deciding,
                    sources) + (tried.isEmpty() ? "" : "; tried before it, not matching: " + String.join(", ", tried)));
        } else if (!tried.isEmpty()) {
            lines.add(connection + ": no rule matches (tried " + String.join(", ", tried) + "): the global settings"
                    + " decide");
        } else {
            lines.add(connection + ": there are no rules: the global settings decide");
        }
        if (decision.leavesAlone()) {
            lines.add("  the agent leaves it alone: it sets none of the five options, and the application's values,"
                    + " else the kernel's, stand");
        }
        for (TcpOption option : TcpOption.ALL) {
            int value = decision.value(option);
            lines.add("  " + option.key + "=" + (value == Settings.UNCHANGED ? SettingsLoader.UNCHANGED
                    : option.format(value)) + " (" + origin(deciding, option.key, sources) + ")");
        }
        lines.add("  app.values=" + decision.appValues().key() + " (" + origin(deciding, "app.values", sources) + "): "
                + (decision.leavesAlone() ? "it has nothing to hold, every option being unchanged"
                : policy(decision.appValues())));
        lines.add("worst case to notice a dead peer (Linux), from the last time it was heard:");
        for (String line : CheckCommand.detection(decision, kernel)) {
            lines.add("  " + line);
        }
        return lines;
    }

    /** "rule.db.keepalive.idle, FILE:3" where the rule names it, else "global: default". */
    private static String origin(Rule deciding, String key, Map<String, String> sources) {
        if (deciding != null && sources.containsKey(deciding.key(key))) {
            return deciding.key(key) + ", " + sources.get(deciding.key(key));
        }
        return (deciding != null ? "global: " : "") + sources.get(key);
    }

    private static String policy(AppValues policy) {
        if (policy == AppValues.STRICTER) {
            return "the application's own value stands where it notices a dead peer no later";
        }
        return policy == AppValues.KEEP ? "the application's own values stand; these apply until it sets its own"
                : "these values replace the application's own";
    }

    /**
     * "connect to 10.1.2.3:5432 (host name db.example.com)", "accept on local port 8443 from [fd00::1]:40000"; what is
     * not given is said where a rule would look at it.
     */
    private String connection(Settings settings) {
        String address = peer.text.indexOf(':') >= 0 ? "[" + peer.text + "]" : peer.text;
        String matchedAs = "";
        if (peer.text.indexOf(':') >= 0 && peer.address.length == 4) {
            matchedAs = " (IPv4-mapped: matched as " + dotted(peer.address) + ")";
        }
        if (accepted) {
            return "accept on local port " + localPort + " from " + address + (peer.port >= 0 ? ":" + peer.port
                    : settings.rulesUseRemote() ? " (no port given: no port= matches)" : "") + matchedAs;
        }
        return "connect to " + address + ":" + peer.port + matchedAs + (host != null ? " (host name " + host + ")"
                : settings.rulesUseHost() ? " (no host name: no host= matches)" : "");
    }

    private static String dotted(byte[] ipv4) {
        try {
            return InetAddress.getByAddress(ipv4).getHostAddress();  // from bytes: no look-up
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are an IPv4 address", e);
        }
    }
}
