package io.tcphardening.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tcphardening.it.apps.HelloApp;
import io.tcphardening.it.kit.AgentJar;
import io.tcphardening.it.kit.ForkedJvm;
import io.tcphardening.it.kit.PerJdk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees: configuration mistakes stop the start with one clear line and exit status 2; the agent's log
 * is its own (an application's tinylog configuration cannot touch it) and goes where log.file says; and the agent's
 * classes are invisible to the application.
 */
class OperatorIT {

    @TempDir
    Path temp;

    /** One bad input: how to start the JVM with it, and what the one line must say. */
    private static final class BadInput {
        final String name;
        final Consumer<ForkedJvm> setup;
        final String[] mustSay;

        BadInput(String name, Consumer<ForkedJvm> setup, String... mustSay) {
            this.name = name;
            this.setup = setup;
            this.mustSay = mustSay;
        }
    }

    private List<BadInput> badInputs() throws Exception {
        Path agent = AgentJar.path();
        Path badFile = Files.writeString(temp.resolve("bad.properties"), "# comment\nkeepalive = true\nuser_timeout = 2x\n");
        Path duplicated = Files.writeString(temp.resolve("twice.properties"), "keepalive.count=3\nkeepalive.count=4\n");
        Path unreadable = Files.writeString(temp.resolve("unknown.properties"), "keepalive.intervall=5s\n");
        List<BadInput> inputs = new ArrayList<>();
        inputs.add(new BadInput("bare number", j -> j.javaagent(agent, "keepalive.idle=30"),
                "agent argument", "keepalive.idle", "'30'", "30s"));
        inputs.add(new BadInput("unknown key", j -> j.javaagent(agent, "keepalive.idel=30s"),
                "keepalive.idel", "did you mean keepalive.idle"));
        inputs.add(new BadInput("out of range", j -> j.javaagent(agent, "keepalive.count=128"),
                "keepalive.count", "'128'", "1 to 127"));
        inputs.add(new BadInput("not whole seconds", j -> j.javaagent(agent, "keepalive.interval=1500ms"),
                "keepalive.interval", "whole number of seconds"));
        inputs.add(new BadInput("malformed value in a file", j -> j.javaagent(agent, "config=" + badFile),
                badFile + ":3", "user_timeout", "'2x'", "allowed"));
        inputs.add(new BadInput("unknown key in a file", j -> j.javaagent(agent, "config=" + unreadable),
                unreadable + ":1", "did you mean keepalive.interval"));
        inputs.add(new BadInput("duplicated key in a file", j -> j.javaagent(agent, "config=" + duplicated),
                duplicated + ":2", "keepalive.count", "set twice", duplicated + ":1"));
        inputs.add(new BadInput("missing file", j -> j.javaagent(agent, "config=" + temp.resolve("absent")),
                "absent", "does not exist"));
        inputs.add(new BadInput("directory", j -> j.javaagent(agent, "config=" + temp), "is a directory"));
        inputs.add(new BadInput("system property", j -> j.javaagent(agent, null)
                .jvmArg("-Dtcphardening.user_timeout=-5s"), "-Dtcphardening.user_timeout", "'-5s'"));
        inputs.add(new BadInput("environment variable", j -> j.javaagent(agent, null)
                .env("TCPHARDENING_KEEPALIVE", "yes"), "TCPHARDENING_KEEPALIVE", "'yes'", "true, false"));
        inputs.add(new BadInput("unknown environment variable", j -> j.javaagent(agent, null)
                .env("TCPHARDENING_USER_TIMOUT", "5s"), "did you mean TCPHARDENING_USER_TIMEOUT"));
        inputs.add(new BadInput("bad value overridden by a higher source", j -> j.javaagent(agent,
                "user_timeout=5s").env("TCPHARDENING_USER_TIMEOUT", "5"), "TCPHARDENING_USER_TIMEOUT", "'5'"));
        return inputs;
    }

    @TestFactory
    List<DynamicTest> badInputStopsTheStartWithOneClearLine() {
        return PerJdk.tests(jdk -> {
            for (BadInput input : badInputs()) {
                ForkedJvm jvm = ForkedJvm.on(jdk).classpath(AgentJar.testClasses()).mainClass(HelloApp.class.getName());
                input.setup.accept(jvm);
                ForkedJvm.Result result = jvm.run(Duration.ofSeconds(30));
                String context = input.name + ": " + result;
                assertEquals(2, result.exitCode, context);
                assertFalse(result.stdout.contains("MAIN-RAN"), "the application must not start: " + context);
                List<String> lines = result.stderr.lines().filter(l -> !l.isBlank())
                        .collect(java.util.stream.Collectors.toList());
                assertEquals(1, lines.size(), "one line, no stack trace: " + context);
                assertTrue(lines.get(0).startsWith("tcp-hardening-agent: configuration error, the application was"
                        + " not started: "), context);
                for (String text : input.mustSay) {
                    assertTrue(lines.get(0).contains(text), "must say " + text + ": " + context);
                }
            }
        });
    }

    @TestFactory
    List<DynamicTest> anApplicationsTinylogConfigurationDoesNotReachTheAgent() {
        return PerJdk.tests(jdk -> {
            Path appConfig = Files.createDirectories(temp.resolve("app-config-" + jdk.major()));
            Path appLog = temp.resolve("application-tinylog-" + jdk.major() + ".log");
            // Would send every tinylog line to a file, in another format, if the agent read it.
            Files.writeString(appConfig.resolve("tinylog.properties"), "writer = file\nwriter.file = " + appLog
                    + "\nwriter.format = APPLICATION {message}\nlevel = trace\n");
            ForkedJvm.Result result = ForkedJvm.on(jdk)
                    .classpath(AgentJar.testClasses(), appConfig.toString()).mainClass(HelloApp.class.getName())
                    .jvmArg("-Dtinylog.writer=file").jvmArg("-Dtinylog.writer.file=" + appLog)
                    .javaagent(AgentJar.path(), "log.level=info").run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stderr.lines().anyMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z tcp-hardening "
                    + "INFO: Socket connect .*")), result.toString());
            assertFalse(Files.exists(appLog), "the application's tinylog configuration was used by the agent");
            assertFalse(result.stderr.contains("APPLICATION"), result.toString());
        });
    }

    @TestFactory
    List<DynamicTest> logFileReceivesTheLog() {
        return PerJdk.tests(jdk -> {
            Path log = temp.resolve("agent-" + jdk.major() + ".log");
            Files.writeString(log, "an earlier line\n");
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HelloApp.class.getName())
                    .javaagent(AgentJar.path(), "log.file=" + log).run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertFalse(result.stderr.contains("tcp-hardening"), "nothing on stderr: " + result);
            String written = Files.readString(log);
            assertTrue(written.startsWith("an earlier line\n"), "appended, not truncated: " + written);
            // in a file, each line names its process: JVMs of a fleet may share one file
            assertTrue(written.matches("(?s).*tcp-hardening\\[\\d+\\] INFO: tcp-hardening-agent .*")
                    && written.contains(" active on JDK"), written);
            assertTrue(written.contains("INFO: Socket connect ") && written.contains("INFO: Socket accept "), written);
        });
    }

    @TestFactory
    List<DynamicTest> theAgentsClassesAreInvisibleToTheApplication() {
        return PerJdk.tests(jdk -> {
            String[] names = {"io.tcphardening.agent.Agent", "io.tcphardening.agent.harden.SocketHardener",
                "io.tcphardening.shaded.tinylog.writers.ConsoleWriter",
                "io.tcphardening.shaded.bytebuddy.jar.asm.ClassReader", "net.bytebuddy.ByteBuddy",
                "org.tinylog.Logger"};
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HelloApp.class.getName()).args(names)
                    .javaagent(AgentJar.path(), "log.level=off").run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stdout.contains("CONNECTED true"), result.toString());
            for (String name : names) {
                assertTrue(result.stdout.contains("HIDDEN " + name), name + " must be hidden: " + result);
            }
            assertEquals("", result.stderr, "log.level=off prints nothing");
        });
    }

    @TestFactory
    List<DynamicTest> agentPropertiesBesideTheJarIsUsed() {
        return PerJdk.tests(jdk -> {
            Path dir = Files.createDirectories(temp.resolve("beside-" + jdk.major()));
            Path jar = Files.copy(AgentJar.path(), dir.resolve("tcp-hardening-agent.jar"));
            Files.writeString(dir.resolve("agent.properties"), "keepalive.idle = 42s\n");
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HelloApp.class.getName()).javaagent(jar, null)
                    .run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stderr.contains("keepalive.idle=42s (" + dir.resolve("agent.properties") + ":1)"),
                    result.toString());
            assertTrue(result.stderr.contains("keepalive.idle=42s keepalive.interval=10s"), result.toString());
        });
    }

    @TestFactory
    List<DynamicTest> javaToolOptionsWorks() {
        return PerJdk.tests(jdk -> {
            ForkedJvm.Result result = ForkedJvm.on(jdk).classpath(AgentJar.testClasses())
                    .mainClass(HelloApp.class.getName())
                    .env("JAVA_TOOL_OPTIONS", "-javaagent:" + AgentJar.path() + "=user_timeout=17s")
                    .run(Duration.ofSeconds(30));
            assertEquals(0, result.exitCode, result.toString());
            assertTrue(result.stderr.contains("user_timeout=17000ms (agent argument)"), result.toString());
            assertTrue(result.stdout.contains("CONNECTED true"), result.toString());
        });
    }

}
