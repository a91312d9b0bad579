package org.hysparse.api;

/**
 * How TopK picks blocks (SPEC 2 and 5). Both keep the forced blocks first: the sink block 0 and the
 * {@code local} most recent visible blocks. Sealed: SPEC 2 and 5 define exactly these two rules, and every
 * backend's selection switches over them.
 *
 * <p>{@link TopK#paper()} is the paper's selection (SPEC 6: 16 blocks of 64 = 1024 tokens, nothing forced,
 * over {@link ScoreMode#MAX} scores, beside a {@value #PAPER_WINDOW}-token window branch);
 * {@link TopK#of(int)} is v1's (sink and one local block forced).
 */
public sealed interface SelectionPolicy permits SelectionPolicy.TopK, SelectionPolicy.MassTarget {

    /** The paper's block size {@code B} (SPEC 6). */
    int PAPER_BLOCK_SIZE = 64;
    /** The paper's TopK: 1024 tokens = 16 blocks of 64. */
    int PAPER_TOP_K = 16;
    /** The paper's SWA window {@code W}. */
    int PAPER_WINDOW = 128;

    boolean sink();

    int local();

    /** Fixed budget: {@code min(k, visible)} blocks. */
    record TopK(int k, boolean sink, int local) implements SelectionPolicy {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("k: expected >= 1 but got " + k);
            if (local < 0) throw new IllegalArgumentException("local: expected >= 0 but got " + local);
        }

        /** v1's policy: sink on, one local block forced, then the best of the rest. */
        public static TopK of(int k) {
            return new TopK(k, true, 1);
        }

        /** The paper's policy: the 16 best blocks, none forced (its window branch covers the recent tokens). */
        public static TopK paper() {
            return paper(PAPER_TOP_K);
        }

        /** The paper's policy at another budget: the {@code k} best blocks, none forced. */
        public static TopK paper(int k) {
            return new TopK(k, false, 0);
        }
    }

    /**
     * Mass-targeted (PrHS): add blocks by descending S until the S left out sums to at most
     * {@code delta}, or {@code kMax} blocks. Since every row's mass on a block is at most its S, the
     * left-out S bounds every row's dropped mass: {@code delta(i,g) <= delta} whenever kMax is not hit.
     * (Defined here: SPEC 5's "sum S >= 1 - delta" is the same rule when S sums to 1, i.e. one row and
     * one head per group, but alone does not bound the dropped mass of G > 1 heads or several rows.)
     * Needs {@link ScoreMode#MASS} scores; over {@code MAX} scores it is an error naming the mode.
     */
    record MassTarget(double delta, int kMax, boolean sink, int local) implements SelectionPolicy {
        public MassTarget {
            if (!(delta >= 0 && delta < 1)) {
                throw new IllegalArgumentException("delta: expected 0 <= delta < 1 but got " + delta);
            }
            if (kMax < 1) throw new IllegalArgumentException("kMax: expected >= 1 but got " + kMax);
            if (local < 0) throw new IllegalArgumentException("local: expected >= 0 but got " + local);
        }

        public static MassTarget of(double delta, int kMax) {
            return new MassTarget(delta, kMax, true, 1);
        }
    }
}
