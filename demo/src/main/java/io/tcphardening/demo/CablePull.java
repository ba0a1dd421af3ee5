package io.tcphardening.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The demonstration: the {@link HoldingClient} and {@link HoldingServer} on two hosts (network namespaces), the
 * cable between them pulled, and the time the unmodified client takes to learn each connection is dead — without
 * the agent, with Debian's libkeepalive (keepalive only, what operators use today), and with the agent. Then the
 * rules scene ({@code rules}): one application's connections to two services behind the same cable, one under a
 * short rule and one under the global settings of {@code --rules-config}, each beside the bound its settings give.
 *
 * <pre>
 * CablePull --agent JAR --config agent.properties [--rules-config rules.properties]
 *           [--runs none,libkeepalive,agent,rules] [--window SECONDS] [--svg FILE] [--java PATH] [--jvm-arg OPTION]
 *           [--machine]
 * </pre>
 * {@code --machine} adds one line per result, {@code RESULT run kind state ms} ({@code -1}: still waiting; in the
 * rules scene, the kind is the {@link Service}). The rules scene watches for its longest bound and 5 s more, not
 * {@code --window}: its bounds are its configuration's.
 * {@code --jvm-arg} is given to the client's and the server's JVMs in every run (for example
 * {@code -Djdk.net.usePlainSocketImpl=true}, the legacy socket implementation of JDK 13 to 17).
 */
public final class CablePull {

    static final String LIBKEEPALIVE = "/usr/lib/libkeepalive.so";

    private final Path agent;
    private final Path config;
    private final Path rulesConfig;
    private final String java;
    private final List<String> baseJvmArgs;
    private final int windowSeconds;
    private final String classpath = System.getProperty("java.class.path");
    private final List<Process> processes = new ArrayList<>();

    private CablePull(Path agent, Path config, Path rulesConfig, String java, List<String> baseJvmArgs,
                      int windowSeconds) {
        this.agent = agent;
        this.config = config;
        this.rulesConfig = rulesConfig;
        this.java = java;
        this.baseJvmArgs = baseJvmArgs;
        this.windowSeconds = windowSeconds;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i], args[i + 1]);
        }
        boolean machine = List.of(args).contains("--machine");
        Path config = Paths.get(options.getOrDefault("--config", "demo/agent.properties"));
        Path rulesConfig = Paths.get(options.getOrDefault("--rules-config", "demo/rules.properties"));
        CablePull demo = new CablePull(Paths.get(options.getOrDefault("--agent", "agent/target/tcp-hardening-agent.jar")),
                config, rulesConfig, options.getOrDefault("--java", Paths.get(System.getProperty("java.home"), "bin", "java").toString()),
                options.containsKey("--jvm-arg") ? List.of(options.get("--jvm-arg")) : List.of(),
                Integer.parseInt(options.getOrDefault("--window", "30")));
        List<String> runs = new ArrayList<>(List.of(options.getOrDefault("--runs", "none,libkeepalive,agent,rules")
                .split(",")));
        if (runs.contains("libkeepalive") && !Files.exists(Paths.get(LIBKEEPALIVE))) {
            System.out.println("(no libkeepalive column: " + LIBKEEPALIVE + " is missing; apt-get install libkeepalive0)");
            runs.remove("libkeepalive");
        }
        if (runs.contains("rules") && !Files.isRegularFile(rulesConfig)) {
            System.out.println("(no rules scene: " + rulesConfig + " is missing)");
            runs.remove("rules");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(demo::killAll));

        Map<String, Map<String, Long>> results = new LinkedHashMap<>();
        String agentLog = "";
        Run rules = null;
        for (String run : runs) {
            long window = run.equals("rules") ? demo.rulesWindowMillis() : demo.windowSeconds * 1000L;
            System.out.println("--- " + run + ": pulling the cable, watching for up to " + window / 1000 + " s");
            Run result = demo.run(run, window);
            if (run.equals("rules")) {
                rules = result;
                continue;
            }
            results.put(run, result.failures);
            if (run.equals("agent")) {
                agentLog = result.log;
            }
        }
        if (!results.isEmpty()) {
            System.out.println();
            System.out.print(table(results, demo.windowSeconds, demo.describeSettings()));
        }
        if (!agentLog.isEmpty()) {
            System.out.println("\nThe agent's log in the client (run 'agent'):");
            System.out.print(agentLog);
        }
        if (rules != null) {
            RulesScene scene = new RulesScene(load(rulesConfig));
            System.out.println("\nRules (" + rulesConfig + "): one application, two services behind the same pulled"
                    + " cable, told apart by port:");
            System.out.print(scene.describe());
            System.out.println();
            System.out.print(scene.table(rules.failures, demo.rulesWindowMillis()));
            System.out.println("\nThe agent's log in the client (run 'rules'):");
            System.out.print(rules.log);
            results.put("rules", rules.failures);
        }
        if (options.containsKey("--svg") && results.keySet().stream().anyMatch(run -> !run.equals("rules"))) {
            Path svg = Paths.get(options.get("--svg"));
            Map<String, Map<String, Long>> charted = new LinkedHashMap<>(results);
            charted.remove("rules");
            Files.writeString(svg, TimelineChart.svg(charted, demo.windowSeconds, demo.describeSettings()));
            System.out.println("\nChart: " + svg.toAbsolutePath());
        }
        if (machine) {
            for (Map.Entry<String, Map<String, Long>> run : results.entrySet()) {
                for (Map.Entry<String, Long> result : run.getValue().entrySet()) {
                    System.out.println("RESULT " + run.getKey() + " " + result.getKey() + " " + result.getValue());
                }
            }
        }
        System.exit(0);
    }

    /** What one run showed: ms to failure by "KIND STATE" (-1: still waiting), and the client's stderr. */
    static final class Run {
        final Map<String, Long> failures = new LinkedHashMap<>();
        String log = "";
    }

    /** The rules scene watches for its longest bound, and 5 s more for retransmission timeouts and a busy machine. */
    private long rulesWindowMillis() throws IOException {
        return new RulesScene(load(rulesConfig)).longestBoundMillis() + 5000;
    }

    private Run run(String kind, long windowMillis) throws Exception {
        boolean rules = kind.equals("rules");
        List<String> held = new ArrayList<>();
        for (Connection.State state : Connection.State.values()) {
            if (rules) {
                for (Service service : Service.values()) {
                    held.add(service + " " + state);
                }
            } else {
                for (Connection c : Connection.values()) {
                    held.add(c + " " + state);
                }
            }
        }
        try (Network network = Network.create()) {
            Process server = start(network.inside(network.server, javaCommand(List.of(), HoldingServer.class,
                    Network.SERVER_ADDRESS)), Map.of());
            Lines serverOut = new Lines(server);
            serverOut.await("LISTENING", 60);

            List<String> jvmArgs = new ArrayList<>();
            Map<String, String> env = new LinkedHashMap<>();
            Properties settings = settings();
            if (kind.equals("agent") || rules) {
                jvmArgs.add("-javaagent:" + agent.toAbsolutePath() + "=config="
                        + (rules ? rulesConfig : config).toAbsolutePath());
            } else if (kind.equals("libkeepalive")) {
                env.put("LD_PRELOAD", LIBKEEPALIVE);
                env.put("KEEPIDLE", seconds(settings.getProperty("keepalive.idle")));
                env.put("KEEPINTVL", seconds(settings.getProperty("keepalive.interval")));
                env.put("KEEPCNT", settings.getProperty("keepalive.count", "9").trim());
            }
            Process client = start(network.inside(network.client, rules
                    ? javaCommand(jvmArgs, HoldingClient.class, Network.SERVER_ADDRESS, "rules")
                    : javaCommand(jvmArgs, HoldingClient.class, Network.SERVER_ADDRESS)), env);
            Lines clientOut = new Lines(client);
            clientOut.await("READY", 60);
            Thread.sleep(1500);  // the busy connections are writing, and their data is acknowledged

            network.pullCable();
            send(client, "PULLED");
            Run run = new Run();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(windowMillis);
            while (run.failures.size() < held.size() && System.nanoTime() < deadline) {
                String line = clientOut.poll(deadline - System.nanoTime());
                if (line != null && line.startsWith("FAILED ")) {
                    String[] parts = line.split(" ");
                    run.failures.put(parts[1] + " " + parts[2], Long.parseLong(parts[3]));
                    System.out.println("    " + line);
                }
            }
            send(client, "END");
            client.waitFor(10, TimeUnit.SECONDS);
            for (String connection : held) {
                run.failures.putIfAbsent(connection, -1L);
            }
            run.log = clientOut.stderr();
            server.destroyForcibly();
            client.destroyForcibly();
            server.waitFor(10, TimeUnit.SECONDS);
            return run;
        }
    }

    private List<String> javaCommand(List<String> jvmArgs, Class<?> main, String... args) {
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(baseJvmArgs);
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", classpath, main.getName()));
        command.addAll(List.of(args));
        return command;
    }

    private Process start(List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(name -> name.startsWith("TCPHARDENING_") || name.equals("JAVA_TOOL_OPTIONS"));
        builder.environment().putAll(env);
        Process process = builder.start();
        synchronized (processes) {
            processes.add(process);
        }
        return process;
    }

    private void killAll() {
        synchronized (processes) {
            for (Process process : processes) {
                process.destroyForcibly();
            }
        }
    }

    private static void send(Process process, String line) throws IOException {
        OutputStream in = process.getOutputStream();
        in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
    }

    private Properties settings() throws IOException {
        return load(config);
    }

    private static Properties load(Path file) throws IOException {
        Properties properties = new Properties();
        try (BufferedReader reader = Files.newBufferedReader(file)) {
            properties.load(reader);
        }
        return properties;
    }

    /** "5s" or "2m" as whole seconds, for libkeepalive's environment. */
    private static String seconds(String duration) {
        String value = duration == null ? "" : duration.trim();
        if (value.endsWith("m") && !value.endsWith("ms")) {
            return Long.toString(Long.parseLong(value.substring(0, value.length() - 1)) * 60);
        }
        return value.endsWith("s") && !value.endsWith("ms") ? value.substring(0, value.length() - 1) : value;
    }

    private String describeSettings() throws IOException {
        Properties settings = settings();
        return "keepalive.idle=" + settings.getProperty("keepalive.idle") + " keepalive.interval="
                + settings.getProperty("keepalive.interval") + " keepalive.count=" + settings.getProperty("keepalive.count")
                + " user_timeout=" + settings.getProperty("user_timeout");
    }

    static String table(Map<String, Map<String, Long>> results, int window, String settings) {
        StringBuilder text = new StringBuilder("Time for the application to learn its peer is gone, after the cable"
                + " was pulled (" + settings + "):\n\n");
        text.append(String.format("%-28s %-5s", "connection", "state"));
        for (String run : results.keySet()) {
            text.append(String.format(" %-26s", run));
        }
        text.append('\n');
        for (Connection c : Connection.values()) {
            for (Connection.State state : Connection.State.values()) {
                text.append(String.format("%-28s %-5s", c.label, state.name().toLowerCase()));
                for (Map<String, Long> run : results.values()) {
                    long ms = run.getOrDefault(c + " " + state, -1L);
                    text.append(String.format(" %-26s", ms < 0 ? "still waiting after " + window + " s"
                            : String.format("%.1f s", ms / 1000.0)));
                }
                text.append('\n');
            }
        }
        return text.toString();
    }

    /** Standard output of a process as a queue of lines; standard error kept whole. */
    private static final class Lines {
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final StringBuffer stderr = new StringBuffer();
        private final List<String> seen = new ArrayList<>();

        Lines(Process process) {
            pump(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), true);
            pump(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), false);
        }

        private void pump(BufferedReader reader, boolean out) {
            Thread thread = new Thread(() -> {
                try {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        if (out) {
                            lines.add(line);
                        } else {
                            stderr.append(line).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            thread.setDaemon(true);
            thread.start();
        }

        void await(String wanted, int seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                String line = poll(deadline - System.nanoTime());
                if (wanted.equals(line)) {
                    return;
                }
            }
            throw new IOException("no " + wanted + " within " + seconds + " s; output: " + seen + "\n" + stderr);
        }

        String poll(long nanos) throws InterruptedException {
            String line = lines.poll(Math.max(0, nanos), TimeUnit.NANOSECONDS);
            if (line != null) {
                seen.add(line);
            }
            return line;
        }

        String stderr() {
            return stderr.toString();
        }
    }
}
