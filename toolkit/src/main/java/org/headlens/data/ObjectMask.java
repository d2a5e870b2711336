package org.headlens.data;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.headlens.HeadlensException;
import org.headlens.model.Images;

/**
 * Where a sample's object mask comes from: a mask image next to the picture, or shapes stored
 * in the dataset's annotations (COCO polygons and run-length encodings). Masks are produced only
 * when asked for, so a dataset of thousands of images holds no pixels until flow needs them.
 */
public interface ObjectMask {
    /**
     * @param image the sample's image (named in errors)
     * @param width the image's width
     * @param height the image's height
     * @return [row][column], true on the object
     * @throws HeadlensException if the mask does not fit the image
     */
    boolean[][] read(Path image, int width, int height);

    /**
     * A mask image: white (or any value above 127 in the low byte) is the object. It must have
     * its image's size, since a resampled mask marks the wrong patches as object.
     *
     * @param file the mask image
     * @return the mask
     */
    static ObjectMask file(Path file) {
        return new MaskFile(file);
    }

    /** A mask stored as an image file. */
    record MaskFile(Path file) implements ObjectMask {
        @Override
        public boolean[][] read(Path image, int width, int height) {
            int[] maskSize = Images.size(file);
            if (maskSize[0] != width || maskSize[1] != height) {
                throw new HeadlensException(file + ": mask is " + maskSize[0] + "x" + maskSize[1] + " but its image " + image + " is "
                        + width + "x" + height + "; a mask must have its image's size");
            }
            BufferedImage m = Images.read(file);
            boolean[][] out = new boolean[height][width];
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    out[y][x] = (m.getRGB(x, y) & 0xff) > 127;
                }
            }
            return out;
        }
    }
}
