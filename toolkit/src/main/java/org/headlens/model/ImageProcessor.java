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
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.headlens.HeadlensException;
import org.headlens.Messages;

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
     * The same cap applies to every planned intermediate of preprocessing (each resize pass and
     * the crop), checked from the sizes before anything is allocated.
     */
    public static final long MAX_PIXELS = 40_000_000L;
    /**
     * Resize sizes in {@code preprocessor_config.json} may be at most this many times the
     * vision tower's {@code image_size}: processors resize to the tower's input or a little above
     * it before cropping (CLIP: 336 then 336, ImageNet style: 256 then 224), so a larger size is a
     * mistake, and {@code shortest_edge: 100000} would cost gigabytes per image.
     */
    public static final int MAX_SIZE_FACTOR = 4;
    /** The PIL filter numbers implemented here, with their names. */
    private static final Map<Integer, String> RESAMPLE = new TreeMap<>(Map.of(2, "bilinear", 3, "bicubic"));
    /** PIL's names of the filters that are not implemented, for messages. */
    private static final Map<Integer, String> PIL_FILTERS = Map.of(0, "nearest", 1, "lanczos", 4, "box", 5, "hamming");

    /**
     * Refuses processors that cannot produce sensible pixels, whether read from a file or built in
     * code: a zero or non-finite standard deviation, or a non-finite rescale, turns every pixel
     * into infinity or NaN; negative sizes would reach array allocation.
     */
    public ImageProcessor {
        String where = "image processor: ";
        if (mean == null || mean.length != 3 || std == null || std.length != 3) {
            throw new HeadlensException(where + "mean and std need 3 values, one per RGB channel");
        }
        mean = mean.clone();
        std = std.clone();
        for (int c = 0; c < 3; c++) {
            if (!Double.isFinite(mean[c]) || !Double.isFinite(std[c]) || std[c] <= 0) {
                throw new HeadlensException(where + "mean " + Arrays.toString(mean) + " and std " + Arrays.toString(std)
                        + " must be finite, and std positive");
            }
        }
        if (!Double.isFinite(rescaleFactor) || rescaleFactor <= 0) {
            throw new HeadlensException(where + "rescale factor " + rescaleFactor + " must be finite and positive");
        }
        if (!RESAMPLE.containsKey(resample)) {
            throw new HeadlensException(where + unsupportedResample(String.valueOf(resample)));
        }
        if (shortestEdge < 0 || (shortestEdge == 0 && (height <= 0 || width <= 0)) || cropHeight < 0 || cropWidth < 0
                || (cropHeight == 0) != (cropWidth == 0)) {
            throw new HeadlensException(where + "sizes must be positive: shortest edge " + shortestEdge + ", height " + height
                    + ", width " + width + ", crop " + cropHeight + "x" + cropWidth);
        }
    }

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
            return fromJson(file, json, vision);
        } catch (HeadlensException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new HeadlensException(file + ": not a valid image processor config (" + e.getMessage() + ")");
        }
    }

    /**
     * Reads the fields of a parsed {@code preprocessor_config.json}, each checked for its type and
     * range before use, and the output size against the tower's.
     */
    private static ImageProcessor fromJson(Path file, JsonObject json, ModelConfig.VisionConfig vision) {
        int side = vision.imageSize();
        Pixels shortest = null;
        Pixels h = new Pixels("vision_config.image_size", BigDecimal.valueOf(side), String.valueOf(side));
        Pixels w = h;
        JsonElement size = json.get("size");
        // without a size, images are resized straight to the tower's input
        if (flag(file, json, "do_resize", true) && size != null && !size.isJsonNull()) {
            if (size.isJsonObject() && size.getAsJsonObject().has("shortest_edge")) {
                shortest = pixels(file, size.getAsJsonObject().get("shortest_edge"), "size.shortest_edge");
            } else if (size.isJsonObject()) {
                h = pixels(file, required(file, size.getAsJsonObject(), "size", "height"), "size.height");
                w = pixels(file, required(file, size.getAsJsonObject(), "size", "width"), "size.width");
            } else {
                shortest = pixels(file, size, "size");
            }
        }
        Pixels cropH = null;
        Pixels cropW = null;
        if (flag(file, json, "do_center_crop", false)) {
            JsonElement crop = json.get("crop_size");
            if (crop == null || crop.isJsonNull()) {
                throw new HeadlensException(file + ": do_center_crop is true but crop_size is missing");
            } else if (crop.isJsonObject()) {
                cropH = pixels(file, required(file, crop.getAsJsonObject(), "crop_size", "height"), "crop_size.height");
                cropW = pixels(file, required(file, crop.getAsJsonObject(), "crop_size", "width"), "crop_size.width");
            } else {
                cropH = pixels(file, crop, "crop_size");
                cropW = cropH;
            }
        }
        if (shortest != null && cropH == null) {
            // resizing the shortest edge keeps the aspect ratio, so only a crop makes the input square
            throw new HeadlensException(file + ": " + shortest.field() + " " + shortest.shown() + " keeps each image's aspect ratio, so"
                    + " without do_center_crop the images are not the " + side + "x" + side + " that vision_config.image_size needs");
        }
        Pixels outH = cropH != null ? cropH : h;
        Pixels outW = cropW != null ? cropW : w;
        BigDecimal tower = BigDecimal.valueOf(side);
        if (outH.value().compareTo(tower) != 0 || outW.value().compareTo(tower) != 0) {
            throw new HeadlensException(file + ": produces " + outH.shown() + "x" + outW.shown() + " images but vision_config.image_size is "
                    + side);
        }
        // the output is the tower's size; what remains unbounded is the resize before the crop,
        // checked against a bound relative to the tower the images feed, before any work
        long bound = Math.min((long) MAX_SIZE_FACTOR * side, MAX_PIXELS);
        for (Pixels resize : shortest != null ? List.of(shortest) : List.of(h, w)) {
            if (resize.value().compareTo(BigDecimal.valueOf(bound)) > 0) {
                throw new HeadlensException(file + ": " + resize.field() + " is " + resize.shown() + ", more than " + bound + " ("
                        + MAX_SIZE_FACTOR + " x vision_config.image_size " + side + "); such a size is a mistake and would need"
                        + " gigabytes per image");
            }
        }
        double rescale = 1.0;
        if (flag(file, json, "do_rescale", true)) {
            rescale = json.has("rescale_factor") ? finite(file, json.get("rescale_factor"), "rescale_factor") : 1 / 255.0;
            if (rescale <= 0) {
                throw new HeadlensException(file + ": rescale_factor is " + rescale + "; it must be positive (8-bit values are multiplied by it)");
            }
        }
        boolean normalize = flag(file, json, "do_normalize", true);
        double[] mean = normalize ? channels(file, json, "image_mean", vision.isClip() ? CLIP_MEAN : new double[] {0.5, 0.5, 0.5})
                : new double[] {0, 0, 0};
        double[] std = normalize ? channels(file, json, "image_std", vision.isClip() ? CLIP_STD : new double[] {0.5, 0.5, 0.5})
                : new double[] {1, 1, 1};
        for (int c = 0; c < 3 && normalize; c++) {
            if (std[c] <= 0) {
                throw new HeadlensException(file + ": image_std[" + c + "] is " + std[c] + "; it must be positive (pixels are divided by it)");
            }
        }
        int resample = 3;
        if (json.has("resample") && !json.get("resample").isJsonNull()) {
            JsonElement code = json.get("resample");
            BigDecimal number = exactNumber(code).orElse(null);
            // compared exactly: 4294967298 must not wrap round to 2
            resample = RESAMPLE.keySet().stream().filter(id -> number != null && BigDecimal.valueOf(id).compareTo(number) == 0)
                    .findFirst().orElseThrow(() -> new HeadlensException(file + ": resample " + unsupportedResample(show(code))));
        }
        return shortest != null
                ? new ImageProcessor(shortest.value().intValueExact(), 0, 0, resample, side, side, rescale, mean, std)
                : new ImageProcessor(0, h.value().intValueExact(), w.value().intValueExact(), resample, cropH == null ? 0 : side,
                        cropW == null ? 0 : side, rescale, mean, std);
    }

    private static String unsupportedResample(String code) {
        String name = "";
        try {
            name = PIL_FILTERS.containsKey(Integer.parseInt(code)) ? " (" + PIL_FILTERS.get(Integer.parseInt(code)) + ")" : "";
        } catch (NumberFormatException e) {
            // not a filter number at all: the value alone says so
        }
        StringBuilder supported = new StringBuilder();
        RESAMPLE.forEach((id, label) -> supported.append(supported.length() == 0 ? "" : ", ").append(id).append(" (").append(label).append(')'));
        return code + name + " is not a PIL filter headlens implements; supported: " + supported;
    }

    /** A JSON boolean, or the default when absent or null. */
    private static boolean flag(Path file, JsonObject json, String key, boolean fallback) {
        JsonElement value = json.get(key);
        if (value == null || value.isJsonNull()) {
            return fallback;
        }
        if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isBoolean()) {
            return value.getAsBoolean();
        }
        throw new HeadlensException(file + ": " + key + " must be true or false, not " + show(value));
    }

    private static JsonElement required(Path file, JsonObject object, String name, String key) {
        JsonElement value = object.get(key);
        if (value == null || value.isJsonNull()) {
            throw new HeadlensException(file + ": " + name + " has no " + key + " (it needs height and width, or shortest_edge)");
        }
        return value;
    }

    /**
     * A number as written in the file, exactly, so that 32.5 and 1e12 are seen as such rather than
     * cast to an int; trailing zeros stripped, so a whole number has a scale of at most 0 (it is
     * never expanded: 1e999999999 stays small).
     */
    private static Optional<BigDecimal> exactNumber(JsonElement value) {
        if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new BigDecimal(value.getAsString()).stripTrailingZeros());
        } catch (NumberFormatException | ArithmeticException e) {
            return Optional.empty();
        }
    }

    /**
     * A size read from the file: its field, its exact value (not yet an int), and that value as
     * the file writes it (100000 stripped of its zeros would print as 1E+5).
     */
    private record Pixels(String field, BigDecimal value, String shown) {
    }

    /** A size in pixels: a positive whole number, of any magnitude until it is bounded. */
    private static Pixels pixels(Path file, JsonElement value, String field) {
        BigDecimal number = exactNumber(value).orElseThrow(() ->
                new HeadlensException(file + ": " + field + " must be a whole number of pixels, not " + show(value)));
        if (number.scale() > 0) {
            throw new HeadlensException(file + ": " + field + " must be a whole number of pixels, not " + show(value));
        }
        if (number.signum() <= 0) {
            throw new HeadlensException(file + ": " + field + " is " + show(value) + "; it must be positive");
        }
        return new Pixels(field, number, show(value));
    }

    /** A finite number (lenient JSON lets NaN and Infinity through as words, and 1e999 overflows). */
    private static double finite(Path file, JsonElement value, String field) {
        if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()) {
            double number = value.getAsDouble();
            if (Double.isFinite(number)) {
                return number;
            }
        }
        throw new HeadlensException(file + ": " + field + " must be a finite number, not " + show(value));
    }

    /** Three per-channel values, or one for all channels as the Python processors accept. */
    private static double[] channels(Path file, JsonObject json, String key, double[] fallback) {
        JsonElement value = json.get(key);
        if (value == null || value.isJsonNull()) {
            return fallback;
        }
        if (value.isJsonPrimitive()) {
            double single = finite(file, value, key);
            return new double[] {single, single, single};
        }
        if (!value.isJsonArray() || value.getAsJsonArray().size() != 3) {
            throw new HeadlensException(file + ": " + key + " must be 3 numbers, one per RGB channel, not " + show(value));
        }
        double[] out = new double[3];
        for (int c = 0; c < 3; c++) {
            out[c] = finite(file, value.getAsJsonArray().get(c), key + "[" + c + "]");
        }
        return out;
    }

    /** A JSON value as a message shows it: short, one line. */
    private static String show(JsonElement value) {
        String text = value.toString();
        return value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber() && text.length() <= 40 ? text : Messages.quote(text);
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
        // AutoProcessor reads the processor's class from here (as llava-hf's folders have it)
        json.addProperty("processor_class", "LlavaProcessor");
        Path file = folder.resolve("preprocessor_config.json");
        try {
            Files.createDirectories(folder);
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(json) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Preprocesses one image.
     *
     * @param manager owner of the result
     * @param image any decoded image (grey, RGBA, indexed ... are converted to RGB)
     * @return pixel values (1, 3, H, W) in float32
     * @throws HeadlensException if preprocessing would need more than {@link #MAX_PIXELS} pixels
     *         at some step (an extreme aspect ratio), checked before any work
     */
    public NDArray pixelValues(NDManager manager, BufferedImage image) {
        int[] target = plan(image.getWidth(), image.getHeight(), "image");
        int[][] rgb = toRgb(image);
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
     * Reads and preprocesses an image file; its size is checked from the header against the
     * limits of {@link Images#read} and of this processor before it is decoded.
     *
     * @param manager owner of the result
     * @param file PNG, JPEG, BMP or GIF
     * @return pixel values (1, 3, H, W)
     */
    public NDArray pixelValues(NDManager manager, Path file) {
        int[] size = Images.inputSize(file);
        try {
            plan(size[0], size[1], "image");
        } catch (HeadlensException e) {
            throw new HeadlensException(file + ": " + e.getMessage(), e);
        }
        return pixelValues(manager, Images.read(file)); // its depth was checked with its size
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
        for (boolean[] row : mask) {
            if (row.length != w) {
                throw new HeadlensException("object mask rows differ in length (" + w + " and " + row.length + ")");
            }
        }
        int[] target = plan(w, h, "object mask");
        int[] channel = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                channel[y * w + x] = mask[y][x] ? 255 : 0;
            }
        }
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

    /**
     * The size after resizing, checked before any work: the input, each resize pass (horizontal
     * first, at the input's height) and the crop must stay within {@link #MAX_PIXELS}. A
     * 40,000,000 x 1 image resized to a shortest edge of 336 would be 13 billion pixels wide.
     *
     * @param w input width
     * @param h input height
     * @param what "image" or "object mask", for the message
     * @return width and height after resizing, before cropping
     */
    private int[] plan(int w, int h, String what) {
        if (w <= 0 || h <= 0) {
            throw new HeadlensException(what + " is " + w + "x" + h + " pixels; it needs at least one");
        }
        long targetW;
        long targetH;
        if (shortestEdge == 0) {
            targetW = width;
            targetH = height;
        } else if (w <= h) {
            // transformers' get_resize_output_image_size: short side to the target, long side floored
            targetW = shortestEdge;
            targetH = (long) shortestEdge * h / w;
        } else {
            targetW = (long) shortestEdge * w / h;
            targetH = shortestEdge;
        }
        long outW = cropWidth > 0 ? cropWidth : targetW;
        long outH = cropHeight > 0 ? cropHeight : targetH;
        long largest = Math.max(Math.max((long) w * h, targetW * h), Math.max(targetW * targetH, outW * outH));
        if (largest > MAX_PIXELS || targetW < 1 || targetH < 1) {
            throw new HeadlensException(what + " of " + w + "x" + h + " pixels would be resized to " + targetW + "x" + targetH
                    + " and cropped to " + outW + "x" + outH + ", more than " + MAX_PIXELS
                    + " pixels at some step; crop it closer to the model's square input first");
        }
        return new int[] {(int) targetW, (int) targetH};
    }

    /**
     * Converts an image to RGB and resizes it with this processor's filter, without cropping or
     * normalising: the 8-bit channels a PIL resize gives (LLaVA-NeXT's tiles are cut from them).
     *
     * @param image the image
     * @param width target width
     * @param height target height
     * @return [channel][y * width + x] 8-bit values
     */
    int[][] resizedRgb(BufferedImage image, int width, int height) {
        long largest = Math.max((long) image.getWidth() * image.getHeight(), Math.max((long) width * image.getHeight(), (long) width * height));
        if (width < 1 || height < 1 || largest > MAX_PIXELS) {
            throw new HeadlensException("image of " + image.getWidth() + "x" + image.getHeight() + " pixels cannot be resized to "
                    + width + "x" + height + " (more than " + MAX_PIXELS + " pixels at some step)");
        }
        int[][] rgb = toRgb(image);
        for (int c = 0; c < 3; c++) {
            rgb[c] = resize(rgb[c], image.getWidth(), image.getHeight(), width, height);
        }
        return rgb;
    }

    private static int[][] toRgb(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[][] rgb = new int[3][w * h];
        java.awt.image.Raster raster = image.getRaster();
        // grey and CMYK samples may be wider than 8 bits (16-bit PNG, TIFF)
        int bits = raster.getSampleModel().getSampleSize(0);
        double max = (1L << bits) - 1;
        if (Images.isDeepGrey(image.getColorModel(), raster.getSampleModel())) {
            throw new HeadlensException("the image " + Images.DEEP_GREY);
        }
        boolean grey = image.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && !(image.getColorModel() instanceof java.awt.image.IndexColorModel);
        // PIL reads 16-bit colour (and grey with alpha) PNGs as their high bytes
        boolean highByte = bits > 8 && raster.getNumBands() >= 2
                && image.getColorModel().getColorSpace().getType() != java.awt.color.ColorSpace.TYPE_CMYK;
        if (grey || highByte) {
            // Java's grey colour space is linear, so getRGB would brighten grey images; PIL keeps
            // the stored grey level (1, 2 and 4 bits scaled to 8)
            int bands = grey ? 1 : 3;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int sample = raster.getSample(x, y, Math.min(c, bands - 1));
                        rgb[c][y * w + x] = highByte ? sample >> (bits - 8) : eightBit(sample, max);
                    }
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
