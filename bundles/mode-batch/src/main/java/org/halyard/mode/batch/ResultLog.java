package org.halyard.mode.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * An append-only JSONL file of answered lines (the output or the error file of a running
 * batch), and the record of which lines are answered: a line is answered exactly when its record,
 * newline included, is in the file.
 *
 * <p>Opening repairs what a crash left: the file is read record by record and cut after the last
 * complete record, so a half-written one (no newline, or bytes that are not a JSON object with a
 * {@code custom_id}, as a crash of the operating system can leave) disappears and its line runs
 * again. An append that fails is cut back the same way at once.
 */
final class ResultLog implements AutoCloseable {

    private final Path path;
    private final FileChannel channel;
    private long size;
    private int records;
    private boolean dirty;

    private ResultLog(Path path, FileChannel channel, long size, int records) {
        this.path = path;
        this.channel = channel;
        this.size = size;
        this.records = records;
    }

    /**
     * Opens (creating) a log, repairing its tail, and hands each complete record's
     * {@code custom_id} to {@code answered}.
     */
    static ResultLog open(Path path, Consumer<String> answered) throws IOException {
        long good = 0;
        int records = 0;
        long cut = -1;
        if (Files.exists(path)) {
            try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 65536)) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                long offset = 0;
                int b;
                while ((b = in.read()) >= 0) {
                    offset++;
                    if (b != '\n') {
                        line.write(b);
                        continue;
                    }
                    String id = customId(line.toByteArray());
                    if (id == null) {
                        break; // garbage: cut here
                    }
                    answered.accept(id);
                    records++;
                    good = offset;
                    line.reset();
                }
                if (Files.size(path) != good) {
                    cut = Files.size(path) - good;
                }
            }
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        if (cut >= 0) {
            BatchJobs.LOG.warn("Batch result log {}: cut {} bytes of an incomplete record left by a crash; its line "
                    + "runs again", path, cut);
            ch.truncate(good);
            ch.force(true);
        }
        ch.position(good);
        return new ResultLog(path, ch, good, records);
    }

    private static String customId(byte[] line) {
        try {
            JsonNode n = Jsonl.MAPPER.readTree(new String(line, StandardCharsets.UTF_8));
            JsonNode id = n == null ? null : n.get("custom_id");
            return id != null && id.isTextual() ? id.textValue() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Appends one record (a JSON object without newline); on failure the file is as before. */
    void append(String record) throws IOException {
        byte[] b = (record + "\n").getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.wrap(b);
        try {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        } catch (IOException e) {
            try {
                channel.truncate(size);
                channel.position(size);
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        size += b.length;
        records++;
        dirty = true;
    }

    /** Forces appended records to disk (a process crash loses nothing written; this covers the machine's). */
    void force() throws IOException {
        if (dirty) {
            channel.force(false);
            dirty = false;
        }
    }

    int records() {
        return records;
    }

    long size() {
        return size;
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        try {
            force();
        } finally {
            channel.close();
        }
    }
}
