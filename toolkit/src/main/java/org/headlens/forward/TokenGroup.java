package org.headlens.forward;

/**
 * A named group of prompt positions, resolved against a concrete prompt by
 * {@link org.headlens.forward.Prompt#positions(TokenGroup)}. In a LLaVA-1.5 prompt
 * {@code USER: <image>\nWhat is the main object? ASSISTANT:} the groups are: prefix text
 * ({@code USER:}), image, question (text after the image up to the role tokens), role tokens
 * ({@code ASSISTANT :}), and the final token (the last role token, where the answer is read).
 */
public enum TokenGroup implements TokenSet {
    /** Text before the image. */
    PREFIX_TEXT,
    /** Every image position. */
    IMAGE,
    /** Image positions whose patch is covered by the object mask. */
    IMAGE_OBJECT,
    /**
     * Image positions whose patch is not covered by the object mask. Image tokens that show no
     * patch ({@link #IMAGE_OTHER}) are not background.
     */
    IMAGE_BACKGROUND,
    /**
     * As many image positions as {@link #IMAGE_OBJECT}, drawn at random from all image positions:
     * the control that tells an object effect from an effect of blocking that many tokens. The
     * draw is from the tokens that show a patch (object or background) and is seeded by the
     * object mask, so a sample always gets the same subset.
     */
    IMAGE_RANDOM,
    /**
     * Image positions that show no patch of the picture, so are neither object nor background:
     * LLaVA-NeXT's {@code image_newline} token after every row, a CLS token kept by LLaVA-1.5's
     * {@code full} strategy. Empty for Qwen2-VL and most LLaVA-1.5 models.
     */
    IMAGE_OTHER,
    /** Text after the image, before the role tokens. */
    QUESTION,
    /** The assistant role tokens at the end of the prompt, including the final token. */
    ROLE,
    /** The final position, whose logits give the answer. */
    FINAL,
    /** Every text position after the image (question and role tokens). */
    SUFFIX_TEXT
}
