package org.hysparse.backend.tornado;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** How a pool's device copy is sized (no device needed). */
class CapsTest {
    @Test
    void largeRoomIsRoundedInEighthsSmallRoomToPowersOfTwo() {
        for (long n : new long[] {1_000_001, 1_500_000, 1_179_648, 2_000_000_000}) {
            long r = DeviceCache.eighths(n), step = Long.highestOneBit(n - 1) / 8;
            assertTrue(r >= n && r < n + step && r % step == 0, n + " -> " + r);
            assertTrue(r <= n * 1.125 + 1, n + " -> " + r);
        }
        assertThrows(IllegalArgumentException.class, () -> DeviceCache.eighths(3L << 30));
        var small = DeviceCache.Caps.of(new DeviceCache.Caps(71, 12, 1, 1, 0, 0, 71, 1));
        assertEquals(128, small.tokens(), "a quarter spare, then the power of two");
        var longContext = DeviceCache.Caps.of(new DeviceCache.Caps(131_072, 32, 1, 1, 0, 0, 131_072, 1));
        assertEquals(163_840, longContext.tokens(), "a quarter spare in eighths past 64k tokens, not 256k");
        assertEquals(163_840, longContext.seq());
        // 64 sequences of about 18k tokens in one pool: room within 2^31 elements for Hkv 8 x D 128.
        var pool = DeviceCache.Caps.of(new DeviceCache.Caps(1_180_000, 32, 1, 128, 64, 16, 32_768, 1));
        assertTrue((long) pool.tokens() * 8 * 128 < Integer.MAX_VALUE, "pool room " + pool.tokens());
        assertEquals(65_536, pool.seq(), "a sequence's room is its own, not the pool's");
    }

    @Test
    void mmaScratchCoversTheMostTiledWorkGroupsACallCanHave() {
        // Tiled calls have at most half as many tiles as rows: vec / 8 units for groups of 4 heads; splits at most one a
        // chunk and together within SPLIT_GROUPS / 4; sparse adds a window work-group a unit.
        assertEquals(48 * 3, DeviceCache.scratchGroups(384, 3, false), "few chunks: every unit split per chunk");
        assertEquals(DeviceCache.SPLIT_GROUPS / 4, DeviceCache.scratchGroups(384, 1024, false), "long: splits capped");
        assertEquals(16_384, DeviceCache.scratchGroups(131_072, 1024, false), "a 4096-row prefill: one split a unit");
        assertEquals(2 * 16_384, DeviceCache.scratchGroups(131_072, 1024, true));
        for (int units = 1; units <= 20_000; units += 97) {
            for (int chunks = 1; chunks <= 2048; chunks *= 2) {
                long splits = Math.max(1, Math.min(Math.min(DeviceCache.MAX_SPLITS, chunks), DeviceCache.SPLIT_GROUPS / (4L * units)));
                assertTrue(units * splits <= DeviceCache.scratchGroups(8 * units, chunks, false), units + " units, " + chunks + " chunks");
                assertTrue(units * (splits + 1) <= DeviceCache.scratchGroups(8 * units, chunks, true), units + " units, " + chunks + " chunks, sparse");
            }
        }
    }

    @Test
    void ringsGrowFourfold() {
        var c = DeviceCache.Caps.of(new DeviceCache.Caps(1000, 32, 1, 128, 1, 16, 1000, 1));
        assertEquals(DeviceCache.MIN_RINGS, c.rings());
        var grown = c.grow(new DeviceCache.Caps(1000, 32, 1, 128, DeviceCache.MIN_RINGS + 1, 16, 1000, 1));
        assertEquals(DeviceCache.bucket(4L * (DeviceCache.MIN_RINGS + 1)), grown.rings());
        assertTrue(grown.covers(new DeviceCache.Caps(1000, 32, 1, 128, 60, 16, 1000, 1)));
    }
}
