package io.tcphardening.agent.instrument;

import io.tcphardening.agent.observe.HardeningLog;
import io.tcphardening.agent.settings.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * What the hooks reach on this JVM, so that the agent never says only "active": the start line names the kinds of
 * socket covered, and one WARN line names each kind the agent would cover but cannot here, with the reason.
 *
 * <p>Told from the runtime itself, not from its version: which JDK classes it has (their class files in
 * {@code java.base}, looked up without loading them), and for {@code java.net.Socket} which implementation it will
 * choose, by the JDK's own rule: the legacy {@code PlainSocketImpl} where it is the only one (JDK 11 and 12), or where
 * {@code -Djdk.net.usePlainSocketImpl} selects it (13 to 17: any value but {@code false}). Runs on the log thread,
 * off the application's start path.
 */
public final class Coverage implements HardeningLog.Line {

    private static final String LEGACY = "java/net/AbstractPlainSocketImpl";
    private static final String NIO_SOCKET_IMPL = "sun/nio/ch/NioSocketImpl";
    /** The JDK classes behind each kind, as the hooks name them (SocketTransformer.TARGETS). */
    private static final String[][] CHANNELS = {
        {"SocketChannel", "sun/nio/ch/SocketChannelImpl"},
        {"ServerSocketChannel", "sun/nio/ch/ServerSocketChannelImpl"},
        {"AsynchronousSocketChannel", "sun/nio/ch/UnixAsynchronousSocketChannelImpl"},
        {"AsynchronousServerSocketChannel", "sun/nio/ch/UnixAsynchronousServerSocketChannelImpl"},
    };

    /** The agent's optional parts, by the module each needs: a slim runtime may lack them, and then only them. */
    private static final String[][] OPTIONAL = {
        {"jdk.jfr", "no JFR event"},
        {"java.management", "no MBean"},
    };

    private final String prefix;
    private final Settings settings;
    private final List<String> covered = new ArrayList<>();
    private final List<String> without = new ArrayList<>();
    private final List<String> uncovered = new ArrayList<>();
    private boolean looked;

    /**
     * The start line: {@code prefix}, the settings with their sources, then what is covered. The settings are
     * described here, on the log thread: with rules that is a few milliseconds of a cold JVM, off its start path.
     */
    public Coverage(String prefix, Settings settings) {
        this.prefix = prefix;
        this.settings = settings;
    }

    @Override
    public String text() {
        look();
        StringBuilder text = new StringBuilder(prefix).append(settings.describeAll()).append("; covers ");
        for (int i = 0; i < covered.size(); i++) {
            text.append(i == 0 ? "" : i == covered.size() - 1 ? " and " : ", ").append(covered.get(i));
        }
        if (!without.isEmpty()) {
            text.append("; this runtime has ").append(String.join(", ", without));
        }
        return text.toString();
    }

    /** The WARN line that says which kinds the agent cannot cover on this JVM, and why; no line if none. */
    public HardeningLog.Line uncovered() {
        return new HardeningLog.Line() {
            @Override
            public String text() {
                look();
                return uncovered.isEmpty() ? null : "not covered on this JVM: " + String.join("; ", uncovered);
            }
        };
    }

    private synchronized void look() {
        if (looked) {
            return;
        }
        looked = true;
        boolean nio = inRuntime(NIO_SOCKET_IMPL);
        boolean legacy = inRuntime(LEGACY);
        String property = System.getProperty("jdk.net.usePlainSocketImpl");
        if (legacy && (!nio || property != null && !property.equalsIgnoreCase("false"))) {
            covered.add("java.net.Socket and ServerSocket (through the legacy PlainSocketImpl)");
        } else if (nio) {
            covered.add("java.net.Socket and ServerSocket");
        } else {
            uncovered.add("java.net.Socket and ServerSocket are not hardened on this JDK: it has neither "
                    + NIO_SOCKET_IMPL.replace('/', '.') + " nor " + LEGACY.replace('/', '.') + ", the implementations"
                    + " the agent hooks");
        }
        for (String[] channel : CHANNELS) {
            if (inRuntime(channel[1])) {
                covered.add(channel[0]);
            } else {
                uncovered.add(channel[0] + " is not hardened on this JDK: it has no " + channel[1].replace('/', '.')
                        + ", the implementation the agent hooks");
            }
        }
        covered.add("Netty's bootstraps on every transport (once Netty loads)");
        for (String[] module : OPTIONAL) {
            if (!ModuleLayer.boot().findModule(module[0]).isPresent()) {
                without.add("no " + module[0] + " (" + module[1] + ")");
            }
        }
    }

    /** Whether java.base has the class, by its class file: loading it would define and patch it now. */
    private static boolean inRuntime(String internalName) {
        try (InputStream in = Object.class.getModule().getResourceAsStream(internalName + ".class")) {
            return in != null;
        } catch (IOException | RuntimeException e) {
            return true;  // cannot tell (a security manager?): the hooks say so when the class loads
        }
    }
}
