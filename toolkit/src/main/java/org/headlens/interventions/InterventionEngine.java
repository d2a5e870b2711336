package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.headlens.HeadlensException;
import org.headlens.forward.Capture;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Heads;
import org.headlens.forward.KeyValueCache;
import org.headlens.forward.LayerEdits;
import org.headlens.forward.Pass;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;
import org.headlens.forward.SuffixStates;
import org.headlens.forward.TokenLayout;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/**
 * Runs many interventions on one sample and returns the final position's logits of each.
 *
 * <p>The fast path: the prefix (text before the image, and the image) runs once for the real
 * image and once for the baseline, and each layer's keys/values are kept. Each intervention
 * then runs only the text after the image, many in one batch, and computes logits at the final
 * position only. This is exact because edits of what the text after the image reads never change
 * an earlier position's state. Interventions that cut attention of earlier queries run the full
 * sequence instead.
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
    private final KeyValueCache clean;
    private final KeyValueCache baseline;
    private final Map<RowEdits.Source, KeyValueCache> patched = new LinkedHashMap<>();
    private long batchBytes = DEFAULT_BATCH_BYTES;
    private boolean shortcuts = true;
    private SuffixStates states;

    private InterventionEngine(Lvlm model, Prompt prompt, NDManager manager, NDArray pixels, KeyValueCache clean, KeyValueCache baseline) {
        this.model = model;
        this.prompt = prompt;
        this.manager = manager;
        this.pixels = pixels;
        this.clean = clean;
        this.baseline = baseline;
    }

    /**
     * Runs the prefix for the real image and the baseline and keeps their keys/values.
     *
     * @param model the model
     * @param prompt the prompt (with its image placeholder)
     * @param pixelValues (1, 3, H, W) the real image
     * @param baseline what ablated heads see
     * @return the engine; close it to free the caches
     */
    public static InterventionEngine prepare(Lvlm model, Prompt prompt, NDArray pixelValues, Baseline baseline) {
        TokenLayout layout = prompt.layout();
        if (!layout.hasImage()) {
            throw new HeadlensException("interventions on image-to-text flow need a prompt with an image");
        }
        ForwardPass.requireMemory(model, Pass.full(layout), 1);
        NDManager manager = model.newScope();
        KeyValueCache clean = null;
        try {
            NDArray placed = model.asInput(pixelValues);
            // its own copy, which the engine owns: asInput already made one where the type or device differs
            NDArray pixels = placed == pixelValues ? placed.duplicate() : placed;
            pixels.attach(manager);
            clean = KeyValueCache.ofPrefix(model, layout, pixels);
            KeyValueCache other;
            if (baseline instanceof Baseline.MeanOverImagePositions) {
                other = clean.meanOverImage();
            } else if (baseline instanceof Baseline.Image image) {
                other = KeyValueCache.ofPrefix(model, layout, image.pixelValues());
            } else if (baseline instanceof Baseline.Blank) {
                other = KeyValueCache.ofPrefix(model, layout, manager.zeros(pixels.getShape(), pixels.getDataType()));
            } else {
                throw new HeadlensException("a " + baseline.label() + " baseline must be resolved into an image first"
                        + " (Baseline.meanOf(pixel values of the run's images))");
            }
            return new InterventionEngine(model, prompt, manager, pixels, clean, other);
        } catch (RuntimeException e) {
            if (clean != null) {
                clean.close();
            }
            manager.close();
            throw e;
        }
    }

    /**
     * Sets the bound on the temporary memory of one batch; the batch size follows from it.
     *
     * @param bytes memory allowed per batch
     * @return this
     */
    public InterventionEngine batchBytes(long bytes) {
        if (bytes < 1) {
            throw new HeadlensException("batch memory must be positive, not " + bytes);
        }
        batchBytes = bytes;
        return this;
    }

    /**
     * Turns the fast path's shortcuts on (the default) or off. On, a batch starts at the first
     * layer its interventions edit, from the clean run's states there (sorted so that batches
     * share a first layer); the layer where rows start computes queries, keys, values and each
     * head's attention once for the whole batch; and the last layer computes the final position
     * only. Each gives the same numbers as computing everything (within float rounding); off is
     * the plain fast path, for comparison.
     *
     * @param value true to skip work whose result cannot change
     * @return this
     */
    public InterventionEngine shortcuts(boolean value) {
        shortcuts = value;
        return this;
    }

    /** @return native memory held by the prefix caches (real image, baseline, patched images) and the clean states */
    public long prefixBytes() {
        long bytes = clean.bytes() + baseline.bytes() + (states == null ? 0 : states.bytes());
        for (KeyValueCache cache : patched.values()) {
            bytes += cache.bytes();
        }
        return bytes;
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
        long rows = batchBytes / Math.max(1, perRow);
        if (batchBytes == DEFAULT_BATCH_BYTES) {
            // wide models: every batch streams each weight matrix from memory once, which only
            // pays off with enough rows (at 7B widths 64 MB is 3 masks, 72 rows per product);
            // at least 256 rows while a batch stays under 1 GB
            long forReuse = Math.min((256 + queries - 1) / queries, (1L << 30) / Math.max(1, perRow));
            rows = Math.max(rows, forReuse);
        }
        return (int) Math.max(1, Math.min(512, rows));
    }

    /**
     * Final-position logits of each intervention, on the fast path where exact.
     *
     * @param interventions what to run
     * @return one row of vocabulary logits per intervention
     */
    public float[][] finalLogits(List<? extends Intervention> interventions) {
        List<RowEdits> rows = compile(interventions);
        float[][] out = new float[rows.size()][];
        List<Integer> fast = new ArrayList<>();
        List<Integer> full = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            (rows.get(i).needsFullPass() ? full : fast).add(i);
        }
        if (shortcuts) {
            // grouped by first edited layer, so that a batch resumes as late as its rows allow
            fast.sort(java.util.Comparator.comparingInt(i -> rows.get(i).firstLayer()));
        }
        runInBatches(rows, fast, batchSize(), true, out);
        runInBatches(rows, full, batchSize(), false, out);
        return out;
    }

    /**
     * Final-position logits of each intervention, recomputing the whole sequence (vision tower
     * included) for every batch of {@code batch}: what hook-based tools do. A reference for the
     * fast path, and the baseline of the benchmark.
     *
     * @param interventions what to run
     * @param batch interventions per forward pass
     * @return one row of logits per intervention
     */
    public float[][] finalLogitsFullRecompute(List<? extends Intervention> interventions, int batch) {
        List<RowEdits> rows = compile(interventions);
        float[][] out = new float[rows.size()][];
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            all.add(i);
        }
        runInBatches(rows, all, batch, false, out);
        return out;
    }

    /**
     * Runs one intervention and keeps activations, on the fast path where exact: then the cache
     * holds only the text after the image ({@code result.cache().firstPosition()} says so).
     *
     * @param intervention what to run
     * @param capture what to keep
     * @return logits and activations; close it when done
     */
    public ForwardResult run(Intervention intervention, Capture capture) {
        RowEdits row = compile(List.of(intervention)).get(0);
        boolean fast = !row.needsFullPass();
        try (NDManager work = model.newScope()) {
            Pass pass = (fast ? Pass.after(clean) : Pass.full(prompt.layout())).capture(capture);
            return ForwardPass.run(model, pass, fast ? null : pixels, layerEdits(List.of(row), pass, work));
        }
    }

    /** @return logits of the unchanged model */
    public float[] clean() {
        return finalLogits(List.of(Intervention.none()))[0];
    }

    /** @return logits with every head ablated, which equals the baseline run's by definition */
    public float[] allAblated() {
        return finalLogits(List.of(Intervention.ablate(HeadMask.all(heads().layers(), heads().perLayer()))))[0];
    }

    private Heads heads() {
        return Heads.of(model.config());
    }

    private List<RowEdits> compile(List<? extends Intervention> interventions) {
        List<RowEdits> rows = new ArrayList<>();
        for (Intervention intervention : interventions) {
            RowEdits row = new RowEdits(prompt, heads());
            intervention.compile(row);
            rows.add(row);
        }
        return rows;
    }

    /** Runs the rows at {@code indices}, {@code batch} per pass, into their rows of {@code out}. */
    private void runInBatches(List<RowEdits> rows, List<Integer> indices, int batch, boolean fast, float[][] out) {
        int vocab = model.config().text().vocabSize();
        for (int start = 0; start < indices.size(); start += batch) {
            List<Integer> chosen = indices.subList(start, Math.min(indices.size(), start + batch));
            List<RowEdits> batchRows = chosen.stream().map(rows::get).toList();
            try (NDManager work = model.newScope()) {
                Pass pass = fast ? fastPass(batchRows) : Pass.full(prompt.layout()).withoutShortcuts();
                try (ForwardResult result = ForwardPass.run(model, pass, fast ? null : pixels, layerEdits(batchRows, pass, work))) {
                    float[] flat = result.logits().toType(DataType.FLOAT32, false).toFloatArray();
                    for (int r = 0; r < chosen.size(); r++) {
                        out[chosen.get(r)] = Arrays.copyOfRange(flat, r * vocab, (r + 1) * vocab);
                    }
                }
            }
        }
    }

    /** The fast-path pass of a batch: resumed at the first layer any of its rows edits, when shortcuts are on. */
    private Pass fastPass(List<RowEdits> batchRows) {
        if (!shortcuts) {
            return Pass.after(clean).withoutShortcuts();
        }
        int first = batchRows.stream().mapToInt(RowEdits::firstLayer).min().orElse(0);
        if (states == null) {
            states = SuffixStates.of(model, clean);
        }
        return Pass.after(clean).resumingAt(states, first);
    }

    /** Compiles the rows of a batch into per-layer edits for {@code pass}; tensors go to {@code work}. */
    private LayerEdits layerEdits(List<RowEdits> rows, Pass pass, NDManager work) {
        LayerEdits edits = LayerEdits.forBatch(rows.size());
        addImageSwaps(rows, pass, work, edits);
        addCuts(rows, pass, work, edits);
        addActivationEdits(rows, pass, edits);
        return edits;
    }

    private void addImageSwaps(List<RowEdits> rows, Pass pass, NDManager work, LayerEdits edits) {
        int imageEnd = prompt.layout().imageEnd();
        if (pass.length() <= imageEnd) {
            return;
        }
        Heads heads = heads();
        boolean[] after = new boolean[pass.queries()];
        for (int q = 0; q < after.length; q++) {
            after[q] = pass.from() + q >= imageEnd;
        }
        NDArray afterImage = work.create(after, new Shape(1, 1, after.length, 1));
        for (int l = 0; l < heads.layers(); l++) {
            Map<RowEdits.Source, boolean[]> grids = new LinkedHashMap<>();
            for (int r = 0; r < rows.size(); r++) {
                for (Map.Entry<Head, RowEdits.Source> swap : rows.get(r).swaps().entrySet()) {
                    if (swap.getKey().layer() == l) {
                        grids.computeIfAbsent(swap.getValue(), s -> new boolean[rows.size() * heads.perLayer()])
                                [r * heads.perLayer() + swap.getKey().head()] = true;
                    }
                }
            }
            for (Map.Entry<RowEdits.Source, boolean[]> grid : grids.entrySet()) {
                NDArray select = work.create(grid.getValue(), new Shape(rows.size(), heads.perLayer(), 1, 1)).logicalAnd(afterImage);
                edits.readImageFrom(l, select, source(grid.getKey()));
            }
        }
    }

    private KeyValueCache source(RowEdits.Source source) {
        if (source.equals(RowEdits.Source.BASELINE)) {
            return baseline;
        }
        return patched.computeIfAbsent(source, s -> KeyValueCache.ofPrefix(model, prompt.layout(), s.pixelValues()));
    }

    private void addCuts(List<RowEdits> rows, Pass pass, NDManager work, LayerEdits edits) {
        Heads heads = heads();
        int length = pass.length();
        int queries = pass.queries();
        int from = pass.from();
        for (int l = 0; l < heads.layers(); l++) {
            boolean any = false;
            boolean perHead = false;
            for (RowEdits row : rows) {
                for (RowEdits.Cut cut : row.cuts()) {
                    if (cut.layer() == l) {
                        any = true;
                        perHead |= cut.head() != Site.NONE;
                    }
                }
            }
            if (!any) {
                continue;
            }
            int maskHeads = perHead ? heads.perLayer() : 1;
            float[] mask = new float[rows.size() * maskHeads * queries * length];
            for (int r = 0; r < rows.size(); r++) {
                for (RowEdits.Cut cut : rows.get(r).cuts()) {
                    if (cut.layer() != l) {
                        continue;
                    }
                    for (int h = 0; h < maskHeads; h++) {
                        if (perHead && cut.head() != Site.NONE && cut.head() != h) {
                            continue;
                        }
                        for (int q : cut.targets()) {
                            if (q < from) {
                                continue;
                            }
                            int base = ((r * maskHeads + h) * queries + (q - from)) * length;
                            for (int key : cut.sources()) {
                                if (key != q) { // a position always keeps itself, so no row is empty
                                    mask[base + key] = LayerEdits.BLOCKED;
                                }
                            }
                        }
                    }
                }
            }
            edits.addToScores(l, work.create(mask, new Shape(rows.size(), maskHeads, queries, length)).toType(model.computeType(), false));
        }
    }

    /** Each row's activation edits, applied to that row and to the positions after the image only. */
    private void addActivationEdits(List<RowEdits> rows, Pass pass, LayerEdits edits) {
        Map<Site, List<Integer>> rowsBySite = new LinkedHashMap<>();
        for (int r = 0; r < rows.size(); r++) {
            for (Site site : rows.get(r).activationEdits().keySet()) {
                rowsBySite.computeIfAbsent(site, s -> new ArrayList<>()).add(r);
            }
        }
        int firstAfterImage = Math.max(0, prompt.layout().imageEnd() - pass.from());
        for (Map.Entry<Site, List<Integer>> entry : rowsBySite.entrySet()) {
            Site site = entry.getKey();
            // a site with a head is handed over without its head axis
            int axis = site.head() == Site.NONE ? site.kind().positionAxis() : site.kind().positionAxis() - 1;
            edits.editActivation(site, activation -> {
                NDArray out = activation.duplicate();
                for (int r : entry.getValue()) {
                    NDIndex index = new NDIndex("{}:{}" + ", :".repeat(axis - 1) + ", {}:", r, r + 1, firstAfterImage);
                    NDArray slice = activation.get(index);
                    for (UnaryOperator<NDArray> edit : rows.get(r).activationEdits().get(site)) {
                        NDArray next = edit.apply(slice);
                        if (next == null || !next.getShape().equals(slice.getShape())) {
                            throw new HeadlensException("an edit of " + site + " returned " + (next == null ? "nothing" : "shape "
                                    + next.getShape()) + "; it must keep the shape " + slice.getShape());
                        }
                        slice = next;
                    }
                    out.set(index, slice);
                }
                return out;
            });
        }
    }

    @Override
    public void close() {
        if (states != null) {
            states.close();
        }
        patched.values().forEach(KeyValueCache::close);
        baseline.close();
        clean.close();
        manager.close();
    }
}
