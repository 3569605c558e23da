package org.halyard.kvcache.impl.tier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.halyard.kvcache.impl.block.BlockData;

/**
 * The disk tier of one cache: sealed blocks in slots of memory-mapped segment files, written
 * through the file's channel and read in place through a read-only mapping. A segment holds slots of one size (one block type) and is written
 * front to back; a slot is never written twice, and a segment file is deleted as soon as none of
 * its slots is live. So a reader that still holds a moved block's old mapping reads what it always
 * read (Linux keeps an unlinked file's pages while they are mapped), and released sequences leave
 * no files behind.
 *
 * <pre>
 *   seg-0000-4352.kv:  [ slot 0 | slot 1 | ... | slot n-1 ]   n = min(64, 64 MiB / 4352)
 *                        live     dead           (unwritten)
 * </pre>
 *
 * <p>Not thread-safe: the cache calls it under its lock. Mapping one segment at a time keeps the
 * number of mappings far below the kernel's limit ({@code vm.max_map_count}).
 */
public final class DiskTier {

    static final int MAX_SLOTS = 64;
    static final long SEGMENT_BYTES = 64L << 20;

    private final Path dir;
    private final Map<Integer, Segment> filling = new HashMap<>();
    private final Set<Segment> segments = new LinkedHashSet<>();
    private int nextSegment;

    /** One segment file: written through its channel, read through its mapping. */
    static final class Segment {
        final Path file;
        final int slotBytes;
        final int slots;
        final FileChannel channel;
        final MappedByteBuffer map;
        int written;
        int live;

        Segment(Path file, int slotBytes, int slots, FileChannel channel, MappedByteBuffer map) {
            this.file = file;
            this.slotBytes = slotBytes;
            this.slots = slots;
            this.channel = channel;
            this.map = map;
        }

        void close() {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing left to do with it
            }
        }
    }

    /** Serialised block on its way to a file (the tier is used under the cache's lock only). */
    private ByteBuffer staging = ByteBuffer.allocateDirect(0);

    /** A block's place on disk. */
    public static final class Slot {
        final Segment segment;
        final int index;
        /** The slot's bytes, mapped. */
        public final ByteBuffer buffer;
        boolean freed;

        Slot(Segment segment, int index, ByteBuffer buffer) {
            this.segment = segment;
            this.index = index;
            this.buffer = buffer;
        }

        public Path file() {
            return segment.file;
        }

        public boolean live() {
            return !freed;
        }
    }

    public DiskTier(Path dir) {
        this.dir = dir;
    }

    /**
     * Writes a sealed block into a fresh slot. The bytes go through the file channel (one
     * positional write into the page cache) rather than through the mapping, whose first touch of
     * each page of a sparse file would fault and allocate page by page; reads then find the pages
     * in the page cache through the mapping.
     */
    public Slot store(BlockData sealed) throws IOException {
        int bytes = (int) sealed.bytes();
        Segment s = filling.get(bytes);
        if (s == null || s.written == s.slots) {
            s = newSegment(bytes);
            filling.put(bytes, s);
        }
        int index = s.written;
        if (staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect(bytes);
        }
        ByteBuffer out = staging.duplicate().clear().limit(bytes);
        sealed.copyTo(out);
        long at = (long) index * bytes;
        while (out.hasRemaining()) {
            at += s.channel.write(out, at);
        }
        s.written++;
        s.live++;
        return new Slot(s, index, s.map.slice(index * bytes, bytes));
    }

    private Segment newSegment(int slotBytes) throws IOException {
        int slots = (int) Math.max(1, Math.min(MAX_SLOTS, SEGMENT_BYTES / slotBytes));
        Path file = dir.resolve(String.format("seg-%04d-%d.kv", nextSegment++, slotBytes));
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            MappedByteBuffer map = channel.map(FileChannel.MapMode.READ_ONLY, 0, (long) slots * slotBytes);
            Segment s = new Segment(file, slotBytes, slots, channel, map);
            segments.add(s);
            return s;
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(file);
            throw e;
        }
    }

    /** The slot's block left the tier: its segment file goes when nothing in it is live. */
    public void free(Slot slot) {
        if (slot.freed) {
            return;
        }
        slot.freed = true;
        Segment s = slot.segment;
        if (--s.live == 0) {
            segments.remove(s);
            if (filling.get(s.slotBytes) == s) {
                filling.remove(s.slotBytes);
            }
            s.close();
            delete(s.file);
        }
    }

    /** Deletes every segment file. */
    public void clear() {
        for (Segment s : segments) {
            s.close();
            delete(s.file);
        }
        segments.clear();
        filling.clear();
    }

    /** Segment files on disk now. */
    public int files() {
        return segments.size();
    }

    /** Bytes of the segment files on disk now (live, dead and not yet written slots). */
    public long fileBytes() {
        long sum = 0;
        for (Segment s : segments) {
            sum += (long) s.slots * s.slotBytes;
        }
        return sum;
    }

    /** Whether a slot belongs to a segment file that still exists. */
    public boolean holds(Slot slot) {
        return !slot.freed && segments.contains(slot.segment);
    }

    public Path dir() {
        return dir;
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // the file stays until the data directory is cleaned at the next start
        }
    }
}
