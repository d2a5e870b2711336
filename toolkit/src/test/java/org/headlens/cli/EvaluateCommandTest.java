package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.TestModels;
import org.headlens.model.ModelCopies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped tiny model on the shipped evaluation split. */
class EvaluateCommandTest {
    private static final Pattern SUMMARY = Pattern.compile("evaluate: accuracy=(\\S+) blank_accuracy=(\\S+) samples=(\\d+)");
    private static final Pattern CLASS_ROW = Pattern.compile("(?m)^(circle|square|triangle|star|cross|heart|diamond|hexagon)\\s+(\\S+)\\s+(\\d+)$");

    @Test
    void theShippedModelUsesTheImageAndItsTablesAgreeWithTheSummary() {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("evaluate", "--model", AttributeCommandTest.MODEL.toString(),
                "--data", AttributeCommandTest.DATA.toString());
        assertEquals(0, run.status(), run.out() + run.err());
        String[] lines = run.out().strip().split("\n");
        Matcher summary = SUMMARY.matcher(lines[lines.length - 1]);
        assertTrue(summary.matches(), lines[lines.length - 1]);
        double accuracy = Double.parseDouble(summary.group(1));
        double blank = Double.parseDouble(summary.group(2));
        assertEquals(256, Integer.parseInt(summary.group(3)));
        // blank images carry no class: at most chance (1/8) plus 0.10, and far below real images
        assertTrue(blank <= 0.125 + 0.10, "blank-image accuracy " + blank);
        assertTrue(accuracy > blank + 0.5, "accuracy " + accuracy + " against blank " + blank);
        Matcher rows = CLASS_ROW.matcher(run.out());
        double correct = 0;
        int samples = 0;
        while (rows.find()) {
            correct += Double.parseDouble(rows.group(2)) * Integer.parseInt(rows.group(3));
            samples += Integer.parseInt(rows.group(3));
        }
        assertEquals(256, samples, "eight class rows of 32 samples");
        assertEquals(accuracy, correct / samples, 1e-3, "class rows average to the summary");
        // wrong answers name a class and a different answer, and never more of them than were wrong
        Matcher wrong = Pattern.compile("(\\w+) -> (\\S+) (\\d+)").matcher(lines[lines.length - 2]);
        int listed = 0;
        while (wrong.find()) {
            assertTrue(!wrong.group(1).equals(wrong.group(2)), wrong.group());
            listed += Integer.parseInt(wrong.group(3));
        }
        assertTrue(lines[lines.length - 2].startsWith("most frequent wrong answers: "), lines[lines.length - 2]);
        assertTrue(listed > 0 == accuracy < 1 && listed <= Math.round((1 - accuracy) * samples), lines[lines.length - 2]);
    }

    @Test
    void brokenWeightsNeverScoreAndNonFiniteOnesAreRefusedInOneLine(@TempDir Path dir) {
        Path data = dir.resolve("data");
        TestModels.shapes(data, 8, 5);
        Path zeros = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("zeros"), (manager, tensors) ->
                tensors.replaceAll((name, tensor) -> tensor.zerosLike()));
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("evaluate", "--model", zeros.toString(), "--data", data.toString());
        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.out().strip().endsWith("evaluate: accuracy=0.0000 blank_accuracy=0.0000 samples=8"), run.out());

        Path nan = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("nan"), (manager, tensors) ->
                tensors.put("language_model.model.norm.weight", tensors.get("language_model.model.norm.weight").mul(Float.NaN)));
        run = VerifyModelCommandTest.run("evaluate", "--model", nan.toString(), "--data", data.toString());
        assertEquals(2, run.status(), run.out() + run.err());
        assertEquals("headlens evaluate: " + nan.resolve("model.safetensors") + ": tensor 'language_model.model.norm.weight' holds 128 NaN values;"
                + " a model with non-finite weights computes no meaningful numbers", run.err().strip());
        assertTrue(!run.out().contains("accuracy="), run.out());
    }
}
