package org.headlens.cli;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.results.ResultFolder;

/**
 * What an analysis command reads: model, data (the first {@code --samples} entries), prompt and
 * the result folder, with the embedded tiny model and evaluation split as defaults. Reading them
 * checks them and touches no file: the folder is claimed only once everything else is checked.
 *
 * @param model model folder
 * @param data dataset folder
 * @param samples the entries analysed
 * @param prompt the question with its image placeholder
 * @param out where results go
 */
record RunInputs(Path model, Path data, List<Sample> samples, String prompt, Path out) {
    static RunInputs read(Options options) {
        Path model = options.path("model", Main.embedded("model").toString());
        Path data = options.path("data", Main.embedded("eval").toString());
        Path out = options.path("out", null);
        List<Sample> entries = entries(data);
        int samples = options.integer("samples", entries.size());
        return new RunInputs(model, data, entries.subList(0, Math.min(samples, entries.size())),
                options.string("prompt", TinyModel.OBJECT_PROMPT), out);
    }

    /** @return the dataset's entries, refused when two share an id (they would share a result file) */
    static List<Sample> entries(Path data) {
        List<Sample> entries = ShapesDataset.read(data);
        Path labels = Files.isRegularFile(data.resolve("labels.csv")) ? data.resolve("labels.csv") : data.resolve("eval/labels.csv");
        ResultFolder.checkSampleIds(entries.stream().map(Sample::id).toList(), labels.toString());
        return entries;
    }

    /** @return a manifest with the inputs' checksums, the prompt and the sample count filled in */
    JsonObject manifest(String command, Options options) {
        JsonObject manifest = Manifest.start(command, model, data, options);
        manifest.addProperty("prompt", prompt);
        manifest.addProperty("samples", samples.size());
        return manifest;
    }
}
