package io.tcphardening.agent.command;

import io.tcphardening.agent.live.AgentProperties;
import io.tcphardening.agent.live.ProcTcpSockets;
import io.tcphardening.agent.settings.ConfigException;
import io.tcphardening.agent.settings.EnvironmentVariables;
import io.tcphardening.agent.settings.Settings;
import io.tcphardening.agent.settings.SettingsLoader;
import io.tcphardening.agent.settings.TcpOption;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * {@code inspect PID [--json] [config=PATH] [key=value ...]}: every TCP socket of a process with the five options as
 * its kernel holds them, and whether each matches the agent's settings there: the values of the rule that matches
 * the connection, as the agent decides it (see {@link InspectReport}). Read-only: the sockets are listed from
 * {@code /proc} ({@link ProcTcpSockets}) and read through duplicates in this process ({@link RemoteSockets}); the
 * settings are the agent's own where it runs in that JVM (its {@link AgentProperties}, asked over the attach
 * mechanism, the read-only request jcmd makes), else those given here, validated as {@code check} does, or the
 * defaults. Needs Java 22 ({@code java.lang.foreign}): an older {@code java} re-runs the command under a newer one.
 */
final class InspectCommand {

    static final String USAGE = "usage: java -jar tcp-hardening-agent.jar inspect PID [--json] [config=PATH]"
            + " [key=value ...]";

    private InspectCommand() {
        // no instances
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String pid = null;
        boolean json = false;
        List<String> settingsArgs = new ArrayList<>();
        for (String arg : args) {
            if (arg.equals("--json")) {
                json = true;
            } else if (arg.equals("--help") || arg.equals("-h")) {
                out.println(USAGE);
                return 0;
            } else if (pid == null && !arg.contains("=")) {
                pid = arg;
            } else {
                settingsArgs.add(arg);
            }
        }
        if (pid == null) {
            err.println(USAGE);
            return 1;
        }
        if (!RemoteSockets.isBuilt()) {
            // no JDK 22+ could compile it when this jar was built: no other Java can help, so say how to get it
            err.println("tcp-hardening-agent: this build of the agent has no inspect command: it was built without a"
                    + " JDK " + RemoteSockets.JAVA_RELEASE + " or newer, which compiles its java.lang.foreign class;"
                    + " build the agent again with a JDK " + RemoteSockets.JAVA_RELEASE + "+ installed (under"
                    + " /usr/lib/jvm, or named with -Djava22.home=DIR)");
            return 1;
        }
        int release = Runtime.version().feature();
        if (release < RemoteSockets.JAVA_RELEASE) {
            return rerun(args, release, err);
        }
        Settings given;
        try {
            given = SettingsLoader.load(SettingArguments.join(settingsArgs), SettingsLoader.systemProperties(),
                    EnvironmentVariables.withPrefix(SettingsLoader.ENV_PREFIX), null);
        } catch (ConfigException e) {
            err.println("tcp-hardening-agent: invalid configuration: " + e.getMessage());
            return ConfigException.EXIT_STATUS;
        }
        try {
            TargetJvm target = TargetJvm.of(pid);
            InspectReport report = compareWith(target, given, settingsArgs.isEmpty());
            read(target.pid, report);
            out.print(json ? report.json() : report.text());
            return 0;
        } catch (TargetJvm.Failure e) {
            err.println("tcp-hardening-agent: " + e.getMessage());
            return 1;
        }
    }

    private static int rerun(String[] args, int release, PrintStream err) {
        java.nio.file.Path java = NewerJdk.find(RemoteSockets.JAVA_RELEASE);
        if (java == null) {
            err.println("tcp-hardening-agent: inspect reads another process's sockets through java.lang.foreign,"
                    + " which needs Java " + RemoteSockets.JAVA_RELEASE + " or newer; this is Java " + release
                    + ", and none was found in JAVA_HOME or /usr/lib/jvm: run the command with a newer java");
            return 1;
        }
        err.println("tcp-hardening-agent: inspect needs Java " + RemoteSockets.JAVA_RELEASE + "+ (java.lang.foreign),"
                + " this is Java " + release + ": running it with " + java);
        List<String> command = new ArrayList<>();
        command.add("inspect");
        command.addAll(List.of(args));
        try {
            return NewerJdk.rerun(java, command.toArray(new String[0]));
        } catch (IOException | InterruptedException e) {
            err.println("tcp-hardening-agent: cannot run " + java + ": " + e);
            return 1;
        }
    }

    /** The agent's settings in that JVM if it runs there, else the given ones. */
    private static InspectReport compareWith(TargetJvm target, Settings given, boolean defaults)
            throws TargetJvm.Failure {
        String fallback = defaults ? InspectReport.DEFAULTS : InspectReport.COMMAND_LINE;
        if (!target.isJvm()) {
            return new InspectReport(target.pid, false, null, "process " + target.pid + " is not a JVM", fallback,
                    given);
        }
        Properties properties;
        try {
            properties = target.attach(null, null);
        } catch (TargetJvm.Failure e) {
            // the agent may run there with settings of its own: the defaults are no yardstick, given ones are
            return new InspectReport(target.pid, true, null, "its agent settings cannot be read: " + e.getMessage(),
                    defaults ? InspectReport.NOTHING : fallback, defaults ? null : given);
        }
        String published = properties.getProperty(AgentProperties.SETTINGS);
        if (published == null) {
            return new InspectReport(target.pid, true, null, "the agent is not loaded", fallback, given);
        }
        try {
            Settings there = SettingsLoader.load(published, Map.of(), Map.of(), null);
            return new InspectReport(target.pid, true, properties.getProperty(AgentProperties.VERSION, "?"),
                    "the agent is loaded", InspectReport.AGENT, there);
        } catch (ConfigException e) {
            return new InspectReport(target.pid, true, null, "the agent there published settings this version does"
                    + " not read (" + e.getMessage() + ")", fallback, given);
        }
    }

    /** Each listed socket through a duplicate that is checked to be the socket listed; nothing is set. */
    private static void read(long pid, InspectReport report) throws TargetJvm.Failure {
        List<ProcTcpSockets.Entry> sockets;
        try {
            sockets = ProcTcpSockets.of(pid);
        } catch (AccessDeniedException e) {
            throw new TargetJvm.Failure("not permitted to list the descriptors of process " + pid + " (" + e.getFile()
                    + "): run the command as its user or as root");
        } catch (IOException e) {
            throw new TargetJvm.Failure("cannot list the sockets of process " + pid + ": " + e);
        }
        // a connection whose local port is one of the process's listeners' was accepted, as the agent decides it
        Set<Integer> listening = new HashSet<>();
        for (ProcTcpSockets.Entry socket : sockets) {
            if (socket.listening()) {
                listening.add(socket.local.getPort());
            }
        }
        try (RemoteSockets remote = RemoteSockets.open(pid)) {
            for (ProcTcpSockets.Entry socket : sockets) {
                int duplicate = remote.duplicate(socket.fd);
                if (duplicate < 0) {
                    report.skipped(socket, "closed since it was listed");
                    continue;
                }
                try {
                    String now = Files.readSymbolicLink(Paths.get("/proc/self/fd/" + duplicate)).toString();
                    if (!now.equals(ProcTcpSockets.link(socket.inode))) {
                        report.skipped(socket, "closed since it was listed, its number now reused by " + now);
                        continue;
                    }
                    int[] values = new int[TcpOption.ALL.length];
                    for (TcpOption option : TcpOption.ALL) {
                        values[option.ordinal()] = remote.option(duplicate, option.level, option.number);
                    }
                    boolean accepted = !socket.listening() && listening.contains(socket.local.getPort());
                    report.socket(socket, accepted, values);
                } finally {
                    remote.release(duplicate);
                }
            }
        } catch (IOException e) {
            throw new TargetJvm.Failure(e.getMessage());
        }
    }
}
