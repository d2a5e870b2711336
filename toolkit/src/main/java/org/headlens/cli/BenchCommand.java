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
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.interventions.Baseline;
import org.headlens.attribution.AttributionOptions;
import org.headlens.attribution.AttributionResult;
import org.headlens.attribution.HeadAttribution;
import org.headlens.forward.HeadMask;
import org.headlens.forward.Heads;
import org.headlens.interventions.Intervention;
import org.headlens.interventions.InterventionEngine;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import org.headlens.model.Memory;
import org.headlens.model.ModelConfig;
import org.headlens.model.SafeTensors;

/**
 * {@code bench}: seconds per mask of head ablation by full recompute (one mask per pass, as
 * hook-based tools do), full recompute batched, the expert's way (prefix keys/values cached, one
 * mask per pass), the fast path without and with its shortcuts, on random masks and on an
 * attribution's mix (random masks, single heads, top-k curves); achieved GFLOP/s against the
 * machine's matrix-multiply peak measured in the same run; then resident memory over a long run.
 * With {@code --model DIR}, any family's folder: load time, peak resident memory and the same
 * table. With {@code --slice NAME}, a few layers of a real model's widths with random weights.
 */
final class BenchCommand implements Main.Command {
    /** LLaVA-1.5's sequence shape at CPU-friendly width: 576 image tokens (336 px, patch 14). */
    private static final String LLAVA15_SHAPED = "{\"model_type\":\"llava\",\"image_token_index\":31999,"
            + "\"vision_config\":{\"model_type\":\"clip_vision_model\",\"hidden_size\":128,\"intermediate_size\":512,"
            + "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"image_size\":336,\"patch_size\":14},"
            + "\"text_config\":{\"model_type\":\"llama\",\"hidden_size\":512,\"intermediate_size\":1376,"
            + "\"num_hidden_layers\":8,\"num_attention_heads\":8,\"num_key_value_heads\":8,\"vocab_size\":32000}}";

    /** The public releases' widths (llava-hf/llava-1.5-7b-hf and -13b-hf: CLIP ViT-L/14 at 336 px, Vicuna). */
    private static final Map<String, String> SLICES = Map.of(
            "llava-1.5-7b", slice(4096, 11008, 32),
            "llava-1.5-13b", slice(5120, 13824, 40));

    /** Layers of the released model each slice stands for. */
    private static final Map<String, Integer> RELEASED_LAYERS = Map.of("llava-1.5-7b", 32, "llava-1.5-13b", 40);

    private static String slice(int hidden, int intermediate, int heads) {
        return "{\"model_type\":\"llava\",\"image_token_index\":32000,\"projector_hidden_act\":\"gelu\","
                + "\"vision_feature_layer\":-2,\"vision_feature_select_strategy\":\"default\","
                + "\"vision_config\":{\"model_type\":\"clip_vision_model\",\"hidden_size\":1024,\"intermediate_size\":4096,"
                + "\"num_hidden_layers\":24,\"num_attention_heads\":16,\"image_size\":336,\"patch_size\":14,\"projection_dim\":768},"
                + "\"text_config\":{\"model_type\":\"llama\",\"hidden_size\":" + hidden + ",\"intermediate_size\":" + intermediate
                + ",\"num_hidden_layers\":%d,\"num_attention_heads\":" + heads + ",\"num_key_value_heads\":" + heads
                + ",\"vocab_size\":32064,\"max_position_embeddings\":4096,\"rms_norm_eps\":1e-5}}";
    }

    @Override
    public String summary() {
        return "seconds per mask: full recompute, the expert's prefix cache, the fast path; share of the matrix-multiply peak";
    }

    @Override
    public List<Options.Option> options() {
        return List.of(Options.Option.path("model", "DIR", "a model folder of any family to time: load time, peak memory, seconds per mask"),
                Options.DTYPE, Options.COMPUTE, Options.DEVICE,
                Options.Option.choice("slice", "a few layers of a released model's widths, random weights, float32",
                        SLICES.keySet().stream().sorted().toArray(String[]::new)).optional(),
                Options.Option.integer("slice-layers", "decoder layers of the slice", 1, 80).byDefault(2),
                Options.Option.integer("text-tokens", "text tokens after the image in a synthetic prompt", 1, 4096).byDefault(24),
                Options.Option.integer("masks", "masks per fast-path timing", 1, 1_000_000).byDefault(256),
                Options.Option.integer("full-masks", "masks per full-recompute and one-mask-per-pass timing", 1, 10_000).byDefault(16),
                Options.Option.flag("profile", "time the fast path's operations (PyTorch profiler) and print where its time goes"),
                Options.Option.integer("memory-masks", "masks of the memory run", 1, 100_000_000).byDefault(10_000),
                Options.Option.integer("attribution-samples", "samples of the attribution memory run", 1, 100_000).byDefault(16));
    }

    private int fullMasks = 16;
    /** The fastest matrix-product rate seen, at the start and at the end of the run. */
    private double matmulPeak;
    private long processPeak;

    private record Workload(String name, Lvlm model, Prompt prompt, NDArray pixels) {
    }

    /** What the headline line reports. */
    private record Summary(double speedup, double masksPerSecond, double gigaflops) {
    }

    @Override
    public int run(Options options, PrintStream out) throws IOException {
        int fastMasks = options.integer("masks", 256);
        fullMasks = options.integer("full-masks", 16);
        int textTokens = options.integer("text-tokens", 24);
        List<String[]> table = new ArrayList<>();
        Summary summary;
        try (NDManager manager = NDManager.newBaseManager()) {
            matmulPeak(manager, out);
            if (options.given("model")) {
                Path folder = options.path("model", null);
                long start = System.nanoTime();
                try (Lvlm model = Lvlm.load(folder, Options.loadOptions(options))) {
                    double load = (System.nanoTime() - start) / 1e9;
                    out.printf(Locale.ROOT, "load: %s (%s weights, %s arithmetic) in %.1f s, peak resident %.2f GB%n", folder,
                            model.storageType(), model.computeType(), load, Memory.peakResidentBytes() / 1e9);
                    summary = measure(folderWorkload(model, folder, textTokens, manager), fastMasks, table, out, options.flag("profile"));
                }
                printTable(table, manager, out);
            } else if (options.given("slice")) {
                String name = options.string("slice", null);
                int layers = options.integer("slice-layers", 2);
                ModelConfig config = ModelConfig.parse(Path.of("(" + name + " slice)"),
                        JsonParser.parseString(String.format(Locale.ROOT, SLICES.get(name), layers)).getAsJsonObject());
                long start = System.nanoTime();
                try (Lvlm model = Lvlm.random(config, 7)) {
                    model.languageModel(); // the weights are made on construction
                    out.printf(Locale.ROOT, "slice: %d of %s's %d layers, random float32 weights made in %.1f s, resident %.2f GB%n",
                            layers, name, RELEASED_LAYERS.get(name), (System.nanoTime() - start) / 1e9, Memory.residentBytes() / 1e9);
                    Workload w = new Workload(name + " slice (" + layers + " layers, 576 image + " + textTokens + " text tokens)",
                            model, Prompt.ofIds(model, syntheticIds(config, textTokens)), manager.randomNormal(new Shape(1, 3, 336, 336)));
                    summary = measure(w, fastMasks, table, out, options.flag("profile"));
                }
                printTable(table, manager, out);
            } else {
                Path small = defaultModel();
                try (Lvlm model = Lvlm.load(small)) {
                    measure(smallWorkload(model, small, manager), fastMasks, table, out, false);
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
                    summary = measure(b, fastMasks, table, out, options.flag("profile"));
                    printTable(table, manager, out);
                    memory(b, options.integer("memory-masks", 10_000), out);
                }
                if (Files.isDirectory(Main.embedded("model")) && Files.isDirectory(Main.embedded("eval"))) {
                    attributionMemory(options.integer("attribution-samples", 16), out);
                }
            }
        }
        out.printf(Locale.ROOT, "bench: speedup=%.1fx masks_per_s=%.2f flop_fraction=%.2f peak_rss_gb=%.2f%n", summary.speedup(),
                summary.masksPerSecond(), summary.gigaflops() / matmulPeak, processPeakGigabytes());
        return 0;
    }

    private static Path defaultModel() {
        Path tiny = Main.embedded("model");
        return Files.isDirectory(tiny) ? tiny : Path.of(System.getProperty("headlens.home", ".")).resolve("../shared/fixtures/hf/llava-clip-llama");
    }

    /**
     * The machine's matrix-multiply peak through the same library: the best of a few float32
     * products of 2048 x 2048 matrices (large enough to run at full speed, small enough to time quickly).
     */
    private void matmulPeak(NDManager manager, PrintStream out) {
        try (NDManager scope = manager.newSubManager()) {
            int n = 2048;
            NDArray a = scope.randomNormal(new Shape(n, n));
            NDArray b = scope.randomNormal(new Shape(n, n));
            a.matMul(b).close(); // warm-up
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                NDArray c = a.matMul(b);
                c.getFloat(0, 0); // waits for the product
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
                c.close();
            }
            double peak = 2.0 * n * n * n / best / 1e9;
            out.printf(Locale.ROOT, "peak: float32 %dx%d matrix product at %.1f GFLOP/s (best of 5, %d threads)%s%n", n, n, peak,
                    Runtime.getRuntime().availableProcessors(), matmulPeak > 0 ? "; the table uses the faster of this and the first" : "");
            matmulPeak = Math.max(matmulPeak, peak);
        }
    }

    private static Workload smallWorkload(Lvlm model, Path folder, NDManager manager) {
        Workload fixture = fixtureWorkload(model, folder, manager);
        if (fixture != null) {
            return fixture;
        }
        // a model with a tokenizer: the first sample of the embedded evaluation split
        Sample first = ShapesDataset.read(Main.embedded("eval")).get(0);
        org.headlens.model.ImageInput image = model.preprocess(manager, first.image());
        return new Workload(folder.getFileName().toString() + " (" + first.id() + ")", model,
                Prompt.of(model, TinyModel.OBJECT_PROMPT, image), image.pixels());
    }

    /** The reference inputs a fixture folder holds, or null. */
    private static Workload fixtureWorkload(Lvlm model, Path folder, NDManager manager) {
        Path fixtures = folder.resolve("fixtures.safetensors");
        if (!Files.isRegularFile(fixtures)) {
            return null;
        }
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

    /** A folder's own reference inputs, else a synthetic prompt and a 336-pixel noise image through the family's processor. */
    private static Workload folderWorkload(Lvlm model, Path folder, int textTokens, NDManager manager) {
        Workload fixture = fixtureWorkload(model, folder, manager);
        if (fixture != null) {
            return fixture;
        }
        java.awt.image.BufferedImage picture = new java.awt.image.BufferedImage(336, 336, java.awt.image.BufferedImage.TYPE_INT_RGB);
        Random random = new Random(3);
        for (int y = 0; y < 336; y++) {
            for (int x = 0; x < 336; x++) {
                picture.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        org.headlens.model.ImageInput image = model.preprocess(manager, picture);
        long[] ids = syntheticIds(model.config(), textTokens);
        Prompt prompt = Prompt.ofIds(model, ids, image);
        return new Workload(folder.getFileName() + " (" + prompt.layout().imageLength() + " image + " + textTokens + " text tokens)",
                model, prompt, image.pixels());
    }

    /** BOS, 5 text tokens, the image placeholder, then {@code textTokens} ids below every special id. */
    private static long[] syntheticIds(ModelConfig config, int textTokens) {
        Random random = new Random(5);
        long[] ids = new long[1 + 5 + 1 + textTokens];
        int ordinary = (int) Math.max(4, Math.min(config.text().vocabSize(), config.imageTokenIndex()) - 8);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 3 + random.nextInt(ordinary - 3);
        }
        ids[0] = 1;
        ids[6] = config.imageTokenIndex();
        return ids;
    }

    /**
     * The floor of one mask on the fast path, counted without the shortcuts: every text token
     * after the image through every decoder parameter (2 flops per parameter), attention over
     * every key before it, and the head at the final position.
     */
    static double floorFlops(ModelConfig.TextConfig text, int imageEnd, int length) {
        long d = text.hiddenSize();
        long q = (long) text.heads() * text.headDim();
        long kv = (long) text.keyValueHeads() * text.headDim();
        long perLayer = d * q + 2 * d * kv + q * d + 3 * d * text.intermediateSize();
        long suffix = length - imageEnd;
        double keys = suffix * (double) imageEnd + suffix * (suffix + 1) / 2.0;
        return text.layers() * (2.0 * suffix * perLayer + 4.0 * keys * q) + 2.0 * d * text.vocabSize();
    }

    /** Random masks (alpha 0.5), then an attribution's other masks: every single head and top-k curves of a random ranking. */
    private static List<Intervention> attributionMix(int layers, int heads, int count, Random random) {
        Heads grid = new Heads(layers, heads);
        List<Intervention> masks = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < grid.count(); i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, random);
        int[] ranking = order.stream().mapToInt(Integer::intValue).toArray();
        for (int k = 1; masks.size() < count / 4 && k <= grid.count(); k += Math.max(1, grid.count() / 10)) {
            HeadMask top = HeadMask.ofIndices(grid, java.util.Arrays.copyOf(ranking, k));
            masks.add(Intervention.ablate(top));
            masks.add(Intervention.ablate(top.inverted()));
        }
        for (int i = 0; masks.size() < count / 2 && i < grid.count(); i++) {
            masks.add(Intervention.ablate(HeadMask.ofIndices(grid, ranking[i])));
        }
        while (masks.size() < count) {
            masks.add(Intervention.ablate(HeadMask.random(layers, heads, 0.5, random)));
        }
        return masks;
    }

    /** Times every method on a workload; adds its rows to the table. */
    private Summary measure(Workload w, int fastMasks, List<String[]> table, PrintStream out, boolean profile) {
        ModelConfig.TextConfig text = w.model().config().text();
        Random random = new Random(1);
        List<Intervention> masks = new ArrayList<>();
        for (int i = 0; i < fastMasks; i++) {
            masks.add(Intervention.ablate(HeadMask.random(text.layers(), text.heads(), 0.5, random)));
        }
        List<Intervention> mix = attributionMix(text.layers(), text.heads(), fastMasks, new Random(2));
        int fewMasks = Math.min(fastMasks, fullMasks);
        double floor = floorFlops(text, w.prompt().layout().imageEnd(), w.prompt().layout().length());
        out.printf(Locale.ROOT, "measuring %s: floor %.2f GFLOP per mask on the fast path%n", w.name(), floor / 1e9);
        double fullRate;
        double fastRate;
        double mixRate;
        startPeak();
        long prepared = System.nanoTime();
        try (InterventionEngine engine = InterventionEngine.prepare(w.model(), w.prompt(), w.pixels(), Baseline.blank())) {
            engine.clean();
            out.printf(Locale.ROOT, "prefix: %.2f s per image (vision, prefix keys/values of the image and the blank baseline, clean states),"
                    + " peak resident %.2f GB%n", (System.nanoTime() - prepared) / 1e9, Memory.peakResidentBytes() / 1e9);
            engine.finalLogitsFullRecompute(masks.subList(0, 1), 1); // warm-up
            engine.finalLogits(masks.subList(0, 2));
            engine.finalLogits(mix.subList(0, 2));
            int batch = engine.batchSize();
            fullRate = row(table, w, "full recompute, 1 mask per pass", fewMasks, floor,
                    () -> engine.finalLogitsFullRecompute(masks.subList(0, fewMasks), 1));
            row(table, w, "full recompute, batched (8)", fewMasks, floor, () -> engine.finalLogitsFullRecompute(masks.subList(0, fewMasks), 8));
            engine.shortcuts(false).batchBytes(1);
            row(table, w, "expert: prefix cached, 1 mask per pass", fewMasks, floor, () -> engine.finalLogits(masks.subList(0, fewMasks)));
            engine.batchBytes(InterventionEngine.DEFAULT_BATCH_BYTES);
            row(table, w, "fast path, no shortcuts (" + batch + "/batch)", fastMasks, floor, () -> engine.finalLogits(masks));
            row(table, w, "  same, attribution mix", fastMasks, floor, () -> engine.finalLogits(mix));
            engine.shortcuts(true);
            fastRate = row(table, w, "fast path (" + batch + "/batch)", fastMasks, floor, () -> engine.finalLogits(masks));
            mixRate = row(table, w, "  same, attribution mix", fastMasks, floor, () -> engine.finalLogits(mix));
            if (profile) {
                profile(() -> engine.finalLogits(mix), out);
            }
        }
        out.printf(Locale.ROOT, "measured %s%n", w.name());
        return new Summary(mixRate / fullRate, mixRate, mixRate * floor / 1e9);
    }

    /**
     * Runs {@code work} under PyTorch's profiler and prints the operations that took the most
     * time (inclusive: a linear layer's time contains its matrix product's).
     */
    private static void profile(Runnable work, PrintStream out) {
        Path trace;
        try {
            trace = Files.createTempFile("headlens-profile", ".json");
        } catch (IOException e) {
            throw new org.headlens.HeadlensException("cannot create a temporary file for the profile (" + e.getMessage() + ")", e);
        }
        try {
            long start = System.nanoTime();
            ai.djl.pytorch.jni.JniUtils.startProfile(false, true, false);
            work.run();
            ai.djl.pytorch.jni.JniUtils.stopProfile(trace.toString());
            double wall = (System.nanoTime() - start) / 1e3;
            com.google.gson.JsonElement root = JsonParser.parseString(Files.readString(trace));
            com.google.gson.JsonArray events = root.isJsonArray() ? root.getAsJsonArray() : root.getAsJsonObject().getAsJsonArray("traceEvents");
            Map<String, double[]> byName = new java.util.HashMap<>();
            for (com.google.gson.JsonElement element : events) {
                com.google.gson.JsonObject event = element.getAsJsonObject();
                if (event.has("dur") && event.has("name")) {
                    String key = event.get("name").getAsString();
                    if (event.has("args") && event.getAsJsonObject("args").has("Input Dims")) {
                        key += " " + event.getAsJsonObject("args").get("Input Dims").toString().replace("\"", "");
                    }
                    double[] sum = byName.computeIfAbsent(key, k -> new double[2]);
                    sum[0] += event.get("dur").getAsDouble();
                    sum[1]++;
                }
            }
            out.printf(Locale.ROOT, "profile: %.2f s of wall time; operations by inclusive time (microseconds, calls, input shapes)%n", wall / 1e6);
            byName.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0])).limit(25)
                    .forEach(e -> out.printf(Locale.ROOT, "profile: %5.1f%%  %12.0f us  %7.0f calls  %s%n", 100 * e.getValue()[0] / wall,
                            e.getValue()[0], e.getValue()[1], e.getKey().length() > 140 ? e.getKey().substring(0, 140) : e.getKey()));
        } catch (IOException | RuntimeException e) {
            out.println("profile: not available (" + e.getMessage() + ")");
        } finally {
            try {
                Files.deleteIfExists(trace);
            } catch (IOException e) {
                // a temporary file left behind
            }
        }
    }

    /** Times one method and adds its row: masks, seconds, seconds per mask, GFLOP/s of the floor and its share of the peak. */
    private double row(List<String[]> table, Workload w, String method, int masks, double floor, Runnable work) {
        startPeak();
        long start = System.nanoTime();
        work.run();
        double seconds = (System.nanoTime() - start) / 1e9;
        double peakGigabytes = Memory.peakResidentBytes() / 1e9;
        double rate = masks / seconds;
        double gflops = rate * floor / 1e9;
        table.add(new String[] {shorten(w.name()), method, String.valueOf(masks), String.format(Locale.ROOT, "%.2f", seconds),
            String.format(Locale.ROOT, "%.4f", seconds / masks), String.format(Locale.ROOT, "%.2f", rate),
            String.format(Locale.ROOT, "%.1f", gflops), null, // its share of the peak, once the run's peak is known
            peakGigabytes < 0 ? "?" : String.format(Locale.ROOT, "%.2f", peakGigabytes)});
        return rate;
    }

    private static String shorten(String name) {
        return name.length() <= 44 ? name : name.substring(0, 41) + "...";
    }

    /** Prints the rows, their shares of the peak taken against the faster of the run's first and a last measurement. */
    private void printTable(List<String[]> rows, NDManager manager, PrintStream out) {
        matmulPeak(manager, out);
        String format = "%-44s  %-40s  %6s  %8s  %9s  %8s  %8s  %6s  %7s%n";
        out.printf(format, "model", "method", "masks", "seconds", "s/mask", "masks/s", "GFLOP/s", "peak", "rss GB");
        for (String[] r : rows) {
            String[] row = r.clone();
            row[7] = String.format(Locale.ROOT, "%.2f", Double.parseDouble(row[6]) / matmulPeak);
            out.printf(format, (Object[]) row);
        }
        out.println("GFLOP/s: the fast path's floor per mask (text after the image x decoder parameters x 2, attention, head at one "
                + "position; no shortcut counted) times masks/s, for every method alike; peak: its share of the matrix-product peak; "
                + "rss GB: the process's peak resident memory during that row (weights, caches and the row's own work)");
    }

    private static void memory(Workload w, int total, PrintStream out) {
        ModelConfig.TextConfig text = w.model().config().text();
        Random random = new Random(2);
        try (InterventionEngine engine = InterventionEngine.prepare(w.model(), w.prompt(), w.pixels(), Baseline.blank())) {
            int chunk = 500;
            long start = System.nanoTime();
            long startMegabytes = 0;
            for (int done = 0; done < total; done += chunk) {
                List<Intervention> masks = new ArrayList<>();
                for (int i = 0; i < Math.min(chunk, total - done); i++) {
                    masks.add(Intervention.ablate(HeadMask.random(text.layers(), text.heads(), 0.5, random)));
                }
                engine.finalLogits(masks);
                if (done == 0) {
                    startMegabytes = Memory.residentBytes() >> 20;
                    out.printf("memory: resident %d MB after the first %d masks%n", startMegabytes, masks.size());
                }
            }
            long endMegabytes = Memory.residentBytes() >> 20;
            out.printf("memory: resident %d MB after %d masks (%+d MB), %.1f masks/s%n", endMegabytes, total,
                    endMegabytes - startMegabytes, total / ((System.nanoTime() - start) / 1e9));
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
            long startMegabytes = Memory.residentBytes() >> 20;
            long start = System.nanoTime();
            AttributionResult result = attribution.run(entries);
            long endMegabytes = Memory.residentBytes() >> 20;
            int heads = model.config().text().layers() * model.config().text().heads();
            long masks = (long) entries.size() * (options.masks() + options.heldOutMasks() + heads)
                    + (long) result.curves().stream().mapToInt(c -> c.points().size() * 2).sum();
            out.printf("memory: attribution of %d samples, %d masks: resident %d MB at start, %d MB at end (%+d MB), %.1f s%n",
                    entries.size(), masks, startMegabytes, endMegabytes, endMegabytes - startMegabytes, (System.nanoTime() - start) / 1e9);
        }
    }

    /** Starts a new peak for the next step, keeping the process's peak so far for the summary line. */
    private void startPeak() {
        processPeak = Math.max(processPeak, Memory.peakResidentBytes());
        Memory.resetPeak();
    }

    /** @return the process's peak resident memory over the whole run, in GB */
    private double processPeakGigabytes() {
        return Math.max(processPeak, Memory.peakResidentBytes()) / 1e9;
    }
}
