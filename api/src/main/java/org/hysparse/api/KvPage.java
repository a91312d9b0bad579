package org.hysparse.api;

/**
 * One page of KV storage: a flat array of rows {@code [tokens][kvHeads][headDim]}.
 * Kernels pattern-match on the two cases to read the raw array without a virtual call per element.
 */
public sealed interface KvPage permits KvPage.F32, KvPage.Half {

    KvPrecision precision();

    /** Element at flat index {@code i}, converted to float. */
    float get(int i);

    /** Copies {@code len} elements starting at flat index {@code from} into {@code dst}, converted to float. */
    void read(int from, float[] dst, int dstOffset, int len);

    /** float32 storage. */
    record F32(float[] data) implements KvPage {
        @Override public KvPrecision precision() { return KvPrecision.FLOAT32; }
        @Override public float get(int i) { return data[i]; }
        @Override public void read(int from, float[] dst, int dstOffset, int len) {
            System.arraycopy(data, from, dst, dstOffset, len);
        }
    }

    /** float16 or bfloat16 storage, 2 bytes an element. */
    record Half(KvPrecision precision, short[] data) implements KvPage {
        public Half {
            if (precision == KvPrecision.FLOAT32) {
                throw new IllegalArgumentException("precision: expected FLOAT16 or BFLOAT16 but got FLOAT32");
            }
        }
        @Override public float get(int i) { return precision.decode(data[i]); }
        @Override public void read(int from, float[] dst, int dstOffset, int len) {
            if (precision == KvPrecision.FLOAT16) {
                // Plain indexed loop: C2 vectorises float16 -> float conversion of such loops.
                for (int i = 0; i < len; i++) dst[dstOffset + i] = Float.float16ToFloat(data[from + i]);
            } else {
                for (int i = 0; i < len; i++) dst[dstOffset + i] = Float.intBitsToFloat((data[from + i] & 0xFFFF) << 16);
            }
        }
    }

    static KvPage allocate(KvPrecision precision, int elements) {
        return precision == KvPrecision.FLOAT32
                ? new F32(new float[elements])
                : new Half(precision, new short[elements]);
    }

    /** Stores {@code len} floats from {@code src} at flat index {@code to}, rounding to the page precision. */
    static void write(KvPage page, int to, float[] src, int srcOffset, int len) {
        switch (page) {
            case F32 f -> System.arraycopy(src, srcOffset, f.data(), to, len);
            case Half h -> {
                for (int i = 0; i < len; i++) h.data()[to + i] = h.precision().encode(src[srcOffset + i]);
            }
        }
    }
}
