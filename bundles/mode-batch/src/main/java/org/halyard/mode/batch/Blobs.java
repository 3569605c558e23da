package org.halyard.mode.batch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The bytes of files and the work of running batches, under the data directory:
 *
 * <pre>
 *   files/&lt;file-id&gt;            one per file the database lists (uploads, outputs, error files)
 *   files/&lt;file-id&gt;.tmp        an upload being written; deleted on start (a crash mid-upload)
 *   work/&lt;batch-id&gt;/output.jsonl, errors.jsonl
 *                                 the answered lines of a running batch, appended as they finish
 * </pre>
 *
 * A file appears under its id only complete: it is written to {@code .tmp}, forced to disk and
 * renamed atomically, and the directory is forced so that the rename survives too.
 */
final class Blobs {

    static final String TMP = ".tmp";

    private final Path files;
    private final Path work;

    Blobs(Path root) throws IOException {
        this.files = Files.createDirectories(root.resolve("files"));
        this.work = Files.createDirectories(root.resolve("work"));
    }

    /** Thrown when an upload exceeds the size limit; nothing is kept. */
    static final class TooLargeException extends IOException {
        private static final long serialVersionUID = 1L;

        TooLargeException(long max) {
            super("larger than " + max + " bytes");
        }
    }

    Path path(String id) {
        return files.resolve(checked(id));
    }

    private static String checked(String id) {
        if (!id.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new IllegalArgumentException("not a file id: " + id);
        }
        return id;
    }

    boolean exists(String id) {
        return Files.isRegularFile(path(id));
    }

    /**
     * Writes a new file from a stream, at most {@code max} bytes, atomically: under its id only
     * once complete and on disk. Returns its size.
     *
     * @throws TooLargeException when the stream holds more than {@code max} bytes
     */
    long write(String id, InputStream in, long max) throws IOException {
        Path tmp = files.resolve(checked(id) + TMP);
        long n = 0;
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                OutputStream out = java.nio.channels.Channels.newOutputStream(ch)) {
            byte[] buf = new byte[65536];
            int r;
            while ((r = in.read(buf)) > 0) {
                n += r;
                if (n > max) {
                    throw new TooLargeException(max);
                }
                out.write(buf, 0, r);
            }
            out.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        moveAtomically(tmp, path(id));
        return n;
    }

    /** Moves a finished work file in as the file {@code id}, atomically. */
    void moveIn(Path part, String id) throws IOException {
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        moveAtomically(part, path(id));
    }

    private void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the data directory does not support atomic renames: " + files, e);
        }
        forceDirectory(to.getParent());
    }

    /** Makes a rename in {@code dir} durable (where the platform allows opening directories). */
    static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // not supported on this platform (Windows): the rename is still atomic
        }
    }

    void delete(String id) throws IOException {
        Files.deleteIfExists(path(id));
    }

    /** The ids of complete files present. */
    List<String> ids() throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(files)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (!name.endsWith(TMP)) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    /** Deletes uploads a crash interrupted. */
    int removeTemps() throws IOException {
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(files, "*" + TMP)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    /** The work folder of a batch (created). */
    Path work(String batchId) throws IOException {
        return Files.createDirectories(work.resolve(checked(batchId)));
    }

    /** Batch ids that have a work folder. */
    List<String> workIds() throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(work)) {
            for (Path p : ds) {
                out.add(p.getFileName().toString());
            }
        }
        return out;
    }

    void deleteWork(String batchId) throws IOException {
        Path dir = work.resolve(checked(batchId));
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (NoSuchFileException ignored) {
                    // gone already
                }
            }
        }
    }

    /** Lines (newline-terminated records) in a file. */
    static int countLines(Path p) throws IOException {
        int n = 0;
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[65536];
            int r;
            while ((r = in.read(buf)) > 0) {
                for (int i = 0; i < r; i++) {
                    if (buf[i] == '\n') {
                        n++;
                    }
                }
            }
        }
        return n;
    }
}
