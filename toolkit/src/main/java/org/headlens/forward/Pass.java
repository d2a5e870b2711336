package org.headlens.forward;

import org.headlens.HeadlensException;

/**
 * What one decoder pass runs and keeps, as a value: the prompt's layout, the first and the end
 * position of the queries it computes, the cached prefix that covers the positions before them,
 * where logits are needed, and which activations to keep. {@link #full} is the plain pass over
 * the whole prompt; {@link #after} runs only the text after the image on a cached prefix (the
 * fast path: edits of what the text reads never change an earlier state); {@link #resumingAt}
 * starts such a pass at a later layer from the clean run's states.
 */
public final class Pass {
    /** Where logits are computed. */
    public enum Logits {
        /** At the final position only (all an answer needs; the unembedding is large). */
        FINAL,
        /** At every computed position. */
        ALL,
        /** Nowhere: a prefix pass, whose keys and values are all it keeps. */
        NONE
    }

    private final TokenLayout layout;
    private final int from;
    private final int length;
    private final KeyValueCache prefix;
    private final Logits logits;
    private final Capture capture;
    private final boolean keepKeysValues;
    private final SuffixStates states;
    private final int startLayer;
    private final boolean shortcuts;

    private Pass(TokenLayout layout, int from, int length, KeyValueCache prefix, Logits logits, Capture capture, boolean keepKeysValues) {
        this(layout, from, length, prefix, logits, capture, keepKeysValues, null, 0, true);
    }

    private Pass(TokenLayout layout, int from, int length, KeyValueCache prefix, Logits logits, Capture capture, boolean keepKeysValues,
            SuffixStates states, int startLayer, boolean shortcuts) {
        if (length <= from || length > layout.length()) {
            throw new HeadlensException("a pass over positions " + from + " to " + length + " does not fit a prompt of "
                    + layout.length() + " positions");
        }
        this.layout = layout;
        this.from = from;
        this.length = length;
        this.prefix = prefix;
        this.logits = logits;
        this.capture = capture;
        this.keepKeysValues = keepKeysValues;
        this.states = states;
        this.startLayer = startLayer;
        this.shortcuts = shortcuts;
    }

    /** @return the plain pass over every position of the prompt, logits at the final one, nothing kept */
    public static Pass full(TokenLayout layout) {
        return new Pass(layout, 0, layout.length(), null, Logits.FINAL, Capture.none(), false);
    }

    /** @return a pass over the text after the image, reading the prefix's keys and values from {@code prefix} */
    public static Pass after(KeyValueCache prefix) {
        TokenLayout layout = prefix.layout();
        return new Pass(layout, prefix.length(), layout.length(), prefix, Logits.FINAL, Capture.none(), false);
    }

    /** @return this pass keeping {@code capture}'s activations */
    public Pass capture(Capture value) {
        if (states != null && !value.isEmpty()) {
            throw new HeadlensException("a pass resumed at layer " + startLayer + " keeps no activations; capture on a pass that starts at layer 0");
        }
        return new Pass(layout, from, length, prefix, logits, value, keepKeysValues, states, startLayer, shortcuts);
    }

    /** @return this pass computing logits at {@code value} */
    public Pass logitsAt(Logits value) {
        return new Pass(layout, from, length, prefix, value, capture, keepKeysValues, states, startLayer, shortcuts);
    }

    /** @return this pass stopping before position {@code end} */
    Pass upTo(int end) {
        return new Pass(layout, from, end, prefix, logits, capture, keepKeysValues, states, startLayer, shortcuts);
    }

    /** @return this pass returning its keys and values, to build a {@link KeyValueCache} */
    Pass keepingKeysValues() {
        return new Pass(layout, from, length, prefix, logits, capture, true, states, startLayer, shortcuts);
    }

    /**
     * This fast-path pass starting at decoder layer {@code layer} from the clean run's residual
     * stream there: exact for every batch row whose edits all lie in {@code layer} or later, since
     * until then each row computes exactly what the clean run computed. {@code layer} may be the
     * number of layers (no layer runs: the clean final logits).
     *
     * @param clean the clean run's states on this pass's prefix
     * @param layer first layer computed
     * @return the resumed pass (it keeps no activations)
     */
    public Pass resumingAt(SuffixStates clean, int layer) {
        if (prefix == null || clean.prefix() != prefix) {
            throw new HeadlensException("a pass resumes from the states of its own prefix cache (Pass.after(prefix))");
        }
        if (layer < 0 || layer > clean.layers()) {
            throw new HeadlensException("layer " + layer + " is outside the decoder's 0 to " + clean.layers());
        }
        if (!capture.isEmpty()) {
            throw new HeadlensException("a pass resumed at layer " + layer + " keeps no activations; capture on a pass that starts at layer 0");
        }
        return new Pass(layout, from, length, prefix, logits, capture, keepKeysValues, clean, layer, shortcuts);
    }

    /**
     * @return this pass computing everything the plain loop computes: every layer's every query
     *     position, and each batch row's own queries, keys and values in the first layer (the
     *     shortcuts skip only work whose result cannot change; this is the reference they are
     *     measured and tested against)
     */
    public Pass withoutShortcuts() {
        return new Pass(layout, from, length, prefix, logits, capture, keepKeysValues, states, startLayer, false);
    }

    /** @return the prompt's layout */
    public TokenLayout layout() {
        return layout;
    }

    /** @return the first query position computed */
    public int from() {
        return from;
    }

    /** @return the end (exclusive) of the positions computed */
    public int length() {
        return length;
    }

    /** @return the number of query positions computed */
    public int queries() {
        return length - from;
    }

    /** @return the cached prefix, or null on a full pass */
    public KeyValueCache prefix() {
        return prefix;
    }

    /** @return where logits are computed */
    public Logits logits() {
        return logits;
    }

    /** @return what is kept */
    public Capture capture() {
        return capture;
    }

    boolean keepKeysValues() {
        return keepKeysValues;
    }

    /** @return the clean states a resumed pass starts from, or null */
    SuffixStates states() {
        return states;
    }

    /** @return the first decoder layer computed */
    public int startLayer() {
        return startLayer;
    }

    /** @return true if the decoder may skip work whose result cannot change (see {@link #withoutShortcuts}) */
    public boolean shortcuts() {
        return shortcuts;
    }
}
