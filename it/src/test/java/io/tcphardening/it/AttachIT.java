package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HoldingConnectionsApp;
import io.tcphardening.it.kit.AgentCommand;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import io.tcphardening.it.kit.StaleAttachSockets;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code attach}: a running JVM started without the agent, holding connections (client and accepted ends, and their
 * listeners), gets the agent from a separate {@code java -jar tcp-hardening-agent.jar attach} process, on the other
 * JDK of the machine. The kernel's values are read from outside the process ({@link KernelProbe}): those of the
 * connections open at the attach, and of the connections the application opens afterwards.
 */
class AttachIT {

    static final String[] FIRST = {"keepalive.idle=61s", "keepalive.interval=11s", "keepalive.count=7",
        "user_timeout=33s"};
    static final String FIRST_VALUES = "1 61 11 7 33000";
    static final String[] SECOND = {"keepalive.idle=45s", "user_timeout=20s"};
    /** A new attach makes new settings from all sources, as a start would: what it does not name is the default. */
    static final String SECOND_VALUES = "1 45 10 6 20000";

    @TestFactory
    List<DynamicTest> openAndNewConnectionsCarryTheValuesAndASecondAttachReplacesThem() {
        return PerJdk.tests(jdk -> {
            try (ForkedJvm.Running app = holding(jdk, null)) {
                awaitReady(app, 1);
                List<KernelSocket> before = KernelProbe.read(app.pid());
                assertEquals(6, before.size(), describe(app, before));
                assertTrue(before.stream().noneMatch(s -> s.keepAlive), "no keepalive before the attach: "
                        + describe(app, before));

                ForkedJvm.Result attach = attach(jdk, app, FIRST);
                assertEquals(0, attach.exitCode, attach.toString());
                assertTrue(attach.stdout.contains("connections open before the attach: hardened 6 (ESTABLISHED 4,"
                        + " LISTEN 2), skipped 0"), attach.toString());
                assertEvery(app, FIRST_VALUES, 6);

                app.sendLine("more");
                awaitReady(app, 2);
                assertEvery(app, FIRST_VALUES, 10);

                ForkedJvm.Result again = attach(jdk, app, SECOND);
                assertEquals(0, again.exitCode, again.toString());
                assertTrue(again.stdout.contains("settings of the running agent replaced for new connections:"
                        + " keepalive=true (default), keepalive.idle=45s (agent argument)"), again.toString());
                assertTrue(again.stdout.contains("(before: keepalive=true (default), keepalive.idle=61s"),
                        again.toString());
                assertTrue(again.stdout.contains("hardened 10 (ESTABLISHED 8, LISTEN 2), skipped 0"), again.toString());
                assertEvery(app, SECOND_VALUES, 10);

                app.sendLine("more");
                awaitReady(app, 3);
                assertEvery(app, SECOND_VALUES, 14);
                if (jdk.major() >= 21) {
                    assertTrue(app.stderr().contains("A Java agent has been loaded dynamically"), app.describe());
                }
            }
        });
    }

    @TestFactory
    List<DynamicTest> aJvmStartedWithTheAgentGetsItsSettingsReplaced() {
        return PerJdk.tests(jdk -> {
            try (ForkedJvm.Running app = holding(jdk, String.join(",", FIRST))) {
                awaitReady(app, 1);
                assertEvery(app, FIRST_VALUES, 6);
                ForkedJvm.Result attach = attach(jdk, app, SECOND);
                assertEquals(0, attach.exitCode, attach.toString());
                assertTrue(attach.stdout.contains("settings of the running agent replaced for new connections"),
                        attach.toString());
                assertEvery(app, SECOND_VALUES, 6);
                app.sendLine("more");
                awaitReady(app, 2);
                assertEvery(app, SECOND_VALUES, 10);
            }
        });
    }

    /**
     * Rules at an attach, for the connections open then and those opened later, and a second attach that replaces
     * them. The first gives clients of the ServerSocket (a match with commas) rule sock's values, the rest the global
     * ones; the second gives the ServerSocketChannel's accepted ends rule chan's values and leaves the ServerSocket's
     * clients alone: those open keep what the first attach set, a new one keeps what the kernel gave it.
     */
    @TestFactory
    List<DynamicTest> rulesDecideTheConnectionsOpenAtTheAttachAndLaterAndASecondAttachReplacesThem() {
        return PerJdk.tests(jdk -> {
            try (ForkedJvm.Running app = holding(jdk, null)) {
                awaitReady(app, 1);
                List<Integer> listeners = InspectIT.listenerPorts(app);
                int socketPort = listeners.get(0);
                int channelPort = listeners.get(1);
                String[] first = {FIRST[0], FIRST[1], FIRST[2], FIRST[3], "rules=sock",
                    "rule.sock.match=connect remote=127.0.0.1,::1 port=" + socketPort + ",1-2",
                    "rule.sock.keepalive.idle=21s", "rule.sock.user_timeout=9s"};
                ForkedJvm.Result attach = attach(jdk, app, first);
                assertEquals(0, attach.exitCode, attach.toString());
                assertTrue(attach.stdout.contains("; rules, the first that matches decides: sock [connect"
                        + " remote=127.0.0.1,::1 port=" + socketPort + ",1-2 (agent argument)]: keepalive.idle=21s"
                        + " (agent argument), user_timeout=9000ms (agent argument); others as the global settings\n"),
                        attach.toString());
                assertTrue(attach.stdout.contains("connections open before the attach: hardened 6 (ESTABLISHED 4,"
                        + " LISTEN 2; by rule: default 5, sock 1), skipped 0"), attach.toString());
                String sock = "1 21 11 7 9000";
                assertByEnd(app, socketPort, channelPort, -1, sock, FIRST_VALUES, FIRST_VALUES, 6);
                app.sendLine("more");
                awaitReady(app, 2);
                assertByEnd(app, socketPort, channelPort, -1, sock, FIRST_VALUES, FIRST_VALUES, 10);

                List<String> second = new java.util.ArrayList<>(List.of(SECOND));
                second.addAll(List.of("rules=chan,quiet", "rule.chan.match=accept local-port=" + channelPort,
                        "rule.chan.keepalive.count=3", "rule.quiet.match=connect port=" + socketPort));
                for (String option : new String[] {"keepalive", "keepalive.idle", "keepalive.interval",
                    "keepalive.count", "user_timeout"}) {
                    second.add("rule.quiet." + option + "=unchanged");
                }
                ForkedJvm.Result again = attach(jdk, app, second.toArray(new String[0]));
                assertEquals(0, again.exitCode, again.toString());
                assertTrue(again.stdout.contains("; rules, the first that matches decides: chan [accept local-port="
                        + channelPort + " (agent argument)]: keepalive.count=3 (agent argument); others as the global"
                        + " settings; quiet [connect port=" + socketPort + " (agent argument)]: keepalive=unchanged"),
                        again.toString());
                assertTrue(again.stdout.contains("(before: keepalive=true (default), keepalive.idle=61s (agent"
                        + " argument)"), again.toString());
                assertTrue(again.stdout.contains("; rules, the first that matches decides: sock [connect"),
                        "the rules before are said too: " + again);
                assertTrue(again.stdout.contains("connections open before the attach: hardened 8 (ESTABLISHED 6,"
                        + " LISTEN 2; by rule: chan 2, default 6), left alone by their rule 2 (quiet 2), skipped 0"),
                        again.toString());
                String chan = "1 45 10 3 20000";
                // the ServerSocket's clients left alone keep what the first attach set
                assertByEnd(app, socketPort, channelPort, -1, sock, SECOND_VALUES, chan, 10);
                app.sendLine("more");
                awaitReady(app, 3);
                // the new ServerSocket client is left alone from its connect on: the kernel's keepalive off
                int newClient = app.stdoutLines().stream().filter(l -> l.startsWith("CONN socket client "))
                        .map(l -> Integer.parseInt(l.split(" ")[3])).reduce((a, b) -> b).orElseThrow();
                assertByEnd(app, socketPort, channelPort, newClient, sock, SECOND_VALUES, chan, 14);

                // Unless both JDKs speak attach protocol 2, the JVM drops an agent argument over 1024 bytes unread
                StringBuilder many = new StringBuilder("rule.many.match=remote=");
                for (int i = 0; i < 80; i++) {
                    many.append(i == 0 ? "" : ",").append("127.1.").append(i).append(".0/24");
                }
                ForkedJvm.Result tooLong = attach(jdk, app, "rules=many", many.toString(), "rule.many.keepalive=false");
                if (jdk.major() >= 24 && AgentCommand.other(jdk).major() >= 24) {
                    assertEquals(0, tooLong.exitCode, tooLong.toString());
                } else {
                    assertOneLine(tooLong, "cannot attach to JVM " + app.pid() + ": the agent's path and settings"
                            + " make ");
                    assertTrue(tooLong.stderr.contains(" bytes, more than the 1024 the attach mechanism takes unless"
                            + " both this java and the JVM are JDK 24 or newer (the JDK's attach said: "),
                            tooLong.toString());
                    assertTrue(tooLong.stderr.endsWith("); nothing was attached: put the settings in a file and give"
                            + " config=PATH\n"), tooLong.toString());
                    assertByEnd(app, socketPort, channelPort, newClient, sock, SECOND_VALUES, chan, 14);
                }
            }
        });
    }

    /**
     * The kernel's values by end: {@code socketClient} for clients of the ServerSocket but the one whose local port is
     * {@code aloneClient} (its keepalive as the kernel made it: off), {@code channelAccepted} for the
     * ServerSocketChannel's accepted ends, {@code others} for the rest, listeners included.
     */
    private static void assertByEnd(ForkedJvm.Running app, int socketPort, int channelPort, int aloneClient,
                                    String socketClient, String others, String channelAccepted, int count) {
        List<KernelSocket> sockets = KernelProbe.read(app.pid());
        assertEquals(count, sockets.size(), describe(app, sockets));
        for (KernelSocket socket : sockets) {
            String context = socket + "\n" + describe(app, sockets);
            if (socket.localPort == aloneClient) {
                assertFalse(socket.keepAlive, context);
            } else if (socket.remotePort == socketPort) {
                assertEquals(socketClient, socket.options(), context);
            } else if (socket.localPort == channelPort && socket.remotePort >= 0) {
                assertEquals(channelAccepted, socket.options(), context);
            } else {
                assertEquals(others, socket.options(), context);
            }
        }
    }

    /** Root may attach to the JVM of any user (the JDK's attach mechanism allows it), with the same effect. */
    @TestFactory
    List<DynamicTest> rootAttachesToTheJvmOfAnotherUser() {
        return PerJdk.tests(jdk -> {
            StaleAttachSockets.remove();
            Process app = new ProcessBuilder("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    jdk.java().toString(), "-cp", AgentJar.testClasses(), HoldingConnectionsApp.class.getName())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(app.getInputStream(),
                        StandardCharsets.UTF_8));
                for (String line = out.readLine(); !"READY".equals(line); line = out.readLine()) {
                    assertTrue(line != null, "the application as nobody ended before READY");
                }
                String pid = Long.toString(app.pid());
                ForkedJvm.Result attach = AgentCommand.run(AgentCommand.other(jdk), "attach", pid, FIRST[0], FIRST[1],
                        FIRST[2], FIRST[3]);
                assertEquals(0, attach.exitCode, attach.toString());
                assertTrue(attach.stdout.contains("hardened 6 (ESTABLISHED 4, LISTEN 2), skipped 0"),
                        attach.toString());
                List<KernelSocket> sockets = KernelProbe.read(app.pid());
                assertEquals(6, sockets.size(), sockets.toString());
                for (KernelSocket socket : sockets) {
                    assertEquals(FIRST_VALUES, socket.options(), sockets.toString());
                }
            } finally {
                app.destroyForcibly();
            }
        });
    }

    /**
     * A JVM killed without its exit leaves its attach socket behind, and a later process can get its pid (the suite
     * itself starts thousands of processes, so this happened here): the command removes a socket file that refuses
     * connections, and attaches as usual. The stale file is made as SIGKILL leaves one: a Unix-domain socket bound
     * at that path and closed.
     */
    @TestFactory
    List<DynamicTest> aStaleAttachSocketOfAnEarlierProcessIsRemoved() {
        return PerJdk.tests(jdk -> {
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HoldingConnectionsApp.class.getName());
            try (ForkedJvm.Running app = jvm.start()) {
                awaitReady(app, 1);
                Path stale = Paths.get("/tmp/.java_pid" + app.pid());
                Files.deleteIfExists(stale);
                // through reflection: the tests are compiled for Java 11, Unix-domain channels came in 16
                try (ServerSocketChannel dead = (ServerSocketChannel) ServerSocketChannel.class
                        .getMethod("open", ProtocolFamily.class).invoke(null, StandardProtocolFamily.valueOf("UNIX"))) {
                    dead.bind((SocketAddress) Class.forName("java.net.UnixDomainSocketAddress")
                            .getMethod("of", Path.class).invoke(null, stale));
                }
                assertTrue(Files.exists(stale), "the stale socket file " + stale);
                ForkedJvm.Result attach = attach(jdk, app, FIRST);
                assertEquals(0, attach.exitCode, attach.toString());
                assertTrue(attach.stderr.contains("removed /proc/" + app.pid() + "/root/tmp/.java_pid" + app.pid()
                        + ", a stale attach socket"), attach.toString());
                assertEvery(app, FIRST_VALUES, 6);
            }
        });
    }

    /** The JVM validates the sources it has, as at -javaagent: a bad value there stops the attach, nothing changes. */
    @TestFactory
    List<DynamicTest> aConfigurationErrorInTheJvmIsReportedAndChangesNothing() {
        return PerJdk.tests(jdk -> {
            ForkedJvm jvm = ForkedJvm.on(jdk).jvmArg("-Dtcphardening.keepalive.idle=30")
                    .classpath(AgentJar.testClasses()).mainClass(HoldingConnectionsApp.class.getName());
            try (ForkedJvm.Running app = jvm.start()) {
                awaitReady(app, 1);
                ForkedJvm.Result attach = attach(jdk, app, FIRST);
                assertEquals(2, attach.exitCode, attach.toString());
                assertOneLine(attach, "configuration error, the agent was not loaded: system property"
                        + " -Dtcphardening.keepalive.idle: keepalive.idle = '30' has no unit");
                // the JVM's own line says the same: no agent was running there to keep any settings
                awaitStderr(app, "tcp-hardening-agent: configuration error, the agent was not loaded: system"
                        + " property -Dtcphardening.keepalive.idle: keepalive.idle = '30' has no unit");
                assertFalse(app.stderr().contains("keeps its settings"), app.describe());
                assertTrue(KernelProbe.read(app.pid()).stream().noneMatch(s -> s.keepAlive), app.describe());
            }
        });
    }

    /** A mistake made in the JVM's own properties file after its start: a new attach fails, the agent keeps going. */
    @TestFactory
    List<DynamicTest> aConfigurationErrorAtAReattachKeepsTheRunningSettings() {
        return PerJdk.tests(jdk -> {
            Path config = Files.createTempFile("agent", ".properties");
            try {
                Files.writeString(config, "keepalive.count = 7\n");
                ForkedJvm jvm = ForkedJvm.on(jdk).jvmArg("-Dtcphardening.config=" + config)
                        .classpath(AgentJar.testClasses()).mainClass(HoldingConnectionsApp.class.getName())
                        .javaagent(AgentJar.path(), String.join(",", FIRST));
                try (ForkedJvm.Running app = jvm.start()) {
                    awaitReady(app, 1);
                    Files.writeString(config, "keepalive.count = 0\n");
                    ForkedJvm.Result attach = attach(jdk, app, SECOND);
                    assertEquals(2, attach.exitCode, attach.toString());
                    String expected = "configuration error, the running agent keeps its settings: " + config
                            + ":1: keepalive.count = '0' is not valid";
                    assertOneLine(attach, expected);
                    awaitStderr(app, "tcp-hardening-agent: " + expected);
                    assertFalse(app.stderr().contains("was not loaded"), app.describe());
                    assertEvery(app, FIRST_VALUES, 6);
                }
            } finally {
                Files.delete(config);
            }
        });
    }

    /** Waits (at most 10 s: the JVM's standard error is read by another thread) for a line of the JVM's own. */
    private static void awaitStderr(ForkedJvm.Running app, String line) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!app.stderr().lines().anyMatch(l -> l.startsWith(line))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no line '" + line + "' from the JVM\n" + app.describe());
            }
            Thread.sleep(20);
        }
    }

    @TestFactory
    List<DynamicTest> errorsAreOneLineAndANonZeroExit() {
        return PerJdk.tests(jdk -> {
            Process ended = new ProcessBuilder("true").start();
            ended.waitFor();
            assertOneLine(AgentCommand.run(jdk, "attach", Long.toString(ended.pid()), FIRST[0]),
                    "there is no process " + ended.pid());

            Process sleep = new ProcessBuilder("sleep", "60").start();
            try {
                assertOneLine(AgentCommand.run(jdk, "attach", Long.toString(sleep.pid())),
                        "process " + sleep.pid() + " is not a JVM");
                ForkedJvm.Result invalid = AgentCommand.run(jdk, "attach", Long.toString(sleep.pid()),
                        "keepalive.idle=30");
                assertEquals(2, invalid.exitCode, invalid.toString());
                assertOneLine(invalid, "invalid configuration, nothing attached: agent argument: keepalive.idle ="
                        + " '30' has no unit");
            } finally {
                sleep.destroyForcibly();
            }

            ForkedJvm refusing = ForkedJvm.on(jdk).jvmArg("-XX:+DisableAttachMechanism")
                    .classpath(AgentJar.testClasses()).mainClass(HoldingConnectionsApp.class.getName());
            try (ForkedJvm.Running app = refusing.start()) {
                awaitReady(app, 1);
                assertOneLine(attach(jdk, app, FIRST), "JVM " + app.pid() + " refuses attach: it was started with"
                        + " -XX:+DisableAttachMechanism");
                // the application, as a user of another JVM than root
                assertOneLine(asNobody(jdk, "attach", Long.toString(app.pid())), "process " + app.pid()
                        + " belongs to user root (uid 0): only that user or root may attach to it");
            }

        });
    }

    // ----

    static ForkedJvm.Running holding(Jdks.Jdk jdk, String agentArgs) {
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                .mainClass(HoldingConnectionsApp.class.getName());
        if (agentArgs != null) {
            jvm.javaagent(AgentJar.path(), agentArgs);
        }
        return jvm.start();
    }

    /** Waits until the application has printed READY {@code times} times. */
    static void awaitReady(ForkedJvm.Running app, int times) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (app.stdoutLines().stream().filter("READY"::equals).count() < times) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not READY " + times + " times\n" + app.describe());
            }
            Thread.sleep(20);
        }
    }

    /** The attach command, run on the other JDK than the application's. */
    static ForkedJvm.Result attach(Jdks.Jdk jdk, ForkedJvm.Running app, String... settings) {
        String[] args = new String[settings.length + 2];
        args[0] = "attach";
        args[1] = Long.toString(app.pid());
        System.arraycopy(settings, 0, args, 2, settings.length);
        return AgentCommand.run(AgentCommand.other(jdk), args);
    }

    /** Every TCP socket of the application, listeners included, as the kernel has it. */
    static void assertEvery(ForkedJvm.Running app, String expected, int count) {
        List<KernelSocket> sockets = KernelProbe.read(app.pid());
        assertEquals(count, sockets.size(), describe(app, sockets));
        for (KernelSocket socket : sockets) {
            assertEquals(expected, socket.options(), socket + "\n" + describe(app, sockets));
        }
        for (String line : app.stdoutLines()) {
            if (line.startsWith("CONN ")) {
                int local = Integer.parseInt(line.split(" ")[3]);
                assertTrue(sockets.stream().anyMatch(s -> s.localPort == local), line + "\n" + describe(app, sockets));
            }
        }
    }

    /** One line on standard error, containing {@code expected}; no stack trace; a non-zero exit. */
    static void assertOneLine(ForkedJvm.Result result, String expected) {
        assertTrue(result.exitCode != 0, result.toString());
        assertEquals(1, result.stderr.lines().count(), result.toString());
        assertTrue(result.stderr.startsWith("tcp-hardening-agent: ") && result.stderr.contains(expected),
                result.toString());
        assertFalse(result.stderr.contains("Exception") || result.stderr.contains("\tat "), result.toString());
    }

    /** The command as the unprivileged user nobody (the application runs as root). */
    static ForkedJvm.Result asNobody(Jdks.Jdk jdk, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup",
                "--clear-groups", jdk.java().toString(), "-jar", AgentJar.path().toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        byte[] out = process.getInputStream().readAllBytes();
        byte[] err = process.getErrorStream().readAllBytes();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
        return new ForkedJvm.Result(process.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    static String describe(ForkedJvm.Running app, List<KernelSocket> sockets) {
        return app.describe() + "--- kernel\n" + sockets.stream().map(KernelSocket::toString)
                .collect(Collectors.joining("\n"));
    }
}
