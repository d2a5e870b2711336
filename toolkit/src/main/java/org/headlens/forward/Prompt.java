package org.headlens.forward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.headlens.HeadlensException;
import org.headlens.Messages;
import org.headlens.model.Lvlm;

/**
 * A tokenised prompt and the positions of its named token groups.
 *
 * @param inputIds token ids as given to the model (one image placeholder, or expanded)
 * @param layout where prefix text, image and suffix text sit in the decoder sequence
 * @param roleTokens number of assistant role tokens at the end of the prompt (0 if unknown)
 * @param objectPatches per image token, whether its patch lies on the main object (null if unknown);
 *     image tokens that show no patch ({@link TokenLayout#patchTokens}) are neither object nor background
 */
public record Prompt(long[] inputIds, TokenLayout layout, int roleTokens, boolean[] objectPatches) {

    /** The role marker LLaVA-1.5 prompts end with. */
    public static final String LLAVA_ROLE = "ASSISTANT:";

    /**
     * Tokenises a LLaVA prompt that ends with {@code ASSISTANT:}.
     *
     * @param model the model (its tokenizer and placeholder id)
     * @param text the prompt, with {@code <image>} where the image goes
     * @return the prompt
     */
    public static Prompt of(Lvlm model, String text) {
        return of(model, text, LLAVA_ROLE);
    }

    /**
     * Tokenises a prompt for one image, ending with the family's role marker (LLaVA's
     * {@code ASSISTANT:}, Qwen2-VL's {@code <|im_start|>assistant\n}); the image decides how many
     * positions it takes and the position ids.
     *
     * @param model the model
     * @param text the prompt, with the family's image placeholder where the image goes
     * @param image the preprocessed image
     * @return the prompt
     */
    public static Prompt of(Lvlm model, String text, org.headlens.model.ImageInput image) {
        Prompt prompt = of(model, text, model.family().assistantRole(), image);
        return prompt;
    }

    /**
     * Tokenises a prompt and finds its role tokens.
     *
     * @param model the model
     * @param text the prompt
     * @param roleMarker the text the prompt ends with, before the answer (e.g. {@code ASSISTANT:})
     * @return the prompt
     */
    public static Prompt of(Lvlm model, String text, String roleMarker) {
        return of(model, text, roleMarker, null);
    }

    /**
     * Tokenises a prompt and finds its role tokens.
     *
     * @param model the model
     * @param text the prompt
     * @param roleMarker the text the prompt ends with, before the answer (e.g. {@code ASSISTANT:})
     * @param image the preprocessed image, or null for a family whose image size is fixed
     * @return the prompt
     */
    public static Prompt of(Lvlm model, String text, String roleMarker, org.headlens.model.ImageInput image) {
        long[] ids = model.encode(text);
        long[] role = model.encodeWithoutSpecialTokens(roleMarker);
        boolean endsWithRole = role.length > 0 && role.length <= ids.length
                && Arrays.equals(Arrays.copyOfRange(ids, ids.length - role.length, ids.length), role);
        if (!text.strip().endsWith(roleMarker.strip()) || !endsWithRole) {
            throw new HeadlensException("the prompt must end with the role marker " + Messages.quote(roleMarker) + ": " + Messages.quote(text));
        }
        TokenLayout layout = image == null ? TokenLayout.of(ids, model.config()) : TokenLayout.of(ids, model, image);
        if (!layout.hasImage()) {
            throw new HeadlensException("the prompt has no image placeholder (token id " + model.config().imageTokenIndex()
                    + "); put <image> where the image goes: " + Messages.quote(text));
        }
        return new Prompt(ids, layout.withPatchTokens(patchTokens(model, layout)), role.length, null);
    }

    /** The family's patch tokens over the layout's image, null when every image token shows a patch. */
    private static boolean[] patchTokens(Lvlm model, TokenLayout layout) {
        if (!layout.hasImage()) {
            return null;
        }
        boolean[] shown = model.family().patchTokens(layout.imageGrid());
        if (shown.length != layout.imageLength()) {
            // an expanded prompt of another token count is refused by its layout; this guards the family
            throw new HeadlensException("the " + model.family().name() + " family lays out " + shown.length
                    + " image tokens but the prompt has " + layout.imageLength());
        }
        for (boolean token : shown) {
            if (!token) {
                return shown;
            }
        }
        return null;
    }

    /**
     * A prompt from token ids, without role-token information.
     *
     * @param model the model
     * @param inputIds ids with an image placeholder
     * @param image the preprocessed image, whose grid decides the image token count and position ids
     * @return the prompt
     */
    public static Prompt ofIds(Lvlm model, long[] inputIds, org.headlens.model.ImageInput image) {
        TokenLayout layout = TokenLayout.of(inputIds, model, image);
        return new Prompt(inputIds.clone(), layout.withPatchTokens(patchTokens(model, layout)), 0, null);
    }

    /**
     * A prompt from token ids for a family whose image size is fixed (LLaVA-1.5).
     *
     * @param model the model
     * @param inputIds token ids
     * @return the prompt
     */
    public static Prompt ofIds(Lvlm model, long[] inputIds) {
        TokenLayout layout = TokenLayout.of(inputIds, model.config());
        return new Prompt(inputIds.clone(), layout.withPatchTokens(patchTokens(model, layout)), 0, null);
    }

    /**
     * @param patches per image token, whether it lies on the object
     * @return this prompt with an object mask on the patch grid
     */
    public Prompt withObjectPatches(boolean[] patches) {
        if (patches.length != layout.imageLength()) {
            throw new HeadlensException("object mask covers " + patches.length + " patches but the image has "
                    + layout.imageLength() + " tokens");
        }
        return new Prompt(inputIds, layout, roleTokens, patches.clone());
    }

    /**
     * Maps an object mask of the original image onto the image tokens through the family's
     * layout ({@link org.headlens.model.Family#objectTokens}): patches, tiles, newline tokens,
     * merged windows.
     *
     * @param model the model
     * @param mask [row][column] object pixels of the original image
     * @param threshold covered fraction from which a token counts as object (e.g. 0.5)
     * @return this prompt with the object tokens set
     */
    public Prompt withObjectMask(Lvlm model, boolean[][] mask, double threshold) {
        return withObjectPatches(model.family().objectTokens(mask, layout.imageGrid(), threshold));
    }

    /**
     * Maps a per-pixel object mask of the preprocessed image onto the patch grid: a patch is on the
     * object when at least {@code threshold} of its pixels are. Patches are row-major, as LLaVA
     * lays them out; a CLS token kept by the {@code full} strategy counts as background.
     *
     * @param mask [row][column] object pixels, same aspect as the model's input image
     * @param patchesPerSide patches along each side of the image
     * @param threshold covered fraction from which a patch counts as object (e.g. 0.5)
     * @return this prompt with the object patches set
     */
    public Prompt withObjectMask(boolean[][] mask, int patchesPerSide, double threshold) {
        boolean[] grid = patchGrid(mask, patchesPerSide, threshold);
        boolean[] patches = new boolean[layout.imageLength()];
        System.arraycopy(grid, 0, patches, layout.imageLength() - grid.length, grid.length);
        return withObjectPatches(patches);
    }

    /**
     * Maps a per-pixel mask onto a square patch grid: a patch is set when at least
     * {@code threshold} of its pixels are.
     *
     * @param mask [row][column] pixels
     * @param patchesPerSide patches along each side
     * @param threshold covered fraction from which a patch is set
     * @return row-major patch flags, {@code patchesPerSide}² of them
     */
    public static boolean[] patchGrid(boolean[][] mask, int patchesPerSide, double threshold) {
        int height = mask.length;
        int width = height == 0 ? 0 : mask[0].length;
        if (height < patchesPerSide || width < patchesPerSide) {
            throw new HeadlensException("object mask is " + width + "x" + height + ", smaller than the "
                    + patchesPerSide + "x" + patchesPerSide + " patch grid");
        }
        boolean[] patches = new boolean[patchesPerSide * patchesPerSide];
        for (int py = 0; py < patchesPerSide; py++) {
            for (int px = 0; px < patchesPerSide; px++) {
                int y0 = py * height / patchesPerSide;
                int y1 = (py + 1) * height / patchesPerSide;
                int x0 = px * width / patchesPerSide;
                int x1 = (px + 1) * width / patchesPerSide;
                int covered = 0;
                for (int y = y0; y < y1; y++) {
                    for (int x = x0; x < x1; x++) {
                        covered += mask[y][x] ? 1 : 0;
                    }
                }
                patches[py * patchesPerSide + px] = covered >= threshold * (y1 - y0) * (x1 - x0);
            }
        }
        return patches;
    }

    /**
     * @param tokens a named group or explicit positions
     * @return their decoder positions, ascending
     */
    public int[] positions(TokenSet tokens) {
        if (tokens instanceof TokenSet.Positions explicit) {
            int[] positions = explicit.positions();
            for (int position : positions) {
                if (position < 0 || position >= layout.length()) {
                    throw new HeadlensException(explicit + ": position " + position + " is outside the prompt's "
                            + layout.length() + " positions");
                }
            }
            return positions;
        }
        TokenGroup group = (TokenGroup) tokens;
        int end = layout.length();
        switch (group) {
            case PREFIX_TEXT:
                return layout.prefixPositions();
            case IMAGE:
                return layout.imagePositions();
            case IMAGE_OBJECT:
            case IMAGE_BACKGROUND: {
                boolean object = group == TokenGroup.IMAGE_OBJECT;
                boolean[] patches = requireObjectPatches(group);
                return IntStream.range(0, patches.length).filter(i -> shows(i) && patches[i] == object)
                        .map(i -> i + layout.imageStart()).toArray();
            }
            case IMAGE_RANDOM: {
                boolean[] patches = requireObjectPatches(group);
                List<Integer> shuffled = new ArrayList<>(IntStream.range(0, patches.length).filter(this::shows).boxed().toList());
                Collections.shuffle(shuffled, new Random(Arrays.hashCode(patches)));
                int count = (int) IntStream.range(0, patches.length).filter(i -> shows(i) && patches[i]).count();
                return shuffled.subList(0, count).stream().mapToInt(i -> i + layout.imageStart()).sorted().toArray();
            }
            case IMAGE_OTHER:
                return IntStream.range(0, layout.imageLength()).filter(i -> !shows(i)).map(i -> i + layout.imageStart()).toArray();
            case QUESTION:
                return IntStream.range(layout.imageEnd(), end - requireRole(group)).toArray();
            case ROLE:
                return IntStream.range(end - requireRole(group), end).toArray();
            case FINAL:
                return new int[] {end - 1};
            case SUFFIX_TEXT:
                return layout.suffixPositions();
            default:
                throw new IllegalArgumentException(group.toString());
        }
    }

    /** @return whether image token {@code index} shows a patch of the picture */
    private boolean shows(int index) {
        boolean[] flags = layout.positions().patchTokens();
        return flags == null || flags[index];
    }

    private boolean[] requireObjectPatches(TokenGroup group) {
        if (objectPatches == null) {
            throw new HeadlensException(group + " needs an object mask; give the prompt one with withObjectPatches");
        }
        return objectPatches;
    }

    private int requireRole(TokenGroup group) {
        if (roleTokens == 0) {
            throw new HeadlensException(group + " needs the role tokens; build the prompt from text with Prompt.of(model, text)");
        }
        return roleTokens;
    }
}
