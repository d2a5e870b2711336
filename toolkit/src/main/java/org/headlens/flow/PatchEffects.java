package org.headlens.flow;

import java.util.List;
import org.headlens.HeadlensException;

/**
 * How much the answer depends on each image patch: the metric change when the text after the
 * image may not read that one image token in any layer, laid out on each of the family's token
 * grids ({@link org.headlens.model.Family#tokenGrids}): LLaVA-1.5's patch grid, LLaVA-NeXT's base
 * image and its tile map (newline tokens are not cells), Qwen2-VL's merged 2x2 windows.
 *
 * @param id sample id
 * @param clean metric of the clean run
 * @param grids one map per token grid, in decoder order; the last is the finest view of the picture
 */
public record PatchEffects(String id, double clean, List<Grid> grids) {
    /**
     * The effects on one token grid.
     *
     * @param name the grid's name, e.g. {@code patches}, {@code base}, {@code tiles}, {@code merged}
     * @param rows cells down
     * @param columns cells across
     * @param positions per cell, row-major, the decoder position cut
     * @param change per cell, row-major, metric with the cell's token cut minus clean
     */
    public record Grid(String name, int rows, int columns, int[] positions, double[] change) {
        /** Checks one value per cell and copies them. */
        public Grid {
            if (positions.length != rows * columns || change.length != rows * columns) {
                throw new HeadlensException("patch effects " + name + " hold " + change.length + " values for a " + rows + "x"
                        + columns + " grid");
            }
            positions = positions.clone();
            change = change.clone();
        }

        @Override
        public int[] positions() {
            return positions.clone();
        }

        @Override
        public double[] change() {
            return change.clone();
        }

        /** @return the change at cell (row, column) */
        public double change(int row, int column) {
            return change[row * columns + column];
        }
    }

    /** Copies the grids. */
    public PatchEffects {
        if (grids.isEmpty()) {
            throw new HeadlensException("patch effects of " + id + " hold no grid");
        }
        grids = List.copyOf(grids);
    }

    /** @return the finest map of the picture (the last grid: LLaVA-NeXT's tile map, the only grid otherwise) */
    public Grid finest() {
        return grids.get(grids.size() - 1);
    }

    /**
     * @param name a grid's name
     * @return that grid
     */
    public Grid grid(String name) {
        return grids.stream().filter(g -> g.name().equals(name)).findFirst().orElseThrow(() -> new HeadlensException(
                "patch effects of " + id + " have no grid '" + name + "'; they have " + grids.stream().map(Grid::name).toList()));
    }
}
