package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** The demo at reduced sizes: its report holds every chart, and its numbers are those of the CSV files. */
class DemoCommandTest {
    private static final Pattern SUMMARY = Pattern.compile(
            "demo: accuracy=(\\S+) heldout_r=(\\S+) faithfulness_auc=(\\S+) report=(\\S+) seconds=(\\S+)");

    @Test
    void writesASelfContainedReportConsistentWithItsTables(@TempDir Path out) throws Exception {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("demo", "--model", AttributeCommandTest.MODEL.toString(),
                "--data", AttributeCommandTest.DATA.toString(), "--out", out.toString(), "--samples", "8", "--masks", "64");
        assertEquals(0, run.status(), run.out() + run.err());
        String[] lines = run.out().strip().split("\n");
        Matcher summary = SUMMARY.matcher(lines[lines.length - 1]);
        assertTrue(summary.matches(), lines[lines.length - 1]);
        Path report = Path.of(summary.group(4));
        assertEquals(out.resolve("report.html").toAbsolutePath().normalize(), report);

        Table evaluation = Table.read().csv(out.resolve("evaluate/samples.csv").toFile());
        assertEquals(256, evaluation.rowCount(), "the whole evaluation split");
        double accuracy = evaluation.booleanColumn("correct").countTrue() / 256.0;
        assertEquals(accuracy, Double.parseDouble(summary.group(1)), 1e-4);
        Table samples = Table.read().csv(out.resolve("attribution/samples.csv").toFile());
        assertEquals(8, samples.rowCount());
        assertEquals(samples.where(samples.booleanColumn("correct").isTrue()).doubleColumn("heldout_r").mean(),
                Double.parseDouble(summary.group(2)), 1e-4);
        Table areas = Table.read().csv(out.resolve("attribution/areas.csv").toFile());
        assertEquals(areas.where(areas.stringColumn("ranking").isEqualTo("head attribution")).doubleColumn("faithfulness_auc").get(0),
                Double.parseDouble(summary.group(3)), 1e-4);
        for (String file : new String[] {"evaluate/manifest.json", "attribution/manifest.json", "flow/manifest.json", "flow/curves.csv"}) {
            assertTrue(Files.isRegularFile(out.resolve(file)), file);
        }

        String html = Files.readString(report);
        assertEquals(5, count(html, "Plotly.newPlot("), "heatmap, two evaluation curves, similarity matrix, flow curves");
        assertEquals(1, count(html, "plotly.js (cartesian - minified)"), "plotly.js inlined once");
        assertEquals(3, count(html, "src=\"data:image/png;base64,"), "three patch maps, inlined");
        assertFalse(html.matches("(?s).*<script[^>]+src=.*") || html.contains("<link"), "nothing is loaded from elsewhere");
        assertTrue(html.contains(String.format("answers %.1f%% of the evaluation questions", 100 * accuracy)), "the accuracy sentence");
        Table flow = Table.read().csv(out.resolve("flow/summary.csv").toFile());
        assertTrue(html.contains(">" + flow.stringColumn("pair").get(0).replace(">", "&gt;") + "<"), "the flow summary table");

        // the flow section measures the margin in windows of half the depth, says why, and shows effects one can read
        JsonObject flowManifest = JsonParser.parseString(Files.readString(out.resolve("flow/manifest.json"))).getAsJsonObject();
        assertEquals("margin", flowManifest.getAsJsonObject("flow_options").get("metric").getAsString().toLowerCase(java.util.Locale.ROOT));
        assertEquals(3, flowManifest.get("window_size").getAsInt(), "half of the tiny model's 6 layers");
        double probability = evaluation.where(evaluation.booleanColumn("correct").isTrue()).doubleColumn("probability").mean();
        assertTrue(html.contains(DemoCommand.whyMetricAndWindow(probability, 3, 6).replace("&", "&amp;")),
                "the sentence on why this metric and window");
        assertTrue(html.contains("Why this metric and window: the model gives its correct answers a mean probability of 0.9"), html);
        double strongest = flow.doubleColumn("strongest_relative_change").min();
        assertTrue(strongest < -0.05, "the strongest cut moves the margin by more than 5%: " + strongest);
    }

    private static int count(String text, String part) {
        int count = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + 1)) {
            count++;
        }
        return count;
    }
}
