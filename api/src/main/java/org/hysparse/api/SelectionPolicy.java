package org.hysparse.api;

/** How TopK picks blocks (SPEC 2 and 5). Both keep the forced blocks first: the sink block 0 and the
 * {@code local} most recent visible blocks. */
public sealed interface SelectionPolicy permits SelectionPolicy.TopK, SelectionPolicy.MassTarget {

    boolean sink();

    int local();

    /** Fixed budget: {@code min(k, visible)} blocks. */
    record TopK(int k, boolean sink, int local) implements SelectionPolicy {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("k: expected >= 1 but got " + k);
            if (local < 0) throw new IllegalArgumentException("local: expected >= 0 but got " + local);
        }

        /** Sink on, one local block: the SPEC defaults. */
        public static TopK of(int k) {
            return new TopK(k, true, 1);
        }
    }

    /**
     * Mass-targeted (PrHS): add blocks by descending S until the S left out sums to at most
     * {@code delta}, or {@code kMax} blocks. Since every row's mass on a block is at most its S, the
     * left-out S bounds every row's dropped mass: {@code delta(i,g) <= delta} whenever kMax is not hit.
     * (Defined here: SPEC 5's "sum S >= 1 - delta" is the same rule when S sums to 1, i.e. one row and
     * one head per group, but alone does not bound the dropped mass of G > 1 heads or several rows.)
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
