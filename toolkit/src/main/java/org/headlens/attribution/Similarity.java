package org.headlens.attribution;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.math3.stat.descriptive.SummaryStatistics;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Semantic versus appearance: are the heads that matter for a sample shared with samples of the
 * same class in other styles (semantic) more than with samples of the same style in other
 * classes (appearance)?
 */
public final class Similarity {
    /** Pairs sharing the class, differing in style. */
    public static final String SAME_CLASS = "same class, other style";
    /** Pairs sharing the style, differing in class. */
    public static final String SAME_STYLE = "same style, other class";
    /** Pairs differing in both, for reference. */
    public static final String NEITHER = "other class, other style";
    /** Without an appearance grouping: pairs sharing the class. */
    public static final String SAME_CLASS_ONLY = "same class";
    /** Without an appearance grouping: pairs of different classes. */
    public static final String OTHER_CLASS_ONLY = "other class";

    private Similarity() {
    }

    /**
     * @param samples per-sample attributions
     * @param topK heads compared by the overlap
     * @return one row per kind of pair: count, mean and standard deviation of cosine and of top-k overlap
     */
    public static Table pairs(List<SampleAttribution> samples, int topK) {
        boolean appearance = hasAppearance(samples);
        Map<String, SummaryStatistics[]> stats = new java.util.LinkedHashMap<>();
        for (String kind : appearance ? List.of(SAME_CLASS, SAME_STYLE, NEITHER) : List.of(SAME_CLASS_ONLY, OTHER_CLASS_ONLY)) {
            stats.put(kind, new SummaryStatistics[] {new SummaryStatistics(), new SummaryStatistics()});
        }
        for (int i = 0; i < samples.size(); i++) {
            for (int j = i + 1; j < samples.size(); j++) {
                SampleAttribution a = samples.get(i);
                SampleAttribution b = samples.get(j);
                boolean sameClass = a.shape().equals(b.shape());
                boolean sameStyle = a.style().equals(b.style());
                String kind = !appearance ? (sameClass ? SAME_CLASS_ONLY : OTHER_CLASS_ONLY)
                        : sameClass && !sameStyle ? SAME_CLASS : sameStyle && !sameClass ? SAME_STYLE : !sameClass ? NEITHER : null;
                if (kind != null) {
                    stats.get(kind)[0].addValue(cosine(a.attribution(), b.attribution()));
                    stats.get(kind)[1].addValue(overlap(a.attribution(), b.attribution(), topK));
                }
            }
        }
        // a kind no pair has has no mean; it is left out and named by missing()
        stats.values().removeIf(s -> s[0].getN() == 0);
        return Table.create("semantic versus appearance", StringColumn.create("pair", stats.keySet()),
                IntColumn.create("pairs", stats.values().stream().mapToInt(s -> (int) s[0].getN()).toArray()),
                DoubleColumn.create("cosine", stats.values().stream().mapToDouble(s -> s[0].getMean())),
                DoubleColumn.create("cosine_sd", stats.values().stream().mapToDouble(s -> s[0].getStandardDeviation())),
                DoubleColumn.create("top" + topK + "_overlap", stats.values().stream().mapToDouble(s -> s[1].getMean())),
                DoubleColumn.create("top" + topK + "_overlap_sd", stats.values().stream().mapToDouble(s -> s[1].getStandardDeviation())));
    }

    /** @return whether any sample has an appearance value (the samples' style is not empty) */
    static boolean hasAppearance(List<SampleAttribution> samples) {
        return samples.stream().anyMatch(s -> !s.style().isEmpty());
    }

    /**
     * @param samples per-sample attributions
     * @return what {@link #pairs} could not compare and why, one sentence, or empty when it compared every kind of pair
     */
    public static String missing(List<SampleAttribution> samples) {
        if (!hasAppearance(samples)) {
            return "no appearance grouping: the samples have one label column, so only same-class and other-class pairs are compared;"
                    + " same-appearance pairs need a second grouping (a label column such as style, chosen with --appearance)";
        }
        List<String> kinds = new ArrayList<>(List.of(SAME_CLASS, SAME_STYLE, NEITHER));
        for (int i = 0; i < samples.size() && !kinds.isEmpty(); i++) {
            for (int j = i + 1; j < samples.size(); j++) {
                boolean sameClass = samples.get(i).shape().equals(samples.get(j).shape());
                boolean sameStyle = samples.get(i).style().equals(samples.get(j).style());
                kinds.remove(sameClass && !sameStyle ? SAME_CLASS : sameStyle && !sameClass ? SAME_STYLE : !sameClass ? NEITHER : "");
            }
        }
        return kinds.isEmpty() ? "" : "no pairs of the kind " + String.join(" or ", kinds)
                + " among these samples (too few classes or appearances), so they are not compared";
    }

    /**
     * @param samples per-sample attributions
     * @return cosine similarity between mean attribution vectors of every (class, style) group,
     *     groups ordered by class then style; first column names the group
     */
    public static Table matrix(List<SampleAttribution> samples) {
        Map<String, List<SampleAttribution>> groups = new TreeMap<>();
        samples.forEach(s -> groups.computeIfAbsent(s.shape() + "/" + s.style(), k -> new ArrayList<>()).add(s));
        List<String> names = new ArrayList<>(groups.keySet());
        List<double[]> means = names.stream().map(n -> Ranking.mean(groups.get(n), SampleAttribution::attribution)).toList();
        Table table = Table.create("similarity matrix", StringColumn.create("group", names));
        for (int j = 0; j < names.size(); j++) {
            double[] column = new double[names.size()];
            for (int i = 0; i < names.size(); i++) {
                column[i] = cosine(means.get(i), means.get(j));
            }
            table.addColumns(DoubleColumn.create(names.get(j), column));
        }
        return table;
    }

    /** @return cosine of the angle between two vectors (NaN if either is zero) */
    public static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** @return the fraction of the top-k heads of {@code a} that are also among the top-k of {@code b} */
    public static double overlap(double[] a, double[] b, int k) {
        int[] topA = Ranking.byScore("a", a).top(Math.min(k, a.length));
        java.util.Set<Integer> topB = new java.util.HashSet<>();
        for (int h : Ranking.byScore("b", b).top(Math.min(k, b.length))) {
            topB.add(h);
        }
        int shared = 0;
        for (int h : topA) {
            shared += topB.contains(h) ? 1 : 0;
        }
        return shared / (double) topA.length;
    }
}
