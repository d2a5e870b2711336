package org.headlens.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The four layouts read into the same samples: COCO instances (polygons, uncompressed and
 * compressed run-length masks checked pixel by pixel against pycocotools' output, crowd and
 * distractor instances, category ids with gaps), a CSV manifest with quoted fields, class
 * folders; bad images are named by file and line, or skipped and counted.
 */
class DatasetsTest {
    static void png(Path file, int width, int height) throws Exception {
        Files.createDirectories(file.getParent());
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, 0x336699);
        ImageIO.write(image, "png", file.toFile());
    }

    static boolean[][] grid(String... rows) {
        boolean[][] out = new boolean[rows.length][];
        for (int y = 0; y < rows.length; y++) {
            out[y] = new boolean[rows[y].length()];
            for (int x = 0; x < rows[y].length(); x++) {
                out[y][x] = rows[y].charAt(x) == '1';
            }
        }
        return out;
    }

    static String show(boolean[][] mask) {
        StringBuilder s = new StringBuilder();
        for (boolean[] row : mask) {
            for (boolean b : row) {
                s.append(b ? '1' : '0');
            }
            s.append('\n');
        }
        return s.toString();
    }

    private static final String COCO = """
            {"info": {}, "categories": [{"id": 7, "name": "cat", "supercategory": "animal"}, {"id": 3, "name": "dog"},
                                        {"id": 42, "name": "bird", "supercategory": "animal"}],
             "images": [
               {"id": 10, "file_name": "poly.png", "width": 8, "height": 6},
               {"id": 20, "file_name": "rle.png", "width": 3, "height": 2},
               {"id": 30, "file_name": "compressed.png", "width": 10, "height": 4},
               {"id": 40, "file_name": "tied.png", "width": 8, "height": 6},
               {"id": 50, "file_name": "tiny.png", "width": 8, "height": 6},
               {"id": 60, "file_name": "empty.png", "width": 8, "height": 6}],
             "annotations": [
               {"id": 1, "image_id": 10, "category_id": 3, "iscrowd": 0, "area": 6, "segmentation": [[1,1,5,1,1,5]]},
               {"id": 2, "image_id": 10, "category_id": 7, "iscrowd": 0, "area": 12, "segmentation": [[2,1,6,1,6,4,2,4]]},
               {"id": 3, "image_id": 10, "category_id": 42, "iscrowd": 1, "area": 48,
                "segmentation": {"size": [6, 8], "counts": [0, 48]}},
               {"id": 4, "image_id": 20, "category_id": 42, "iscrowd": 0, "area": 3,
                "segmentation": {"size": [2, 3], "counts": [1, 2, 1, 1, 1]}},
               {"id": 5, "image_id": 30, "category_id": 3, "iscrowd": 0, "area": 11,
                "segmentation": {"size": [4, 10], "counts": "92200072NM"}},
               {"id": 6, "image_id": 40, "category_id": 7, "iscrowd": 0, "area": 12, "bbox": [0, 0, 4, 3], "segmentation": [[0,0,4,0,4,3]]},
               {"id": 7, "image_id": 40, "category_id": 3, "iscrowd": 0, "area": 10, "segmentation": [[4,3,8,3,8,6]]},
               {"id": 8, "image_id": 50, "category_id": 3, "iscrowd": 0, "area": 2, "segmentation": [[0,0,2,0,2,1]]}]}
            """;

    @Test
    void cocoPicksTheMainObjectAndDecodesEveryKindOfMask(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("annotations/instances.json");
        Files.createDirectories(file.getParent());
        Files.writeString(file, COCO);
        Path images = dir.resolve("pictures");
        png(images.resolve("poly.png"), 8, 6);
        png(images.resolve("rle.png"), 3, 2);
        png(images.resolve("compressed.png"), 10, 4);
        png(images.resolve("tied.png"), 8, 6);
        png(images.resolve("tiny.png"), 8, 6);
        png(images.resolve("empty.png"), 8, 6);
        Datasets.Dataset data = Datasets.read(file, Datasets.Options.defaults().withImages(images));
        assertEquals("coco", data.layout());
        // tied: 12 is not twice 10; tiny: 2 of 48 pixels is under a tenth; empty: no instance
        assertEquals(3, data.withoutObject());
        List<Sample> samples = data.samples();
        assertEquals(List.of("poly", "rle", "compressed"), samples.stream().map(Sample::id).toList());
        // the crowd region is larger but never the main object, and the dog (half the cat) is a distractor
        assertEquals("cat", samples.get(0).answer());
        assertEquals(Map.of("answer", "cat", "supercategory", "animal"), samples.get(0).labels());
        assertEquals(images.resolve("poly.png").toAbsolutePath(), samples.get(0).image());
        // the masks pycocotools.mask.decode gives for these segmentations
        assertEquals(show(grid("00000000", "00111100", "00111100", "00111100", "00000000", "00000000")), show(samples.get(0).readMask()));
        assertEquals("bird", samples.get(1).answer());
        assertEquals(show(grid("011", "100")), show(samples.get(1).readMask()));
        assertEquals("dog", samples.get(2).answer());
        assertEquals(show(grid("0000000100", "0011100100", "0011100100", "0000000101")), show(samples.get(2).readMask()));

        // with a lower ratio the tied image's larger object counts; with a share of 0 the tiny one too
        Datasets.Dataset lenient = Datasets.read(file, Datasets.Options.defaults().withImages(images).withMainObject(0, 1.1));
        assertEquals(List.of("poly", "rle", "compressed", "tied", "tiny"), lenient.samples().stream().map(Sample::id).toList());
        assertEquals(show(grid("01110000", "00110000", "00010000", "00000000", "00000000", "00000000")),
                show(lenient.samples().get(3).readMask()), "pixel centres inside the triangle, as pycocotools rasterises it");
    }

    @Test
    void cocoPicturesAreBesideTheFileByDefaultAndMissingOnesAreNamedOrSkipped(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("instances.json");
        Files.writeString(file, COCO);
        png(dir.resolve("poly.png"), 8, 6);
        png(dir.resolve("compressed.png"), 10, 4);
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(file));
        assertTrue(e.getMessage().startsWith(file + ": images[1]: " + dir.resolve("rle.png")), e.getMessage());
        assertTrue(e.getMessage().contains("not found") && e.getMessage().contains("--skip-bad"), e.getMessage());
        Datasets.Dataset data = Datasets.read(file, Datasets.Options.defaults().withSkipBad(true));
        assertEquals(List.of("poly", "compressed"), data.samples().stream().map(Sample::id).toList());
        assertEquals(1, data.bad().size());
        assertTrue(data.summary().endsWith("samples=2 skipped_without_main_object=3 skipped_bad=1"), data.summary());
    }

    @Test
    void aDetectionOnlyCocoFileGivesEachObjectItsBoxAsTheMask(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("instances.json");
        png(dir.resolve("boxes.png"), 8, 6);
        png(dir.resolve("empty-list.png"), 8, 6);
        Files.writeString(file, "{\"categories\": [{\"id\": 9, \"name\": \"cat\"}], \"images\": ["
                + "{\"id\": 1, \"file_name\": \"boxes.png\", \"width\": 8, \"height\": 6},"
                + "{\"id\": 2, \"file_name\": \"empty-list.png\", \"width\": 8, \"height\": 6}], \"annotations\": ["
                + "{\"id\": 1, \"image_id\": 1, \"category_id\": 9, \"iscrowd\": 0, \"bbox\": [2, 1, 3, 4]},"
                + "{\"id\": 2, \"image_id\": 2, \"category_id\": 9, \"iscrowd\": 0, \"bbox\": [0.5, 2, 2, 3], \"segmentation\": []}]}");
        List<Sample> samples = Datasets.read(file).samples();
        assertEquals(show(grid("00000000", "00111000", "00111000", "00111000", "00111000", "00000000")), show(samples.get(0).readMask()));
        // pixel centres inside the box: x from 0.5 to 2.5 holds the centres of columns 0 and 1
        assertEquals(show(grid("00000000", "00000000", "11000000", "11000000", "11000000", "00000000")), show(samples.get(1).readMask()));
        Files.writeString(file, Files.readString(file).replace("\"bbox\": [2, 1, 3, 4]", "\"area\": 12"));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(file));
        assertTrue(e.getMessage().startsWith(file + ": annotations[0] has no segmentation"), e.getMessage());
    }

    @Test
    void malformedCocoSegmentationsAreRefusedNamingTheAnnotation(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("instances.json");
        png(dir.resolve("poly.png"), 8, 6);
        Map<String, String> cases = Map.of(
                "{\"size\": [6, 8], \"counts\": [0, 47]}", "add up to 47",
                "{\"size\": [8, 6], \"counts\": [0, 48]}", "is not the image's [height, width]",
                "{\"size\": [6, 8], \"counts\": \"9 2\"}", "not COCO's run-length characters",
                "[[1, 2, 3]]", "at least 3 x, y pairs",
                "\"oops\"", "neither polygons nor");
        for (Map.Entry<String, String> bad : cases.entrySet()) {
            Files.writeString(file, "{\"categories\": [{\"id\": 9, \"name\": \"cat\"}], \"images\": [{\"id\": 1, \"file_name\": \"poly.png\","
                    + " \"width\": 8, \"height\": 6}], \"annotations\": [{\"id\": 1, \"image_id\": 1, \"category_id\": 9, \"area\": 40,"
                    + " \"segmentation\": " + bad.getKey() + "}]}");
            HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(file), bad.getKey());
            assertTrue(e.getMessage().startsWith(file + ": annotations[0]") && e.getMessage().contains(bad.getValue()), e.getMessage());
        }
        Files.writeString(file, "{\"categories\": [], \"images\": [], \"annotations\": [{\"image_id\": 1, \"category_id\": 5, \"area\": 1}]}");
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(file));
        assertTrue(e.getMessage().contains("category_id 5, which no category has"), e.getMessage());
    }

    @Test
    void csvManifestReadsQuotedFieldsLabelsAndMasks(@TempDir Path dir) throws Exception {
        png(dir.resolve("pics/a.png"), 4, 3);
        png(dir.resolve("pics/b b.png"), 4, 3);
        BufferedImage mask = new BufferedImage(4, 3, BufferedImage.TYPE_BYTE_GRAY);
        mask.getRaster().setSample(1, 2, 0, 255);
        mask.getRaster().setSample(3, 0, 0, 200);
        ImageIO.write(mask, "png", dir.resolve("pics/a-mask.png").toFile());
        Path csv = dir.resolve("manifest.csv");
        Files.writeString(csv, "style,image,answer,mask,note\n"
                + "outline,pics/a.png,cat,pics/a-mask.png,\"a \"\"quoted\"\", multi\nline note\"\n"
                + "\"filled, dark\",\"pics/b b.png\",dog,,plain\n");
        Datasets.Dataset data = Datasets.read(csv);
        assertEquals("csv", data.layout());
        Sample a = data.samples().get(0);
        assertEquals("a", a.id());
        assertEquals("cat", a.answer());
        assertEquals(Map.of("answer", "cat", "style", "outline", "note", "a \"quoted\", multi\nline note"), a.labels());
        assertEquals(show(grid("0001", "0000", "0100")), show(a.readMask()));
        Sample b = data.samples().get(1);
        assertEquals("b b", b.id());
        assertEquals("filled, dark", b.label("style"));
        assertFalse(b.hasMask());
        assertEquals(dir.resolve("pics/b b.png").toAbsolutePath(), b.image());

        for (String path : List.of("../outside.png", dir.resolve("pics/a.png").toAbsolutePath().toString())) {
            Files.writeString(csv, "image,answer\npics/a.png,cat\n" + path + ",dog\n");
            HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(csv), path);
            assertTrue(e.getMessage().startsWith(csv + ": line 3: the image path"), e.getMessage());
        }
        Files.writeString(csv, "image,answer\npics/a.png,cat\npics/missing.png,dog\n");
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": line 3: " + dir.toAbsolutePath().resolve("pics/missing.png") + ": image file not found"),
                e.getMessage());
        Datasets.Dataset skipped = Datasets.read(csv, Datasets.Options.defaults().withSkipBad(true));
        assertEquals(1, skipped.samples().size());
        assertEquals(1, skipped.bad().size());
        Files.writeString(dir.resolve("pics/broken.png"), "not an image");
        Files.writeString(csv, "image,answer\npics/broken.png,cat\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": line 2: "), e.getMessage());
        Files.writeString(csv, "image,answer,mask\npics/a.png,cat,pics/b b.png\npics/b b.png,cat,pics/gone.png\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": line 3: " + dir.toAbsolutePath().resolve("pics/gone.png") + ": image file not found"),
                e.getMessage());
        png(dir.resolve("pics/small.png"), 2, 2);
        Files.writeString(csv, "image,answer,mask\npics/a.png,cat,pics/small.png\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": line 2: " + dir.toAbsolutePath().resolve("pics/small.png") + ": mask is 2x2 but its"
                + " image is 4x3"), e.getMessage());
        Files.writeString(csv, "picture,label\npics/a.png,cat\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": first line must be a header with the columns image and answer"), e.getMessage());
        Files.writeString(csv, "image,answer\npics/a.png,cat,extra\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(csv));
        assertTrue(e.getMessage().startsWith(csv + ": line 2 has 3 fields"), e.getMessage());
    }

    @Test
    void csvManifestsSeparatedBySemicolonsTabsOrBarsReadAsWithCommas(@TempDir Path dir) throws Exception {
        png(dir.resolve("pics/a.png"), 4, 3);
        png(dir.resolve("pics/b.png"), 4, 3);
        Path commas = dir.resolve("commas.csv");
        Files.writeString(commas, "image,answer,style\npics/a.png,cat,\"dark, wet\"\npics/b.png,dog,plain\n");
        List<Sample> expected = Datasets.read(commas).samples();
        assertEquals("dark, wet", expected.get(0).label("style"));
        Map<String, String> files = Map.of("semicolons.csv", "Image;Answer;style\r\npics/a.png;cat;dark, wet\r\npics/b.png;dog;plain\r\n",
                "tabs.tsv", " IMAGE\tanswer\tstyle\npics/a.png\tcat\tdark, wet\npics/b.png\tdog\tplain\n",
                "bars.csv", "image|answer|style\npics/a.png|cat|\"dark, wet\"\npics/b.png|dog|plain\n",
                "excel-unicode-text.txt.tsv", "\uFEFFimage\tanswer\tstyle\r\npics/a.png\tcat\t\"dark, wet\"\r\npics/b.png\tdog\tplain\r\n");
        for (Map.Entry<String, String> file : files.entrySet()) {
            Path manifest = Files.writeString(dir.resolve(file.getKey()), file.getValue(),
                    file.getKey().startsWith("excel") ? java.nio.charset.StandardCharsets.UTF_16LE : java.nio.charset.StandardCharsets.UTF_8);
            Datasets.Dataset data = Datasets.read(manifest);
            assertEquals("csv", data.layout(), file.getKey());
            assertEquals(expected.stream().map(Sample::id).toList(), data.samples().stream().map(Sample::id).toList(), file.getKey());
            assertEquals(expected.stream().map(Sample::answer).toList(), data.samples().stream().map(Sample::answer).toList(), file.getKey());
            assertEquals(expected.stream().map(Sample::image).toList(), data.samples().stream().map(Sample::image).toList(), file.getKey());
            assertEquals(expected.stream().map(Sample::labels).toList(), data.samples().stream().map(Sample::labels).toList(), file.getKey());
        }
        Path mixed = Files.writeString(dir.resolve("mixed.csv"), "image;answer\npics/a.png;cat;extra\n");
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(mixed));
        assertTrue(e.getMessage().startsWith(mixed + ": line 2 has 3 fields but the header has 2 (a field with a ';' in it must be quoted)"),
                e.getMessage());
        Path twice = Files.writeString(dir.resolve("twice.csv"), "image,answer,Image\npics/a.png,cat,pics/b.png\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(twice));
        assertTrue(e.getMessage().contains("the column \"image\" is named twice"), e.getMessage());
        Path none = Files.writeString(dir.resolve("none.csv"), "image:answer\npics/a.png:cat\n");
        e = assertThrows(HeadlensException.class, () -> Datasets.read(none));
        assertTrue(e.getMessage().startsWith(none + ": first line must be a header with the columns image and answer"), e.getMessage());
    }

    @Test
    void classFoldersReadNestedFoldersSkipHiddenOnesAndNameUnreadableFormats(@TempDir Path dir) throws Exception {
        png(dir.resolve("tree/cat/2019/001.png"), 4, 3);
        png(dir.resolve("tree/cat/2020/001.png"), 4, 3);
        png(dir.resolve("tree/cat/.ipynb_checkpoints/001-checkpoint.png"), 4, 3);
        png(dir.resolve("tree/dog/a/b/002.png"), 4, 3);
        png(dir.resolve("tree/.trash/003.png"), 4, 3);
        Datasets.Dataset data = Datasets.read(dir.resolve("tree"));
        assertEquals(List.of("cat-2019-001", "cat-2020-001", "dog-a-b-002"), data.samples().stream().map(Sample::id).toList());
        assertEquals(List.of("cat", "cat", "dog"), data.samples().stream().map(Sample::answer).toList());

        Files.write(dir.resolve("tree/dog/004.webp"), new byte[] {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'});
        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(dir.resolve("tree")));
        assertTrue(e.getMessage().startsWith(dir.resolve("tree/dog/004.webp") + ": " + dir.resolve("tree/dog/004.webp")
                + ": not an image format headlens can read"), e.getMessage());
        Datasets.Dataset skipped = Datasets.read(dir.resolve("tree"), Datasets.Options.defaults().withSkipBad(true));
        assertEquals(3, skipped.samples().size());
        assertEquals(1, skipped.bad().size());
    }

    @Test
    void classFoldersNameTheAnswerAndShapesFoldersStillRead(@TempDir Path dir) throws Exception {
        png(dir.resolve("tree/cat/1.png"), 4, 3);
        png(dir.resolve("tree/cat/2.jpg"), 4, 3);
        png(dir.resolve("tree/dog/1.png"), 4, 3);
        Files.writeString(dir.resolve("tree/dog/notes.txt"), "ignored");
        Files.writeString(dir.resolve("tree/README.md"), "ignored");
        Datasets.Dataset data = Datasets.read(dir.resolve("tree"));
        assertEquals("folders", data.layout());
        assertEquals(List.of("cat-1", "cat-2", "dog-1"), data.samples().stream().map(Sample::id).toList(),
                "two classes hold a file named 1, so ids carry the class");
        assertEquals(List.of("cat", "cat", "dog"), data.samples().stream().map(Sample::answer).toList());
        assertNull(data.samples().get(0).mask());

        ShapesDataset.write(dir.resolve("shapes"), new SyntheticShapes(64, 3).samples("eval", 2));
        Datasets.Dataset shapes = Datasets.read(dir.resolve("shapes"));
        assertEquals("shapes", shapes.layout());
        assertEquals(ShapesDataset.read(dir.resolve("shapes")).get(1).answer(), shapes.samples().get(1).answer());
        assertEquals(Datasets.read(dir.resolve("shapes/labels.csv")).samples().size(), 2);

        HeadlensException e = assertThrows(HeadlensException.class, () -> Datasets.read(dir.resolve("nothing")));
        assertTrue(e.getMessage().startsWith(dir.resolve("nothing") + ": not found; give a COCO"), e.getMessage());
    }

    @Test
    void compressedCountsDecodeAsCocoWritesThem() {
        // pycocotools.mask.encode of the 4x10 mask in the COCO test: runs down the columns
        assertArrayEquals(new long[] {9, 2, 2, 2, 2, 2, 9, 4, 7, 1}, CocoInstances.CocoMask.decompress("92200072NM", "test"));
    }
}
