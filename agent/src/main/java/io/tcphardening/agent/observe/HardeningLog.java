package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.LogLevel;
import io.tcphardening.agent.settings.Settings;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.writers.ConsoleWriter;
import org.tinylog.writers.FileWriter;
import org.tinylog.writers.Writer;

/**
 * The agent's one place that logs. Callers on the application's threads only put a line into a bounded queue; the
 * agent's one daemon thread, {@code tcp-hardening}, formats and writes it through a writer of the agent's own,
 * relocated tinylog. So a slow disk never blocks a connect, and the agent's file I/O never passes through its own
 * socket hooks. Before it writes, the same thread runs the task given to {@link #installed}; with logging off it ends
 * after that.
 *
 * <p>The writer is used directly, without tinylog's {@code Logger} facade: the facade's provider look-up and global
 * {@code Configuration} cost about 90 ms of start-up in every JVM, and that configuration would read an application's
 * {@code tinylog.properties}. A writer built here from a map reads nothing but that map.
 *
 * <p>The queue and the thread's two waits (for {@link #installed}, and its pause) are plain arrays and monitors:
 * {@code ArrayBlockingQueue} and {@code CountDownLatch} are not in the JDK's class-data archive, and with their
 * locks they were ten classes, ~1.5 ms, of every JVM's start.
 *
 * <p>When the queue is full, lines are dropped and counted, and the count is logged. Repeated failures are logged
 * once per reason and then summarised, so that a storm of failures cannot become a storm of log lines.
 */
public final class HardeningLog {

    /** A line whose text is built on the log thread, off the application's path. */
    public interface Line {
        /** The line, or null for nothing to write after all. */
        String text();
    }

    static final String THREAD_NAME = "tcp-hardening";
    private static final int QUEUE_LINES = 16_384;
    private static final long SUMMARY_MILLIS = 60_000;
    /** How long the log thread lets lines gather after writing what was queued: the most a line waits for. */
    private static final long BATCH_MILLIS = 10;

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

    /** The queue: {@code size} lines from {@code head} on, in a ring; guarded by itself, like the flags below. */
    private final Entry[] queue = new Entry[QUEUE_LINES];
    private int head;
    private int size;
    /** The log thread waits for a line: an offer wakes it. Not while it pauses, which lines must not end. */
    private boolean waitingForLine;
    private boolean started;
    private boolean isInstalled;
    private boolean isClosing;
    private final AtomicLong dropped = new AtomicLong();
    private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
    private volatile LogLevel level;
    private volatile Settings settings;
    private volatile Runnable afterInstall;
    private final Thread thread;

    /**
     * The agent's thread. With logging on it starts as soon as the settings are known ({@link #configure}) and opens
     * its writer while premain goes on: tinylog's first use is milliseconds of class loading, better spent on a second
     * core than at the application's exit. Then it waits for {@link #installed}, runs the task given there, and writes
     * the log until the JVM exits; with logging off it starts at {@link #installed}, runs the task and ends.
     */
    public HardeningLog() {
        this.level = LogLevel.OFF;
        this.thread = new Thread(new Runnable() {
            @Override
            public void run() {
                Writer writer = settings != null && settings.logLevel() != LogLevel.OFF ? openWriter() : null;
                awaitInstalled();
                runQuietly(afterInstall);
                if (writer != null) {
                    writeUntilClosed(writer);
                }
            }
        }, THREAD_NAME);
        thread.setDaemon(true);
        thread.setContextClassLoader(HardeningLog.class.getClassLoader());
    }

    /** The settings are known: lines at their level are queued from now on. */
    public void configure(Settings configured) {
        this.settings = configured;
        this.level = configured.logLevel();
        if (configured.logLevel() != LogLevel.OFF) {
            Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
                @Override
                public void run() {
                    close();
                }
            }, "tcp-hardening-flush"));
            startThread();
        }
    }

    /**
     * The hooks are in place (or failed to be: {@code task} null): the thread runs {@code task}, then writes. Only the
     * first call counts: a failure after a successful install still leaves the log written.
     */
    public void installed(Runnable task) {
        synchronized (queue) {
            if (isInstalled) {
                return;
            }
            this.afterInstall = task;
            markInstalled();
        }
        startThread();
    }

    /** Lets the thread past {@link #awaitInstalled}; the caller holds the queue's monitor. */
    private void markInstalled() {
        isInstalled = true;
        queue.notifyAll();
    }

    private void startThread() {
        synchronized (queue) {
            if (started) {
                return;
            }
            started = true;
        }
        thread.start();
    }

    private void awaitInstalled() {
        synchronized (queue) {
            while (!isInstalled) {
                try {
                    queue.wait();
                } catch (InterruptedException e) {
                    // not ours to act on: wait on
                }
            }
        }
    }

    private void runQuietly(Runnable task) {
        try {
            if (task != null) {
                task.run();
            }
        } catch (Throwable t) {
            warn("the agent's thread failed at start: " + t);
        }
    }

    public boolean enabled(LogLevel wanted) {
        return level.allows(wanted);
    }

    public void error(String text) {
        log(LogLevel.ERROR, text);
    }

    public void warn(String text) {
        log(LogLevel.WARN, text);
    }

    public void warn(Line line) {
        log(LogLevel.WARN, line);
    }

    public void info(String text) {
        log(LogLevel.INFO, text);
    }

    public void info(Line line) {
        log(LogLevel.INFO, line);
    }

    public void debug(String text) {
        log(LogLevel.DEBUG, text);
    }

    /**
     * A failure that may repeat many times: the first of each {@code reason} is logged in full, later ones are counted
     * and logged as one summary a minute.
     */
    public void failure(String reason, String firstDetail) {
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
        if (level.allows(wanted) && !offer(new Entry(wanted, line))) {
            dropped.incrementAndGet();
        }
    }

    // ---- the queue

    private boolean offer(Entry entry) {
        synchronized (queue) {
            if (size == queue.length) {
                return false;
            }
            queue[(head + size) % queue.length] = entry;
            size++;
            if (waitingForLine) {
                queue.notifyAll();
            }
            return true;
        }
    }

    /** The next line, or null if there is none. */
    private Entry poll() {
        synchronized (queue) {
            if (size == 0) {
                return null;
            }
            Entry entry = queue[head];
            queue[head] = null;
            head = (head + 1) % queue.length;
            size--;
            return entry;
        }
    }

    /** The next line, waiting up to {@code millis} for one; null if none came. */
    private Entry poll(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        synchronized (queue) {
            for (long left = millis; size == 0 && left > 0; left = (deadline - System.nanoTime()) / 1_000_000) {
                waitingForLine = true;
                try {
                    queue.wait(left);
                } catch (InterruptedException e) {
                    // not ours to act on: wait on
                } finally {
                    waitingForLine = false;
                }
            }
            return poll();
        }
    }

    private void clear() {
        synchronized (queue) {
            Arrays.fill(queue, null);
            head = 0;
            size = 0;
        }
    }

    // ---- the log thread

    /** The writer, or null (and logging off) if it cannot be opened. */
    private Writer openWriter() {
        try {
            return openWriter(settings);
        } catch (Exception | LinkageError e) {
            System.err.println("tcp-hardening-agent: cannot write its log, logging nothing: " + e);
            level = LogLevel.OFF;
            clear();
            return null;
        }
    }

    private void writeUntilClosed(Writer writer) {
        Map<String, Long> reported = new HashMap<>();
        long reportedDrops = 0;
        long nextSummary = System.nanoTime() + SUMMARY_MILLIS * 1_000_000;
        Entry entry = null;
        while (true) {
            if (entry == null) {
                entry = poll(SUMMARY_MILLIS);
            }
            if (entry == END) {
                summarise(writer, reported, reportedDrops);
                close(writer);
                return;
            }
            String text = entry == null ? null : text(entry);
            if (text != null) {
                write(writer, entry.level, text);
            }
            if (System.nanoTime() - nextSummary >= 0) {
                nextSummary = System.nanoTime() + SUMMARY_MILLIS * 1_000_000;
                reportedDrops = summarise(writer, reported, reportedDrops);
            }
            entry = poll();
            if (entry == null) {
                flush(writer);
                // Let the rest of a burst gather while this thread sleeps: blocked in poll, it is woken by every
                // line, which costs the application's thread a futex wake-up per line; asleep, by none.
                pause();
                entry = poll();
            }
        }
    }

    /**
     * Ended early only by the JVM's exit ({@link #close}), so that the exit need not wait for it. Not by an interrupt:
     * other agents' transformers run on this thread whenever it loads a class, and an interrupt would close their NIO
     * channels.
     */
    private void pause() {
        synchronized (queue) {
            if (!isClosing) {
                try {
                    queue.wait(BATCH_MILLIS);
                } catch (InterruptedException ignored) {
                    // only a pause
                }
            }
        }
    }

    private long summarise(Writer writer, Map<String, Long> reported, long reportedDrops) {
        for (Map.Entry<String, AtomicLong> failure : failures.entrySet()) {
            long now = failure.getValue().get();
            long before = reported.getOrDefault(failure.getKey(), 1L);
            if (now > before) {
                write(writer, LogLevel.WARN, (now - before) + " more failures since the last report: "
                        + failure.getKey() + " (" + now + " in all)");
                reported.put(failure.getKey(), now);
            }
        }
        long drops = dropped.get();
        if (drops > reportedDrops) {
            write(writer, LogLevel.WARN, (drops - reportedDrops) + " log lines dropped because the log could not keep"
                    + " up (" + drops + " in all)");
        }
        return drops;
    }

    private static String text(Entry entry) {
        try {
            return entry.line instanceof Line ? ((Line) entry.line).text() : (String) entry.line;
        } catch (RuntimeException e) {
            return "cannot format a log line: " + e;
        }
    }

    private static void write(Writer writer, LogLevel level, String text) {
        String line = timestamp(System.currentTimeMillis()) + " tcp-hardening " + level.name() + ": " + text;
        try {
            // No tinylog timestamp: the format is the message alone, and tinylog's clock would load java.time.
            writer.write(new LogEntry(null, Thread.currentThread(), null, null, null, null, -1,
                    null, Level.valueOf(level.name()), line, null));
        } catch (Exception e) {
            System.err.println("tcp-hardening-agent: cannot write its log: " + e + "; the line was: " + line);
        }
    }

    /**
     * ISO 8601 in UTC, to the millisecond: unambiguous across a fleet. Computed here (the proleptic Gregorian
     * calendar from days since 1970) rather than with java.time, whose first use loads some 25 classes into every
     * JVM's start.
     */
    static String timestamp(long epochMillis) {
        long days = Math.floorDiv(epochMillis, 86_400_000L);
        long millisOfDay = Math.floorMod(epochMillis, 86_400_000L);
        // days to year, month, day: eras of 400 years (146,097 days) that begin on 1 March, so leap days fall last
        long shifted = days + 719_468;
        long era = Math.floorDiv(shifted, 146_097L);
        long dayOfEra = shifted - era * 146_097L;
        long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        long monthFromMarch = (5 * dayOfYear + 2) / 153;
        int day = (int) (dayOfYear - (153 * monthFromMarch + 2) / 5 + 1);
        int month = (int) (monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9);
        long year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
        StringBuilder text = new StringBuilder(24);
        text.append(year).append('-');
        pad(text, month, 2).append('-');
        pad(text, day, 2).append('T');
        pad(text, (int) (millisOfDay / 3_600_000), 2).append(':');
        pad(text, (int) (millisOfDay / 60_000 % 60), 2).append(':');
        pad(text, (int) (millisOfDay / 1000 % 60), 2).append('.');
        return pad(text, (int) (millisOfDay % 1000), 3).append('Z').toString();
    }

    private static StringBuilder pad(StringBuilder text, int value, int digits) {
        String number = Integer.toString(value);
        for (int i = number.length(); i < digits; i++) {
            text.append('0');
        }
        return text.append(number);
    }

    /** A tinylog writer that prints exactly the line it is given; nothing is read from tinylog's global config. */
    private static Writer openWriter(Settings settings) throws Exception {
        Map<String, String> properties = new HashMap<>();
        properties.put("format", "{message}");
        if (settings.logFile() == null) {
            properties.put("stream", "err");
            return new ConsoleWriter(properties);
        }
        properties.put("file", settings.logFile().toAbsolutePath().toString());
        properties.put("append", "true");
        // Buffered, and flushed whenever the queue runs empty (and at exit): one write(2) per burst of lines instead of
        // one per line (a 3 s storm of 10,000 lines: 46 writes instead of 10,000), and a line still reaches the file
        // as soon as the agent has nothing more to write.
        properties.put("buffered", "true");
        return new FileWriter(properties);
    }

    private static void flush(Writer writer) {
        try {
            writer.flush();
        } catch (Exception e) {
            System.err.println("tcp-hardening-agent: cannot write its log: " + e);
        }
    }

    private static void close(Writer writer) {
        try {
            writer.flush();
            writer.close();
        } catch (Exception ignored) {
            // the JVM is exiting; nothing left to tell
        }
    }

    /** At JVM exit: write what is queued, then close the writer. */
    private void close() {
        try {
            synchronized (queue) {
                markInstalled();  // a JVM that exits before the agent is installed: the thread writes what it has
            }
            boolean queued = offer(END);
            for (int waited = 0; !queued && waited < 100; waited += 5) {
                Thread.sleep(5);  // full: the thread is writing
                queued = offer(END);
            }
            if (queued) {
                synchronized (queue) {
                    isClosing = true;
                    queue.notifyAll();
                }
                thread.join(2000);
            }
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        } catch (Throwable ignored) {
            // the JVM is exiting; nothing left to tell
        }
    }
}
