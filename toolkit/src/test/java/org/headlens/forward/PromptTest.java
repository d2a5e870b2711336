package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.headlens.HeadlensException;
import org.headlens.forward.TokenGroup;
import org.junit.jupiter.api.Test;

class PromptTest {
    /** 2 prefix tokens, 16 image tokens (4x4 patches), question of 3, role of 2. */
    private static Prompt prompt() {
        long[] ids = new long[2 + 16 + 5];
        java.util.Arrays.fill(ids, 2, 18, 99);
        return new Prompt(ids, new TokenLayout(ids, 2, 16), 2, null);
    }

    @Test
    void groupsAreResolvedFromTheLayout() {
        Prompt p = prompt();
        assertArrayEquals(new int[] {0, 1}, p.positions(TokenGroup.PREFIX_TEXT));
        assertArrayEquals(new int[] {18, 19, 20}, p.positions(TokenGroup.QUESTION));
        assertArrayEquals(new int[] {21, 22}, p.positions(TokenGroup.ROLE));
        assertArrayEquals(new int[] {22}, p.positions(TokenGroup.FINAL));
        assertArrayEquals(new int[] {18, 19, 20, 21, 22}, p.positions(TokenGroup.SUFFIX_TEXT));
        HeadlensException e = assertThrows(HeadlensException.class, () -> p.positions(TokenGroup.IMAGE_OBJECT));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("object mask"));
    }

    @Test
    void objectMaskIsMappedOntoThePatchGridByCoveredFraction() {
        // 8x8 pixels, 2x2 pixels per patch; object covers rows 0-3, columns 2-4
        boolean[][] mask = new boolean[8][8];
        for (int y = 0; y < 4; y++) {
            for (int x = 2; x <= 4; x++) {
                mask[y][x] = true;
            }
        }
        Prompt half = prompt().withObjectMask(mask, 4, 0.5);
        // patch columns: 1 fully covered (x 2-3), 2 half covered (x 4); rows 0-1
        assertArrayEquals(new int[] {3, 4, 7, 8}, half.positions(TokenGroup.IMAGE_OBJECT));
        Prompt full = prompt().withObjectMask(mask, 4, 1.0);
        assertArrayEquals(new int[] {3, 7}, full.positions(TokenGroup.IMAGE_OBJECT));
        org.junit.jupiter.api.Assertions.assertEquals(14, full.positions(TokenGroup.IMAGE_BACKGROUND).length);
    }

    @Test
    void theRandomControlHasAsManyImageTokensAsTheObjectAndIsReproducible() {
        boolean[] patches = new boolean[16];
        patches[5] = patches[6] = patches[9] = true;
        Prompt p = prompt().withObjectPatches(patches);
        int[] random = p.positions(TokenGroup.IMAGE_RANDOM);
        org.junit.jupiter.api.Assertions.assertEquals(3, random.length);
        for (int position : random) {
            org.junit.jupiter.api.Assertions.assertTrue(position >= 2 && position < 18, "inside the image: " + position);
        }
        assertArrayEquals(random, prompt().withObjectPatches(patches).positions(TokenGroup.IMAGE_RANDOM), "same mask, same subset");
        patches[9] = false;
        patches[10] = true;
        int[] other = prompt().withObjectPatches(patches).positions(TokenGroup.IMAGE_RANDOM);
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(random, other), "another mask draws another subset");
    }
}
