package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** The trace command on the embedded tiny model, on a few samples. */
class TraceCommandTest {
    private static final Pattern SUMMARY = Pattern.compile("trace: samples=(\\d+) windows=(\\d+) strongest=(\\S+)@(\\d+)-(\\d+) seconds=(\\S+)");

    @Test
    void writesTablesAndManifestConsistentWithItsSummary(@TempDir Path out, @TempDir Path attribution) throws Exception {
        Path headsFile = Files.writeString(attribution.resolve("heads.csv"), "layer,head,attribution\n0,1,0.5\n3,2,2.5\n5,7,1.5\n");
        String[] args = {"trace", "--model", AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(),
            "--out", out.toString(), "--samples", "6", "--top-heads", headsFile.toString(), "--top-k", "2"};
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(args);
        assertEquals(0, run.status(), run.out() + run.err());
        String[] lines = run.out().strip().split("\n");
        Matcher summary = SUMMARY.matcher(lines[lines.length - 1]);
        assertTrue(summary.matches(), lines[lines.length - 1]);

        Table samples = Table.read().csv(out.resolve("samples.csv").toFile());
        Table curves = Table.read().csv(out.resolve("curves.csv").toFile());
        Table knockouts = Table.read().csv(out.resolve("knockouts.csv").toFile());
        assertEquals(6, samples.rowCount());
        long used = samples.booleanColumn("used").countTrue();
        assertEquals(used, Long.parseLong(summary.group(1)));
        // 6 layers, windows of 2: first layers 0..4, for each of the 7 default pairs
        assertEquals(5, Integer.parseInt(summary.group(2)));
        assertEquals(7 * 5, curves.rowCount());
        assertEquals(used * 7 * 5, knockouts.rowCount());
        // the strongest flow is the lowest mean change in the curves (ties go to the earlier window)
        Table named = curves.where(curves.stringColumn("pair").isEqualTo(summary.group(3))
                .and(curves.intColumn("first_layer").isEqualTo(Integer.parseInt(summary.group(4)))));
        assertEquals(curves.doubleColumn("mean_change").min(), named.doubleColumn("mean_change").get(0), 0.0);
        assertEquals(Integer.parseInt(summary.group(4)) + 1, Integer.parseInt(summary.group(5)));
        // a curve point is the mean of its knockouts
        Table point = knockouts.where(knockouts.stringColumn("pair").isEqualTo("image->final").and(knockouts.intColumn("first_layer").isEqualTo(2)));
        Table curve = curves.where(curves.stringColumn("pair").isEqualTo("image->final").and(curves.intColumn("first_layer").isEqualTo(2)));
        assertEquals(point.doubleColumn("change").mean(), curve.doubleColumn("mean_change").get(0), 1e-9);

        JsonObject manifest = JsonParser.parseString(Files.readString(out.resolve("manifest.json"))).getAsJsonObject();
        assertEquals(2, manifest.get("window_size").getAsInt());
        var heads = manifest.getAsJsonObject("flow_options").getAsJsonArray("heads");
        assertEquals(2, heads.size(), "the two heads of largest attribution");
        assertEquals(3, heads.get(0).getAsJsonObject().get("layer").getAsInt());
        assertEquals(5, heads.get(1).getAsJsonObject().get("layer").getAsInt());
    }

    @Test
    void aHeadsFileWithoutTheColumnsIsNamedInTheError(@TempDir Path out, @TempDir Path attribution) throws Exception {
        Path heads = Files.writeString(attribution.resolve("bad-heads.csv"), "a,b\n1,2\n");
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run(new String[] {"trace", "--out", out.toString(), "--model",
            AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(), "--top-heads", heads.toString()});
        assertEquals(2, run.status());
        assertTrue(run.err().contains("bad-heads.csv") && run.err().contains("'layer'"), run.err());
        VerifyModelCommandTest.Run pair = VerifyModelCommandTest.run(new String[] {"trace", "--out", out.toString(), "--model",
            AttributeCommandTest.MODEL.toString(), "--data", AttributeCommandTest.DATA.toString(), "--pairs", "image->nowhere"});
        assertTrue(pair.err().contains("'nowhere'"), pair.err());
    }
}
