package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.headlens.forward.Heads;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Table;

/** A kernel that displays through its own API (the Kotlin kernel) attaches itself, and {@code show} reaches it. */
class DisplayAttachTest {
    @Test
    void showGoesToAnAttachedKernelAsTextBundlesWithPlotlyAsJsonText() {
        List<Map<String, String>> shown = new ArrayList<>();
        Heads heads = new Heads(2, 3);
        try {
            Display.attach("Kotlin", shown::add);
            assertEquals("Kotlin", Display.session().kernelName());
            Display.show(Table.create("scores", IntColumn.create("head", 1, 2)));
            Display.show(Charts.headGrid("grid", heads, new double[heads.count()]));
        } finally {
            Display.attach("none", null);
        }
        assertNotEquals("Kotlin", Display.session().kernelName(), "detached");
        assertEquals(2, shown.size());
        assertTrue(shown.get(0).get("text/html").contains("<caption>scores</caption>"), shown.get(0).toString());
        JsonObject plotly = JsonParser.parseString(shown.get(1).get("application/vnd.plotly.v1+json")).getAsJsonObject();
        assertTrue(plotly.has("data") && plotly.has("layout"), plotly.toString());
        assertTrue(shown.get(1).get("text/html").contains("Plotly.newPlot"));
        // mimeBundle gives a renderer the same bundle without showing anything
        assertTrue(Display.mimeBundle(Table.create("t", IntColumn.create("a", 1))).get("text/html").contains("<caption>t</caption>"));
        assertEquals(2, shown.size());
    }
}
