package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.headlens.results.ResultFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** The attribute command on the embedded tiny model, at reduced sizes. */
class AttributeCommandTest {
    static final Path MODEL = Path.of("..", "datasets", "tiny-shapes", "model");
    static final Path DATA = Path.of("..", "datasets", "tiny-shapes", "eval");
    private static final Pattern SUMMARY = Pattern.compile("attribute: samples=(\\d+) masks=(\\d+) heldout_r=(\\S+) faithfulness_auc=(\\S+)"
            + " single_head_auc=(\\S+) attention_auc=(\\S+) random_auc=(\\S+) seconds=(\\S+)");

    @Test
    void writesTablesAndManifestConsistentWithItsSummaryAndRerunsIdentically(@TempDir Path out, @TempDir Path again) throws Exception {
        String[] args = {"attribute", "--model", MODEL.toString(), "--data", DATA.toString(), "--out", out.toString(),
            "--samples", "6", "--masks", "80", "--held-out", "24", "--curve-points", "9", "--seed", "5"};
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(args);
        assertEquals(0, run.status(), run.out() + run.err());
        String[] lines = run.out().strip().split("\n");
        Matcher summary = SUMMARY.matcher(lines[lines.length - 1]);
        assertTrue(summary.matches(), lines[lines.length - 1]);

        Table samples = Table.read().csv(out.resolve("samples.csv").toFile());
        Table heads = Table.read().csv(out.resolve("heads.csv").toFile());
        Table areas = Table.read().csv(out.resolve("areas.csv").toFile());
        assertEquals(6, samples.rowCount());
        assertEquals(6 * 8, heads.rowCount(), "one row per layer and head");
        long used = samples.booleanColumn("correct").countTrue();
        assertEquals(used, Long.parseLong(summary.group(1)));
        assertEquals(80, Integer.parseInt(summary.group(2)));
        double meanR = samples.where(samples.booleanColumn("correct").isTrue()).doubleColumn("heldout_r").mean();
        assertEquals(meanR, Double.parseDouble(summary.group(3)), 1e-4);
        assertEquals(areas.where(areas.stringColumn("ranking").isEqualTo("head attribution")).doubleColumn("faithfulness_auc").get(0),
                Double.parseDouble(summary.group(4)), 1e-4);
        assertEquals(areas.where(areas.stringColumn("ranking").isEqualTo("random")).doubleColumn("faithfulness_auc").get(0),
                Double.parseDouble(summary.group(7)), 1e-4);

        JsonObject manifest = JsonParser.parseString(Files.readString(out.resolve("manifest.json"))).getAsJsonObject();
        assertEquals(ResultFolder.sha256(MODEL), manifest.get("model_sha256").getAsString());
        assertEquals(ResultFolder.sha256(DATA), manifest.get("data_sha256").getAsString());
        assertEquals(80, manifest.getAsJsonObject("attribution_options").get("masks").getAsInt());
        assertEquals(5, manifest.getAsJsonObject("attribution_options").get("seed").getAsInt());

        // resuming this folder with other options would mix two runs: refused, naming what differs
        String[] otherSeed = args.clone();
        otherSeed[otherSeed.length - 1] = "6";
        VerifyModelCommandTest.Run refused = VerifyModelCommandTest.run(otherSeed);
        assertEquals(2, refused.status());
        assertTrue(refused.err().contains("holds results of another run") && refused.err().contains("attribution options"), refused.err());

        // a fresh folder with the same seed reproduces every table byte for byte
        args[6] = again.toString();
        assertEquals(0, VerifyModelCommandTest.run(args).status());
        for (String table : new String[] {"samples", "heads", "curves", "areas", "similarity"}) {
            assertEquals(Files.readString(out.resolve(table + ".csv")), Files.readString(again.resolve(table + ".csv")), table);
        }
    }
}
