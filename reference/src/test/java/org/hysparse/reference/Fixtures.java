package org.hysparse.reference;

import java.util.Random;
import org.hysparse.api.BlockGeometry;
import org.hysparse.api.KvCache;
import org.hysparse.api.KvPrecision;
import org.hysparse.api.Queries;

/** Seeded random inputs for the reference's own tests. */
final class Fixtures {
    private Fixtures() {
    }

    static float[] gaussian(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    static KvCache cache(Random rnd, int tokens, int kvHeads, int dim, int block) {
        KvCache c = new KvCache(kvHeads, dim, block, KvPrecision.FLOAT32);
        c.append(gaussian(rnd, tokens * kvHeads * dim), gaussian(rnd, tokens * kvHeads * dim), tokens);
        return c;
    }

    static Queries lastRows(Random rnd, int rows, int heads, int dim, int tokens) {
        return Queries.last(gaussian(rnd, rows * heads * dim), rows, heads, dim, tokens);
    }

    static BlockGeometry geometry(int block) {
        return BlockGeometry.of(block);
    }
}
