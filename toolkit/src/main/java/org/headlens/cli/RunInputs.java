package org.headlens.cli;

import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.List;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.results.ResultFolder;

/**
 * What an analysis command reads: model, data (the first {@code --samples} entries), prompt and
 * the result folder, with the embedded tiny model and evaluation split as defaults.
 *
 * @param model model folder
 * @param data dataset folder
 * @param samples the entries analysed
 * @param prompt the question with its image placeholder
 * @param folder where results go
 */
record RunInputs(Path model, Path data, List<ShapesDataset.Entry> samples, String prompt, ResultFolder folder) {
    static RunInputs read(Options options) {
        Path model = options.path("model", Main.embedded("model").toString());
        Path data = options.path("data", Main.embedded("eval").toString());
        ResultFolder folder = ResultFolder.open(options.path("out", null));
        List<ShapesDataset.Entry> entries = ShapesDataset.read(data);
        int samples = options.integer("samples", entries.size());
        if (samples < 1) {
            throw new org.headlens.HeadlensException("--samples must be at least 1, not " + samples);
        }
        return new RunInputs(model, data, entries.subList(0, Math.min(samples, entries.size())),
                options.string("prompt", TinyModel.OBJECT_PROMPT), folder);
    }

    /** @return a manifest with the inputs' checksums, the prompt and the sample count filled in */
    JsonObject manifest(String command, Options options) {
        JsonObject manifest = Manifest.start(command, model, data, options);
        manifest.addProperty("prompt", prompt);
        manifest.addProperty("samples", samples.size());
        return manifest;
    }
}
