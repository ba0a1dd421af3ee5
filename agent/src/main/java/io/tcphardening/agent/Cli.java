package io.tcphardening.agent;

import java.io.PrintStream;
import java.util.Arrays;

/** The commands of {@code java -jar tcp-hardening-agent.jar}. */
final class Cli {

    private static final String USAGE = String.join("\n",
            "usage: java -jar tcp-hardening-agent.jar COMMAND",
            "",
            "  check [config=PATH] [key=value ...]",
            "      validate a configuration exactly as the agent would, and print the effective settings",
            "      with the source of each; exit status 0 if valid, 2 if not",
            "  attach PID [config=PATH] [key=value ...]",
            "      load the agent into a running JVM (or replace the settings of the agent running there),",
            "      harden the connections already open too, and print what was done",
            "  inspect PID [--json] [config=PATH] [key=value ...]",
            "      list every TCP socket of a process with the five options as the kernel has them, and whether",
            "      each matches the agent's settings there (or the given ones, or the defaults); read-only",
            "  version",
            "      print the agent's version",
            "",
            "As an agent: java -javaagent:tcp-hardening-agent.jar[=config=PATH,key=value,...] ...");

    private Cli() {
        // no instances
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
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
                out.println("tcp-hardening-agent " + Agent.version());
                return 0;
            default:
                err.println("tcp-hardening-agent: unknown command '" + args[0] + "'\n\n" + USAGE);
                return 1;
        }
    }

    private static int check(String[] args, PrintStream out, PrintStream err) {
        try {
            Settings settings = SettingsLoader.load(String.join(",", args), Agent.systemProperties(),
                    System.getenv(), null);
            out.println("valid: " + settings.describe().replace(", ", "\n       "));
            return 0;
        } catch (ConfigException e) {
            err.println("tcp-hardening-agent: invalid configuration: " + e.getMessage());
            return Agent.CONFIG_ERROR_STATUS;
        }
    }
}
