package org.headlens.cli;

import ai.djl.engine.Engine;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.time.Instant;
import org.headlens.HeadlensException;
import org.headlens.results.ResultFolder;

/**
 * The manifest written next to a command's results: what went in (checksums of model and data,
 * every option), with which versions, and how long it took, so an appendix can be rebuilt.
 */
final class Manifest {
    private Manifest() {
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
     * Marks a result folder as holding the run that {@code manifest} describes, or checks that it
     * does: resuming a folder written with another model, data, prompt or options would mix two
     * runs' samples in one table. The sample count may differ, so a run can be extended.
     *
     * @param folder the result folder
     * @param manifest a manifest from {@link #start}, with the run's options under {@code optionsKey}
     * @param optionsKey e.g. {@code attribution_options}
     */
    static void claim(ResultFolder folder, JsonObject manifest, String optionsKey) {
        JsonObject identity = new JsonObject();
        for (String key : new String[] {"command", "model_sha256", "data_sha256", "prompt", optionsKey}) {
            if (manifest.has(key)) {
                identity.add(key, manifest.get(key));
            }
        }
        JsonObject existing = folder.readJson("run.json", JsonObject.class);
        if (existing == null) {
            folder.writeJson("run.json", identity);
            return;
        }
        for (String key : identity.keySet()) {
            if (!identity.get(key).equals(existing.get(key))) {
                throw new HeadlensException(folder.root() + " holds results of another run (its " + key.replace('_', ' ')
                        + " differs: " + existing.get(key) + " there, " + identity.get(key) + " now); use another --out folder"
                        + " or delete this one");
            }
        }
    }

    static void finish(JsonObject manifest, double seconds) {
        manifest.addProperty("finished", Instant.now().toString());
        manifest.addProperty("seconds", seconds);
    }
}
