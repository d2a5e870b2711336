package org.headlens.data;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.headlens.HeadlensException;
import org.headlens.Messages;
import org.headlens.model.Images;

/**
 * One question about one image, independent of the dataset it came from: what attribution, flow
 * and evaluation take. Every reader ({@link Datasets#read}) makes these.
 *
 * @param id identifier, unique in its dataset; it names the sample's result files
 * @param image the image file
 * @param answer the expected answer (the class word)
 * @param mask the main object's mask, or null when the dataset has none (flow then skips the
 *        object and background pairs)
 * @param labels other groupings of the sample by name, e.g. {@code style -> outline}; the answer
 *        is also there as {@code answer}
 */
public record Sample(String id, Path image, String answer, ObjectMask mask, Map<String, String> labels) {
    /** The label name under which every sample's answer is also found. */
    public static final String ANSWER = "answer";

    /** Checks the fields and keeps an unmodifiable copy of the labels, with the answer among them. */
    public Sample {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(answer, "answer");
        Map<String, String> copy = new LinkedHashMap<>();
        copy.put(ANSWER, answer);
        if (labels != null) {
            labels.forEach((name, value) -> {
                if (!name.equals(ANSWER)) {
                    copy.put(name, value == null ? "" : value);
                }
            });
        }
        labels = Collections.unmodifiableMap(copy);
    }

    /** @return a sample with no object mask and only its answer as label */
    public static Sample of(String id, Path image, String answer) {
        return new Sample(id, image, answer, null, Map.of());
    }

    /** @return whether the sample has an object mask */
    public boolean hasMask() {
        return mask != null;
    }

    /**
     * @param name a label name ({@code answer} is the expected answer)
     * @return the sample's value of that label
     * @throws HeadlensException if the sample has no such label, naming those it has
     */
    public String label(String name) {
        String value = labels.get(name);
        if (value == null) {
            throw new HeadlensException("sample " + Messages.quote(id) + " has no label " + Messages.quote(name) + "; its labels are "
                    + String.join(", ", labels.keySet()));
        }
        return value;
    }

    /**
     * @return the object mask as [row][column] booleans, the size of the image
     * @throws HeadlensException if there is no mask, or it cannot be made the image's size
     */
    public boolean[][] readMask() {
        if (mask == null) {
            throw new HeadlensException("sample " + Messages.quote(id) + " has no object mask");
        }
        int[] size = Images.size(image);
        return mask.read(image, size[0], size[1]);
    }
}
