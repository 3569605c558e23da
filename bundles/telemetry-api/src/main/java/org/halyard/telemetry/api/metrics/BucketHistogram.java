package org.halyard.telemetry.api.metrics;

import com.codahale.metrics.Counting;
import com.codahale.metrics.Metric;
import java.util.Arrays;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A histogram with fixed, explicit bucket boundaries, as Prometheus classic histograms and
 * OpenTelemetry explicit-bucket histograms have them: cumulative since creation, mergeable across
 * nodes, exportable without loss. Updates are lock-free (one {@link LongAdder} per bucket).
 *
 * <pre>
 *   upperBounds  b0      b1      ...  bn-1
 *   buckets     (-∞,b0] (b0,b1]  ...  (bn-2,bn-1] (bn-1,+∞)      n+1 counts
 * </pre>
 */
public final class BucketHistogram implements Metric, Counting {

    private final double[] upperBounds;
    private final LongAdder[] buckets;
    private final DoubleAdder sum = new DoubleAdder();

    /**
     * @param upperBounds strictly increasing finite bucket boundaries (the +Inf bucket is implied)
     */
    public BucketHistogram(double[] upperBounds) {
        if (upperBounds.length == 0) {
            throw new IllegalArgumentException("at least one bucket boundary is needed");
        }
        for (int i = 0; i < upperBounds.length; i++) {
            if (!Double.isFinite(upperBounds[i]) || (i > 0 && upperBounds[i] <= upperBounds[i - 1])) {
                throw new IllegalArgumentException("boundaries must be finite and strictly increasing: "
                        + Arrays.toString(upperBounds));
            }
        }
        this.upperBounds = upperBounds.clone();
        this.buckets = new LongAdder[upperBounds.length + 1];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    /** Records one observation; NaN is ignored. */
    public void update(double value) {
        if (Double.isNaN(value)) {
            return;
        }
        int i = Arrays.binarySearch(upperBounds, value);
        // an exact hit belongs to the bucket whose upper bound it is (le semantics)
        buckets[i >= 0 ? i : -i - 1].increment();
        sum.add(value);
    }

    /** The boundaries (a copy). */
    public double[] upperBounds() {
        return upperBounds.clone();
    }

    @Override
    public long getCount() {
        long n = 0;
        for (LongAdder b : buckets) {
            n += b.sum();
        }
        return n;
    }

    /**
     * The counts now. Taken without stopping writers: the count is always the sum of the buckets;
     * the sum may include an observation whose bucket was read just before it was counted.
     */
    public Snapshot snapshot() {
        long[] counts = new long[buckets.length];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = buckets[i].sum();
        }
        return new Snapshot(upperBounds, counts, sum.sum());
    }

    /**
     * A histogram's counts at one moment.
     *
     * @param upperBounds the finite boundaries
     * @param counts observations per bucket, not cumulative; one more than the boundaries (the
     *     last is the +Inf bucket)
     * @param sum the sum of all observations
     */
    public record Snapshot(double[] upperBounds, long[] counts, double sum) {

        public Snapshot {
            if (counts.length != upperBounds.length + 1) {
                throw new IllegalArgumentException("counts must have one entry more than the boundaries");
            }
            upperBounds = upperBounds.clone();
            counts = counts.clone();
        }

        @Override
        public double[] upperBounds() {
            return upperBounds.clone();
        }

        @Override
        public long[] counts() {
            return counts.clone();
        }

        /** All observations. */
        public long count() {
            long n = 0;
            for (long c : counts) {
                n += c;
            }
            return n;
        }

        /** Observations at or below bucket {@code i}'s upper bound (i = boundaries: all). */
        public long cumulative(int i) {
            long n = 0;
            for (int j = 0; j <= i; j++) {
                n += counts[j];
            }
            return n;
        }

        /** The mean, or NaN with no observations. */
        public double mean() {
            long n = count();
            return n == 0 ? Double.NaN : sum / n;
        }

        /**
         * Estimates a quantile as Prometheus' {@code histogram_quantile} does: linear interpolation
         * inside the bucket that holds it, 0 as the lower edge of the first bucket, and the highest
         * finite boundary when it falls in the +Inf bucket. NaN with no observations.
         */
        public double quantile(double q) {
            if (q < 0 || q > 1) {
                throw new IllegalArgumentException("quantile must be in [0, 1]: " + q);
            }
            long n = count();
            if (n == 0) {
                return Double.NaN;
            }
            double rank = q * n;
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] > 0 && seen + counts[i] >= rank) {
                    if (i == upperBounds.length) {
                        return upperBounds[upperBounds.length - 1];
                    }
                    double lower = i == 0 ? Math.min(0, upperBounds[0]) : upperBounds[i - 1];
                    double upper = upperBounds[i];
                    return lower + (upper - lower) * ((rank - seen) / counts[i]);
                }
                seen += counts[i];
            }
            return upperBounds[upperBounds.length - 1];
        }
    }
}
