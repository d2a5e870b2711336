package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.forward.Heads;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;

/**
 * The edits of one intervention, for one batch row: what {@link Intervention#compile} writes to.
 * Every edit acts on the text after the image unless it says otherwise, which is what lets the
 * engine run it on the fast path; an attention cut whose targets lie before the end of the image
 * sends the intervention to the full pass.
 */
public final class RowEdits {
    /** Where an image swap reads from: the engine's baseline, or another image's pixel values. */
    record Source(NDArray pixelValues) {
        static final Source BASELINE = new Source(null);

        // the same image is the same array: comparing tensors by content would read them back from native memory
        @Override
        public boolean equals(Object o) {
            return o instanceof Source other && other.pixelValues == pixelValues;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(pixelValues);
        }
    }

    /** A cut attention edge set: in {@code layer} (and {@code head}, or every head), targets may not read sources. */
    record Cut(int layer, int head, int[] sources, int[] targets) {
    }

    private final Prompt prompt;
    private final Heads heads;
    private final Map<Head, Source> swaps = new LinkedHashMap<>();
    private final List<Cut> cuts = new ArrayList<>();
    private final Map<Site, List<UnaryOperator<NDArray>>> activationEdits = new LinkedHashMap<>();

    RowEdits(Prompt prompt, Heads heads) {
        this.prompt = prompt;
        this.heads = heads;
    }

    /** @return the prompt, to resolve token groups into positions */
    public Prompt prompt() {
        return prompt;
    }

    /** @return the model's head grid */
    public Heads heads() {
        return heads;
    }

    /**
     * The head's text queries after the image read the baseline's image keys and values (head
     * ablation).
     *
     * @param head the head
     * @return this
     */
    public RowEdits readBaselineImage(Head head) {
        return swap(head, Source.BASELINE);
    }

    /**
     * The head's text queries after the image read the image keys and values of the same prompt
     * run on another image (activation patching).
     *
     * @param head the head
     * @param pixelValues (1, 3, H, W) the other image
     * @return this
     */
    public RowEdits readImage(Head head, NDArray pixelValues) {
        if (pixelValues == null) {
            throw new HeadlensException("patching " + head + " needs the other image's pixel values");
        }
        return swap(head, new Source(pixelValues));
    }

    private RowEdits swap(Head head, Source source) {
        heads.check(head);
        Source before = swaps.putIfAbsent(head, source);
        if (before != null && !before.equals(source)) {
            throw new HeadlensException(head + " is given two different images to read in one intervention");
        }
        return this;
    }

    /**
     * Cuts attention edges: in {@code layer}, the {@code targets} may not read the {@code sources}
     * (a position always keeps itself, so no row of the attention is empty).
     *
     * @param layer decoder layer
     * @param head query head, or {@link Site#NONE} for every head
     * @param sources key positions
     * @param targets query positions
     * @return this
     */
    public RowEdits cut(int layer, int head, int[] sources, int[] targets) {
        if (head == Site.NONE) {
            heads.check(new Head(layer, 0));
        } else {
            heads.check(new Head(layer, head));
        }
        cuts.add(new Cut(layer, head, sources.clone(), targets.clone()));
        return this;
    }

    /**
     * Replaces a decoder activation at the text after the image with {@code edit(activation)}.
     * The edit sees this row only, (1, ...) with the position axis limited to the text after the
     * image, on the fast path and on the full pass alike.
     *
     * @param site a decoder site
     * @param edit the new activation from the old; must keep the shape
     * @return this
     */
    public RowEdits editActivation(Site site, UnaryOperator<NDArray> edit) {
        if (!site.kind().inDecoder() || site.kind() == Site.Kind.EMBEDDINGS || site.kind() == Site.Kind.FINAL_NORM) {
            throw new HeadlensException(site + ": interventions edit the decoder layers' activations");
        }
        heads.check(new Head(site.layer(), Math.max(0, site.head())));
        activationEdits.computeIfAbsent(site, s -> new ArrayList<>()).add(edit);
        return this;
    }

    /** @return true if an edit acts on a query before the end of the image, so the fast path is not exact */
    boolean needsFullPass() {
        int imageEnd = prompt.layout().imageEnd();
        for (Cut cut : cuts) {
            for (int target : cut.targets()) {
                if (target < imageEnd) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * @return the first decoder layer this row edits (the number of layers when it edits none):
     *     before it, the row computes exactly what the clean run computes
     */
    int firstLayer() {
        int first = heads.layers();
        for (Head head : swaps.keySet()) {
            first = Math.min(first, head.layer());
        }
        for (Cut cut : cuts) {
            first = Math.min(first, cut.layer());
        }
        for (Site site : activationEdits.keySet()) {
            first = Math.min(first, site.layer());
        }
        return first;
    }

    Map<Head, Source> swaps() {
        return swaps;
    }

    List<Cut> cuts() {
        return cuts;
    }

    Map<Site, List<UnaryOperator<NDArray>>> activationEdits() {
        return activationEdits;
    }
}
