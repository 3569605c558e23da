package org.halyard.kvcache.impl.kernel;

/**
 * Whether the kernels use the Vector API, and how wide. Decided once, when the kernels are first
 * used: {@code -Dhalyard.vector.bits=0} turns vectors off (the scalar code is the reference, as in
 * the engine); {@code 128}, {@code 256} or {@code 512} caps the width; unset means the widest the
 * CPU has. Without the {@code jdk.incubator.vector} module (a JVM started without
 * {@code --add-modules jdk.incubator.vector}, a framework that does not export it) the kernels run
 * scalar.
 *
 * <p>This class never touches a Vector API type, so it loads where the module is missing.
 */
public final class Vectors {

    /** The system property that caps (0: disables) the vector width, in bits. */
    public static final String BITS_PROPERTY = "halyard.vector.bits";

    /** The vector width the kernels use in bits; 0 when they run scalar. */
    public static final int BITS = resolveBits();

    /** Whether the kernels use the Vector API. */
    public static final boolean ENABLED = BITS > 0;

    private Vectors() {
    }

    private static int resolveBits() {
        int requested;
        try {
            requested = Integer.parseInt(System.getProperty(BITS_PROPERTY, "-1").trim());
        } catch (NumberFormatException e) {
            requested = -1;
        }
        if (requested == 0) {
            return 0;
        }
        try {
            Class.forName("jdk.incubator.vector.FloatVector", false, Vectors.class.getClassLoader());
            return VectorProbe.resolveBits(requested);
        } catch (ClassNotFoundException | LinkageError e) {
            return 0;
        }
    }

    /** One line for logs and the shell: {@code vector 256-bit} or {@code scalar}. */
    public static String describe() {
        return ENABLED ? "vector " + BITS + "-bit" : "scalar";
    }
}
