package io.tcphardening.agent.settings;

import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The file system side of the settings: a path as the operator wrote it, and the text of a properties file, each
 * checked so that every way it can be wrong is one clear message. Apart from {@link SettingsLoader} because the
 * exceptions it tells apart are loaded with the class that catches them, at every JVM's start; most starts read no
 * file and name no path.
 */
final class SettingsFile {

    private static final int MAX_FILE_BYTES = 64 * 1024;

    private SettingsFile() {
    }

    /** {@code value} as a path, or null if it is not one. */
    static Path path(String value) {
        try {
            return Paths.get(value);
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /** The UTF-8 text of the properties file {@code file}, called {@code name} in messages. */
    static String read(Path file, String name) throws ConfigException {
        if (Files.isSymbolicLink(file) && !Files.exists(file)) {
            throw new ConfigException(name + " is a symbolic link to nothing (its target is missing, or links loop)");
        }
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ConfigException(name + " does not exist");
        }
        if (Files.isDirectory(file)) {
            throw new ConfigException(name + " is a directory; name the properties file inside it");
        }
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(name + " is not a regular file (a FIFO, socket or device cannot be read safely)");
        }
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new ConfigException(name + " is larger than " + MAX_FILE_BYTES / 1024 + " KiB: not a settings file");
            }
            // A FileInputStream, not Files.readAllBytes: from JDK 21 or so that reads through sun.nio.ch.Streams, which
            // loads SocketChannelImpl before the agent's transformer is registered; the class then had to be
            // retransformed (~10 ms of a JDK 25 start) and the agent to assume that sockets predated it.
            byte[] bytes;
            try (FileInputStream in = new FileInputStream(file.toFile())) {
                bytes = in.readAllBytes();
            } catch (FileNotFoundException e) {  // what FileInputStream throws for a file it may not read
                throw Files.isReadable(file) ? e : new AccessDeniedException(file.toString());
            }
            if (isAscii(bytes)) {  // the usual file: the strict decoder below costs a few us a line, interpreted
                return new String(bytes, StandardCharsets.US_ASCII);
            }
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (AccessDeniedException e) {
            throw new ConfigException(name + " cannot be read: permission denied");
        } catch (CharacterCodingException e) {
            throw new ConfigException(name + " is not UTF-8 text");
        } catch (IOException e) {
            throw new ConfigException(name + " cannot be read: " + e.getMessage());
        }
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }
}
