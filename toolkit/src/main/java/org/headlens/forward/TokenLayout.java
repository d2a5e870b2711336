package org.headlens.forward;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.headlens.HeadlensException;
import org.headlens.model.Family;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/**
 * Where the image sits in the decoder's sequence. LLaVA prompts hold either one placeholder
 * token per image, which the model expands into {@code imageTokens} positions (the legacy
 * transformers merge), or the placeholder already repeated {@code imageTokens} times (the newer
 * processors). Both give the same decoder sequence: prefix text, image, suffix text.
 *
 * @param decoderIds token ids over the expanded sequence (image positions hold the placeholder id)
 * @param imageStart first image position (equals the prefix length)
 * @param imageLength number of image positions, 0 for a text-only prompt
 * @param positions the image's grid and the decoder position ids the family derives from it
 */
public record TokenLayout(long[] decoderIds, int imageStart, int imageLength, Positions positions) {

    /**
     * What the image's size decides beyond the token count.
     *
     * @param imageGrid the image's grid as its family reads it ({@link ImageInput#grid}), or null
     * @param rows decoder position ids, one row per rotary axis (one row, or three for Qwen2-VL)
     * @param patchTokens per image token, whether it shows a patch of the picture (false for
     *     LLaVA-NeXT's newline tokens and a kept CLS token); null when every image token does
     */
    public record Positions(long[] imageGrid, long[][] rows, boolean[] patchTokens) {
        /**
         * @param imageGrid the image's grid, or null
         * @param rows decoder position ids
         */
        public Positions(long[] imageGrid, long[][] rows) {
            this(imageGrid, rows, null);
        }
    }

    /**
     * A layout with ordinary position ids 0..length-1 and no grid.
     *
     * @param decoderIds token ids over the expanded sequence
     * @param imageStart first image position
     * @param imageLength number of image positions
     */
    public TokenLayout(long[] decoderIds, int imageStart, int imageLength) {
        this(decoderIds, imageStart, imageLength,
                new Positions(null, new long[][] {IntStream.range(0, decoderIds.length).asLongStream().toArray()}));
    }

    /**
     * Finds the image in a prompt's token ids, with the image's size deciding how many positions
     * it takes and the family deciding the position ids.
     *
     * @param inputIds prompt ids with one placeholder, or the placeholder expanded, or none
     * @param model the model (its family and config)
     * @param image the preprocessed image (its grid), or null for a fixed-size family or no image
     * @return the layout
     */
    public static TokenLayout of(long[] inputIds, Lvlm model, ImageInput image) {
        Family family = model.family();
        long[] grid = image == null ? null : image.grid();
        boolean hasPlaceholder = Arrays.stream(inputIds).anyMatch(id -> id == model.config().imageTokenIndex());
        int expected = hasPlaceholder ? family.imageTokens(grid) : 0;
        TokenLayout plain = find(inputIds, model.config(), expected);
        return new TokenLayout(plain.decoderIds(), plain.imageStart(), plain.imageLength(),
                new Positions(grid, family.positionIds(plain.length(), plain.imageStart(), plain.imageLength(), grid)));
    }

    /**
     * Finds the image in a prompt's token ids.
     *
     * @param inputIds prompt ids with one placeholder, or the placeholder expanded, or none
     * @param config model config (placeholder id, image token count)
     * @return the layout
     */
    public static TokenLayout of(long[] inputIds, ModelConfig config) {
        boolean hasPlaceholder = Arrays.stream(inputIds).anyMatch(id -> id == config.imageTokenIndex());
        return find(inputIds, config, hasPlaceholder ? config.imageTokens() : 0);
    }

    private static TokenLayout find(long[] inputIds, ModelConfig config, int expected) {
        long placeholder = config.imageTokenIndex();
        int[] at = IntStream.range(0, inputIds.length).filter(i -> inputIds[i] == placeholder).toArray();
        long length = at.length == 1 ? inputIds.length - 1L + expected : inputIds.length;
        int limit = config.text().maxPositions();
        if (length > limit) {
            long imageTokens = at.length == 1 ? expected : at.length;
            throw new HeadlensException("the prompt is " + length + " positions (" + (length - imageTokens) + " text tokens and "
                    + imageTokens + " image tokens), more than the model's text_config.max_position_embeddings of " + limit);
        }
        int window = config.text().slidingWindow();
        if (window > 0 && length > window) {
            throw new HeadlensException("the prompt is " + length + " positions, more than the model's text_config.sliding_window of "
                    + window + "; headlens attends to every earlier position, which is Mistral's attention only up to that length");
        }
        if (at.length == 0) {
            return new TokenLayout(inputIds.clone(), inputIds.length, 0);
        }
        if (at.length == 1) {
            long[] expanded = new long[inputIds.length - 1 + expected];
            System.arraycopy(inputIds, 0, expanded, 0, at[0]);
            Arrays.fill(expanded, at[0], at[0] + expected, placeholder);
            System.arraycopy(inputIds, at[0] + 1, expanded, at[0] + expected, inputIds.length - at[0] - 1);
            return new TokenLayout(expanded, at[0], expected);
        }
        if (at.length == expected && at[expected - 1] - at[0] == expected - 1) {
            return new TokenLayout(inputIds.clone(), at[0], expected);
        }
        throw new HeadlensException("the prompt has " + at.length + " image placeholder tokens (id " + placeholder
                + "); expected one (expanded by the model) or " + expected + " in a row (already expanded)");
    }

    /**
     * @param flags per image token, whether it shows a patch of the picture (null: every one)
     * @return this layout with those flags
     */
    public TokenLayout withPatchTokens(boolean[] flags) {
        if (flags != null && flags.length != imageLength) {
            throw new HeadlensException("patch flags cover " + flags.length + " tokens but the image has " + imageLength + " tokens");
        }
        return new TokenLayout(decoderIds, imageStart, imageLength, new Positions(positions.imageGrid(), positions.rows(),
                flags == null ? null : flags.clone()));
    }

    /** @return per image token, whether it shows a patch of the picture; null when every one does */
    public boolean[] patchTokens() {
        return positions.patchTokens() == null ? null : positions.patchTokens().clone();
    }

    /** @return number of decoder positions */
    public int length() {
        return decoderIds.length;
    }

    /** @return true if the prompt holds an image */
    public boolean hasImage() {
        return imageLength > 0;
    }

    /** @return first position after the image */
    public int imageEnd() {
        return imageStart + imageLength;
    }

    /** @return positions of text before the image */
    public int[] prefixPositions() {
        return IntStream.range(0, imageStart).toArray();
    }

    /** @return image positions */
    public int[] imagePositions() {
        return IntStream.range(imageStart, imageEnd()).toArray();
    }

    /** @return positions of text after the image */
    public int[] suffixPositions() {
        return IntStream.range(imageEnd(), length()).toArray();
    }

    /** @return the first row of position ids (0..length-1 for a one-axis family) */
    public long[] positionIds() {
        return positions.rows()[0].clone();
    }

    /** @return the image's grid as its family reads it, or null for a fixed-size family */
    public long[] imageGrid() {
        return positions.imageGrid() == null ? null : positions.imageGrid().clone();
    }

    /** @return position ids, one row per rotary axis */
    public long[][] positionRows() {
        long[][] copy = new long[positions.rows().length][];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = positions.rows()[i].clone();
        }
        return copy;
    }
}
