package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.LogLevel;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;

/**
 * The agent's log file, shared safely. Opened for appending ({@code O_APPEND}): every write lands at the file's end
 * whoever else writes it, so JVMs sharing one file never overwrite each other's lines, and after logrotate's
 * {@code copytruncate} the next line starts at the new end instead of behind a hole of NUL bytes. Lines are written
 * whole, a batch of them with one write(2), which Linux appends atomically: no line is torn or interleaved. After a
 * rename rotation the path names a new file (or none): at most once a second, before a write, the path is looked at
 * again and reopened if it no longer names the file the agent holds.
 *
 * <p>Only regular files: a FIFO without a reader would block the writer in {@code open} for good, a device or socket
 * is no log. A write that fails (a full disk) is counted, never retried line by line, and reported once.
 */
final class LogFile implements HardeningLog.Output {

    private static final long RECHECK_NANOS = 1_000_000_000L;
    /** Lines are gathered up to this size between writes; a longer line is written alone. */
    private static final int BATCH_BYTES = 32 * 1024;

    private final Path path;
    private FileOutputStream out;
    /** Device and inode of the file held open, to see a rename rotation. */
    private Object heldKey;
    private long nextCheck;
    private byte[] batch = new byte[BATCH_BYTES];
    private int batchBytes;
    private int batchLines;
    /** Lines that could not be written, and those of them already reported in the file. */
    private long unwritten;
    private long unwrittenReported;
    private String failure;

    private LogFile(Path path) {
        this.path = path;
    }

    /**
     * Why {@code path} cannot be the log, found without opening it (a FIFO would block the open); null if it can be.
     * Only metadata is read: nothing on the JVM's start path or in its attach listener waits on the file's content.
     */
    static String problem(Path path) {
        Path file = path.toAbsolutePath();
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            if (!attributes.isRegularFile()) {
                return file + " is " + (attributes.isDirectory() ? "a directory" : "not a regular file (a FIFO, device or"
                        + " socket)") + ": the log is written to regular files only";
            }
            return Files.isWritable(file) ? null : file + " is not writable by this process";
        } catch (NoSuchFileException e) {
            Path directory = file.getParent();
            if (directory == null || !Files.isDirectory(directory)) {
                return "the directory of " + file + " does not exist";
            }
            return Files.isWritable(directory) ? null : "the directory of " + file + " is not writable by this process"
                    + " (a read-only file system?)";
        } catch (IOException | RuntimeException e) {
            return file + " cannot be examined: " + e;
        }
    }

    /** Opens (creates) the file for appending, after checking it is a regular file. */
    static LogFile open(Path path) throws IOException {
        LogFile file = new LogFile(path.toAbsolutePath());
        file.reopen();
        return file;
    }

    private void reopen() throws IOException {
        String problem = problem(path);
        if (problem != null) {
            throw new IOException(problem);
        }
        // A FileOutputStream, not Files.newOutputStream: NIO's file channels make the JDK keep a socket pair open for
        // the rest of the JVM's life (FileDispatcherImpl's pre-close descriptor), a socket the agent would add.
        FileOutputStream opened = new FileOutputStream(path.toFile(), true);
        FileOutputStream previous = out;
        out = opened;
        heldKey = key();
        nextCheck = System.nanoTime() + RECHECK_NANOS;
        if (previous != null) {
            try {
                previous.close();
            } catch (IOException ignored) {
                // the old file is rotated away; nothing more goes there
            }
        }
    }

    private Object key() {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void write(LogLevel level, String text) {
        append(HardeningLog.fileLine(level.name(), text));
    }

    /** Adds a line (without its line break) to the batch, writing the batch first if the line would overflow it. */
    void append(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        if (batchBytes > 0 && batchBytes + bytes.length > batch.length) {
            flush();
        }
        if (bytes.length > batch.length) {
            batch = Arrays.copyOf(batch, bytes.length);
        }
        System.arraycopy(bytes, 0, batch, batchBytes, bytes.length);
        batchBytes += bytes.length;
        batchLines++;
    }

    /** Writes the batch: one write(2), appended at the file's end. */
    @Override
    public void flush() {
        if (batchBytes == 0) {
            return;
        }
        try {
            followRotation();
            if (unwritten > unwrittenReported) {
                // the file is writable again: say first what it misses
                byte[] note = (HardeningLog.fileLine("WARN", (unwritten - unwrittenReported) + " log lines could not be"
                        + " written to this file (" + failure + ")") + "\n").getBytes(StandardCharsets.UTF_8);
                out.write(note);
                unwrittenReported = unwritten;
            }
            out.write(batch, 0, batchBytes);
        } catch (IOException | RuntimeException e) {
            unwritten += batchLines;
            if (failure == null) {
                System.err.println("tcp-hardening-agent: cannot write its log file " + path + ": " + e.getMessage()
                        + "; lines that cannot be written are counted (MBean LogLinesUnwritten), not reported one by"
                        + " one");
            }
            failure = String.valueOf(e.getMessage());
        } finally {
            batchBytes = 0;
            batchLines = 0;
            if (batch.length > BATCH_BYTES) {
                batch = new byte[BATCH_BYTES];
            }
        }
    }

    /** A rename rotation: the path names another file, or none, and is opened (created) again. */
    private void followRotation() throws IOException {
        if (System.nanoTime() - nextCheck < 0) {
            return;
        }
        nextCheck = System.nanoTime() + RECHECK_NANOS;
        Object now = key();
        if (now == null || !now.equals(heldKey)) {
            reopen();
        }
    }

    /** Lines that could not be written. */
    @Override
    public long unwritten() {
        return unwritten;
    }

    /**
     * At exit: says on standard error how many lines never reached the file. The file stays open: lines of connections
     * made while the JVM exits are still appended, until the process ends.
     */
    void reportAtExit() {
        if (unwritten > unwrittenReported) {
            System.err.println("tcp-hardening-agent: " + (unwritten - unwrittenReported) + " log lines could not be"
                    + " written to " + path + " (" + failure + ")");
        }
    }
}
