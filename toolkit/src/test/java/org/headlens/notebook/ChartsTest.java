package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.forward.Heads;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

class ChartsTest {
    @Test
    void aHeadGridPutsEachHeadsValueAtItsLayerAndHead() {
        Heads grid = new Heads(3, 2);
        double[] values = new double[grid.count()];
        for (int i = 0; i < values.length; i++) {
            values[i] = 10 * grid.head(i).layer() + grid.head(i).head();
        }
        JsonObject trace = Charts.headGrid("values", grid, values).plotlyJson().getAsJsonArray("data").get(0).getAsJsonObject();
        JsonArray z = trace.getAsJsonArray("z");
        assertEquals(grid.layers(), z.size());
        for (int l = 0; l < grid.layers(); l++) {
            assertEquals(grid.perLayer(), z.get(l).getAsJsonArray().size());
            for (int h = 0; h < grid.perLayer(); h++) {
                assertEquals(values[grid.index(new Head(l, h))], z.get(l).getAsJsonArray().get(h).getAsDouble(), 0);
            }
        }
        assertEquals("L2", trace.getAsJsonArray("y").get(2).getAsString());
        assertEquals("H1", trace.getAsJsonArray("x").get(1).getAsString());
    }

    @Test
    void aHeadGridRefusesValuesForAnotherGrid() {
        HeadlensException e = assertThrows(HeadlensException.class, () -> Charts.headGrid("attention", new Heads(3, 2), new double[5]));
        assertTrue(e.getMessage().contains("5 values for 6 heads"), e.getMessage());
    }

    @Test
    void curvesMeasuredInANotebookAreDrawnOneLinePerRanking() {
        Table curves = Table.create("curves", StringColumn.create("ranking", "a", "a", "b", "b"),
                DoubleColumn.create("fraction", 0, 1, 0, 1), DoubleColumn.create("faithfulness", 0, 1, 0.5, 1),
                DoubleColumn.create("completeness", 1, 0, 0.75, 0));
        JsonArray data = Charts.evaluationCurves(curves, true).plotlyJson().getAsJsonArray("data");
        assertEquals(2, data.size());
        assertEquals("b", data.get(1).getAsJsonObject().get("name").getAsString());
        assertEquals(0.75, data.get(1).getAsJsonObject().getAsJsonArray("y").get(0).getAsDouble(), 0);
    }
}
