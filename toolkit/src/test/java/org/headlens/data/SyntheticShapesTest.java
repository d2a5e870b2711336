package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticShapesTest {
    private static int[] pixels(ShapeSample s) {
        return s.image().getRGB(0, 0, s.image().getWidth(), s.image().getHeight(), null, 0, s.image().getWidth());
    }

    @Test
    void theSameSeedGivesTheSameSamplesAndAnotherSeedDoesNot() {
        ShapeSample a = new SyntheticShapes(64, 5).sample("x", 17);
        ShapeSample b = new SyntheticShapes(64, 5).sample("x", 17);
        ShapeSample c = new SyntheticShapes(64, 6).sample("x", 17);
        assertArrayEquals(pixels(a), pixels(b));
        assertNotEquals(java.util.Arrays.hashCode(pixels(a)), java.util.Arrays.hashCode(pixels(c)));
    }

    @Test
    void splitsAreBalancedAndVaried() {
        List<ShapeSample> samples = new SyntheticShapes(64, 1).samples("t", 64);
        Set<String> combos = new HashSet<>();
        Set<String> backgrounds = new HashSet<>();
        Set<String> colours = new HashSet<>();
        for (ShapeSample s : samples) {
            combos.add(s.shape() + "/" + s.style());
            backgrounds.add(s.background());
            colours.add(s.colour());
            int covered = 0;
            for (boolean[] row : s.mask()) {
                for (boolean b : row) {
                    covered += b ? 1 : 0;
                }
            }
            // an object is neither a speck nor the whole image, and lies inside its box
            assertTrue(covered > 64 && covered < 64 * 64 / 2, s.id() + " covers " + covered);
            assertTrue(s.box()[2] * s.box()[3] >= covered);
        }
        assertEquals(8 * 4, combos.size(), "every class in every style");
        assertEquals(4, backgrounds.size());
        assertTrue(colours.size() >= 5);
    }

    @Test
    void easySamplesAreFilledUprightAndPlain() {
        SyntheticShapes generator = new SyntheticShapes(64, 4);
        for (int i = 0; i < 16; i++) {
            ShapeSample easy = generator.sample("t", i, true);
            assertEquals("filled", easy.style());
            assertEquals("plain", easy.background());
            assertEquals(generator.sample("t", i).shape(), easy.shape());
            if (easy.shape().equals("square")) {
                // an upright filled square fills its bounding box
                int covered = 0;
                for (boolean[] row : easy.mask()) {
                    for (boolean b : row) {
                        covered += b ? 1 : 0;
                    }
                }
                assertTrue(covered >= 0.9 * easy.box()[2] * easy.box()[3], "covered " + covered);
            }
        }
    }

    @Test
    void datasetRoundTripsThroughPngAndCsv(@TempDir Path dir) throws Exception {
        List<ShapeSample> samples = new SyntheticShapes(64, 3).samples("eval", 5);
        ShapesDataset.write(dir, samples);
        List<ShapesDataset.Entry> entries = ShapesDataset.read(dir);
        assertEquals(5, entries.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(samples.get(i).shape(), entries.get(i).shape());
            assertArrayEquals(pixels(samples.get(i)), pixels(new ShapeSample("", org.headlens.model.Images.read(entries.get(i).image()),
                    null, "", "", "", "", null)));
            assertTrue(java.util.Arrays.deepEquals(samples.get(i).mask(), entries.get(i).readMask()));
        }
        Files.writeString(dir.resolve("labels.csv"), "id,image\n");
        HeadlensException e = assertThrows(HeadlensException.class, () -> ShapesDataset.read(dir));
        assertTrue(e.getMessage().contains("labels.csv"), e.getMessage());
    }
}
