package org.headlens.ablation;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Attention knockout: in the given layers, queries in one token group may not attend to keys in
 * another (their scores are set to minus infinity before the softmax).
 *
 * @param queries positions whose attention is cut (the receivers of information)
 * @param keys positions they may no longer read from (the sources)
 * @param layers decoder layers where the edge is cut
 * @param heads heads where it is cut, or null for every head
 */
public record Knockout(TokenSet queries, TokenSet keys, int[] layers, HeadMask heads) {

    /**
     * Cuts the edge in every head of a window of consecutive layers.
     *
     * @param queries receiving group
     * @param keys source group
     * @param firstLayer first layer of the window
     * @param windowSize number of layers
     * @return the knockout
     */
    public static Knockout window(TokenSet queries, TokenSet keys, int firstLayer, int windowSize) {
        return new Knockout(queries, keys, IntStream.range(firstLayer, firstLayer + windowSize).toArray(), null);
    }

    /** @return true if the knockout acts in the layer */
    public boolean inLayer(int layer) {
        return Arrays.stream(layers).anyMatch(l -> l == layer);
    }

    /** @return true if the knockout acts on the head */
    public boolean onHead(int layer, int head) {
        return inLayer(layer) && (heads == null || heads.isAblated(layer, head));
    }

    @Override
    public String toString() {
        return keys + "->" + queries + "@" + Arrays.toString(layers) + (heads == null ? "" : " " + heads);
    }
}
