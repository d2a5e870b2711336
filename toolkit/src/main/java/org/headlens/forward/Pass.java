package org.headlens.forward;

import org.headlens.HeadlensException;

/**
 * What one decoder pass runs and keeps, as a value: the prompt's layout, the first and the end
 * position of the queries it computes, the cached prefix that covers the positions before them,
 * where logits are needed, and which activations to keep. {@link #full} is the plain pass over
 * the whole prompt; {@link #after} runs only the text after the image on a cached prefix (the
 * fast path: edits of what the text reads never change an earlier state).
 */
public final class Pass {
    /** Where logits are computed. */
    public enum Logits {
        /** At the final position only (all an answer needs; the unembedding is large). */
        FINAL,
        /** At every computed position. */
        ALL
    }

    private final TokenLayout layout;
    private final int from;
    private final int length;
    private final KeyValueCache prefix;
    private final Logits logits;
    private final Capture capture;
    private final boolean keepKeysValues;

    private Pass(TokenLayout layout, int from, int length, KeyValueCache prefix, Logits logits, Capture capture, boolean keepKeysValues) {
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
        return new Pass(layout, from, length, prefix, logits, value, keepKeysValues);
    }

    /** @return this pass computing logits at {@code value} */
    public Pass logitsAt(Logits value) {
        return new Pass(layout, from, length, prefix, value, capture, keepKeysValues);
    }

    /** @return this pass stopping before position {@code end} */
    Pass upTo(int end) {
        return new Pass(layout, from, end, prefix, logits, capture, keepKeysValues);
    }

    /** @return this pass returning its keys and values, to build a {@link KeyValueCache} */
    Pass keepingKeysValues() {
        return new Pass(layout, from, length, prefix, logits, capture, true);
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
}
