package org.halyard.engine.cpu.kernel;

/**
 * IEEE half and bfloat16 to float (Java 17 has no {@code Float.float16ToFloat}). Half floats go
 * through a 64K-entry table built once: every GGUF scale and F16 weight is read this way.
 */
public final class Float16 {

    private static final float[] HALF = new float[1 << 16];

    static {
        for (int i = 0; i < HALF.length; i++) {
            HALF[i] = convert((short) i);
        }
    }

    private Float16() {
    }

    /** The float value of the half float with these bits. */
    public static float toFloat(short bits) {
        return HALF[bits & 0xFFFF];
    }

    /** The little-endian 16 bits at {@code b[i]}, {@code b[i+1]} (a block's scale). */
    public static short shortAt(byte[] b, int i) {
        return (short) ((b[i] & 0xFF) | (b[i + 1] << 8));
    }

    /** Whether the half float with these bits is infinite or NaN (exponent all ones). */
    public static boolean isSpecial(short bits) {
        return (bits & 0x7C00) == 0x7C00;
    }

    /** The float value of the bfloat16 with these bits (the upper half of a float). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Half-float bits nearest to {@code f} (round to nearest even), for writing F16 and Q8_0 scales. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++;
        }
        return (short) (sign | half);
    }

    /** bfloat16 bits nearest to {@code f} (round to nearest even). */
    public static short bf16FromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    private static float convert(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
