package org.halyard.kvcache.impl.kernel;

/**
 * IEEE 754 binary16 ("half") conversions, which Java 17 lacks ({@code Float.floatToFloat16}
 * arrived in Java 20). Rounds to nearest, ties to even; overflow gives infinity; NaN stays NaN.
 *
 * <pre>
 *   half:  s eeeee mmmmmmmmmm            value = (-1)^s 2^(e-15) 1.m   (e = 0: 2^-14 0.m)
 *   float: s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm   bias 127: rebias by 112 = 127 - 15
 * </pre>
 */
public final class Half {

    /** 2^112: moves a half exponent (bias 15) to a float exponent (bias 127). */
    static final float REBIAS = 0x1p112f;

    private Half() {
    }

    /** The float a half's bits stand for (exact: every half is a float). */
    public static float toFloat(short half) {
        int h = half & 0xffff;
        int sign = (h & 0x8000) << 16;
        int em = h & 0x7fff;
        if (em >= 0x7c00) { // infinity or NaN: exponent all ones
            return Float.intBitsToFloat(sign | 0x7f800000 | ((em & 0x3ff) << 13));
        }
        // exponent and mantissa shifted into float position, then scaled by 2^112: this also
        // renormalises subnormal halves, because the float multiply does it for us
        float magnitude = Float.intBitsToFloat(em << 13) * REBIAS;
        return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
    }

    /** The half nearest to a float (ties to even). */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) { // infinity or NaN (keep NaN a quiet NaN)
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) { // >= 65520: rounds past the largest half (65504)
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) { // normal half (>= 2^-14): rebias, round the 13 dropped bits
            int r = abs - 0x38000000;
            return (short) (sign | ((r + 0x0fff + ((r >>> 13) & 1)) >>> 13));
        }
        if (abs <= 0x33000000) { // <= 2^-25: rounds to zero (2^-25 is a tie, and 0 is even)
            return (short) sign;
        }
        // subnormal half: value = hm * 2^-24, with the float's 24-bit significand M = 1.m * 2^23
        int e = abs >>> 23;
        int significand = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - e; // 14 .. 24
        int hm = significand >>> shift;
        int rest = significand & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (hm & 1) != 0)) {
            hm++; // may carry into the smallest normal, which is the right encoding
        }
        return (short) (sign | hm);
    }
}
