package org.headlens.model;

import org.headlens.HeadlensException;

/**
 * Maps a per-pixel object mask onto a grid of cells (patches or merged tokens): a cell is on the
 * object when at least {@code threshold} of the mask pixels it covers are set.
 */
public final class PatchMasks {
    private PatchMasks() {
    }

    /**
     * A row-major grid over the whole mask, each cell the pixels from {@code r * height / rows}
     * to {@code (r + 1) * height / rows} (integer division), likewise for columns.
     *
     * @param mask [row][column] pixels
     * @param rows cells down
     * @param columns cells across
     * @param threshold covered fraction from which a cell is set
     * @return row-major cell flags
     */
    public static boolean[] grid(boolean[][] mask, int rows, int columns, double threshold) {
        int height = mask.length;
        int width = height == 0 ? 0 : mask[0].length;
        if (height < rows || width < columns) {
            throw new HeadlensException("object mask is " + width + "x" + height + ", smaller than the "
                    + columns + "x" + rows + " patch grid");
        }
        boolean[] cells = new boolean[rows * columns];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                cells[r * columns + c] = covered(mask, (long) r * height / rows, (long) (r + 1) * height / rows,
                        (long) c * width / columns, (long) (c + 1) * width / columns, threshold);
            }
        }
        return cells;
    }

    /**
     * @return true when at least {@code threshold} of the mask pixels in rows [y0, y1) and
     *     columns [x0, x1) are set; false for an empty region
     */
    static boolean covered(boolean[][] mask, long y0, long y1, long x0, long x1, double threshold) {
        long count = 0;
        for (long y = Math.max(0, y0); y < Math.min(mask.length, y1); y++) {
            for (long x = Math.max(0, x0); x < Math.min(mask[(int) y].length, x1); x++) {
                count += mask[(int) y][(int) x] ? 1 : 0;
            }
        }
        long area = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
        return area > 0 && count >= threshold * area;
    }
}
