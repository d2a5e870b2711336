package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifyModelCommandTest {
    private static final Pattern SUMMARY = Pattern.compile("(?m)^verify-model: max_abs_diff=(\\S+) tensors=(\\d+) (OK|FAIL)$");

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void passesOnBothReferenceModelsAndEndsWithTheSummaryLine() {
        for (String name : new String[] {"llava-clip-llama", "llava-siglip-qwen2"}) {
            Path dir = Fixtures.model(name);
            Run run = run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString());
            assertEquals(0, run.status(), run.out() + run.err());
            String[] lines = run.out().strip().split("\n");
            Matcher m = SUMMARY.matcher(lines[lines.length - 1]);
            assertTrue(m.matches(), lines[lines.length - 1]);
            assertEquals("OK", m.group(3));
            assertEquals(35, Integer.parseInt(m.group(2)), "28 forward tensors and 7 ablation references");
            assertTrue(Double.parseDouble(m.group(1)) < 1e-4);
            assertTrue(run.out().contains("projector_output"));
        }
    }

    @Test
    void failsWithExitCodeOneWhenATensorIsOutsideTheTolerance() {
        Path dir = Fixtures.model("llava-clip-llama");
        Run run = run("verify-model", "--model", dir.toString(), "--fixtures", dir.toString(), "--tolerance", "1e-9");
        assertEquals(1, run.status());
        assertTrue(run.out().strip().endsWith("FAIL"), run.out());
    }

    /** Taking the wrong vision layer must be caught: the reference is sensitive to it. */
    @Test
    void theWrongVisionLayerIsCaught(@TempDir Path copy) throws Exception {
        Path dir = Fixtures.model("llava-clip-llama");
        for (String file : new String[] {"model.safetensors", "fixtures.safetensors"}) {
            Files.copy(dir.resolve(file), copy.resolve(file));
        }
        Files.writeString(copy.resolve("config.json"), Files.readString(dir.resolve("config.json"))
                .replace("\"vision_feature_layer\": -2", "\"vision_feature_layer\": -1"));
        Run run = run("verify-model", "--model", copy.toString(), "--fixtures", copy.toString());
        assertEquals(1, run.status(), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("projector_output") && l.endsWith("FAIL")), run.out());
    }

    @Test
    void badInputIsOneReadableLineWithoutAStackTrace(@TempDir Path empty) {
        Run run = run("verify-model", "--model", empty.resolve("nope").toString());
        assertEquals(2, run.status());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertTrue(run.err().contains("nope") && run.err().contains("config.json"), run.err());
        assertFalse(run.err().contains("\tat "), run.err());

        Run missing = run("verify-model");
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("--model DIR is required"), missing.err());

        Run debug = run("verify-model", "--model", empty.toString(), "--debug");
        assertTrue(debug.err().contains("\tat "), "--debug shows the stack trace");
    }

    @Test
    void helpListsTheCommands() {
        Run run = run("--help");
        assertEquals(0, run.status());
        assertTrue(run.out().contains("verify-model"));
    }
}
