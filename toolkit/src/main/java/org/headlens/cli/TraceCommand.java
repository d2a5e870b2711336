package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.HashMap;
import org.headlens.data.Sample;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.flow.FlowOptions;
import org.headlens.flow.FlowPair;
import org.headlens.flow.FlowResult;
import org.headlens.flow.FlowTracer;
import org.headlens.metric.Metric;
import org.headlens.model.Lvlm;
import org.headlens.results.ResultFolder;
import tech.tablesaw.api.Table;
import tech.tablesaw.io.csv.CsvReadOptions;

/** {@code trace}: token-level flow by attention knockout over sliding layer windows, saved as CSV. */
final class TraceCommand implements Main.Command {
    private static final FlowOptions DEFAULTS = FlowOptions.defaults();

    @Override
    public String summary() {
        return "token-level information flow by attention knockout, saved as CSV tables";
    }

    @Override
    public List<Options.Option> options() {
        List<Options.Option> list = new ArrayList<>(List.of(Options.MODEL, Options.DTYPE, Options.COMPUTE, Options.DEVICE, Options.OUT, Options.SAMPLES,
                Options.Option.integer("window", "consecutive layers cut at once (default a quarter of the layers)", 1, 100_000),
                Options.Option.text("pairs", "LIST", "flows to cut, e.g. question->final,image_object->suffix_text (default the paper's seven)"),
                Options.Option.number("threshold", "covered fraction from which a patch is object", 0, true, 1, false)
                        .byDefault(DEFAULTS.objectThreshold()),
                Options.Option.choice("metric", "what is measured about the answer", AttributeCommand.labels(Metric.values()))
                        .byDefault(DEFAULTS.metric().label()),
                Options.Option.text("heads", "LIST", "cut only in these heads, e.g. L3H1,L4H0 (default every head)"),
                Options.Option.path("top-heads", "FILE", "cut only in the top --top-k heads of an attribution's heads.csv"),
                Options.Option.integer("top-k", "how many heads of --top-heads", 1, 1_000_000).byDefault(10),
                Options.Option.flag("keep-incorrect", "also trace samples the model answers wrongly"),
                Options.FIRST_TOKEN, Options.PROMPT, Options.SPARK));
        list.addAll(1, Options.DATA_OPTIONS);
        return list;
    }

    @Override
    public int run(Options options, PrintStream out) {
        FlowOptions flowOptions = flowOptions(options);
        RunInputs inputs = RunInputs.read(options);
        FlowResult result;
        // the engine first: a missing Spark module is told before minutes of loading a model
        try (Distributed engine = options.given("spark") ? Distributed.open(options.string("spark", null), "headlens trace") : null;
                Lvlm model = Lvlm.load(inputs.model(), Options.loadOptions(options))) {
            result = write(model, inputs, flowOptions, inputs.manifest("trace", options), out, engine == null ? null
                    : (tracer, identity, folder, manifest) -> distributed(engine, model, options, flowOptions, tracer, inputs, identity, folder,
                            manifest));
        }
        Table summary = result.summary();
        String strongest = result.strongest();
        out.println();
        out.print(summary.printAll());
        out.println();
        out.printf("trace: samples=%d windows=%d strongest=%s seconds=%.1f%n", result.used().size(), result.windows(), strongest, result.seconds());
        return 0;
    }

    /**
     * Traces the flows and writes the tables and manifest into the inputs' folder. Everything is
     * checked (folder, model, heads and window against the model) before the folder is claimed,
     * so a refused run leaves it as it was.
     *
     * @return the result
     */
    static FlowResult write(Lvlm model, RunInputs inputs, FlowOptions flowOptions, JsonObject manifest, PrintStream out) {
        return write(model, inputs, flowOptions, manifest, out, null);
    }

    /** The per-sample work done elsewhere (e.g. on Spark), into the claimed folder. */
    interface Elsewhere {
        FlowResult run(FlowTracer tracer, JsonObject identity, ResultFolder folder, JsonObject manifest);
    }

    /** @return the flow options the command line gives */
    static FlowOptions flowOptions(Options options) {
        String pairs = options.string("pairs", null);
        return DEFAULTS.withWindowSize(options.integer("window", DEFAULTS.windowSize()))
                .withPairs(pairs == null ? DEFAULTS.pairs() : Arrays.stream(pairs.split(",")).map(FlowPair::parse).toList())
                .withObjectThreshold(options.number("threshold", 0))
                .withMetric(Metric.parse(options.string("metric", null)))
                .withHeads(heads(options))
                .withDropIncorrect(!options.flag("keep-incorrect"));
    }

    /** Every sample traced as a task of {@code engine}; the driver then reads the folder. */
    private static FlowResult distributed(Distributed engine, Lvlm model, Options options, FlowOptions flowOptions, FlowTracer tracer,
            RunInputs inputs, JsonObject identity, ResultFolder folder, JsonObject manifest) {
        long start = System.nanoTime();
        // heads from --top-heads are read here once: a worker need not see that file
        Map<String, String> replaced = new HashMap<>();
        replaced.put("top-heads", null);
        replaced.put("top-k", null);
        replaced.put("heads", flowOptions.heads().isEmpty() ? null
                : String.join(",", flowOptions.heads().stream().map(Head::toString).toList()));
        String[] arguments = Workers.arguments(options, inputs, replaced);
        try (Workers.Loan loan = Workers.lend(model)) {
            engine.run("trace", inputs.samples().stream().map(Sample::id).toList(),
                    new Trace(arguments, identity.toString(), Workers.describe(inputs.samples())));
        }
        manifest.add("spark", engine.describe());
        return tracer.savedResult(folder, inputs.samples(), (System.nanoTime() - start) / 1e9);
    }

    /**
     * The tracer the inputs and options describe, made the same way by the command and by each
     * worker of a distributed run, so both trace alike.
     *
     * @param out where progress goes, or null for none
     */
    static FlowTracer tracer(Lvlm model, RunInputs inputs, FlowOptions flowOptions, PrintStream out) {
        return FlowTracer.of(model).options(flowOptions).prompt(inputs.prompt()).progress(out).firstToken(inputs.firstToken());
    }

    /**
     * One sample's trace, in the worker that runs it.
     *
     * @param arguments the command's options for a worker ({@link Workers#arguments})
     * @param identity the run's identity, as the claimed folder's {@code run.json} holds it
     * @param samples {@link Workers#describe} of the driver's samples, which the worker's reading must equal
     */
    record Trace(String[] arguments, String identity, List<String> samples) implements Distributed.Task {
        @Override
        public void run(String sampleId) {
            Options options = Options.parse("trace", new TraceCommand().options(), arguments, Map.of());
            RunInputs inputs = Workers.inputs(arguments, options, samples);
            Sample sample = Workers.sample(inputs, sampleId);
            Workers.withModel(inputs, Options.loadOptions(options), model -> {
                FlowTracer tracer = tracer(model, inputs, flowOptions(options), null);
                try (ResultFolder folder = ResultFolder.join(inputs.out(), JsonParser.parseString(identity).getAsJsonObject())) {
                    tracer.traceInto(folder, sample);
                }
            });
        }
    }

    /** As {@link #write(Lvlm, RunInputs, FlowOptions, JsonObject, PrintStream)}, the samples traced {@code elsewhere} when given. */
    static FlowResult write(Lvlm model, RunInputs inputs, FlowOptions flowOptions, JsonObject manifest, PrintStream out, Elsewhere elsewhere) {
        manifest.add("flow_options", Manifest.options(flowOptions));
        JsonObject identity = Manifest.identity(manifest, "flow_options");
        ResultFolder.check(inputs.out(), identity);
        if (!inputs.dataSummary().isEmpty()) {
            out.println(inputs.dataSummary());
        }
        FlowTracer tracer = tracer(model, inputs, flowOptions, out);
        tracer.check(inputs.samples());
        Map<String, Integer> skipped = tracer.skippedWithoutMask(inputs.samples());
        if (!skipped.isEmpty()) {
            out.println("trace: " + skipped.values().iterator().next() + " of " + inputs.samples().size() + " samples have no object mask,"
                    + " so these pairs are skipped for them: " + String.join(", ", skipped.keySet()));
        }
        try (ResultFolder folder = ResultFolder.claim(inputs.out(), identity)) {
            FlowResult result = elsewhere == null ? tracer.run(inputs.samples(), folder) : elsewhere.run(tracer, identity, folder, manifest);
            folder.writeCsv("samples", result.samples());
            folder.writeCsv("knockouts", result.knockouts());
            folder.writeCsv("curves", result.curves());
            folder.writeCsv("summary", result.summary());
            manifest.addProperty("window_size", result.windowSize());
            manifest.addProperty("samples_used", result.used().size());
            manifest.addProperty("strongest", result.strongest());
            manifest.addProperty("pairs_skipped_without_mask", String.join(",", result.skippedPairs()));
            Manifest.finish(manifest, result.seconds());
            folder.writeJson("manifest.json", manifest);
            return result;
        }
    }

    /** Heads named with --heads, or the top --top-k of an attribution's heads.csv; none means every head. */
    private static List<Head> heads(Options options) {
        String named = options.string("heads", null);
        String file = options.given("top-heads") ? options.path("top-heads", null).toString() : null;
        if (named != null && file != null) {
            throw new HeadlensException("give either --heads or --top-heads, not both");
        }
        if (file == null && options.given("top-k")) {
            throw new HeadlensException("--top-k counts the heads taken from --top-heads FILE, which is not given");
        }
        if (named != null) {
            return Arrays.stream(named.split(",")).map(Head::parse).toList();
        }
        if (file == null) {
            return List.of();
        }
        Path path = Path.of(file);
        if (!Files.isRegularFile(path)) {
            throw new HeadlensException(path + ": no such file (expected the heads.csv an attribute run writes)");
        }
        Table heads;
        try {
            heads = Table.read().usingOptions(CsvReadOptions.builder(path.toFile()));
        } catch (RuntimeException e) {
            throw new HeadlensException(path + ": not a readable CSV table (" + e.getMessage() + ")");
        }
        for (String column : List.of("layer", "head", "attribution")) {
            if (!heads.columnNames().contains(column)) {
                throw new HeadlensException(path + ": has no '" + column + "' column; expected the heads.csv an attribute run writes");
            }
            if (!(heads.column(column) instanceof tech.tablesaw.api.NumericColumn<?>) || heads.column(column).countMissing() > 0) {
                throw new HeadlensException(path + ": column '" + column + "' must hold a number in every row");
            }
        }
        Table sorted = heads.sortDescendingOn("attribution");
        int k = options.integer("top-k", 0);
        List<Head> top = new ArrayList<>();
        for (int i = 0; i < Math.min(k, sorted.rowCount()); i++) {
            double layer = ((Number) sorted.column("layer").get(i)).doubleValue();
            double head = ((Number) sorted.column("head").get(i)).doubleValue();
            if (layer != Math.rint(layer) || head != Math.rint(head) || layer < 0 || head < 0 || layer > Integer.MAX_VALUE || head > Integer.MAX_VALUE) {
                throw new HeadlensException(path + ": row " + (i + 1) + " of the top heads names layer " + layer + " head " + head
                        + ", not a head (whole numbers from 0)");
            }
            top.add(new Head((int) layer, (int) head));
        }
        return top;
    }
}
