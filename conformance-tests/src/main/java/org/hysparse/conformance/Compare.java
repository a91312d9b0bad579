package org.hysparse.conformance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.hysparse.api.BlockScores;
import org.hysparse.api.BlockSelection;

/** Comparisons against the reference. Written as {@code !(error <= tol)} so that NaN always fails. */
final class Compare {
    private Compare() {
    }

    /** Relative L2 error per {@code (row, head)} vector of {@code dim} elements. */
    static void rows(Rule rule, String context, float[] got, float[] want, int heads, int dim, double tol) {
        int vectors = want.length / dim;
        if (got.length != want.length) {
            throw new RuleFailure(rule, context + ": output has " + got.length + " elements, reference " + want.length);
        }
        for (int v = 0; v < vectors; v++) {
            double err = 0, norm = 0;
            int worst = v * dim;
            double worstDiff = -1;
            for (int d = 0; d < dim; d++) {
                int i = v * dim + d;
                double diff = (double) got[i] - want[i];
                err += diff * diff;
                norm += (double) want[i] * want[i];
                if (!(Math.abs(diff) <= worstDiff)) { worstDiff = Math.abs(diff); worst = i; }
            }
            double rel = Math.sqrt(err) / Math.max(Math.sqrt(norm), Float.MIN_NORMAL);
            if (!(rel <= tol)) {
                throw new RuleFailure(rule, context + ": row " + v / heads + " head " + v % heads + " relative L2 error "
                        + rel + " > " + tol + "; worst element index " + worst + ": backend " + got[worst]
                        + " vs reference " + want[worst]);
            }
        }
    }

    /** Absolute error per element. */
    static void scores(Rule rule, String context, BlockScores got, BlockScores want, double tol) {
        float[] g = got.data(), w = want.data();
        for (int i = 0; i < w.length; i++) {
            double diff = Math.abs((double) g[i] - w[i]);
            if (!(diff <= tol)) {
                int nb = want.kvBlocks(), nqb = want.queryBlocks().count();
                throw new RuleFailure(rule, context + ": S[h=" + (i / nb / nqb) + "][qb=" + (i / nb % nqb) + "][j=" + (i % nb)
                        + "] (flat index " + i + ") backend " + g[i] + " vs reference " + w[i] + ", |diff| " + diff + " > " + tol);
            }
        }
    }

    static void exactly(Rule rule, String context, BlockSelection got, BlockSelection want) {
        for (int i = 0; i < want.blocks().length; i++) {
            if (!Arrays.equals(got.blocks()[i], want.blocks()[i])) {
                throw new RuleFailure(rule, context + ": list " + i + " (h=" + i / want.queryBlocks().count() + ", qb="
                        + i % want.queryBlocks().count() + ") backend " + Arrays.toString(got.blocks()[i])
                        + " vs reference " + Arrays.toString(want.blocks()[i]));
            }
        }
    }

    /**
     * SPEC near-tie rule: equal, or every block swapped in pairs with a swapped-out block whose reference
     * score is within {@code tol} (matched in score order).
     */
    static void nearTies(Rule rule, String context, BlockSelection got, BlockSelection want, BlockScores refScores, double tol) {
        int nqb = want.queryBlocks().count();
        for (int i = 0; i < want.blocks().length; i++) {
            int[] g = got.blocks()[i], w = want.blocks()[i];
            if (Arrays.equals(g, w)) continue;
            int h = i / nqb, qb = i % nqb;
            List<Integer> in = new ArrayList<>(), out = new ArrayList<>();
            for (int b : g) if (Arrays.binarySearch(w, b) < 0) in.add(b);
            for (int b : w) if (Arrays.binarySearch(g, b) < 0) out.add(b);
            boolean ok = g.length == w.length && in.size() == out.size();
            if (ok) {
                in.sort((a, b) -> Float.compare(refScores.get(h, qb, a), refScores.get(h, qb, b)));
                out.sort((a, b) -> Float.compare(refScores.get(h, qb, a), refScores.get(h, qb, b)));
                for (int n = 0; n < in.size() && ok; n++) {
                    ok = Math.abs(refScores.get(h, qb, in.get(n)) - refScores.get(h, qb, out.get(n))) <= tol;
                }
            }
            if (!ok) {
                throw new RuleFailure(rule, context + ": selection (h=" + h + ", qb=" + qb + ") backend " + Arrays.toString(g)
                        + " vs reference " + Arrays.toString(w) + "; swapped in " + in + ", out " + out
                        + " are not near-ties within " + tol);
            }
        }
    }

    static void bitwise(Rule rule, String context, float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                throw new RuleFailure(rule, context + ": element " + i + " first " + a[i] + " then " + b[i]);
            }
        }
    }
}
