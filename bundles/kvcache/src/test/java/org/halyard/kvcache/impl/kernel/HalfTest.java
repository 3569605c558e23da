package org.halyard.kvcache.impl.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HalfTest {

    @Test
    void everyHalfSurvivesARoundTripThroughFloat() {
        for (int h = 0; h < 0x10000; h++) {
            float f = Half.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertTrue((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0);
                assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(f))));
                continue;
            }
            int half = h;
            assertEquals(h, Half.fromFloat(f) & 0xffff, () -> "half 0x" + Integer.toHexString(half) + " = " + f);
        }
    }

    @Test
    void knownValues() {
        assertEquals(1f, Half.toFloat((short) 0x3c00));
        assertEquals(-2f, Half.toFloat((short) 0xc000));
        assertEquals(65504f, Half.toFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Half.toFloat((short) 0x0001));
        assertEquals(0x1p-14f, Half.toFloat((short) 0x0400));
        assertEquals(Float.POSITIVE_INFINITY, Half.toFloat((short) 0x7c00));
        assertEquals(0x7c00, Half.fromFloat(65520f) & 0xffff); // ties to even: rounds up to infinity
        assertEquals(0x7bff, Half.fromFloat(65519f) & 0xffff);
        assertEquals(0x0000, Half.fromFloat(0x1p-25f) & 0xffff); // tie between 0 and the smallest: even
        assertEquals(0x0001, Half.fromFloat(0x1.0001p-25f) & 0xffff);
        assertEquals(0x8000, Half.fromFloat(-0f) & 0xffff);
        assertEquals(0x3c00, Half.fromFloat(1f + 0x1p-11f) & 0xffff); // tie: to even (down)
        assertEquals(0x3c02, Half.fromFloat(1f + 3 * 0x1p-11f) & 0xffff); // tie: to even (up)
    }

    @Test
    void floatsRoundToTheNearestHalf() {
        Random r = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(f) || Math.abs(f) > 65504f) {
                continue;
            }
            short h = Half.fromFloat(f);
            int magnitude = h & 0x7fff;
            int sign = h & 0x8000;
            double got = Half.toFloat(h);
            double err = Math.abs(got - f);
            if (magnitude > 0) {
                double smaller = Half.toFloat((short) (sign | (magnitude - 1)));
                assertTrue(err <= Math.abs(smaller - f), () -> f + " -> " + got + " but " + smaller + " is nearer");
            }
            if (magnitude < 0x7bff) {
                double larger = Half.toFloat((short) (sign | (magnitude + 1)));
                assertTrue(err <= Math.abs(larger - f), () -> f + " -> " + got + " but " + larger + " is nearer");
            }
        }
    }
}
