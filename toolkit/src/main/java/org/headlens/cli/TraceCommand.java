package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
    @Override
    public String summary() {
        return "token-level information flow: [--model DIR] [--data DIR] --out DIR [--samples N] [--window LAYERS]"
                + " [--pairs question->final,image_object->suffix_text,...] [--threshold 0.5]"
                + " [--metric probability|logit|log-prob|margin] [--heads L3H1,L4H0 | --top-heads heads.csv --top-k 10]"
                + " [--keep-incorrect] [--prompt TEXT]";
    }

    @Override
    public int run(Options options, PrintStream out) {
        RunInputs inputs = RunInputs.read(options);
        FlowOptions defaults = FlowOptions.defaults();
        String pairs = options.string("pairs", null);
        FlowOptions flowOptions = defaults.withWindowSize(options.integer("window", defaults.windowSize()))
                .withPairs(pairs == null ? defaults.pairs() : Arrays.stream(pairs.split(",")).map(FlowPair::parse).toList())
                .withObjectThreshold(options.number("threshold", defaults.objectThreshold()))
                .withMetric(Metric.parse(options.string("metric", defaults.metric().label())))
                .withHeads(heads(options))
                .withDropIncorrect(!options.flag("keep-incorrect"));
        FlowResult result = write(inputs, flowOptions, inputs.manifest("trace", options), out);
        Table summary = result.summary();
        String strongest = result.strongest();
        out.println();
        out.print(summary.printAll());
        out.println();
        out.printf("trace: samples=%d windows=%d strongest=%s seconds=%.1f%n", result.used().size(), result.windows(), strongest, result.seconds());
        return 0;
    }

    /**
     * Traces the flows and writes the tables and manifest into the inputs' folder.
     *
     * @return the result
     */
    static FlowResult write(RunInputs inputs, FlowOptions flowOptions, JsonObject manifest, PrintStream out) {
        manifest.add("flow_options", new Gson().toJsonTree(flowOptions));
        Manifest.claim(inputs.folder(), manifest, "flow_options");
        FlowResult result;
        try (Lvlm model = Lvlm.load(inputs.model())) {
            result = FlowTracer.of(model).options(flowOptions).prompt(inputs.prompt()).progress(out).run(inputs.samples(), inputs.folder());
        }
        ResultFolder folder = inputs.folder();
        folder.writeCsv("samples", result.samples());
        folder.writeCsv("knockouts", result.knockouts());
        folder.writeCsv("curves", result.curves());
        folder.writeCsv("summary", result.summary());
        manifest.addProperty("window_size", result.windowSize());
        manifest.addProperty("samples_used", result.used().size());
        manifest.addProperty("strongest", result.strongest());
        Manifest.finish(manifest, result.seconds());
        folder.writeJson("manifest.json", manifest);
        return result;
    }

    /** Heads named with --heads, or the top --top-k of an attribution's heads.csv; none means every head. */
    private static List<Head> heads(Options options) {
        String named = options.string("heads", null);
        String file = options.string("top-heads", null);
        if (named != null && file != null) {
            throw new HeadlensException("give either --heads or --top-heads, not both");
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
        }
        Table sorted = heads.sortDescendingOn("attribution");
        int k = options.integer("top-k", 10);
        if (k < 1) {
            throw new HeadlensException("--top-k must be at least 1, not " + k);
        }
        List<Head> top = new ArrayList<>();
        for (int i = 0; i < Math.min(k, sorted.rowCount()); i++) {
            top.add(new Head(((Number) sorted.column("layer").get(i)).intValue(), ((Number) sorted.column("head").get(i)).intValue()));
        }
        return top;
    }
}
