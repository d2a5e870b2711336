package org.headlens.forward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import org.headlens.HeadlensException;

/**
 * Which decoder heads are ablated: a layers x heads grid of booleans. Immutable.
 */
public final class HeadMask {
    private final boolean[][] ablated;

    private HeadMask(boolean[][] ablated) {
        this.ablated = ablated;
    }

    /** @return a mask that ablates nothing */
    public static HeadMask none(int layers, int heads) {
        return new HeadMask(new boolean[layers][heads]);
    }

    /** @return a mask that ablates every head */
    public static HeadMask all(int layers, int heads) {
        boolean[][] grid = new boolean[layers][heads];
        for (boolean[] row : grid) {
            Arrays.fill(row, true);
        }
        return new HeadMask(grid);
    }

    /**
     * @param layers decoder layers
     * @param heads heads per layer
     * @param ablated heads to ablate
     * @return the mask
     */
    public static HeadMask of(int layers, int heads, Collection<Head> ablated) {
        Heads grid = new Heads(layers, heads);
        boolean[][] mask = new boolean[layers][heads];
        for (Head h : ablated) {
            grid.check(h);
            mask[h.layer()][h.head()] = true;
        }
        return new HeadMask(mask);
    }

    /** @return a mask of a head grid that ablates these heads */
    public static HeadMask of(Heads grid, Collection<Head> ablated) {
        return of(grid.layers(), grid.perLayer(), ablated);
    }

    /**
     * Each head of a grid ablated independently with probability {@code alpha}, as the masks of
     * head attribution are drawn.
     *
     * @param grid the model's heads, e.g. {@code Heads.of(model.config())}
     * @param alpha ablation probability
     * @param random source of randomness
     * @return the mask
     */
    public static HeadMask random(Heads grid, double alpha, Random random) {
        return random(grid.layers(), grid.perLayer(), alpha, random);
    }

    /**
     * The row of a regression's design matrix for this mask: per head, in flat order, 1 if the
     * head is kept and 0 if it is ablated.
     *
     * @return one value per head of the grid
     */
    public double[] keptIndicators() {
        double[] kept = new double[layers() * heads()];
        for (int l = 0; l < layers(); l++) {
            for (int h = 0; h < heads(); h++) {
                kept[l * heads() + h] = ablated[l][h] ? 0 : 1;
            }
        }
        return kept;
    }

    /** @return a mask of a head grid that ablates the heads at these flat indices */
    public static HeadMask ofIndices(Heads grid, int... indices) {
        return of(grid, grid.heads(indices));
    }

    /**
     * Each head ablated independently with probability {@code alpha}.
     *
     * @param layers decoder layers
     * @param heads heads per layer
     * @param alpha ablation probability
     * @param random source of randomness
     * @return the mask
     */
    public static HeadMask random(int layers, int heads, double alpha, Random random) {
        boolean[][] grid = new boolean[layers][heads];
        for (boolean[] row : grid) {
            for (int h = 0; h < heads; h++) {
                row[h] = random.nextDouble() < alpha;
            }
        }
        return new HeadMask(grid);
    }

    /** @return the complement: ablates exactly the heads this one keeps */
    public HeadMask inverted() {
        boolean[][] grid = new boolean[layers()][heads()];
        for (int l = 0; l < layers(); l++) {
            for (int h = 0; h < heads(); h++) {
                grid[l][h] = !ablated[l][h];
            }
        }
        return new HeadMask(grid);
    }

    /** @return number of layers */
    public int layers() {
        return ablated.length;
    }

    /** @return heads per layer */
    public int heads() {
        return ablated.length == 0 ? 0 : ablated[0].length;
    }

    /** @return the head grid this mask covers */
    public Heads grid() {
        return new Heads(layers(), heads());
    }

    /** @return true if the head is ablated */
    public boolean isAblated(Head head) {
        return ablated[head.layer()][head.head()];
    }

    /** @return true if head {@code head} of layer {@code layer} is ablated */
    public boolean isAblated(int layer, int head) {
        return ablated[layer][head];
    }

    /** @return true if any head of the layer is ablated */
    public boolean anyInLayer(int layer) {
        for (boolean b : ablated[layer]) {
            if (b) {
                return true;
            }
        }
        return false;
    }

    /** @return the ablated heads in (layer, head) order */
    public List<Head> ablatedHeads() {
        List<Head> list = new ArrayList<>();
        for (int l = 0; l < layers(); l++) {
            for (int h = 0; h < heads(); h++) {
                if (ablated[l][h]) {
                    list.add(new Head(l, h));
                }
            }
        }
        return list;
    }

    /** @return number of ablated heads */
    public int count() {
        int n = 0;
        for (boolean[] row : ablated) {
            for (boolean b : row) {
                n += b ? 1 : 0;
            }
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeadMask other && Arrays.deepEquals(ablated, other.ablated);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(ablated);
    }

    @Override
    public String toString() {
        return "HeadMask" + ablatedHeads();
    }
}
