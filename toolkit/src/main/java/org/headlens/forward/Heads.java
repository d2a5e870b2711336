package org.headlens.forward;

import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.model.ModelConfig;

/**
 * The decoder's grid of attention heads, and the one place where a head's flat index (layer by
 * layer, as in attribution vectors and tables) and its (layer, head) pair are converted.
 *
 * @param layers decoder layers
 * @param perLayer query heads per layer
 */
public record Heads(int layers, int perLayer) {
    /** Checks the sizes. */
    public Heads {
        if (layers < 0 || perLayer < 0) {
            throw new HeadlensException("a model has at least 0 layers and heads, not " + layers + " x " + perLayer);
        }
    }

    /** @return the head grid of a model's decoder */
    public static Heads of(ModelConfig config) {
        return new Heads(config.text().layers(), config.text().heads());
    }

    /** @return the number of heads */
    public int count() {
        return layers * perLayer;
    }

    /** @return the flat index of a head */
    public int index(Head head) {
        check(head);
        return head.layer() * perLayer + head.head();
    }

    /** @return the head at a flat index */
    public Head head(int index) {
        if (index < 0 || index >= count()) {
            throw new HeadlensException("head index " + index + " is outside the model's " + count() + " heads");
        }
        return new Head(index / perLayer, index % perLayer);
    }

    /** @return the heads at these flat indices */
    public List<Head> heads(int... indices) {
        List<Head> list = new ArrayList<>();
        for (int index : indices) {
            list.add(head(index));
        }
        return list;
    }

    /** @return true if the head exists in this grid */
    public boolean contains(Head head) {
        return head.layer() >= 0 && head.layer() < layers && head.head() >= 0 && head.head() < perLayer;
    }

    /** Refuses a head that is not in the grid. */
    public void check(Head head) {
        if (!contains(head)) {
            throw new HeadlensException("head " + head + " does not exist in a model with " + layers + " layers of " + perLayer + " heads");
        }
    }
}
