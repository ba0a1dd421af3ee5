package io.tcphardening.agent.command;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * A Java of a given release or newer on this machine, for a command that needs more than the {@code java} it was
 * started with: {@code JAVA_HOME}, then the installations under {@code /usr/lib/jvm} (each a directory with
 * {@code bin/java} and a {@code release} file), the newest first.
 */
final class NewerJdk {

    private NewerJdk() {
        // no instances
    }

    /** The {@code java} executable of the newest Java of {@code release} or later, or null if there is none. */
    static Path find(int release) {
        List<Path> homes = new ArrayList<>();
        String javaHome = System.getenv("JAVA_HOME");
        if (javaHome != null && !javaHome.isEmpty()) {
            homes.add(Paths.get(javaHome));
        }
        try (DirectoryStream<Path> installed = Files.newDirectoryStream(Paths.get("/usr/lib/jvm"))) {
            for (Path home : installed) {
                homes.add(home);
            }
        } catch (IOException none) {
            // no /usr/lib/jvm: JAVA_HOME only
        }
        Path best = null;
        int bestRelease = release - 1;
        for (Path home : homes) {
            int found = feature(home);
            Path java = home.resolve("bin/java");
            if (found > bestRelease && Files.isExecutable(java)) {
                best = java;
                bestRelease = found;
            }
        }
        return best;
    }

    /** Runs this jar's command again under {@code java}, sharing this process's standard streams; its exit status. */
    static int rerun(Path java, String[] commandArgs) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(java.toString());
        command.add("-jar");
        command.add(Cli.agentJar().toString());
        command.addAll(List.of(commandArgs));
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    /** JAVA_VERSION of the home's {@code release} file ("17.0.15", "25", "1.8.0_442"), or 0. */
    private static int feature(Path home) {
        Properties release = new Properties();
        try (InputStream in = Files.newInputStream(home.resolve("release"))) {
            release.load(in);
        } catch (IOException | IllegalArgumentException e) {
            return 0;
        }
        String version = release.getProperty("JAVA_VERSION", "").replace("\"", "");
        if (version.startsWith("1.")) {
            return 0;  // Java 8 and older
        }
        int end = 0;
        while (end < version.length() && Character.isDigit(version.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Integer.parseInt(version.substring(0, end));
    }
}
