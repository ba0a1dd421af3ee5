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

    static List<String> options(List<KernelSocket> sockets) {
        return sockets.stream().map(s -> s.fd + " " + s.options()).sorted().collect(Collectors.toList());
    }
}
