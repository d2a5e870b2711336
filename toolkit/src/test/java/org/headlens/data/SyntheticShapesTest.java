package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
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
        List<Sample> entries = ShapesDataset.read(dir);
        assertEquals(5, entries.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(samples.get(i).shape(), entries.get(i).answer());
            assertArrayEquals(pixels(samples.get(i)), pixels(new ShapeSample("", org.headlens.model.Images.read(entries.get(i).image()),
                    null, "", "", "", "", null)));
            assertTrue(java.util.Arrays.deepEquals(samples.get(i).mask(), entries.get(i).readMask()));
        }
        Files.writeString(dir.resolve("labels.csv"), "id,image\n");
        HeadlensException e = assertThrows(HeadlensException.class, () -> ShapesDataset.read(dir));
        assertTrue(e.getMessage().contains("labels.csv"), e.getMessage());
    }

    /**
     * labels.csv as spreadsheets and pandas write it: quoted fields with commas, quotes and line
     * breaks, a byte-order mark, CRLF, an id starting with '#'. Rows with another number of
     * fields than the header, repeated ids and overlong fields are refused naming file and line.
     */
    @Test
    void labelsCsvIsReadAsCsvAndMalformedRowsAreRefusedByLine(@TempDir Path dir) throws Exception {
        List<ShapeSample> samples = new SyntheticShapes(64, 3).samples("eval", 2);
        ShapeSample first = samples.get(0);
        String colour = "dark \"red\", bright\nand warm";
        ShapesDataset.write(dir, List.of(new ShapeSample("#1", first.image(), first.mask(), first.shape(), first.style(), colour,
                first.background(), first.box()), samples.get(1)));
        Path labels = dir.resolve("labels.csv");
        List<Sample> entries = ShapesDataset.read(dir);
        assertEquals(2, entries.size());
        assertEquals("#1", entries.get(0).id());
        assertEquals(colour, entries.get(0).label("colour"));
        assertEquals(first.background(), entries.get(0).label("background"));

        String written = Files.readString(labels);
        Files.write(labels, ("\uFEFF" + written.replace("\n", "\r\n")).getBytes(StandardCharsets.UTF_8));
        entries = ShapesDataset.read(dir);
        assertEquals(List.of("#1", samples.get(1).id()), entries.stream().map(Sample::id).toList());
        assertEquals(colour, entries.get(0).label("colour"), "a CRLF inside quotes reads as a line break");
        assertEquals(dir.resolve("images/#1.png").normalize(), entries.get(0).image());

        String header = "id,image,mask,shape,style,colour,background,x,y,width,height\n";
        String good = "a,images/a.png,masks/a.png,circle,filled,red,plain,1,2,3,4\n";
        Map<String, String> refused = Map.of(
                header + good + "b,images/b.png,masks/b.png,circle,filled,dark,red,plain,1,2,3,4\n", "line 3 has 12 fields but the header has 11",
                header + good + "\nc,images/c.png,masks/c.png,circle\n", "line 4 has 4 fields but the header has 11",
                header + good + good, "line 3 repeats the id \"a\" of line 2",
                header + "d,images/" + "d".repeat(5000) + ".png,,circle,filled,red,plain,1,2,3,4\n", "line 2 cannot be read as CSV",
                header + ",images/e.png,,circle,filled,red,plain,1,2,3,4\n", "line 2 has an empty id",
                "\uFEFFid;image;mask\n", "first line must be the header");
        for (var bad : refused.entrySet()) {
            Files.writeString(labels, bad.getKey());
            HeadlensException e = assertThrows(HeadlensException.class, () -> ShapesDataset.read(dir), bad.getValue());
            assertTrue(e.getMessage().startsWith(labels.toString()) && e.getMessage().contains(bad.getValue()), e.getMessage());
        }
    }

    /** The image and mask columns may not leave the dataset folder, checked before anything is opened. */
    @Test
    void imageAndMaskPathsMayNotLeaveTheDatasetFolder(@TempDir Path parent) throws Exception {
        Path dir = Files.createDirectories(parent.resolve("data"));
        Path labels = dir.resolve("labels.csv");
        String header = "id,image,mask,shape,style,colour,background,x,y,width,height\n";
        for (String column : new String[] {"image", "mask"}) {
            for (String path : new String[] {"../../etc/passwd", "/etc/passwd", "images/../../data2/a.png", dir.resolve("a.png").toString(),
                "bad\u0000name"}) {
                String image = column.equals("image") ? path : "images/a.png";
                String mask = column.equals("mask") ? path : "masks/a.png";
                Files.writeString(labels, header + "a," + image + "," + mask + ",circle,filled,red,plain,1,2,3,4\n");
                HeadlensException e = assertThrows(HeadlensException.class, () -> ShapesDataset.read(dir), path);
                assertTrue(e.getMessage().startsWith(labels + ": line 2: the " + column + " path \"" + path.replace("\u0000", "\\u0000") + "\""),
                        e.getMessage());
            }
        }
        Files.writeString(labels, header + "a,./images/../images/a.png,masks/a.png,circle,filled,red,plain,1,2,3,4\n");
        assertEquals(dir.resolve("images/a.png"), ShapesDataset.read(dir).get(0).image());
    }

    /** A mask must have its image's size: resampling a mismatched one would mark the wrong patches. */
    @Test
    void aMaskOfAnotherSizeThanItsImageIsRefused(@TempDir Path dir) throws Exception {
        ShapesDataset.write(dir, new SyntheticShapes(64, 3).samples("eval", 1));
        Sample entry = ShapesDataset.read(dir).get(0);
        ImageIO.write(new BufferedImage(32, 48, BufferedImage.TYPE_BYTE_BINARY), "png", ((org.headlens.data.ObjectMask.MaskFile) entry.mask()).file().toFile());
        HeadlensException e = assertThrows(HeadlensException.class, entry::readMask);
        assertTrue(e.getMessage().startsWith(((org.headlens.data.ObjectMask.MaskFile) entry.mask()).file() + ": mask is 32x48 but its image " + entry.image() + " is 64x64"), e.getMessage());
    }
}
