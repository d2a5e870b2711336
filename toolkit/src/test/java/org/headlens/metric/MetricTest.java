package org.headlens.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void labelsRoundTripAndUnknownNamesAreRefused() {
        for (Metric metric : Metric.values()) {
            assertEquals(metric, Metric.parse(metric.label()));
        }
        assertEquals("log-prob", Metric.LOG_PROB.label());
        HeadlensException error = assertThrows(HeadlensException.class, () -> Metric.parse("loss"));
        assertEquals("unknown metric 'loss': use logit, log-prob, probability or margin", error.getMessage());
    }
}
