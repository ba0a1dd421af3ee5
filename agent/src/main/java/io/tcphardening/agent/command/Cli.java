package io.tcphardening.agent.command;

import io.tcphardening.agent.observe.AgentVersion;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/** The commands of {@code java -jar tcp-hardening-agent.jar}. */
public final class Cli {

    private static final String USAGE = String.join("\n",
            "usage: java -jar tcp-hardening-agent.jar COMMAND",
            "",
            "  check [--strict] [config=PATH] [key=value ...] [--explain CONNECTION]",
            "      validate a configuration exactly as the agent would (the same system properties,",
            "      TCPHARDENING_* variables and agent.properties beside the jar), and print the effective",
            "      settings with the source of each, each rule, the worst-case time to notice a dead peer on",
            "      an idle and on a busy connection, and a warning for each value that makes little sense;",
            "      exit status 0 if valid (warnings or not), 2 if not; with --strict, 1 if valid with warnings",
            "      --explain, last, prints instead which rule decides one connection, its values and times:",
            "        --explain connect ADDRESS:PORT [host=NAME]",
            "        --explain accept local-port=PORT remote=ADDRESS[:PORT]",
            "      addresses are literals, IPv6 in brackets ([fd00::1]:5432), never looked up",
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
                return CheckCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err);
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

    /** The agent jar itself: what {@code attach} loads into another JVM, and what a re-run command starts. */
    static Path agentJar() {
        try {
            return Paths.get(Cli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("the agent jar's location is not a path: " + e.getMessage(), e);
        }
    }

    /** The jar's directory, where the agent looks for agent.properties; null when not run from the jar. */
    static Path agentDirectory() {
        try {
            Path location = agentJar();
            return Files.isRegularFile(location) ? location.getParent() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
