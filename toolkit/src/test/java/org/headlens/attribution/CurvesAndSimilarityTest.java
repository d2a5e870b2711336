package org.headlens.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.forward.Heads;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

class CurvesAndSimilarityTest {
    @Test
    void curvesAreNormalisedByMeansAndAreasAreTrapezoids() {
        // two samples, clean 10 and 6 (mean 8), all-ablated 2 and 2 (mean 2); 4 heads, k = 0, 2, 4
        List<SampleCurves> curves = List.of(
                new SampleCurves("a", 10, 2, List.of(point(0, 2, 10), point(2, 8, 4), point(4, 10, 2))),
                new SampleCurves("b", 6, 2, List.of(point(0, 2, 6), point(2, 4, 2), point(4, 6, 2))));
        Table table = EvaluationCurves.table(curves, 4);
        assertArrayEquals(new double[] {0, 0.5, 1}, table.doubleColumn("fraction").asDoubleArray(), 1e-12);
        // faithfulness at k=2: (mean(8, 4) - 2) / (8 - 2) = 4/6
        assertArrayEquals(new double[] {0, 4 / 6.0, 1}, table.doubleColumn("faithfulness").asDoubleArray(), 1e-12);
        // completeness at k=2: (mean(4, 2) - 2) / 6 = 1/6
        assertArrayEquals(new double[] {1, 1 / 6.0, 0}, table.doubleColumn("completeness").asDoubleArray(), 1e-12);
        Table areas = EvaluationCurves.areas(table);
        assertEquals(0.25 * (0 + 4 / 6.0) + 0.25 * (4 / 6.0 + 1), areas.doubleColumn("faithfulness_auc").get(0), 1e-12);
        assertEquals(0.25 * (1 + 1 / 6.0) + 0.25 * (1 / 6.0 + 0), areas.doubleColumn("completeness_auc").get(0), 1e-12);
    }

    private static SampleCurves.Point point(int k, double keepOnly, double ablateOnly) {
        return new SampleCurves.Point(Ranking.ATTRIBUTION, k, keepOnly, ablateOnly);
    }

    @Test
    void kGridSpansZeroToEveryHead() {
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, HeadAttribution.kGrid(4, 33));
        assertArrayEquals(new int[] {0, 12, 24, 36, 48}, HeadAttribution.kGrid(48, 5));
    }

    @Test
    void rankingsOrderByScoreAndRandomIsAPermutation() {
        assertArrayEquals(new int[] {2, 0, 3, 1}, Ranking.byScore("x", new double[] {3, -1, 5, 0}).order());
        int[] random = Ranking.random(10, new java.util.Random(1)).order().clone();
        java.util.Arrays.sort(random);
        assertArrayEquals(java.util.stream.IntStream.range(0, 10).toArray(), random);
    }

    @Test
    void aRunsRankingsAreFoundByName() {
        List<Ranking> rankings = List.of(Ranking.byScore(Ranking.ATTRIBUTION, new double[] {0, 2}),
                Ranking.byScore(Ranking.SINGLE_HEAD, new double[] {2, 0}));
        AttributionResult result = new AttributionResult(new Heads(1, 2), AttributionOptions.defaults(), List.of(),
                rankings, List.of(), 0);
        assertArrayEquals(new int[] {1, 0}, result.ranking(Ranking.ATTRIBUTION).order());
        assertArrayEquals(new int[] {0, 1}, result.ranking(Ranking.SINGLE_HEAD).order());
        HeadlensException e = assertThrows(HeadlensException.class,
                () -> result.ranking(Ranking.ATTENTION));
        assertEquals("no ranking named 'attention weight'; this run has [head attribution, single-head ablation]", e.getMessage());
    }

    @Test
    void similarityTellsSemanticFromAppearancePairs() {
        // attribution depends on the class only: same-class pairs are identical, same-style pairs are not
        List<SampleAttribution> samples = new ArrayList<>();
        String[] classes = {"circle", "star"};
        String[] styles = {"filled", "dotted"};
        double[][] byClass = {{1, 0, 0, 0.5}, {0, 1, 0.5, 0}};
        for (int c = 0; c < 2; c++) {
            for (String style : styles) {
                samples.add(new SampleAttribution(classes[c] + style, classes[c], style, true, 1, 0, 0, byClass[c], 1,
                        new double[4], new double[4], 0));
            }
        }
        Table pairs = Similarity.pairs(samples, 2);
        assertEquals(List.of(Similarity.SAME_CLASS, Similarity.SAME_STYLE, Similarity.NEITHER), pairs.stringColumn("pair").asList());
        assertArrayEquals(new double[] {1.0, 0.0, 0.0}, pairs.doubleColumn("cosine").asDoubleArray(), 1e-12);
        assertArrayEquals(new double[] {1.0, 0.0, 0.0}, pairs.doubleColumn("top2_overlap").asDoubleArray(), 1e-12);
        assertArrayEquals(new int[] {2, 2, 2}, pairs.intColumn("pairs").asIntArray());
        Table matrix = Similarity.matrix(samples);
        assertEquals(List.of("circle/dotted", "circle/filled", "star/dotted", "star/filled"), matrix.stringColumn("group").asList());
        assertArrayEquals(new double[] {1, 1, 0, 0}, matrix.doubleColumn("circle/dotted").asDoubleArray(), 1e-12);
    }
}
