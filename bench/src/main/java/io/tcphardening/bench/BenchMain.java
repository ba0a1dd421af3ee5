package io.tcphardening.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The figures of issue 21 ("Cost"), for every JDK on the machine, each against its baselines measured in the same
 * run, and each target beside its figure, met or missed: start-up beyond a do-nothing agent (whole processes,
 * interleaved and paired), per connection against the options set by hand (whole processes of {@link ConnectionLoop},
 * interleaved), a connection storm with logging, memory after 100,000 connections. Prints a report, with a table of
 * the targets at the end, and writes it as Markdown to {@code bench/target/results.md}; the load average of the
 * machine is recorded beside each part.
 *
 * <pre>BenchMain --agent JAR [--quick] [--no-pin]
 *           [--only startup,connection,storm,memory,steady,rules,probe-storm,probe-storm-attach]
 *           [--jdk VERSION_PREFIX] [--probe-connections N] [--probe-seconds S] [--probe-jitters none,10%,...]
 *           [--probe-attach-at S] [--probe-attach-values user_timeout=30s]</pre>
 *
 * Steady traffic (JMH), what ten rules cost, and the probe storm (issue 19, item 6: idle connections whose keepalive
 * probes fall due together, minutes per variant) are not targets of issue 21: they run only when named in
 * {@code --only}; {@code probe-storm-attach} runs the storm with and without a re-attach that lowers the user timeout
 * while the probes are due (variants {@code J+attach}).
 */
public final class BenchMain {

    private static final String LIBKEEPALIVE = "/usr/lib/libkeepalive.so";
    private static final String OPENS = "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED";
    private static final String OPENS_NET = "--add-opens=java.base/java.net=ALL-UNNAMED";

    private final Path agent;
    private final Path work;
    private final boolean quick;
    /** The parts to run ({@code --only}, comma-separated); all when empty. */
    private final List<String> only;
    /** {@code --no-pin}: JMH forks and the JDK rows of {@link ConnectionLoop} run on any CPU. */
    private final boolean noPin;
    private final String classpath = System.getProperty("java.class.path");
    private final StringBuilder report = new StringBuilder();
    /** The command line, for the options of single parts. */
    private final List<String> args;
    /** Issue 21's targets as measured: JDK, what, figure, target, met / missed / skipped, load at the time. */
    private final List<String[]> verdicts = new ArrayList<>();

    private BenchMain(Path agent, Path work, boolean quick, List<String> only, boolean noPin, List<String> args) {
        this.agent = agent;
        this.work = work;
        this.quick = quick;
        this.only = only;
        this.noPin = noPin;
        this.args = args;
    }

    private String option(String name, String otherwise) {
        return args.contains(name) ? args.get(args.indexOf(name) + 1) : otherwise;
    }

    public static void main(String[] args) throws Exception {
        List<String> list = Arrays.asList(args);
        Path agent = Paths.get(list.contains("--agent") ? list.get(list.indexOf("--agent") + 1)
                : "agent/target/tcp-hardening-agent.jar").toAbsolutePath();
        Path work = Files.createDirectories(Paths.get("bench/target/work").toAbsolutePath());
        BenchMain bench = new BenchMain(agent, work, list.contains("--quick"),
                list.contains("--only") ? Arrays.asList(list.get(list.indexOf("--only") + 1).split(",")) : List.of(),
                list.contains("--no-pin"), list);
        bench.say("# Benchmarks\n\nMachine: " + Runtime.getRuntime().availableProcessors() + " cores, "
                + System.getProperty("os.name") + " " + System.getProperty("os.version") + "; agent " + agent.getFileName()
                + "; libkeepalive " + (Files.exists(Paths.get(LIBKEEPALIVE)) ? "present" : "absent (its rows are skipped)")
                + ".\n");
        long started = System.nanoTime();
        bench.say("Load average (1, 5, 15 min) at the start: " + load() + "; parts: "
                + (bench.only.isEmpty() ? "startup,connection,storm,memory (the default)" : String.join(",", bench.only))
                + ".\n");
        String jdk = bench.option("--jdk", "");
        for (Path java : jdks()) {
            if (version(java).startsWith(jdk)) {
                bench.runAll(java);
                bench.write("");
            } else {
                bench.say("\n(JDK " + version(java) + " skipped: --jdk " + jdk + ")");
            }
        }
        bench.write(String.format("%nRun time %.1f min; load average at the end: %s.%n",
                (System.nanoTime() - started) / 60e9, load()));
        System.out.println("\nWritten: bench/target/results.md");
    }

    /** The report so far, with the table of targets after it, to bench/target/results.md (after each JDK too). */
    private void write(String footer) throws IOException {
        StringBuilder table = new StringBuilder(verdicts.isEmpty() ? "" : "\n## Targets (issue 21), met or missed\n\n"
                + "| JDK | what | figure | target | | load average at the time |\n| --- | --- | --- | --- | --- | --- |\n");
        for (String[] row : verdicts) {
            table.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        if (!footer.isEmpty()) {
            System.out.print(table);
            System.out.println(footer);
        }
        Files.writeString(Paths.get("bench/target/results.md"), report + table.toString() + footer);
    }

    /**
     * One of issue 21's targets as measured, for the table at the end: {@code met} null when it could not be
     * measured (the figure says why). Returns "met", "missed" or "skipped", for the part's own lines.
     */
    private String verdict(Path java, String what, String figure, String target, Boolean met, String load)
            throws IOException {
        String word = met == null ? "skipped" : met ? "met" : "missed";
        verdicts.add(new String[] {version(java), what, figure, target, met == Boolean.FALSE ? "**missed**" : word,
                load});
        return word;
    }

    /** The load average of 1, 5 and 15 minutes, as uptime prints it: other work on the machine moves every figure. */
    static String load() throws IOException {
        String[] parts = Files.readString(Paths.get("/proc/loadavg")).trim().split(" ");
        return parts[0] + " " + parts[1] + " " + parts[2];
    }

    private void runAll(Path java) throws Exception {
        say("\n## JDK " + version(java) + " (" + java + ")\n");
        if (runs("startup")) {
            startup(java);
        }
        if (runs("connection")) {
            perConnection(java);
        }
        if (only.contains("steady")) {
            steadyTraffic(java);
        }
        if (runs("storm")) {
            storm(java);
        }
        if (runs("memory")) {
            memory(java);
        }
        if (only.contains("rules")) {
            rules(java);
        }
        if (only.contains("probe-storm") || only.contains("probe-storm-attach")) {
            probeStorm(java);
        }
    }

    private boolean runs(String part) {
        return only.isEmpty() || only.contains(part);
    }

    // ---- start-up: whole processes, the variants interleaved run by run

    private static final String NONE = "none";
    private static final String FLOOR = "do-nothing agent (floor)";
    private static final String AGENT = "agent";

    /**
     * Issue 21: what the agent adds to a start beyond a do-nothing agent (the floor of any {@code -javaagent}),
     * paired round by round. The programs run as users run theirs: the small one from a jar of its own, the large one
     * from that jar and its libraries. Not from this module's classes directory, where the do-nothing agent's class
     * would be found before any jar is opened: a real agent jar comes last on the class path, and loading its premain
     * class opens every jar before it (with the large app's 25 jars, about 20 ms that any agent pays).
     */
    private void startup(Path java) throws Exception {
        String load = load();
        say("Load before start-up: " + load + ".");
        Path floor = floorAgent();
        Path apps = appsJar();
        List<String> libraries = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.endsWith(".jar")) {
                libraries.add(entry);
            }
        }
        String largeClasspath = apps + File.pathSeparator + String.join(File.pathSeparator, libraries);
        Map<String, List<String>> variants = new LinkedHashMap<>();
        variants.put(NONE, List.of());
        variants.put(FLOOR, List.of("-javaagent:" + floor));
        variants.put(AGENT, List.of("-javaagent:" + agent));
        variants.put("agent, log.level=warn", List.of("-javaagent:" + agent + "=log.level=warn"));
        if (Files.exists(Paths.get(LIBKEEPALIVE))) {
            variants.put("libkeepalive", List.of());
        }
        Starts small = new Starts(variants.keySet());
        // OneConnectionCpu: OneConnection, then its CPU time, the steadier reading when other work shares the cores
        startRounds(java, "OneConnectionCpu", apps.toString(), variants, quick ? 11 : 41, 3, small);
        startupTable("OneConnectionCpu", 3, small, NONE, FLOOR);
        long[] beyond = small.paired(small.wall, AGENT, FLOOR);
        long[] beyondCpu = small.paired(small.cpu, AGENT, FLOOR);
        long[] overNone = small.paired(small.wall, AGENT, NONE);
        long[] floorOverNone = small.paired(small.wall, FLOOR, NONE);
        String version = version(java);
        Integer budget = version.matches("17\\b.*") ? Integer.valueOf(20) : version.matches("25\\b.*") ? Integer.valueOf(30)
                : null;
        String smallFigure = String.format("%+d ms", median(beyond));
        String smallCpu = String.format("%+.1f ms", median(beyondCpu) / 1000.0);
        String smallVerdict = verdict(java, "start-up, one-connection program, agent (log info) - do-nothing agent, paired",
                String.format("%+d ms (p25-p75 %+d to %+d; agent - none %+d, floor - none %+d; CPU time %+.1f ms)",
                        median(beyond), beyond[beyond.length / 4], beyond[beyond.length * 3 / 4], median(overNone),
                        median(floorOverNone), median(beyondCpu) / 1000.0),
                budget == null ? "none for this JDK" : "<= " + budget + " ms", budget == null ? null
                        : median(beyond) <= budget, load);
        say(String.format("%nStart-up of the one-connection program beyond the do-nothing agent: **%s** wall (target %s:"
                + " %s); CPU time %s.%n", smallFigure, budget == null ? "none for this JDK" : "<= " + budget + " ms",
                smallVerdict, smallCpu));

        // The large app: its paired differences spread by hundreds of ms at a few rounds; rounds are added until
        // their p25-p75 is narrower than the figure, or the most allowed have run.
        Map<String, List<String>> largeVariants = new LinkedHashMap<>();
        for (String v : List.of(NONE, FLOOR, AGENT)) {
            largeVariants.put(v, variants.get(v));
        }
        int first = quick ? 5 : 11;
        int step = 10;
        int most = quick ? 5 : 31;
        Starts large = new Starts(largeVariants.keySet());
        startRounds(java, "LargeApp", largeClasspath, largeVariants, first, 2, large);
        while (large.rounds() < most) {
            long[] d = large.paired(large.wall, AGENT, FLOOR);
            if (d[d.length * 3 / 4] - d[d.length / 4] < Math.abs(median(d))) {
                break;
            }
            startRounds(java, "LargeApp", largeClasspath, largeVariants, Math.min(step, most - large.rounds()), 0,
                    large);
        }
        startupTable("LargeApp", 2, large, NONE, FLOOR);
        long[] d = large.paired(large.wall, AGENT, FLOOR);
        long width = d[d.length * 3 / 4] - d[d.length / 4];
        long[] ci = medianInterval(d);
        say(String.format("Large app: agent - do-nothing agent %+d ms after %d rounds (first %d, then up to %d in all, "
                + "%d at a time, while the spread was wider than the figure); p25-p75 of the paired differences %+d to %+d, "
                + "%d ms wide: %s. The median itself is known closer than that: about 95 %% of such medians fall "
                + "within %+d to %+d ms (order statistics); the spread of single rounds does not narrow with more "
                + "rounds, the median's interval does.%n", median(d), large.rounds(), first, most, step,
                d[d.length / 4], d[d.length * 3 / 4], width, width < Math.abs(median(d))
                        ? "narrower than the figure" : "NOT narrower than the figure, which is therefore within noise",
                ci[0], ci[1]));
        String largeVerdict = verdict(java, "start-up, large app (>= " + LargeApp.CLASSES + " classes, Reactor Netty), agent - "
                + "do-nothing agent, paired", String.format("%+d ms, p25-p75 %+d to %+d (%d ms wide) after %d rounds; "
                + "median's 95 %% interval %+d to %+d", median(d), d[d.length / 4], d[d.length * 3 / 4], width,
                large.rounds(), ci[0], ci[1]), "p25-p75 narrower than the figure", width < Math.abs(median(d)), load);
        say("Large app, spread narrower than the figure: " + largeVerdict + ".\n");
    }

    /** The wall times (ms) and, for OneConnectionCpu, CPU times (us) of start-up variants, round by round. */
    private static final class Starts {
        final Map<String, List<Long>> wall = new LinkedHashMap<>();
        final Map<String, List<Long>> cpu = new LinkedHashMap<>();

        Starts(java.util.Collection<String> variants) {
            variants.forEach(v -> wall.put(v, new ArrayList<>()));
            variants.forEach(v -> cpu.put(v, new ArrayList<>()));
        }

        int rounds() {
            return wall.values().iterator().next().size();
        }

        /** {@code variant} minus {@code base} in each round, sorted. */
        long[] paired(Map<String, List<Long>> times, String variant, String base) {
            List<Long> of = times.get(variant);
            List<Long> against = times.get(base);
            long[] paired = new long[of.size()];
            for (int round = 0; round < paired.length; round++) {
                paired[round] = of.get(round) - against.get(round);
            }
            Arrays.sort(paired);
            return paired;
        }
    }

    private static long median(long[] sorted) {
        return sorted[sorted.length / 2];
    }

    /**
     * A distribution-free interval of about 95 % for the median of {@code sorted}: the order statistics
     * n/2 -+ 0.98 sqrt(n) (the normal approximation of the binomial).
     */
    private static long[] medianInterval(long[] sorted) {
        int n = sorted.length;
        int low = (int) Math.max(0, Math.floor(n / 2.0 - 0.98 * Math.sqrt(n)));
        int high = (int) Math.min(n - 1, Math.ceil(n / 2.0 + 0.98 * Math.sqrt(n)) - 1);
        return new long[] {sorted[low], sorted[high]};
    }

    /**
     * Each variant's added time: the median, over rounds, of its time minus the time of the {@code base} variant (the
     * program without the agent, or the agent without rules) in the same round. Paired within a round, so that the
     * machine's slow and fast stretches cancel out (here they move a median by 10 ms and more from one run of the
     * benchmarks to the next).
     */
    private Map<String, Long> startupOf(Path java, String main, String appClasspath,
                                        Map<String, List<String>> variants, int runs, int discard, String base)
            throws Exception {
        Starts starts = new Starts(variants.keySet());
        startRounds(java, main, appClasspath, variants, runs, discard, starts);
        return startupTable(main, discard, starts, base, null);
    }

    /** {@code runs} more rounds of every variant, after {@code discard} rounds not kept, into {@code starts}. */
    private void startRounds(Path java, String main, String appClasspath, Map<String, List<String>> variants, int runs,
                             int discard, Starts starts) throws Exception {
        boolean cpu = main.equals("OneConnectionCpu");
        int kept = starts.rounds();
        for (int run = 0; run < runs + discard; run++) {
            // A B C, then C B A: no variant always runs first after the others
            List<Map.Entry<String, List<String>>> round = new ArrayList<>(variants.entrySet());
            if ((kept + run) % 2 == 1) {
                Collections.reverse(round);
            }
            for (Map.Entry<String, List<String>> variant : round) {
                List<String> command = new ArrayList<>(List.of(java.toString()));
                command.addAll(variant.getValue());
                command.addAll(List.of("-cp", appClasspath, "io.tcphardening.bench." + main));
                ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(cpu ? ProcessBuilder.Redirect.PIPE
                        : ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
                if (variant.getKey().equals("libkeepalive")) {
                    libkeepalive(builder.environment());
                }
                long start = System.nanoTime();
                Process process = builder.start();
                if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
                    throw new IllegalStateException(main + " failed with " + variant.getKey());
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                if (run >= discard) {
                    starts.wall.get(variant.getKey()).add(ms);
                    if (cpu) {  // "cpu NANOS", the process's own last line; microseconds kept
                        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                        starts.cpu.get(variant.getKey()).add(Long.parseLong(out.trim().split(" ")[1]) / 1000);
                    }
                }
            }
        }
    }

    /**
     * Prints the variants' times, each paired against {@code base} and, if not null, against {@code floor} too;
     * returns the median paired against {@code base} of each (and of its CPU time, as "variant (cpu us)").
     */
    private Map<String, Long> startupTable(String main, int discard, Starts starts, String base, String floor) {
        boolean cpu = main.equals("OneConnectionCpu");
        say("\nStart-up, " + (main.startsWith("OneConnection") ? "small app (one loopback connection)"
                : "large app (>= " + LargeApp.CLASSES + " classes, then Reactor Netty HTTP)") + ", " + starts.rounds()
                + " interleaved runs after " + discard + " discarded, wall time from fork to exit:\n\n"
                + "| variant | median ms | p25-p75 ms | added: median of (variant - " + base + ") in the same round, ms |"
                + (floor == null ? "" : " beyond the floor: median of (variant - " + floor + "), ms |")
                + "\n| --- | --- | --- | --- |" + (floor == null ? "" : " --- |"));
        Map<String, Long> added = new LinkedHashMap<>();
        for (Map.Entry<String, List<Long>> variant : starts.wall.entrySet()) {
            long[] sorted = variant.getValue().stream().mapToLong(Long::longValue).sorted().toArray();
            long[] paired = starts.paired(starts.wall, variant.getKey(), base);
            added.put(variant.getKey(), median(paired));
            String beyond = "";
            if (floor != null) {
                long[] overFloor = starts.paired(starts.wall, variant.getKey(), floor);
                beyond = String.format(" %+d (p25-p75 %+d to %+d) |", median(overFloor), overFloor[overFloor.length / 4],
                        overFloor[overFloor.length * 3 / 4]);
            }
            say(String.format("| %s | %d | %d-%d | %+d (p25-p75 %+d to %+d) |%s", variant.getKey(), median(sorted),
                    sorted[sorted.length / 4], sorted[sorted.length * 3 / 4], median(paired), paired[paired.length / 4],
                    paired[paired.length * 3 / 4], beyond));
        }
        if (cpu) {
            say("\nThe same processes' CPU time (every thread, from /proc/self/task/*/schedstat at the end of main):\n\n"
                    + "| variant | median ms | added: median of (variant - " + base + ") in the same round, ms |"
                    + (floor == null ? "" : " beyond the floor, ms |") + "\n| --- | --- | --- |"
                    + (floor == null ? "" : " --- |"));
            for (Map.Entry<String, List<Long>> variant : starts.cpu.entrySet()) {
                long[] sorted = variant.getValue().stream().mapToLong(Long::longValue).sorted().toArray();
                long[] paired = starts.paired(starts.cpu, variant.getKey(), base);
                added.put(variant.getKey() + " (cpu us)", median(paired));
                String beyond = "";
                if (floor != null) {
                    long[] overFloor = starts.paired(starts.cpu, variant.getKey(), floor);
                    beyond = String.format(" %+.1f (p25-p75 %+.1f to %+.1f) |", median(overFloor) / 1000.0,
                            overFloor[overFloor.length / 4] / 1000.0, overFloor[overFloor.length * 3 / 4] / 1000.0);
                }
                say(String.format("| %s | %.1f | %+.1f (p25-p75 %+.1f to %+.1f) |%s", variant.getKey(),
                        median(sorted) / 1000.0, median(paired) / 1000.0,
                        paired[paired.length / 4] / 1000.0, paired[paired.length * 3 / 4] / 1000.0, beyond));
            }
        }
        return added;
    }

    // ---- steady traffic: JMH, several short forks per variant, interleaved

    /**
     * On 2 shared cores, scheduling and CPU idle states move one fork's score by 20 % and more, so one fork per
     * variant run one after the other decides the ratio by luck. Each variant gets {@code rounds} forks instead,
     * interleaved (A B C, then C B A, ...), so that a slow stretch of the machine hits all variants alike; the median
     * of each variant is compared, and the spread (min-max) printed beside it.
     */
    private Map<String, List<Double>> interleaved(Path java, String benchmark, Map<String, String[]> variants,
                                                  int rounds) throws Exception {
        Map<String, List<Double>> scores = new LinkedHashMap<>();
        variants.keySet().forEach(v -> scores.put(v, new ArrayList<>()));
        List<String> order = new ArrayList<>(variants.keySet());
        for (int round = 0; round < rounds; round++) {
            for (String variant : order) {
                String[] spec = variants.get(variant);
                scores.get(variant).add(jmh(java, benchmark, spec[0],
                        Arrays.asList(spec).subList(1, spec.length), false));
            }
            Collections.reverse(order);
        }
        return scores;
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    /** "median (min-max)" */
    private static String spread(List<Double> values, String format) {
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        return String.format(format + " (" + format + "-" + format + ")", median(values), min, max);
    }

    /**
     * Issue 21: per connection, the agent against the same program setting the five options itself on both ends
     * (JDK sockets: {@link HandSet}; Netty: its own {@code option}/{@code childOption}), at {@code log.level=warn}
     * (no line per connection) and at {@code info} (a line per connection end, to a file). Whole processes of
     * {@link ConnectionLoop}, the variants interleaved (A B C, then C B A, ...): per process the best of its rounds,
     * then the median over processes. The JDK's APIs run pinned to one CPU (as the rules' rows); Netty's run on both
     * CPUs: pinned, its event loop and the connecting thread leave the CPU idle half the time (wall twice CPU time,
     * with the options by hand as with the agent), and that wake-up latency, not the work, would be what is timed.
     */
    private void perConnection(Path java) throws Exception {
        int processes = quick ? 3 : 6;
        int warmUp = 3;
        int rounds = 7;
        String load = load();
        say("\nPer connection (sequential loopback connect + accept + close, both ends in one JVM; per process the best"
                + " of " + rounds + " rounds after " + warmUp + " warm-up rounds, median of " + processes + " processes"
                + " per variant, interleaved (min-max), us; then the same processes' CPU time per connection, every"
                + " thread). The targets are judged on wall time; when other work shares the cores (a load average"
                + " above 2 here), wall time is mostly waiting for a CPU and the CPU-time ratios are the steadier"
                + " reading. Load before: " + load + ".\n\n"
                + "| connection | options by hand | agent, warn | agent, info (file) | **agent warn / by hand** "
                + "| **agent info / by hand** | CPU: by hand / warn / info | CPU ratios: warn, info "
                + "| log lines per connection, both ends (info) |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (String method : ConnectionBench.METHODS) {
            boolean netty = method.startsWith("netty");
            int connections = netty ? (quick ? 500 : 1000) : (quick ? 1000 : 2000);
            Path jvm = netty ? java : forkJvm(java, false);
            Path log = work.resolve("connection-" + method + ".log");
            Map<String, List<String>> variants = new LinkedHashMap<>();
            variants.put("byHand", List.of(OPENS, OPENS_NET));
            variants.put("warn", List.of("-javaagent:" + agent + "=log.level=warn"));
            variants.put("info", List.of("-javaagent:" + agent + "=log.level=info,log.file=" + log));
            Map<String, List<Double>> best = new LinkedHashMap<>();
            Map<String, List<Double>> cpu = new LinkedHashMap<>();
            variants.keySet().forEach(v -> best.put(v, new ArrayList<>()));
            variants.keySet().forEach(v -> cpu.put(v, new ArrayList<>()));
            List<String> order = new ArrayList<>(variants.keySet());
            String unavailable = null;
            long lines = 0;
            long opened = 0;
            for (int process = 0; process < processes && unavailable == null; process++) {
                for (String variant : order) {
                    Files.deleteIfExists(log);
                    String out = run(jvm, variants.get(variant), "ConnectionLoop", method,
                            variant.equals("byHand") ? "byHand" : "plain", "" + connections, "" + warmUp, "" + rounds)
                            .trim();
                    if (out.startsWith("unavailable ")) {
                        unavailable = out.substring("unavailable ".length());
                        break;
                    }
                    String[] parts = out.split(" ");
                    best.get(variant).add(Double.parseDouble(parts[1]));
                    cpu.get(variant).add(Double.parseDouble(parts[3]));
                    if (variant.equals("info")) {
                        try (var stream = Files.lines(log)) {
                            lines += stream.filter(l -> l.contains(" connect ") || l.contains(" accept ")).count();
                        }
                        opened += (long) connections * (warmUp + rounds);
                    }
                }
                Collections.reverse(order);
            }
            String name = name(method);
            if (unavailable != null) {
                say("| " + name + " | skipped: cannot start here: " + unavailable + " | | | | | | | |");
                verdict(java, "per connection, " + name + ", agent (warn) / by hand", "skipped: " + unavailable,
                        netty ? "<= 1.05" : "<= 1.00", null, load);
                continue;
            }
            double warn = median(best.get("warn")) / median(best.get("byHand"));
            double info = median(best.get("info")) / median(best.get("byHand"));
            double cpuWarn = median(cpu.get("warn")) / median(cpu.get("byHand"));
            double cpuInfo = median(cpu.get("info")) / median(cpu.get("byHand"));
            double warnTarget = netty ? 1.05 : 1.00;
            String warnVerdict = verdict(java, "per connection, " + name + ", agent (warn) / by hand",
                    String.format("%.3f (CPU time %.3f)", warn, cpuWarn), String.format("<= %.2f", warnTarget),
                    Math.round(warn * 1000) <= Math.round(warnTarget * 1000), load);
            String infoVerdict = netty ? null : verdict(java, "per connection, " + name + ", agent (info) / by hand",
                    String.format("%.3f (CPU time %.3f)", info, cpuInfo), "<= 1.05", Math.round(info * 1000) <= 1050,
                    load);
            say(String.format("| %s | %s | %s | %s | **%.3f** (target <= %.2f: %s) | **%.3f**%s | %s / %s / %s "
                    + "| %.3f, %.3f | %.2f |", name, spread(best.get("byHand"), "%.2f"), spread(best.get("warn"), "%.2f"),
                    spread(best.get("info"), "%.2f"), warn, warnTarget, warnVerdict, info, netty ? " (no target)"
                            : " (target <= 1.05: " + infoVerdict + ")",
                    spread(cpu.get("byHand"), "%.2f"), spread(cpu.get("warn"), "%.2f"), spread(cpu.get("info"), "%.2f"),
                    cpuWarn, cpuInfo, lines / (double) opened));
        }
        say("");
    }

    private static String name(String method) {
        switch (method) {
            case "socket":
                return "Socket";
            case "socketChannel":
                return "SocketChannel";
            case "asyncChannel":
                return "AsynchronousSocketChannel";
            case "nettyEpoll":
                return "Netty epoll";
            default:
                return "Netty io_uring";
        }
    }

    private void steadyTraffic(Path java) throws Exception {
        int rounds = quick ? 3 : 5;
        Map<String, String[]> variants = new LinkedHashMap<>();
        variants.put("none", new String[] {null});
        variants.put("agent", new String[] {null, "-javaagent:" + agent});
        Map<String, List<Double>> scores = interleaved(java, "SteadyTrafficBench.roundTrip", variants, rounds);
        say(String.format("%nSteady traffic (64-byte request and response over one persistent connection, JMH "
                + "throughput, median of %d interleaved forks (min-max)): none %s ops/ms, agent %s ops/ms, agent / none"
                + " **%.3f** (target >= 0.99).%n", rounds, spread(scores.get("none"), "%.1f"),
                spread(scores.get("agent"), "%.1f"), median(scores.get("agent")) / median(scores.get("none"))));
    }

    private double jmh(Path java, String benchmark, String mode, List<String> jvmArgs, boolean preload)
            throws Exception {
        Path jvm = forkJvm(java, preload);
        ChainedOptionsBuilder options = new OptionsBuilder().include("io\\.tcphardening\\.bench\\." + benchmark + "$")
                .jvm(jvm.toString()).forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(1))
                .measurementIterations(3).measurementTime(TimeValue.seconds(1))
                .verbosity(VerboseMode.SILENT).shouldFailOnError(true);
        if (mode != null) {
            options.param("mode", mode);
        }
        if (!jvmArgs.isEmpty()) {
            options.jvmArgsAppend(jvmArgs.toArray(new String[0]));
        }
        RunResult result = new Runner(options.build()).runSingle();
        return result.getPrimaryResult().getScore();
    }

    // ---- storm and memory: whole processes

    /** Log off and info interleaved (off info, info off, ...), as for JMH: one run of each let the machine decide. */
    private void storm(Path java) throws Exception {
        String load = load();
        int seconds = quick ? 4 : 6;
        int rounds = quick ? 2 : 3;
        List<Double> ratesOff = new ArrayList<>();
        List<Double> ratesInfo = new ArrayList<>();
        long ends = 0;
        long written = 0;
        long reportedDrops = 0;
        for (int round = 0; round < rounds; round++) {
            for (boolean info : round % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                if (!info) {
                    String off = run(java, List.of("-javaagent:" + agent + "=log.level=off"), "Storm", "8",
                            "" + seconds);
                    ratesOff.add(Double.parseDouble(off.trim().split(" ")[3]));
                    continue;
                }
                Path log = work.resolve("storm.log");
                Files.deleteIfExists(log);
                String out = run(java, List.of("-javaagent:" + agent + "=log.level=info,log.file=" + log), "Storm",
                        "8", "" + seconds);
                ratesInfo.add(Double.parseDouble(out.trim().split(" ")[3]));
                ends += 2 * Long.parseLong(out.split(" ")[1]);
                List<String> lines = Files.readAllLines(log);
                written += lines.stream().filter(l -> l.contains(" connect ") || l.contains(" accept ")).count();
                reportedDrops += lines.stream().filter(l -> l.contains("log lines dropped"))
                        .mapToLong(l -> Long.parseLong(l.replaceAll(".*\\((\\d+) in all\\).*", "$1"))).max().orElse(0);
            }
        }
        say(String.format("Connection storm (8 threads, %d s, loopback; median of %d interleaved runs each (min-max)): "
                + "log.level=off %s connections/s, log.level=info to a file %s/s, ratio **%.3f** (target >= 0.95). "
                + "Lines: %d connection ends, %d lines written, %d lost, %d reported dropped by the agent.%n", seconds,
                rounds, spread(ratesOff, "%.0f"), spread(ratesInfo, "%.0f"), median(ratesInfo) / median(ratesOff), ends,
                written, ends - written, reportedDrops));
        double ratio = median(ratesInfo) / median(ratesOff);
        String rateVerdict = verdict(java, "logging storm (8 threads, Socket), connections/s at info / at off", String.format(
                "%.3f (%.0f vs %.0f conn/s)", ratio, median(ratesInfo), median(ratesOff)), ">= 0.95",
                Math.round(ratio * 1000) >= 950, load);
        String linesVerdict = verdict(java, "logging storm, lines lost", String.format("%d lost of %d connection ends, %d reported dropped",
                ends - written, ends, reportedDrops), "none, or every drop counted and reported",
                ends - written == 0 || ends - written == reportedDrops, load);
        say("Storm: rate at info >= 0.95 of off: " + rateVerdict + "; no line lost, or every drop reported: "
                + linesVerdict + ". Load before: " + load + ".\n");
    }

    /**
     * Issue 21: after 100,000 connections no per-connection growth, and what the agent keeps for good. Each process
     * reports what it retains after half of its connections and after all of them; the growth per connection is the
     * difference over the second half, the agent's less the same without it. Not from the first tenth: what the agent
     * sizes once (its maps' tables, the log's buffers) grows over the first tens of thousands of connections and then
     * stays (JDK 25, 100,000 then 200,000 connections: +1.76 MiB, then -0.21 MiB).
     */
    private void memory(Path java) throws Exception {
        String load = load();
        int count = quick ? 20000 : 100000;
        int checkpoint = count / 2;
        String[] none = run(java, List.of(), "Memory", "" + count, "" + checkpoint, "all").split("\n");
        String[] agentOut = run(java, List.of("-javaagent:" + agent + "=log.level=warn"), "Memory", "" + count,
                "" + checkpoint, "all").split("\n");
        long[] noneEarly = memoryOf(none[0]);
        long[] noneLate = memoryOf(none[1]);
        long[] agentEarly = memoryOf(agentOut[0]);
        long[] agentLate = memoryOf(agentOut[1]);
        double perConnection = ((agentLate[0] - agentEarly[0]) - (noneLate[0] - noneEarly[0]))
                / (double) (count - checkpoint);
        say(String.format("Memory (log.level=warn; Socket, SocketChannel and AsynchronousSocketChannel in turn, "
                + "opened and closed, then GC), retained after %,d and %,d connections: heap none %.2f / %.2f MiB, "
                + "agent %.2f / %.2f MiB; growth per connection over the last %,d: none %+.2f bytes, agent %+.2f "
                + "bytes, agent less none **%+.2f bytes**. "
                + "The agent's fixed cost after %,d: heap %+.2f MiB, metaspace %+.2f MiB, classes %+d.%n", checkpoint,
                count, noneEarly[0] / 1048576.0, noneLate[0] / 1048576.0, agentEarly[0] / 1048576.0,
                agentLate[0] / 1048576.0, count - checkpoint,
                (noneLate[0] - noneEarly[0]) / (double) (count - checkpoint),
                (agentLate[0] - agentEarly[0]) / (double) (count - checkpoint), perConnection, count,
                (agentLate[0] - noneLate[0]) / 1048576.0, (agentLate[1] - noneLate[1]) / 1048576.0,
                agentLate[2] - noneLate[2]));
        // below 8 bytes: not even one reference per connection stays (a kept object costs 16 bytes and more)
        String growthVerdict = verdict(java, "memory, heap growth per connection (agent less none, " + (count - checkpoint) + " connections)",
                String.format("%+.2f bytes", perConnection), "none (< 8 bytes: not one object per connection)",
                perConnection < 8, load);
        say("Memory: no growth per connection: " + growthVerdict + ". Load before: " + load + ".\n");
        verdict(java, "memory, the agent's fixed cost after " + count + " connections (reported)",
                String.format("heap %+.2f MiB, metaspace %+.2f MiB", (agentLate[0] - noneLate[0]) / 1048576.0,
                        (agentLate[1] - noneLate[1]) / 1048576.0), "reported", true, load);
    }

    /** {@code at N heap BYTES metaspace BYTES classes N}: heap, metaspace, classes. */
    private static long[] memoryOf(String line) {
        String[] parts = line.trim().split(" ");
        return new long[] {Long.parseLong(parts[3]), Long.parseLong(parts[5]), Long.parseLong(parts[7])};
    }

    // ---- rules: what ten rules cost against none, at start-up and per connection

    /** The configurations compared: no rules, and ten rules whose last one matches loopback or not. */
    private static final String NO_RULES = "agent, no rules";
    private static final String TEN_RULES = "agent, ten rules, none matching";
    private static final String TEN_RULES_LAST = "agent, ten rules, the last matching";

    private void rules(Path java) throws Exception {
        Map<String, Path> configs = new LinkedHashMap<>();
        configs.put(NO_RULES, Files.writeString(work.resolve("rules-none.properties"), "# no rules\n"));
        configs.put(TEN_RULES, Files.writeString(work.resolve("rules-ten.properties"), tenRules(false)));
        configs.put(TEN_RULES_LAST, Files.writeString(work.resolve("rules-ten-last.properties"), tenRules(true)));

        Map<String, List<String>> variants = new LinkedHashMap<>();
        configs.forEach((name, config) -> variants.put(name, List.of("-javaagent:" + agent + "=config=" + config)));
        Map<String, Long> added = startupOf(java, "OneConnectionCpu", appsJar().toString(), variants,
                quick ? 31 : 101, 3, NO_RULES);
        say(String.format("Start-up added by ten rules, paired against the agent without rules in the same round: none "
                + "matching **%+d ms** wall, %+.1f ms CPU; the last matching **%+d ms** wall, %+.1f ms CPU (target <= +3 "
                + "ms).%n", added.get(TEN_RULES), added.get(TEN_RULES + " (cpu us)") / 1000.0, added.get(TEN_RULES_LAST),
                added.get(TEN_RULES_LAST + " (cpu us)") / 1000.0));

        int processes = quick ? 4 : 8;
        int connections = 4000;
        int warmUp = 3;
        int rounds = 7;
        Path pinned = forkJvm(java, false);
        say("Rules, per connection (sequential loopback connect + accept + close, both ends in one JVM, log.level=warn;"
                + " per process the best of " + rounds + " rounds of " + connections + " connections after " + warmUp
                + " warm-up rounds, median of " + processes + " processes per variant, interleaved (min-max), us; wall"
                + " time, then CPU time of the whole process):\n\n"
                + "| connection | " + NO_RULES + " | " + TEN_RULES + " | ratio | " + TEN_RULES_LAST + " | ratio |\n"
                + "| --- | --- | --- | --- | --- | --- |");
        for (String method : List.of("socket", "socketChannel", "nettyEpoll")) {
            Map<String, List<Double>> best = new LinkedHashMap<>();
            Map<String, List<Double>> cpu = new LinkedHashMap<>();
            List<String> order = new ArrayList<>(configs.keySet());
            order.forEach(v -> best.put(v, new ArrayList<>()));
            order.forEach(v -> cpu.put(v, new ArrayList<>()));
            for (int process = 0; process < processes; process++) {
                for (String variant : order) {
                    String[] out = run(pinned, List.of("-javaagent:" + agent + "=config=" + configs.get(variant)
                            + ",log.level=warn"), "ConnectionLoop", method, "plain", "" + connections, "" + warmUp,
                            "" + rounds)
                            .trim().split(" ");
                    best.get(variant).add(Double.parseDouble(out[1]));
                    cpu.get(variant).add(Double.parseDouble(out[3]));
                }
                Collections.reverse(order);
            }
            say(String.format("| %s, wall | %s | %s | **%.3f** (target <= 1.05) | %s | **%.3f** (target <= 1.05) |",
                    method, spread(best.get(NO_RULES), "%.2f"), spread(best.get(TEN_RULES), "%.2f"),
                    median(best.get(TEN_RULES)) / median(best.get(NO_RULES)), spread(best.get(TEN_RULES_LAST), "%.2f"),
                    median(best.get(TEN_RULES_LAST)) / median(best.get(NO_RULES))));
            say(String.format("| %s, CPU | %s | %s | **%.3f** | %s | **%.3f** |", method,
                    spread(cpu.get(NO_RULES), "%.2f"), spread(cpu.get(TEN_RULES), "%.2f"),
                    median(cpu.get(TEN_RULES)) / median(cpu.get(NO_RULES)), spread(cpu.get(TEN_RULES_LAST), "%.2f"),
                    median(cpu.get(TEN_RULES_LAST)) / median(cpu.get(NO_RULES))));
        }
        say("");
    }

    /**
     * Ten rules of the kinds the README's examples use (addresses and CIDRs of both families, port lists and ranges,
     * listener ports, host globs, policies), none of which matches the benchmark's loopback connections, except the
     * tenth with {@code lastMatches}: it then matches both ends and gives values other than the global ones, so that
     * the accepted end, which inherits the global values from its listener, is written again.
     */
    static String tenRules(boolean lastMatches) {
        return "rules = db cache queue search payments nat partners inbound mobile local\n"
                + "rule.db.match = connect remote=10.20.0.0/16,fd00:20::/32 port=5432,6432\n"
                + "rule.db.keepalive.idle = 10s\nrule.db.keepalive.interval = 2s\nrule.db.keepalive.count = 3\n"
                + "rule.db.user_timeout = 16s\n"
                + "rule.cache.match = connect host=*.cache.internal port=6379\nrule.cache.user_timeout = 10s\n"
                + "rule.queue.match = connect remote=192.0.2.0/24 port=5671-5672\nrule.queue.keepalive.idle = 30s\n"
                + "rule.search.match = connect host=search-*.example.com,es?.example.com port=9200-9300\n"
                + "rule.search.app.values = stricter\n"
                + "rule.payments.match = connect remote=198.51.100.0/24,2001:db8:100::/48 port=443,8443\n"
                + "rule.payments.user_timeout = 20s\n"
                + "rule.nat.match = connect remote=203.0.113.0/24,2001:db8::/32\nrule.nat.keepalive.idle = 240s\n"
                + "rule.nat.keepalive.interval = 30s\nrule.nat.keepalive.count = 3\nrule.nat.user_timeout = 330s\n"
                + "rule.partners.match = connect host=*.partner.example port=22,2222\nrule.partners.app.values = keep\n"
                + "rule.inbound.match = accept local-port=8443\nrule.inbound.user_timeout = 5m\n"
                + "rule.mobile.match = accept remote=100.64.0.0/10 local-port=9000-9100\nrule.mobile.user_timeout = 3m\n"
                + "rule.local.match = remote=" + (lastMatches ? "127.0.0.0/8,::1" : "192.0.2.200/32,2001:db8::200/128")
                + "\nrule.local.keepalive.idle = 30s\nrule.local.user_timeout = 1m\n";
    }

    /** The last line {@code main} prints, or every line when its last argument is "all" (not passed on). */
    private String run(Path java, List<String> jvmArgs, String main, String... args) throws Exception {
        boolean all = args.length > 0 && args[args.length - 1].equals("all");
        if (all) {
            args = Arrays.copyOf(args, args.length - 1);
        }
        List<String> command = new ArrayList<>(List.of(java.toString()));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", classpath, "io.tcphardening.bench." + main));
        command.addAll(List.of(args));
        Path errors = work.resolve(main + ".err");
        Process process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IllegalStateException(main + " failed: " + out + "; " + String.join(" ", command)
                    + "; its standard error (" + errors + "):\n" + Files.readString(errors));
        }
        return all ? out.trim() : out.lines().reduce((a, b) -> b).orElse("");
    }

    // ---- probe storm: two whole processes per variant, minutes each

    /** The ends of a probe storm still running: ended if this process is stopped, or if an end stops answering. */
    private final List<Process> children = Collections.synchronizedList(new ArrayList<>());

    /**
     * Issue 19, item 6: a client JVM opens many loopback connections to a server JVM in one burst, both under the
     * agent with its defaults (log.level=warn), and the connections stay idle. Without jitter the keepalive timers of
     * the whole burst, both ends, fall due together; the probes pass through loopback's per-CPU backlog
     * (net.core.netdev_max_backlog), those it drops are retried an interval later in the same lockstep, and
     * TCP_USER_TIMEOUT ends a connection whose probes stay unanswered that long. Counted from outside the agent: each
     * end's selector (reads that fail or end), the kernel's drop counter in /proc/net/softnet_stat (machine-wide), its
     * TcpExt counters of probes sent and aborts on timeout (the network namespace's: whatever else runs on the
     * machine adds to them), and the keepalive timers that ss reports right after the burst.
     */
    private void probeStorm(Path java) throws Exception {
        int connections = Integer.parseInt(option("--probe-connections", "19900"));
        int seconds = Integer.parseInt(option("--probe-seconds", "180"));
        // a variant "J+attach": the same storm, and at --probe-attach-at s after the burst both JVMs are attached
        // again with the same settings plus --probe-attach-values (a lower user_timeout, issue 19)
        List<String> jitters = Arrays.asList(option("--probe-jitters", only.contains("probe-storm")
                ? "none,10%,50%" : "none,none+attach,10%,10%+attach").split(","));
        String backlog = Files.readAllLines(Paths.get("/proc/sys/net/core/netdev_max_backlog")).get(0).trim();
        // several listeners: no accept queue (somaxconn) has to hold the burst alone
        int listeners = Math.max(1, (connections + 4095) / 4096);
        Thread stopper = new Thread(() -> children.forEach(Process::destroyForcibly));
        Runtime.getRuntime().addShutdownHook(stopper);
        try {
            List<String> rows = new ArrayList<>();
            List<String> timelines = new ArrayList<>();
            for (String jitter : jitters) {
                String[] result = probeStormVariant(java, connections, seconds, listeners, jitter);
                rows.add(result[0]);
                timelines.add(result[1]);
            }
            say(String.format("%nProbe storm (issue 19 item 6): %,d loopback connections opened in one burst from a "
                    + "client JVM to a server JVM (%d listeners), both with the agent's defaults (keepalive idle 60 s, "
                    + "interval 10 s, count 6, user_timeout 2 min; log.level=warn), then held idle %d s; "
                    + "net.core.netdev_max_backlog %s at the start. Drops and TcpExt counters are machine-wide deltas "
                    + "over the hold; \"ended\" counts connections either end saw ended by the kernel (union of both "
                    + "ends). \"+attach\": both JVMs attached again %s s after the burst with the variant's settings "
                    + "plus %s:%n%n"
                    + "| keepalive.jitter | netdev_max_backlog | load avg 1 min (start / end) | opened (burst) "
                    + "| first probes due, s after the burst (/proc/net/tcp, both ends) "
                    + "| largest timer-wheel expiry (ends; expiries) "
                    + "| keepalive probes sent | loopback packets dropped (by CPU) | TcpExt aborts on timeout "
                    + "| connections ended | ends seen: client timeout/reset/eof, server timeout/reset/eof "
                    + "| ended, s after the burst | attach: s after the burst; client, server "
                    + "| ended before the attach / within 10 s after it / later |%n"
                    + "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
                    connections, listeners, seconds, backlog, option("--probe-attach-at", "62"),
                    option("--probe-attach-values", "user_timeout=30s")));
            rows.forEach(this::say);
            say("\nLoopback drops by second after the burst (second: packets):\n");
            timelines.forEach(this::say);
        } finally {
            Runtime.getRuntime().removeShutdownHook(stopper);
        }
    }

    /** One variant: its table row and its line of drops over time. */
    private String[] probeStormVariant(Path java, int connections, int seconds, int listeners, String variant)
            throws Exception {
        boolean attach = variant.endsWith("+attach");
        String jitter = attach ? variant.substring(0, variant.length() - "+attach".length()) : variant;
        String javaagent = "-javaagent:" + agent + "=log.level=warn"
                + (jitter.equals("none") ? "" : ",keepalive.jitter=" + jitter);
        String backlog = Files.readAllLines(Paths.get("/proc/sys/net/core/netdev_max_backlog")).get(0).trim();
        String loadStart = loadAverage();
        Path serverEnded = work.resolve("probe-storm-server-ended.txt");
        Path clientEnded = work.resolve("probe-storm-client-ended.txt");
        Files.deleteIfExists(serverEnded);
        Files.deleteIfExists(clientEnded);
        System.out.println("(probe storm, " + variant + ": " + seconds + " s of idle connections)");
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep((seconds + 600) * 1000L);
                System.err.println("probe storm: an end stopped answering; both are ended");
                children.forEach(Process::destroyForcibly);
            } catch (InterruptedException e) {
                // the variant ended in time
            }
        }, "probe-storm-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        Process server = null;
        Process client = null;
        Thread sampler = null;
        try {
            server = probeStormEnd(java, javaagent, "server", Integer.toString(listeners),
                    Integer.toString(connections), serverEnded.toString());
            BufferedReader serverOut = lines(server);
            String ports = expect(serverOut, "ports ", "server").substring("ports ".length());
            long[] drops = softnetDropsByCpu();
            Map<String, Long> tcp = tcpExt();
            client = probeStormEnd(java, javaagent, "client", Integer.toString(connections), clientEnded.toString(),
                    ports);
            BufferedReader clientOut = lines(client);
            String[] opened = expect(clientOut, "opened ", "client").split(" ");
            long burstEnd = System.currentTimeMillis();
            expect(serverOut, "accepted ", "server");
            double[] timers = keepaliveTimers(ports, burstEnd);
            Process serverEnd = server;
            Process clientEnd = client;
            String[] attached = {"-", "-"};
            long[] attachWindow = {Long.MAX_VALUE, Long.MAX_VALUE};
            Thread attacher = null;
            if (attach) {
                attacher = new Thread(() -> {
                    try {
                        long at = burstEnd + Long.parseLong(option("--probe-attach-at", "62")) * 1000L;
                        Thread.sleep(Math.max(0, at - System.currentTimeMillis()));
                        attachWindow[0] = System.currentTimeMillis();
                        String[] lines = attachBoth(java, jitter, clientEnd.pid(), serverEnd.pid());
                        attachWindow[1] = System.currentTimeMillis();
                        attached[0] = String.format("%.1f-%.1f", (attachWindow[0] - burstEnd) / 1000.0,
                                (attachWindow[1] - burstEnd) / 1000.0);
                        attached[1] = lines[0] + "; " + lines[1];
                    } catch (Exception e) {
                        attached[1] = "failed: " + e;
                    }
                }, "probe-storm-attach");
                attacher.start();
            }
            Map<Long, Long> dropsBySecond = Collections.synchronizedMap(new TreeMap<>());
            sampler = new Thread(() -> {
                try {
                    long last = softnetDrops();
                    while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(1000);
                        long now = softnetDrops();
                        if (now != last) {
                            dropsBySecond.merge((System.currentTimeMillis() - burstEnd) / 1000, now - last, Long::sum);
                        }
                        last = now;
                    }
                } catch (InterruptedException | IOException e) {
                    // stopped at the end of the hold
                }
            }, "probe-storm-drops");
            sampler.start();
            Thread.sleep(Math.max(0, burstEnd + seconds * 1000L - System.currentTimeMillis()));
            long[] dropsAfter = softnetDropsByCpu();
            StringBuilder byCpu = new StringBuilder();
            for (int cpu = 0; cpu < dropsAfter.length; cpu++) {
                byCpu.append(cpu == 0 ? "" : " / ").append(String.format("%,d", dropsAfter[cpu] - drops[cpu]));
            }
            long dropped = Arrays.stream(dropsAfter).sum() - Arrays.stream(drops).sum();
            Map<String, Long> tcpAfter = tcpExt();
            String loadEnd = loadAverage();
            sampler.interrupt();
            sampler.join();
            if (attacher != null) {
                attacher.join();
            }
            for (Process end : List.of(server, client)) {
                end.getOutputStream().write("report\n".getBytes(StandardCharsets.UTF_8));
                end.getOutputStream().flush();
            }
            String[] serverEnds = expect(serverOut, "ended ", "server").split(" ");
            String[] clientEnds = expect(clientOut, "ended ", "client").split(" ");
            Map<String, Long> ended = new TreeMap<>();
            for (Path file : List.of(serverEnded, clientEnded)) {
                for (String line : Files.readAllLines(file)) {
                    String[] parts = line.split(" ");
                    ended.merge(parts[0], Long.parseLong(parts[2]), Math::min);
                }
            }
            String when = ended.isEmpty() ? "-" : String.format("%.0f-%.0f",
                    (ended.values().stream().mapToLong(Long::longValue).min().getAsLong() - burstEnd) / 1000.0,
                    (ended.values().stream().mapToLong(Long::longValue).max().getAsLong() - burstEnd) / 1000.0);
            long before = ended.values().stream().filter(t -> t < attachWindow[0]).count();
            long atOnce = ended.values().stream().filter(t -> t >= attachWindow[0] && t < attachWindow[1] + 10_000)
                    .count();
            String split = attach ? String.format("%,d / %,d / %,d", before, atOnce, ended.size() - before - atOnce)
                    : "-";
            String row = String.format("| %s | %s | %s / %s | %,d (%.1f s) | %.1f-%.1f (%,d ends) | %s | %,d "
                    + "| %,d (%s) | %,d | **%,d** (%.1f %%) | %s/%s/%s%s, %s/%s/%s%s | %s | %s | %s |", variant,
                    backlog, loadStart, loadEnd, Integer.parseInt(opened[1]),
                    Long.parseLong(opened[2]) / 1000.0, timers[1], timers[2], (long) timers[0],
                    timers[3] < 0 ? "?" : String.format("%,d (%,d)", (long) timers[3], (long) timers[4]),
                    delta(tcp, tcpAfter, "TCPKeepAlive"), dropped, byCpu, delta(tcp, tcpAfter, "TCPAbortOnTimeout"),
                    ended.size(), 100.0 * ended.size() / connections, clientEnds[3], clientEnds[5], clientEnds[7],
                    clientEnds[9].equals("0") ? "" : " (other " + clientEnds[9] + ")", serverEnds[3], serverEnds[5],
                    serverEnds[7], serverEnds[9].equals("0") ? "" : " (other " + serverEnds[9] + ")", when,
                    attach ? attached[0] + " s; " + attached[1] : "-", split);
            StringBuilder timeline = new StringBuilder("- " + variant + ": ");
            synchronized (dropsBySecond) {
                dropsBySecond.forEach((second, count) -> timeline.append(second).append(": ").append(count)
                        .append(", "));
            }
            System.out.println(row);
            // every TcpExt and Tcp counter that moved over the hold (machine-wide), for what the row does not show
            StringBuilder moved = new StringBuilder("(" + variant + ": TcpExt/Tcp counters that moved:");
            Map<String, Long> tcpStart = new TreeMap<>(tcp);
            tcpAfter.forEach((name, value) -> {
                long d = value - tcpStart.getOrDefault(name, 0L);
                if (d != 0) {
                    moved.append(' ').append(name).append('=').append(d);
                }
            });
            System.out.println(moved.append(')'));
            return new String[] {row, dropsBySecond.isEmpty() ? timeline + "none"
                    : timeline.substring(0, timeline.length() - 2)};
        } finally {
            watchdog.interrupt();
            if (sampler != null) {
                sampler.interrupt();
            }
            for (Process end : Arrays.asList(client, server)) {
                if (end != null) {
                    stop(end);
                }
            }
        }
    }

    /** An end of the probe storm, from this module's classes alone: no library jar holds descriptors open. */
    private Process probeStormEnd(Path java, String javaagent, String role, String... args) throws Exception {
        Path classes = Paths.get(ProbeStorm.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> command = new ArrayList<>(List.of(java.toString(), javaagent, "-cp", classes.toString(),
                ProbeStorm.class.getName(), role));
        command.addAll(Arrays.asList(args));
        Process process = new ProcessBuilder(command)
                .redirectError(work.resolve("probe-storm-" + role + ".err").toFile()).start();
        children.add(process);
        return process;
    }

    /** Closing its standard input ends an end of the probe storm; one that does not end in time is killed. */
    private void stop(Process end) throws InterruptedException {
        try {
            end.getOutputStream().close();
        } catch (IOException e) {
            // already gone
        }
        if (!end.waitFor(30, TimeUnit.SECONDS)) {
            end.destroyForcibly().waitFor();
        }
        children.remove(end);
    }

    private static BufferedReader lines(Process process) {
        return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** The next line of an end's output, which must start with {@code prefix}. */
    private String expect(BufferedReader out, String prefix, String role) throws IOException {
        String line = out.readLine();
        if (line == null || !line.startsWith(prefix)) {
            throw new IllegalStateException("probe storm " + role + ": expected \"" + prefix + "...\", got " + line
                    + "; its standard error: " + work.resolve("probe-storm-" + role + ".err"));
        }
        return line;
    }

    /**
     * The keepalive timers of the storm's connections as the kernel holds them, read from /proc/net/tcp6 and tcp
     * (their expiry in 1/100 s): the number of ends with one, the first and last due in seconds after the burst, and
     * how many ends share the largest expiry of the kernel's timer wheel, and the number of expiries. The wheel keeps
     * a timer due in delta jiffies at level n, the first with delta &lt; 63 &lt;&lt; 3n, and runs it at the next
     * multiple of 2^3n jiffies (kernel/time/timer.c, calc_wheel_index): a 60 s timer at HZ=250 waits for a multiple of
     * 512 jiffies (2.048 s), and every timer of that bucket runs in one timer softirq, so the probes of a bucket
     * reach loopback's per-CPU backlog together. The current jiffies come from /proc/timer_list (root only; without
     * it the last two figures are -1).
     */
    private static double[] keepaliveTimers(String ports, long burstEnd) throws Exception {
        Set<Integer> listeners = new TreeSet<>();
        for (String port : ports.split(",")) {
            listeners.add(Integer.parseInt(port));
        }
        long[] jiffiesBefore = jiffies();
        long when = System.currentTimeMillis();
        List<String> lines = new ArrayList<>();
        for (String file : List.of("/proc/net/tcp6", "/proc/net/tcp")) {
            lines.addAll(Files.readAllLines(Paths.get(file)));
        }
        long[] jiffiesAfter = jiffies();
        long hz = jiffiesBefore == null || jiffiesAfter == null ? -1 : hz();
        double first = Double.MAX_VALUE;
        double last = -1;
        long ends = 0;
        Map<Long, Long> buckets = new TreeMap<>();
        Set<String> seen = new TreeSet<>();
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).trim().split("\\s+");
            // established, keepalive timer pending; once per inode: while other processes open and close sockets,
            // the kernel's listing, read in pages, may repeat a line
            if (f.length < 10 || !f[3].equals("01") || !f[5].startsWith("02:") || !seen.add(f[9])) {
                continue;
            }
            int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
            int remote = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
            // 127.0.0.1 (IPv4 or IPv4-mapped) on the listener's side: other connections may use the same number
            if (!(listeners.contains(local) && f[1].contains("0100007F:"))
                    && !(listeners.contains(remote) && f[2].contains("0100007F:"))) {
                continue;
            }
            long clock = Long.parseLong(f[5].substring(3), 16);  // USER_HZ = 100
            double due = (when - burstEnd + clock * 10) / 1000.0;
            first = Math.min(first, due);
            last = Math.max(last, due);
            ends++;
            if (hz > 0) {
                // each line's delta is from the jiffies when it was written: interpolated over the read
                long now = jiffiesBefore[0] + (jiffiesAfter[0] - jiffiesBefore[0]) * i / lines.size();
                long delta = clock * hz / 100 + hz / 200;
                int level = 0;
                while (level < 8 && delta >= 63L << (3 * level)) {
                    level++;
                }
                long expiry = (((now + delta) >> (3 * level)) + 1) << (3 * level);
                buckets.merge(expiry, 1L, Long::sum);
            }
        }
        long largest = buckets.values().stream().mapToLong(Long::longValue).max().orElse(hz > 0 ? 0 : -1);
        return new double[] {ends, ends == 0 ? 0 : first, last, largest, hz > 0 ? buckets.size() : -1};
    }

    /** The kernel's jiffies, from /proc/timer_list, or null if it cannot be read. */
    private static long[] jiffies() {
        try (BufferedReader in = Files.newBufferedReader(Paths.get("/proc/timer_list"))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("jiffies:")) {
                    return new long[] {Long.parseLong(line.substring("jiffies:".length()).trim())};
                }
            }
        } catch (IOException | RuntimeException e) {
            // not root
        }
        return null;
    }

    /** HZ: jiffies over half a second, rounded to the nearest of the kernel's choices. */
    private static long hz() throws InterruptedException {
        long[] a = jiffies();
        long start = System.nanoTime();
        Thread.sleep(500);
        long[] b = jiffies();
        double measured = (b[0] - a[0]) / ((System.nanoTime() - start) / 1e9);
        long best = 100;
        for (long hz : new long[] {100, 250, 300, 1000}) {
            if (Math.abs(hz - measured) < Math.abs(best - measured)) {
                best = hz;
            }
        }
        return best;
    }

    private static String loadAverage() {
        try {
            return Files.readAllLines(Paths.get("/proc/loadavg")).get(0).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * Attaches the agent again to both ends at once, with the variant's settings plus {@code --probe-attach-values};
     * returns each command's "connections open before the attach" line (shortened).
     */
    private String[] attachBoth(Path java, String jitter, long clientPid, long serverPid) throws Exception {
        List<Process> attaches = new ArrayList<>();
        for (long pid : new long[] {clientPid, serverPid}) {
            List<String> command = new ArrayList<>(List.of(java.toString(), "-jar", agent.toString(), "attach",
                    Long.toString(pid), "log.level=warn"));
            if (!jitter.equals("none")) {
                command.add("keepalive.jitter=" + jitter);
            }
            command.addAll(Arrays.asList(option("--probe-attach-values", "user_timeout=30s").split(",")));
            attaches.add(new ProcessBuilder(command).redirectErrorStream(true).start());
        }
        String[] lines = new String[2];
        Pattern hardened = Pattern.compile("hardened (\\d+)");
        Pattern deferred = Pattern.compile("lowered later on (\\d+)");
        for (int i = 0; i < 2; i++) {
            String out = new String(attaches.get(i).getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            attaches.get(i).waitFor();
            Files.writeString(work.resolve("probe-storm-attach-" + (i == 0 ? "client" : "server") + ".txt"), out);
            Matcher h = hardened.matcher(out);
            Matcher d = deferred.matcher(out);
            lines[i] = h.find() ? "hardened " + h.group(1) + ", user_timeout deferred on " + (d.find() ? d.group(1)
                    : "0") : "exit " + attaches.get(i).exitValue() + ": " + out.trim().replace('\n', ' ');
        }
        return lines;
    }

    /** Packets dropped because a CPU's backlog was full (loopback's only queue), all CPUs. */
    private static long softnetDrops() throws IOException {
        return Arrays.stream(softnetDropsByCpu()).sum();
    }

    /**
     * The same by CPU: the keepalive timers fire on the CPU whose timer wheel holds them, and the probes they send
     * queue on that CPU's backlog.
     */
    private static long[] softnetDropsByCpu() throws IOException {
        return Files.readAllLines(Paths.get("/proc/net/softnet_stat")).stream()
                .mapToLong(line -> Long.parseLong(line.trim().split("\\s+")[1], 16)).toArray();
    }

    private static Map<String, Long> tcpExt() throws IOException {
        Map<String, Long> counters = new TreeMap<>();
        List<String> lines = Files.readAllLines(Paths.get("/proc/net/netstat"));
        for (int i = 0; i + 1 < lines.size(); i += 2) {
            if (lines.get(i).startsWith("TcpExt:")) {
                String[] names = lines.get(i).split("\\s+");
                String[] values = lines.get(i + 1).split("\\s+");
                for (int j = 1; j < names.length; j++) {
                    counters.put(names[j], Long.parseLong(values[j]));
                }
            }
        }
        return counters;
    }

    private static long delta(Map<String, Long> before, Map<String, Long> after, String counter) {
        return after.getOrDefault(counter, 0L) - before.getOrDefault(counter, 0L);
    }

    // ---- helpers

    private void say(String line) {
        System.out.println(line);
        report.append(line).append('\n');
    }

    private static void libkeepalive(Map<String, String> env) {
        env.put("LD_PRELOAD", LIBKEEPALIVE);
        env.put("KEEPIDLE", Integer.toString(HandSet.IDLE));
        env.put("KEEPINTVL", Integer.toString(HandSet.INTERVAL));
        env.put("KEEPCNT", Integer.toString(HandSet.COUNT));
    }

    /**
     * The {@code java} JMH forks: pinned to the machine's last CPU when {@code taskset} is there, and preloading
     * libkeepalive if asked (JMH forks its JVMs from a path, not an environment). Pinned, a request/response between
     * two threads hands the CPU from one to the other and never waits for an idle core to wake up; unpinned, that
     * wake-up latency and which core each thread lands on decide much of a fork's score.
     */
    private Path forkJvm(Path java, boolean preload) throws IOException {
        boolean pin = Files.isExecutable(Paths.get("/usr/bin/taskset")) && !noPin;
        if (!pin && !preload) {
            return java;
        }
        Path script = work.resolve("java-" + (pin ? "pinned-" : "") + (preload ? "libkeepalive-" : "")
                + Math.abs(java.toString().hashCode()));
        Map<String, String> env = new TreeMap<>();
        if (preload) {
            libkeepalive(env);
        }
        StringBuilder text = new StringBuilder("#!/bin/sh\n");
        env.forEach((k, v) -> text.append("export ").append(k).append('=').append(v).append('\n'));
        text.append("exec ").append(pin ? "/usr/bin/taskset -c " + (Runtime.getRuntime().availableProcessors() - 1)
                + " " : "").append(java).append(" \"$@\"\n");
        Files.writeString(script, text.toString());
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    /** The start-up programs, and nothing else of this module, in one jar. */
    private Path appsJar() throws IOException {
        return jarOf("startup-apps.jar", null, OneConnection.class, LargeApp.class, OneConnectionCpu.class,
                CpuTime.class);
    }

    private Path floorAgent() throws IOException {
        return jarOf("noop-agent.jar", NoopAgent.class, NoopAgent.class);
    }

    /** A jar in the work directory holding {@code classes}, with {@code premain} as its Premain-Class if not null. */
    private Path jarOf(String name, Class<?> premain, Class<?>... classes) throws IOException {
        Path jar = work.resolve(name);
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (premain != null) {
            manifest.getMainAttributes().putValue("Premain-Class", premain.getName());
        }
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream jarOut = new JarOutputStream(out, manifest)) {
            for (Class<?> c : classes) {
                String entry = c.getName().replace('.', '/') + ".class";
                try (var in = c.getClassLoader().getResourceAsStream(entry)) {
                    jarOut.putNextEntry(new JarEntry(entry));
                    in.transferTo(jarOut);
                    jarOut.closeEntry();
                }
            }
        }
        return jar;
    }

    /** Every JDK 11+ under /usr/lib/jvm and the {@code java} first on the PATH, once each, by real path. */
    static List<Path> jdks() throws IOException {
        Map<Path, Path> found = new TreeMap<>();
        List<Path> candidates = new ArrayList<>();
        if (Files.isDirectory(Paths.get("/usr/lib/jvm"))) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Paths.get("/usr/lib/jvm"))) {
                dirs.forEach(dir -> candidates.add(dir.resolve("bin/java")));
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, "java"))) {
                candidates.add(Paths.get(dir, "java"));
                break;
            }
        }
        for (Path java : candidates) {
            if (!Files.isExecutable(java)) {
                continue;
            }
            Path real = java.toRealPath();
            Path home = real.getParent().getParent();
            if (Files.exists(home.resolve("release")) && !version(real).matches("(1\\.|9|10)\\b.*")) {
                found.putIfAbsent(home, real);
            }
        }
        return new ArrayList<>(found.values());
    }

    static String version(Path java) throws IOException {
        Properties release = new Properties();
        try (var in = Files.newInputStream(java.getParent().getParent().resolve("release"))) {
            release.load(in);
        }
        return release.getProperty("JAVA_VERSION", "?").replace("\"", "");
    }
}
