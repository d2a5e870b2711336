package org.headlens.data;

import java.awt.image.BufferedImage;

/**
 * One image of the synthetic main-object dataset and its labels.
 *
 * @param id stable identifier, e.g. {@code eval-0042}
 * @param image the RGB image
 * @param mask per pixel [row][column], whether it belongs to the main object
 * @param shape the object's class (the answer)
 * @param style how the object is drawn (does not change what it is)
 * @param colour the object's colour name
 * @param background background kind
 * @param box bounding box of the object mask: x, y, width, height in pixels
 */
public record ShapeSample(String id, BufferedImage image, boolean[][] mask, String shape, String style, String colour,
        String background, int[] box) {
}
