package org.headlens.cli;

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

    static void finish(JsonObject manifest, double seconds) {
        manifest.addProperty("finished", Instant.now().toString());
        manifest.addProperty("seconds", seconds);
    }
}
