package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker of a distributed run re-reads {@code --data} from the arguments the driver hands it:
 * in every layout (tiny-shapes folder, COCO with its picture folder and thresholds, CSV manifest
 * with a bad row skipped, class folders), given as a path relative to the driver's working
 * folder, it reads the driver's samples; a worker that reads other samples (here: an image gone
 * after the driver read the data with {@code --skip-bad}) refuses its task in one line.
 */
class WorkerDataTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void layouts() throws Exception {
        // the layouts of DataLayoutsTest, built here into this class's own folder
        DataLayoutsTest.dir = dir;
        DataLayoutsTest.repackage();
        // a row whose image is missing: refused by default, skipped and counted with --skip-bad
        Files.writeString(dir.resolve("csv/manifest.csv"), "pictures/gone.png,circle,plain,\n", java.nio.file.StandardOpenOption.APPEND);
    }

    /** The path relative to this JVM's working folder, as a user in that folder would type it. */
    private static String relative(Path path) {
        return Path.of("").toAbsolutePath().relativize(path.toAbsolutePath()).toString();
    }

    private static Options attribute(String... data) {
        List<String> args = new ArrayList<>(List.of("--model", AttributeCommandTest.MODEL.toString(), "--out", relative(dir.resolve("out")),
                "--samples", "5", "--spark", "local[2]", "--semantic", "answer", "--appearance", "style", "--first-token"));
        args.addAll(List.of(data));
        return Options.parse("attribute", new AttributeCommand().options(), args.toArray(String[]::new), Map.of());
    }

    @Test
    void aWorkerReadsEveryLayoutAsTheDriverDid() {
        List<String[]> layouts = List.of(
                new String[] {"--data", relative(dir.resolve("shapes"))},
                new String[] {"--data", relative(dir.resolve("coco/instances.json")), "--images", relative(dir.resolve("shapes")),
                    "--min-object-share", "0", "--min-object-ratio", "1"},
                new String[] {"--data", relative(dir.resolve("csv/manifest.csv")), "--skip-bad"},
                new String[] {"--data", relative(dir.resolve("folders"))});
        for (String[] layout : layouts) {
            Options driver = attribute(layout);
            RunInputs inputs = RunInputs.read(driver);
            assertEquals(5, inputs.samples().size(), layout[1]);
            String[] arguments = Workers.arguments(driver, inputs, Map.of());
            Options worker = Options.parse("attribute", new AttributeCommand().options(), arguments, Map.of());
            for (String option : List.of("model", "data", "images", "out")) {
                if (worker.given(option)) {
                    assertTrue(worker.path(option, null).isAbsolute(), layout[1] + ": --" + option + " " + worker.path(option, null));
                }
            }
            List<String> expected = Workers.describe(inputs.samples());
            RunInputs read = Workers.inputs(arguments, worker, expected);
            assertEquals(expected, Workers.describe(read.samples()), layout[1]);
            assertEquals(List.of(inputs.firstToken(), inputs.semantic(), inputs.appearance(), inputs.prompt()),
                    List.of(read.firstToken(), read.semantic(), read.appearance(), read.prompt()), layout[1]);
            // what was read and skipped, the path aside (the driver's as typed, the worker's absolute)
            assertEquals(inputs.dataSummary().replace(inputs.data().toString(), "DATA"), read.dataSummary().replace(read.data().toString(), "DATA"));
        }
        // the skipped row is counted the same way on both sides
        assertTrue(RunInputs.read(attribute("--data", dir.resolve("csv/manifest.csv").toString(), "--skip-bad")).dataSummary()
                .contains("skipped_bad=1"));
    }

    @Test
    void aWorkerThatReadsOtherSamplesRefusesItsTask() throws Exception {
        Path copy = dir.resolve("csv-copy");
        Files.createDirectories(copy.resolve("pictures"));
        try (var files = Files.list(dir.resolve("csv/pictures"))) {
            for (Path file : files.toList()) {
                Files.copy(file, copy.resolve("pictures").resolve(file.getFileName()));
            }
        }
        Files.copy(dir.resolve("csv/manifest.csv"), copy.resolve("manifest.csv"));
        Options driver = attribute("--data", copy.resolve("manifest.csv").toString(), "--skip-bad");
        RunInputs inputs = RunInputs.read(driver);
        List<String> expected = Workers.describe(inputs.samples());
        String second = inputs.samples().get(1).id();
        // the worker's file system lacks an image the driver saw: --skip-bad skips it there, so the samples shift
        Files.delete(inputs.samples().get(1).image());
        String[] arguments = Workers.arguments(driver, inputs, Map.of());
        HeadlensException refused = assertThrows(HeadlensException.class,
                () -> new AttributeCommand.Measure(arguments, "{}", null, expected).run(inputs.samples().get(0).id()));
        String message = refused.getMessage();
        assertEquals(1, message.lines().count(), message);
        assertTrue(message.startsWith(copy.resolve("manifest.csv").toAbsolutePath() + ": reads as 5 samples on this worker but as 5 on the driver;"
                + " sample 2 is"), message);
        assertTrue(message.contains("but '" + second + " "), message);
        assertTrue(message.endsWith("every machine must see the same data, images and masks under the same paths"), message);

        Options trace = Options.parse("trace", new TraceCommand().options(), new String[] {"--model", AttributeCommandTest.MODEL.toString(),
            "--out", dir.resolve("trace-out").toString(), "--data", copy.resolve("manifest.csv").toString(), "--skip-bad", "--samples", "3"},
                Map.of());
        String[] traceArguments = Workers.arguments(trace, RunInputs.read(trace), Map.of());
        HeadlensException traced = assertThrows(HeadlensException.class,
                () -> new TraceCommand.Trace(traceArguments, "{}", expected.subList(0, 3)).run(inputs.samples().get(0).id()));
        assertTrue(traced.getMessage().contains(": reads as 3 samples on this worker but as 3 on the driver; sample 2 is"), traced.getMessage());
    }
}
