package org.headlens.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;

class MetricTest {
    private static final float[] LOGITS = {1f, 3f, 2f};

    @Test
    void eachMetricMatchesItsDefinition() {
        double logSum = Math.log(Math.exp(1) + Math.exp(3) + Math.exp(2));
        assertEquals(2.0, Metric.LOGIT.of(LOGITS, 2), 1e-12);
        assertEquals(2.0 - logSum, Metric.LOG_PROB.of(LOGITS, 2), 1e-9);
        assertEquals(Math.exp(2.0 - logSum), Metric.PROBABILITY.of(LOGITS, 2), 1e-9);
        assertEquals(-1.0, Metric.MARGIN.of(LOGITS, 2), 1e-12, "answer 2 trails the best other token (3) by 1");
        assertEquals(1.0, Metric.MARGIN.of(LOGITS, 1), 1e-12, "answer 1 leads the best other token (2) by 1");
    }

    @Test
    void onlyAFiniteStrictlyLargestLogitIsAnAnswer() {
        Answer second = new Answer("b", 1);
        assertTrue(second.isPredicted(new float[] {1f, 3f, 2f}));
        assertFalse(second.isPredicted(new float[] {3f, 3f, 2f}), "a tie with another token is no answer");
        assertFalse(second.isPredicted(new float[] {0f, 0f, 0f}), "all-equal logits (all-zero weights) answer nothing");
        assertFalse(second.isPredicted(new float[] {1f, Float.NaN, 2f}), "NaN is no answer");
        assertFalse(second.isPredicted(new float[] {Float.NaN, Float.NaN, Float.NaN}));
        assertFalse(second.isPredicted(new float[] {1f, 3f, Float.NaN}), "a NaN elsewhere leaves the answer undecided");
        assertFalse(second.isPredicted(new float[] {1f, Float.POSITIVE_INFINITY, 2f}), "infinity is no answer");
        assertFalse(second.isPredicted(new float[] {Float.POSITIVE_INFINITY, 3f, 2f}));
        assertTrue(second.isPredicted(new float[] {-Float.MAX_VALUE, -1e30f, -Float.MAX_VALUE}));
    }

    @Test
    void noMetricIsComputedFromLogitsThatAreNotFinite() {
        for (Metric metric : Metric.values()) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                for (int at = 0; at < 3; at++) {
                    float[] logits = LOGITS.clone();
                    logits[at] = bad;
                    HeadlensException e = assertThrows(HeadlensException.class, () -> metric.of(logits, 2), metric + " " + bad);
                    assertTrue(e.getMessage().contains("not finite") && !e.getMessage().contains("\n"), e.getMessage());
                }
            }
            double value = metric.of(new float[] {0f, 0f, 0f}, 1);
            assertTrue(Double.isFinite(value), metric + " of tied logits is a number: " + value);
        }
        HeadlensException e = assertThrows(HeadlensException.class, () -> Metric.MARGIN.of(new float[] {1f}, 0));
        assertTrue(e.getMessage().contains("margin"), e.getMessage());
        e = assertThrows(HeadlensException.class, () -> Metric.requireFinite(new float[] {1f, Float.NaN, Float.NaN, Float.NEGATIVE_INFINITY}, "sample s7"));
        assertEquals("sample s7: the final logits hold 2 NaN and 1 infinite values (of 4), so a weight or an activation is not finite"
                + " (in float16, activations overflow beyond 65504; try float32); no answer or metric is taken from them", e.getMessage());
    }

    @Test
    void labelsRoundTripAndUnknownNamesAreRefused() {
        for (Metric metric : Metric.values()) {
            assertEquals(metric, Metric.parse(metric.label()));
        }
        assertEquals("log-prob", Metric.LOG_PROB.label());
        HeadlensException error = assertThrows(HeadlensException.class, () -> Metric.parse("loss"));
        assertEquals("unknown metric 'loss': use logit, log-prob, probability or margin", error.getMessage());
    }
}
