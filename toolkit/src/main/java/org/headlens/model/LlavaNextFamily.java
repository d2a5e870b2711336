package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.headlens.HeadlensException;

/**
 * LLaVA-NeXT ({@code LlavaNextForConditionalGeneration}, transformers 4.44): any-resolution
 * tiles. The image is resized into the best of the grid pinpoints and padded, cut into tiles of
 * the tower's size, and preceded by the whole image resized to one tile; every tile goes through
 * the LLaVA tower and projector; the tiles' features are assembled into one map, the padding is
 * cut away ("unpad") and {@code image_newline} ends every row. The image token count follows
 * the image's size; position ids are one row; the role marker is LLaVA's, or {@code [/INST]} with a
 * Mistral decoder (the chat template of {@code llava-v1.6-mistral-7b-hf}).
 *
 * <p>The grid of an {@link ImageInput} is the original image's (height, width), as
 * {@code image_sizes}.
 */
final class LlavaNextFamily implements Family {
    private final ModelConfig config;
    private final ImageProcessor processor;
    private final LlavaFamily tiles;
    private final NDArray newline;

    LlavaNextFamily(ModelConfig config, ImageProcessor processor, LlavaFamily tiles, Weights weights) {
        this.config = config;
        this.processor = processor;
        this.tiles = tiles;
        this.newline = weights.get("image_newline", config.text().hiddenSize());
    }

    /** Where an image of a given size goes: the chosen pinpoint, the resize inside it, and the kept part of the feature map. */
    record Geometry(int bestHeight, int bestWidth, int resizedHeight, int resizedWidth, int tileRows, int tileColumns,
            int keptRowStart, int keptRowEnd, int keptColumnStart, int keptColumnEnd) {
        int rows() {
            return keptRowEnd - keptRowStart;
        }

        int columns() {
            return keptColumnEnd - keptColumnStart;
        }
    }

    /**
     * The geometry of {@code select_best_resolution}, {@code get_patch_output_size} and
     * {@code unpad_image}, in Python's arithmetic (float division, int() truncation, floor halves).
     */
    Geometry geometry(long height, long width) {
        if (height <= 0 || width <= 0 || height * width > ImageProcessor.MAX_PIXELS) {
            throw new HeadlensException("a LLaVA-NeXT image needs a size (height, width) of 1 to " + ImageProcessor.MAX_PIXELS
                    + " pixels; got " + height + "x" + width);
        }
        int bestHeight = 0;
        int bestWidth = 0;
        long bestEffective = -1;
        long leastWaste = Long.MAX_VALUE;
        for (List<Integer> pinpoint : config.gridPinpoints()) {
            int ph = pinpoint.get(0);
            int pw = pinpoint.get(1);
            double scale = Math.min((double) pw / width, (double) ph / height);
            long effective = Math.min((long) (width * scale) * (long) (height * scale), height * width);
            long waste = (long) ph * pw - effective;
            if (effective > bestEffective || (effective == bestEffective && waste < leastWaste)) {
                bestEffective = effective;
                leastWaste = waste;
                bestHeight = ph;
                bestWidth = pw;
            }
        }
        double scaleWidth = (double) bestWidth / width;
        double scaleHeight = (double) bestHeight / height;
        int resizedHeight;
        int resizedWidth;
        if (scaleWidth < scaleHeight) {
            resizedWidth = bestWidth;
            resizedHeight = (int) Math.min(Math.ceil(height * scaleWidth), bestHeight);
        } else {
            resizedHeight = bestHeight;
            resizedWidth = (int) Math.min(Math.ceil(width * scaleHeight), bestWidth);
        }
        int side = config.vision().imageSize();
        int patches = config.vision().patchesPerSide();
        int tileRows = bestHeight / side;
        int tileColumns = bestWidth / side;
        int gridHeight = tileRows * patches;
        int gridWidth = tileColumns * patches;
        int rowStart = 0;
        int rowEnd = gridHeight;
        int columnStart = 0;
        int columnEnd = gridWidth;
        if ((double) width / height > (double) gridWidth / gridHeight) {
            int newHeight = (int) (height * ((double) gridWidth / width));
            int padding = (gridHeight - newHeight) / 2;
            rowStart = padding;
            rowEnd = gridHeight - padding;
        } else {
            int newWidth = (int) (width * ((double) gridHeight / height));
            int padding = (gridWidth - newWidth) / 2;
            columnStart = padding;
            columnEnd = gridWidth - padding;
        }
        return new Geometry(bestHeight, bestWidth, resizedHeight, resizedWidth, tileRows, tileColumns, rowStart, rowEnd,
                columnStart, columnEnd);
    }

    @Override
    public String name() {
        return "llava_next";
    }

    @Override
    public ImageInput preprocess(NDManager manager, BufferedImage image) {
        int height = image.getHeight();
        int width = image.getWidth();
        Geometry g = geometry(height, width);
        int[][] resized = processor.resizedRgb(image, g.resizedWidth(), g.resizedHeight());
        // transformers 4.44 pads floor(difference / 2) on both sides, so an odd difference leaves
        // the canvas one pixel short and the last tiles narrower (resized back by the processor)
        int padTop = (g.bestHeight() - g.resizedHeight()) / 2;
        int padLeft = (g.bestWidth() - g.resizedWidth()) / 2;
        int canvasHeight = g.resizedHeight() + 2 * padTop;
        int canvasWidth = g.resizedWidth() + 2 * padLeft;
        BufferedImage canvas = new BufferedImage(canvasWidth, canvasHeight, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < g.resizedHeight(); y++) {
            for (int x = 0; x < g.resizedWidth(); x++) {
                int i = y * g.resizedWidth() + x;
                canvas.setRGB(x + padLeft, y + padTop, (resized[0][i] << 16) | (resized[1][i] << 8) | resized[2][i]);
            }
        }
        int tile = processor.cropHeight() > 0 ? processor.cropHeight() : config.vision().imageSize();
        int baseSide = processor.shortestEdge() > 0 ? processor.shortestEdge() : tile;
        int[][] base = processor.resizedRgb(image, baseSide, baseSide);
        BufferedImage baseImage = new BufferedImage(baseSide, baseSide, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < baseSide; y++) {
            for (int x = 0; x < baseSide; x++) {
                int i = y * baseSide + x;
                baseImage.setRGB(x, y, (base[0][i] << 16) | (base[1][i] << 8) | base[2][i]);
            }
        }
        List<NDArray> pieces = new ArrayList<>();
        pieces.add(processor.pixelValues(manager, baseImage));
        for (int y = 0; y < canvasHeight; y += tile) {
            for (int x = 0; x < canvasWidth; x += tile) {
                BufferedImage piece = canvas.getSubimage(x, y, Math.min(tile, canvasWidth - x), Math.min(tile, canvasHeight - y));
                pieces.add(processor.pixelValues(manager, piece));
            }
        }
        NDArray pixels = NDArrays.concat(new NDList(pieces), 0).expandDims(0);
        return new ImageInput(pixels, new long[] {height, width});
    }

    @Override
    public ImageInput input(NDArray pixels, long[] grid) {
        if (grid == null || grid.length != 2) {
            throw new HeadlensException("a LLaVA-NeXT image needs its original size (image_sizes) as (height, width); got "
                    + Arrays.toString(grid));
        }
        Geometry g = geometry(grid[0], grid[1]);
        int side = config.vision().imageSize();
        long count = 1L + (long) g.tileRows() * g.tileColumns();
        Shape shape = pixels.getShape();
        if (shape.dimension() != 5 || shape.get(1) != count || shape.get(2) != config.vision().channels() || shape.get(3) != side
                || shape.get(4) != side) {
            throw new HeadlensException("pixel values have shape " + shape + ", expected (batch, " + count + ", "
                    + config.vision().channels() + ", " + side + ", " + side + ") for an image of " + grid[1] + "x" + grid[0]
                    + " pixels (the base image and " + g.tileRows() + "x" + g.tileColumns() + " tiles)");
        }
        return new ImageInput(pixels, grid.clone());
    }

    @Override
    public VisionOutput encode(ImageInput image, boolean allStates) {
        ImageInput checked = input(image.pixels(), image.grid());
        Geometry g = geometry(checked.grid()[0], checked.grid()[1]);
        Shape shape = checked.pixels().getShape();
        long batch = shape.get(0);
        long count = shape.get(1);
        NDArray flat = checked.pixels().reshape(batch * count, shape.get(2), shape.get(3), shape.get(4));
        VisionOutput perTile = tiles.encode(new ImageInput(flat, null), allStates);
        NDArray projected = perTile.embeddings();
        long hidden = projected.getShape().get(2);
        int patches = config.vision().patchesPerSide();
        List<NDArray> images = new ArrayList<>();
        for (long b = 0; b < batch; b++) {
            NDArray own = projected.get(new NDIndex("{}:{}", b * count, (b + 1) * count));
            NDArray base = own.get(0);
            // tile (ty, tx) token (r, c) lands at [ty * patches + r][tx * patches + c]
            NDArray map = own.get(new NDIndex("1:")).reshape(g.tileRows(), g.tileColumns(), patches, patches, hidden)
                    .transpose(0, 2, 1, 3, 4).reshape((long) g.tileRows() * patches, (long) g.tileColumns() * patches, hidden);
            NDArray kept = map.get(new NDIndex("{}:{}, {}:{}", g.keptRowStart(), g.keptRowEnd(), g.keptColumnStart(), g.keptColumnEnd()));
            // the reshaped view belongs to the image's scope, not to the manager of the weights
            NDArray typed = Ops.like(newline, kept);
            NDArray row = typed.reshape(1, 1, hidden);
            row.attach(kept.getManager());
            Ops.release(typed, newline);
            NDArray newlines = row.broadcast(new Shape(g.rows(), 1, hidden));
            NDArray rows = NDArrays.concat(new NDList(kept, newlines), 1).reshape(-1, hidden);
            images.add(NDArrays.concat(new NDList(base, rows), 0).expandDims(0));
        }
        NDArray packed = images.size() == 1 ? images.get(0) : NDArrays.concat(new NDList(images), 0);
        return new VisionOutput(perTile.hidden(), perTile.features(), projected, packed);
    }

    @Override
    public int imageTokens(long[] grid) {
        if (grid == null || grid.length != 2) {
            throw new HeadlensException("a LLaVA-NeXT prompt's image token count follows the image's size; pass the image "
                    + "(its image_sizes) when building the prompt's layout");
        }
        Geometry g = geometry(grid[0], grid[1]);
        int patches = config.vision().patchesPerSide();
        return patches * patches + g.rows() * (g.columns() + 1);
    }

    @Override
    public long[] visionSequences(long[] grid) {
        Geometry g = geometry(grid[0], grid[1]);
        return new long[] {1L + (long) g.tileRows() * g.tileColumns(), config.vision().tokens()};
    }

    @Override
    public long images(NDArray pixels) {
        return pixels.getShape().get(0);
    }

    @Override
    public long[][] positionIds(int length, int imageStart, int imageLength, long[] grid) {
        return new long[][] {LongStream.range(0, length).toArray()};
    }

    @Override
    public boolean[] objectTokens(boolean[][] mask, long[] grid, double threshold) {
        int tokens = imageTokens(grid);
        long height = grid[0];
        long width = grid[1];
        if (mask.length != height || mask[0].length != width) {
            throw new HeadlensException("object mask is " + mask[0].length + "x" + mask.length + " but the image is "
                    + width + "x" + height);
        }
        Geometry g = geometry(height, width);
        int patches = config.vision().patchesPerSide();
        boolean[] out = new boolean[tokens];
        // the base image is the whole image squeezed to one tile
        boolean[] base = PatchMasks.grid(mask, patches, patches, threshold);
        System.arraycopy(base, 0, out, 0, base.length);
        // a feature cell is one patch of the padded canvas; map its pixels back to the original
        int patch = config.vision().patchSize();
        int padTop = (g.bestHeight() - g.resizedHeight()) / 2;
        int padLeft = (g.bestWidth() - g.resizedWidth()) / 2;
        int at = base.length;
        for (int r = g.keptRowStart(); r < g.keptRowEnd(); r++) {
            for (int c = g.keptColumnStart(); c < g.keptColumnEnd(); c++) {
                long y0 = Math.floorDiv((long) (r * patch - padTop) * height, g.resizedHeight());
                long y1 = Math.floorDiv((long) ((r + 1) * patch - padTop) * height, g.resizedHeight());
                long x0 = Math.floorDiv((long) (c * patch - padLeft) * width, g.resizedWidth());
                long x1 = Math.floorDiv((long) ((c + 1) * patch - padLeft) * width, g.resizedWidth());
                // a cell partly on padding counts only its image pixels, against its whole area
                out[at++] = PatchMasks.covered(mask, y0, y1, x0, x1, threshold);
            }
            out[at++] = false; // image_newline shows no pixel
        }
        return out;
    }

    @Override
    public List<TokenGrid> tokenGrids(long[] grid) {
        imageTokens(grid);
        Geometry g = geometry(grid[0], grid[1]);
        int patches = config.vision().patchesPerSide();
        // each kept row of the tile map is followed by its image_newline token
        return List.of(TokenGrid.of("base", patches, patches, 0, patches),
                TokenGrid.of("tiles", g.rows(), g.columns(), patches * patches, g.columns() + 1));
    }

    @Override
    public String assistantRole() {
        return config.text().modelType().equals("mistral") ? "[/INST]" : "ASSISTANT:";
    }
}
