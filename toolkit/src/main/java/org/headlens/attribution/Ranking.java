package org.headlens.attribution;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * An order of heads, most important first. Heads are layer-major indices (layer * heads + head).
 *
 * @param name e.g. {@code head attribution}, {@code single-head ablation}
 * @param order head indices, most important first
 */
public record Ranking(String name, int[] order) {
    /** Name of the ranking by head attribution. */
    public static final String ATTRIBUTION = "head attribution";
    /** Name of the ranking by single-head ablation. */
    public static final String SINGLE_HEAD = "single-head ablation";
    /** Name of the ranking by attention to the image. */
    public static final String ATTENTION = "attention weight";
    /** Name of the random ranking. */
    public static final String RANDOM = "random";

    /**
     * @param name ranking name
     * @param scores per head, larger = more important
     * @return heads by descending score (ties by index)
     */
    public static Ranking byScore(String name, double[] scores) {
        int[] order = IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.comparingDouble((Integer h) -> -scores[h]).thenComparingInt(h -> h))
                .mapToInt(Integer::intValue).toArray();
        return new Ranking(name, order);
    }

    /**
     * @param heads number of heads
     * @param random source of the permutation
     * @return a uniformly random order
     */
    public static Ranking random(int heads, Random random) {
        int[] order = IntStream.range(0, heads).toArray();
        for (int i = heads - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return new Ranking(RANDOM, order);
    }

    /** @return the first {@code k} heads */
    public int[] top(int k) {
        return Arrays.copyOf(order, k);
    }

    /**
     * The rankings every evaluation compares, from per-sample results averaged over samples.
     *
     * @param samples per-sample results
     * @return head attribution, single-head ablation and attention weight
     */
    public static List<Ranking> fromMeans(List<SampleAttribution> samples) {
        return List.of(byScore(ATTRIBUTION, mean(samples, SampleAttribution::attribution)),
                byScore(SINGLE_HEAD, mean(samples, SampleAttribution::singleHead)),
                byScore(ATTENTION, mean(samples, SampleAttribution::attentionToImage)));
    }

    static double[] mean(List<SampleAttribution> samples, java.util.function.Function<SampleAttribution, double[]> field) {
        double[] sum = new double[field.apply(samples.get(0)).length];
        for (SampleAttribution sample : samples) {
            double[] values = field.apply(sample);
            for (int i = 0; i < sum.length; i++) {
                sum[i] += values[i] / samples.size();
            }
        }
        return sum;
    }
}
