package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.headlens.Fixtures;
import org.junit.jupiter.api.Test;

/** A tensor passes within 1e-4, or within 1.5x Hugging Face's own float32-vs-float64 error recorded in fixtures.json. */
class ToleranceRuleTest {
    @Test
    void recordedErrorWidensTheToleranceOnlyWhereItIsLarger() {
        long[] shape = {1};
        ReferenceCheck.Row small = new ReferenceCheck.Row("logits", shape, 1.2e-4, 1e-5);
        assertFalse(small.passes(ReferenceCheck.TOLERANCE), "1.5 x 1e-5 is below 1e-4, so 1e-4 applies");
        ReferenceCheck.Row large = new ReferenceCheck.Row("decoder_layer_output.2", shape, 2.6e-4, 1.8e-4);
        assertTrue(large.passes(ReferenceCheck.TOLERANCE));
        assertEquals(2.7e-4, large.allowed(ReferenceCheck.TOLERANCE), 1e-12);
        assertFalse(new ReferenceCheck.Row("x", shape, 2.8e-4, 1.8e-4).passes(ReferenceCheck.TOLERANCE));
        assertFalse(new ReferenceCheck.Row("x", shape, Double.POSITIVE_INFINITY, 1).passes(ReferenceCheck.TOLERANCE));
    }

    @Test
    void recordedErrorsAreReadFromFixturesJsonPerTensor() {
        List<ReferenceCheck.Row> rows = ReferenceCheck.withRecordedErrors(List.of(
                new ReferenceCheck.Row("decoder_layer_output.2", new long[] {1}, 0),
                new ReferenceCheck.Row("ablation logits_last.single_l0_h1", new long[] {1}, 0),
                new ReferenceCheck.Row("not_recorded", new long[] {1}, 0)), Fixtures.model("qwen2-vl"));
        assertEquals(4.362622667031246e-05, rows.get(0).recordedError(), 1e-18);
        assertEquals(1.040537272389841e-05, rows.get(1).recordedError(), 1e-18);
        assertEquals(0, rows.get(2).recordedError());
    }
}
