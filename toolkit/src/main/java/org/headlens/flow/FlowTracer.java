package org.headlens.flow;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.headlens.HeadlensException;
import org.headlens.interventions.Baseline;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.Knockout;
import org.headlens.forward.TokenGroup;
import org.headlens.forward.TokenSet;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.metric.Answer;
import org.headlens.metric.Metric;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.headlens.model.TokenGrid;
import org.headlens.results.Progress;
import org.headlens.results.ResultFolder;

/**
 * Token-level information flow (attention knockout): for each pair of token groups and each
 * window of consecutive layers, the target's queries may not attend to the source's keys there,
 * and the change of the answer's metric is recorded.
 *
 * <pre>{@code
 * FlowResult flow = FlowTracer.of(model).options(FlowOptions.defaults().withWindowSize(2)).run(samples);
 * show(flow.curves());
 * }</pre>
 */
public final class FlowTracer {
    private final Lvlm model;
    private final FlowOptions options;
    private final String prompt;
    private final PrintStream log;
    private final boolean firstToken;

    private FlowTracer(Lvlm model, FlowOptions options, String prompt, PrintStream log) {
        this(model, options, prompt, log, false);
    }

    private FlowTracer(Lvlm model, FlowOptions options, String prompt, PrintStream log, boolean firstToken) {
        this.firstToken = firstToken;
        this.model = model;
        this.options = options;
        this.prompt = prompt;
        this.log = log;
    }

    /** @return a tracer on {@code model} with default options, the object question and progress on standard output */
    public static FlowTracer of(Lvlm model) {
        return new FlowTracer(model, FlowOptions.defaults(), TinyModel.OBJECT_PROMPT, System.out);
    }

    /** @return a copy with these options */
    public FlowTracer options(FlowOptions value) {
        return new FlowTracer(model, value, prompt, log, firstToken);
    }

    /** @return a copy asking {@code text} (with its image placeholder) */
    public FlowTracer prompt(String text) {
        return new FlowTracer(model, options, text, log, firstToken);
    }

    /** @return a copy printing progress to {@code out} (null: silent) */
    public FlowTracer progress(PrintStream out) {
        return new FlowTracer(model, options, prompt, out, firstToken);
    }

    /**
     * @param value whether answers of several tokens are measured on their first token (see
     *        {@link Answer#of(Lvlm, String, boolean)}); otherwise they are refused
     * @return a copy with that answer rule
     */
    public FlowTracer firstToken(boolean value) {
        return new FlowTracer(model, options, prompt, log, value);
    }

    /**
     * @param pair a flow
     * @return whether cutting it needs the sample's object mask (object, background and the
     *         random image tokens, which are as many as the object's)
     */
    public static boolean needsMask(FlowPair pair) {
        return isMaskGroup(pair.source()) || isMaskGroup(pair.target());
    }

    private static boolean isMaskGroup(TokenGroup group) {
        return group == TokenGroup.IMAGE_OBJECT || group == TokenGroup.IMAGE_BACKGROUND || group == TokenGroup.IMAGE_RANDOM;
    }

    /**
     * @param samples the samples to trace
     * @return the pairs that need an object mask, with how many of the samples have none (those
     *         samples are traced on the other pairs only); empty when every sample has a mask
     */
    public Map<String, Integer> skippedWithoutMask(List<Sample> samples) {
        long without = samples.stream().filter(s -> !s.hasMask()).count();
        Map<String, Integer> skipped = new LinkedHashMap<>();
        if (without > 0) {
            options.pairs().stream().filter(FlowTracer::needsMask).forEach(p -> skipped.put(p.label(), (int) without));
        }
        return skipped;
    }

    /** @return the options */
    public FlowOptions options() {
        return options;
    }

    /** @return the first layer of every window position */
    public int[] windowStarts() {
        int layers = model.config().text().layers();
        return IntStream.rangeClosed(0, layers - options.windowSize(layers)).toArray();
    }

    /**
     * Traces every sample in memory.
     *
     * @param samples the samples
     * @return the results
     */
    public FlowResult run(List<Sample> samples) {
        return run(samples, null);
    }

    /**
     * Traces every sample, saving each one's knockouts in {@code folder} as it finishes; a rerun
     * with the same folder skips what is there.
     *
     * @param samples the samples
     * @param folder where per-sample results go, or null to keep them in memory only
     * @return the results
     */
    public FlowResult run(List<Sample> samples, ResultFolder folder) {
        check(samples);
        if (folder != null) {
            ResultFolder.checkSampleIds(samples.stream().map(Sample::id).toList(), "the samples");
        }
        long start = System.nanoTime();
        List<SampleFlow> traced = new ArrayList<>();
        Progress progress = new Progress("trace", samples.size(), log, 2);
        for (Sample sample : samples) {
            traced.add(ResultFolder.readOrCompute(folder, flowFile(sample), SampleFlow.class, () -> trace(sample)));
            progress.step(sample.id());
        }
        int layers = model.config().text().layers();
        return new FlowResult(options, options.windowSize(layers), traced, (System.nanoTime() - start) / 1e9);
    }

    /**
     * Traces one sample into a run's folder, unless it holds the trace already: {@link #run} for
     * one sample, for engines that send each sample to another process (e.g. a Spark task).
     *
     * @param folder the run's folder (e.g. from {@link ResultFolder#join})
     * @param sample the sample
     * @return its trace
     */
    public SampleFlow traceInto(ResultFolder folder, Sample sample) {
        return ResultFolder.readOrCompute(folder, flowFile(sample), SampleFlow.class, () -> trace(sample));
    }

    /**
     * The result of a run whose every sample was traced into {@code folder} by {@link #traceInto}:
     * the same value {@link #run} returns.
     *
     * @param folder the run's folder
     * @param samples every sample of the run, in order
     * @param seconds wall time of the run
     * @return the result
     */
    public FlowResult savedResult(ResultFolder folder, List<Sample> samples, double seconds) {
        List<SampleFlow> traced = samples.stream().map(sample -> ResultFolder.readOrCompute(folder, flowFile(sample), SampleFlow.class, () -> {
            throw new HeadlensException(folder.root() + ": holds no trace of sample " + sample.id()
                    + ", though its task finished; the folder must be one every worker writes to and the driver reads");
        })).toList();
        return new FlowResult(options, options.windowSize(model.config().text().layers()), traced, seconds);
    }

    private static ResultFolder.SampleFile flowFile(Sample sample) {
        return ResultFolder.SampleFile.of("flow", sample.id(), sample.image());
    }

    /**
     * Refuses, before any work, what cannot run on this model: no samples, a window wider than
     * the model, or a head it does not have.
     *
     * @param samples the samples to trace
     */
    public void check(List<Sample> samples) {
        if (samples.isEmpty()) {
            throw new HeadlensException("no samples to trace");
        }
        for (Sample sample : samples) {
            Answer.of(model, sample.answer(), firstToken);
        }
        int layers = model.config().text().layers();
        int heads = model.config().text().heads();
        options.windowSize(layers);
        for (Head head : options.heads()) {
            if (head.layer() < 0 || head.layer() >= layers || head.head() < 0 || head.head() >= heads) {
                throw new HeadlensException("head " + head + " does not exist in this model of " + layers + " layers (L0 to L" + (layers - 1)
                        + ") of " + heads + " heads (H0 to H" + (heads - 1) + ")");
            }
        }
    }

    /**
     * Cuts every pair in every window for one sample.
     *
     * @param sample the sample (its mask gives the object tokens)
     * @return the metric of the clean run and of each knockout
     */
    public SampleFlow trace(Sample sample) {
        long start = System.nanoTime();
        int layers = model.config().text().layers();
        int size = options.windowSize(layers);
        int[] starts = windowStarts();
        Answer answer = Answer.of(model, sample.answer(), firstToken);
        HeadMask heads = options.heads().isEmpty() ? null : HeadMask.of(layers, model.config().text().heads(), options.heads());
        try (NDManager scope = model.newScope()) {
            org.headlens.model.ImageInput image = model.preprocess(scope, sample.image());
            NDArray pixels = image.pixels();
            // the family maps the mask through its layout (patch grid, tiles and newlines, merged windows);
            // without a mask there are no object, background or random image tokens: those pairs are skipped
            Prompt question = sample.hasMask()
                    ? Prompt.of(model, prompt, image).withObjectMask(model, sample.readMask(), options.objectThreshold())
                    : Prompt.of(model, prompt, image);
            List<FlowPair> pairs = options.pairs().stream().filter(p -> sample.hasMask() || !needsMask(p)).toList();
            List<Intervention> interventions = new ArrayList<>();
            for (FlowPair pair : pairs) {
                for (int first : starts) {
                    int[] window = IntStream.range(first, first + size).toArray();
                    interventions.add(Intervention.knockout(new Knockout(pair.source(), pair.target(), window, heads)));
                }
            }
            // knockouts leave the baseline unused; the mean over image positions costs no extra prefix run
            try (InterventionEngine engine = InterventionEngine.prepare(model, question, pixels, Baseline.meanOverImagePositions())) {
                float[] cleanLogits = engine.clean();
                Metric.requireFinite(cleanLogits, "sample " + sample.id());
                float[][] knocked = engine.finalLogits(interventions);
                List<SampleFlow.Point> points = new ArrayList<>();
                int i = 0;
                for (FlowPair pair : pairs) {
                    for (int first : starts) {
                        if (!Metric.isFinite(knocked[i])) {
                            Metric.requireFinite(knocked[i], "sample " + sample.id() + " with " + pair.label() + " cut from layer " + first);
                        }
                        points.add(new SampleFlow.Point(pair.label(), first, options.metric().of(knocked[i++], answer.token())));
                    }
                }
                return new SampleFlow(sample.id(), sample.answer(), sample.labels().getOrDefault("style", ""), answer.isPredicted(cleanLogits),
                        options.metric().of(cleanLogits, answer.token()), sample.hasMask() ? question.positions(TokenGroup.IMAGE_OBJECT).length : 0,
                        question.positions(TokenGroup.IMAGE).length, points, (System.nanoTime() - start) / 1e9);
            }
        }
    }

    /**
     * Cuts each image patch, alone and in every layer, from the text after the image: the map
     * of where in the image the answer reads from (restricted to the option's heads, if any), on
     * each of the family's token grids.
     *
     * @param sample the sample
     * @return the metric change per patch
     */
    public PatchEffects patchEffects(Sample sample) {
        Answer answer = Answer.of(model, sample.answer(), firstToken);
        try (NDManager scope = model.newScope()) {
            ImageInput image = model.preprocess(scope, sample.image());
            return patchEffects(sample.id(), Prompt.of(model, prompt, image), image, answer.token());
        }
    }

    /**
     * Cuts each image token that shows a patch, alone and in every layer, from the text after the
     * image, for a prompt built elsewhere (e.g. from token ids).
     *
     * @param id what the result is called
     * @param question the prompt, laid out for {@code image}
     * @param image the preprocessed image
     * @param answerToken the token the metric is measured on
     * @return the metric change per cell of each of the family's token grids
     */
    public PatchEffects patchEffects(String id, Prompt question, ImageInput image, int answerToken) {
        int layers = model.config().text().layers();
        int[] every = IntStream.range(0, layers).toArray();
        HeadMask heads = options.heads().isEmpty() ? null : HeadMask.of(layers, model.config().text().heads(), options.heads());
        List<TokenGrid> grids = model.family().tokenGrids(question.layout().imageGrid());
        int imageStart = question.layout().imageStart();
        List<Intervention> interventions = new ArrayList<>();
        for (TokenGrid grid : grids) {
            for (int cell = 0; cell < grid.tokens().length; cell++) {
                TokenSet patch = TokenSet.of(grid.name() + " " + (cell / grid.columns()) + "," + (cell % grid.columns()),
                        imageStart + grid.tokens()[cell]);
                interventions.add(Intervention.knockout(new Knockout(patch, TokenGroup.SUFFIX_TEXT, every, heads)));
            }
        }
        // knockouts leave the baseline unused; the mean over image positions costs no extra prefix run
        try (InterventionEngine engine = InterventionEngine.prepare(model, question, image.pixels(), Baseline.meanOverImagePositions())) {
            float[] cleanLogits = engine.clean();
            Metric.requireFinite(cleanLogits, "sample " + id);
            double clean = options.metric().of(cleanLogits, answerToken);
            float[][] knocked = engine.finalLogits(interventions);
            List<PatchEffects.Grid> maps = new ArrayList<>();
            int i = 0;
            for (TokenGrid grid : grids) {
                int[] positions = IntStream.of(grid.tokens()).map(t -> imageStart + t).toArray();
                double[] change = new double[positions.length];
                for (int cell = 0; cell < change.length; cell++, i++) {
                    if (!Metric.isFinite(knocked[i])) {
                        Metric.requireFinite(knocked[i], "sample " + id + " with " + grid.name() + " cell " + cell + " cut");
                    }
                    change[cell] = options.metric().of(knocked[i], answerToken) - clean;
                }
                maps.add(new PatchEffects.Grid(grid.name(), grid.rows(), grid.columns(), positions, change));
            }
            return new PatchEffects(id, clean, maps);
        }
    }
}
