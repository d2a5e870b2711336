package org.headlens.flow;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.stat.descriptive.SummaryStatistics;
import org.headlens.HeadlensException;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The knockouts of a trace over a dataset, as tables. A change is the metric with the flow cut
 * minus the clean metric, so a flow the answer depends on has a negative change; the relative
 * change divides by the clean metric's magnitude (with probability, the paper's relative
 * probability change).
 *
 * @param options the options of the run
 * @param windowSize layers per window
 * @param traced every sample traced, used or not
 * @param seconds time taken
 */
public record FlowResult(FlowOptions options, int windowSize, List<SampleFlow> traced, double seconds) {
    /** Copies the list. */
    public FlowResult {
        traced = List.copyOf(traced);
    }

    /** @return window positions per pair */
    public int windows() {
        return traced.isEmpty() ? 0 : (int) traced.get(0).points().stream().mapToInt(SampleFlow.Point::firstLayer).distinct().count();
    }

    /** @return the samples the curves average over (the correctly answered ones unless kept) */
    public List<SampleFlow> used() {
        return traced.stream().filter(s -> s.correct() || !options.dropIncorrect()).toList();
    }

    /**
     * @return one row per sample: class, style, whether it is answered correctly and used, clean
     *     metric, token counts (timings are in the manifest, so that reruns give identical tables)
     */
    public Table samples() {
        Table table = Table.create("samples", StringColumn.create("sample"), StringColumn.create("class"), StringColumn.create("style"),
                BooleanColumn.create("correct"), BooleanColumn.create("used"), DoubleColumn.create("clean"),
                IntColumn.create("object_tokens"), IntColumn.create("image_tokens"));
        for (SampleFlow s : traced) {
            table.stringColumn("sample").append(s.id());
            table.stringColumn("class").append(s.shape());
            table.stringColumn("style").append(s.style());
            table.booleanColumn("correct").append(s.correct());
            table.booleanColumn("used").append(s.correct() || !options.dropIncorrect());
            table.doubleColumn("clean").append(s.clean());
            table.intColumn("object_tokens").append(s.objectTokens());
            table.intColumn("image_tokens").append(s.imageTokens());
        }
        return table;
    }

    /** @return one row per used sample, pair and window: the metric with the flow cut, its change and relative change */
    public Table knockouts() {
        Table table = Table.create("knockouts", StringColumn.create("sample"), StringColumn.create("pair"),
                IntColumn.create("first_layer"), IntColumn.create("last_layer"), DoubleColumn.create("metric"),
                DoubleColumn.create("change"), DoubleColumn.create("relative_change"));
        for (SampleFlow s : used()) {
            for (SampleFlow.Point p : s.points()) {
                table.stringColumn("sample").append(s.id());
                table.stringColumn("pair").append(p.pair());
                table.intColumn("first_layer").append(p.firstLayer());
                table.intColumn("last_layer").append(p.firstLayer() + windowSize - 1);
                table.doubleColumn("metric").append(p.metric());
                table.doubleColumn("change").append(p.metric() - s.clean());
                table.doubleColumn("relative_change").append((p.metric() - s.clean()) / Math.abs(s.clean()));
            }
        }
        return table;
    }

    /**
     * @return one row per pair and window, in the order traced: mean change over the used
     *     samples with its standard deviation and standard error, and the same for the relative change
     */
    public Table curves() {
        // per pair and window: statistics of the change and of the relative change
        Map<String, SummaryStatistics[]> byPoint = new LinkedHashMap<>();
        for (SampleFlow s : used()) {
            for (SampleFlow.Point p : s.points()) {
                SummaryStatistics[] stats = byPoint.computeIfAbsent(p.pair() + "@" + p.firstLayer(),
                        k -> new SummaryStatistics[] {new SummaryStatistics(), new SummaryStatistics()});
                stats[0].addValue(p.metric() - s.clean());
                stats[1].addValue((p.metric() - s.clean()) / Math.abs(s.clean()));
            }
        }
        Table table = Table.create("flow curves", StringColumn.create("pair"), IntColumn.create("first_layer"),
                IntColumn.create("last_layer"), IntColumn.create("samples"), DoubleColumn.create("mean_change"),
                DoubleColumn.create("std_change"), DoubleColumn.create("se_change"), DoubleColumn.create("mean_relative_change"),
                DoubleColumn.create("se_relative_change"));
        byPoint.forEach((key, stats) -> {
            int at = key.lastIndexOf('@');
            int first = Integer.parseInt(key.substring(at + 1));
            table.stringColumn("pair").append(key.substring(0, at));
            table.intColumn("first_layer").append(first);
            table.intColumn("last_layer").append(first + windowSize - 1);
            table.intColumn("samples").append((int) stats[0].getN());
            table.doubleColumn("mean_change").append(stats[0].getMean());
            table.doubleColumn("std_change").append(stats[0].getStandardDeviation());
            table.doubleColumn("se_change").append(stats[0].getStandardDeviation() / Math.sqrt(stats[0].getN()));
            table.doubleColumn("mean_relative_change").append(stats[1].getMean());
            table.doubleColumn("se_relative_change").append(stats[1].getStandardDeviation() / Math.sqrt(stats[1].getN()));
        });
        return table;
    }

    /**
     * Where each flow matters: the window of its largest mean drop, and its onset, the first
     * window whose mean drop reaches half of that largest drop. Comparing onsets across pairs
     * says which information reaches a token first.
     *
     * @return one row per pair
     */
    public Table summary() {
        if (used().isEmpty()) {
            throw new HeadlensException("none of the " + traced.size() + " samples is answered correctly, so no flow can be"
                    + " compared; keep incorrect samples (--keep-incorrect) to trace anyway");
        }
        Table curves = curves();
        Table table = Table.create("flow summary", StringColumn.create("pair"), IntColumn.create("strongest_first_layer"),
                IntColumn.create("strongest_last_layer"), DoubleColumn.create("strongest_change"),
                DoubleColumn.create("strongest_relative_change"), IntColumn.create("onset_first_layer"));
        for (FlowPair pair : options.pairs()) {
            Table rows = curves.where(curves.stringColumn("pair").isEqualTo(pair.label()));
            if (rows.rowCount() == 0) {
                continue; // no sample could cut it (object pairs without masks)
            }
            int strongest = 0;
            for (int i = 1; i < rows.rowCount(); i++) {
                if (rows.doubleColumn("mean_change").get(i) < rows.doubleColumn("mean_change").get(strongest)) {
                    strongest = i;
                }
            }
            double drop = rows.doubleColumn("mean_change").get(strongest);
            int onset = strongest;
            for (int i = 0; i < strongest; i++) {
                if (drop < 0 && rows.doubleColumn("mean_change").get(i) <= drop / 2) {
                    onset = i;
                    break;
                }
            }
            table.stringColumn("pair").append(pair.label());
            table.intColumn("strongest_first_layer").append(rows.intColumn("first_layer").get(strongest));
            table.intColumn("strongest_last_layer").append(rows.intColumn("last_layer").get(strongest));
            table.doubleColumn("strongest_change").append(drop);
            table.doubleColumn("strongest_relative_change").append(rows.doubleColumn("mean_relative_change").get(strongest));
            table.intColumn("onset_first_layer").append(rows.intColumn("first_layer").get(onset));
        }
        return table;
    }

    /** @return the pairs of the options that no used sample could cut (those needing a mask, when no sample has one) */
    public List<String> skippedPairs() {
        java.util.Set<String> cut = new java.util.HashSet<>();
        used().forEach(s -> s.points().forEach(p -> cut.add(p.pair())));
        return options.pairs().stream().map(FlowPair::label).filter(label -> !cut.contains(label)).toList();
    }

    /** @return the pair and window whose cut lowers the metric most, e.g. {@code image->final@2-3} */
    public String strongest() {
        Table summary = summary();
        int best = 0;
        for (int i = 1; i < summary.rowCount(); i++) {
            if (summary.doubleColumn("strongest_change").get(i) < summary.doubleColumn("strongest_change").get(best)) {
                best = i;
            }
        }
        return summary.stringColumn("pair").get(best) + "@" + summary.intColumn("strongest_first_layer").get(best) + "-"
                + summary.intColumn("strongest_last_layer").get(best);
    }
}
