package org.hysparse.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Checks and the kit share one tolerance: scores a conforming 16-bit backend may produce are accepted by select. */
class ChecksTest {
    private static SelectionRequest scoresAt(float v) {
        BlockGeometry g = BlockGeometry.of(16);
        QueryBlocks qb = QueryBlocks.of(new int[] {40}, g.queryBlockSize());
        BlockScores s = BlockScores.allocate(ScoreMode.MAX, g, qb, 1, 3);
        s.data()[0] = 0.25f;
        s.data()[1] = v;
        s.data()[2] = 0.5f;
        return new SelectionRequest(s, SelectionPolicy.TopK.paper(2));
    }

    @Test
    void scoresWithinTheLoosestKitToleranceAreAccepted() {
        Checks.selection(scoresAt(1f));
        Checks.selection(scoresAt((float) (1 + Tolerances.SCORE_ABS_16BIT * 0.9)));
        Checks.selection(scoresAt(Tolerances.SCORE_MAX));
    }

    @Test
    void scoresBeyondItAreRefusedNamingTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.selection(scoresAt(Math.nextUp(Tolerances.SCORE_MAX))));
        assertTrue(e.getMessage().startsWith("scores: ") && e.getMessage().contains("flat index 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Checks.selection(scoresAt(Float.NaN)));
        assertThrows(IllegalArgumentException.class, () -> Checks.selection(scoresAt(-1e-7f)));
    }
}
