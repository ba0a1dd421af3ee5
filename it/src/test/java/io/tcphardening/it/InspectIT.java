package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentCommand;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.ThrowingConsumer;

/**
 * {@code inspect}: its table (text and JSON) of a running JVM's TCP sockets, with and without the agent there, agrees
 * row by row with a reading taken independently from outside the process ({@link KernelProbe}, C), and it changes
 * nothing. It runs from each JDK of the machine: on one older than 22 it re-runs itself on a newer one and says so.
 */
class InspectIT {

    private static boolean missingInspectChecked;

    /** Each test of a JDK, run only where this build of the agent has inspect ({@link #assumeInspectInThisBuild}). */
    private static List<DynamicTest> perJdk(ThrowingConsumer<Jdks.Jdk> check) {
        return PerJdk.tests(jdk -> {
            assumeInspectInThisBuild();
            check.accept(jdk);
        });
    }

    /**
     * An agent built without a JDK 22+ lacks inspect's class: there the command says so in one line from every JDK
     * (checked once), and each test of this class is reported skipped, with the reason, rather than passing.
     */
    private static synchronized void assumeInspectInThisBuild() {
        if (AgentJar.contains("io.tcphardening.agent.command.ForeignRemoteSockets")) {
            return;
        }
        String reason = "the agent jar " + AgentJar.path() + " was built without a JDK 22+ and has no inspect command";
        if (!missingInspectChecked) {
            for (Jdks.Jdk jdk : Jdks.all()) {
                ForkedJvm.Result result = AgentCommand.run(jdk, "inspect",
                        Long.toString(ProcessHandle.current().pid()));
                assertEquals(1, result.exitCode, result.toString());
                assertEquals("", result.stdout, result.toString());
                assertEquals("tcp-hardening-agent: this build of the agent has no inspect command: it was built"
                        + " without a JDK 22 or newer, which compiles its java.lang.foreign class; build the agent"
                        + " again with a JDK 22+ installed (under /usr/lib/jvm, or named with -Djava22.home=DIR)\n",
                        result.stderr);
            }
            missingInspectChecked = true;
            System.out.println("[inspect] the InspectIT tests are skipped: " + reason);
        }
        Assumptions.abort(reason);
    }

    @TestFactory
    List<DynamicTest> aJvmWithoutTheAgentIsComparedWithTheDefaults() {
        return perJdk(jdk -> {
            try (ForkedJvm.Running app = AttachIT.holding(jdk, null)) {
                AttachIT.awaitReady(app, 1);
                List<KernelSocket> before = KernelProbe.read(app.pid());
                for (Jdks.Jdk inspecting : Jdks.all()) {
                    ForkedJvm.Result result = AgentCommand.run(inspecting, "inspect", Long.toString(app.pid()),
                            "--json");
                    assertEquals(0, result.exitCode, result.toString());
                    assertRerunSaidOnce(inspecting, result);
                    JsonObject report = JsonParser.parseString(result.stdout).getAsJsonObject();
                    assertFalse(report.getAsJsonObject("agent").get("loaded").getAsBoolean(), result.stdout);
                    assertEquals("the agent is not loaded", report.getAsJsonObject("agent").get("note").getAsString());
                    assertEquals("defaults", report.get("compared_with").getAsString());
                    JsonArray sockets = report.getAsJsonArray("sockets");
                    assertAgrees(before, sockets, result);
                    for (JsonElement socket : sockets) {
                        assertFalse(socket.getAsJsonObject().get("matches").getAsBoolean(), socket.toString());
                        assertTrue(socket.getAsJsonObject().getAsJsonArray("differs").toString()
                                .contains("\"keepalive\""), socket.toString());
                    }
                }
                // read-only: the kernel's values as before, and nothing of the agent in the application
                assertEquals(options(before), options(KernelProbe.read(app.pid())));
                assertFalse(app.stderr().contains("tcp-hardening"), app.describe());
            }
        });
    }

    @TestFactory
    List<DynamicTest> aJvmWithTheAgentIsComparedWithItsOwnSettings() {
        return perJdk(jdk -> {
            try (ForkedJvm.Running app = AttachIT.holding(jdk, String.join(",", AttachIT.FIRST))) {
                AttachIT.awaitReady(app, 1);
                List<KernelSocket> kernel = KernelProbe.read(app.pid());
                ForkedJvm.Result result = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()), "--json");
                assertEquals(0, result.exitCode, result.toString());
                JsonObject report = JsonParser.parseString(result.stdout).getAsJsonObject();
                assertTrue(report.getAsJsonObject("agent").get("loaded").getAsBoolean(), result.stdout);
                assertEquals("agent", report.get("compared_with").getAsString());
                JsonObject settings = report.getAsJsonObject("settings");
                assertEquals(61, settings.get("keepalive_idle_s").getAsInt(), result.stdout);
                assertEquals(33000, settings.get("user_timeout_ms").getAsInt(), result.stdout);
                JsonArray sockets = report.getAsJsonArray("sockets");
                assertAgrees(kernel, sockets, result);
                for (JsonElement socket : sockets) {
                    assertTrue(socket.getAsJsonObject().get("matches").getAsBoolean(), socket.toString());
                }

                ForkedJvm.Result table = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()));
                assertEquals(0, table.exitCode, table.toString());
                assertTrue(table.stdout.startsWith("process " + app.pid() + ": tcp-hardening-agent "), table.stdout);
                assertTrue(table.stdout.contains("compared with its settings: keepalive=true keepalive.idle=61s"
                        + " keepalive.interval=11s keepalive.count=7 user_timeout=33000ms"), table.stdout);
                List<String[]> rows = table.stdout.lines().map(String::trim)
                        .filter(l -> l.matches("\\d+ +[A-Z_0-9]+ +\\S+:\\d+ .*"))
                        .map(l -> l.split("\\s+")).collect(Collectors.toList());
                assertEquals(kernel.size(), rows.size(), table.stdout);
                for (KernelSocket socket : kernel) {
                    String[] row = rows.stream().filter(r -> r[0].equals(Integer.toString(socket.fd))).findFirst()
                            .orElseThrow(() -> new AssertionError("no row for " + socket + "\n" + table.stdout));
                    assertEquals(socket.state, row[1], table.stdout);
                    assertEquals(String.join(" ", socket.keepAlive ? "on" : "off", socket.keepIdle + "s",
                            socket.keepIntvl + "s", Integer.toString(socket.keepCnt), socket.userTimeout + "ms", "yes"),
                            String.join(" ", row[4], row[5], row[6], row[7], row[8], row[9]), table.stdout);
                }
                assertTrue(table.stdout.contains(kernel.size() + " TCP sockets: " + kernel.size() + " match, 0 differ"),
                        table.stdout);
            }
        });
    }

    /**
     * Rules in the agent's arguments (commas inside a match included), published by the agent there: accepted
     * connections from loopback get rule db's values, every client is left alone by rule alone, listeners get the
     * global settings. Each socket is compared with its rule, found as the agent finds it (accepted: its local port is
     * a listener's); the clients keep the kernel's keepalive off, which the global settings would call a difference.
     */
    @TestFactory
    List<DynamicTest> eachSocketIsComparedWithTheRuleThatMatchesIt() {
        return perJdk(jdk -> {
            try (ForkedJvm.Running app = AttachIT.holding(jdk, RULES_ARGS)) {
                AttachIT.awaitReady(app, 1);
                List<Integer> listeners = listenerPorts(app);
                List<KernelSocket> kernel = KernelProbe.read(app.pid());
                assertEquals(6, kernel.size(), kernel.toString());
                for (KernelSocket socket : kernel) {
                    String role = role(socket.localPort, socket.remotePort, listeners);
                    if (role.equals("alone")) {
                        assertFalse(socket.keepAlive, "left alone, as the kernel made it: " + socket);
                    } else {
                        assertEquals(role.equals("db") ? "1 21 11 7 9000" : AttachIT.FIRST_VALUES, socket.options(),
                                role + " " + socket);
                    }
                }

                ForkedJvm.Result result = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()), "--json");
                assertEquals(0, result.exitCode, result.toString());
                JsonObject report = JsonParser.parseString(result.stdout).getAsJsonObject();
                assertEquals("agent", report.get("compared_with").getAsString(), result.stdout);
                JsonObject settings = report.getAsJsonObject("settings");
                assertEquals("replace", settings.get("app_values").getAsString(), result.stdout);
                JsonArray rules = settings.getAsJsonArray("rules");
                assertEquals(2, rules.size(), result.stdout);
                JsonObject db = rules.get(0).getAsJsonObject();
                assertEquals("db", db.get("name").getAsString());
                assertEquals("accept remote=127.0.0.0/8,::1", db.get("match").getAsString());
                assertEquals(21, db.get("keepalive_idle_s").getAsInt(), result.stdout);
                assertEquals(11, db.get("keepalive_interval_s").getAsInt(), "from the global settings");
                assertEquals(9000, db.get("user_timeout_ms").getAsInt(), result.stdout);
                assertFalse(db.get("left_alone").getAsBoolean(), result.stdout);
                assertEquals("alone", rules.get(1).getAsJsonObject().get("name").getAsString());
                assertTrue(rules.get(1).getAsJsonObject().get("left_alone").getAsBoolean(), result.stdout);
                assertTrue(rules.get(1).getAsJsonObject().get("keepalive").isJsonNull(), result.stdout);
                JsonArray sockets = report.getAsJsonArray("sockets");
                assertAgrees(kernel, sockets, result);
                for (JsonElement element : sockets) {
                    JsonObject socket = element.getAsJsonObject();
                    String role = role(port(socket.get("local")), port(socket.get("remote")), listeners);
                    assertEquals(role, socket.get("rule").getAsString(), socket.toString());
                    assertEquals(role.equals("alone"), socket.get("left_alone").getAsBoolean(), socket.toString());
                    assertTrue(socket.get("matches").getAsBoolean(), socket.toString());
                    assertEquals(0, socket.getAsJsonArray("differs").size(), socket.toString());
                }

                ForkedJvm.Result table = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()));
                assertEquals(0, table.exitCode, table.toString());
                assertTrue(table.stdout.contains("compared with its settings: keepalive=true keepalive.idle=61s"
                        + " keepalive.interval=11s keepalive.count=7 user_timeout=33000ms keepalive.jitter=0%"
                        + " app.values=replace; rules, the first that matches decides: db [accept"
                        + " remote=127.0.0.0/8,::1] keepalive.idle=21s"
                        + " user_timeout=9000ms; alone [connect] left alone\n"), table.stdout);
                assertTrue(table.stdout.contains(" USER_TMO  RULE     MATCH\n"), table.stdout);
                for (KernelSocket socket : kernel) {
                    String role = role(socket.localPort, socket.remotePort, listeners);
                    String row = table.stdout.lines().filter(l -> l.trim().startsWith(socket.fd + " ")).findFirst()
                            .orElseThrow(() -> new AssertionError("no row for " + socket + "\n" + table.stdout));
                    assertTrue(row.endsWith("ms  " + String.format("%-7s", role) + "  "
                            + (role.equals("alone") ? "left alone" : "yes")), row + "\n" + table.stdout);
                }
                assertTrue(table.stdout.contains("6 TCP sockets: 6 match (2 left alone by their rule), 0 differ\n"),
                        table.stdout);
            }
        });
    }

    /** Without the agent there, the settings given to inspect are what it compares with, validated as check does. */
    @TestFactory
    List<DynamicTest> settingsGivenOnTheCommandLine() {
        return perJdk(jdk -> {
            try (ForkedJvm.Running app = AttachIT.holding(jdk, null)) {
                AttachIT.awaitReady(app, 1);
                String pid = Long.toString(app.pid());
                ForkedJvm.Result result = AgentCommand.run(jdk, "inspect", pid, "--json", "keepalive=false",
                        "keepalive.idle=unchanged", "keepalive.interval=unchanged", "keepalive.count=unchanged",
                        "user_timeout=0ms");
                assertEquals(0, result.exitCode, result.toString());
                JsonObject report = JsonParser.parseString(result.stdout).getAsJsonObject();
                assertEquals("command line", report.get("compared_with").getAsString());
                assertTrue(report.getAsJsonObject("settings").get("keepalive_idle_s").isJsonNull(), result.stdout);
                for (JsonElement socket : report.getAsJsonArray("sockets")) {
                    assertTrue(socket.getAsJsonObject().get("matches").getAsBoolean(), socket.toString());
                }

                // Rules given here, separated by a comma as a shell user may write them, and a match with commas:
                // clients to either listener are compared with rule out, accepted ends are left alone by rule in,
                // listeners with the global defaults, from which the kernel's values differ.
                List<Integer> listeners = listenerPorts(app);
                List<String> withRules = new ArrayList<>(List.of("inspect", pid, "--json", "rules=out,in",
                        "rule.out.match=connect remote=127.0.0.1,::1 port=" + listeners.get(0) + "," + listeners.get(1),
                        "rule.out.keepalive=false", "rule.in.match=accept"));
                for (String option : new String[] {"keepalive.idle", "keepalive.interval", "keepalive.count",
                    "user_timeout"}) {
                    withRules.add("rule.out." + option + "=unchanged");
                }
                for (String option : new String[] {"keepalive", "keepalive.idle", "keepalive.interval",
                    "keepalive.count", "user_timeout"}) {
                    withRules.add("rule.in." + option + "=unchanged");
                }
                ForkedJvm.Result ruled = AgentCommand.run(jdk, withRules.toArray(new String[0]));
                assertEquals(0, ruled.exitCode, ruled.toString());
                JsonObject byRule = JsonParser.parseString(ruled.stdout).getAsJsonObject();
                assertEquals("command line", byRule.get("compared_with").getAsString());
                for (JsonElement element : byRule.getAsJsonArray("sockets")) {
                    JsonObject socket = element.getAsJsonObject();
                    String role = role(port(socket.get("local")), port(socket.get("remote")), listeners);
                    String rule = role.equals("db") ? "in" : role.equals("alone") ? "out" : "default";
                    assertEquals(rule, socket.get("rule").getAsString(), socket.toString());
                    assertEquals(rule.equals("in"), socket.get("left_alone").getAsBoolean(), socket.toString());
                    assertEquals(!rule.equals("default"), socket.get("matches").getAsBoolean(), socket.toString());
                    String differs = socket.getAsJsonArray("differs").toString();
                    assertTrue(rule.equals("default") ? differs.contains("\"keepalive\"") : differs.equals("[]"),
                            socket.toString());
                }

                ForkedJvm.Result invalid = AgentCommand.run(jdk, "inspect", pid, "keepalive.count=0");
                assertEquals(2, invalid.exitCode, invalid.toString());
                assertTrue(invalid.stderr.contains("keepalive.count = '0' is not valid"), invalid.toString());
            }
        });
    }

    /**
     * A JVM that refuses attach cannot say what its agent's settings are: its sockets are listed all the same, and
     * compared with nothing unless the operator gives the settings to compare with (the defaults would report
     * differences from values that are not in force: here the agent runs there with settings of its own).
     */
    @TestFactory
    List<DynamicTest> aJvmThatRefusesAttachIsListedAndComparedOnlyWithGivenSettings() {
        return perJdk(jdk -> {
            ForkedJvm refusing = ForkedJvm.on(jdk).jvmArg("-XX:+DisableAttachMechanism")
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + ",log.level=warn")
                    .classpath(AgentJar.testClasses()).mainClass(HoldingConnectionsApp.class.getName());
            try (ForkedJvm.Running app = refusing.start()) {
                AttachIT.awaitReady(app, 1);
                List<KernelSocket> kernel = KernelProbe.read(app.pid());
                ForkedJvm.Result result = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()), "--json");
                assertEquals(0, result.exitCode, result.toString());
                JsonObject report = JsonParser.parseString(result.stdout).getAsJsonObject();
                assertEquals("nothing", report.get("compared_with").getAsString(), result.stdout);
                assertTrue(report.get("settings").isJsonNull(), result.stdout);
                assertTrue(report.getAsJsonObject("agent").get("note").getAsString().contains("refuses attach"),
                        result.stdout);
                assertAgrees(kernel, report.getAsJsonArray("sockets"), result);
                for (JsonElement socket : report.getAsJsonArray("sockets")) {
                    assertTrue(socket.getAsJsonObject().get("matches").isJsonNull(), socket.toString());
                }
                ForkedJvm.Result text = AgentCommand.run(jdk, "inspect", Long.toString(app.pid()));
                assertTrue(text.stdout.contains(" TCP sockets: not compared, the agent's settings there could not be"
                        + " read"), text.toString());
                assertFalse(text.stdout.contains(" differ"), text.toString());

                List<String> withSettings = new ArrayList<>(List.of("inspect", Long.toString(app.pid()), "--json"));
                withSettings.addAll(List.of(JdkCoverageIT.AGENT_ARGS.split(",")));
                ForkedJvm.Result given = AgentCommand.run(jdk, withSettings.toArray(new String[0]));
                JsonObject compared = JsonParser.parseString(given.stdout).getAsJsonObject();
                assertEquals("command line", compared.get("compared_with").getAsString(), given.stdout);
                for (JsonElement socket : compared.getAsJsonArray("sockets")) {
                    assertTrue(socket.getAsJsonObject().get("matches").getAsBoolean(), socket.toString());
                }
            }
        });
    }

    @TestFactory
    List<DynamicTest> aMissingProcessIsOneLine() {
        return perJdk(jdk -> {
            Process ended = new ProcessBuilder("true").start();
            ended.waitFor();
            ForkedJvm.Result result = AgentCommand.run(jdk, "inspect", Long.toString(ended.pid()));
            assertEquals(1, result.exitCode, result.toString());
            assertEquals("tcp-hardening-agent: there is no process " + ended.pid(),
                    result.stderr.lines().reduce((first, last) -> last).orElse(""), result.toString());
        });
    }

    /**
     * From a JDK older than 22 with no newer one to re-run under, one line says what is needed. The newer JDKs are
     * hidden under empty tmpfs mounts, in a mount namespace of this command only.
     */
    @Test
    void withoutAJava22InspectSaysWhatItNeeds() throws Exception {
        assumeInspectInThisBuild();
        List<Jdks.Jdk> older = Jdks.all().stream().filter(j -> j.major() < 22).collect(Collectors.toList());
        assumeTrue(!older.isEmpty(), "no JDK older than 22 on this machine");
        for (Jdks.Jdk jdk : older) {
            StringBuilder script = new StringBuilder();
            for (Jdks.Jdk newer : Jdks.all()) {
                if (newer.major() >= 22) {
                    script.append("mount -t tmpfs none ").append(newer.home()).append(" && ");
                }
            }
            script.append("exec ").append(jdk.java()).append(" -jar ").append(AgentJar.path()).append(" inspect ")
                    .append(ProcessHandle.current().pid());
            ProcessBuilder builder = new ProcessBuilder("unshare", "-m", "sh", "-c", script.toString());
            builder.environment().remove("JAVA_HOME");
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(1, process.waitFor(), out + err);
            assertEquals("", out);
            assertEquals("tcp-hardening-agent: inspect reads another process's sockets through java.lang.foreign, which"
                    + " needs Java 22 or newer; this is Java " + jdk.major() + ", and none was found in JAVA_HOME or"
                    + " /usr/lib/jvm: run the command with a newer java\n", err);
        }
    }

    // ----

    /** On JDK 22+ nothing on stderr (no native-access warning); older ones say once that they re-run on a newer. */
    static void assertRerunSaidOnce(Jdks.Jdk inspecting, ForkedJvm.Result result) {
        if (inspecting.major() >= 22) {
            assertEquals("", result.stderr, result.toString());
        } else {
            assertEquals(1, result.stderr.lines().count(), result.toString());
            assertTrue(result.stderr.startsWith("tcp-hardening-agent: inspect needs Java 22+ (java.lang.foreign), this"
                    + " is Java " + inspecting.major() + ": running it with "), result.toString());
        }
    }

    /** Row by row (by descriptor) the same sockets, states, ports and five values as the probe read. */
    static void assertAgrees(List<KernelSocket> kernel, JsonArray sockets, ForkedJvm.Result result) {
        assertEquals(kernel.size(), sockets.size(), result.stdout + "\n" + kernel);
        for (KernelSocket socket : kernel) {
            JsonObject row = null;
            for (JsonElement element : sockets) {
                if (element.getAsJsonObject().get("fd").getAsInt() == socket.fd) {
                    row = element.getAsJsonObject();
                }
            }
            assertTrue(row != null, "no row for " + socket + "\n" + result.stdout);
            assertEquals(socket.state, row.get("state").getAsString(), socket.toString());
            assertEquals(socket.isListener(), row.get("listening").getAsBoolean(), socket.toString());
            assertTrue(row.get("local").getAsString().endsWith(":" + socket.localPort), socket + " " + row);
            assertEquals(socket.remotePort < 0, row.get("remote").isJsonNull(), socket + " " + row);
            if (socket.remotePort >= 0) {
                assertTrue(row.get("remote").getAsString().endsWith(":" + socket.remotePort), socket + " " + row);
            }
            String values = (row.get("keepalive").getAsBoolean() ? 1 : 0) + " " + row.get("keepalive_idle_s") + " "
                    + row.get("keepalive_interval_s") + " " + row.get("keepalive_count") + " "
                    + row.get("user_timeout_ms");
            assertEquals(socket.options(), values, socket + " " + row);
        }
    }

    /** Rules for the agent in the application: see {@link #eachSocketIsComparedWithTheRuleThatMatchesIt}. */
    private static final String RULES_ARGS = String.join(",", AttachIT.FIRST) + ",rules=db alone"
            + ",rule.db.match=accept remote=127.0.0.0/8,::1,rule.db.keepalive.idle=21s,rule.db.user_timeout=9s"
            + ",rule.alone.match=connect,rule.alone.keepalive=unchanged,rule.alone.keepalive.idle=unchanged"
            + ",rule.alone.keepalive.interval=unchanged,rule.alone.keepalive.count=unchanged"
            + ",rule.alone.user_timeout=unchanged";

    /** The ports of HoldingConnectionsApp's two listeners, from its LISTEN lines. */
    static List<Integer> listenerPorts(ForkedJvm.Running app) {
        List<Integer> ports = app.stdoutLines().stream().filter(l -> l.startsWith("LISTEN "))
                .map(l -> Integer.parseInt(l.split(" ")[2])).collect(Collectors.toList());
        assertEquals(2, ports.size(), app.describe());
        return ports;
    }

    /**
     * Which end a socket of HoldingConnectionsApp is, named after the rule of {@link #RULES_ARGS} it falls under:
     * {@code default} a listener, {@code db} an accepted end, {@code alone} a client.
     */
    static String role(int localPort, int remotePort, List<Integer> listeners) {
        if (remotePort < 0) {
            return "default";
        }
        if (listeners.contains(localPort)) {
            return "db";
        }
        assertTrue(listeners.contains(remotePort), "a client of neither listener: " + localPort + " " + remotePort);
        return "alone";
    }

    /** The port of an address inspect wrote ("127.0.0.1:8080", "[::1]:8080"), -1 for none. */
    private static int port(JsonElement address) {
        if (address.isJsonNull()) {
            return -1;
        }
        String text = address.getAsString();
        return Integer.parseInt(text.substring(text.lastIndexOf(':') + 1));
    }

    static List<String> options(List<KernelSocket> sockets) {
        return sockets.stream().map(s -> s.fd + " " + s.options()).sorted().collect(Collectors.toList());
    }
}
