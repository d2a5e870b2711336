package org.headlens.model;

import java.util.Arrays;

/**
 * A grid of image tokens that tile a picture: LLaVA-1.5's patch grid, LLaVA-NeXT's base image
 * and its unpadded tile map (without the newline tokens), Qwen2-VL's merged 2x2 windows. Cells
 * are row-major; each names the image token (counted from the first image position) that shows
 * it.
 *
 * @param name what the grid shows, e.g. {@code patches}, {@code base}, {@code tiles}, {@code merged}
 * @param rows cells down
 * @param columns cells across
 * @param tokens per cell, row-major, the image token's index from the first image position
 */
public record TokenGrid(String name, int rows, int columns, int[] tokens) {
    /** Checks that there is one token per cell and copies them. */
    public TokenGrid {
        if (rows <= 0 || columns <= 0 || tokens.length != (long) rows * columns) {
            throw new IllegalArgumentException(name + ": " + tokens.length + " tokens for " + rows + "x" + columns + " cells");
        }
        tokens = tokens.clone();
    }

    /**
     * @param name what the grid shows
     * @param rows cells down
     * @param columns cells across
     * @param first the image token of the first cell
     * @param rowStride image tokens from one row's first cell to the next row's
     * @return a grid whose cells are consecutive tokens within a row
     */
    public static TokenGrid of(String name, int rows, int columns, int first, int rowStride) {
        int[] tokens = new int[rows * columns];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                tokens[r * columns + c] = first + r * rowStride + c;
            }
        }
        return new TokenGrid(name, rows, columns, tokens);
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** @return the image token of cell (row, column) */
    public int token(int row, int column) {
        return tokens[row * columns + column];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenGrid g && g.name.equals(name) && g.rows == rows && g.columns == columns && Arrays.equals(g.tokens, tokens);
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + rows * 131 + columns) * 31 + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return name + " " + rows + "x" + columns;
    }
}
