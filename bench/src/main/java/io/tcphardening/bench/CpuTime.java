package io.tcphardening.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The CPU time a benchmark's process has used, to the microsecond. The JDK's process CPU time counts clock ticks
 * (10 ms here), too coarse for rounds of a few hundred milliseconds or a start of sixty.
 */
final class CpuTime {

    private CpuTime() {
    }

    /**
     * CPU time of every thread of this process so far, in nanoseconds, the kernel's work on their behalf included:
     * the calling thread's from its CPU clock, the others' from the first field of {@code /proc/self/task/TID/schedstat}.
     * That field is brought up to date when a thread leaves the CPU, so it lags for a thread running at the moment it
     * is read: the caller's own would, by up to one scheduler tick. A thread that ended meanwhile is not counted.
     */
    static long nanos() throws IOException {
        long sum = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        Path self = Files.readSymbolicLink(Paths.get("/proc/thread-self")).getFileName();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Paths.get("/proc/self/task"))) {
            for (Path task : tasks) {
                if (task.getFileName().equals(self)) {
                    continue;
                }
                try {
                    String stat = new String(Files.readAllBytes(task.resolve("schedstat")), StandardCharsets.US_ASCII);
                    sum += Long.parseLong(stat.substring(0, stat.indexOf(' ')));
                } catch (NoSuchFileException e) {
                    // the thread ended between the listing and the read
                }
            }
        }
        return sum;
    }
}
