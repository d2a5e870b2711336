package org.headlens.forward;

import java.util.Locale;
import org.headlens.HeadlensException;

/**
 * A place in the model where an activation can be captured or edited, named as in
 * TransformerLens by (kind, layer[, head]). Shapes carry a leading batch axis B and cover the
 * positions the pass computes: every position on a full pass, only the text after the image on
 * the fast path ({@link ActivationCache#firstPosition()} says which).
 *
 * @param kind what flows there
 * @param layer decoder layer (vision layer for {@link Kind#VISION_HIDDEN}), or {@link #NONE}
 * @param head query head (key/value head for {@link Kind#KEY} and {@link Kind#VALUE}), or {@link #NONE} for all heads
 */
public record Site(Kind kind, int layer, int head) {
    /** Layer or head of a site that has none, or of every head. */
    public static final int NONE = -1;

    /** What flows at a site, and the axis of its positions. */
    public enum Kind {
        /** Token embeddings with the image spliced in, (B, T, hidden): the decoder's input. */
        EMBEDDINGS(1, false, false),
        /** Residual stream entering a layer, (B, T, hidden). */
        RESIDUAL_PRE(1, true, false),
        /** Post-RoPE queries, (B, heads, T, headDim). */
        QUERY(2, true, true),
        /** Post-RoPE keys, (B, keyValueHeads, T, headDim). */
        KEY(2, true, true),
        /** Values, (B, keyValueHeads, T, headDim). */
        VALUE(2, true, true),
        /** Attention weights after the softmax, (B, heads, T, keys). */
        ATTENTION_PATTERN(2, true, true),
        /** Each head's output before the output projection, (B, heads, T, headDim). */
        HEAD_OUTPUT(2, true, true),
        /** The attention block's contribution to the residual stream, (B, T, hidden). */
        ATTENTION_OUTPUT(1, true, false),
        /** The MLP's contribution to the residual stream, (B, T, hidden). */
        MLP_OUTPUT(1, true, false),
        /** Residual stream leaving a layer, (B, T, hidden). */
        RESIDUAL_POST(1, true, false),
        /** The final norm's output, (B, T or 1, hidden): what the unembedding reads. */
        FINAL_NORM(1, false, false),
        /** Hidden states of the vision tower, (B, patches, visionHidden); layer 0 is its embeddings. */
        VISION_HIDDEN(1, true, false),
        /** The vision features the projector reads, (B, image tokens, features). */
        VISION_FEATURES(1, false, false),
        /** The projector's output, (B, image tokens, hidden). */
        PROJECTOR_OUTPUT(1, false, false);

        private final int positionAxis;
        private final boolean perLayer;
        private final boolean perHead;

        Kind(int positionAxis, boolean perLayer, boolean perHead) {
            this.positionAxis = positionAxis;
            this.perLayer = perLayer;
            this.perHead = perHead;
        }

        /** @return the axis that runs over positions */
        public int positionAxis() {
            return positionAxis;
        }

        /** @return true if the kind has one site per layer */
        public boolean perLayer() {
            return perLayer;
        }

        /** @return true if the activation has a head axis (axis 1) */
        public boolean perHead() {
            return perHead;
        }

        /** @return true for the sites of the decoder, which the fast path computes */
        public boolean inDecoder() {
            return this != VISION_HIDDEN && this != VISION_FEATURES && this != PROJECTOR_OUTPUT;
        }
    }

    /** Checks that layer and head fit the kind. */
    public Site {
        if (kind == null) {
            throw new HeadlensException("a site needs a kind");
        }
        if (kind.perLayer() ? layer < 0 : layer != NONE) {
            throw new HeadlensException(kind.perLayer() ? kind + " needs a layer (0 or more), not " + layer : kind + " has no layer");
        }
        if (head != NONE && (!kind.perHead() || head < 0)) {
            throw new HeadlensException(kind.perHead() ? "head " + head + " does not exist" : kind + " has no head axis");
        }
    }

    /** @return the decoder's input embeddings */
    public static Site embeddings() {
        return new Site(Kind.EMBEDDINGS, NONE, NONE);
    }

    /** @return the residual stream entering {@code layer} */
    public static Site residualPre(int layer) {
        return new Site(Kind.RESIDUAL_PRE, layer, NONE);
    }

    /** @return the residual stream leaving {@code layer} */
    public static Site residualPost(int layer) {
        return new Site(Kind.RESIDUAL_POST, layer, NONE);
    }

    /** @return the post-RoPE queries of every head of {@code layer} */
    public static Site query(int layer) {
        return new Site(Kind.QUERY, layer, NONE);
    }

    /** @return the post-RoPE keys of every key/value head of {@code layer} */
    public static Site key(int layer) {
        return new Site(Kind.KEY, layer, NONE);
    }

    /** @return the values of every key/value head of {@code layer} */
    public static Site value(int layer) {
        return new Site(Kind.VALUE, layer, NONE);
    }

    /** @return the attention weights of every head of {@code layer} */
    public static Site attentionPattern(int layer) {
        return new Site(Kind.ATTENTION_PATTERN, layer, NONE);
    }

    /** @return the attention weights of one head */
    public static Site attentionPattern(Head head) {
        return new Site(Kind.ATTENTION_PATTERN, head.layer(), head.head());
    }

    /** @return the outputs of every head of {@code layer}, before the output projection */
    public static Site headOutput(int layer) {
        return new Site(Kind.HEAD_OUTPUT, layer, NONE);
    }

    /** @return one head's output, before the output projection */
    public static Site headOutput(Head head) {
        return new Site(Kind.HEAD_OUTPUT, head.layer(), head.head());
    }

    /** @return the attention block's output of {@code layer} */
    public static Site attentionOutput(int layer) {
        return new Site(Kind.ATTENTION_OUTPUT, layer, NONE);
    }

    /** @return the MLP's output of {@code layer} */
    public static Site mlpOutput(int layer) {
        return new Site(Kind.MLP_OUTPUT, layer, NONE);
    }

    /** @return the final norm's output */
    public static Site finalNorm() {
        return new Site(Kind.FINAL_NORM, NONE, NONE);
    }

    /** @return the vision tower's hidden state {@code index} (0: its embeddings) */
    public static Site visionHidden(int index) {
        return new Site(Kind.VISION_HIDDEN, index, NONE);
    }

    /** @return the vision features the projector reads */
    public static Site visionFeatures() {
        return new Site(Kind.VISION_FEATURES, NONE, NONE);
    }

    /** @return the projector's output */
    public static Site projectorOutput() {
        return new Site(Kind.PROJECTOR_OUTPUT, NONE, NONE);
    }

    /** @return the same site for every head */
    public Site allHeads() {
        return head == NONE ? this : new Site(kind, layer, NONE);
    }

    @Override
    public String toString() {
        String name = kind.name().toLowerCase(Locale.ROOT);
        return name + (layer == NONE ? "" : "." + layer) + (head == NONE ? "" : "." + head);
    }
}
