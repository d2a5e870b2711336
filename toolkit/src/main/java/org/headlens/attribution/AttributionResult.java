package org.headlens.attribution;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.forward.Heads;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * The results of a head attribution run, as Tablesaw tables. Samples the clean model answers
 * wrongly are listed in {@link #samples()} but, when the options drop them, enter no aggregate.
 *
 * @param grid the model's head grid
 * @param options the options of the run
 * @param measured every sample's measurements
 * @param rankings the rankings evaluated (the random one is drawn per sample)
 * @param curves raw curve measurements of every sample that entered the aggregates
 * @param seconds wall time of the run
 */
public record AttributionResult(Heads grid, AttributionOptions options, List<SampleAttribution> measured,
        List<Ranking> rankings, List<SampleCurves> curves, double seconds) {

    /** @return the samples that enter the aggregates */
    public List<SampleAttribution> used() {
        return measured.stream().filter(s -> s.correct() || !options.dropIncorrect()).toList();
    }

    /**
     * @param name a ranking's name, e.g. {@link Ranking#ATTRIBUTION} or {@link Ranking#SINGLE_HEAD}
     * @return the ranking of that name fitted by this run
     */
    public Ranking ranking(String name) {
        return rankings.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow(() -> new HeadlensException(
                "no ranking named '" + name + "'; this run has " + rankings.stream().map(Ranking::name).toList()));
    }

    /**
     * @param k how many heads
     * @return the {@code k} heads of largest mean attribution, most important first (e.g. to
     *     restrict a flow trace to them)
     */
    public List<Head> topHeads(int k) {
        Ranking attribution = ranking(Ranking.ATTRIBUTION);
        List<Head> heads = new ArrayList<>();
        for (int h : attribution.top(Math.min(k, grid.count()))) {
            heads.add(grid.head(h));
        }
        return heads;
    }

    /**
     * @return one row per sample: class, style, correctness, clean and all-ablated metric, held-out
     *     correlation (timings are in the manifest, so that reruns give identical tables)
     */
    public Table samples() {
        return Table.create("samples",
                StringColumn.create("sample", measured.stream().map(SampleAttribution::id)),
                StringColumn.create("class", measured.stream().map(SampleAttribution::shape)),
                StringColumn.create("style", measured.stream().map(SampleAttribution::style)),
                StringColumn.create("correct", measured.stream().map(s -> Boolean.toString(s.correct()))),
                DoubleColumn.create("clean", measured.stream().mapToDouble(SampleAttribution::clean)),
                DoubleColumn.create("all_ablated", measured.stream().mapToDouble(SampleAttribution::allAblated)),
                DoubleColumn.create("intercept", measured.stream().mapToDouble(SampleAttribution::intercept)),
                DoubleColumn.create("heldout_r", measured.stream().mapToDouble(SampleAttribution::heldOutCorrelation)));
    }

    /** @return one row per sample, layer and head: attribution, single-head ablation effect, attention to the image */
    public Table perSampleHeads() {
        List<String> ids = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        List<Integer> layer = new ArrayList<>();
        List<Integer> head = new ArrayList<>();
        List<Double> attribution = new ArrayList<>();
        List<Double> single = new ArrayList<>();
        List<Double> attention = new ArrayList<>();
        for (SampleAttribution sample : used()) {
            for (int h = 0; h < grid.count(); h++) {
                ids.add(sample.id());
                classes.add(sample.shape());
                layer.add(grid.head(h).layer());
                head.add(grid.head(h).head());
                attribution.add(sample.attribution()[h]);
                single.add(sample.singleHead()[h]);
                attention.add(sample.attentionToImage()[h]);
            }
        }
        return Table.create("per-sample heads", StringColumn.create("sample", ids), StringColumn.create("class", classes),
                IntColumn.create("layer", layer.stream().mapToInt(Integer::intValue).toArray()),
                IntColumn.create("head", head.stream().mapToInt(Integer::intValue).toArray()),
                DoubleColumn.create("attribution", attribution), DoubleColumn.create("single_head", single),
                DoubleColumn.create("attention_to_image", attention));
    }

    /**
     * @return one row per layer and head over the dataset: mean attribution, its standard error,
     *     mean single-head effect and attention, and the rank under each ranking (1 = most important)
     */
    public Table heads() {
        List<SampleAttribution> used = used();
        double[] mean = Ranking.mean(used, SampleAttribution::attribution);
        double[] error = new double[mean.length];
        for (SampleAttribution sample : used) {
            for (int h = 0; h < mean.length; h++) {
                error[h] += Math.pow(sample.attribution()[h] - mean[h], 2);
            }
        }
        for (int h = 0; h < mean.length; h++) {
            error[h] = used.size() > 1 ? Math.sqrt(error[h] / (used.size() - 1) / used.size()) : Double.NaN;
        }
        Table table = Table.create("heads",
                IntColumn.create("layer", java.util.stream.IntStream.range(0, mean.length).map(h -> grid.head(h).layer()).toArray()),
                IntColumn.create("head", java.util.stream.IntStream.range(0, mean.length).map(h -> grid.head(h).head()).toArray()),
                DoubleColumn.create("attribution", mean), DoubleColumn.create("attribution_se", error),
                DoubleColumn.create("single_head", Ranking.mean(used, SampleAttribution::singleHead)),
                DoubleColumn.create("attention_to_image", Ranking.mean(used, SampleAttribution::attentionToImage)));
        for (Ranking ranking : rankings) {
            int[] rank = new int[mean.length];
            for (int i = 0; i < ranking.order().length; i++) {
                rank[ranking.order()[i]] = i + 1;
            }
            table.addColumns(IntColumn.create("rank_" + ranking.name().replaceAll("[^a-z]+", "_"), rank));
        }
        return table;
    }

    /** @return one row per class, layer and head: mean attribution over the class's samples */
    public Table byClass() {
        Map<String, List<SampleAttribution>> groups = new java.util.TreeMap<>();
        used().forEach(s -> groups.computeIfAbsent(s.shape(), k -> new ArrayList<>()).add(s));
        Table table = Table.create("attribution by class", StringColumn.create("class"), IntColumn.create("layer"),
                IntColumn.create("head"), DoubleColumn.create("attribution"), IntColumn.create("samples"));
        groups.forEach((shape, members) -> {
            double[] mean = Ranking.mean(members, SampleAttribution::attribution);
            for (int h = 0; h < mean.length; h++) {
                table.stringColumn("class").append(shape);
                table.intColumn("layer").append(grid.head(h).layer());
                table.intColumn("head").append(grid.head(h).head());
                table.doubleColumn("attribution").append(mean[h]);
                table.intColumn("samples").append(members.size());
            }
        });
        return table;
    }

    /** @return the faithfulness and completeness curves: one row per ranking and k */
    public Table curvesTable() {
        return EvaluationCurves.table(curves, grid.count());
    }

    /** @return one row per ranking: area under the faithfulness and the completeness curve */
    public Table areas() {
        return EvaluationCurves.areas(curvesTable());
    }

    /** @return area under the faithfulness curve per ranking name */
    public Map<String, Double> faithfulnessAreas() {
        Table areas = areas();
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < areas.rowCount(); i++) {
            out.put(areas.stringColumn("ranking").get(i), areas.doubleColumn("faithfulness_auc").get(i));
        }
        return out;
    }

    /** @return mean held-out correlation over the samples used */
    public double meanHeldOutCorrelation() {
        return used().stream().mapToDouble(SampleAttribution::heldOutCorrelation).filter(Double::isFinite).average().orElse(Double.NaN);
    }

    /** @return semantic versus appearance: cosine and top-k overlap per kind of pair */
    public Table similarity() {
        return Similarity.pairs(used(), options.topK());
    }

    /** @return what the similarity analysis could not compare, and why (empty when it compared everything) */
    public String similarityMissing() {
        return Similarity.missing(used());
    }

    /** @return cosine similarity between the mean attribution vectors of every class and style group */
    public Table similarityMatrix() {
        return Similarity.matrix(used());
    }
}
