package org.halyard.exporter.jsonlog.impl;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Where JSON lines go: a rolling file or the process' standard output. */
interface Sink extends Closeable {

    /** Appends one line (a newline is added) and flushes it. */
    void write(String line) throws IOException;

    /** Where it writes, for the health report. */
    String describe();

    /**
     * The process' own standard output (file descriptor 1), not {@code System.out}, which Karaf
     * redirects for shell sessions: container platforms collect fd 1.
     */
    final class Stdout implements Sink {
        private final Writer out = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out),
                StandardCharsets.UTF_8));

        @Override
        public synchronized void write(String line) throws IOException {
            out.write(line);
            out.write('\n');
            out.flush();
        }

        @Override
        public String describe() {
            return "stdout";
        }

        @Override
        public void close() throws IOException {
            out.flush();  // never close fd 1
        }
    }

    /**
     * A file that rolls by size: when the next line would pass {@code maxBytes}, {@code f} becomes
     * {@code f.1}, {@code f.1} becomes {@code f.2}, ... and {@code f.<maxFiles>} is deleted. Shippers
     * (Promtail, Filebeat, the OpenTelemetry collector's filelog receiver) follow such renames.
     */
    final class RollingFile implements Sink {
        private final Path file;
        private final long maxBytes;
        private final int maxFiles;
        private Writer out;
        private long size;

        RollingFile(Path file, long maxBytes, int maxFiles) throws IOException {
            this.file = file;
            this.maxBytes = Math.max(1024, maxBytes);
            this.maxFiles = Math.max(0, maxFiles);
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            open();
        }

        private void open() throws IOException {
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            size = Files.size(file);
        }

        @Override
        public synchronized void write(String line) throws IOException {
            long bytes = line.getBytes(StandardCharsets.UTF_8).length + 1L;
            if (size > 0 && size + bytes > maxBytes) {
                roll();
            }
            out.write(line);
            out.write('\n');
            out.flush();
            size += bytes;
        }

        private void roll() throws IOException {
            out.close();
            if (maxFiles == 0) {
                Files.delete(file);
            } else {
                Files.deleteIfExists(sibling(maxFiles));
                for (int i = maxFiles - 1; i >= 1; i--) {
                    if (Files.exists(sibling(i))) {
                        Files.move(sibling(i), sibling(i + 1), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                Files.move(file, sibling(1), StandardCopyOption.REPLACE_EXISTING);
            }
            open();
        }

        private Path sibling(int i) {
            return file.resolveSibling(file.getFileName() + "." + i);
        }

        @Override
        public String describe() {
            return file.toString();
        }

        @Override
        public synchronized void close() throws IOException {
            out.close();
        }
    }
}
