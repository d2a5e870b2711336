package org.headlens.interventions;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Site;
import org.headlens.forward.TokenSet;

/**
 * Attention knockout: in the given layers, the target positions may not read the source
 * positions (their attention scores are set to minus infinity before the softmax). Information
 * flows from source to target, as in "image -> final".
 *
 * @param source positions that may no longer be read (keys)
 * @param target positions whose attention is cut (queries)
 * @param layers decoder layers where the edge is cut
 * @param heads heads where it is cut, or null for every head
 */
public record Knockout(TokenSet source, TokenSet target, int[] layers, HeadMask heads) implements Intervention {
    /** Copies the layers. */
    public Knockout {
        layers = layers.clone();
    }

    /**
     * Cuts the edge in every head of a window of consecutive layers.
     *
     * @param source source group
     * @param target receiving group
     * @param firstLayer first layer of the window
     * @param windowSize number of layers
     * @return the knockout
     */
    public static Knockout window(TokenSet source, TokenSet target, int firstLayer, int windowSize) {
        return new Knockout(source, target, IntStream.range(firstLayer, firstLayer + windowSize).toArray(), null);
    }

    @Override
    public int[] layers() {
        return layers.clone();
    }

    @Override
    public void compile(RowEdits edits) {
        int[] sources = edits.prompt().positions(source);
        int[] targets = edits.prompt().positions(target);
        for (int layer : layers) {
            if (heads == null) {
                edits.cut(layer, Site.NONE, sources, targets);
            } else {
                for (int h = 0; h < heads.heads(); h++) {
                    if (heads.isAblated(layer, h)) {
                        edits.cut(layer, h, sources, targets);
                    }
                }
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Knockout k && k.source.equals(source) && k.target.equals(target) && Arrays.equals(k.layers, layers)
                && java.util.Objects.equals(k.heads, heads);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(source, target, Arrays.hashCode(layers), heads);
    }

    @Override
    public String toString() {
        return source + "->" + target + "@" + Arrays.toString(layers) + (heads == null ? "" : " " + heads);
    }
}
