package io.tcphardening.agent.command;

import io.tcphardening.agent.live.AgentProperties;
import io.tcphardening.agent.live.AttachReport;
import io.tcphardening.agent.live.ExistingSockets;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * {@code attach PID [config=PATH] [key=value ...]}: loads the agent into a running JVM. The JVM reads the settings
 * from the same sources as with {@code -javaagent} (these arguments first, then its own system properties,
 * environment and file) and validates them the same way; the agent there hardens new connections and those already
 * open ({@link ExistingSockets}), or, if it is running already, replaces its settings. What it did comes back as an
 * {@link AttachReport} and is printed here.
 */
final class AttachCommand {

    static final String USAGE = "usage: java -jar tcp-hardening-agent.jar attach PID [config=PATH] [key=value ...]";

    private AttachCommand() {
        // no instances
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].startsWith("-")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? 1 : 0;
        }
        List<String> settings = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            settings.add(withAbsolutePath(args[i]));
        }
        String settingsArgs = String.join(",", settings);
        try {
            // What the command line says must be valid before anything is sent to the JVM.
            SettingsLoader.load(settingsArgs, Map.of(), Map.of(), null);
        } catch (ConfigException e) {
            err.println("tcp-hardening-agent: invalid configuration, nothing attached: " + e.getMessage());
            return ConfigException.EXIT_STATUS;
        }
        try {
            TargetJvm target = TargetJvm.of(args[0]);
            if (!target.isJvm()) {
                err.println("tcp-hardening-agent: process " + target.pid + " is not a JVM");
                return 1;
            }
            String id = Long.toHexString(new SecureRandom().nextLong() & Long.MAX_VALUE);
            Properties properties = target.attach(Cli.agentJar(), AttachReport.ID_ARGUMENT + "=" + id
                    + (settingsArgs.isEmpty() ? "" : "," + settingsArgs));
            String report = properties.getProperty(AgentProperties.ATTACH_REPORT + id);
            if (report == null) {
                err.println("tcp-hardening-agent: JVM " + target.pid + " loaded the agent but it did not report what it"
                        + " did; see that JVM's standard error");
                return 1;
            }
            String[] lines = report.split("\n");
            String outcome = lines[0];
            boolean active = outcome.equals(AttachReport.INSTALLED) || outcome.equals(AttachReport.UPDATED);
            for (int i = 1; i < lines.length; i++) {
                (active ? out : err).println((active ? "" : "tcp-hardening-agent: ") + "JVM " + target.pid + ": "
                        + lines[i]);
            }
            return active ? 0 : outcome.equals(AttachReport.CONFIG_ERROR) ? ConfigException.EXIT_STATUS : 1;
        } catch (TargetJvm.Failure e) {
            err.println("tcp-hardening-agent: " + e.getMessage());
            return 1;
        }
    }

    /** The JVM has its own working directory: a relative path given here means one relative to this one. */
    private static String withAbsolutePath(String setting) {
        for (String key : new String[] {SettingsLoader.CONFIG, SettingsLoader.LOG_FILE}) {
            String prefix = key + "=";
            if (setting.startsWith(prefix) && setting.length() > prefix.length()) {
                try {
                    Path path = Paths.get(setting.substring(prefix.length()).trim());
                    return prefix + path.toAbsolutePath().normalize();
                } catch (RuntimeException invalid) {
                    return setting;  // SettingsLoader says what is wrong with it
                }
            }
        }
        return setting;
    }
}
