package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HelloApp;
import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.Jdks;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code tcphardening.Connection} JFR event: with a recording that enables it, one event per connection end, its
 * values equal to what the JDK's getters and the kernel ({@link KernelProbe}) say and its rule the one whose values
 * the kernel shows; with a recording that does not,
 * none; and with no recording and no MBean server, nothing of JFR or JMX loaded by the agent at all.
 */
class FlightRecordingIT {

    /** Three kinds, six connection ends, and a Unix-domain pair that must produce no event. */
    private static final String[] SCENARIOS = {"socket-constructor", "socket-channel-blocking", "async-future",
        "not-tcp"};
    private static final Map<String, String> KINDS = Map.of("socket-constructor", "Socket",
            "socket-channel-blocking", "SocketChannel", "async-future", "AsynchronousSocketChannel");
    private static final String EVENT = "tcphardening.Connection";
    private static final String EVENT_CLASS = "io.tcphardening.agent.observe.HardenedConnectionEvent";
    /** Accepted ends get their own keepalive.count: the event names the rule, and carries the rule's value. */
    private static final String RULE = "rules=in,rule.in.match=accept remote=127.0.0.1,::1,rule.in.keepalive.count=5";

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> anEnablingRecordingHasOneEventPerConnectionWithTheKernelsValues() {
        return PerJdk.tests(jdk -> {
            Path settings = Files.writeString(temp.resolve("tcphardening-" + jdk.major() + ".jfc"),
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration version=\"2.0\">\n"
                    + "  <event name=\"" + EVENT + "\">\n    <setting name=\"enabled\">true</setting>\n  </event>\n"
                    + "</configuration>\n");
            Recorded recorded = record(jdk, "settings=" + settings, "log.level=off," + RULE);
            List<RecordedEvent> events = recorded.events;
            assertEquals(recorded.conns.size(), events.size(), "one event per connection end\n" + recorded);
            assertEquals(6, events.size(), recorded.toString());
            assertTrue(recorded.loaded(EVENT_CLASS), recorded.toString());
            for (String[] conn : recorded.conns) {
                int localPort = Integer.parseInt(conn[3]);
                int remotePort = Integer.parseInt(conn[4]);
                List<RecordedEvent> matching = events.stream().filter(e -> e.getInt("localPort") == localPort
                        && e.getInt("remotePort") == remotePort).collect(Collectors.toList());
                String context = String.join(" ", conn) + "\n" + recorded;
                assertEquals(1, matching.size(), context);
                RecordedEvent event = matching.get(0);
                assertEquals(KINDS.get(conn[1]), event.getString("kind"), context);
                assertEquals(conn[2].equals("client") ? "connect" : "accept", event.getString("direction"), context);
                assertEquals("127.0.0.1", event.getString("localAddress"), context);
                assertEquals("127.0.0.1", event.getString("remoteAddress"), context);
                // the application's view, through the JDK's getters
                assertEquals(conn[5], Boolean.toString(event.getBoolean("keepAlive")), context);
                assertEquals(conn[6], Long.toString(event.getLong("keepAliveIdle")), context);
                assertEquals(conn[7], Long.toString(event.getLong("keepAliveInterval")), context);
                assertEquals(conn[8], Integer.toString(event.getInt("keepAliveCount")), context);
                // TCP_USER_TIMEOUT has no JDK getter: the kernel's value, read from outside the process
                KernelSocket socket = recorded.kernel.stream()
                        .filter(s -> s.localPort == localPort && s.remotePort == remotePort).findFirst()
                        .orElseThrow(() -> new AssertionError("no kernel socket: " + context));
                assertEquals(socket.userTimeout, event.getLong("userTimeout"), context);
                boolean accepted = conn[2].equals("accepted");
                assertEquals(accepted ? "in" : "default", event.getString("rule"), context);
                assertEquals(accepted ? "1 61 11 5 33000" : JdkCoverageIT.CONFIGURED, socket.options(), context);
                assertEquals(Duration.ofSeconds(61), event.getDuration("keepAliveIdle"), "a timespan in seconds");
            }
        });
    }

    @TestFactory
    List<DynamicTest> aRecordingThatDoesNotEnableItHasNone() {
        return PerJdk.tests(jdk -> {
            Recorded recorded = record(jdk, "settings=default", "log.level=info");
            assertEquals(6, recorded.conns.size(), recorded.toString());
            assertEquals(List.of(), recorded.events, recorded.toString());
            assertTrue(recorded.allEvents > 0, "the recording itself worked: " + recorded);
            // JFR instruments an event class when it is loaded: a JVM with an ordinary recording must not pay for it
            assertFalse(recorded.loaded(EVENT_CLASS), recorded.toString());
        });
    }

    @TestFactory
    List<DynamicTest> withoutRecordingOrMBeanServerNothingOfJfrOrJmxIsLoaded() {
        return PerJdk.tests(jdk -> {
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HelloApp.class.getName()).jvmArg("-Xlog:class+load=info")
                    .javaagent(AgentJar.path(), "log.level=info").run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stdout.contains("CONNECTED true"), result.toString());
            assertTrue(result.stderr.contains(" INFO: Socket connect "), "the agent ran: " + result.stderr);
            List<String> loaded = result.stdout.lines().filter(l -> l.contains("[class,load]"))
                    .collect(Collectors.toList());
            assertTrue(loaded.stream().anyMatch(l -> l.contains(" io.tcphardening.agent.harden.SocketHardener ")),
                    "the class-load log works");
            for (String absent : new String[] {"io.tcphardening.agent.observe.HardenedConnectionEvent", "jdk.jfr.Event",
                "io.tcphardening.agent.observe.AgentStatus", "javax.management.MBeanServer",
                "java.lang.management.ManagementFactory"}) {
                assertFalse(loaded.stream().anyMatch(l -> l.contains(" " + absent + " ")), absent + " was loaded:\n"
                        + loaded.stream().filter(l -> l.contains("jfr") || l.contains("management")
                        || l.contains("tcphardening")).collect(Collectors.joining("\n")));
            }
        });
    }

    /** A run of JdkConnectionsApp under a flight recording, and what the recording holds. */
    private Recorded record(Jdks.Jdk jdk, String recordingSettings, String logLevel) throws Exception {
        Path file = temp.resolve("recording-" + jdk.major() + "-" + System.nanoTime() + ".jfr");
        Path classes = temp.resolve("classes-" + jdk.major() + "-" + System.nanoTime() + ".log");
        ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                .mainClass(JdkConnectionsApp.class.getName()).args(SCENARIOS)
                .jvmArg("-Xlog:class+load=info:file=" + classes)
                .jvmArg("-XX:StartFlightRecording=filename=" + file + ",dumponexit=true," + recordingSettings)
                .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS + "," + logLevel);
        try (ForkedJvm.Running running = jvm.start()) {
            running.awaitLine("READY"::equals, Duration.ofSeconds(60));
            List<KernelSocket> kernel = KernelProbe.read(running.pid());
            running.sendLine("done");
            assertEquals(0, running.waitFor(Duration.ofSeconds(60)), running.describe());
            assertTrue(running.stdout().contains("UNIX not-tcp connected"), running.describe());
            List<RecordedEvent> all = RecordingFile.readAllEvents(file);
            List<RecordedEvent> ours = all.stream().filter(e -> e.getEventType().getName().equals(EVENT))
                    .collect(Collectors.toList());
            List<String[]> conns = running.stdoutLines().stream().filter(l -> l.startsWith("CONN "))
                    .map(l -> l.split(" ")).collect(Collectors.toList());
            return new Recorded(conns, kernel, ours, all.size(), Files.readString(classes), running.describe());
        }
    }

    private static final class Recorded {
        final List<String[]> conns;
        final List<KernelSocket> kernel;
        final List<RecordedEvent> events;
        final int allEvents;
        final String classLoadLog;
        final String output;

        Recorded(List<String[]> conns, List<KernelSocket> kernel, List<RecordedEvent> events, int allEvents,
                 String classLoadLog, String output) {
            this.conns = conns;
            this.kernel = kernel;
            this.events = events;
            this.allEvents = allEvents;
            this.classLoadLog = classLoadLog;
            this.output = output;
        }

        boolean loaded(String className) {
            return classLoadLog.contains(" " + className + " ");
        }

        @Override
        public String toString() {
            return events.size() + " " + EVENT + " events of " + allEvents + ":\n" + events + "\n" + output;
        }
    }
}
