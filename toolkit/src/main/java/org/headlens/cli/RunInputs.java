package org.headlens.cli;

import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.Datasets;
import org.headlens.data.Sample;
import org.headlens.data.TinyModel;

/**
 * What an analysis command reads: model, data (the first {@code --samples} samples), prompt,
 * answer rule, groupings and the result folder, with the embedded tiny model and evaluation
 * split as defaults. Reading them checks them and touches no file: the folder is claimed only
 * once everything else is checked.
 *
 * @param model model folder
 * @param data the dataset path (file or folder)
 * @param samples the samples analysed
 * @param prompt the question with its image placeholder
 * @param out where results go
 * @param firstToken whether answers of several tokens are measured on their first token
 * @param semantic the label grouping compared as semantic
 * @param appearance the label grouping compared as appearance
 * @param dataSummary one line on what was read and skipped
 */
record RunInputs(Path model, Path data, List<Sample> samples, String prompt, Path out, boolean firstToken, String semantic,
        String appearance, String dataSummary) {
    /** Inputs with the default answer rule and groupings. */
    RunInputs(Path model, Path data, List<Sample> samples, String prompt, Path out) {
        this(model, data, samples, prompt, out, false, Sample.ANSWER, "style", "");
    }

    static RunInputs read(Options options) {
        Path model = options.path("model", Main.embedded("model").toString());
        Path out = options.given("out") ? options.path("out", null) : null;
        Datasets.Dataset dataset = dataset(options);
        List<Sample> all = dataset.samples();
        int samples = options.declares("samples") ? options.integer("samples", all.size()) : all.size();
        return new RunInputs(model, dataset.source(), all.subList(0, Math.min(samples, all.size())),
                options.string("prompt", TinyModel.OBJECT_PROMPT), out, options.declares("first-token") && options.flag("first-token"),
                options.declares("semantic") ? options.string("semantic", Sample.ANSWER) : Sample.ANSWER,
                options.declares("appearance") ? options.string("appearance", "style") : "style", dataset.summary());
    }

    /** @return the dataset {@code --data} names, read with {@code --images}, {@code --skip-bad} and the COCO thresholds */
    static Datasets.Dataset dataset(Options options) {
        Path data = options.path("data", Main.embedded("eval").toString());
        Datasets.Options read = Datasets.Options.defaults();
        if (options.declares("images") && options.given("images")) {
            read = read.withImages(options.path("images", null));
        }
        if (options.declares("skip-bad")) {
            read = read.withSkipBad(options.flag("skip-bad"));
        }
        if (options.declares("min-object-share")) {
            read = read.withMainObject(options.number("min-object-share", 0), options.number("min-object-ratio", 0));
        }
        return Datasets.read(data, read);
    }

    /** @return the dataset's samples, refused when two share an id (they would share a result file) */
    static List<Sample> entries(Path data) {
        return Datasets.read(data).samples();
    }

    /** @return a manifest with the inputs' checksums, the prompt, answer rule, groupings and the sample count filled in */
    JsonObject manifest(String command, Options options) {
        JsonObject manifest = Manifest.start(command, model, data, options);
        manifest.addProperty("prompt", prompt);
        manifest.addProperty("answer_rule", firstToken ? "first token" : "one token");
        manifest.addProperty("groupings", semantic + " versus " + appearance);
        manifest.addProperty("samples", samples.size());
        if (!dataSummary.isEmpty()) {
            manifest.addProperty("data_read", dataSummary);
        }
        return manifest;
    }
}
