package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.ConnectionLoopApp;
import io.tcphardening.it.apps.JdkConnectionsApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's log file is written through a buffer: what that must not cost. A connection's line reaches the file while
 * the JVM runs on (the buffer is flushed whenever the agent has nothing more to write), and a JVM that exits right
 * after a burst of connections loses none of their lines (the buffer is flushed at exit). Read from the file by this
 * test, outside the JVM.
 */
class LogFileIT {

    private static final int CONNECTIONS = 2000;

    @TempDir
    Path temp;

    @TestFactory
    List<DynamicTest> aConnectionsLineIsInTheFileWhileTheJvmRuns() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("running-" + jdk.major() + ".log");
            try (ForkedJvm.Running app = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(JdkConnectionsApp.class.getName()).args("socket-connecting-constructor")
                    .javaagent(AgentJar.path(), "log.file=" + log).start()) {
                app.awaitLine("READY"::equals, Duration.ofSeconds(30));
                String written = "";
                for (int i = 0; i < 100 && !(written.contains(" accept ") && written.contains(" connect ")); i++) {
                    Thread.sleep(100);
                    written = Files.readString(log);
                }
                assertTrue(ProcessHandle.of(app.pid()).map(ProcessHandle::isAlive).orElse(false),
                        "the JVM is still running\n" + app.describe());
                assertTrue(written.contains("INFO: Socket connect ") && written.contains("INFO: Socket accept "),
                        "both ends of the connection are in the file within 10 s, before the JVM exits: " + written);
                app.closeStdin();
                assertEquals(0, app.waitFor(Duration.ofSeconds(30)), app.describe());
            }
        });
    }

    @TestFactory
    List<DynamicTest> noLineOfABurstIsLostAtExit() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("burst-" + jdk.major() + ".log");
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(ConnectionLoopApp.class.getName()).args(Integer.toString(CONNECTIONS))
                    .javaagent(AgentJar.path(), "log.file=" + log).run(Duration.ofSeconds(60));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stdout.contains("DONE " + CONNECTIONS), result.toString());
            List<String> lines = Files.readAllLines(log);
            long connectionLines = lines.stream().filter(l -> l.contains("INFO: Socket connect ")
                    || l.contains("INFO: Socket accept ")).count();
            long dropped = lines.stream().filter(l -> l.contains("log lines dropped"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll(".*\\((\\d+) in all\\).*", "$1"))).max().orElse(0);
            assertEquals(2L * CONNECTIONS, connectionLines + dropped,
                    "every connection end has its line, or is counted as dropped (" + dropped + " dropped)");
            assertTrue(Files.readString(log).endsWith(System.lineSeparator()), "the file ends with a whole line");
        });
    }
}
