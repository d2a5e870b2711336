package org.headlens.model;

import java.awt.image.BufferedImage;
import java.awt.image.SampleModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import org.headlens.HeadlensException;

/**
 * Reading image files safely: the size is checked from the header before pixels are decoded,
 * against {@link ImageProcessor#MAX_PIXELS} in total and {@link #MAX_SIDE} along each side.
 */
public final class Images {
    /**
     * The longest side an image may have, also when it is under the pixel cap: the largest side
     * a JPEG can have. Decoders compute row sizes in ints (a 16-bit RGBA row of 40,000,000
     * pixels overflows), and resizing a 40,000,000 x 1 image makes it billions of pixels wide.
     */
    public static final int MAX_SIDE = 65_535;

    private Images() {
    }

    /** What to do with a reader whose header has been checked. */
    private interface Step<T> {
        T apply(ImageReader reader, int width, int height) throws IOException;
    }

    /**
     * Decodes an image file.
     *
     * @param file the image
     * @return the decoded image
     * @throws HeadlensException if the file is missing, not an image, corrupt, or too large
     */
    public static BufferedImage read(Path file) {
        return open(file, (reader, width, height) -> reader.read(0));
    }

    /**
     * The size of an image from its header alone, checked as {@link #read} checks it.
     *
     * @param file the image
     * @return width and height
     * @throws HeadlensException if the file is missing, not an image, or too large
     */
    public static int[] size(Path file) {
        return open(file, (reader, width, height) -> new int[] {width, height});
    }

    /**
     * Why a single-band grey image of more than 8 bits (16-bit PNG or TIFF) is not a model input:
     * PIL opens it as 32-bit integers and {@code convert("RGB")}, which transformers' processors
     * call, clips those to 0..255 instead of scaling them (Pillow 9.4 turns a mid-grey 16-bit
     * image white), so any 8-bit reading of it would differ from a Python run.
     */
    static final String DEEP_GREY = "is a grey image of more than 8 bits per pixel, which transformers' image processors (PIL's "
            + "convert(\"RGB\")) clip instead of scaling, mostly to white; save it with 8 bits per pixel first";

    /**
     * The size of an image the model will see, checked as {@link #size} checks it; a grey image
     * of more than 8 bits per pixel is refused ({@link #DEEP_GREY}). Masks are read by
     * {@link #size}, which takes any depth.
     *
     * @param file the image
     * @return width and height
     * @throws HeadlensException if the file is missing, not an image, too large, or deep grey
     */
    public static int[] inputSize(Path file) {
        return open(file, (reader, width, height) -> {
            requireInputDepth(file, reader);
            return new int[] {width, height};
        });
    }

    /**
     * Decodes an image the model will see, checked as {@link #inputSize} checks it.
     *
     * @param file the image
     * @return the decoded image
     * @throws HeadlensException if the file is missing, not an image, corrupt, too large, or deep grey
     */
    public static BufferedImage readInput(Path file) {
        return open(file, (reader, width, height) -> {
            requireInputDepth(file, reader);
            return reader.read(0);
        });
    }

    private static void requireInputDepth(Path file, ImageReader reader) throws IOException {
        ImageTypeSpecifier type = reader.getRawImageType(0);
        if (type != null && isDeepGrey(type.getColorModel(), type.getSampleModel())) {
            throw new HeadlensException(file + ": " + DEEP_GREY);
        }
    }

    /** @return whether this is one band of grey, wider than 8 bits */
    static boolean isDeepGrey(java.awt.image.ColorModel colors, SampleModel samples) {
        return colors.getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && !(colors instanceof java.awt.image.IndexColorModel) && samples.getNumBands() == 1 && samples.getSampleSize(0) > 8;
    }

    private static <T> T open(Path file, Step<T> step) {
        if (!Files.isRegularFile(file)) {
            throw new HeadlensException(file + ": image file not found");
        }
        try (InputStream in = Files.newInputStream(file); ImageInputStream stream = ImageIO.createImageInputStream(in)) {
            Iterator<ImageReader> readers = stream == null ? null : ImageIO.getImageReaders(stream);
            if (readers == null || !readers.hasNext()) {
                throw new HeadlensException(file + ": not an image format headlens can read (PNG, JPEG, BMP, GIF, TIFF; convert WebP, "
                        + "HEIC or AVIF to PNG first)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(stream, true, true);
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                checkSize(file, width, height, reader);
                return step.apply(reader, width, height);
            } finally {
                reader.dispose();
            }
        } catch (HeadlensException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // a decoder fails on a corrupt file in its own way, all of them the file's fault
            String reason = e.getMessage() == null ? "the decoder failed" : e.getMessage();
            throw new HeadlensException(file + ": cannot decode image (" + reason + ")", e);
        }
    }

    /** Refuses, from the header alone, sizes whose decoding would be too large or overflow an int. */
    private static void checkSize(Path file, int width, int height, ImageReader reader) throws IOException {
        String size = width + "x" + height;
        if (width <= 0 || height <= 0) {
            throw new HeadlensException(file + ": image is " + size + " and has no pixels");
        }
        if (width > MAX_SIDE || height > MAX_SIDE) {
            throw new HeadlensException(file + ": image is " + size + ", a side longer than " + MAX_SIDE
                    + " pixels; crop or downscale it first");
        }
        long pixels = (long) width * height;
        if (pixels > ImageProcessor.MAX_PIXELS) {
            throw new HeadlensException(file + ": image is " + size + ", more than " + ImageProcessor.MAX_PIXELS
                    + " pixels; downscale it first");
        }
        // the decoded raster is one Java array: its samples (bands x bytes) must fit an int index
        ImageTypeSpecifier type = reader.getRawImageType(0);
        if (type != null) {
            SampleModel model = type.getSampleModel(1, 1);
            long bytesPerPixel = 0;
            for (int band = 0; band < model.getNumBands(); band++) {
                bytesPerPixel += (model.getSampleSize(band) + 7) / 8;
            }
            if (pixels * Math.max(bytesPerPixel, 1) > Integer.MAX_VALUE - 8) {
                throw new HeadlensException(file + ": image is " + size + " with " + bytesPerPixel
                        + " bytes per pixel, too large to decode into one buffer; downscale it first");
            }
        }
    }
}
