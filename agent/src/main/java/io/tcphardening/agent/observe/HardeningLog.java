package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.LogLevel;
import io.tcphardening.agent.settings.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Level;
import org.tinylog.core.LogEntry;
import org.tinylog.writers.ConsoleWriter;
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

    /** Where lines go: standard error through tinylog's console writer, or the agent's own {@link LogFile}. */
    interface Output {
        void write(LogLevel level, String text);

        void flush();

        /** Lines that could not be written (a full disk). */
        long unwritten();
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
    /** The log thread has written its last queued line: later lines are written by their callers, at once. */
    private boolean finished;
    /** The exit could not wait for the log thread: lines still queued, and later ones, are only counted. */
    private boolean abandoned;
    private long lostAtExit;
    /** Where the log thread writes; also written by callers once {@link #finished}. Guarded by itself. */
    private volatile Output output;
    /** Why {@code log.file} is not used, for one WARN line; null if it is, or none is set. */
    private volatile String fileProblem;
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
                Output writer = settings != null && settings.logLevel() != LogLevel.OFF ? openWriter() : null;
                output = writer;
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

    /**
     * The settings are known: lines at their level are queued from now on. A {@code log.file} that cannot be the log
     * ({@link LogFile#problem}, metadata only: nothing here waits on a file) is replaced by standard error, with one
     * WARN line saying why; the caller has stopped the start already if the operator required the file.
     */
    public void configure(Settings configured) {
        this.settings = configured;
        this.fileProblem = configured.logFile() == null || configured.logLevel() == LogLevel.OFF ? null
                : LogFile.problem(configured.logFile());
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

    /** Lines the log's file could not take (a full disk), and lines the JVM's exit did not wait for. */
    long unwrittenLines() {
        Output current = output;
        synchronized (queue) {
            return lostAtExit + (current == null ? 0 : current.unwritten());
        }
    }

    private void log(LogLevel wanted, Object line) {
        if (!level.allows(wanted)) {
            return;
        }
        Entry entry = new Entry(wanted, line);
        if (offer(entry)) {
            return;
        }
        synchronized (queue) {
            if (abandoned) {
                lostAtExit++;
                return;
            }
            if (!finished) {
                dropped.incrementAndGet();
                return;
            }
        }
        writeNow(entry);  // the JVM is exiting and the log thread is done: this line is written by its caller
    }

    private void writeNow(Entry entry) {
        Output current = output;
        String text = text(entry);
        if (current != null && text != null) {
            synchronized (current) {
                current.write(entry.level, text);
                current.flush();
            }
        }
    }

    // ---- the queue

    private boolean offer(Entry entry) {
        synchronized (queue) {
            if (size == queue.length || finished || abandoned) {
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

    /**
     * Lines the log thread took from the queue in one go and has not handed out yet: in a storm, taking them one at
     * a time made the log thread contend for the queue's monitor with every application thread once per line.
     * Only the log thread touches these, but for {@code inHand}, which the JVM's exit reads if the thread is stuck.
     */
    private final Entry[] taken = new Entry[256];
    private int takenCount;
    private int takenNext;
    private volatile int inHand;

    /** The next line, or null if there is none. */
    private Entry poll() {
        if (takenNext == takenCount) {
            synchronized (queue) {
                if (size == 0) {
                    return null;
                }
                int count = Math.min(size, taken.length);
                for (int i = 0; i < count; i++) {
                    taken[i] = queue[head];
                    queue[head] = null;
                    head = (head + 1) % queue.length;
                }
                size -= count;
                takenCount = count;
                takenNext = 0;
            }
        }
        Entry entry = taken[takenNext];
        taken[takenNext++] = null;
        inHand = takenCount - takenNext;
        return entry;
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
        Arrays.fill(taken, null);
        takenCount = 0;
        takenNext = 0;
        inHand = 0;
    }

    // ---- the log thread

    /**
     * The output: the log file, or standard error if none is set or it cannot be opened (then the log's first line
     * says why); null, and logging off, if not even standard error can be written.
     */
    private Output openWriter() {
        String problem = fileProblem;
        if (settings.logFile() != null && problem == null) {
            try {
                return LogFile.open(settings.logFile());
            } catch (IOException | RuntimeException e) {
                problem = e.getMessage();
            }
        }
        try {
            Output console = console();
            if (problem != null) {
                console.write(LogLevel.WARN, "log.file " + settings.logFile() + " is not used, the log goes to standard"
                        + " error: " + problem + " (set log.required=true to stop the start instead)");
            }
            return console;
        } catch (Exception | LinkageError e) {
            System.err.println("tcp-hardening-agent: cannot write its log, logging nothing: " + e);
            level = LogLevel.OFF;
            clear();
            return null;
        }
    }

    private void writeUntilClosed(Output writer) {
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
                finish(writer);
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

    /**
     * At exit: writes what was queued after the end marker too, then lets callers write their own lines, so that a
     * connection made while the JVM exits still gets its line.
     */
    private void finish(Output writer) {
        for (Entry late = poll(); ; late = poll()) {
            if (late == null) {
                synchronized (queue) {
                    if (size > 0) {
                        continue;
                    }
                    finished = true;
                }
                break;
            }
            String text = late == END ? null : text(late);
            if (text != null) {
                write(writer, late.level, text);
            }
        }
        flush(writer);
        if (writer instanceof LogFile) {
            ((LogFile) writer).reportAtExit();
        }
    }

    /**
     * Why {@code file} cannot be the log, from its metadata only (never opened: a FIFO would block); null if it can.
     * For {@code log.required}: the start stops on it.
     */
    public static String logFileProblem(java.nio.file.Path file) {
        return LogFile.problem(file);
    }

    private long summarise(Output writer, Map<String, Long> reported, long reportedDrops) {
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

    private static void write(Output writer, LogLevel level, String text) {
        synchronized (writer) {
            writer.write(level, text);
        }
    }

    /** Standard error: tinylog's console writer, each line as it is given. */
    private static Output console() throws Exception {
        Map<String, String> properties = new HashMap<>();
        properties.put("format", "{message}");
        properties.put("stream", "err");
        Writer writer = new ConsoleWriter(properties);
        return new Output() {
            @Override
            public void write(LogLevel level, String text) {
                String line = timestamp(System.currentTimeMillis()) + " tcp-hardening " + level.name() + ": " + text;
                try {
                    // No tinylog timestamp: the format is the message alone, and tinylog's clock would load java.time.
                    writer.write(new LogEntry(null, Thread.currentThread(), null, null, null, null, -1,
                            null, Level.valueOf(level.name()), line, null));
                } catch (Exception e) {
                    // standard error itself failed: there is nowhere left to say so
                }
            }

            @Override
            public void flush() {
                try {
                    writer.flush();
                } catch (Exception ignored) {
                    // as above
                }
            }

            @Override
            public long unwritten() {
                return 0;
            }
        };
    }

    /** A line of the log file: with the process's id, since JVMs of a fleet may share one file. */
    static String fileLine(String level, String text) {
        return timestamp(System.currentTimeMillis()) + " tcp-hardening[" + Pid.VALUE + "] " + level + ": " + text;
    }

    /**
     * The process's id, at the first line of a log file: from {@code /proc/self}, since the first use of
     * {@code ProcessHandle} starts the JDK's process reaper machinery (a thread pool, some 20 classes) in a JVM that
     * may never start a process.
     */
    private static final class Pid {
        static final String VALUE = pid();

        private static String pid() {
            try {
                return Files.readSymbolicLink(Paths.get("/proc/self")).toString();
            } catch (IOException | RuntimeException e) {
                return Long.toString(ProcessHandle.current().pid());
            }
        }
    }

    /**
     * ISO 8601 in UTC, to the millisecond: unambiguous across a fleet. Computed here (the proleptic Gregorian
     * calendar from days since 1970) rather than with java.time, whose first use loads some 25 classes into every
     * JVM's start.
     */
    static String timestamp(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000L);
        Second stamped = lastSecond;
        if (stamped == null || stamped.second != second) {
            stamped = new Second(second, toTheSecond(second * 1000L));
            lastSecond = stamped;
        }
        StringBuilder text = new StringBuilder(24).append(stamped.text);
        return pad(text, (int) Math.floorMod(epochMillis, 1000L), 3).append('Z').toString();
    }

    /** The last second a line was stamped in, as text up to its fraction: a storm's lines share it. */
    private static volatile Second lastSecond;

    private static final class Second {
        final long second;
        final String text;

        Second(long second, String text) {
            this.second = second;
            this.text = text;
        }
    }

    /** {@code 2026-12-03T16:42:39.}: the date and time of a whole second, up to the fraction. */
    private static String toTheSecond(long epochMillis) {
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
        return pad(text, (int) (millisOfDay / 1000 % 60), 2).append('.').toString();
    }

    private static StringBuilder pad(StringBuilder text, int value, int digits) {
        String number = Integer.toString(value);
        for (int i = number.length(); i < digits; i++) {
            text.append('0');
        }
        return text.append(number);
    }

    private static void flush(Output writer) {
        synchronized (writer) {
            writer.flush();
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
            long lost;
            synchronized (queue) {
                if (finished) {
                    return;
                }
                // the log thread is stuck (its output blocks) or never started: what is queued will not be written
                abandoned = true;
                lostAtExit += size + inHand;
                lost = lostAtExit;
            }
            if (lost > 0) {
                System.err.println("tcp-hardening-agent: " + lost + " log lines were not written before the JVM exited");
            }
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        } catch (Throwable ignored) {
            // the JVM is exiting; nothing left to tell
        }
    }
}
