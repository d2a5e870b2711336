package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.headlens.HeadlensException;

/**
 * What a pass changes, layer by layer: which keys and values a head's attention reads, which
 * attention edges are cut, and what an activation becomes. Interventions compile into these
 * (see {@code org.headlens.interventions}); the decoder loop applies them.
 */
public final class LayerEdits {
    /**
     * Rows, heads and queries (true in {@code select}, broadcastable to (B, heads, Q, 1)) read the
     * image keys and values of {@code source} in place of their own.
     *
     * @param select boolean selector over (batch row, query head, query position)
     * @param source the prefix whose image block is read
     */
    record ImageSwap(NDArray select, KeyValueCache source) {
    }

    private final Map<Integer, List<ImageSwap>> swaps = new HashMap<>();
    private final Map<Integer, NDArray> scoreMasks = new HashMap<>();
    private final Map<Site, List<UnaryOperator<NDArray>>> activationEdits = new HashMap<>();

    private final int rows;

    private LayerEdits(int rows) {
        this.rows = rows;
    }

    /** @return no edit at all, for one prompt */
    public static LayerEdits none() {
        return new LayerEdits(1);
    }

    /**
     * @param rows batch rows: the prompt is run this many times in one pass, each row with its own edits
     * @return no edit yet, for a batch of {@code rows}
     */
    public static LayerEdits forBatch(int rows) {
        if (rows < 1) {
            throw new HeadlensException("a batch has at least one row, not " + rows);
        }
        return new LayerEdits(rows);
    }

    /** @return the batch rows the edits are written for */
    public int rows() {
        return rows;
    }

    /**
     * In {@code layer}, the selected (batch row, head, query) entries read the image keys and
     * values of {@code source} instead of the prompt's own: head ablation against a baseline, or
     * activation patching from another image.
     *
     * @param layer decoder layer
     * @param select boolean, broadcastable to (B, heads, queries of the pass, 1)
     * @param source prefix of the same prompt run on another image
     * @return this
     */
    public LayerEdits readImageFrom(int layer, NDArray select, KeyValueCache source) {
        swaps.computeIfAbsent(layer, l -> new ArrayList<>()).add(new ImageSwap(select, source));
        return this;
    }

    /**
     * Adds {@code additive} to the attention scores of {@code layer} before the softmax; a large
     * negative entry (see {@link #BLOCKED}) cuts that edge.
     *
     * @param layer decoder layer
     * @param additive (B or 1, heads or 1, queries of the pass, keys up to the pass's end)
     * @return this
     */
    public LayerEdits addToScores(int layer, NDArray additive) {
        scoreMasks.merge(layer, additive, NDArray::add);
        return this;
    }

    /**
     * Replaces the activation at {@code site} with {@code edit(activation)} (for a site with a
     * head, the head's slice, without the head axis). Edits of one site apply in the order added.
     *
     * @param site where
     * @param edit the new activation from the old; must keep the shape
     * @return this
     */
    public LayerEdits editActivation(Site site, UnaryOperator<NDArray> edit) {
        activationEdits.computeIfAbsent(site, s -> new ArrayList<>()).add(edit);
        return this;
    }

    /**
     * Score added where attention is blocked. Large enough that the softmax weight is exactly 0
     * in float32 (as with transformers' most-negative-float mask), small enough that two masks
     * added together, or their gradients, stay finite.
     */
    public static final float BLOCKED = -1e9f;

    /** @return true if {@code layer} has no score edit and no activation edit, so at most image swaps */
    boolean onlyImageSwapsIn(int layer) {
        return !scoreMasks.containsKey(layer) && !editsActivationsIn(layer);
    }

    /** @return true if an activation of the decoder's {@code layer} is edited */
    boolean editsActivationsIn(int layer) {
        for (Site site : activationEdits.keySet()) {
            if (site.kind().inDecoder() && site.kind().perLayer() && site.layer() == layer) {
                return true;
            }
        }
        return false;
    }

    List<ImageSwap> swaps(int layer) {
        return swaps.getOrDefault(layer, List.of());
    }

    NDArray scoreMask(int layer) {
        return scoreMasks.get(layer);
    }

    /** Applies the edits of a site (whole-layer edits first, then per-head ones) to its activation. */
    NDArray apply(Site site, NDArray activation) {
        if (activationEdits.isEmpty()) {
            return activation;
        }
        NDArray value = activation;
        for (UnaryOperator<NDArray> edit : activationEdits.getOrDefault(site, List.of())) {
            value = checked(site, value, edit.apply(value));
        }
        if (site.kind().perHead()) {
            for (Map.Entry<Site, List<UnaryOperator<NDArray>>> entry : activationEdits.entrySet()) {
                Site headSite = entry.getKey();
                if (headSite.kind() == site.kind() && headSite.layer() == site.layer() && headSite.head() != Site.NONE) {
                    if (headSite.head() >= value.getShape().get(1)) {
                        throw new HeadlensException(headSite + ": layer " + site.layer() + " has " + value.getShape().get(1) + " heads");
                    }
                    NDIndex index = new NDIndex(":, {}", headSite.head());
                    NDArray slice = value.get(index);
                    for (UnaryOperator<NDArray> edit : entry.getValue()) {
                        slice = checked(headSite, slice, edit.apply(slice));
                    }
                    NDArray copy = value.duplicate();
                    copy.set(index, slice);
                    value = copy;
                }
            }
        }
        return value;
    }

    private static NDArray checked(Site site, NDArray before, NDArray after) {
        if (after == null || !after.getShape().equals(before.getShape())) {
            throw new HeadlensException("an edit of " + site + " returned " + (after == null ? "nothing" : "shape " + after.getShape())
                    + "; it must keep the shape " + before.getShape());
        }
        if (after.getManager() != before.getManager()) {
            // an array the edit holds elsewhere: the pass frees what flows through it, so it gets a copy
            NDArray copy = after.duplicate();
            copy.attach(before.getManager());
            return copy;
        }
        return after;
    }
}
