package org.headlens.forward;

/**
 * Places in a decoder layer where {@link Hooks} can read or replace what flows, as in
 * TransformerLens. Shapes have a leading batch axis B and cover the query positions the pass
 * computes (all positions in a full pass, the text after the image on the fast path).
 */
public enum HookSite {
    /** Residual stream entering the layer, (B, Q, hidden). */
    RESIDUAL_PRE,
    /** Attention weights after the softmax, (B, heads, Q, keys). */
    ATTENTION_PATTERN,
    /** Each head's output before {@code o_proj}, (B, heads, Q, headDim). */
    HEAD_OUTPUT,
    /** The attention block's contribution to the residual stream, (B, Q, hidden). */
    ATTENTION_OUTPUT,
    /** The MLP's contribution to the residual stream, (B, Q, hidden). */
    MLP_OUTPUT,
    /** Residual stream leaving the layer, (B, Q, hidden). */
    RESIDUAL_POST
}
