package org.headlens.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import org.headlens.interventions.Baseline;

import ai.djl.engine.Engine;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import org.headlens.results.ResultFolder;

/**
 * The manifest written next to a command's results: what went in (checksums of model and data,
 * every option), with which versions, and how long it took, so an appendix can be rebuilt.
 */
final class Manifest {
    /** Options as JSON; a baseline is recorded by its name, since an image baseline's pixels are not options. */
    private static final Gson OPTIONS = new GsonBuilder().registerTypeHierarchyAdapter(Baseline.class,
            (JsonSerializer<Baseline>) (baseline, type, context) -> new JsonPrimitive(baseline.label())).create();

    private Manifest() {
    }

    /** @return a record of options (attribution, flow) as JSON */
    static JsonElement options(Object options) {
        return OPTIONS.toJsonTree(options);
    }

    static JsonObject start(String command, Path model, Path data, Options options) {
        JsonObject manifest = new JsonObject();
        manifest.addProperty("command", command);
        manifest.addProperty("arguments", options.toString());
        manifest.addProperty("model", model.toAbsolutePath().normalize().toString());
        manifest.addProperty("model_sha256", ResultFolder.sha256(model));
        manifest.addProperty("data", data.toAbsolutePath().normalize().toString());
        manifest.addProperty("data_sha256", ResultFolder.sha256(data));
        JsonObject versions = new JsonObject();
        Package headlens = Manifest.class.getPackage();
        versions.addProperty("headlens", headlens.getImplementationVersion() == null ? "development" : headlens.getImplementationVersion());
        versions.addProperty("java", System.getProperty("java.version"));
        versions.addProperty("djl", Engine.getDjlVersion());
        versions.addProperty("pytorch", Engine.getInstance().getVersion());
        versions.addProperty("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        manifest.add("versions", versions);
        manifest.addProperty("started", Instant.now().toString());
        return manifest;
    }

    /**
     * What must be equal for two runs' results to share one folder: the command, model and data
     * checksums, prompt and options. The sample count is left out, so a run can be extended.
     *
     * @param manifest a manifest from {@link #start}, with the run's options under {@code optionsKey}
     * @param optionsKey e.g. {@code attribution_options}
     * @return the identity {@link ResultFolder#claim} records in {@code run.json}
     */
    static JsonObject identity(JsonObject manifest, String optionsKey) {
        JsonObject identity = new JsonObject();
        for (String key : new String[] {"command", "model_sha256", "data_sha256", "prompt", "answer_rule", "groupings", optionsKey}) {
            if (manifest.has(key)) {
                identity.add(key, manifest.get(key));
            }
        }
        return identity;
    }

    static void finish(JsonObject manifest, double seconds) {
        manifest.addProperty("finished", Instant.now().toString());
        manifest.addProperty("seconds", seconds);
    }
}
