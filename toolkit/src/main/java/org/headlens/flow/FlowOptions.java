package org.headlens.flow;

import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.metric.Metric;

/**
 * Options of a token-level flow trace. Start from {@link #defaults()} and change what differs,
 * e.g. {@code FlowOptions.defaults().withWindowSize(4).withHeads(attribution.topHeads(10))}.
 *
 * @param windowSize consecutive layers in which a flow is cut at once; 0 for a quarter of the
 *     model's layers (rounded, at least 1)
 * @param pairs the flows to cut, one at a time
 * @param objectThreshold covered fraction from which an image patch counts as object
 * @param metric what is measured about the answer token
 * @param heads heads in which the flow is cut; empty for every head
 * @param dropIncorrect skip samples whose clean answer is wrong
 */
public record FlowOptions(int windowSize, List<FlowPair> pairs, double objectThreshold, Metric metric, List<Head> heads,
        boolean dropIncorrect) {
    /** Checks ranges. */
    public FlowOptions {
        if (windowSize < 0) {
            throw new HeadlensException("window size must be at least 1 layer (or 0 for a quarter of the layers), not " + windowSize);
        }
        if (pairs == null || pairs.isEmpty()) {
            throw new HeadlensException("name at least one flow pair to trace");
        }
        if (!(objectThreshold > 0 && objectThreshold <= 1)) {
            throw new HeadlensException("object threshold is a covered fraction in (0, 1], not " + objectThreshold);
        }
        pairs = List.copyOf(pairs);
        heads = heads == null ? List.of() : List.copyOf(heads);
    }

    /** @return a quarter of the layers per window, the paper's pairs, half-covered patches as object, answer probability */
    public static FlowOptions defaults() {
        return new FlowOptions(0, FlowPair.defaults(), 0.5, Metric.PROBABILITY, List.of(), true);
    }

    /**
     * @param layers layers of the model
     * @return the window size used on it
     */
    public int windowSize(int layers) {
        int size = windowSize == 0 ? (int) Math.max(1, Math.round(layers / 4.0)) : windowSize;
        if (size > layers) {
            throw new HeadlensException("window of " + size + " layers is larger than the model's " + layers);
        }
        return size;
    }

    /** @return a copy with this window size */
    public FlowOptions withWindowSize(int value) {
        return new FlowOptions(value, pairs, objectThreshold, metric, heads, dropIncorrect);
    }

    /** @return a copy tracing these pairs */
    public FlowOptions withPairs(List<FlowPair> value) {
        return new FlowOptions(windowSize, value, objectThreshold, metric, heads, dropIncorrect);
    }

    /** @return a copy with this object threshold */
    public FlowOptions withObjectThreshold(double value) {
        return new FlowOptions(windowSize, pairs, value, metric, heads, dropIncorrect);
    }

    /** @return a copy measuring this metric */
    public FlowOptions withMetric(Metric value) {
        return new FlowOptions(windowSize, pairs, objectThreshold, value, heads, dropIncorrect);
    }

    /** @return a copy cutting flows in these heads only (empty: every head) */
    public FlowOptions withHeads(List<Head> value) {
        return new FlowOptions(windowSize, pairs, objectThreshold, metric, value, dropIncorrect);
    }

    /** @return a copy that keeps or drops incorrectly answered samples */
    public FlowOptions withDropIncorrect(boolean value) {
        return new FlowOptions(windowSize, pairs, objectThreshold, metric, heads, value);
    }
}
