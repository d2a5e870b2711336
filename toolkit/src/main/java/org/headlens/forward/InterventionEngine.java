package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.ablation.Baseline;
import org.headlens.ablation.HeadMask;
import org.headlens.ablation.Intervention;
import org.headlens.ablation.Knockout;
import org.headlens.model.ModelConfig;
import org.headlens.model.Lvlm;

/**
 * Runs many interventions on one sample and returns the final position's logits of each.
 *
 * <p>The fast path: the prefix (text before the image, and the image) runs once for the real
 * image and once for the baseline, and each layer's keys/values are kept. Each intervention
 * then runs only the text after the image, many in one batch, and computes logits at the final
 * position only. This is exact because head ablation and knockouts whose queries lie after the
 * image never change an earlier position's state. Knockouts that cut attention of earlier
 * queries fall back to the full-sequence pass.
 *
 * <pre>{@code
 * try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.blank())) {
 *     float[][] logits = engine.finalLogits(List.of(Intervention.ablate(mask)));
 * }
 * }</pre>
 */
public final class InterventionEngine implements AutoCloseable {
    /**
     * Default bound on the temporary memory of one batch. Measured with {@code headlens bench} on
     * 2 cores: 64 MB (17 masks of the LLaVA-1.5-shaped model) ran 40 masks/s, 24 MB 33/s, 1 GB
     * 20/s; batches whose activations stay in cache beat larger ones.
     */
    public static final long DEFAULT_BATCH_BYTES = 64L * 1024 * 1024;

    private final Lvlm model;
    private final Prompt prompt;
    private final NDManager manager;
    private final NDArray pixels;
    private final PrefixCache cache;
    private final long batchBytes;

    private InterventionEngine(Lvlm model, Prompt prompt, NDManager manager, NDArray pixels, PrefixCache cache, long batchBytes) {
        this.model = model;
        this.prompt = prompt;
        this.manager = manager;
        this.pixels = pixels;
        this.cache = cache;
        this.batchBytes = batchBytes;
    }

    /**
     * Runs the prefix for the real image and the baseline and keeps their keys/values.
     *
     * @param model the model
     * @param prompt the prompt (with its image placeholder)
     * @param pixelValues (1, 3, H, W) the real image
     * @param baseline what ablated heads see instead
     * @return the engine; close it to free the cache
     */
    public static InterventionEngine prepare(Lvlm model, Prompt prompt, NDArray pixelValues, Baseline baseline) {
        return prepare(model, prompt, pixelValues, baseline, DEFAULT_BATCH_BYTES);
    }

    /**
     * As {@link #prepare(Lvlm, Prompt, NDArray, Baseline)}, with a bound on batch memory.
     *
     * @param model the model
     * @param prompt the prompt
     * @param pixelValues the real image
     * @param baseline the baseline
     * @param batchBytes temporary memory allowed per batch; the batch size follows from it
     * @return the engine
     */
    public static InterventionEngine prepare(Lvlm model, Prompt prompt, NDArray pixelValues, Baseline baseline, long batchBytes) {
        ForwardPass.requireMemory(model, prompt.layout(), 1, prompt.layout().length(), ForwardOptions.logitsOnly());
        NDManager manager = model.newScope();
        try {
            NDArray pixels = pixelValues.toType(model.computeType(), true);
            pixels.attach(manager);
            PrefixCache cache = PrefixCache.build(model, prompt, pixels, baseline);
            return new InterventionEngine(model, prompt, manager, pixels, cache, batchBytes);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** @return the prompt this engine runs */
    public Prompt prompt() {
        return prompt;
    }

    /** @return the model */
    public Lvlm model() {
        return model;
    }

    /** @return how many interventions run in one fast-path batch */
    public int batchSize() {
        ModelConfig.TextConfig text = model.config().text();
        long queries = prompt.layout().length() - prompt.layout().imageEnd();
        long keys = prompt.layout().length();
        // per row and layer: score blocks (real, baseline, selected, softmax) and MLP activations
        long perRow = 4L * (6L * text.heads() * queries * keys + 4L * queries * text.intermediateSize()
                + 12L * queries * text.hiddenSize());
        return (int) Math.max(1, Math.min(512, batchBytes / Math.max(1, perRow)));
    }

    /**
     * Final-position logits of each intervention, on the fast path where exact.
     *
     * @param interventions what to run
     * @return one row of vocabulary logits per intervention
     */
    public float[][] finalLogits(List<Intervention> interventions) {
        float[][] out = new float[interventions.size()][];
        List<Integer> fast = new ArrayList<>();
        List<Integer> full = new ArrayList<>();
        for (int i = 0; i < interventions.size(); i++) {
            (fastPathApplies(interventions.get(i)) ? fast : full).add(i);
        }
        runInBatches(interventions, fast, batchSize(), true, out);
        runInBatches(interventions, full, batchSize(), false, out);
        return out;
    }

    /**
     * Final-position logits of each intervention, recomputing the whole sequence (vision tower
     * included) for every one, {@code batch} at a time: what hook-based tools do. A reference for
     * the fast path, and the baseline of the benchmark.
     *
     * @param interventions what to run
     * @param batch interventions per forward pass
     * @return one row of logits per intervention
     */
    public float[][] finalLogitsFullRecompute(List<Intervention> interventions, int batch) {
        float[][] out = new float[interventions.size()][];
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < interventions.size(); i++) {
            all.add(i);
        }
        runInBatches(interventions, all, batch, false, out);
        return out;
    }

    /** @return logits of the unchanged model */
    public float[] clean() {
        return finalLogits(List.of(Intervention.none()))[0];
    }

    /** @return logits with every head ablated, which equals the baseline run's by definition */
    public float[] allAblated() {
        ModelConfig.TextConfig text = model.config().text();
        return finalLogits(List.of(Intervention.ablate(HeadMask.all(text.layers(), text.heads()))))[0];
    }

    /** Runs the interventions at {@code indices}, {@code batch} per pass, into their rows of {@code out}. */
    private void runInBatches(List<Intervention> interventions, List<Integer> indices, int batch, boolean fast, float[][] out) {
        for (int start = 0; start < indices.size(); start += batch) {
            List<Integer> rows = indices.subList(start, Math.min(indices.size(), start + batch));
            fill(out, rows, run(select(interventions, rows), fast));
        }
    }

    private static List<Intervention> select(List<Intervention> all, List<Integer> rows) {
        List<Intervention> list = new ArrayList<>();
        rows.forEach(r -> list.add(all.get(r)));
        return list;
    }

    private static void fill(float[][] out, List<Integer> rows, float[][] values) {
        for (int i = 0; i < rows.size(); i++) {
            out[rows.get(i)] = values[i];
        }
    }

    private boolean fastPathApplies(Intervention intervention) {
        int imageEnd = prompt.layout().imageEnd();
        for (Knockout knockout : intervention.knockouts()) {
            for (int q : prompt.positions(knockout.queries())) {
                if (q < imageEnd) {
                    return false;
                }
            }
        }
        return true;
    }

    private float[][] run(List<Intervention> batch, boolean fast) {
        TokenLayout layout = prompt.layout();
        ModelConfig.TextConfig text = model.config().text();
        int rows = batch.size();
        int from = fast ? layout.imageEnd() : 0;
        try (NDScope scope = new NDScope(); NDManager work = model.newScope()) {
            NDArray hidden;
            if (fast) {
                long[] suffix = java.util.Arrays.copyOfRange(layout.decoderIds(), from, layout.length());
                hidden = model.languageModel().embed(work, suffix);
            } else {
                hidden = ForwardPass.embeddings(model, work, layout, pixels, ForwardOptions.logitsOnly(), null);
            }
            hidden = hidden.repeat(0, rows);
            DecoderRun.Interventions interventions = new DecoderRun.Interventions(
                    ablationSelectors(work, batch, text), cache.baseline(), knockoutMasks(work, batch, text, from), null);
            NDArray logits = DecoderRun.run(model, work, hidden, from, layout, layout.length(),
                    fast ? cache.clean() : null, interventions, null, ForwardOptions.logitsOnly(), false, true).logits();
            float[] flat = logits.toType(DataType.FLOAT32, false).toFloatArray();
            int vocab = text.vocabSize();
            float[][] out = new float[rows][];
            for (int r = 0; r < rows; r++) {
                out[r] = java.util.Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
            }
            return out;
        }
    }

    private static NDArray[] ablationSelectors(NDManager work, List<Intervention> batch, ModelConfig.TextConfig text) {
        NDArray[] selectors = new NDArray[text.layers()];
        for (int l = 0; l < text.layers(); l++) {
            boolean any = false;
            boolean[] grid = new boolean[batch.size() * text.heads()];
            for (int r = 0; r < batch.size(); r++) {
                HeadMask mask = batch.get(r).ablation();
                if (mask == null) {
                    continue;
                }
                if (mask.layers() != text.layers() || mask.heads() != text.heads()) {
                    throw new HeadlensException("head mask is " + mask.layers() + "x" + mask.heads() + " but the model has "
                            + text.layers() + " layers of " + text.heads() + " heads");
                }
                for (int h = 0; h < text.heads(); h++) {
                    grid[r * text.heads() + h] = mask.isAblated(l, h);
                    any |= grid[r * text.heads() + h];
                }
            }
            selectors[l] = any ? work.create(grid, new Shape(batch.size(), text.heads(), 1, 1)) : null;
        }
        return selectors;
    }

    private NDArray[] knockoutMasks(NDManager work, List<Intervention> batch, ModelConfig.TextConfig text, int from) {
        NDArray[] masks = new NDArray[text.layers()];
        int length = prompt.layout().length();
        int queries = length - from;
        for (int l = 0; l < text.layers(); l++) {
            boolean any = false;
            boolean perHead = false;
            for (Intervention intervention : batch) {
                for (Knockout k : intervention.knockouts()) {
                    if (k.inLayer(l)) {
                        any = true;
                        perHead |= k.heads() != null;
                    }
                }
            }
            if (!any) {
                continue;
            }
            int heads = perHead ? text.heads() : 1;
            float[] mask = new float[batch.size() * heads * queries * length];
            for (int r = 0; r < batch.size(); r++) {
                for (Knockout k : batch.get(r).knockouts()) {
                    if (!k.inLayer(l)) {
                        continue;
                    }
                    int[] qs = prompt.positions(k.queries());
                    int[] ks = prompt.positions(k.keys());
                    for (int h = 0; h < heads; h++) {
                        if (perHead && !k.onHead(l, h)) {
                            continue;
                        }
                        for (int q : qs) {
                            if (q < from) {
                                continue;
                            }
                            int base = ((r * heads + h) * queries + (q - from)) * length;
                            for (int key : ks) {
                                if (key != q) { // a position always keeps itself, so no row is empty
                                    mask[base + key] = DecoderRun.MASKED;
                                }
                            }
                        }
                    }
                }
            }
            masks[l] = work.create(mask, new Shape(batch.size(), heads, queries, length)).toType(model.computeType(), false);
        }
        return masks;
    }

    @Override
    public void close() {
        cache.close();
        manager.close();
    }
}
