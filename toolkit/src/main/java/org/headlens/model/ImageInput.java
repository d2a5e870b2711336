package org.headlens.model;

import ai.djl.ndarray.NDArray;

/**
 * One preprocessed image as a family's vision side reads it: the pixel values and the grid that
 * says how they are laid out, which the pixels alone do not always tell (Qwen2-VL's patch rows
 * fit several grids; LLaVA-NeXT's tiles depend on the original size).
 *
 * @param pixels pixel values in the family's layout (LLaVA-1.5: (B, 3, H, W); Qwen2-VL:
 *     (patches, channels x temporal patch x patch x patch))
 * @param grid the family's geometry: null for LLaVA-1.5 (fixed square input), {@code (t, h, w)}
 *     patches for Qwen2-VL
 */
public record ImageInput(NDArray pixels, long[] grid) {
}
