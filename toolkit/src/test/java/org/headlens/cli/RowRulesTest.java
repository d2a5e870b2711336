package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/**
 * The data-row rules of evaluate, attribute and trace at the command line: a bad row refuses the
 * run naming file and line and writing nothing, {@code --skip-bad} skips and counts it (printed
 * and in the manifest); an answer of several tokens is refused with its tokens, or with
 * {@code --first-token} measured on its first token, which gives the same numbers as the
 * one-token answer.
 */
class RowRulesTest {
    private static final int GOOD = 4;
    private static final Pattern ACCURACY = Pattern.compile("(?m)^evaluate: accuracy=(\\S+) blank_accuracy=(\\S+) samples=(\\d+)$");
    @TempDir
    static Path dir;
    static Path bad;
    static Path plain;
    static Path longer;

    /**
     * Three manifests of the first evaluation images: one with a missing (line 3) and an
     * unreadable (line 5) image between good ones, one with the plain answers, and one with the
     * answers as two tokens ({@code circle object}).
     */
    @BeforeAll
    static void manifests() throws Exception {
        List<Sample> samples = ShapesDataset.read(AttributeCommandTest.DATA).subList(0, GOOD);
        Files.createDirectories(dir.resolve("pictures"));
        StringBuilder badCsv = new StringBuilder("image,answer,style,mask\n");
        StringBuilder plainCsv = new StringBuilder("image,answer,style,mask\n");
        StringBuilder longerCsv = new StringBuilder("image,answer,style,mask\n");
        for (int i = 0; i < GOOD; i++) {
            Sample s = samples.get(i);
            String name = s.image().getFileName().toString();
            Files.copy(s.image(), dir.resolve("pictures/" + name));
            Files.copy(((org.headlens.data.ObjectMask.MaskFile) s.mask()).file(), dir.resolve("pictures/mask-" + name));
            String rest = "," + s.label("style") + ",pictures/mask-" + name + "\n";
            plainCsv.append("pictures/").append(name).append(',').append(s.answer()).append(rest);
            longerCsv.append("pictures/").append(name).append(',').append(s.answer()).append(" object").append(rest);
            badCsv.append("pictures/").append(name).append(',').append(s.answer()).append(rest);
            if (i == 0) {
                badCsv.append("pictures/missing.png,circle,filled,\n");
            } else if (i == 1) {
                Files.writeString(dir.resolve("pictures/broken.png"), "not a picture");
                badCsv.append("pictures/broken.png,star,filled,\n");
            }
        }
        bad = Files.writeString(dir.resolve("bad.csv"), badCsv);
        plain = Files.writeString(dir.resolve("plain.csv"), plainCsv);
        longer = Files.writeString(dir.resolve("longer.csv"), longerCsv);
    }

    private static List<String> command(String name, Path data, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of(name, "--model", AttributeCommandTest.MODEL.toString(), "--data", data.toString(),
                "--out", out.toString()));
        if (name.equals("attribute")) {
            args.addAll(List.of("--masks", "16", "--held-out", "4", "--regression", "ridge", "--curve-points", "2", "--keep-incorrect"));
        } else if (name.equals("trace")) {
            args.addAll(List.of("--keep-incorrect", "--pairs", "image->final,image_object->suffix_text"));
        }
        args.addAll(List.of(more));
        return args;
    }

    private static VerifyModelCommandTest.Run run(List<String> args) {
        return VerifyModelCommandTest.run(args.toArray(String[]::new));
    }

    private static JsonObject manifest(Path out) throws Exception {
        return JsonParser.parseString(Files.readString(out.resolve("manifest.json"))).getAsJsonObject();
    }

    @Test
    void aBadRowRefusesTheRunNamingFileAndLineAndSkipBadCountsIt() throws Exception {
        for (String name : List.of("evaluate", "attribute", "trace")) {
            Path refused = dir.resolve(name + "-refused");
            VerifyModelCommandTest.Run run = run(command(name, bad, refused));
            assertEquals(2, run.status(), name + ": " + run.out() + run.err());
            assertTrue(run.err().contains(bad + ": line 3") && run.err().contains("missing.png") && run.err().contains("--skip-bad"),
                    name + ": " + run.err());
            assertEquals(1, run.err().strip().split("\n").length, name + ": one line: " + run.err());
            assertFalse(Files.exists(refused) && Files.list(refused).findAny().isPresent(), name + ": nothing is written");

            Path skipped = dir.resolve(name + "-skipped");
            VerifyModelCommandTest.Run kept = run(command(name, bad, skipped, "--skip-bad"));
            assertEquals(0, kept.status(), name + ": " + kept.out() + kept.err());
            String summary = "data: csv " + bad + " samples=" + GOOD + " skipped_bad=2";
            assertTrue(kept.out().contains(summary), name + ": " + kept.out());
            assertTrue(kept.out().contains(name + ": ") && kept.out().contains("samples=" + GOOD), name + ": " + kept.out());
            JsonObject manifest = manifest(skipped);
            assertEquals(summary, manifest.get("data_read").getAsString(), name);
            assertEquals(GOOD, manifest.get("samples").getAsInt(), name);
        }
        // the unreadable file is the second bad row: with the missing one skipped it is the one named
        Path unreadable = Files.writeString(dir.resolve("unreadable.csv"),
                "image,answer\n" + Files.readAllLines(plain).get(1).split(",")[0] + ",circle\n\npictures/broken.png,star\n");
        VerifyModelCommandTest.Run run = run(command("evaluate", unreadable, dir.resolve("unreadable-out")));
        assertEquals(2, run.status(), run.out() + run.err());
        assertTrue(run.err().contains(unreadable + ": line 4") && run.err().contains("broken.png"), run.err());
    }

    @Test
    void aLongerAnswerIsRefusedOrMeasuredOnItsFirstToken() throws Exception {
        for (String name : List.of("evaluate", "attribute", "trace")) {
            Path refused = dir.resolve(name + "-longer-refused");
            VerifyModelCommandTest.Run run = run(command(name, longer, refused));
            assertEquals(2, run.status(), name + ": " + run.out() + run.err());
            assertTrue(run.err().contains("is 2 tokens") && run.err().contains("object") && run.err().contains("--first-token"),
                    name + ": " + run.err());
            assertFalse(Files.exists(refused) && Files.list(refused).findAny().isPresent(), name + ": nothing is written");
        }
        // measured on the first token, 'circle object' is 'circle': the same numbers as the plain answers
        Path first = dir.resolve("evaluate-first");
        Path one = dir.resolve("evaluate-plain");
        VerifyModelCommandTest.Run measured = run(command("evaluate", longer, first, "--first-token"));
        VerifyModelCommandTest.Run reference = run(command("evaluate", plain, one));
        assertEquals(0, measured.status(), measured.out() + measured.err());
        Matcher a = ACCURACY.matcher(measured.out());
        Matcher b = ACCURACY.matcher(reference.out());
        assertTrue(a.find() && b.find(), measured.out() + reference.out());
        assertEquals(b.group(), a.group());
        assertEquals("first token", manifest(first).get("answer_rule").getAsString());
        assertEquals("one token", manifest(one).get("answer_rule").getAsString());
        Table longerSamples = Table.read().csv(first.resolve("samples.csv").toFile());
        Table plainSamples = Table.read().csv(one.resolve("samples.csv").toFile());
        assertEquals(plainSamples.doubleColumn("logit").asList(), longerSamples.doubleColumn("logit").asList());
        assertTrue(longerSamples.stringColumn("class").asList().stream().allMatch(c -> c.endsWith(" object")),
                "the expected answer is kept whole: " + longerSamples.stringColumn("class").asList());

        Path traceFirst = dir.resolve("trace-first");
        Path tracePlain = dir.resolve("trace-plain");
        assertEquals(0, run(command("trace", longer, traceFirst, "--first-token")).status());
        assertEquals(0, run(command("trace", plain, tracePlain)).status());
        assertEquals(Table.read().csv(tracePlain.resolve("knockouts.csv").toFile()).doubleColumn("change").asList(),
                Table.read().csv(traceFirst.resolve("knockouts.csv").toFile()).doubleColumn("change").asList());
        assertEquals("first token", manifest(traceFirst).get("answer_rule").getAsString());

        Path attributeFirst = dir.resolve("attribute-first");
        VerifyModelCommandTest.Run attributed = run(command("attribute", longer, attributeFirst, "--first-token"));
        assertEquals(0, attributed.status(), attributed.out() + attributed.err());
        assertTrue(attributed.out().contains("attribute: samples=" + GOOD), attributed.out());
        assertEquals("first token", manifest(attributeFirst).get("answer_rule").getAsString());
        Path attributePlain = dir.resolve("attribute-plain");
        assertEquals(0, run(command("attribute", plain, attributePlain)).status());
        assertEquals(Files.readString(attributePlain.resolve("heads.csv")), Files.readString(attributeFirst.resolve("heads.csv")),
                "the same heads and attributions as with the one-token answers");
    }
}
