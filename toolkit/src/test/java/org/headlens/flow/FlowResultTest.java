package org.headlens.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.forward.TokenGroup;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/** Aggregation of knockouts into curves and summaries, on made-up measurements. */
class FlowResultTest {
    private static final FlowOptions TWO_PAIRS = FlowOptions.defaults()
            .withPairs(List.of(FlowPair.parse("question->final"), FlowPair.parse("image->final"))).withWindowSize(2);

    /** A sample whose clean metric is {@code clean} and whose knockouts give {@code question} and {@code image} per window. */
    private static SampleFlow sample(String id, boolean correct, double clean, double[] question, double[] image) {
        List<SampleFlow.Point> points = new ArrayList<>();
        for (int w = 0; w < question.length; w++) {
            points.add(new SampleFlow.Point("question->final", w, question[w]));
        }
        for (int w = 0; w < image.length; w++) {
            points.add(new SampleFlow.Point("image->final", w, image[w]));
        }
        return new SampleFlow(id, "circle", "filled", correct, clean, 5, 64, points, 0.1);
    }

    private static FlowResult result() {
        return new FlowResult(TWO_PAIRS, 2, List.of(
                sample("a", true, 1.0, new double[] {0.2, 0.9, 1.0}, new double[] {1.0, 0.8, 0.5}),
                sample("b", true, 0.5, new double[] {0.3, 0.4, 0.5}, new double[] {0.5, 0.5, 0.1}),
                sample("c", false, 0.9, new double[] {9, 9, 9}, new double[] {9, 9, 9})), 1.0);
    }

    @Test
    void curvesAverageTheChangesOfTheUsedSamplesWithTheirSpread() {
        Table curves = result().curves();
        assertEquals(6, curves.rowCount());
        assertEquals("question->final", curves.stringColumn("pair").get(0));
        assertEquals(0, curves.intColumn("first_layer").get(0));
        assertEquals(1, curves.intColumn("last_layer").get(0));
        assertEquals(2, curves.intColumn("samples").get(0), "the wrongly answered sample is left out");
        // changes -0.8 and -0.2: mean -0.5, sd 0.4243; relative -0.8 and -0.4
        assertEquals(-0.5, curves.doubleColumn("mean_change").get(0), 1e-12);
        assertEquals(Math.sqrt(0.18), curves.doubleColumn("std_change").get(0), 1e-12);
        assertEquals(Math.sqrt(0.18) / Math.sqrt(2), curves.doubleColumn("se_change").get(0), 1e-12);
        assertEquals(-0.6, curves.doubleColumn("mean_relative_change").get(0), 1e-12);
        assertEquals(-0.45, curves.doubleColumn("mean_change").get(5), 1e-12, "image->final in layers 2-3: -0.5 and -0.4");
        assertEquals(2 * 6, result().knockouts().rowCount());
    }

    @Test
    void theSummaryFindsTheStrongestWindowAndTheOnsetOfEachFlow() {
        Table summary = result().summary();
        // question->final: -0.5, -0.05, 0 -> strongest and onset at layer 0
        assertEquals(0, summary.intColumn("strongest_first_layer").get(0));
        assertEquals(0, summary.intColumn("onset_first_layer").get(0));
        // image->final: 0, -0.1, -0.45 -> strongest at 2; onset where the drop first reaches half of it, also 2
        assertEquals(2, summary.intColumn("strongest_first_layer").get(1));
        assertEquals(3, summary.intColumn("strongest_last_layer").get(1));
        assertEquals(2, summary.intColumn("onset_first_layer").get(1));
        assertEquals(-0.45, summary.doubleColumn("strongest_change").get(1), 1e-12);
        assertEquals("question->final@0-1", result().strongest());
        assertEquals(3, result().windows());
    }

    @Test
    void noCorrectSampleIsAClearError() {
        FlowResult none = new FlowResult(TWO_PAIRS, 2, List.of(sample("c", false, 0.9, new double[] {1}, new double[] {1})), 1.0);
        HeadlensException e = assertThrows(HeadlensException.class, none::strongest);
        assertEquals(true, e.getMessage().contains("--keep-incorrect"), e.getMessage());
    }

    @Test
    void pairsAndOptionsAreCheckedWithClearMessages() {
        assertEquals(new FlowPair(TokenGroup.IMAGE_OBJECT, TokenGroup.SUFFIX_TEXT), FlowPair.parse(" image_object -> suffix_text "));
        assertEquals("image_random->suffix_text", FlowPair.defaults().get(6).label());
        assertThrows(HeadlensException.class, () -> FlowPair.parse("image>final"));
        HeadlensException unknown = assertThrows(HeadlensException.class, () -> FlowPair.parse("picture->final"));
        assertEquals(true, unknown.getMessage().contains("'picture'"), unknown.getMessage());
        assertEquals(2, FlowOptions.defaults().windowSize(6), "a quarter of 6 layers, rounded");
        assertEquals(8, FlowOptions.defaults().windowSize(32));
        assertEquals(1, FlowOptions.defaults().windowSize(2));
        assertThrows(HeadlensException.class, () -> FlowOptions.defaults().withWindowSize(7).windowSize(6));
        assertThrows(HeadlensException.class, () -> FlowOptions.defaults().withObjectThreshold(0));
        assertThrows(HeadlensException.class, () -> FlowOptions.defaults().withPairs(List.of()));
    }
}
