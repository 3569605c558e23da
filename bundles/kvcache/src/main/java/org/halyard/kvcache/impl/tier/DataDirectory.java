package org.halyard.kvcache.impl.tier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk tier's folder for one manager (or one stand-alone cache) while it lives:
 * {@code <dataDirectory>/kv-<uuid>/}, holding an OS file lock on its {@code lock} file and one
 * sub-folder per cache. Created on first use.
 *
 * <pre>
 *   data/kvcache/
 *     kv-1f0c.../lock           locked while its process runs
 *     kv-1f0c.../demo-0/seg-0003-32768.kv
 * </pre>
 *
 * <p>Clean-up on restart: {@link #removeStale} deletes every {@code kv-*} folder whose lock no
 * live process holds (a crash or kill left it behind), so two JVMs may share a data directory
 * without deleting each other's files.
 */
public final class DataDirectory implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);
    private static final String PREFIX = "kv-";

    private final Path root;
    private final AtomicInteger caches = new AtomicInteger();
    private Path dir;
    private FileChannel lockChannel;
    private FileLock lock;
    private boolean closed;

    public DataDirectory(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** This instance's folder, created (and locked) on first call. */
    public synchronized Path dir() throws IOException {
        if (closed) {
            throw new IOException("the KV cache data directory " + root + " was closed");
        }
        if (dir == null) {
            Path d = root.resolve(PREFIX + UUID.randomUUID());
            Files.createDirectories(d);
            lockChannel = FileChannel.open(d.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = lockChannel.tryLock();
            dir = d;
        }
        return dir;
    }

    /** A new empty folder for one cache's segment files. */
    public Path newCacheDir(String cacheName) throws IOException {
        String safe = cacheName.replaceAll("[^A-Za-z0-9._-]", "_");
        if (safe.length() > 64) {
            safe = safe.substring(0, 64);
        }
        Path d = dir().resolve(safe + "-" + caches.getAndIncrement());
        Files.createDirectories(d);
        return d;
    }

    /** Deletes this instance's folder and releases its lock. */
    @Override
    public synchronized void close() {
        closed = true;
        if (dir == null) {
            return;
        }
        try {
            if (lock != null) {
                lock.release();
            }
            lockChannel.close();
        } catch (IOException e) {
            LOG.debug("KV cache: releasing the lock of {}", dir, e);
        }
        deleteTree(dir);
        dir = null;
    }

    /**
     * Deletes the folders that instances which are gone left under {@code root}: those whose lock
     * file can be locked now. Returns how many were removed.
     */
    public static int removeStale(Path root) {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        int removed = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, PREFIX + "*")) {
            for (Path d : ds) {
                if (Files.isDirectory(d) && !inUse(d)) {
                    deleteTree(d);
                    removed++;
                }
            }
        } catch (IOException e) {
            LOG.warn("KV cache: could not list {} to remove stale files: {}", root, e.toString());
        }
        if (removed > 0) {
            LOG.info("KV cache: removed {} folders of earlier runs from {}", removed, root);
        }
        return removed;
    }

    private static boolean inUse(Path d) {
        Path lockFile = d.resolve("lock");
        if (!Files.exists(lockFile)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true; // another process holds it
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // this JVM holds it
        } catch (IOException e) {
            return true; // cannot tell: leave it
        }
    }

    /** Deletes a folder and everything in it, logging what cannot be deleted. */
    public static void deleteTree(Path d) {
        if (!Files.exists(d)) {
            return;
        }
        try (Stream<Path> all = Files.walk(d)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("KV cache: could not delete {}: {}", d, e.toString());
        }
    }
}
