package org.headlens.model;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What a family's vision side computed for one image: the tower's hidden states (for capture),
 * the features handed to the projector or merger, and the image embeddings in the decoder's
 * width that are spliced into the image positions.
 *
 * @param hidden the tower's hidden states, index 0 = embeddings
 * @param features the selected features (LLaVA), or null when the family has no such step
 * @param projected the projector's or merger's output as computed (LLaVA-NeXT: per tile)
 * @param embeddings (B, image tokens, text hidden): what fills the image positions, in order
 */
public record VisionOutput(List<NDArray> hidden, NDArray features, NDArray projected, NDArray embeddings) {
}
