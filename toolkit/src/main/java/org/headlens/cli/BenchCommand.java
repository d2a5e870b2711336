package org.headlens.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.interventions.Baseline;
import org.headlens.attribution.AttributionOptions;
import org.headlens.attribution.AttributionResult;
import org.headlens.attribution.HeadAttribution;
import org.headlens.forward.HeadMask;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;
import org.headlens.model.SafeTensors;

/**
 * {@code bench}: masks per second of head ablation by full recompute (one mask per pass, as
 * hook-based tools do), full recompute batched, and the fast path, on a small real model and on a
 * LLaVA-1.5-shaped model with random weights; then resident memory over a long fast-path run.
 */
final class BenchCommand implements Main.Command {
    /** LLaVA-1.5's sequence shape at CPU-friendly width: 576 image tokens (336 px, patch 14). */
    private static final String LLAVA15_SHAPED = "{\"model_type\":\"llava\",\"image_token_index\":31999,"
            + "\"vision_config\":{\"model_type\":\"clip_vision_model\",\"hidden_size\":128,\"intermediate_size\":512,"
            + "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"image_size\":336,\"patch_size\":14},"
            + "\"text_config\":{\"model_type\":\"llama\",\"hidden_size\":512,\"intermediate_size\":1376,"
            + "\"num_hidden_layers\":8,\"num_attention_heads\":8,\"num_key_value_heads\":8,\"vocab_size\":32000}}";

    @Override
    public String summary() {
        return "masks per second: full recompute vs fast path, and memory over long runs";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.Option.path("model", "DIR", "small model to time (default the embedded tiny model)"),
                Options.Option.integer("masks", "masks per timing", 1, 1_000_000).byDefault(256),
                Options.Option.integer("memory-masks", "masks of the memory run", 1, 100_000_000).byDefault(10_000),
                Options.Option.integer("attribution-samples", "samples of the attribution memory run", 1, 100_000).byDefault(16));
    }

    private record Workload(String name, Lvlm model, Prompt prompt, NDArray pixels) {
    }

    @Override
    public int run(Options options, PrintStream out) throws IOException {
        int fastMasks = options.integer("masks", 256);
        int memoryMasks = options.integer("memory-masks", 10_000);
        Path small = options.path("model", defaultModel().toString());
        List<String[]> table = new ArrayList<>();
        double speedup = 0;
        double fastRate = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            try (Lvlm model = Lvlm.load(small)) {
                Workload a = smallWorkload(model, small, manager);
                measure(a, fastMasks, table, out);
            }
            ModelConfig config = ModelConfig.parse(Path.of("(in-process)"), JsonParser.parseString(LLAVA15_SHAPED).getAsJsonObject());
            try (Lvlm model = Lvlm.random(config, 7)) {
                Random random = new Random(5);
                long[] ids = new long[1 + 5 + 1 + 24];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = 1 + random.nextInt(31000);
                }
                ids[6] = config.imageTokenIndex();
                NDArray pixels = manager.randomNormal(new Shape(1, 3, 336, 336));
                Workload b = new Workload("llava-1.5-shaped (576 image + 24 text tokens, hidden 512, 8x8 heads)",
                        model, Prompt.ofIds(model, ids), pixels);
                double[] rates = measure(b, fastMasks, table, out);
                speedup = rates[2] / rates[0];
                fastRate = rates[2];
                printTable(table, out);
                memory(b, memoryMasks, out);
            }
        }
        if (Files.isDirectory(Main.embedded("model")) && Files.isDirectory(Main.embedded("eval"))) {
            attributionMemory(options.integer("attribution-samples", 16), out);
        }
        out.printf("bench: speedup=%.1fx masks_per_s=%.1f%n", speedup, fastRate);
        return 0;
    }

    private static Path defaultModel() {
        Path tiny = Main.embedded("model");
        return Files.isDirectory(tiny) ? tiny : Path.of(System.getProperty("headlens.home", ".")).resolve("../shared/fixtures/hf/llava-clip-llama");
    }

    private static Workload smallWorkload(Lvlm model, Path folder, NDManager manager) {
        Path fixtures = folder.resolve("fixtures.safetensors");
        if (Files.isRegularFile(fixtures)) {
            SafeTensors reference = SafeTensors.open(fixtures);
            NDArray pixels = reference.read("pixel_values", manager);
            long[] grid = null;
            for (String name : List.of("image_grid_thw", "image_sizes")) {
                if (reference.entries().containsKey(name)) {
                    grid = reference.read(name, manager).toLongArray();
                }
            }
            return new Workload(folder.getFileName().toString(), model,
                    Prompt.ofIds(model, reference.read("input_ids", manager).toLongArray(), model.family().input(pixels, grid)), pixels);
        }
        // a model with a tokenizer: the first sample of the embedded evaluation split
        Sample first = ShapesDataset.read(Main.embedded("eval")).get(0);
        org.headlens.model.ImageInput image = model.preprocess(manager, first.image());
        return new Workload(folder.getFileName().toString() + " (" + first.id() + ")", model,
                Prompt.of(model, TinyModel.OBJECT_PROMPT, image), image.pixels());
    }

    /** @return masks per second of full single, full batched, fast */
    private static double[] measure(Workload w, int fastMasks, List<String[]> table, PrintStream out) {
        ModelConfig.TextConfig text = w.model().config().text();
        Random random = new Random(1);
        List<Intervention> masks = new ArrayList<>();
        for (int i = 0; i < fastMasks; i++) {
            masks.add(Intervention.ablate(HeadMask.random(text.layers(), text.heads(), 0.5, random)));
        }
        int fullMasks = Math.max(4, Math.min(fastMasks, 16));
        double[] rates = new double[3];
        try (InterventionEngine engine = InterventionEngine.prepare(w.model(), w.prompt(), w.pixels(), Baseline.blank())) {
            engine.finalLogitsFullRecompute(masks.subList(0, 2), 1); // warm-up
            engine.finalLogits(masks.subList(0, 2));
            String[] names = {"full recompute, 1 mask per pass", "full recompute, batched (8)", "fast path, batched (" + engine.batchSize() + ")"};
            for (int row = 0; row < 3; row++) {
                int n = row == 2 ? fastMasks : fullMasks;
                long start = System.nanoTime();
                if (row == 0) {
                    engine.finalLogitsFullRecompute(masks.subList(0, n), 1);
                } else if (row == 1) {
                    engine.finalLogitsFullRecompute(masks.subList(0, n), 8);
                } else {
                    engine.finalLogits(masks.subList(0, n));
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                rates[row] = n / seconds;
                table.add(new String[] {w.name(), names[row], String.valueOf(n), String.format("%.2f", seconds), String.format("%.1f", rates[row])});
            }
        }
        out.printf("measured %s%n", w.name());
        return rates;
    }

    private static void printTable(List<String[]> rows, PrintStream out) {
        String format = "%-68s  %-34s  %6s  %8s  %10s%n";
        out.printf(format, "model", "method", "masks", "seconds", "masks/s");
        for (String[] r : rows) {
            out.printf(format, (Object[]) r);
        }
    }

    private static void memory(Workload w, int total, PrintStream out) {
        ModelConfig.TextConfig text = w.model().config().text();
        Random random = new Random(2);
        try (InterventionEngine engine = InterventionEngine.prepare(w.model(), w.prompt(), w.pixels(), Baseline.blank())) {
            int chunk = 500;
            long start = System.nanoTime();
            long startRss = 0;
            for (int done = 0; done < total; done += chunk) {
                List<Intervention> masks = new ArrayList<>();
                for (int i = 0; i < Math.min(chunk, total - done); i++) {
                    masks.add(Intervention.ablate(HeadMask.random(text.layers(), text.heads(), 0.5, random)));
                }
                engine.finalLogits(masks);
                if (done == 0) {
                    startRss = residentKilobytes();
                    out.printf("memory: resident %d MB after the first %d masks%n", startRss / 1024, masks.size());
                }
            }
            long endRss = residentKilobytes();
            out.printf("memory: resident %d MB after %d masks (%+d MB), %.1f masks/s%n", endRss / 1024, total,
                    (endRss - startRss) / 1024, total / ((System.nanoTime() - start) / 1e9));
        }
    }

    /**
     * Resident memory over a whole attribution run on the embedded model (random masks, held-out
     * masks, single heads and evaluation curves): it must not grow with the number of masks.
     */
    private static void attributionMemory(int samples, PrintStream out) {
        List<Sample> entries = ShapesDataset.read(Main.embedded("eval"));
        entries = entries.subList(0, Math.min(samples, entries.size()));
        AttributionOptions options = AttributionOptions.defaults().withDropIncorrect(false);
        try (Lvlm model = Lvlm.load(Main.embedded("model"))) {
            HeadAttribution attribution = HeadAttribution.of(model).options(options).progress(null);
            attribution.run(entries.subList(0, 1));
            long startRss = residentKilobytes();
            long start = System.nanoTime();
            AttributionResult result = attribution.run(entries);
            long endRss = residentKilobytes();
            int heads = model.config().text().layers() * model.config().text().heads();
            long masks = (long) entries.size() * (options.masks() + options.heldOutMasks() + heads)
                    + (long) result.curves().stream().mapToInt(c -> c.points().size() * 2).sum();
            out.printf("memory: attribution of %d samples, %d masks: resident %d MB at start, %d MB at end (%+d MB), %.1f s%n",
                    entries.size(), masks, startRss / 1024, endRss / 1024, (endRss - startRss) / 1024, (System.nanoTime() - start) / 1e9);
        }
    }

    /** @return the process's resident set size in KB (Linux), or -1 where unknown */
    static long residentKilobytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
