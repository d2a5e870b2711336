package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HeadMaskTest {
    @Test
    void aRandomMaskOfAGridIsTheSameDrawAsFromItsSizes() {
        Heads grid = new Heads(3, 5);
        HeadMask fromGrid = HeadMask.random(grid, 0.3, new Random(11));
        assertEquals(HeadMask.random(3, 5, 0.3, new Random(11)), fromGrid);
        assertEquals(grid, fromGrid.grid());
    }

    @Test
    void keptIndicatorsFollowTheFlatHeadIndex() {
        // a grid that is not square, so that a layer/head mix-up moves the zeros
        Heads grid = new Heads(3, 2);
        HeadMask mask = HeadMask.of(grid, List.of(new Head(1, 0), new Head(2, 1)));
        double[] kept = mask.keptIndicators();
        assertEquals(grid.count(), kept.length);
        assertArrayEquals(new double[] {1, 1, 0, 1, 1, 0}, kept);
        assertEquals(0, kept[grid.index(new Head(1, 0))]);
        assertArrayEquals(new double[] {0, 0, 1, 0, 0, 1}, mask.inverted().keptIndicators());
    }
}
