package org.halyard.telemetry.api.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BucketHistogramTest {

    @Test
    void valuesOnABoundaryCountInThatBucket() {
        BucketHistogram h = new BucketHistogram(new double[] {0.1, 1.0, 10.0});
        h.update(0.05);
        h.update(0.1);   // le 0.1
        h.update(0.5);
        h.update(1.0);   // le 1.0
        h.update(11);    // +Inf
        h.update(Double.NaN);
        BucketHistogram.Snapshot s = h.snapshot();
        assertArrayEquals(new long[] {2, 2, 0, 1}, s.counts());
        assertEquals(5, s.count());
        assertEquals(5, h.getCount());
        assertEquals(0.05 + 0.1 + 0.5 + 1.0 + 11, s.sum(), 1e-9);
        assertEquals(4, s.cumulative(1));
    }

    @Test
    void quantilesInterpolateInsideTheBucketLikePrometheus() {
        BucketHistogram h = new BucketHistogram(new double[] {1, 2, 4});
        for (int i = 0; i < 10; i++) {
            h.update(1.5);   // all in (1, 2]
        }
        BucketHistogram.Snapshot s = h.snapshot();
        assertEquals(1.5, s.quantile(0.5), 1e-9);
        assertEquals(2.0, s.quantile(1.0), 1e-9);
        h.update(100);       // +Inf: the estimate stops at the highest boundary
        assertEquals(4.0, h.snapshot().quantile(1.0), 1e-9);
        assertTrue(Double.isNaN(new BucketHistogram(new double[] {1}).snapshot().quantile(0.5)));
    }

    @Test
    void rejectsBoundariesThatAreNotStrictlyIncreasing() {
        assertThrows(IllegalArgumentException.class, () -> new BucketHistogram(new double[] {}));
        assertThrows(IllegalArgumentException.class, () -> new BucketHistogram(new double[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> new BucketHistogram(new double[] {1, Double.POSITIVE_INFINITY}));
    }

    @Test
    void concurrentUpdatesAreAllCounted() throws Exception {
        BucketHistogram h = new BucketHistogram(HalyardMetrics.TTFT_BUCKETS.stream().mapToDouble(Double::doubleValue).toArray());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            pool.execute(() -> {
                for (int i = 0; i < 10_000; i++) {
                    h.update((i % 100) / 10.0);
                }
            });
        }
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        assertEquals(40_000, h.snapshot().count());
    }
}
