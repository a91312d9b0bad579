package org.hysparse.api;

/**
 * Run in a child JVM with a small heap by {@link OutOfHeapTest}: appends until the heap is exhausted and checks
 * that the failure is an {@link OutOfHeapException} that left the cache as it was.
 */
public final class HeapProbe {
    public static void main(String[] args) {
        int hkv = 8, dim = 128, chunk = 1024;
        float[] k = new float[chunk * hkv * dim], v = new float[chunk * hkv * dim];
        for (int i = 0; i < k.length; i++) { k[i] = (i % 7) - 3; v[i] = (i % 5) - 2; }
        KvCache cache = new KvCache(hkv, dim, 64, KvPrecision.FLOAT32);
        float[] row = new float[dim];
        for (int n = 0; n < 1_000_000; n++) {
            int before = cache.length();
            try {
                cache.append(k, v, chunk);
            } catch (OutOfHeapException e) {
                cache.readKey(before - 1, hkv - 1, row);
                boolean intact = cache.length() == before && row[dim - 1] == k[(chunk - 1) * hkv * dim + (hkv - 1) * dim + dim - 1];
                System.out.println((intact ? "INTACT " : "CHANGED ") + before + " " + e.bytes() + " " + e.getMessage());
                return;
            }
        }
        System.out.println("NEVER");
    }
}
