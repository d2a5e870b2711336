package org.headlens.flow;

/**
 * How much the answer depends on each image patch: the metric change when the text after the
 * image may not read that one patch's position in any layer.
 *
 * @param id sample id
 * @param patchesPerSide patches along each side of the image
 * @param clean metric of the clean run
 * @param change per patch, row-major, metric with the patch cut minus clean
 */
public record PatchEffects(String id, int patchesPerSide, double clean, double[] change) {
    /** Copies the changes. */
    public PatchEffects {
        change = change.clone();
    }

    @Override
    public double[] change() {
        return change.clone();
    }
}
