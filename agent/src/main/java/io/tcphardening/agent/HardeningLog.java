package io.tcphardening.agent;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;
import org.tinylog.configuration.Configuration;
import org.tinylog.provider.ProviderRegistry;

/**
 * The agent's one place that logs. Callers on the application's threads only put a line into a bounded queue; one
 * daemon thread, {@code tcp-hardening-log}, formats and writes it through the agent's own, relocated tinylog. So
 * tinylog's start-up (tens of milliseconds) stays off the application's start path, a slow disk never blocks a
 * connect, and the agent's file I/O never passes through its own socket hooks.
 *
 * <p>When the queue is full, lines are dropped and counted, and the count is logged. Repeated failures are logged
 * once per reason and then summarised, so that a storm of failures cannot become a storm of log lines.
 */
final class HardeningLog {

    /** A line whose text is built on the log thread, off the application's path. */
    interface Line {
        String text();
    }

    static final String THREAD_NAME = "tcp-hardening-log";
    private static final int QUEUE_LINES = 16_384;
    private static final long SUMMARY_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final class Entry {
        final LogLevel level;
        final Object line;

        Entry(LogLevel level, Object line) {
            this.level = level;
            this.line = line;
        }
    }

    /** Queued by {@link #close}: everything before it is written, then the thread ends. */
    private static final Entry END = new Entry(LogLevel.OFF, "");

    private final BlockingQueue<Entry> queue = new ArrayBlockingQueue<>(QUEUE_LINES);
    private final AtomicLong dropped = new AtomicLong();
    private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
    private volatile LogLevel level;
    private final Thread writer;

    private HardeningLog(Settings settings) {
        this.level = settings.logLevel();
        this.writer = new Thread(() -> run(settings), THREAD_NAME);
        writer.setDaemon(true);
        // tinylog finds its writers through ServiceLoader: on this thread, look in the agent's loader only.
        writer.setContextClassLoader(HardeningLog.class.getClassLoader());
    }

    static HardeningLog start(Settings settings) {
        HardeningLog log = new HardeningLog(settings);
        if (settings.logLevel() != LogLevel.OFF) {
            log.writer.start();
            Runtime.getRuntime().addShutdownHook(new Thread(log::close, "tcp-hardening-log-flush"));
        }
        return log;
    }

    boolean enabled(LogLevel wanted) {
        return level.allows(wanted);
    }

    void error(String text) {
        log(LogLevel.ERROR, text);
    }

    void warn(String text) {
        log(LogLevel.WARN, text);
    }

    void info(String text) {
        log(LogLevel.INFO, text);
    }

    void info(Line line) {
        log(LogLevel.INFO, line);
    }

    void debug(String text) {
        log(LogLevel.DEBUG, text);
    }

    /**
     * A failure that may repeat many times: the first of each {@code reason} is logged in full, later ones are counted
     * and logged as one summary a minute.
     */
    void failure(String reason, String firstDetail) {
        AtomicLong count = failures.computeIfAbsent(reason, r -> new AtomicLong());
        if (count.getAndIncrement() == 0) {
            warn(firstDetail + " (further failures of this kind are counted and summarised each minute)");
        }
    }

    /** Failures so far, by reason. */
    Map<String, Long> failureCounts() {
        Map<String, Long> counts = new HashMap<>();
        failures.forEach((reason, count) -> counts.put(reason, count.get()));
        return counts;
    }

    long droppedLines() {
        return dropped.get();
    }

    private void log(LogLevel wanted, Object line) {
        if (level.allows(wanted) && !queue.offer(new Entry(wanted, line))) {
            dropped.incrementAndGet();
        }
    }

    // ---- the log thread

    private void run(Settings settings) {
        configureTinylog(settings);
        Map<String, Long> reported = new HashMap<>();
        long reportedDrops = 0;
        long nextSummary = System.nanoTime() + SUMMARY_NANOS;
        while (true) {
            Entry entry;
            try {
                entry = queue.poll(SUMMARY_NANOS, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                entry = null;
            }
            if (entry == END) {
                summarise(reported, reportedDrops);
                return;
            }
            if (entry != null) {
                write(entry);
            }
            if (System.nanoTime() - nextSummary >= 0) {
                nextSummary = System.nanoTime() + SUMMARY_NANOS;
                reportedDrops = summarise(reported, reportedDrops);
            }
        }
    }

    private long summarise(Map<String, Long> reported, long reportedDrops) {
        for (Map.Entry<String, AtomicLong> failure : failures.entrySet()) {
            long now = failure.getValue().get();
            long before = reported.getOrDefault(failure.getKey(), 1L);
            if (now > before) {
                Logger.warn((now - before) + " more failures in the last minute: " + failure.getKey()
                        + " (" + now + " in all)");
                reported.put(failure.getKey(), now);
            }
        }
        long drops = dropped.get();
        if (drops > reportedDrops) {
            Logger.warn((drops - reportedDrops) + " log lines dropped because the log could not keep up ("
                    + drops + " in all)");
        }
        return drops;
    }

    private static void write(Entry entry) {
        String text;
        try {
            text = entry.line instanceof Line ? ((Line) entry.line).text() : (String) entry.line;
        } catch (RuntimeException e) {
            text = "cannot format a log line: " + e;
        }
        switch (entry.level) {
            case ERROR:
                Logger.error(text);
                break;
            case WARN:
                Logger.warn(text);
                break;
            case INFO:
                Logger.info(text);
                break;
            case DEBUG:
                Logger.debug(text);
                break;
            default:
                Logger.trace(text);
        }
    }

    /**
     * Configures tinylog in code before its first use, so that an application's {@code tinylog.properties} or
     * {@code -Dtinylog.*} properties never change the agent's output.
     */
    private static void configureTinylog(Settings settings) {
        Map<String, String> config = new HashMap<>();
        config.put("autoshutdown", "false");
        config.put("writingthread", "false");
        config.put("level", "trace");
        String format = "{date: yyyy-MM-dd HH:mm:ss.SSS} tcp-hardening {level}: {message}";
        if (settings.logFile() == null) {
            config.put("writer", "console");
            config.put("writer.stream", "err");
        } else {
            config.put("writer", "file");
            config.put("writer.file", settings.logFile().toAbsolutePath().toString());
            config.put("writer.append", "true");
            config.put("writer.buffered", "false");
        }
        config.put("writer.format", format);
        config.put("writer.level", "trace");
        Configuration.replace(config);
    }

    /** At JVM exit: write what is queued, then let tinylog close its writer. */
    private void close() {
        try {
            if (queue.offer(END, 100, TimeUnit.MILLISECONDS)) {
                writer.join(TimeUnit.SECONDS.toMillis(2));
            }
            if (!writer.isAlive()) {
                ProviderRegistry.getLoggingProvider().shutdown();
            }
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        } catch (Throwable ignored) {
            // the JVM is exiting; nothing left to tell
        }
    }
}
