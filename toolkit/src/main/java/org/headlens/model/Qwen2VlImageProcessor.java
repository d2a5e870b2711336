package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.awt.image.BufferedImage;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.HeadlensException;

/**
 * Qwen2-VL's image processor ({@code Qwen2VLImageProcessor}, transformers 4.45): resize to a
 * multiple of {@code patch x merge} within the pixel budget ({@link #smartResize}), rescale and
 * normalise like CLIP, repeat the image {@code temporal_patch_size} times in time, and flatten
 * it into one row per patch, ordered so that every {@code merge^2} consecutive rows are one
 * merge window and windows run row-major.
 *
 * @param minPixels smallest resized area
 * @param maxPixels largest resized area
 * @param patchSize patch side
 * @param temporalPatchSize frames per patch
 * @param mergeSize patches merged per side
 * @param resample PIL filter id (3 bicubic)
 * @param rescaleFactor multiplier applied to 8-bit values
 * @param mean per-channel mean
 * @param std per-channel standard deviation
 */
public record Qwen2VlImageProcessor(long minPixels, long maxPixels, int patchSize, int temporalPatchSize, int mergeSize,
        int resample, double rescaleFactor, double[] mean, double[] std) {

    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    /**
     * Reads {@code preprocessor_config.json}, or the Qwen2-VL defaults when the folder has none.
     *
     * @param folder model folder
     * @param vision the vision config (patch, temporal patch and merge sizes when the file omits them)
     * @return the processor
     */
    public static Qwen2VlImageProcessor read(Path folder, ModelConfig.VisionConfig vision) {
        Path file = folder.resolve("preprocessor_config.json");
        long minPixels = 56L * 56;
        long maxPixels = 28L * 28 * 1280;
        int patch = vision.patchSize();
        int temporal = vision.temporalPatchSize();
        int merge = vision.spatialMergeSize();
        int resample = 3;
        double rescale = 1 / 255.0;
        double[] mean = CLIP_MEAN;
        double[] std = CLIP_STD;
        if (Files.isRegularFile(file)) {
            JsonObject json = JsonFiles.readObject(file, JsonFiles.MAX_CONFIG_BYTES);
            JsonObject size = json.has("size") && json.get("size").isJsonObject() ? json.getAsJsonObject("size") : new JsonObject();
            minPixels = whole(file, json, size, "min_pixels", minPixels);
            maxPixels = whole(file, json, size, "max_pixels", maxPixels);
            patch = (int) whole(file, json, null, "patch_size", patch);
            temporal = (int) whole(file, json, null, "temporal_patch_size", temporal);
            merge = (int) whole(file, json, null, "merge_size", merge);
            resample = (int) whole(file, json, null, "resample", resample);
            if (json.has("rescale_factor")) {
                rescale = json.get("rescale_factor").getAsDouble();
            }
            mean = channels(file, json, "image_mean", mean);
            std = channels(file, json, "image_std", std);
            if (patch != vision.patchSize() || temporal != vision.temporalPatchSize() || merge != vision.spatialMergeSize()) {
                throw new HeadlensException(file + ": patch_size " + patch + ", temporal_patch_size " + temporal + " and merge_size "
                        + merge + " differ from config.json's vision_config (" + vision.patchSize() + ", "
                        + vision.temporalPatchSize() + ", " + vision.spatialMergeSize() + ")");
            }
            if (minPixels > maxPixels || maxPixels > ImageProcessor.MAX_PIXELS) {
                throw new HeadlensException(file + ": min_pixels " + minPixels + " and max_pixels " + maxPixels
                        + " must be ordered and at most " + ImageProcessor.MAX_PIXELS);
            }
        }
        // validates mean, std, rescale and resample once, as every image's resize does
        new ImageProcessor(0, 1, 1, resample, 0, 0, rescale, mean, std);
        return new Qwen2VlImageProcessor(minPixels, maxPixels, patch, temporal, merge, resample, rescale, mean, std);
    }

    private static long whole(Path file, JsonObject json, JsonObject inner, String key, long fallback) {
        // 4.45's smart_resize reads the processor's own attributes; size{} only repeats them
        JsonElement value = json.has(key) && !json.get(key).isJsonNull() ? json.get(key) : inner == null ? null : inner.get(key);
        if (value == null || value.isJsonNull()) {
            return fallback;
        }
        if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber() || value.getAsDouble() != Math.rint(value.getAsDouble())
                || value.getAsDouble() <= 0 || value.getAsDouble() > Integer.MAX_VALUE) {
            throw new HeadlensException(file + ": " + key + " is " + value + ", expected a positive integer");
        }
        return value.getAsLong();
    }

    private static double[] channels(Path file, JsonObject json, String key, double[] fallback) {
        if (!json.has(key) || json.get(key).isJsonNull()) {
            return fallback;
        }
        JsonElement value = json.get(key);
        if (!value.isJsonArray() || value.getAsJsonArray().size() != 3) {
            throw new HeadlensException(file + ": " + key + " is " + value + ", expected three numbers (R, G, B)");
        }
        double[] out = new double[3];
        for (int c = 0; c < 3; c++) {
            out[c] = value.getAsJsonArray().get(c).getAsDouble();
        }
        return out;
    }

    /**
     * The resized (height, width): each side rounded to a multiple of {@code patch x merge}
     * (Python's round, half to even), then scaled down (floor) or up (ceil) into the pixel budget.
     *
     * @param height original height
     * @param width original width
     * @return resized height and width
     */
    public int[] smartResize(int height, int width) {
        int factor = patchSize * mergeSize;
        if (height < factor || width < factor) {
            throw new HeadlensException("image is " + width + "x" + height + " pixels; Qwen2-VL needs both sides at least " + factor);
        }
        if ((double) Math.max(height, width) / Math.min(height, width) > 200) {
            throw new HeadlensException("image is " + width + "x" + height + " pixels; Qwen2-VL refuses aspect ratios above 200");
        }
        long h = roundHalfEven((double) height / factor) * factor;
        long w = roundHalfEven((double) width / factor) * factor;
        if (h * w > maxPixels) {
            double beta = Math.sqrt((double) height * width / maxPixels);
            h = (long) Math.floor(height / beta / factor) * factor;
            w = (long) Math.floor(width / beta / factor) * factor;
        } else if (h * w < minPixels) {
            double beta = Math.sqrt((double) minPixels / ((double) height * width));
            h = (long) Math.ceil(height * beta / factor) * factor;
            w = (long) Math.ceil(width * beta / factor) * factor;
        }
        return new int[] {(int) h, (int) w};
    }

    private static long roundHalfEven(double value) {
        return new BigDecimal(value).setScale(0, RoundingMode.HALF_EVEN).longValueExact();
    }

    /**
     * Preprocesses an image into patch rows and its grid.
     *
     * @param manager owner of the result
     * @param image the image
     * @return pixel values (patches, C x temporal x patch x patch) and grid (1, h, w) in patches
     */
    public ImageInput preprocess(NDManager manager, BufferedImage image) {
        int[] size = smartResize(image.getHeight(), image.getWidth());
        int h = size[0];
        int w = size[1];
        ImageProcessor resize = new ImageProcessor(0, h, w, resample, 0, 0, rescaleFactor, mean, std);
        float[] chw;
        try (NDManager scratch = manager.newSubManager()) {
            chw = resize.pixelValues(scratch, image).toFloatArray();
        }
        int gridH = h / patchSize;
        int gridW = w / patchSize;
        int rowLength = 3 * temporalPatchSize * patchSize * patchSize;
        float[] rows = new float[gridH * gridW * rowLength];
        int row = 0;
        for (int bh = 0; bh < gridH / mergeSize; bh++) {
            for (int bw = 0; bw < gridW / mergeSize; bw++) {
                for (int ih = 0; ih < mergeSize; ih++) {
                    for (int iw = 0; iw < mergeSize; iw++) {
                        int y0 = (bh * mergeSize + ih) * patchSize;
                        int x0 = (bw * mergeSize + iw) * patchSize;
                        int at = row * rowLength;
                        for (int c = 0; c < 3; c++) {
                            for (int frame = 0; frame < temporalPatchSize; frame++) {
                                for (int y = 0; y < patchSize; y++) {
                                    for (int x = 0; x < patchSize; x++) {
                                        rows[at++] = chw[(c * h + y0 + y) * w + x0 + x];
                                    }
                                }
                            }
                        }
                        row++;
                    }
                }
            }
        }
        NDArray pixels = manager.create(rows, new Shape((long) gridH * gridW, rowLength));
        return new ImageInput(pixels, new long[] {1, gridH, gridW});
    }
}
