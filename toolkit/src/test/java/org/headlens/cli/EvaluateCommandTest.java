package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

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
}
