package org.headlens.attribution;

import java.util.List;

/**
 * Raw evaluation-curve measurements of one sample.
 *
 * @param id sample id
 * @param clean metric of the clean run
 * @param allAblated metric with every head ablated
 * @param points one per ranking and k
 */
public record SampleCurves(String id, double clean, double allAblated, List<Point> points) {
    /**
     * @param ranking ranking name
     * @param k number of top heads
     * @param keepOnly metric with only the top-k heads kept (faithfulness)
     * @param ablateOnly metric with only the top-k heads ablated (completeness)
     */
    public record Point(String ranking, int k, double keepOnly, double ablateOnly) {
    }
}
