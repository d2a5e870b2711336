package org.headlens.ablation;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What an ablated head sees at image positions instead of the real image's keys and values.
 */
public sealed interface Baseline {
    /**
     * The keys/values of another image: run the same prompt prefix with these pixel values.
     *
     * @param pixelValues (1, 3, H, W) preprocessed image
     */
    record Image(NDArray pixelValues) implements Baseline {
    }

    /** A uniform image of the processor's mean colour (all-zero pixel values after normalising). */
    record Blank() implements Baseline {
    }

    /**
     * The pixel-wise mean of several images (e.g. a dataset's), run as one image.
     *
     * @param pixelValues each (1, 3, H, W)
     */
    record MeanImage(List<NDArray> pixelValues) implements Baseline {
    }

    /** Per layer and head, the mean of the real image's keys and values over image positions. */
    record MeanOverImagePositions() implements Baseline {
    }

    /** @return the blank-image baseline, the default */
    static Baseline blank() {
        return new Blank();
    }

    /** @return a baseline from another image's pixel values */
    static Baseline image(NDArray pixelValues) {
        return new Image(pixelValues);
    }

    /** @return the per-layer mean over image positions */
    static Baseline meanOverImagePositions() {
        return new MeanOverImagePositions();
    }
}
