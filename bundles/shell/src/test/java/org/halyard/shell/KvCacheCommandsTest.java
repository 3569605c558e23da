package org.halyard.shell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.halyard.kvcache.api.KvCache;
import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.kvcache.api.KvCacheSpec;
import org.halyard.kvcache.api.KvDType;
import org.halyard.kvcache.api.KvLayout;
import org.halyard.kvcache.api.KvSequence;
import org.halyard.kvcache.api.KvSequenceOptions;
import org.halyard.kvcache.impl.KvCacheSettings;
import org.halyard.kvcache.impl.PagedKvCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/** {@code halyard:kvcache} and {@code halyard:kvcache-drop} against a real manager, without a container. */
class KvCacheCommandsTest {

    @TempDir
    Path dir;

    private PagedKvCacheManager manager;
    private KvCache demo;
    private KvCache other;

    @BeforeEach
    void caches() {
        manager = new PagedKvCacheManager(KvCacheSettings.defaults().withBlockSizeTokens(4)
                .withCapacityBytes(1 << 20).withCheckIntervalSeconds(0).withDataDirectory(dir));
        demo = manager.create(new KvCacheSpec("demo", "sha256:0123456789abcdef0123", new KvLayout(2, 2, 4),
                KvDType.F32, 0));
        other = manager.create(new KvCacheSpec("other", "v2", new KvLayout(1, 1, 8), KvDType.F16, 0));
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A bundle context that knows one service: the manager. */
    private BundleContext context() {
        ServiceReference<?> ref = (ServiceReference<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceReference.class}, (p, m, a) -> switch (m.getName()) {
                    case "hashCode" -> 1;
                    case "equals" -> p == a[0];
                    default -> null;
                });
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getServiceReferences" -> a[0] == KvCacheManager.class ? List.of(ref) : List.of();
                    case "getService" -> manager;
                    case "ungetService" -> true;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private String run(HalyardCommandSupport command) throws Exception {
        return run(command, true);
    }

    private String run(HalyardCommandSupport command, boolean noFormat) throws Exception {
        command.setBundleContext(context());
        command.setNoFormat(noFormat);
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            command.execute();
        } finally {
            System.setOut(old);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private KvSequence prefill(KvCache cache, int[] tokens) {
        KvSequence s = cache.open("r", tokens, KvSequenceOptions.of(KvDType.F32));
        cache.allocate(s, tokens.length - s.length());
        float[] kv = new float[cache.spec().layout().kvDim()];
        for (int pos = s.length(); pos < tokens.length; pos++) {
            for (int l = 0; l < cache.spec().layout().layers(); l++) {
                s.write(l, pos, kv, 0, kv, 0);
            }
        }
        s.commit(tokens, s.length(), tokens.length - s.length());
        return s;
    }

    @Test
    void showsEachCachesMemoryAndPrefixCounters() throws Exception {
        prefill(demo, new int[] {1, 2, 3, 4, 5, 6, 7, 8});
        prefill(demo, new int[] {1, 2, 3, 4, 9, 9, 9, 9}); // 4 of 8 tokens hit
        String out = run(new KvCacheCommand());
        assertTrue(out.contains("demo"), out);
        assertTrue(out.contains("other"), out);
        assertTrue(out.contains("sha256:012345678"), out);
        assertTrue(out.contains("25.0%"), out); // 4 hits of 16 prompt tokens
        assertTrue(out.contains("1.5 KiB"), out); // three blocks of 512 bytes used
        assertTrue(out.contains("1.0 MiB"), out);
        String table = run(new KvCacheCommand(), false);
        for (String header : new String[] {"Hot used", "Off-heap", "Disk", "Hit rate", "Evictions", "Drops"}) {
            assertTrue(table.contains(header), table);
        }
    }

    @Test
    void filtersByNameAndChecks() throws Exception {
        KvCacheCommand c = new KvCacheCommand();
        c.setCache("other");
        c.setCheck(true);
        String out = run(c);
        assertTrue(out.contains("other: consistent"), out);
        assertFalse(out.contains("demo"), out);
        c.setCache("nope");
        assertTrue(run(c).contains("no KV cache nope"));
    }

    @Test
    void dropWithoutForceOnlySaysWhatItWouldDrop() throws Exception {
        KvSequence s = prefill(demo, new int[] {1, 2, 3, 4, 5});
        String out = run(new KvCacheDropCommand());
        assertTrue(out.contains("Would drop demo (1 sequences"), out);
        assertTrue(out.contains("Nothing dropped"), out);
        assertTrue(s.valid());
        assertEquals(0, demo.usage().drops());
    }

    @Test
    void dropWithForceWipesTheNamedCacheAndItsSequencesRebuild() throws Exception {
        KvSequence s = prefill(demo, new int[] {1, 2, 3, 4, 5});
        KvCacheDropCommand c = new KvCacheDropCommand();
        c.setCache("demo");
        c.setForce(true);
        String out = run(c);
        assertTrue(out.contains("Dropped demo"), out);
        assertFalse(s.valid());
        assertEquals(1, demo.usage().drops());
        assertEquals(0, demo.usage().usedBytes());
        assertEquals(0, other.usage().drops());
        c.setCache("missing");
        assertTrue(run(c).contains("No KV cache named missing"));
    }

    @Test
    void bytesReadLikeAPerson() {
        assertEquals("0 B", KvCacheCommand.bytes(0));
        assertEquals("1023 B", KvCacheCommand.bytes(1023));
        assertEquals("1.5 KiB", KvCacheCommand.bytes(1536));
        assertEquals("256.0 MiB", KvCacheCommand.bytes(256L << 20));
        assertEquals("4.0 GiB", KvCacheCommand.bytes(4L << 30));
    }
}
