package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Options are checked against what each command declares before it does anything: every fault
 * is refused in one line naming the option, and no file is written.
 */
class OptionsTest {
    private static VerifyModelCommandTest.Run refused(Path out, String... args) {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(args);
        assertEquals(2, run.status(), String.join(" ", args) + ": " + run.out() + run.err());
        assertEquals(1, run.err().strip().split("\n").length, "one line: " + run.err());
        assertFalse(run.err().contains("Exception") || run.err().contains("internal error"), run.err());
        assertFalse(Files.exists(out), String.join(" ", args) + ": nothing is written");
        return run;
    }

    /** @return every file and folder under {@code root} with its content */
    private static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> files = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> walk = Files.walk(root)) {
            for (Path path : walk.toList()) {
                files.put(root.relativize(path).toString(), Files.isDirectory(path) ? "folder" : Files.readString(path));
            }
        }
        return files;
    }

    @Test
    void everyFaultOfAnOptionIsRefusedNamingItBeforeAnyWork(@TempDir Path dir) {
        Path out = dir.resolve("never");
        // fault, the option the message must name, and a word it must hold
        String[][] cases = {
            {"--sampels 1", "--sampels", "did you mean --samples?"},
            {"--window 2", "--window", "an option of trace, not of attribute"},
            {"--samples", "--samples", "needs a value"},
            {"--samples --masks 80", "--samples", "needs a value"},
            {"--masks 80 --masks 90", "--masks", "given twice"},
            {"--samples 0", "--samples", "from 1 to"},
            {"--samples 99999999999", "--samples", "from 1 to"},
            {"--samples 2.5", "--samples", "whole number"},
            {"--masks -1", "--masks", "from 2 to"},
            {"--alpha 2", "--alpha", "above 0 and below 1"},
            {"--alpha NaN", "--alpha", "above 0 and below 1"},
            {"--alpha 0x1p-1", "--alpha", "above 0 and below 1"},
            {"--lambda -1 --regression ridge", "--lambda", "from 0"},
            {"--lambda 1", "--lambda", "ridge and lasso"},
            {"--metric loggit", "--metric", "one of logit"},
            {"--keep-incorrect=yes", "--keep-incorrect", "takes no value"},
            {"--seed -3", "--seed", "from 0"},
            {"--out=", "--out", "given twice"},
        };
        for (String[] fault : cases) {
            List<String> args = new ArrayList<>(List.of("attribute", "--out", out.toString()));
            args.addAll(List.of(fault[0].split(" ")));
            VerifyModelCommandTest.Run run = refused(out, args.toArray(String[]::new));
            assertTrue(run.err().contains(fault[1]) && run.err().contains(fault[2]), fault[0] + ": " + run.err());
        }
        assertTrue(refused(out, "attribute", "--out", "").err().contains("--out must be a non-empty path"));
        assertTrue(refused(out, "attribute", "--samples", "2").err().contains("--out DIR is required"));
        assertTrue(refused(out, "attribute", "--out", out.toString(), "stray").err().contains("unexpected argument 'stray'"));
        assertTrue(refused(out, "trace", "--out", out.toString(), "--heads", "L99999999999H1").err()
                .contains("head \"L99999999999H1\" has a layer or head number beyond 2147483647"));
        assertTrue(refused(out, "trace", "--out", out.toString(), "--top-k", "3").err().contains("--top-k counts the heads taken from --top-heads"));
        assertTrue(refused(out, "demo", "--out", out.toString(), "--samples", "0").err().contains("--samples must be"));
        assertTrue(refused(out, "demo", "--out", out.toString(), "--seed", "1").err().contains("--seed is an option of train-tiny, make-dataset, make-model and attribute, not of demo"));
    }

    @Test
    void everyCommandRefusesAnOptionItDoesNotDeclareAndListsWhatItDeclares(@TempDir Path dir) {
        for (Map.Entry<String, Main.Command> command : Main.commands().entrySet()) {
            Path out = dir.resolve(command.getKey());
            // before it trains, renders, installs or benchmarks anything
            VerifyModelCommandTest.Run run = refused(out, command.getKey(), "--out", out.toString(), "--no-such-option", "1");
            assertTrue(run.err().contains("--no-such-option") || run.err().contains("--out"), run.err());
            VerifyModelCommandTest.Run help = VerifyModelCommandTest.run(command.getKey(), "--help");
            assertEquals(0, help.status());
            VerifyModelCommandTest.Run usage = VerifyModelCommandTest.run("--help");
            for (Options.Option option : command.getValue().options()) {
                assertTrue(help.out().contains("  " + (option.kind() == Options.Kind.CHOICE ? "--" + option.name() + " NAME" : option.synopsis())),
                        command.getKey() + " --help lists --" + option.name() + ":\n" + help.out());
                assertTrue(usage.out().contains(option.synopsis()), "the usage lists --" + option.name());
                if (option.defaultValue() != null) {
                    assertTrue(help.out().contains("default " + option.defaultValue()), command.getKey() + " --" + option.name());
                }
            }
        }
    }

    @Test
    void optionsCheckedAgainstTheModelAreRefusedBeforeTheFolderIsClaimed(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("empty"));
        String model = AttributeCommandTest.MODEL.toString();
        String data = AttributeCommandTest.DATA.toString();
        String[][] runs = {
            {"attribute", "--masks", "10", "ordinary least squares needs more masks than heads + 1 (10 masks for 48 heads)"},
            {"attribute", "--top-k", "49", "top-k 49 is more than the model's 48 heads"},
            {"trace", "--heads", "L99H99", "head L99H99 does not exist in this model of 6 layers"},
            {"trace", "--heads", "L1H8", "head L1H8 does not exist"},
            {"trace", "--window", "7", "window of 7 layers is larger than the model's 6"},
        };
        for (String[] fault : runs) {
            VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(fault[0], "--model", model, "--data", data, "--out", out.toString(),
                    "--samples", "1", fault[1], fault[2]);
            assertEquals(2, run.status(), run.err());
            assertTrue(run.err().contains(fault[3]), run.err());
            try (var left = Files.list(out)) {
                assertEquals(0, left.count(), fault[1] + " " + fault[2] + ": the folder is left empty, not claimed");
            }
        }
        // so the corrected run is not refused for a folder its failed attempt claimed
        VerifyModelCommandTest.Run corrected = VerifyModelCommandTest.run("trace", "--model", model, "--data", data, "--out", out.toString(),
                "--samples", "1", "--heads", "L1H1", "--keep-incorrect");
        assertEquals(0, corrected.status(), corrected.err());
    }

    @Test
    void aFolderOfTheUsersIsRefusedAndLeftAsItWas(@TempDir Path dir) throws Exception {
        Path folder = Files.createDirectories(dir.resolve("mine/sub"));
        folder = folder.getParent();
        Files.writeString(folder.resolve("samples.csv"), "my own table\n");
        Files.writeString(folder.resolve("thesis.partial"), "my draft");
        Files.writeString(folder.resolve("sub/draft.partial"), "another draft");
        var before = snapshot(folder);
        String[][] runs = {
            {"attribute", "--samples", "0"},
            {"attribute", "--samples", "1", "--masks", "60"},
            {"trace", "--samples", "1"},
            {"demo", "--samples", "1"},
            {"make-dataset", "--count", "2"},
            {"train-tiny", "--vision-steps", "1"},
        };
        for (String[] args : runs) {
            List<String> line = new ArrayList<>(List.of(args));
            line.addAll(List.of("--out", folder.toString()));
            if (!args[0].equals("make-dataset") && !args[0].equals("train-tiny")) {
                line.addAll(List.of("--model", AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString()));
            }
            VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(line.toArray(String[]::new));
            assertEquals(2, run.status(), run.err());
            assertTrue(args[2].equals("0") || run.err().contains(folder + ": holds samples.csv but no run.json")
                    || run.err().contains(folder + ": the folder is not empty"), run.err());
            assertEquals(before, snapshot(folder), String.join(" ", args));
        }
    }

    @Test
    void samplesSharingAnIdAreRefusedNamingBothBeforeAnyWork(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        List<String> labels = Files.readAllLines(AttributeCommandTest.DATA.resolve("labels.csv"));
        for (String row : labels.subList(1, 3)) {
            for (int column : new int[] {1, 2}) {
                Path file = data.resolve(row.split(",")[column]);
                Files.createDirectories(file.getParent());
                Files.copy(AttributeCommandTest.DATA.resolve(row.split(",")[column]), file);
            }
        }
        String duplicate = labels.get(1).replaceFirst("^[^,]+", "EVAL-0001");
        Files.write(data.resolve("labels.csv"), List.of(labels.get(0), labels.get(1), labels.get(2), duplicate));
        Path out = dir.resolve("out");
        for (String command : new String[] {"attribute", "trace", "demo"}) {
            VerifyModelCommandTest.Run run = refused(out, command, "--out", out.toString(), "--model", AttributeCommandTest.MODEL.toString(),
                    "--data", data.toString());
            assertTrue(run.err().contains(data.resolve("labels.csv") + ": samples 2 and 3 have the same id ('eval-0001' and 'EVAL-0001'"),
                    run.err());
        }
    }
}
