package org.headlens.model;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.headlens.HeadlensException;

/** Reading image files safely: the size is checked from the header before pixels are decoded. */
public final class Images {
    private Images() {
    }

    /**
     * Decodes an image file.
     *
     * @param file the image
     * @return the decoded image
     * @throws HeadlensException if the file is missing, not an image, corrupt, or too large
     */
    public static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new HeadlensException(file + ": image file not found");
        }
        try (InputStream in = Files.newInputStream(file); ImageInputStream stream = ImageIO.createImageInputStream(in)) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(stream);
            if (stream == null || !readers.hasNext()) {
                throw new HeadlensException(file + ": not an image format headlens can read (PNG, JPEG, BMP, GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(stream, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > ImageProcessor.MAX_PIXELS) {
                    throw new HeadlensException(file + ": image is " + reader.getWidth(0) + "x" + reader.getHeight(0)
                            + ", more than " + ImageProcessor.MAX_PIXELS + " pixels; downscale it first");
                }
                if (pixels == 0) {
                    throw new HeadlensException(file + ": image has no pixels");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (HeadlensException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new HeadlensException(file + ": cannot decode image (" + e.getMessage() + ")", e);
        }
    }
}
