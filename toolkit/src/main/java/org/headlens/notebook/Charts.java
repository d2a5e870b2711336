package org.headlens.notebook;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.headlens.HeadlensException;
import org.headlens.attribution.AttributionResult;
import org.headlens.flow.FlowResult;
import org.headlens.forward.Head;
import org.headlens.forward.Heads;
import org.headlens.flow.PatchEffects;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.plotly.components.Axis;
import tech.tablesaw.plotly.components.Figure;
import tech.tablesaw.plotly.components.Layout;
import tech.tablesaw.plotly.components.Line;
import tech.tablesaw.plotly.traces.HeatmapTrace;
import tech.tablesaw.plotly.traces.ScatterTrace;
import tech.tablesaw.plotly.traces.Trace;

/** The charts of the method, from its result tables. */
public final class Charts {
    private Charts() {
    }

    /**
     * @param result an attribution run
     * @return the layer x head heatmap of mean attribution
     */
    public static Chart attributionHeatmap(AttributionResult result) {
        Table heads = result.heads();
        Heads grid = result.grid();
        double[] values = new double[grid.count()];
        for (int i = 0; i < heads.rowCount(); i++) {
            values[grid.index(new Head(heads.intColumn("layer").get(i), heads.intColumn("head").get(i)))] = heads.doubleColumn("attribution").get(i);
        }
        return headGrid("Head attribution (" + result.options().metric().label() + ", mean over " + result.used().size() + " samples)",
                grid, values);
    }

    /**
     * A layer x head heatmap of one value per head, e.g. one sample's fitted coefficients or the
     * attention each head pays to the image.
     *
     * @param title what the values are
     * @param grid the model's heads
     * @param values one per head, in flat order ({@link Heads#index})
     * @return the heatmap, layers down, heads across
     */
    public static Chart headGrid(String title, Heads grid, double[] values) {
        if (values.length != grid.count()) {
            throw new HeadlensException(title + ": " + values.length + " values for " + grid.count() + " heads ("
                    + grid.layers() + " layers of " + grid.perLayer() + ")");
        }
        double[][] z = new double[grid.layers()][grid.perLayer()];
        for (int i = 0; i < values.length; i++) {
            Head head = grid.head(i);
            z[head.layer()][head.head()] = values[i];
        }
        Object[] x = new Object[grid.perLayer()];
        Object[] y = new Object[grid.layers()];
        for (int h = 0; h < grid.perLayer(); h++) {
            x[h] = "H" + h;
        }
        for (int l = 0; l < grid.layers(); l++) {
            y[l] = "L" + l;
        }
        return Chart.of(title, new Figure(layout(title, "head", "layer"), HeatmapTrace.builder(x, y, z).build()));
    }

    /**
     * @param result an attribution run
     * @param completeness false for the faithfulness curves (keep only the top k heads), true for
     *     completeness (ablate only the top k)
     * @return one line per ranking over the fraction of heads
     */
    public static Chart evaluationCurves(AttributionResult result, boolean completeness) {
        return evaluationCurves(result.curvesTable(), completeness);
    }

    /**
     * @param curves one row per ranking and k, with columns {@code ranking}, {@code fraction} and
     *     {@code faithfulness} or {@code completeness}, as {@link AttributionResult#curvesTable()}
     *     gives them or a notebook measures them
     * @param completeness false for the faithfulness curves, true for completeness
     * @return one line per ranking over the fraction of heads
     */
    public static Chart evaluationCurves(Table curves, boolean completeness) {
        String measure = completeness ? "completeness" : "faithfulness";
        List<Trace> traces = new ArrayList<>();
        for (String ranking : distinct(curves.stringColumn("ranking"))) {
            Table rows = curves.where(curves.stringColumn("ranking").isEqualTo(ranking));
            traces.add(ScatterTrace.builder(rows.doubleColumn("fraction"), rows.doubleColumn(measure)).mode(ScatterTrace.Mode.LINE)
                    .name(ranking).build());
        }
        String title = completeness ? "Completeness: metric with the top k heads ablated (lower is better)"
                : "Faithfulness: metric with only the top k heads kept (higher is better)";
        return Chart.of(title, new Figure(layout(title, "fraction of heads k / all", measure + " (0 = all ablated, 1 = clean)"),
                traces.toArray(new Trace[0])));
    }

    /**
     * @param result an attribution run
     * @return the cosine similarity of mean attribution vectors between classes and styles
     */
    public static Chart similarityMatrix(AttributionResult result) {
        Table matrix = result.similarityMatrix();
        List<String> names = matrix.stringColumn("group").asList();
        double[][] z = new double[names.size()][names.size()];
        for (int i = 0; i < names.size(); i++) {
            for (int j = 0; j < names.size(); j++) {
                z[i][j] = matrix.doubleColumn(names.get(j)).get(i);
            }
        }
        String title = "Cosine similarity of head attribution between classes and styles";
        Object[] labels = names.toArray();
        return Chart.of(title, new Figure(layout(title, "", ""), HeatmapTrace.builder(labels, labels, z).build()));
    }

    /**
     * @param result a flow trace
     * @return one line per token-group pair: mean relative change of the metric per layer window
     */
    public static Chart flowCurves(FlowResult result) {
        Table curves = result.curves();
        List<Trace> traces = new ArrayList<>();
        for (String pair : distinct(curves.stringColumn("pair"))) {
            Table rows = curves.where(curves.stringColumn("pair").isEqualTo(pair));
            StringColumn windows = StringColumn.create("window");
            for (int i = 0; i < rows.rowCount(); i++) {
                windows.append("L" + rows.intColumn("first_layer").get(i) + "-" + rows.intColumn("last_layer").get(i));
            }
            DoubleColumn change = rows.doubleColumn("mean_relative_change");
            ScatterTrace.ScatterBuilder line = ScatterTrace.builder(windows, change).mode(ScatterTrace.Mode.LINE_AND_MARKERS).name(pair);
            if (pair.startsWith("image_")) {
                line.line(Line.builder().dash(Line.Dash.DOT).build());
            }
            traces.add(line.build());
        }
        String title = "Attention knockout: relative change of the answer's " + result.options().metric().label()
                + " when a flow is cut (windows of " + result.windowSize() + " layers)";
        return Chart.of(title, new Figure(layout(title, "layer window", "relative change"), traces.toArray(new Trace[0])));
    }

    /**
     * The image with each patch tinted by how much the answer depends on it: red where cutting the
     * patch lowers the metric, blue where it raises it, strongest at the largest magnitude. The
     * finest of the effects' grids is drawn over the whole image (LLaVA-NeXT's tile map, whose
     * padding the model cut away, Qwen2-VL's merged windows, LLaVA-1.5's patches).
     *
     * @param image the sample's image (any size; drawn 256 pixels wide, keeping its aspect)
     * @param effects per-patch knockout effects
     * @return the picture
     */
    public static BufferedImage patchMap(BufferedImage image, PatchEffects effects) {
        PatchEffects.Grid grid = effects.finest();
        int rows = grid.rows();
        int columns = grid.columns();
        double[] change = grid.change();
        int width = 256;
        int height = (int) Math.max(16, Math.min(1024, Math.round(width * (double) image.getHeight() / image.getWidth())));
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        g.drawImage(image, 0, 0, width, height, null);
        double largest = 1e-12;
        for (double c : change) {
            largest = Math.max(largest, Math.abs(c));
        }
        double cellWidth = width / (double) columns;
        double cellHeight = height / (double) rows;
        for (int p = 0; p < change.length; p++) {
            double strength = Math.abs(change[p]) / largest;
            Color tint = change[p] < 0 ? new Color(220, 30, 30, (int) (200 * strength)) : new Color(30, 80, 220, (int) (200 * strength));
            int column = p % columns;
            int row = p / columns;
            int x = (int) Math.round(column * cellWidth);
            int y = (int) Math.round(row * cellHeight);
            int w = (int) Math.round((column + 1) * cellWidth) - x;
            int h = (int) Math.round((row + 1) * cellHeight) - y;
            g.setColor(tint);
            g.fillRect(x, y, w, h);
            g.setColor(new Color(255, 255, 255, 90));
            g.setStroke(new BasicStroke(1f));
            g.drawRect(x, y, w, h);
        }
        g.dispose();
        return out;
    }

    private static Layout layout(String title, String xTitle, String yTitle) {
        return Layout.builder().title(title).height(420).width(720).xAxis(Axis.builder().title(xTitle).build())
                .yAxis(Axis.builder().title(yTitle).build()).build();
    }

    private static List<String> distinct(StringColumn column) {
        Set<String> seen = new LinkedHashSet<>(column.asList());
        return new ArrayList<>(seen);
    }
}
