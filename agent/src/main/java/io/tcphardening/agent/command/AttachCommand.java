package io.tcphardening.agent.command;

import io.tcphardening.agent.live.AgentProperties;
import io.tcphardening.agent.live.AttachReport;
import io.tcphardening.agent.live.ExistingSockets;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * {@code attach PID [config=PATH] [key=value ...]}: loads the agent into a running JVM. The JVM reads the settings
 * from the same sources as with {@code -javaagent} (these arguments first, then its own system properties,
 * environment and file) and validates them the same way; the agent there hardens new connections and those already
 * open ({@link ExistingSockets}), or, if it is running already, replaces its settings, rules included, for both. The
 * arguments travel as one agent argument ({@link SettingArguments}), which the JDK's attach passes as it is: a match's
 * commas and spaces arrive as written. What it did comes back as an {@link AttachReport} and is printed here.
 */
final class AttachCommand {

    /** HotSpot's {@code AttachOperation::arg_length_max} before attach protocol version 2 (JDK-8342995 on Linux). */
    private static final int ATTACH_ARGUMENT_MAX = 1024;

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
        String settingsArgs = SettingArguments.join(settings);
        try {
            // What the command line says must be valid before anything is sent to the JVM.
            SettingArguments.validate(settings);
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
            String agentArgs = AttachReport.ID_ARGUMENT + "=" + id
                    + (settingsArgs.isEmpty() ? "" : "," + settingsArgs);
            Properties properties;
            try {
                properties = target.attach(Cli.agentJar(), agentArgs);
            } catch (TargetJvm.Failure e) {
                throw tooLong(e, Cli.agentJar() + "=" + agentArgs);
            }
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

    /**
     * The JDK's attach protocol before version 2 (JDK 24) takes at most {@value #ATTACH_ARGUMENT_MAX} bytes for the
     * agent's "jar=arguments", and it is spoken unless both sides have version 2 (tried: a JDK 17 on either side
     * fails, a JDK 25 attaching to a JDK 25 does not); the JVM drops a longer request unread, and the JDK's attach
     * fails with "Premature EOF" or a reset connection, nothing loaded. Rules make such lengths ordinary, so the
     * failure says what it was and what to do.
     */
    private static TargetJvm.Failure tooLong(TargetJvm.Failure failure, String attachArgument) {
        int length = attachArgument.getBytes(StandardCharsets.UTF_8).length;
        String message = failure.getMessage();
        if (length <= ATTACH_ARGUMENT_MAX || !message.startsWith("cannot attach to JVM ")) {
            return failure;
        }
        // "cannot attach to JVM 4711: IOException: Premature EOF": the JDK's words, without the exception's type
        int pid = message.indexOf(": ");
        int type = message.indexOf(": ", pid + 2);
        return new TargetJvm.Failure(message.substring(0, pid) + ": the agent's path and settings make " + length
                + " bytes, more than the " + ATTACH_ARGUMENT_MAX + " the attach mechanism takes unless both this java"
                + " and the JVM are JDK 24 or newer (the JDK's attach said: "
                + message.substring(type < 0 ? pid + 2 : type + 2) + "); nothing was attached: put the settings in a"
                + " file and give config=PATH");
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
