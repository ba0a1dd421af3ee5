package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.CountedConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.KernelProbe;
import io.tcphardening.it.kit.KernelProbe.KernelSocket;
import io.tcphardening.it.kit.PerJdk;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The agent's counters in Prometheus: an unmodified application runs with the Prometheus JMX exporter Java agent
 * (from Maven Central) beside ours, configured with {@code deploy/prometheus/jmx-exporter.yaml}, and serves
 * {@code /metrics} on 127.0.0.1. Around a known set of connections ({@link CountedConnectionsApp}, each end checked
 * in the kernel), what {@code /metrics} shows must change exactly as the MBean read over JMX does, and as the
 * application's report says; the settings gauges must equal the MBean's settings.
 *
 * <p>The scrapes and JMX are TCP connections too, hardened and counted by the agent: each is opened once, before the
 * first reading, and reused (HTTP keep-alive, RMI's connection reuse), so that none falls between two readings.
 */
class PrometheusExporterIT {

    private static final Pattern SAMPLE = Pattern.compile("^(tcphardening_[a-z_]+)(\\{[^}]*\\})? (\\S+)$");

    @TestFactory
    List<DynamicTest> metricsChangeAsTheMBeanAndTheKernelSay() {
        return PerJdk.tests(jdk -> {
            int metricsPort = AgentMBeanIT.freePort();
            int jmxPort = AgentMBeanIT.freePort();
            Path rules = Paths.get(System.getProperty("deploy.dir"), "prometheus", "jmx-exporter.yaml");
            Path exporter = Paths.get(System.getProperty("jmx.exporter.jar"));
            assertTrue(Files.isRegularFile(exporter), exporter + " (copied by the it module's build)");
            ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(CountedConnectionsApp.class.getName())
                    // the exporter first: it creates the platform MBean server before our agent starts, the order
                    // in which the agent must register its MBean at once
                    .javaagent(exporter, "127.0.0.1:" + metricsPort + ":" + rules)
                    .javaagent(AgentJar.path(), JdkCoverageIT.AGENT_ARGS)
                    .jvmArg("-Dcom.sun.management.jmxremote.port=" + jmxPort)
                    .jvmArg("-Dcom.sun.management.jmxremote.rmi.port=" + jmxPort)
                    .jvmArg("-Dcom.sun.management.jmxremote.host=127.0.0.1")
                    .jvmArg("-Djava.rmi.server.hostname=127.0.0.1")
                    .jvmArg("-Dcom.sun.management.jmxremote.authenticate=false")
                    .jvmArg("-Dcom.sun.management.jmxremote.ssl=false");
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI metrics = URI.create("http://127.0.0.1:" + metricsPort + "/metrics");
            try (ForkedJvm.Running running = jvm.start()) {
                running.awaitLine("READY"::equals, Duration.ofSeconds(60));
                JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi");
                try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
                    MBeanServerConnection mbeans = connector.getMBeanServerConnection();
                    ObjectName agent = new ObjectName("tcphardening:type=Agent");
                    scrape(http, metrics);  // opens the connection the later scrapes reuse
                    Map<String, Long> hardenedBefore = AgentMBeanIT.longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
                    Map<String, Long> replacedBefore = AgentMBeanIT.longs(mbeans.getAttribute(agent,
                            "ApplicationValuesReplaced"));
                    Map<String, Double> before = scrape(http, metrics);

                    running.sendLine("connect");
                    running.awaitLine("DONE"::equals, Duration.ofSeconds(30));
                    List<KernelSocket> kernel = KernelProbe.read(running.pid());
                    Map<String, Long> reported = new TreeMap<>();
                    for (String line : running.stdoutLines()) {
                        if (!line.startsWith("CONN ")) {
                            continue;
                        }
                        String[] conn = line.split(" ");
                        KernelSocket socket = kernel.stream().filter(s -> s.localPort == Integer.parseInt(conn[3])
                                && s.remotePort == Integer.parseInt(conn[4])).findFirst()
                                .orElseThrow(() -> new AssertionError("no kernel socket for " + line));
                        assertEquals(JdkCoverageIT.CONFIGURED, socket.options(), socket + "\n" + running.describe());
                        reported.merge(conn[1] + " " + conn[2], 1L, Long::sum);
                    }

                    Map<String, Long> hardenedAfter = AgentMBeanIT.longs(mbeans.getAttribute(agent, "ConnectionsHardened"));
                    Map<String, Long> replacedAfter = AgentMBeanIT.longs(mbeans.getAttribute(agent,
                            "ApplicationValuesReplaced"));
                    Map<String, String> settings = AgentMBeanIT.strings(mbeans.getAttribute(agent, "Settings"));
                    Map<String, Double> after = scrape(http, metrics);
                    String context = "metrics before " + before + "\nmetrics after " + after + "\nMBean before "
                            + hardenedBefore + "\nMBean after " + hardenedAfter + "\n" + running.describe();

                    Map<String, Long> mbeanHardened = differences(hardenedBefore, hardenedAfter);
                    assertEquals(reported, mbeanHardened, "the MBean counts the application's connections\n" + context);
                    Map<String, Long> metricHardened = new TreeMap<>();
                    for (Map.Entry<String, Long> entry : mbeanHardened.entrySet()) {
                        String[] kindAndDirection = splitLast(entry.getKey());
                        String sample = "tcphardening_connections_hardened_total{direction=\"" + kindAndDirection[1]
                                + "\",kind=\"" + kindAndDirection[0] + "\"}";
                        metricHardened.put(entry.getKey(),
                                Math.round(after.getOrDefault(sample, 0.0) - before.getOrDefault(sample, 0.0)));
                    }
                    assertEquals(mbeanHardened, metricHardened, context);
                    assertEquals(sum(mbeanHardened), Math.round(total(after, "tcphardening_connections_hardened_total")
                            - total(before, "tcphardening_connections_hardened_total")),
                            "no other kind or direction changed in /metrics\n" + context);

                    Map<String, Long> mbeanReplaced = differences(replacedBefore, replacedAfter);
                    assertEquals(Map.of("keepalive", 1L, "keepalive.idle", 1L), mbeanReplaced, context);
                    for (String option : List.of("keepalive", "keepalive.idle", "keepalive.interval",
                            "keepalive.count", "user_timeout")) {
                        String sample = "tcphardening_application_values_replaced_total{option=\"" + option + "\"}";
                        assertEquals((double) mbeanReplaced.getOrDefault(option, 0L),
                                after.get(sample) - before.get(sample), sample + "\n" + context);
                    }

                    // The settings as gauges, from the MBean's text values ("61s", "33000ms", "true", "7").
                    assertEquals(Map.of("keepalive.idle", "61s", "keepalive.interval", "11s", "user_timeout", "33000ms",
                            "keepalive", "true", "keepalive.count", "7"),
                            Map.of("keepalive.idle", settings.get("keepalive.idle"),
                                    "keepalive.interval", settings.get("keepalive.interval"),
                                    "user_timeout", settings.get("user_timeout"),
                                    "keepalive", settings.get("keepalive"),
                                    "keepalive.count", settings.get("keepalive.count")), settings.toString());
                    assertEquals(61.0, after.get("tcphardening_setting_seconds{option=\"keepalive.idle\"}"), context);
                    assertEquals(11.0, after.get("tcphardening_setting_seconds{option=\"keepalive.interval\"}"), context);
                    assertEquals(33.0, after.get("tcphardening_setting_seconds{option=\"user_timeout\"}"), context);
                    assertEquals(1.0, after.get("tcphardening_setting{option=\"keepalive\"}"), context);
                    assertEquals(7.0, after.get("tcphardening_setting{option=\"keepalive.count\"}"), context);
                    assertEquals(0.0, total(after, "tcphardening_failures_total"), context);
                }
                running.closeStdin();
                assertEquals(0, running.waitFor(Duration.ofSeconds(30)), running.describe());
            }
        });
    }

    /** The samples of our metrics in {@code /metrics}, keyed by name and labels as the exporter writes them. */
    private static Map<String, Double> scrape(HttpClient http, URI metrics) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(20))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        Map<String, Double> samples = new TreeMap<>();
        for (String line : response.body().split("\n")) {
            Matcher matcher = SAMPLE.matcher(line);
            if (matcher.matches()) {
                samples.put(matcher.group(1) + (matcher.group(2) == null ? "" : matcher.group(2)),
                        Double.parseDouble(matcher.group(3)));
            }
        }
        assertTrue(samples.containsKey("tcphardening_connections_hardened_total{direction=\"accept\","
                + "kind=\"SocketChannel\"}"), "the scrape's own connection, accepted by the exporter's server, "
                + "is counted: " + response.body());
        return samples;
    }

    private static Map<String, Long> differences(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> changed = new TreeMap<>();
        for (Map.Entry<String, Long> entry : after.entrySet()) {
            long delta = entry.getValue() - before.getOrDefault(entry.getKey(), 0L);
            if (delta != 0) {
                changed.put(entry.getKey(), delta);
            }
        }
        return changed;
    }

    private static double total(Map<String, Double> samples, String name) {
        return samples.entrySet().stream().filter(e -> e.getKey().equals(name) || e.getKey().startsWith(name + "{"))
                .mapToDouble(Map.Entry::getValue).sum();
    }

    private static long sum(Map<String, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    /** "Netty epoll connect" into its kind and direction. */
    private static String[] splitLast(String kindAndDirection) {
        int space = kindAndDirection.lastIndexOf(' ');
        return new String[] {kindAndDirection.substring(0, space), kindAndDirection.substring(space + 1)};
    }
}
