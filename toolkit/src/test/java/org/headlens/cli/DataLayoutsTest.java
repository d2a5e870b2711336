package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.data.Datasets;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same evaluation images re-packaged as a COCO file (masks as uncompressed run lengths,
 * category ids with gaps), a CSV manifest and class folders: each layout reads the same answers
 * and masks and gives the same accuracy as the original split, and attribute and trace run on it.
 */
class DataLayoutsTest {
    private static final Pattern SUMMARY = Pattern.compile("(?m)^evaluate: accuracy=\\S+ blank_accuracy=\\S+ samples=\\d+$");
    private static final int COUNT = 12;
    @TempDir
    static Path dir;
    static List<Sample> original;

    @BeforeAll
    static void repackage() throws Exception {
        original = ShapesDataset.read(AttributeCommandTest.DATA).subList(0, COUNT);
        Path shapes = dir.resolve("shapes");
        Files.createDirectories(shapes.resolve("images"));
        Files.createDirectories(shapes.resolve("masks"));
        List<String> lines = Files.readAllLines(AttributeCommandTest.DATA.resolve("labels.csv"));
        Files.write(shapes.resolve("labels.csv"), lines.subList(0, COUNT + 1));
        StringBuilder csv = new StringBuilder("image,\"answer\",style,mask\n");
        JsonObject coco = new JsonObject();
        JsonArray images = new JsonArray();
        JsonArray annotations = new JsonArray();
        JsonArray categories = new JsonArray();
        List<String> classes = new ArrayList<>();
        for (int i = 0; i < COUNT; i++) {
            Sample s = original.get(i);
            String name = s.image().getFileName().toString();
            Path maskFile = ((org.headlens.data.ObjectMask.MaskFile) s.mask()).file();
            Files.copy(s.image(), shapes.resolve("images/" + name));
            Files.copy(maskFile, shapes.resolve("masks/" + name));
            Files.createDirectories(dir.resolve("csv/pictures"));
            Files.copy(s.image(), dir.resolve("csv/pictures/" + name));
            Files.copy(maskFile, dir.resolve("csv/pictures/mask-" + name));
            csv.append("pictures/").append(name).append(',').append(s.answer()).append(",\"").append(s.label("style"))
                    .append("\",pictures/mask-").append(name).append('\n');
            Files.createDirectories(dir.resolve("folders/" + s.answer()));
            Files.copy(s.image(), dir.resolve("folders/" + s.answer() + "/" + name));
            if (!classes.contains(s.answer())) {
                classes.add(s.answer());
                JsonObject category = new JsonObject();
                category.addProperty("id", 100 + 7 * classes.size());
                category.addProperty("name", s.answer());
                categories.add(category);
            }
            boolean[][] mask = s.readMask();
            JsonObject image = new JsonObject();
            image.addProperty("id", 5000 + i);
            image.addProperty("file_name", "images/" + name);
            image.addProperty("width", mask[0].length);
            image.addProperty("height", mask.length);
            images.add(image);
            JsonObject annotation = new JsonObject();
            annotation.addProperty("id", i + 1);
            annotation.addProperty("image_id", 5000 + i);
            annotation.addProperty("category_id", 100 + 7 * (classes.indexOf(s.answer()) + 1));
            annotation.addProperty("iscrowd", 0);
            JsonArray counts = new JsonArray();
            boolean current = false;
            int run = 0;
            int area = 0;
            for (int x = 0; x < mask[0].length; x++) {
                for (int y = 0; y < mask.length; y++) {
                    if (mask[y][x] != current) {
                        counts.add(run);
                        run = 0;
                        current = mask[y][x];
                    }
                    run++;
                    area += mask[y][x] ? 1 : 0;
                }
            }
            counts.add(run);
            JsonObject rle = new JsonObject();
            rle.add("counts", counts);
            JsonArray size = new JsonArray();
            size.add(mask.length);
            size.add(mask[0].length);
            rle.add("size", size);
            annotation.add("segmentation", rle);
            annotation.addProperty("area", area);
            annotations.add(annotation);
        }
        coco.add("images", images);
        coco.add("annotations", annotations);
        coco.add("categories", categories);
        Files.writeString(dir.resolve("csv/manifest.csv"), csv);
        Files.createDirectories(dir.resolve("coco"));
        Files.writeString(dir.resolve("coco/instances.json"), coco.toString());
    }

    @Test
    void everyLayoutReadsTheSameAnswersAndMasks() {
        Datasets.Options all = Datasets.Options.defaults().withMainObject(0, 1).withImages(dir.resolve("shapes"));
        List<Sample> coco = Datasets.read(dir.resolve("coco/instances.json"), all).samples();
        List<Sample> csv = Datasets.read(dir.resolve("csv/manifest.csv")).samples();
        List<Sample> folders = Datasets.read(dir.resolve("folders")).samples();
        assertEquals(COUNT, coco.size());
        assertEquals(COUNT, csv.size());
        assertEquals(COUNT, folders.size());
        for (int i = 0; i < COUNT; i++) {
            Sample s = original.get(i);
            assertEquals(s.answer(), coco.get(i).answer());
            assertEquals(s.answer(), csv.get(i).answer());
            assertEquals(s.label("style"), csv.get(i).label("style"));
            assertTrue(Arrays.deepEquals(s.readMask(), coco.get(i).readMask()), s.id() + ": COCO mask pixel by pixel");
            assertTrue(Arrays.deepEquals(s.readMask(), csv.get(i).readMask()), s.id() + ": CSV mask pixel by pixel");
        }
        assertEquals(original.stream().map(Sample::answer).sorted().toList(), folders.stream().map(Sample::answer).sorted().toList());
    }

    @Test
    void everyLayoutGivesTheSameAccuracyAndWritesItsTables() throws Exception {
        String expected = summary("--data", dir.resolve("shapes").toString());
        assertEquals(expected, summary("--data", dir.resolve("coco/instances.json").toString(), "--images", dir.resolve("shapes").toString(),
                "--min-object-share", "0", "--min-object-ratio", "1"));
        assertEquals(expected, summary("--data", dir.resolve("csv/manifest.csv").toString()));
        assertEquals(expected, summary("--data", dir.resolve("folders").toString()));
        Path out = dir.resolve("evaluate-out");
        String withOut = summary("--data", dir.resolve("csv/manifest.csv").toString(), "--out", out.toString());
        assertEquals(expected, withOut);
        List<String> samples = Files.readAllLines(out.resolve("samples.csv"));
        assertEquals("sample,image,class,answer,correct,blank_correct,logit,probability,style", samples.get(0));
        assertEquals(COUNT + 1, samples.size());
        assertTrue(Files.readString(out.resolve("by_style.csv")).startsWith("style,accuracy,samples\n"));
        assertTrue(Files.readString(out.resolve("by_class.csv")).startsWith("class,accuracy,samples\n"));
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
    }

    @Test
    void traceRunsWithoutMasksAndSaysWhatItSkipped() {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("trace", "--model", AttributeCommandTest.MODEL.toString(),
                "--data", dir.resolve("folders").toString(), "--out", dir.resolve("trace-out").toString(), "--samples", "3",
                "--keep-incorrect");
        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("3 of 3 samples have no object mask, so these pairs are skipped for them: image_object->suffix_text,"
                + " image_background->suffix_text, image_random->suffix_text"), run.out());
        assertTrue(run.out().contains("trace: samples=3 "), run.out());
    }

    @Test
    void attributeWithOneLabelColumnSaysWhatItCannotCompare() {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("attribute", "--model", AttributeCommandTest.MODEL.toString(),
                "--data", dir.resolve("folders").toString(), "--out", dir.resolve("attribute-out").toString(), "--samples", "4",
                "--masks", "16", "--held-out", "4", "--regression", "ridge", "--curve-points", "2", "--keep-incorrect");
        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("semantic versus appearance: no appearance grouping: the samples have one label column"), run.out());
        assertTrue(run.out().contains("attribute: samples=4 "), run.out());
    }

    private static String summary(String... arguments) {
        List<String> all = new ArrayList<>(List.of("evaluate", "--model", AttributeCommandTest.MODEL.toString()));
        all.addAll(List.of(arguments));
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(all.toArray(String[]::new));
        assertEquals(0, run.status(), run.out() + run.err());
        Matcher m = SUMMARY.matcher(run.out());
        assertTrue(m.find(), run.out());
        return m.group();
    }
}
