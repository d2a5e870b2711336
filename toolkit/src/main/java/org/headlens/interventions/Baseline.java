package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.List;
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
