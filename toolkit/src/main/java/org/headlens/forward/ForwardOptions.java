package org.headlens.forward;

/**
 * What a forward pass keeps besides the logits. Keeping less is faster and uses less memory.
 *
 * @param hiddenStates decoder hidden states (embeddings, each layer's input, final-normed
 *     output) and raw layer outputs
 * @param attentions every layer's attention weights (heads x query x key)
 * @param queryKeyValue every layer's post-RoPE queries and keys, and values
 * @param vision vision hidden states, selected features, projector output and merged embeddings
 * @param allPositions logits at every position, not only the final one
 */
public record ForwardOptions(boolean hiddenStates, boolean attentions, boolean queryKeyValue, boolean vision,
        boolean allPositions) {

    /** @return logits at the final position only */
    public static ForwardOptions logitsOnly() {
        return new ForwardOptions(false, false, false, false, false);
    }

    /** @return every tensor the forward pass can report */
    public static ForwardOptions everything() {
        return new ForwardOptions(true, true, true, true, true);
    }
}
