package org.hysparse.api;

/** Storage precision of KV caches. Arithmetic always accumulates in float32 or better. */
public enum KvPrecision {
    FLOAT32(4), FLOAT16(2), BFLOAT16(2);

    private final int bytes;

    KvPrecision(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes one stored element takes. */
    public int bytes() {
        return bytes;
    }

    /** Encodes a float into this 16-bit format (round to nearest even). Not defined for FLOAT32. */
    public short encode(float value) {
        return switch (this) {
            case FLOAT16 -> Float.floatToFloat16(value);
            case BFLOAT16 -> {
                int bits = Float.floatToRawIntBits(value);
                // Round to nearest even on the 16 dropped bits; NaN is rejected before storage.
                int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
                yield (short) (rounded >>> 16);
            }
            case FLOAT32 -> throw new IllegalStateException("FLOAT32 is not a 16-bit format");
        };
    }

    /** Decodes a 16-bit stored value back to float. Not defined for FLOAT32. */
    public float decode(short stored) {
        return switch (this) {
            case FLOAT16 -> Float.float16ToFloat(stored);
            case BFLOAT16 -> Float.intBitsToFloat((stored & 0xFFFF) << 16);
            case FLOAT32 -> throw new IllegalStateException("FLOAT32 is not a 16-bit format");
        };
    }

    /** The value a float becomes once stored in this precision. */
    public float roundTrip(float value) {
        return this == FLOAT32 ? value : decode(encode(value));
    }

    /** Parses "fp32", "float16", "bf16", ... case-insensitively. */
    public static KvPrecision parse(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "fp32", "f32", "float32" -> FLOAT32;
            case "fp16", "f16", "float16", "half" -> FLOAT16;
            case "bf16", "bfloat16" -> BFLOAT16;
            default -> throw new IllegalArgumentException(
                    "kv precision: expected one of fp32, fp16, bf16 but got '" + name + "'");
        };
    }

    /** Short name as used on command lines: fp32, fp16, bf16. */
    public String shortName() {
        return switch (this) {
            case FLOAT32 -> "fp32";
            case FLOAT16 -> "fp16";
            case BFLOAT16 -> "bf16";
        };
    }
}
