package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * What differs between model families: the image processor, the vision side (tower and
 * projector or merger), how many decoder positions an image takes, the decoder's position ids
 * and the chat role marker. The decoder, the forward pass and every intervention are shared; a
 * new family is one implementation of this interface (plus its config reading in
 * {@link ModelConfig} and its parameter names in {@link Weights}).
 */
public interface Family {
    /** @return the family's name as in {@code config.json}'s {@code model_type} */
    String name();

    /**
     * Preprocesses a decoded image as the family's Hugging Face image processor does.
     *
     * @param manager owner of the result
     * @param image the image
     * @return pixel values and grid
     */
    ImageInput preprocess(NDManager manager, BufferedImage image);

    /**
     * Wraps pixel values computed elsewhere (e.g. saved by Python), checking their shape.
     *
     * @param pixels the pixel values
     * @param grid the grid, or null when the family's input size is fixed
     * @return the input
     */
    ImageInput input(NDArray pixels, long[] grid);

    /**
     * Runs the vision side.
     *
     * @param image preprocessed image, pixels in the compute type
     * @param allStates true to compute every tower hidden state (for capture), false for only
     *     those the embeddings need
     * @return hidden states, features and image embeddings
     */
    VisionOutput encode(ImageInput image, boolean allStates);

    /**
     * @param grid an image's grid (null for a fixed-size family)
     * @return decoder positions the image takes
     */
    int imageTokens(long[] grid);

    /**
     * The vision tower's attention work for one image, so that a pass too large for memory is
     * refused before it starts: LLaVA-1.5 runs one sequence of patches (and CLS), LLaVA-NeXT one
     * per tile, Qwen2-VL one over all patches of each frame.
     *
     * @param grid an image's grid (null for a fixed-size family)
     * @return {sequences, positions in each}
     */
    long[] visionSequences(long[] grid);

    /**
     * @param pixels pixel values as {@link #input} takes them
     * @return how many images they hold
     */
    long images(NDArray pixels);

    /**
     * Decoder position ids over the expanded sequence: one row (0, 1, 2, ...) or, for
     * multi-axis rotary embeddings, one row per axis.
     *
     * @param length sequence length
     * @param imageStart first image position
     * @param imageLength image positions (0 without an image)
     * @param grid the image's grid
     * @return rows x length position ids
     */
    long[][] positionIds(int length, int imageStart, int imageLength, long[] grid);

    /** @return the text that ends the user turn and starts the answer in the chat template */
    String assistantRole();

    /**
     * Maps an object mask of the original image onto the image tokens, through the family's
     * layout (LLaVA-1.5's resize and crop onto the patch grid; LLaVA-NeXT's base image, tiles,
     * padding and newline tokens; Qwen2-VL's merged 2x2 windows). Tokens in none of the
     * {@link #tokenGrids} (CLS, newline) are never on the object; {@link #patchTokens} tells
     * them from background.
     *
     * @param mask [row][column] object pixels of the original image
     * @param grid the image's grid
     * @param threshold covered fraction from which a token is on the object
     * @return per image token, in decoder order, whether it is on the object
     */
    boolean[] objectTokens(boolean[][] mask, long[] grid, double threshold);

    /**
     * The grids of image tokens that show the picture, in decoder order: LLaVA-1.5's patch grid
     * (after a CLS token kept by the full strategy), LLaVA-NeXT's base image then its unpadded
     * tile map (the newline token ending each row is in neither), Qwen2-VL's merged windows.
     *
     * @param grid the image's grid
     * @return the grids; every image token is in at most one cell of one grid
     */
    List<TokenGrid> tokenGrids(long[] grid);

    /**
     * @param grid the image's grid
     * @return per image token, whether it shows a region of the picture (is a cell of a
     *     {@link #tokenGrids token grid}); false for LLaVA-NeXT's newline tokens and a kept CLS
     *     token, which are then neither object nor background
     */
    default boolean[] patchTokens(long[] grid) {
        boolean[] shown = new boolean[imageTokens(grid)];
        for (TokenGrid cells : tokenGrids(grid)) {
            for (int token : cells.tokens()) {
                shown[token] = true;
            }
        }
        return shown;
    }
}
