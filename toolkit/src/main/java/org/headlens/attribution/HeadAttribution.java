package org.headlens.attribution;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.function.Supplier;
import org.headlens.HeadlensException;
import org.headlens.interventions.Baseline;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Heads;
import org.headlens.interventions.Intervention;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.forward.Capture;
import org.headlens.forward.Site;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.forward.TokenLayout;
import org.headlens.metric.Answer;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.results.Progress;
import org.headlens.results.ResultFolder;

/**
 * Head attribution (after COAR): per sample, random head ablations, a linear fit from the
 * kept/ablated pattern to the metric, one coefficient per head; then the baselines, the
 * faithfulness and completeness curves and the similarity analysis over a dataset.
 *
 * <pre>{@code
 * var attribution = HeadAttribution.of(model).options(AttributionOptions.defaults().withMasks(512)).run(samples);
 * show(attribution.heads());
 * }</pre>
 */
public final class HeadAttribution {
    private final Lvlm model;
    private final AttributionOptions options;
    private final String prompt;
    private final PrintStream log;
    private final long prefixMemory;
    private final boolean firstToken;
    private final String semantic;
    private final String appearance;

    /** Default grouping compared as "semantic": the expected answer. */
    public static final String DEFAULT_SEMANTIC = Sample.ANSWER;
    /** Default grouping compared as "appearance": the label {@code style}. */
    public static final String DEFAULT_APPEARANCE = "style";

    /**
     * Default memory for the prefix caches kept between a sample's measurement and its curves:
     * the tiny model needs under 1 MB a sample, a 7B model about 1 GB (so only a few are kept).
     */
    public static final long DEFAULT_PREFIX_MEMORY = 1L << 30;

    private HeadAttribution(Lvlm model, AttributionOptions options, String prompt, PrintStream log, long prefixMemory) {
        this(model, options, prompt, log, prefixMemory, false, DEFAULT_SEMANTIC, DEFAULT_APPEARANCE);
    }

    private HeadAttribution(Lvlm model, AttributionOptions options, String prompt, PrintStream log, long prefixMemory, boolean firstToken,
            String semantic, String appearance) {
        this.firstToken = firstToken;
        this.semantic = semantic;
        this.appearance = appearance;
        this.model = model;
        this.options = options;
        this.prompt = prompt;
        this.log = log;
        this.prefixMemory = prefixMemory;
    }

    /** @return attribution on {@code model} with default options, the object question and progress on standard output */
    public static HeadAttribution of(Lvlm model) {
        return new HeadAttribution(model, AttributionOptions.defaults(), TinyModel.OBJECT_PROMPT, System.out, DEFAULT_PREFIX_MEMORY);
    }

    /** @return a copy with these options */
    public HeadAttribution options(AttributionOptions value) {
        return new HeadAttribution(model, value, prompt, log, prefixMemory, firstToken, semantic, appearance);
    }

    /** @return a copy asking {@code text} (with its image placeholder) */
    public HeadAttribution prompt(String text) {
        return new HeadAttribution(model, options, text, log, prefixMemory, firstToken, semantic, appearance);
    }

    /**
     * @param value whether answers of several tokens are measured on their first token (see
     *        {@link Answer#of(Lvlm, String, boolean)}); otherwise they are refused
     * @return a copy with that answer rule
     */
    public HeadAttribution firstToken(boolean value) {
        return new HeadAttribution(model, options, prompt, log, prefixMemory, value, semantic, appearance);
    }

    /**
     * @param semanticLabel the grouping compared as "semantic" (the class columns of the tables), e.g. {@code answer}
     * @param appearanceLabel the grouping compared as "appearance", e.g. {@code style}; samples
     *        without it leave the same-appearance comparison empty
     * @return a copy comparing these two label groupings
     */
    public HeadAttribution groupings(String semanticLabel, String appearanceLabel) {
        return new HeadAttribution(model, options, prompt, log, prefixMemory, firstToken, semanticLabel, appearanceLabel);
    }

    /** @return a copy printing progress to {@code out} (null: silent) */
    public HeadAttribution progress(PrintStream out) {
        return new HeadAttribution(model, options, prompt, out, prefixMemory, firstToken, semantic, appearance);
    }

    /**
     * @param bytes memory for keeping each sample's prefix caches from its measurement to its
     *     curves; a sample whose caches do not fit builds them again
     * @return a copy with that budget
     */
    public HeadAttribution prefixMemory(long bytes) {
        return new HeadAttribution(model, options, prompt, log, Math.max(0, bytes), firstToken, semantic, appearance);
    }

    /** @return the options */
    public AttributionOptions options() {
        return options;
    }

    /** @return the label grouping compared as semantic */
    public String semantic() {
        return semantic;
    }

    /** @return the label grouping compared as appearance */
    public String appearance() {
        return appearance;
    }

    /** @return the prompt text */
    public String prompt() {
        return prompt;
    }

    /**
     * Runs every step in memory.
     *
     * @param samples the samples
     * @return the results
     */
    public AttributionResult run(List<Sample> samples) {
        return run(samples, null);
    }

    /**
     * Runs every step, saving each sample's results in {@code folder} as it finishes; a rerun
     * with the same folder skips what is there.
     *
     * @param samples the samples
     * @param folder where per-sample results go, or null to keep them in memory only
     * @return the results
     */
    public AttributionResult run(List<Sample> samples, ResultFolder folder) {
        check(samples);
        if (folder != null) {
            ResultFolder.checkSampleIds(samples.stream().map(Sample::id).toList(), "the samples");
        }
        long start = System.nanoTime();
        List<SampleAttribution> measured = new ArrayList<>();
        List<SampleCurves> curves = new ArrayList<>();
        try (NDManager manager = model.newScope(); Prepared prepared = new Prepared(prefixMemory)) {
            Baseline baseline = baseline(samples, manager);
            Progress progress = new Progress("attribute", samples.size(), log, 2);
            for (Sample sample : samples) {
                measured.add(ResultFolder.readOrCompute(folder, measurementFile(sample, samples), SampleAttribution.class,
                        () -> prepared.keepAfter(sample.id(), engine -> measure(sample, engine), prepare(sample, baseline))));
                progress.step(sample.id() + " (masks, held-out, single heads)");
            }
            List<Ranking> rankings = rankings(measured);
            Map<String, Sample> byId = new HashMap<>();
            samples.forEach(e -> byId.put(e.id(), e));
            List<SampleAttribution> kept = measured.stream().filter(this::isKept).toList();
            Progress curveProgress = new Progress("attribute curves", kept.size(), log, 2);
            for (SampleAttribution sample : kept) {
                Sample entry = byId.get(sample.id());
                curves.add(ResultFolder.readOrCompute(folder, curvesFile(entry, samples, rankings), SampleCurves.class,
                        () -> prepared.use(entry.id(), engine -> curves(entry, engine, rankings), () -> prepare(entry, baseline))));
                curveProgress.step(sample.id());
            }
            return new AttributionResult(Heads.of(model.config()), options, measured,
                    rankings, curves, (System.nanoTime() - start) / 1e9);
        }
    }

    /*
     * A run in pieces, for engines that send each sample to another process (e.g. one Spark task a
     * sample): the pieces name the same files and compute the same values as run, so both give the
     * same tables.
     */

    /**
     * Measures one sample into a run's folder, unless it holds the measurement already (the first
     * half of {@link #run} for one sample).
     *
     * @param folder the run's folder (e.g. from {@link ResultFolder#join})
     * @param sample the sample
     * @param samples every sample of the run, in order (the mean-image baseline depends on them)
     * @param baseline {@link #baseline} of those samples
     * @return the measurement
     */
    public SampleAttribution measureInto(ResultFolder folder, Sample sample, List<Sample> samples, Baseline baseline) {
        return ResultFolder.readOrCompute(folder, measurementFile(sample, samples), SampleAttribution.class, () -> measure(sample, baseline));
    }

    /**
     * Measures one sample's curves into a run's folder, unless it holds them already (the second
     * half of {@link #run} for one sample that {@link #isKept}).
     *
     * @param folder the run's folder
     * @param sample the sample
     * @param samples every sample of the run, in order
     * @param rankings {@link #rankings} of the run's measurements
     * @param baseline {@link #baseline} of the samples
     * @return the curves
     */
    public SampleCurves curvesInto(ResultFolder folder, Sample sample, List<Sample> samples,
            List<Ranking> rankings, Baseline baseline) {
        return ResultFolder.readOrCompute(folder, curvesFile(sample, samples, rankings), SampleCurves.class,
                () -> curves(sample, baseline, rankings));
    }

    /**
     * @param folder the run's folder
     * @param samples every sample of the run, in order
     * @return their measurements as saved in the folder
     */
    public List<SampleAttribution> savedMeasurements(ResultFolder folder, List<Sample> samples) {
        return samples.stream().map(sample -> ResultFolder.readOrCompute(folder, measurementFile(sample, samples), SampleAttribution.class,
                () -> missing(folder, "measurement", sample))).toList();
    }

    /**
     * The result of a run whose every sample was measured into {@code folder} by
     * {@link #measureInto} and {@link #curvesInto}: the same value {@link #run} returns.
     *
     * @param folder the run's folder
     * @param samples every sample of the run, in order
     * @param seconds wall time of the run
     * @return the result
     */
    public AttributionResult savedResult(ResultFolder folder, List<Sample> samples, double seconds) {
        List<SampleAttribution> measured = savedMeasurements(folder, samples);
        List<Ranking> rankings = rankings(measured);
        Map<String, SampleAttribution> byId = new HashMap<>();
        measured.forEach(m -> byId.put(m.id(), m));
        List<SampleCurves> curves = samples.stream().filter(e -> isKept(byId.get(e.id())))
                .map(e -> ResultFolder.readOrCompute(folder, curvesFile(e, samples, rankings), SampleCurves.class,
                        () -> missing(folder, "curves", e))).toList();
        return new AttributionResult(Heads.of(model.config()), options, measured, rankings, curves, seconds);
    }

    private static <T> T missing(ResultFolder folder, String what, Sample sample) {
        throw new HeadlensException(folder.root() + ": holds no " + what + " of sample " + sample.id()
                + ", though its task finished; the folder must be one every worker writes to and the driver reads");
    }

    /**
     * @param sample a measured sample
     * @return whether it enters the rankings, curves and aggregates (correct, or incorrect ones kept)
     */
    public boolean isKept(SampleAttribution sample) {
        return sample.correct() || !options.dropIncorrect();
    }

    /**
     * @param measured every sample's measurement
     * @return the rankings the curves evaluate, from means over the samples kept
     */
    public List<Ranking> rankings(List<SampleAttribution> measured) {
        List<SampleAttribution> kept = measured.stream().filter(this::isKept).toList();
        if (kept.isEmpty()) {
            throw new HeadlensException("the model answers none of the " + measured.size()
                    + " samples correctly; keep incorrect samples (--keep-incorrect) to attribute anyway");
        }
        return Ranking.fromMeans(kept);
    }

    /** Where a sample's measurement is saved; the mean-image baseline makes it depend on every sample of the run. */
    private ResultFolder.SampleFile measurementFile(Sample sample, List<Sample> samples) {
        return ResultFolder.SampleFile.of("samples", sample.id(), sample.image()).dependingOn(baselineContext(samples));
    }

    /** Where a sample's curves are saved: they follow the rankings, so a run extended by more samples redoes them. */
    private ResultFolder.SampleFile curvesFile(Sample sample, List<Sample> samples, List<Ranking> rankings) {
        StringBuilder context = new StringBuilder(baselineContext(samples));
        for (Ranking ranking : rankings) {
            context.append('\n').append(ranking.name()).append(java.util.Arrays.toString(ranking.order()));
        }
        return ResultFolder.SampleFile.of("curves", sample.id(), sample.image()).dependingOn(context.toString());
    }

    private String baselineContext(List<Sample> samples) {
        return options.baseline() instanceof Baseline.MeanImage ? String.join("\n", samples.stream().map(Sample::id).toList()) : "";
    }

    /**
     * Refuses, before any work, what cannot run on this model: no samples, OLS with no more
     * masks than heads + 1, a top-k beyond the heads, or masks whose design matrix would not fit
     * in memory.
     *
     * @param samples the samples to attribute
     */
    public void check(List<Sample> samples) {
        if (samples.isEmpty()) {
            throw new HeadlensException("no samples to attribute");
        }
        for (Sample sample : samples) {
            sample.label(semantic);
            Answer.of(model, sample.answer(), firstToken);
        }
        boolean anyAppearance = samples.stream().anyMatch(s -> s.labels().containsKey(appearance));
        for (Sample sample : samples) {
            if (anyAppearance && !sample.labels().containsKey(appearance)) {
                throw new HeadlensException("sample " + sample.id() + " has no label " + appearance + " but others have; give every sample"
                        + " one, or compare another label (--appearance)");
            }
        }
        int count = model.config().text().layers() * model.config().text().heads();
        if (options.regression().kind() == Regression.Kind.OLS && options.masks() <= count + 1) {
            throw new HeadlensException("ordinary least squares needs more masks than heads + 1 (" + options.masks() + " masks for " + count
                    + " heads): raise --masks above " + (count + 1) + " or use --regression ridge or lasso");
        }
        if (options.regression().kind() != Regression.Kind.OLS && !(options.regression().lambda() >= 0
                && Double.isFinite(options.regression().lambda()))) {
            throw new HeadlensException("the penalty lambda must be a finite number >= 0, not " + options.regression().lambda());
        }
        if (options.topK() > count) {
            throw new HeadlensException("top-k " + options.topK() + " is more than the model's " + count + " heads");
        }
        long rows = (long) options.masks() + options.heldOutMasks() + count;
        long bytes = rows * count * (Double.BYTES + 8L);
        if (bytes > Runtime.getRuntime().maxMemory() / 2) {
            throw new HeadlensException(rows + " masks of " + count + " heads need about " + (bytes >> 20) + " MB per sample, more than half"
                    + " of the " + (Runtime.getRuntime().maxMemory() >> 20) + " MB this Java may use: use fewer masks");
        }
    }

    /**
     * Measures one sample: clean and all-ablated metric, the fit on random masks and its
     * held-out correlation, single-head ablations and the clean attention to the image.
     *
     * @param sample the sample
     * @param baseline what ablated heads see
     * @return the measurements
     */
    public SampleAttribution measure(Sample sample, Baseline baseline) {
        try (InterventionEngine engine = prepare(sample, baseline)) {
            return measure(sample, engine);
        }
    }

    /**
     * Measures one sample with an engine prepared for it.
     *
     * @param sample the sample
     * @param engine the engine, prepared on the sample's image with the run's baseline
     * @return the measurements
     */
    public SampleAttribution measure(Sample sample, InterventionEngine engine) {
        long start = System.nanoTime();
        Heads grid = Heads.of(model.config());
        int count = grid.count();
        Answer expected = Answer.of(model, sample.answer(), firstToken);
        int answer = expected.token();
        double[] attention = attentionToImage(engine);
        float[] cleanLogits = engine.clean();
        Metric.requireFinite(cleanLogits, "sample " + sample.id());
        double clean = options.metric().of(cleanLogits, answer);
        double allAblated = metric(engine.allAblated(), answer, sample.id() + " with every head ablated");
        Random random = new Random(seedFor(sample.id()));
        List<HeadMask> masks = new ArrayList<>();
        for (int i = 0; i < options.masks() + options.heldOutMasks(); i++) {
            masks.add(HeadMask.random(grid.layers(), grid.perLayer(), options.alpha(), random));
        }
        for (int h = 0; h < count; h++) {
            masks.add(HeadMask.ofIndices(grid, h));
        }
        double[] metric = measureMasks(engine, masks, answer, sample.id());
        int fitted = options.masks();
        int heldOut = fitted + options.heldOutMasks();
        double[][] x = new double[heldOut][count];
        for (int i = 0; i < heldOut; i++) {
            for (int h = 0; h < count; h++) {
                x[i][h] = masks.get(i).isAblated(grid.head(h)) ? 0 : 1;
            }
        }
        Regression.Fit fit = options.regression().fit(java.util.Arrays.copyOfRange(x, 0, fitted),
                java.util.Arrays.copyOfRange(metric, 0, fitted));
        double correlation = fit.correlation(java.util.Arrays.copyOfRange(x, fitted, heldOut),
                java.util.Arrays.copyOfRange(metric, fitted, heldOut));
        double[] single = new double[count];
        for (int h = 0; h < count; h++) {
            single[h] = clean - metric[heldOut + h];
        }
        boolean correct = expected.isPredicted(cleanLogits);
        return new SampleAttribution(sample.id(), sample.label(semantic), sample.labels().getOrDefault(appearance, ""), correct, clean, allAblated,
                fit.intercept(), fit.coefficients(), correlation, single, attention, (System.nanoTime() - start) / 1e9);
    }

    /** @return an engine on the sample's image and the prompt, with {@code baseline} */
    private InterventionEngine prepare(Sample sample, Baseline baseline) {
        try (NDManager scope = model.newScope()) {
            org.headlens.model.ImageInput image = model.preprocess(scope, sample.image());
            return InterventionEngine.prepare(model, Prompt.of(model, prompt, image), image.pixels(), baseline);
        }
    }

    /**
     * Measures the faithfulness and completeness curves of one sample.
     *
     * @param sample the sample
     * @param baseline what ablated heads see
     * @param rankings the rankings to evaluate; a random one (seeded by the sample id) is added
     * @return raw metric values per ranking and k
     */
    public SampleCurves curves(Sample sample, Baseline baseline, List<Ranking> rankings) {
        try (InterventionEngine engine = prepare(sample, baseline)) {
            return curves(sample, engine, rankings);
        }
    }

    /**
     * Measures the curves of one sample with an engine prepared for it.
     *
     * @param sample the sample
     * @param engine the engine, prepared on the sample's image with the run's baseline
     * @param rankings the rankings to evaluate; a random one (seeded by the sample id) is added
     * @return raw metric values per ranking and k
     */
    public SampleCurves curves(Sample sample, InterventionEngine engine, List<Ranking> rankings) {
        Heads grid = Heads.of(model.config());
        int count = grid.count();
        List<Ranking> all = new ArrayList<>(rankings);
        all.add(Ranking.random(count, new Random(seedFor(sample.id()) + 1)));
        int[] ks = kGrid(count, options.curvePoints());
        int answer = Answer.of(model, sample.answer(), firstToken).token();
        List<HeadMask> masks = new ArrayList<>();
        for (Ranking ranking : all) {
            for (int k : ks) {
                HeadMask ablateTop = HeadMask.ofIndices(grid, ranking.top(k));
                masks.add(ablateTop.inverted());
                masks.add(ablateTop);
            }
        }
        double[] metric = measureMasks(engine, masks, answer, sample.id());
        List<SampleCurves.Point> points = new ArrayList<>();
        int i = 0;
        for (Ranking ranking : all) {
            for (int k : ks) {
                points.add(new SampleCurves.Point(ranking.name(), k, metric[i], metric[i + 1]));
                i += 2;
            }
        }
        return new SampleCurves(sample.id(), metric(engine.clean(), answer, sample.id()),
                metric(engine.allAblated(), answer, sample.id() + " with every head ablated"), points);
    }

    /** @return distinct k from 0 to every head, at most {@code points} of them, evenly spread */
    static int[] kGrid(int heads, int points) {
        return java.util.stream.IntStream.range(0, Math.min(points, heads + 1))
                .map(i -> (int) Math.round(i * (double) heads / (Math.min(points, heads + 1) - 1))).distinct().toArray();
    }

    private double[] measureMasks(InterventionEngine engine, List<HeadMask> masks, int answer, String sample) {
        List<Intervention> interventions = masks.stream().map(Intervention::ablate).toList();
        float[][] logits = engine.finalLogits(interventions);
        double[] metric = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            if (!Metric.isFinite(logits[i])) {
                Metric.requireFinite(logits[i], "sample " + sample + " with mask " + i + " (" + masks.get(i).count() + " heads ablated)");
            }
            metric[i] = options.metric().of(logits[i], answer);
        }
        return metric;
    }

    /** The metric, or an error naming the sample (and the run) when its logits are not finite. */
    private double metric(float[] logits, int answer, String what) {
        Metric.requireFinite(logits, "sample " + what);
        return options.metric().of(logits, answer);
    }

    /**
     * Per head, attention mass from the final token to the image positions in the clean run, read
     * on the engine's fast path (the final token's attention covers every key).
     */
    private double[] attentionToImage(InterventionEngine engine) {
        Heads grid = Heads.of(model.config());
        double[] mass = new double[grid.count()];
        TokenLayout layout = engine.prompt().layout();
        try (ForwardResult result = engine.run(Intervention.none(), Capture.every(Site.Kind.ATTENTION_PATTERN))) {
            for (int l = 0; l < grid.layers(); l++) {
                float[] row = result.cache().at(Site.attentionPattern(l), layout.length() - 1)
                        .get(new NDIndex("0, :, {}:{}", layout.imageStart(), layout.imageEnd()))
                        .sum(new int[] {1}).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
                for (int h = 0; h < grid.perLayer(); h++) {
                    mass[grid.index(new Head(l, h))] = row[h];
                }
            }
        }
        return mass;
    }

    /**
     * The options' baseline, with the mean image of the run computed from its samples.
     *
     * @param samples every sample of the run
     * @param manager owns the mean image, when there is one
     * @return what ablated heads see
     */
    public Baseline baseline(List<Sample> samples, NDManager manager) {
        if (!(options.baseline() instanceof Baseline.MeanImage)) {
            return options.baseline();
        }
        return Baseline.meanOf(model, samples.stream().map(Sample::image).toList(), manager);
    }

    private long seedFor(String id) {
        return options.seed() * 1_000_003L + id.hashCode();
    }

    /**
     * Engines of the samples measured in a run, kept while their prefix caches fit in the memory
     * budget, so that a sample's curves reuse the prefix its measurement built.
     */
    private static final class Prepared implements AutoCloseable {
        private final long budget;
        private final Map<String, InterventionEngine> kept = new HashMap<>();
        private long used;

        Prepared(long budget) {
            this.budget = budget;
        }

        /** Runs {@code work} on {@code engine}, then keeps the engine for {@code id} if it fits. */
        <T> T keepAfter(String id, Function<InterventionEngine, T> work, InterventionEngine engine) {
            T result;
            try {
                result = work.apply(engine);
            } catch (RuntimeException e) {
                engine.close();
                throw e;
            }
            if (used + engine.prefixBytes() <= budget && !kept.containsKey(id)) {
                kept.put(id, engine);
                used += engine.prefixBytes();
            } else {
                engine.close();
            }
            return result;
        }

        /** Runs {@code work} on the engine kept for {@code id}, or on a new one, and closes it. */
        <T> T use(String id, Function<InterventionEngine, T> work, Supplier<InterventionEngine> prepare) {
            InterventionEngine engine = kept.remove(id);
            if (engine != null) {
                used -= engine.prefixBytes();
            }
            try (InterventionEngine running = engine != null ? engine : prepare.get()) {
                return work.apply(running);
            }
        }

        @Override
        public void close() {
            kept.values().forEach(InterventionEngine::close);
            kept.clear();
        }
    }
}
