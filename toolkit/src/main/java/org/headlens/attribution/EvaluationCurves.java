package org.headlens.attribution;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Faithfulness (keep only the top-k heads) and completeness (ablate only the top-k heads) over k,
 * normalised so that the clean run is 1 and the all-ablated run 0. Normalisation divides means
 * over samples (not per-sample ratios), so a sample whose clean and ablated metric nearly agree
 * cannot dominate the curve.
 */
public final class EvaluationCurves {
    private EvaluationCurves() {
    }

    /**
     * @param curves raw per-sample measurements
     * @param heads number of heads (for the fraction column)
     * @return one row per ranking and k: k, fraction of heads, faithfulness, completeness
     */
    public static Table table(List<SampleCurves> curves, int heads) {
        double clean = curves.stream().mapToDouble(SampleCurves::clean).average().orElse(Double.NaN);
        double ablated = curves.stream().mapToDouble(SampleCurves::allAblated).average().orElse(Double.NaN);
        Map<String, Map<Integer, double[]>> sums = new LinkedHashMap<>();
        for (SampleCurves sample : curves) {
            for (SampleCurves.Point point : sample.points()) {
                double[] sum = sums.computeIfAbsent(point.ranking(), r -> new LinkedHashMap<>()).computeIfAbsent(point.k(), k -> new double[3]);
                sum[0] += point.keepOnly();
                sum[1] += point.ablateOnly();
                sum[2]++;
            }
        }
        List<String> names = new ArrayList<>();
        List<Integer> ks = new ArrayList<>();
        List<Double> fraction = new ArrayList<>();
        List<Double> faithfulness = new ArrayList<>();
        List<Double> completeness = new ArrayList<>();
        sums.forEach((ranking, byK) -> byK.forEach((k, sum) -> {
            names.add(ranking);
            ks.add(k);
            fraction.add(k / (double) heads);
            faithfulness.add((sum[0] / sum[2] - ablated) / (clean - ablated));
            completeness.add((sum[1] / sum[2] - ablated) / (clean - ablated));
        }));
        return Table.create("evaluation curves", StringColumn.create("ranking", names),
                IntColumn.create("k", ks.stream().mapToInt(Integer::intValue).toArray()),
                DoubleColumn.create("fraction", fraction), DoubleColumn.create("faithfulness", faithfulness),
                DoubleColumn.create("completeness", completeness));
    }

    /**
     * @param curves a table from {@link #table}
     * @return one row per ranking: trapezoid area under each curve over the fraction of heads;
     *     higher faithfulness and lower completeness area mean a better ranking
     */
    public static Table areas(Table curves) {
        Map<String, double[]> areas = new LinkedHashMap<>();
        for (int i = 1; i < curves.rowCount(); i++) {
            String ranking = curves.stringColumn("ranking").get(i);
            if (!ranking.equals(curves.stringColumn("ranking").get(i - 1))) {
                continue;
            }
            double width = curves.doubleColumn("fraction").get(i) - curves.doubleColumn("fraction").get(i - 1);
            double[] area = areas.computeIfAbsent(ranking, r -> new double[2]);
            area[0] += width * (curves.doubleColumn("faithfulness").get(i) + curves.doubleColumn("faithfulness").get(i - 1)) / 2;
            area[1] += width * (curves.doubleColumn("completeness").get(i) + curves.doubleColumn("completeness").get(i - 1)) / 2;
        }
        return Table.create("areas under the curves", StringColumn.create("ranking", areas.keySet()),
                DoubleColumn.create("faithfulness_auc", areas.values().stream().mapToDouble(a -> a[0])),
                DoubleColumn.create("completeness_auc", areas.values().stream().mapToDouble(a -> a[1])));
    }
}
