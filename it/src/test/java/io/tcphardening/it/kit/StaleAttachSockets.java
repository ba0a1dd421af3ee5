package io.tcphardening.it.kit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * A JVM killed after something attached to it (the tests kill many) leaves its attach socket {@code /tmp/.java_pidPID}
 * behind. The suite starts thousands of processes, pids come round again, and a JVM given the pid of a dead one is
 * then unreachable for the JDK's attach API and jcmd ("Connection refused"): a failure by chance. So before each JVM
 * is started, the sockets of processes that no longer exist are removed, the one its pid may find among them.
 */
public final class StaleAttachSockets {

    private static final Path TMP = Paths.get("/tmp");

    private StaleAttachSockets() {
    }

    public static void remove() {
        try (DirectoryStream<Path> sockets = Files.newDirectoryStream(TMP, ".java_pid*")) {
            for (Path socket : sockets) {
                String pid = socket.getFileName().toString().substring(".java_pid".length());
                if (!pid.isEmpty() && pid.chars().allMatch(Character::isDigit)
                        && !Files.exists(Paths.get("/proc", pid))) {
                    Files.deleteIfExists(socket);
                }
            }
        } catch (IOException e) {
            // another test cleaning up at the same moment, say: the next start tries again
        }
    }
}
