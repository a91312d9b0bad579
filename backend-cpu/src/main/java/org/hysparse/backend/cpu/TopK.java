package org.hysparse.backend.cpu;

import org.hysparse.api.BlockScores;
import org.hysparse.api.SelectionPolicy;

/**
 * SPEC 2 and 5 in O(nb log k) per (KV head, query block): forced blocks, then a bounded min-heap keeps
 * the best {@code budget} of the rest by (S descending, index ascending). The dropped-S bookkeeping
 * is done in the same order as the reference (sum in index order, subtract in order of choice) so the
 * stopping point of mass-targeted selection agrees to the last bit.
 */
final class TopK {
    private TopK() {
    }

    static int[] select(BlockScores s, int h, int qb, int visible, SelectionPolicy policy) {
        int budget = switch (policy) {
            case SelectionPolicy.TopK t -> t.k();
            case SelectionPolicy.MassTarget m -> m.kMax();
        };
        budget = Math.min(budget, visible);
        int base = s.index(h, qb, 0);
        float[] sc = s.data();
        // At most 1 + local forced blocks: a short list, so nothing here grows with T.
        int[] forced = new int[Math.min(budget, 1 + policy.local())];
        int n = 0;
        if (policy.sink() && visible > 0 && n < budget) forced[n++] = 0;
        for (int l = 0; l < policy.local() && visible - 1 - l >= 0 && n < budget; l++) {
            if (!contains(forced, n, visible - 1 - l)) forced[n++] = visible - 1 - l;
        }
        // Bounded heap of the best remaining candidates; the root is the worst kept.
        int cap = budget - n;
        int[] heap = new int[Math.max(cap, 0)];
        int size = 0;
        double leftOut = 0;
        for (int j = 0; j < visible; j++) {
            if (contains(forced, n, j)) continue;
            leftOut += sc[base + j];
            if (cap == 0) continue;
            if (size < cap) {
                heap[size] = j;
                siftUp(heap, size++, sc, base);
            } else if (better(j, heap[0], sc, base)) {
                heap[0] = j;
                siftDown(heap, size, sc, base);
            }
        }
        // Best first: pop the heap from worst to best into the tail.
        int[] order = new int[size];
        for (int i = size - 1; i >= 0; i--) {
            order[i] = heap[0];
            heap[0] = heap[--size];
            siftDown(heap, size, sc, base);
        }
        int taken = order.length;
        if (policy instanceof SelectionPolicy.MassTarget m) {
            taken = 0;
            while (taken < order.length && !(leftOut <= m.delta())) leftOut -= sc[base + order[taken++]];
        }
        int[] out = new int[n + taken];
        System.arraycopy(forced, 0, out, 0, n);
        System.arraycopy(order, 0, out, n, taken);
        java.util.Arrays.sort(out);
        return out;
    }

    private static boolean contains(int[] a, int n, int x) {
        for (int i = 0; i < n; i++) if (a[i] == x) return true;
        return false;
    }

    /** Higher S wins; equal S goes to the lower index. */
    private static boolean better(int a, int b, float[] sc, int base) {
        float x = sc[base + a], y = sc[base + b];
        return x > y || (x == y && a < b);
    }

    private static void siftUp(int[] heap, int i, float[] sc, int base) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!better(heap[parent], heap[i], sc, base)) break;
            int t = heap[parent]; heap[parent] = heap[i]; heap[i] = t;
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, float[] sc, int base) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && better(heap[worst], heap[l], sc, base)) worst = l;
            if (r < size && better(heap[worst], heap[r], sc, base)) worst = r;
            if (worst == i) return;
            int t = heap[worst]; heap[worst] = heap[i]; heap[i] = t;
            i = worst;
        }
    }
}
