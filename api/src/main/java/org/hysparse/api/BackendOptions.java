package org.hysparse.api;

import java.util.LinkedHashMap;
import java.util.Map;

/** Provider options as {@code key=value} pairs, e.g. {@code threads=2} or {@code device=0:1}. */
public record BackendOptions(Map<String, String> values) {
    public BackendOptions {
        values = Map.copyOf(values);
    }

    public static BackendOptions none() {
        return new BackendOptions(Map.of());
    }

    /** Parses {@code "threads=2,device=0"}; blank gives no options. */
    public static BackendOptions parse(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        if (text != null && !text.isBlank()) {
            for (String part : text.split(",")) {
                int eq = part.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("options: expected key=value pairs separated by ',' but got '" + part + "'");
                }
                m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
            }
        }
        return new BackendOptions(m);
    }

    public BackendOptions with(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(values);
        m.put(key, value);
        return new BackendOptions(m);
    }

    public String get(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    public int getInt(String key, int fallback) {
        String v = values.get(key);
        if (v == null) return fallback;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + ": expected an integer but got '" + v + "'", e);
        }
    }

    /** A size in bytes: a plain number, or with a unit B, KB, MB, GB, TB (powers of 1024, case-insensitive), e.g. 16GB. */
    public long getBytes(String key, long fallback) {
        String v = values.get(key);
        return v == null ? fallback : parseBytes("option " + key, v);
    }

    /** {@code text} as bytes (see {@link #getBytes}); {@code name} leads the error. */
    public static long parseBytes(String name, String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)\\s*(\\d+)\\s*([KMGT]?B?)\\s*").matcher(text);
        if (!m.matches()) throw new IllegalArgumentException(name + ": expected a size such as 512MB or 16GB but got '" + text + "'");
        String unit = m.group(2).toUpperCase(java.util.Locale.ROOT);
        int shift = unit.isEmpty() || unit.equals("B") ? 0 : 10 * ("KMGT".indexOf(unit.charAt(0)) + 1);
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException(name + ": expected a size below 8 EB but got '" + text + "'");
        }
    }
}
