package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.headlens.HeadlensException;

/**
 * What an ablated head sees at image positions instead of the real image's keys and values: the
 * one vocabulary of baselines, for the engine, the options of an attribution and the command line.
 */
public sealed interface Baseline {
    /**
     * The keys/values of another image: the same prompt prefix run on these pixel values.
     *
     * @param pixelValues (1, 3, H, W) preprocessed image
     */
    record Image(NDArray pixelValues) implements Baseline {
        @Override
        public String label() {
            return "image";
        }
    }

    /** A uniform image of the processor's mean colour (all-zero pixel values after normalising): the default. */
    record Blank() implements Baseline {
        @Override
        public String label() {
            return "blank";
        }
    }

    /**
     * The pixel-wise mean of the images of a run (a dataset's mean image). Whoever runs over the
     * samples resolves it into an {@link Image} with {@link #meanOf}; an engine needs it resolved.
     */
    record MeanImage() implements Baseline {
        @Override
        public String label() {
            return "mean-image";
        }
    }

    /** Per layer and head, the mean of the real image's keys and values over the image positions. */
    record MeanOverImagePositions() implements Baseline {
        @Override
        public String label() {
            return "mean-over-image-positions";
        }
    }

    /** @return the name used by options and the command line, e.g. {@code mean-image} */
    String label();

    /** @return the blank-image baseline, the default */
    static Baseline blank() {
        return new Blank();
    }

    /** @return a baseline from another image's pixel values */
    static Baseline image(NDArray pixelValues) {
        return new Image(pixelValues);
    }

    /** @return the pixel-wise mean of these images, as an image baseline */
    static Baseline meanOf(List<NDArray> pixelValues) {
        if (pixelValues.isEmpty()) {
            throw new HeadlensException("a mean-image baseline needs at least one image");
        }
        NDArray first = pixelValues.get(0);
        return new Image(NDArrays.concat(new NDList(pixelValues), 0).mean(new int[] {0}, true).reshape(first.getShape()));
    }

    /**
     * The dataset's mean image in the model's input space: the pixel-wise mean of the images'
     * preprocessed pixel values, summed as it goes so that memory does not grow with the images.
     * LLaVA-1.5 resizes every image to its square input, so any sizes mix. LLaVA-NeXT's tiles and
     * Qwen2-VL's patch rows follow each image's size, and the baseline must take the same image
     * positions as each sample: images whose grid differs from the first's (another size for
     * LLaVA-NeXT, another resized patch grid for Qwen2-VL) are refused, naming both.
     *
     * @param model the model whose family preprocesses the images
     * @param images the run's image files
     * @param manager owner of the result
     * @return an image baseline
     */
    static Baseline meanOf(Lvlm model, List<Path> images, NDManager manager) {
        if (images.isEmpty()) {
            throw new HeadlensException("a mean-image baseline needs at least one image");
        }
        NDArray sum = null;
        long[] firstGrid = null;
        for (Path file : images) {
            try (NDManager scope = manager.newSubManager()) {
                ImageInput input = model.preprocess(scope, file);
                if (sum == null) {
                    firstGrid = input.grid();
                } else if (!Arrays.equals(firstGrid, input.grid()) || !sum.getShape().equals(input.pixels().getShape())) {
                    throw new HeadlensException(file + ": the mean-image baseline averages the images as the " + model.family().name()
                            + " model sees them, which needs one layout for all: this image gives the grid " + Arrays.toString(input.grid())
                            + " (" + model.family().imageTokens(input.grid()) + " image tokens) but " + images.get(0) + " gives "
                            + Arrays.toString(firstGrid) + " (" + model.family().imageTokens(firstGrid) + "); give images of one size,"
                            + " or use the blank or mean-over-image-positions baseline");
                }
                NDArray pixels = input.pixels().toType(DataType.FLOAT32, false);
                NDArray next = sum == null ? pixels.duplicate() : sum.add(pixels);
                next.attach(manager);
                if (sum != null) {
                    sum.close();
                }
                sum = next;
            }
        }
        return new Image(sum.divi(images.size()));
    }

    /** @return the mean of the run's images, resolved by the run */
    static Baseline meanImage() {
        return new MeanImage();
    }

    /** @return the per-layer mean over image positions */
    static Baseline meanOverImagePositions() {
        return new MeanOverImagePositions();
    }

    /**
     * @param label {@code blank}, {@code mean-image} or {@code mean-over-image-positions}
     * @return the baseline it names
     */
    static Baseline parse(String label) {
        for (Baseline baseline : List.of(blank(), meanImage(), meanOverImagePositions())) {
            if (baseline.label().equals(label)) {
                return baseline;
            }
        }
        throw new HeadlensException("unknown baseline '" + label + "': use blank, mean-image or mean-over-image-positions");
    }
}
