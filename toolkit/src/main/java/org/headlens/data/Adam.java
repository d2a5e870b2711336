package org.headlens.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with global gradient-norm clipping. Its moments live in the weights' manager and are
 * updated in place, so a long run allocates nothing that outlives a step.
 */
final class Adam implements AutoCloseable {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;
    private static final double MAX_NORM = 1.0;
    private final Map<String, NDArray> parameters;
    private final Map<String, NDArray[]> moments = new LinkedHashMap<>();
    private int t;

    Adam(Map<String, NDArray> parameters, NDManager owner) {
        this.parameters = parameters;
        parameters.forEach((name, p) -> moments.put(name, new NDArray[] {owner.zeros(p.getShape()), owner.zeros(p.getShape())}));
    }

    /**
     * Backward adds to the stored gradients, so they are reset after every step. Filling with
     * zeros (rather than subtracting the gradient from itself, as DJL's zeroGradients does)
     * also clears a gradient that holds NaN.
     */
    private void clearGradients() {
        for (NDArray weight : parameters.values()) {
            weight.getGradient().set(new NDIndex("..."), 0f);
        }
    }

    /** @return false (and no update) when the gradient is not finite */
    boolean step(double learningRate) {
        // every temporary (gradient handles included) is freed when the scope closes; the
        // moments and weights are changed in place and outlive it
        try (NDScope scope = new NDScope()) {
            double squared = 0;
            for (NDArray p : parameters.values()) {
                squared += p.getGradient().square().sum().getFloat();
            }
            double norm = Math.sqrt(squared);
            if (!Double.isFinite(norm)) {
                clearGradients();
                return false;
            }
            t++;
            double clip = norm > MAX_NORM ? MAX_NORM / norm : 1.0;
            double correction1 = 1 - Math.pow(BETA1, t);
            double correction2 = 1 - Math.pow(BETA2, t);
            for (Map.Entry<String, NDArray> entry : parameters.entrySet()) {
                NDArray weight = entry.getValue();
                NDArray[] m = moments.get(entry.getKey());
                NDArray gradient = weight.getGradient().mul(clip);
                m[0].muli(BETA1).addi(gradient.mul(1 - BETA1));
                m[1].muli(BETA2).addi(gradient.square().mul(1 - BETA2));
                weight.subi(m[0].div(correction1).div(m[1].div(correction2).sqrt().add(EPSILON)).mul(learningRate));
            }
            clearGradients();
        }
        return true;
    }

    /** Frees the moments. */
    @Override
    public void close() {
        moments.values().forEach(m -> {
            m[0].close();
            m[1].close();
        });
    }
}
