package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.headlens.results.ResultFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --spark local[2]} gives the tables of a run in one process byte for byte, records Spark
 * in the manifest, leaves one result per sample when a sample's task runs twice at once (as
 * with speculation or a retry), and resumes by computing only what is missing.
 */
class SparkLocalTest {
    static final Path HOME = Path.of(System.getProperty("headlens.home", ".."));
    static final Path MODEL = HOME.resolve("datasets/tiny-shapes/model").toAbsolutePath().normalize();
    static final Path DATA = HOME.resolve("datasets/tiny-shapes/eval").toAbsolutePath().normalize();
    static final String[] TABLES = {"samples", "heads", "per_sample_heads", "by_class", "curves", "areas", "similarity", "similarity_matrix"};

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static List<String> attribute(Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("attribute", "--model", MODEL.toString(), "--data", DATA.toString(), "--out", out.toString(),
                "--samples", "3", "--masks", "50", "--held-out", "8", "--curve-points", "4", "--seed", "3", "--keep-incorrect"));
        args.addAll(List.of(more));
        return args;
    }

    /** Runs a command on one machine into {@code single} and on local[2] into {@code spark}; both must succeed. */
    static Run[] onOneMachineAndSpark(List<String> args, Path single, Path spark) {
        List<String> one = new ArrayList<>(args);
        one.addAll(List.of("--out", single.toString()));
        List<String> distributed = new ArrayList<>(args);
        distributed.addAll(List.of("--out", spark.toString(), "--spark", "local[2]"));
        Run first = run(one.toArray(String[]::new));
        assertEquals(0, first.status(), first.err());
        Run second = run(distributed.toArray(String[]::new));
        assertEquals(0, second.status(), second.err());
        return new Run[] {first, second};
    }

    /** The summary line without its timing. */
    static String summary(String out) {
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        return last.replaceAll(" seconds=[0-9.]+", "");
    }

    static void assertSameTables(Path expected, Path actual, String[] tables) throws Exception {
        for (String table : tables) {
            assertEquals(Files.readString(expected.resolve(table + ".csv")), Files.readString(actual.resolve(table + ".csv")), table + ".csv");
        }
    }

    @Test
    void localSparkGivesTheTablesOfOneMachineAndResumes(@TempDir Path single, @TempDir Path spark) throws Exception {
        Run one = run(attribute(single).toArray(String[]::new));
        assertEquals(0, one.status(), one.err());
        Run distributed = run(attribute(spark, "--spark", "local[2]").toArray(String[]::new));
        assertEquals(0, distributed.status(), distributed.err());
        assertSameTables(single, spark, TABLES);
        assertTrue(summary(one.out()).startsWith("attribute: samples=3"), one.out());
        assertEquals(summary(one.out()), summary(distributed.out()));
        JsonObject manifest = JsonParser.parseString(Files.readString(spark.resolve("manifest.json"))).getAsJsonObject();
        JsonObject recorded = manifest.getAsJsonObject("spark");
        assertEquals("local[2]", recorded.get("master").getAsString());
        assertEquals(System.getProperty("headlens.spark.version"), recorded.get("version").getAsString());
        // local mode: the driver is the one executor, running two tasks at a time
        assertEquals(1, recorded.get("executor_count").getAsInt(), recorded.toString());
        assertEquals(1, recorded.getAsJsonArray("executors").size(), recorded.toString());

        // a sample's task run twice at the same time, as speculation does: one result file, the same tables
        String first = "eval-0000";
        Path measurement = spark.resolve("samples/" + first + ".json");
        JsonObject before = result(measurement);
        Files.delete(measurement);
        Files.delete(spark.resolve("curves/" + first + ".json"));
        JsonObject identity = JsonParser.parseString(Files.readString(spark.resolve(ResultFolder.RUN_FILE))).getAsJsonObject();
        identity.remove("run_id");
        String[] workerArguments = attribute(spark).subList(1, attribute(spark).size()).toArray(String[]::new);
        List<String> driverSamples = Workers.describe(org.headlens.data.Datasets.read(DATA).samples().subList(0, 3));
        try (Distributed engine = Distributed.open("local[2]", "twice")) {
            engine.run("attribute", List.of(first, first), new AttributeCommand.Measure(workerArguments, identity.toString(), null, driverSamples));
            // a worker that does not see the run's folder: the task's own one-line message, naming it, ends the run
            Path unseen = spark.resolveSibling(spark.getFileName() + "-unseen");
            String[] elsewhere = attribute(unseen).subList(1, attribute(unseen).size()).toArray(String[]::new);
            org.headlens.HeadlensException refused = org.junit.jupiter.api.Assertions.assertThrows(org.headlens.HeadlensException.class,
                    () -> engine.run("attribute", List.of(first), new AttributeCommand.Measure(elsewhere, identity.toString(), null, driverSamples)));
            assertTrue(refused.getMessage().startsWith(unseen.resolve(ResultFolder.RUN_FILE) + ": missing"), refused.getMessage());
            assertTrue(!Files.exists(unseen.resolve("samples")), "nothing written where the run does not live");
        }
        assertEquals(List.of("eval-0000.json", "eval-0001.json", "eval-0002.json"), names(spark.resolve("samples")));
        assertEquals(before, result(measurement), "the repeated sample's result");

        Map<String, FileTime> kept = new HashMap<>();
        for (String name : names(spark.resolve("samples"))) {
            kept.put(name, Files.getLastModifiedTime(spark.resolve("samples").resolve(name)));
        }
        Run resumed = run(attribute(spark, "--spark", "local[2]").toArray(String[]::new));
        assertEquals(0, resumed.status(), resumed.err());
        for (String name : kept.keySet()) {
            assertEquals(kept.get(name), Files.getLastModifiedTime(spark.resolve("samples").resolve(name)), name + " was skipped, not redone");
        }
        assertEquals(List.of("eval-0000.json", "eval-0001.json", "eval-0002.json"), names(spark.resolve("curves")));
        assertSameTables(single, spark, TABLES);
        try (Stream<Path> files = Files.walk(spark)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(ResultFolder.PARTIAL_SUFFIX)).count(), "no temporary files left");
        }
    }

    @Test
    void localSparkReadsACsvManifestWithBadRowsSkippedLikeOneMachine(@TempDir Path single, @TempDir Path spark, @TempDir Path work)
            throws Exception {
        // relative image and mask paths, a label column, and a row whose image is missing (skipped, so later samples shift);
        // the mean-image baseline makes every measurement depend on exactly which samples were read
        Path pictures = Files.createDirectories(work.resolve("pictures"));
        StringBuilder csv = new StringBuilder("image,answer,style,mask\n");
        List<org.headlens.data.Sample> samples = org.headlens.data.Datasets.read(DATA).samples().subList(0, 3);
        for (org.headlens.data.Sample sample : samples) {
            String name = sample.image().getFileName().toString();
            Files.copy(sample.image(), pictures.resolve(name));
            Files.copy(((org.headlens.data.ObjectMask.MaskFile) sample.mask()).file(), pictures.resolve("mask-" + name));
            csv.append("pictures/").append(name).append(',').append(sample.answer()).append(',').append(sample.label("style"))
                    .append(",pictures/mask-").append(name).append('\n');
            if (csv.toString().lines().count() == 2) {
                csv.append("pictures/gone.png,circle,plain,\n");
            }
        }
        Path manifest = work.resolve("manifest.csv");
        Files.writeString(manifest, csv);
        List<String> args = List.of("attribute", "--model", MODEL.toString(), "--data", manifest.toString(), "--skip-bad",
                "--baseline", "mean-image", "--masks", "24", "--regression", "ridge", "--lambda", "0.1", "--held-out", "6", "--curve-points", "3", "--seed", "7", "--keep-incorrect");
        Run[] runs = onOneMachineAndSpark(args, single, spark);
        Run first = runs[0];
        Run second = runs[1];
        assertTrue(first.out().contains("samples=3 ") && first.out().contains("skipped_bad=1"), first.out());
        assertSameTables(single, spark, TABLES);
        assertEquals(summary(first.out()), summary(second.out()));
        assertTrue(summary(first.out()).startsWith("attribute: samples=3"), first.out());
        JsonObject written = JsonParser.parseString(Files.readString(spark.resolve("manifest.json"))).getAsJsonObject();
        assertEquals("local[2]", written.getAsJsonObject("spark").get("master").getAsString());
    }

    @Test
    void localSparkTracesLikeOneMachine(@TempDir Path single, @TempDir Path spark, @TempDir Path work) throws Exception {
        // heads taken from an attribution's heads.csv are read by the driver; workers get them by name
        Path heads = work.resolve("heads.csv");
        Files.writeString(heads, "layer,head,attribution\n1,0,0.5\n3,2,0.9\n0,1,0.1\n");
        // class folders (no masks: the object pairs are skipped) with an unreadable image skipped by --skip-bad
        Path folders = work.resolve("classes");
        for (org.headlens.data.Sample sample : org.headlens.data.Datasets.read(DATA).samples().subList(0, 2)) {
            Path folder = Files.createDirectories(folders.resolve(sample.answer()));
            Files.copy(sample.image(), folder.resolve(sample.image().getFileName()));
            Files.writeString(folder.resolve("broken.png"), "not a picture");
        }
        List<String> args = List.of("trace", "--model", MODEL.toString(), "--data", folders.toString(), "--skip-bad", "--window", "2",
                "--top-heads", heads.toString(), "--top-k", "2", "--keep-incorrect");
        Run[] runs = onOneMachineAndSpark(args, single, spark);
        Run first = runs[0];
        Run second = runs[1];
        assertSameTables(single, spark, new String[] {"samples", "knockouts", "curves", "summary"});
        assertTrue(summary(first.out()).startsWith("trace: samples=2"), first.out());
        assertEquals(summary(first.out()), summary(second.out()));
        assertTrue(first.out().contains("samples have no object mask"), first.out());
        assertEquals(2, names(spark.resolve("flow")).size(), names(spark.resolve("flow")).toString());
        JsonObject manifest = JsonParser.parseString(Files.readString(spark.resolve("manifest.json"))).getAsJsonObject();
        assertEquals("local[2]", manifest.getAsJsonObject("spark").get("master").getAsString());
        assertTrue(manifest.getAsJsonObject("flow_options").toString().contains("\"layer\":3"), manifest.toString());
    }

    /** A per-sample file's result without its timing, which two attempts do not share. */
    private static JsonObject result(Path file) throws Exception {
        JsonObject result = JsonParser.parseString(Files.readString(file)).getAsJsonObject().getAsJsonObject("result");
        result.remove("seconds");
        return result;
    }

    static List<String> names(Path folder) throws Exception {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
