package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.HeadlensException;

/**
 * Turns an image into the pixel values the vision tower expects, following
 * {@code preprocessor_config.json}: convert to RGB, resize (the shortest edge, or to a fixed
 * height and width), centre-crop, rescale, normalise.
 *
 * <p>Resizing reimplements PIL's separable resampling (bicubic with a = -0.5, or bilinear, with
 * the filter widened when shrinking, and 8-bit rounding after each pass) so that pixel values
 * match the Python processors to within one 8-bit step.
 *
 * @param shortestEdge target of the shorter side, or 0 when {@code height}/{@code width} apply
 * @param height resize height when {@code shortestEdge} is 0
 * @param width resize width when {@code shortestEdge} is 0
 * @param resample PIL filter id: 2 bilinear, 3 bicubic
 * @param cropHeight centre-crop height, 0 for none
 * @param cropWidth centre-crop width, 0 for none
 * @param rescaleFactor multiplier applied to 8-bit values
 * @param mean per-channel mean subtracted after rescaling
 * @param std per-channel standard deviation divided by
 */
public record ImageProcessor(int shortestEdge, int height, int width, int resample, int cropHeight, int cropWidth,
        double rescaleFactor, double[] mean, double[] std) {

    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};
    /**
     * Pixels above this are refused before decoding work is done on them: decoding and
     * preprocessing take about 16 bytes per pixel, so 40 million pixels stay under 1 GB of heap.
     */
    public static final long MAX_PIXELS = 40_000_000L;

    /**
     * The processor of a model folder, or the vision tower's conventional one when the folder
     * has no {@code preprocessor_config.json}.
     *
     * @param folder model folder
     * @param vision vision tower config
     * @return the processor
     */
    public static ImageProcessor read(Path folder, ModelConfig.VisionConfig vision) {
        Path file = folder.resolve("preprocessor_config.json");
        int side = vision.imageSize();
        if (!Files.isRegularFile(file)) {
            return vision.isClip()
                    ? new ImageProcessor(side, 0, 0, 3, side, side, 1 / 255.0, CLIP_MEAN, CLIP_STD)
                    : new ImageProcessor(0, side, side, 2, 0, 0, 1 / 255.0, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});
        }
        try {
            JsonObject json = JsonFiles.readObject(file, JsonFiles.MAX_CONFIG_BYTES);
            int shortest = 0;
            int h = side;
            int w = side;
            if (!json.has("do_resize") || json.get("do_resize").getAsBoolean()) {
                JsonElement size = json.get("size");
                if (size != null && size.isJsonObject() && size.getAsJsonObject().has("shortest_edge")) {
                    shortest = size.getAsJsonObject().get("shortest_edge").getAsInt();
                } else if (size != null && size.isJsonObject()) {
                    h = size.getAsJsonObject().get("height").getAsInt();
                    w = size.getAsJsonObject().get("width").getAsInt();
                } else if (size != null && size.isJsonPrimitive()) {
                    shortest = size.getAsInt();
                }
            }
            int cropH = 0;
            int cropW = 0;
            if (json.has("do_center_crop") && json.get("do_center_crop").getAsBoolean()) {
                JsonElement crop = json.get("crop_size");
                if (crop.isJsonObject()) {
                    cropH = crop.getAsJsonObject().get("height").getAsInt();
                    cropW = crop.getAsJsonObject().get("width").getAsInt();
                } else {
                    cropH = crop.getAsInt();
                    cropW = cropH;
                }
            }
            double rescale = !json.has("do_rescale") || json.get("do_rescale").getAsBoolean()
                    ? (json.has("rescale_factor") ? json.get("rescale_factor").getAsDouble() : 1 / 255.0) : 1.0;
            boolean normalize = !json.has("do_normalize") || json.get("do_normalize").getAsBoolean();
            double[] mean = normalize ? triple(json, "image_mean", vision.isClip() ? CLIP_MEAN : new double[] {0.5, 0.5, 0.5}) : new double[] {0, 0, 0};
            double[] std = normalize ? triple(json, "image_std", vision.isClip() ? CLIP_STD : new double[] {0.5, 0.5, 0.5}) : new double[] {1, 1, 1};
            int resample = json.has("resample") ? json.get("resample").getAsInt() : 3;
            ImageProcessor processor = new ImageProcessor(shortest, h, w, resample, cropH, cropW, rescale, mean, std);
            int outH = cropH > 0 ? cropH : h;
            int outW = cropW > 0 ? cropW : w;
            if (shortest > 0 && cropH == 0) {
                outH = shortest;
                outW = shortest;
            }
            if (outH != side || outW != side) {
                throw new HeadlensException(file + ": produces " + outH + "x" + outW
                        + " images but vision_config.image_size is " + side);
            }
            return processor;
        } catch (HeadlensException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new HeadlensException(file + ": not a valid image processor config (" + e.getMessage() + ")");
        }
    }

    /**
     * Writes this processor as {@code preprocessor_config.json}, so that a model trained here is
     * read back with exactly the preprocessing it was trained with.
     *
     * @param folder model folder
     */
    public void write(Path folder) {
        JsonObject json = new JsonObject();
        json.addProperty("image_processor_type", "CLIPImageProcessor");
        json.addProperty("do_resize", true);
        JsonObject size = new JsonObject();
        if (shortestEdge > 0) {
            size.addProperty("shortest_edge", shortestEdge);
        } else {
            size.addProperty("height", height);
            size.addProperty("width", width);
        }
        json.add("size", size);
        json.addProperty("resample", resample);
        json.addProperty("do_center_crop", cropHeight > 0);
        if (cropHeight > 0) {
            JsonObject crop = new JsonObject();
            crop.addProperty("height", cropHeight);
            crop.addProperty("width", cropWidth);
            json.add("crop_size", crop);
        }
        json.addProperty("do_rescale", true);
        json.addProperty("rescale_factor", rescaleFactor);
        json.addProperty("do_normalize", true);
        json.add("image_mean", new Gson().toJsonTree(mean));
        json.add("image_std", new Gson().toJsonTree(std));
        Path file = folder.resolve("preprocessor_config.json");
        try {
            Files.createDirectories(folder);
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(json) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    private static double[] triple(JsonObject json, String key, double[] fallback) {
        if (!json.has(key)) {
            return fallback;
        }
        var array = json.getAsJsonArray(key);
        if (array.size() != 3) {
            throw new IllegalArgumentException(key + " must have 3 entries");
        }
        return new double[] {array.get(0).getAsDouble(), array.get(1).getAsDouble(), array.get(2).getAsDouble()};
    }

    /**
     * Preprocesses one image.
     *
     * @param manager owner of the result
     * @param image any decoded image (grey, RGBA, indexed ... are converted to RGB)
     * @return pixel values (1, 3, H, W) in float32
     */
    public NDArray pixelValues(NDManager manager, BufferedImage image) {
        int[][] rgb = toRgb(image);
        int[] target = resizedSize(image.getWidth(), image.getHeight());
        for (int c = 0; c < 3; c++) {
            rgb[c] = resize(rgb[c], image.getWidth(), image.getHeight(), target[0], target[1]);
        }
        int w = target[0];
        int h = target[1];
        int outW = cropWidth > 0 ? cropWidth : w;
        int outH = cropHeight > 0 ? cropHeight : h;
        int top = (h - outH) / 2;
        int left = (w - outW) / 2;
        float[] pixels = new float[3 * outH * outW];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < outH; y++) {
                for (int x = 0; x < outW; x++) {
                    int sy = y + top;
                    int sx = x + left;
                    int value = sy >= 0 && sy < h && sx >= 0 && sx < w ? rgb[c][sy * w + sx] : 0;
                    pixels[(c * outH + y) * outW + x] = (float) ((value * rescaleFactor - mean[c]) / std[c]);
                }
            }
        }
        return manager.create(pixels, new Shape(1, 3, outH, outW));
    }

    /**
     * Reads and preprocesses an image file.
     *
     * @param manager owner of the result
     * @param file PNG, JPEG, BMP or GIF
     * @return pixel values (1, 3, H, W)
     */
    public NDArray pixelValues(NDManager manager, Path file) {
        return pixelValues(manager, Images.read(file));
    }

    /**
     * Maps a per-pixel mask of the original image onto the preprocessed image: resized with the
     * same filter as the pixels (a pixel stays set when at least half of it is), then cropped.
     *
     * @param mask [row][column] pixels of the original image
     * @return [row][column] pixels of the model's input image
     */
    public boolean[][] mask(boolean[][] mask) {
        int h = mask.length;
        int w = h == 0 ? 0 : mask[0].length;
        if (w == 0) {
            throw new HeadlensException("object mask is empty");
        }
        int[] channel = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                channel[y * w + x] = mask[y][x] ? 255 : 0;
            }
        }
        int[] target = resizedSize(w, h);
        int[] resized = resize(channel, w, h, target[0], target[1]);
        int outW = cropWidth > 0 ? cropWidth : target[0];
        int outH = cropHeight > 0 ? cropHeight : target[1];
        int top = (target[1] - outH) / 2;
        int left = (target[0] - outW) / 2;
        boolean[][] out = new boolean[outH][outW];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                int sy = y + top;
                int sx = x + left;
                out[y][x] = sy >= 0 && sy < target[1] && sx >= 0 && sx < target[0] && resized[sy * target[0] + sx] >= 128;
            }
        }
        return out;
    }

    /** @return width and height after resizing, before cropping */
    private int[] resizedSize(int w, int h) {
        if (shortestEdge == 0) {
            return new int[] {width, height};
        }
        // transformers' get_resize_output_image_size: short side to the target, long side floored
        return w <= h ? new int[] {shortestEdge, (int) ((long) shortestEdge * h / w)}
                : new int[] {(int) ((long) shortestEdge * w / h), shortestEdge};
    }

    private static int[][] toRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[][] rgb = new int[3][w * h];
        java.awt.image.Raster raster = image.getRaster();
        // grey and CMYK samples may be wider than 8 bits (16-bit PNG, TIFF)
        double max = (1L << raster.getSampleModel().getSampleSize(0)) - 1;
        boolean grey = image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && !(image.getColorModel() instanceof java.awt.image.IndexColorModel);
        if (grey) {
            // Java's grey colour space is linear, so getRGB would brighten grey images (16-bit ones
            // visibly); PIL keeps the stored grey level, scaled to 8 bits
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int value = eightBit(raster.getSample(x, y, 0), max);
                    rgb[0][y * w + x] = value;
                    rgb[1][y * w + x] = value;
                    rgb[2][y * w + x] = value;
                }
            }
            return rgb;
        }
        if (image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_CMYK && raster.getNumBands() == 4) {
            // Java converts CMYK through a colour profile; PIL's convert("RGB") uses the naive
            // (255 - c)(255 - k) / 255, and the reference models were fed PIL's pixels
            int[] cmyk = new int[4];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, cmyk);
                    int notBlack = 255 - eightBit(cmyk[3], max);
                    for (int c = 0; c < 3; c++) {
                        // PIL's MULDIV255: ink * notBlack / 255, rounded, in integers
                        int product = eightBit(cmyk[c], max) * notBlack + 128;
                        rgb[c][y * w + x] = notBlack - (((product >> 8) + product) >> 8);
                    }
                }
            }
            return rgb;
        }
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < argb.length; i++) {
            // PIL's convert("RGB") drops alpha without compositing, and so does this
            int p = argb[i];
            rgb[0][i] = (p >> 16) & 0xff;
            rgb[1][i] = (p >> 8) & 0xff;
            rgb[2][i] = p & 0xff;
        }
        return rgb;
    }

    /** A sample of {@code max + 1} levels scaled to 0-255, as PIL stores wider samples. */
    private static int eightBit(int sample, double max) {
        return (int) Math.round(sample * 255.0 / max);
    }

    private int[] resize(int[] channel, int w, int h, int targetW, int targetH) {
        int[] horizontal = w == targetW ? channel : pass(channel, w, h, targetW, true);
        return h == targetH ? horizontal : pass(horizontal, targetW, h, targetH, false);
    }

    /** One separable PIL-style resampling pass with 8-bit rounding and clipping. */
    private int[] pass(int[] in, int w, int h, int target, boolean horizontal) {
        int inSize = horizontal ? w : h;
        double scale = (double) inSize / target;
        double filterScale = Math.max(scale, 1.0);
        double support = (resample == 2 ? 1.0 : 2.0) * filterScale;
        int other = horizontal ? h : w;
        int[] out = new int[horizontal ? target * h : w * target];
        for (int o = 0; o < target; o++) {
            double center = (o + 0.5) * scale;
            int lo = Math.max(0, (int) (center - support + 0.5));
            int hi = Math.min(inSize, (int) (center + support + 0.5));
            double[] weights = new double[hi - lo];
            double total = 0;
            for (int i = lo; i < hi; i++) {
                double wgt = kernel((i - center + 0.5) / filterScale);
                weights[i - lo] = wgt;
                total += wgt;
            }
            for (int k = 0; k < weights.length; k++) {
                weights[k] = total == 0 ? 0 : weights[k] / total;
            }
            for (int t = 0; t < other; t++) {
                double sum = 0;
                for (int i = lo; i < hi; i++) {
                    int index = horizontal ? t * w + i : i * w + t;
                    sum += weights[i - lo] * in[index];
                }
                int value = (int) Math.max(0, Math.min(255, Math.floor(sum + 0.5)));
                out[horizontal ? t * target + o : o * w + t] = value;
            }
        }
        return out;
    }

    private double kernel(double x) {
        double a = Math.abs(x);
        if (resample == 2) {
            return a < 1 ? 1 - a : 0;
        }
        final double coefficient = -0.5;
        if (a < 1) {
            return ((coefficient + 2) * a - (coefficient + 3)) * a * a + 1;
        }
        if (a < 2) {
            return (((a - 5) * a + 8) * a - 4) * coefficient;
        }
        return 0;
    }
}
