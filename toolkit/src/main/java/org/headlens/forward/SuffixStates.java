package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;
import org.headlens.model.Lvlm;

/**
 * The clean run's residual stream over the text after the image, entering every decoder layer
 * (and leaving the last), computed once per prefix. A batch of interventions whose edits all
 * start at layer l resumes from here ({@link Pass#resumingAt}) instead of recomputing layers
 * 0 to l-1, whose states those edits cannot change. Single-head ablations and top-k curves
 * consist mostly of such masks.
 */
public final class SuffixStates implements AutoCloseable {
    private final KeyValueCache prefix;
    private final ForwardResult run;
    private final int layers;

    private SuffixStates(KeyValueCache prefix, ForwardResult run, int layers) {
        this.prefix = prefix;
        this.run = run;
        this.layers = layers;
    }

    /**
     * Runs the text after the image once, without edits, on {@code prefix}.
     *
     * @param model the model
     * @param prefix the clean prefix cache
     * @return the states; close them to free their memory
     */
    public static SuffixStates of(Lvlm model, KeyValueCache prefix) {
        int layers = model.config().text().layers();
        List<Site> sites = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            sites.add(Site.residualPre(l));
        }
        sites.add(Site.residualPost(layers - 1));
        Pass pass = Pass.after(prefix).capture(Capture.of(sites.toArray(new Site[0])));
        ForwardResult result = ForwardPass.run(model, pass, null, LayerEdits.none());
        return new SuffixStates(prefix, result, layers);
    }

    /** @return the prefix these states continue */
    KeyValueCache prefix() {
        return prefix;
    }

    /** @return the number of decoder layers */
    public int layers() {
        return layers;
    }

    /**
     * @param layer 0 to the number of layers
     * @return the clean residual stream entering {@code layer} (for the number of layers: leaving the last), (1, text after the image, hidden)
     */
    NDArray input(int layer) {
        return run.cache().get(layer == layers ? Site.residualPost(layers - 1) : Site.residualPre(layer));
    }

    /** @return native memory held */
    public long bytes() {
        long bytes = 0;
        for (int l = 0; l <= layers; l++) {
            NDArray state = input(l);
            bytes += state.size() * state.getDataType().getNumOfBytes();
        }
        return bytes;
    }

    @Override
    public void close() {
        run.close();
    }
}
