package io.tcphardening.agent.command;

import io.tcphardening.agent.observe.AgentVersion;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.EnvironmentVariables;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The commands of {@code java -jar tcp-hardening-agent.jar}. */
public final class Cli {

    /** {@code check --strict}: the configuration is valid, but warnings were printed. */
    private static final int WARNINGS_STATUS = 1;

    private static final String USAGE = String.join("\n",
            "usage: java -jar tcp-hardening-agent.jar COMMAND",
            "",
            "  check [--strict] [config=PATH] [key=value ...]",
            "      validate a configuration exactly as the agent would (the same system properties,",
            "      TCPHARDENING_* variables and agent.properties beside the jar), and print the effective",
            "      settings with the source of each, the worst-case time to notice a dead peer on an idle",
            "      and on a busy connection, and a warning for each value that makes little sense;",
            "      exit status 0 if valid (warnings or not), 2 if not; with --strict, 1 if valid with warnings",
            "  attach PID [config=PATH] [key=value ...]",
            "      load the agent into a running JVM (or replace the settings of the agent running there),",
            "      harden the connections already open too, and print what was done",
            "  inspect PID [--json] [config=PATH] [key=value ...]",
            "      list every TCP socket of a process with the five options as the kernel has them, and whether",
            "      each matches the agent's settings there (or the given ones, or the defaults); read-only",
            "  version, --version",
            "      print the agent's version",
            "",
            "As an agent: java -javaagent:tcp-hardening-agent.jar[=config=PATH,key=value,...] ...");

    private Cli() {
        // no instances
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? 1 : 0;
        }
        switch (args[0]) {
            case "check":
                return check(Arrays.copyOfRange(args, 1, args.length), out, err);
            case "attach":
                return AttachCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
            case "inspect":
                return InspectCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
            case "version":
            case "--version":
                out.println("tcp-hardening-agent " + AgentVersion.version());
                return 0;
            default:
                err.println("tcp-hardening-agent: unknown command '" + args[0] + "'\n\n" + USAGE);
                return 1;
        }
    }

    private static int check(String[] args, PrintStream out, PrintStream err) {
        List<String> settingArgs = new ArrayList<>(Arrays.asList(args));
        boolean strict = settingArgs.remove("--strict");
        Settings settings;
        try {
            settings = SettingsLoader.load(String.join(",", settingArgs), SettingsLoader.systemProperties(),
                    EnvironmentVariables.withPrefix(SettingsLoader.ENV_PREFIX), agentDirectory());
        } catch (ConfigException e) {
            err.println("tcp-hardening-agent: invalid configuration: " + e.getMessage());
            return ConfigException.EXIT_STATUS;
        }
        out.println("valid: " + settings.describe().replace(", ", "\n       "));
        DeadPeerDetection detection = new DeadPeerDetection(settings, KernelDefaults.ofThisMachine());
        out.println("worst case to notice a dead peer (Linux), from the last time it was heard:");
        out.println("  idle connection: " + detection.idle());
        out.println("  busy connection: " + detection.busy());
        List<String> warnings = ConfigWarnings.of(settings, detection);
        for (String warning : warnings) {
            out.println("warning: " + warning);
        }
        if (warnings.isEmpty()) {
            out.println("no warnings");
        }
        return strict && !warnings.isEmpty() ? WARNINGS_STATUS : 0;
    }

    /** The agent jar itself: what {@code attach} loads into another JVM, and what a re-run command starts. */
    static Path agentJar() {
        try {
            return Paths.get(Cli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("the agent jar's location is not a path: " + e.getMessage(), e);
        }
    }

    /** The jar's directory, where the agent looks for agent.properties; null when not run from the jar. */
    private static Path agentDirectory() {
        try {
            Path location = agentJar();
            return Files.isRegularFile(location) ? location.getParent() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
