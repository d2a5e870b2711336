package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;

/**
 * Activation patching of chosen heads from a second, real image: for each chosen head, and only
 * for text queries after the image, the image keys and values are those of the same prompt run
 * on {@code pixelValues}. Where head ablation asks "what if this head saw nothing", patching asks
 * "what if it saw that other image" (e.g. a picture of another class), head by head.
 *
 * @param pixelValues (1, 3, H, W) the second image, preprocessed like the first
 * @param heads the heads that read it
 */
public record ActivationPatching(NDArray pixelValues, HeadMask heads) implements Intervention {
    @Override
    public void compile(RowEdits edits) {
        for (Head head : heads.ablatedHeads()) {
            edits.readImage(head, pixelValues);
        }
    }
}
