package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.RulesApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.FreePorts;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Rules (issue 18) against the kernel: forked JVMs with the agent configured by a properties file of rules, on every
 * JDK (and its legacy socket implementation), each opening many connections through java.net.Socket, SocketChannel
 * and AsynchronousSocketChannel to ports the rules name. What each connection end holds is read from outside the
 * process ({@link KernelProbe}) and through the JDK's getters in the application; the rule a connection should get
 * is told by its user_timeout, which differs from rule to rule. Few JVMs: one per JDK opens every connection of the
 * matching checks and of the global {@code stricter} policy, two more per JDK those of the other global policies.
 */
class RulesIT {

    private static final List<String> KINDS = List.of("socket", "channel", "async");

    /** The global values: unlike the kernel's defaults and every rule's. */
    private static final int[] GLOBAL = {1, 61, 11, 7, 33_000};
    /** What the app.values rules configure. */
    private static final int[] POLICY_RULE = {1, 30, 10, 5, 20_000};
    /** What the application writes: the kernel's weak defaults, and values stricter than every configured one. */
    private static final int[] WEAKER = {0, 7200, 75, 9};
    private static final int[] STRONGER = {1, 5, 2, 2};
    private static final List<String> POLICY_TARGETS = List.of("replace", "stricter", "keep", "inherit", "default");

    private static final Map<String, Integer> PORTS = new HashMap<>();
    private static final Map<String, Object> RUNS = new HashMap<>();
    private static final List<Path> CONFIGS = new ArrayList<>();

    @AfterAll
    static void removeConfigs() throws IOException {
        for (Path config : CONFIGS) {
            Files.deleteIfExists(config);
        }
    }

    // ---- the checks

    @TestFactory
    List<DynamicTest> eachMatchTermDecidesConnectAndAcceptOnEveryJdkSocketKind() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "stricter");
            observed.assertKernel(observed.plan.group("match"));
            // every connection end's log line names the rule that decided it
            for (Conn conn : observed.plan.group("match")) {
                observed.assertLogLine(conn, false, " rule=" + conn.clientRule);
                observed.assertLogLine(conn, true, " rule=" + conn.acceptedRule);
            }
            assertFalse(observed.stderr.contains(" WARN: ") || observed.stderr.contains(" ERROR: "), observed.describe());
        });
    }

    /**
     * At {@code log.level=warn} nothing reports a connection's values, so none is read back (issue 21): the hooks'
     * writes, each rule's differences written on an accepted end, and every policy must hold all the same.
     */
    @TestFactory
    List<DynamicTest> everyRuleAndPolicyHoldsWhenNothingIsReadBack() {
        return PerJdk.socketTests(jdk -> {
            for (String policy : List.of("stricter", "replace")) {
                Observed observed = observe(jdk, policy, "warn");
                if (policy.equals("stricter")) {  // the plan that has every match term
                    observed.assertKernel(observed.plan.group("match"));
                    observed.assertKernel(observed.plan.group("alone"));
                }
                observed.assertKernel(observed.plan.group("policy"));
                assertFalse(observed.stderr.contains(" WARN: ") || observed.stderr.contains(" ERROR: "),
                        observed.describe());
            }
        });
    }

    /**
     * A listener (a Java ServerSocket or channel bound to 127.0.0.1) is an IPv6 socket on a dual-stack JVM: the
     * kernel holds its peer as ::ffff:127.0.0.1, and the IPv4 rule v4-in decides it. (The JDK already hands such a
     * peer over as an IPv4 address; the check is that nothing on the way makes it an IPv6 one that an IPv4 rule
     * misses.)
     */
    @TestFactory
    List<DynamicTest> anIpv4MappedPeerMatchesAnIpv4Rule() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "stricter");
            int mapped = 0;
            for (String kind : KINDS) {
                Conn conn = observed.plan.conn("remote-v4-" + kind);
                KernelSocket accepted = observed.kernelSocket(conn, true);
                assertEquals("1 61 11 7 26000", accepted.options(), conn.id + "\n" + observed.describe());
                mapped += accepted.family.equals("inet6") && accepted.remote.startsWith("[::ffff:127.0.0.1]") ? 1 : 0;
            }
            System.out.println("[rules] " + jdk.name() + ": " + mapped + " of " + KINDS.size()
                    + " accepted IPv4 peers were IPv4-mapped in the kernel");
            assertTrue(mapped > 0, "no IPv4-mapped peer seen: the check would prove nothing\n" + observed.describe());
        });
    }

    /**
     * A rule of all five unchanged: the agent neither writes nor reads such a connection. On the connect side it keeps
     * the kernel's defaults; an accepted one keeps what it inherited from its listener, which got the global values
     * when it was created (the documented limitation: the listener's values are set before any peer is known).
     */
    @TestFactory
    List<DynamicTest> aRuleOfUnchangedOptionsLeavesItsConnectionsAlone() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "stricter");
            List<Conn> alone = observed.plan.group("alone");
            observed.assertKernel(alone);
            for (Conn conn : alone) {
                observed.assertLogLine(conn, false, ": left alone (rule alone-out)");
                observed.assertLogLine(conn, true, ": left alone (rule alone-in)");
            }
        });
    }

    @TestFactory
    List<DynamicTest> applicationValuesUnderAGlobalStricterPolicyAndPerRule() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "stricter");
            observed.assertKernel(observed.plan.group("policy"));
        });
    }

    @TestFactory
    List<DynamicTest> applicationValuesUnderAGlobalKeepPolicyAndPerRule() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "keep");
            observed.assertKernel(observed.plan.group("policy"));
        });
    }

    @TestFactory
    List<DynamicTest> applicationValuesUnderAGlobalReplacePolicyAndPerRule() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "replace");
            observed.assertKernel(observed.plan.group("policy"));
        });
    }

    /**
     * A rule's user_timeout is set before the SYN: a connect with no timeout of its own to a host that does not
     * answer, which the kernel would retry for about two minutes, ends with "Connection timed out" after about the
     * rule's 3 s; the same connect to another port, under the default's 33 s, is still waiting when the application
     * closes it, once the first ones have ended. Only a generous bound is asserted: the machine is shared.
     */
    @TestFactory
    List<DynamicTest> aRulesUserTimeoutBoundsAConnectToAHostThatDoesNotAnswer() {
        return PerJdk.socketTests(jdk -> {
            Observed observed = observe(jdk, "stricter");
            List<String> lines = observed.stdout.lines().filter(l -> l.startsWith("HOLE ")).collect(Collectors.toList());
            System.out.println("[rules] " + jdk.name() + " connects to a host that does not answer (id, ms, outcome):\n"
                    + String.join("\n", lines));
            assertEquals(2 * KINDS.size(), lines.size(), observed.describe());
            for (String line : lines) {
                String[] fields = line.split(" ", 4);
                long elapsed = Long.parseLong(fields[2]);
                String outcome = fields[3].replace(" (Connection timed out)", "");
                if (fields[1].startsWith("bounded-")) {
                    assertEquals("java.net.ConnectException: Connection timed out", outcome, line);
                    assertTrue(elapsed < 20_000, "ended by the rule's user timeout of 3 s: " + line);
                } else {
                    // closed by the application: AsynchronousCloseException, or "Socket closed"
                    assertFalse(outcome.contains("ConnectException"), line + "\n" + observed.describe());
                }
            }
        });
    }

    // ---- the plan: rules, connections, and what each connection end should hold

    /** One connection the application opens, and the values its two ends should hold. */
    static final class Conn {
        final String id;
        final String group;
        final String spec;
        final String client;
        final String accepted;
        final String clientRule;
        final String acceptedRule;

        Conn(String id, String group, String spec, String client, String clientRule, String accepted,
             String acceptedRule) {
            this.id = id;
            this.group = group;
            this.spec = "conn,id=" + id + "," + spec;
            this.client = client;
            this.clientRule = clientRule;
            this.accepted = accepted;
            this.acceptedRule = acceptedRule;
        }
    }

    /** The configuration of one JVM, and what it opens. */
    static final class Plan {
        final String policy;
        final List<Conn> conns = new ArrayList<>();
        final List<String> holes = new ArrayList<>();

        Plan(String policy) {
            this.policy = policy;
        }

        List<Conn> group(String group) {
            return conns.stream().filter(c -> c.group.equals(group)).collect(Collectors.toList());
        }

        Conn conn(String id) {
            return conns.stream().filter(c -> c.id.equals(id)).findFirst().orElseThrow();
        }

        List<String> args() {
            List<String> args = new ArrayList<>(holes);
            conns.forEach(c -> args.add(c.spec));
            return args;
        }
    }

    /**
     * The rules, in the order tried. Each names its ports for the three APIs; user_timeout tells the rule that
     * decided a connection (21 s to 28 s), the other values come from the global settings unless a rule names them.
     */
    static String config(String policy) {
        Map<String, String> rules = new LinkedHashMap<>();
        rules.put("host", "connect host=localhost,*.example.test port=" + ports("host") + "\nuser_timeout=21s");
        rules.put("first", "connect port=" + ports("first") + "\nuser_timeout=22s");
        // also matches the connections of "first", which comes before it
        rules.put("second", "connect port=" + ports("first") + "," + ports("port") + "\nuser_timeout=23s");
        rules.put("local", "accept local-port=" + ports("port") + "\nuser_timeout=24s");
        rules.put("v6-out", "connect remote=::1 port=" + ports("remote") + "\nuser_timeout=25s");
        rules.put("v4-in", "accept remote=127.0.0.0/8 local-port=" + ports("remote") + "\nuser_timeout=26s");
        String unchanged = "\nkeepalive=unchanged\nkeepalive.idle=unchanged\nkeepalive.interval=unchanged"
                + "\nkeepalive.count=unchanged\nuser_timeout=unchanged";
        rules.put("alone-out", "connect port=" + ports("alone") + unchanged);
        rules.put("alone-in", "accept local-port=" + ports("alone") + unchanged);
        rules.put("hole", "connect remote=127.0.0.1 port=" + port("hole-bounded") + "\nuser_timeout=3s");
        for (String target : List.of("replace", "stricter", "keep", "inherit")) {
            String values = "\nkeepalive.idle=30s\nkeepalive.interval=10s\nkeepalive.count=5\nuser_timeout=20s"
                    + (target.equals("inherit") ? "" : "\napp.values=" + target);
            rules.put("pv-" + target + "-out", "connect port=" + ports("pv-" + target) + values);
            rules.put("pv-" + target + "-in", "accept local-port=" + ports("pv-" + target) + values);
        }
        rules.put("loop6", "remote=::1\nuser_timeout=28s");
        rules.put("never", "connect remote=10.0.0.0/8,fd00::/8 port=5432\nuser_timeout=29s");

        StringBuilder text = new StringBuilder("keepalive.idle=61s\nkeepalive.interval=11s\nkeepalive.count=7\n"
                + "user_timeout=33s\nlog.level=info\napp.values=" + policy + "\nrules=" + String.join(" ", rules.keySet())
                + "\n");
        for (Map.Entry<String, String> rule : rules.entrySet()) {
            String[] lines = rule.getValue().split("\n");
            text.append("rule.").append(rule.getKey()).append(".match=").append(lines[0]).append('\n');
            for (int i = 1; i < lines.length; i++) {
                text.append("rule.").append(rule.getKey()).append('.').append(lines[i]).append('\n');
            }
        }
        return text.toString();
    }

    static Plan plan(String policy) throws Exception {
        Plan plan = new Plan(policy);
        String kernel = "0 " + JdkCoverageIT.sysctl("tcp_keepalive_time") + " " + JdkCoverageIT.sysctl("tcp_keepalive_intvl")
                + " " + JdkCoverageIT.sysctl("tcp_keepalive_probes") + " 0";
        String global = values(GLOBAL);
        // the test JVM resolves "localhost" as the application's does (same hosts file, same JDK defaults)
        boolean localhostV6 = InetAddress.getByName("localhost").getAddress().length == 16;
        for (String kind : KINDS) {
            if (policy.equals("stricter")) {
                String at = ",kind=" + kind + ",port=";
                String v4 = "literal:127.0.0.1";
                String v6 = "literal:::1";
                String h = at + port("host-" + kind);
                plan.conns.add(new Conn("host-name-" + kind, "match", "to=resolve:localhost" + h, ut(21), "host",
                        localhostV6 ? ut(28) : global, localhostV6 ? "loop6" : "default"));
                plan.conns.add(new Conn("host-glob-" + kind, "match", "to=named:db.example.test/127.0.0.1" + h, ut(21),
                        "host", global, "default"));
                plan.conns.add(new Conn("host-v6-" + kind, "match", "to=named:localhost/::1" + h, ut(21), "host", ut(28),
                        "loop6"));
                // an IP literal has no host name, and another name does not match
                plan.conns.add(new Conn("host-literal-" + kind, "match", "to=" + v4 + h, global, "default", global,
                        "default"));
                plan.conns.add(new Conn("host-other-" + kind, "match", "to=named:other.test/127.0.0.1" + h, global,
                        "default", global, "default"));
                plan.conns.add(new Conn("first-" + kind, "match", "to=" + v4 + at + port("first-" + kind), ut(22),
                        "first", global, "default"));
                String p = at + port("port-" + kind);
                plan.conns.add(new Conn("port-v4-" + kind, "match", "to=" + v4 + p, ut(23), "second", ut(24), "local"));
                plan.conns.add(new Conn("port-v6-" + kind, "match", "to=" + v6 + p, ut(23), "second", ut(24), "local"));
                String r = at + port("remote-" + kind);
                plan.conns.add(new Conn("remote-v6-" + kind, "match", "to=" + v6 + r, ut(25), "v6-out", ut(28), "loop6"));
                plan.conns.add(new Conn("remote-v4-" + kind, "match", "to=" + v4 + r, global, "default", ut(26),
                        "v4-in"));
                String d = at + port("default-" + kind);
                plan.conns.add(new Conn("default-v4-" + kind, "match", "to=" + v4 + d, global, "default", global,
                        "default"));
                plan.conns.add(new Conn("default-v6-" + kind, "match", "to=" + v6 + d, ut(28), "loop6", ut(28), "loop6"));
                String u = at + port("alone-" + kind);
                plan.conns.add(new Conn("alone-v4-" + kind, "alone", "to=" + v4 + u, kernel, "alone-out", global,
                        "alone-in"));
                plan.conns.add(new Conn("alone-v6-" + kind, "alone", "to=" + v6 + u, kernel, "alone-out", global,
                        "alone-in"));
                plan.holes.add("hole,id=bounded-" + kind + ",kind=" + kind + ",port=" + port("hole-bounded")
                        + ",bounded=true");
                plan.holes.add("hole,id=unbounded-" + kind + ",kind=" + kind + ",port=" + port("hole-unbounded")
                        + ",bounded=false");
            }
            for (String target : POLICY_TARGETS) {
                int[] configured = target.equals("default") ? GLOBAL : POLICY_RULE;
                String effective = target.equals("inherit") || target.equals("default") ? policy : target;
                Map<String, int[]> writes = new LinkedHashMap<>();
                writes.put("weaker", WEAKER);
                writes.put("stronger", STRONGER);
                writes.put("equal", new int[] {configured[0], configured[1], configured[2], configured[3]});
                for (Map.Entry<String, int[]> write : writes.entrySet()) {
                    String expected = values(hold(effective, write.getValue(), configured));
                    String rule = target.equals("default") ? "default" : "pv-" + target;
                    for (String when : List.of("before", "after")) {
                        plan.conns.add(new Conn("pv-" + target + "-" + write.getKey() + "-" + when + "-" + kind,
                                "policy", "kind=" + kind + ",to=literal:127.0.0.1,port=" + port("pv-" + target + "-"
                                + kind) + "," + when + "=" + writes(write.getValue()) + ",accepted=" + writes(write.getValue()),
                                expected, rule.equals("default") ? rule : rule + "-out", expected,
                                rule.equals("default") ? rule : rule + "-in"));
                    }
                }
            }
        }
        return plan;
    }

    /**
     * What the socket should hold when the application wrote {@code written} under {@code policy}, option by
     * option: replace, the configured value; keep, the application's; stricter, keepalive on over off and the
     * smaller time or count. The application never writes user_timeout (the JDK has no option for it).
     */
    private static int[] hold(String policy, int[] written, int[] configured) {
        int[] held = configured.clone();
        for (int i = 0; i < written.length; i++) {
            if (policy.equals("keep")) {
                held[i] = written[i];
            } else if (policy.equals("stricter")) {
                held[i] = i == 0 ? Math.max(written[i], configured[i]) : Math.min(written[i], configured[i]);
            }
        }
        return held;
    }

    private static String ut(int seconds) {
        int[] values = GLOBAL.clone();
        values[4] = seconds * 1000;
        return values(values);
    }

    private static String values(int[] values) {
        return java.util.Arrays.stream(values).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }

    private static String writes(int[] values) {
        return values[0] + "/" + values[1] + "/" + values[2] + "/" + values[3];
    }

    /** The role's port for each API, as a rule lists them. */
    private static String ports(String role) {
        return KINDS.stream().map(kind -> Integer.toString(port(role + "-" + kind))).collect(Collectors.joining(","));
    }

    /** A port of its own for each role, the same for every JVM of the class (its listeners reuse them at once). */
    private static synchronized int port(String role) {
        return PORTS.computeIfAbsent(role, r -> FreePorts.next());
    }

    // ---- running the application and observing it

    /**
     * The run of one JVM per JDK and global policy, shared by the checks that look at it; a run that failed fails
     * each of them at once, without running again.
     */
    private static Observed observe(Jdks.Jdk jdk, String policy) throws Exception {
        return observe(jdk, policy, null);
    }

    /** {@code logLevel}: null for the configuration's {@code info}, which reads every option back for its line. */
    private static synchronized Observed observe(Jdks.Jdk jdk, String policy, String logLevel) throws Exception {
        String key = jdk.name() + " " + policy + (logLevel == null ? "" : " log.level=" + logLevel);
        Object run = RUNS.get(key);
        if (run == null) {
            try {
                run = run(jdk, plan(policy), logLevel);
            } catch (Exception | AssertionError e) {
                run = e;
            }
            RUNS.put(key, run);
        }
        if (run instanceof Observed) {
            return (Observed) run;
        }
        throw new AssertionError("the run of " + key + " failed", (Throwable) run);
    }

    private static Observed run(Jdks.Jdk jdk, Plan plan, String logLevel) throws IOException {
        Path config = Files.createTempFile("tcph-rules-", ".properties");
        CONFIGS.add(config);
        Files.writeString(config, config(plan.policy));
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(RulesApp.class.getName())
                .args(plan.args().toArray(new String[0])).javaagent(AgentJar.path(), "config=" + config + (logLevel == null ? "" : ",log.level=" + logLevel));
        long start = System.nanoTime();
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(90));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            System.out.printf("[rules] %s app.values=%s: %d connections in %d ms%n", jdk.name(), plan.policy,
                    plan.conns.size(), (System.nanoTime() - start) / 1_000_000);
            return new Observed(plan, running.stdoutLines(), running.stderr(), kernel);
        }
    }

    /** What the application printed and what the kernel held while it waited. */
    static final class Observed {
        final Plan plan;
        final String stdout;
        final String stderr;
        final List<KernelSocket> kernel;
        /** "id client" and "id accepted" to the application's CONN line. */
        final Map<String, String[]> ends = new HashMap<>();

        Observed(Plan plan, List<String> lines, String stderr, List<KernelSocket> kernel) {
            this.plan = plan;
            this.stdout = String.join("\n", lines);
            this.stderr = stderr;
            this.kernel = kernel;
            for (String line : lines) {
                if (line.startsWith("CONN ")) {
                    String[] fields = line.split(" ");
                    ends.put(fields[1] + " " + fields[2], fields);
                }
            }
        }

        KernelSocket kernelSocket(Conn conn, boolean accepted) {
            String[] end = end(conn, accepted);
            int local = Integer.parseInt(end[3]);
            int remote = Integer.parseInt(end[4]);
            List<KernelSocket> found = kernel.stream().filter(s -> s.localPort == local && s.remotePort == remote)
                    .collect(Collectors.toList());
            Boolean v6 = isIpv6(conn);
            if (found.size() > 1 && v6 != null) {
                found = found.stream().filter(s -> s.remote.startsWith("[::1]") == v6).collect(Collectors.toList());
            }
            if (found.size() != 1) {
                throw new AssertionError(found.size() + " kernel sockets for " + String.join(" ", end) + ": " + found
                        + "\n" + describe());
            }
            return found.get(0);
        }

        private String[] end(Conn conn, boolean accepted) {
            String[] end = ends.get(conn.id + (accepted ? " accepted" : " client"));
            if (end == null) {
                throw new AssertionError("the application did not report " + conn.id + "\n" + describe());
            }
            return end;
        }

        /**
         * Every end of the connections holds its expected values in the kernel, and the application's getters agree
         * with the kernel; all differences in one failure.
         */
        void assertKernel(List<Conn> conns) {
            assertFalse(conns.isEmpty());
            List<String> wrong = new ArrayList<>();
            for (Conn conn : conns) {
                for (boolean accepted : new boolean[] {false, true}) {
                    KernelSocket socket = kernelSocket(conn, accepted);
                    String expected = accepted ? conn.accepted : conn.client;
                    String side = accepted ? "accepted" : "client";
                    if (!socket.options().equals(expected)) {
                        wrong.add(conn.id + " " + side + ": kernel " + socket.options() + ", expected " + expected
                                + " (rule " + (accepted ? conn.acceptedRule : conn.clientRule) + ")");
                    }
                    String[] end = end(conn, accepted);
                    String getters = String.join(" ", end[5], end[6], end[7], end[8]);
                    if (!socket.options().startsWith(getters + " ")) {
                        wrong.add(conn.id + " " + side + ": the JDK's getters " + getters + ", the kernel "
                                + socket.options());
                    }
                }
            }
            assertTrue(wrong.isEmpty(), wrong.size() + " connection ends differ:\n" + String.join("\n", wrong)
                    + "\n" + describe());
        }

        /** The agent's log line for one end of a connection, found by its ports, contains {@code text}. */
        /**
         * Whether the connection goes to ::1 (true) or 127.0.0.1 (false), or null if its destination is a name. An
         * IPv4 and an IPv6 connection may share both port numbers (two listeners of one port, and each family has its
         * own ephemeral ports): the destination's family tells them apart.
         */
        private Boolean isIpv6(Conn conn) {
            boolean v6 = conn.spec.contains(":::1") || conn.spec.contains("/::1");
            boolean v4 = conn.spec.contains("127.0.0.1");
            return v6 == v4 ? null : v6;
        }

        void assertLogLine(Conn conn, boolean accepted, String text) {
            String[] end = end(conn, accepted);
            String local = ":" + end[3] + " ";
            String remote = ":" + end[4] + ":";
            String direction = accepted ? " accept " : " connect ";
            List<String> lines = stderr.lines().filter(l -> l.contains(direction) && l.contains(local)
                    && l.contains(remote)).collect(Collectors.toList());
            Boolean v6 = isIpv6(conn);
            if (lines.size() > 1 && v6 != null) {  // the agent writes ::1 in full, in brackets
                lines = lines.stream().filter(l -> l.contains("[0:0:0:0:0:0:0:1]:") == v6).collect(Collectors.toList());
            }
            assertEquals(1, lines.size(), "one log line for " + conn.id + (accepted ? " accepted" : " client") + ": "
                    + lines + "\n" + describe());
            assertTrue(lines.get(0).contains(text), lines.get(0) + " should contain '" + text + "'");
        }

        String describe() {
            return "--- stdout\n" + stdout + "\n--- stderr\n" + stderr + "--- kernel\n"
                    + kernel.stream().map(KernelSocket::toString).collect(Collectors.joining("\n"));
        }
    }
}
