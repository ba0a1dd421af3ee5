package io.tcphardening.agent.observe;

import io.tcphardening.agent.settings.LogLevel;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
 *
 * <p>A disk that fills up cuts a write short: the bytes that fit are in the file, the rest are not, and the file ends
 * inside a line. What reached the file is read back after such a failure, so that only the lines that did not reach it
 * are counted, and the rest of the cut line is written first when the file takes writes again: the line is completed
 * instead of having the next one glued to its fragment.
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
    /** The rest of a line a failed write cut short, written before anything else; null if the file ends a line. */
    private byte[] cutRest;
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
        if (cutRest != null) {
            unwritten++;  // the line stays cut in the file rotated away; its rest is no start for the new one
            cutRest = null;
        }
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
            // through a symbolic link: the file written is its target, and a rotation renames the target
            return Files.readAttributes(path, BasicFileAttributes.class).fileKey();
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

    /**
     * Writes the batch: one write(2), appended at the file's end; ahead of it the rest of a line cut short before, and
     * the note of lines the file misses.
     */
    @Override
    public void flush() {
        if (batchBytes == 0) {
            return;
        }
        try {
            followRotation();
            long noted = unwritten;
            byte[] data = batch;
            int length = batchBytes;
            int ahead = 0;
            if (cutRest != null || unwritten > unwrittenReported) {
                // the file is writable again, or may be: first the cut line's rest, then what the file misses
                byte[] rest = cutRest == null ? new byte[0] : cutRest;
                byte[] note = unwritten == unwrittenReported ? new byte[0] : (HardeningLog.fileLine("WARN", (unwritten
                        - unwrittenReported) + " log lines could not be written to this file (" + failure + ")") + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                ahead = rest.length + note.length;
                length = ahead + batchBytes;
                data = new byte[length];
                System.arraycopy(rest, 0, data, 0, rest.length);
                System.arraycopy(note, 0, data, rest.length, note.length);
                System.arraycopy(batch, 0, data, ahead, batchBytes);
            }
            long sizeBefore = path.toFile().length();
            try {
                out.write(data, 0, length);
                cutRest = null;
                unwrittenReported = noted;
            } catch (IOException | RuntimeException e) {
                cutShort(data, ahead, landed(data, length, sizeBefore), noted);
                failed(e);
            }
        } catch (IOException | RuntimeException e) {
            unwritten += batchLines;  // the path could not be opened again after a rotation: nothing was written
            failed(e);
        } finally {
            batchBytes = 0;
            batchLines = 0;
            if (batch.length > BATCH_BYTES) {
                batch = new byte[BATCH_BYTES];
            }
        }
    }

    private void failed(Exception e) {
        if (failure == null) {
            System.err.println("tcp-hardening-agent: cannot write its log file " + path + ": " + e.getMessage()
                    + "; lines that cannot be written are counted (MBean LogLinesUnwritten), not reported one by one");
        }
        failure = String.valueOf(e.getMessage());
    }

    /**
     * After a write of {@code data} failed with its first {@code landed} bytes in the file: the batch's lines that did
     * not begin there are counted; a line that began but did not end leaves its rest to be written first next time; a
     * note that began there has given its count.
     */
    private void cutShort(byte[] data, int ahead, int landed, long noted) {
        int rest = cutRest == null ? 0 : cutRest.length;
        if (ahead > rest && landed > rest) {
            unwrittenReported = noted;
        }
        int begun = 0;
        for (int i = ahead; i < landed; i++) {
            if (i == ahead || data[i - 1] == '\n') {
                begun++;
            }
        }
        unwritten += Math.max(0, batchLines - begun);  // a line holding a line break of its own counts as one
        boolean insideALine = landed > 0 ? data[landed - 1] != '\n' : cutRest != null;
        int end = landed;
        while (insideALine && data[end] != '\n') {
            end++;  // every line in data ends with its line break
        }
        cutRest = insideALine ? Arrays.copyOfRange(data, landed, end + 1) : null;
    }

    /**
     * How many first bytes of a failed write are in the file (FileOutputStream does not say): the file's growth since
     * the write began, if the file ends with those bytes; else 0 (another process appended too, or the path names
     * another file now), which at worst leaves a fragment. Read only when the path still names the file held: a FIFO
     * put in its place would block the open.
     */
    private int landed(byte[] data, int length, long sizeBefore) {
        Object now = key();
        if (now == null || !now.equals(heldKey)) {
            return 0;
        }
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "r")) {
            long grown = file.length() - sizeBefore;
            if (grown <= 0 || grown >= length) {
                return 0;
            }
            byte[] end = new byte[(int) grown];
            file.seek(sizeBefore);
            file.readFully(end);
            return Arrays.equals(end, 0, end.length, data, 0, end.length) ? end.length : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
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
        long missed = unwritten - unwrittenReported + (cutRest == null ? 0 : 1);
        if (missed > 0) {
            System.err.println("tcp-hardening-agent: " + missed + " log lines could not be written to " + path + " ("
                    + failure + ")");
        }
    }
}
