package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.headlens.attribution.SampleAttribution;
import org.headlens.data.Sample;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.attribution.AttributionOptions;
import org.headlens.attribution.AttributionResult;
import org.headlens.attribution.HeadAttribution;
import org.headlens.attribution.Ranking;
import org.headlens.attribution.Regression;
import org.headlens.interventions.Baseline;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;

/** {@code attribute}: head attribution with baselines, evaluation curves and the similarity analysis, saved as CSV. */
final class AttributeCommand implements Main.Command {
    private static final AttributionOptions DEFAULTS = AttributionOptions.defaults();

    @Override
    public String summary() {
        return "head attribution and its evaluation, saved as CSV tables";
    }

    @Override
    public List<Options.Option> options() {
        List<Options.Option> list = new java.util.ArrayList<>(List.of(Options.MODEL, Options.DTYPE, Options.COMPUTE, Options.DEVICE, Options.OUT, Options.SAMPLES,
                Options.Option.integer("masks", "random masks per sample the fit is made on", 2, 1_000_000).byDefault(DEFAULTS.masks()),
                Options.Option.integer("held-out", "further masks on which the fit is checked", 2, 1_000_000).byDefault(DEFAULTS.heldOutMasks()),
                Options.Option.number("alpha", "probability that a mask ablates a head", 0, true, 1, true).byDefault(DEFAULTS.alpha()),
                Options.Option.integer("seed", "seed of the masks", 0, Integer.MAX_VALUE).byDefault(DEFAULTS.seed()),
                Options.Option.choice("metric", "what is measured about the answer", labels(Metric.values())).byDefault(DEFAULTS.metric().label()),
                Options.Option.choice("regression", "the linear model", "ols", "ridge", "lasso").byDefault("ols"),
                Options.Option.number("lambda", "penalty of ridge and lasso", 0, false, 1e6, false).byDefault(0.01),
                Options.Option.choice("baseline", "what ablated heads see at image positions",
                        Baseline.blank().label(), Baseline.meanImage().label(), Baseline.meanOverImagePositions().label())
                        .byDefault(DEFAULTS.baseline().label()),
                Options.Option.flag("keep-incorrect", "also attribute samples the model answers wrongly"),
                Options.Option.integer("curve-points", "at most this many k on the evaluation curves", 2, 100_000).byDefault(DEFAULTS.curvePoints()),
                Options.Option.integer("top-k", "heads compared by the top-k overlap of the similarity analysis", 1, 1_000_000)
                        .byDefault(DEFAULTS.topK()),
                Options.Option.text("semantic", "LABEL", "the grouping compared as semantic (answer or a label column)")
                        .byDefault(HeadAttribution.DEFAULT_SEMANTIC),
                Options.Option.text("appearance", "LABEL", "the grouping compared as appearance (a label column; without it only"
                        + " same versus other semantic group is compared)").byDefault(HeadAttribution.DEFAULT_APPEARANCE),
                Options.FIRST_TOKEN, Options.PROMPT, Options.SPARK));
        list.addAll(1, Options.DATA_OPTIONS);
        return list;
    }

    /** @return the attribution options the command line gives */
    static AttributionOptions attributionOptions(Options options) {
        String regression = options.string("regression", null);
        double lambda = options.number("lambda", 0);
        return DEFAULTS.withMasks(options.integer("masks", 0))
                .withHeldOutMasks(options.integer("held-out", 0))
                .withAlpha(options.number("alpha", 0))
                .withSeed(options.integer("seed", 0))
                .withMetric(Metric.parse(options.string("metric", null)))
                .withRegression(switch (regression) {
                    case "ridge" -> Regression.ridge(lambda);
                    case "lasso" -> Regression.lasso(lambda);
                    default -> Regression.ols();
                })
                .withBaseline(Baseline.parse(options.string("baseline", null)))
                .withDropIncorrect(!options.flag("keep-incorrect"))
                .withCurvePoints(options.integer("curve-points", 0))
                .withTopK(options.integer("top-k", 0));
    }

    static String[] labels(Metric[] metrics) {
        return Arrays.stream(metrics).map(Metric::label).toArray(String[]::new);
    }

    @Override
    public int run(Options options, PrintStream out) {
        String regression = options.string("regression", null);
        if (regression.equals("ols") && options.given("lambda")) {
            throw new HeadlensException("--lambda is the penalty of ridge and lasso; ordinary least squares (--regression ols) has none");
        }
        RunInputs inputs = RunInputs.read(options);
        AttributionOptions attributionOptions = attributionOptions(options);
        AttributionResult result;
        // the engine first: a missing Spark module is told before minutes of loading a model
        try (Distributed engine = options.given("spark") ? Distributed.open(options.string("spark", null), "headlens attribute") : null;
                Lvlm model = Lvlm.load(inputs.model(), Options.loadOptions(options))) {
            JsonObject manifest = inputs.manifest("attribute", options);
            result = write(model, inputs, attributionOptions, manifest, out, engine == null ? null : new Tasks(engine, options));
        }
        Map<String, Double> areas = result.faithfulnessAreas();
        out.println();
        out.print(result.areas().printAll());
        out.println();
        out.print(result.similarity().printAll());
        out.println();
        if (!result.similarityMissing().isEmpty()) {
            out.println("semantic versus appearance: " + result.similarityMissing());
        }
        out.printf("attribute: samples=%d masks=%d heldout_r=%.4f faithfulness_auc=%.4f single_head_auc=%.4f attention_auc=%.4f"
                + " random_auc=%.4f seconds=%.1f%n", result.used().size(), attributionOptions.masks(), result.meanHeldOutCorrelation(),
                areas.get(Ranking.ATTRIBUTION), areas.get(Ranking.SINGLE_HEAD), areas.get(Ranking.ATTENTION),
                areas.get(Ranking.RANDOM), result.seconds());
        return 0;
    }

    /**
     * Runs the attribution and writes its tables and manifest into the inputs' folder. Everything
     * is checked (folder, model, options against the model) before the folder is claimed, so a
     * refused run leaves it as it was.
     *
     * @return the result
     */
    static AttributionResult write(Lvlm model, RunInputs inputs, AttributionOptions attributionOptions, JsonObject manifest, PrintStream out) {
        return write(model, inputs, attributionOptions, manifest, out, null);
    }

    /**
     * As {@link #write(Lvlm, RunInputs, AttributionOptions, JsonObject, PrintStream)}, with every
     * sample's work done as a task of {@code tasks} when it is given.
     */
    static AttributionResult write(Lvlm model, RunInputs inputs, AttributionOptions attributionOptions, JsonObject manifest, PrintStream out,
            Tasks tasks) {
        manifest.add("attribution_options", Manifest.options(attributionOptions));
        JsonObject identity = Manifest.identity(manifest, "attribution_options");
        ResultFolder.check(inputs.out(), identity);
        if (!inputs.dataSummary().isEmpty()) {
            out.println(inputs.dataSummary());
        }
        HeadAttribution attribution = attribution(model, inputs, attributionOptions, out);
        attribution.check(inputs.samples());
        try (ResultFolder folder = ResultFolder.claim(inputs.out(), identity)) {
            AttributionResult result = tasks == null ? attribution.run(inputs.samples(), folder)
                    : tasks.run(model, attribution, inputs, identity, folder, manifest);
            folder.writeCsv("samples", result.samples());
            folder.writeCsv("heads", result.heads());
            folder.writeCsv("per_sample_heads", result.perSampleHeads());
            folder.writeCsv("by_class", result.byClass());
            folder.writeCsv("curves", result.curvesTable());
            folder.writeCsv("areas", result.areas());
            folder.writeCsv("similarity", result.similarity());
            folder.writeCsv("similarity_matrix", result.similarityMatrix());
            manifest.addProperty("samples_used", result.used().size());
            manifest.addProperty("similarity_missing", result.similarityMissing());
            manifest.addProperty("heldout_r", result.meanHeldOutCorrelation());
            Manifest.finish(manifest, result.seconds());
            folder.writeJson("manifest.json", manifest);
            return result;
        }
    }

    /**
     * The attribution the inputs and options describe, made the same way by the command and by
     * each worker of a distributed run, so both measure alike.
     *
     * @param out where progress goes, or null for none
     */
    static HeadAttribution attribution(Lvlm model, RunInputs inputs, AttributionOptions attributionOptions, PrintStream out) {
        return HeadAttribution.of(model).options(attributionOptions).prompt(inputs.prompt()).progress(out)
                .firstToken(inputs.firstToken()).groupings(inputs.semantic(), inputs.appearance());
    }

    /**
     * The distributed path: every sample's measurement, then every kept sample's curves, as one
     * task each, written into the folder through the same per-sample methods {@link HeadAttribution#run}
     * uses; the driver then reads the folder.
     */
    static final class Tasks {
        private final Distributed engine;
        private final Options options;

        Tasks(Distributed engine, Options options) {
            this.engine = engine;
            this.options = options;
        }

        AttributionResult run(Lvlm model, HeadAttribution attribution, RunInputs inputs, JsonObject identity, ResultFolder folder, JsonObject manifest) {
            long start = System.nanoTime();
            String[] arguments = Workers.arguments(options, inputs, Map.of());
            String id = identity.toString();
            List<String> ids = inputs.samples().stream().map(Sample::id).toList();
            List<String> samples = Workers.describe(inputs.samples());
            try (Workers.Loan loan = Workers.lend(model)) {
                engine.run("attribute", ids, new Measure(arguments, id, null, samples));
                List<SampleAttribution> measured = attribution.savedMeasurements(folder, inputs.samples());
                List<Ranking> rankings = attribution.rankings(measured);
                List<String> kept = measured.stream().filter(attribution::isKept).map(SampleAttribution::id).toList();
                engine.run("attribute curves", kept, new Measure(arguments, id, RANKINGS.toJson(rankings), samples));
                manifest.add("spark", engine.describe());
                return attribution.savedResult(folder, inputs.samples(), (System.nanoTime() - start) / 1e9);
            }
        }
    }

    private static final Gson RANKINGS = new Gson();

    /**
     * One sample's measurement (rankings null) or curves (rankings given), in the worker that runs it.
     *
     * @param arguments the command's options for a worker ({@link Workers#arguments})
     * @param identity the run's identity, as the claimed folder's {@code run.json} holds it
     * @param rankings the rankings as JSON, for the curves; null for the measurement
     * @param samples {@link Workers#describe} of the driver's samples, which the worker's reading must equal
     */
    record Measure(String[] arguments, String identity, String rankings, List<String> samples) implements Distributed.Task {
        @Override
        public void run(String sampleId) {
            AttributeCommand command = new AttributeCommand();
            Options options = Options.parse("attribute", command.options(), arguments, Map.of());
            RunInputs inputs = Workers.inputs(arguments, options, samples);
            Sample sample = Workers.sample(inputs, sampleId);
            Workers.withModel(inputs, Options.loadOptions(options), model -> {
                HeadAttribution attribution = attribution(model, inputs, attributionOptions(options), null);
                Baseline baseline = Workers.baseline(model, attribution.options().baseline().label(), inputs.samples(),
                        scope -> attribution.baseline(inputs.samples(), scope));
                try (ResultFolder folder = ResultFolder.join(inputs.out(), JsonParser.parseString(identity).getAsJsonObject())) {
                    if (rankings == null) {
                        attribution.measureInto(folder, sample, inputs.samples(), baseline);
                    } else {
                        List<Ranking> parsed = Arrays.asList(RANKINGS.fromJson(rankings, Ranking[].class));
                        attribution.curvesInto(folder, sample, inputs.samples(), parsed, baseline);
                    }
                }
            });
        }
    }
}
