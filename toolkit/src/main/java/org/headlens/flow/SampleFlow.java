package org.headlens.flow;

import java.util.List;

/**
 * The knockouts of one sample, as measured (saved per sample, so a rerun resumes).
 *
 * @param id sample id
 * @param shape expected answer (class)
 * @param style appearance style
 * @param correct whether the clean answer is right
 * @param clean metric of the clean run
 * @param objectTokens image tokens on the object
 * @param imageTokens all image tokens
 * @param points the metric with each flow cut in each window
 * @param seconds time taken
 */
public record SampleFlow(String id, String shape, String style, boolean correct, double clean, int objectTokens, int imageTokens,
        List<Point> points, double seconds) {
    /**
     * @param pair the flow's label, e.g. {@code image->final}
     * @param firstLayer first layer of the window
     * @param metric the metric with the flow cut there
     */
    public record Point(String pair, int firstLayer, double metric) {
    }
}
