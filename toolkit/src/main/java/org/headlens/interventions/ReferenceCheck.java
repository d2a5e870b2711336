package org.headlens.interventions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.headlens.HeadlensException;
import org.headlens.forward.Capture;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.forward.LayerEdits;
import org.headlens.forward.Pass;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;
import org.headlens.forward.TokenLayout;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.headlens.model.SafeTensors;

/**
 * Compares a model's forward pass with reference tensors saved from the Hugging Face
 * implementation ({@code fixtures.safetensors}: inputs {@code input_ids}, optionally
 * {@code input_ids_expanded}, {@code pixel_values}, and any tensors named as in
 * {@link #site})). Every reference tensor the forward pass computes is compared by its
 * maximum absolute difference.
 */
public final class ReferenceCheck {
    private static final Set<String> INPUTS = Set.of("input_ids", "input_ids_expanded", "pixel_values",
            "pixel_values_baseline", "attention_mask", "attention_mask_expanded", "image_grid_thw", "image_sizes",
            "rope_deltas", "vision_rotary_freqs");
    /** The difference every tensor may show: float32 against float32 in another order of operations. */
    public static final double TOLERANCE = 1e-4;
    /** How many times Hugging Face's own float32-versus-float64 error a large-valued tensor may differ by. */
    public static final double RECORDED_ERROR_FACTOR = 1.5;

    /**
     * One compared tensor.
     *
     * @param name tensor name (a suffix in brackets says which input produced it)
     * @param shape reference shape
     * @param maxAbsDiff maximum absolute difference, NaN-aware (NaN counts as infinite)
     * @param recordedError Hugging Face's own float32-versus-float64 difference for this tensor
     *     ({@code fixtures.json}: {@code verification.independent_reference_max_abs_diff}), or 0
     *     when the fixture records none
     */
    public record Row(String name, long[] shape, double maxAbsDiff, double recordedError) {
        /**
         * A row without a recorded reference error.
         *
         * @param name tensor name
         * @param shape reference shape
         * @param maxAbsDiff maximum absolute difference
         */
        public Row(String name, long[] shape, double maxAbsDiff) {
            this(name, shape, maxAbsDiff, 0);
        }

        /** @return the largest difference that passes: the tolerance, or 1.5 x the recorded error when that is larger */
        public double allowed(double tolerance) {
            return Math.max(tolerance, RECORDED_ERROR_FACTOR * recordedError);
        }

        /** @return true if the difference is within {@link #allowed} */
        public boolean passes(double tolerance) {
            return maxAbsDiff <= allowed(tolerance);
        }

        /** @return the shape as text, e.g. (1, 28, 128) */
        public String shapeText() {
            return Arrays.toString(shape).replace('[', '(').replace(']', ')');
        }
    }

    private ReferenceCheck() {
    }

    /**
     * Runs the comparison.
     *
     * @param model the model to check
     * @param fixtureDir folder with {@code fixtures.safetensors}
     * @return one row per compared tensor, in the reference file's order
     */
    public static List<Row> compare(Lvlm model, Path fixtureDir) {
        Path file = fixtureDir.resolve("fixtures.safetensors");
        if (!Files.isRegularFile(file)) {
            throw new HeadlensException(file + ": not found; a fixture folder holds fixtures.safetensors and fixtures.json");
        }
        SafeTensors reference = SafeTensors.open(file);
        List<Row> rows = new ArrayList<>();
        try (NDManager manager = model.newScope()) {
            long[] inputIds = longs(reference, "input_ids", manager);
            NDArray pixels = reference.entries().containsKey("pixel_values") ? reference.read("pixel_values", manager) : null;
            for (String mask : List.of("attention_mask", "attention_mask_expanded")) {
                if (reference.entries().containsKey(mask) && Arrays.stream(longs(reference, mask, manager)).anyMatch(v -> v != 1)) {
                    throw new HeadlensException(file + ": " + mask + " has padding; headlens runs one unpadded prompt at a time");
                }
            }
            long[] grid = grid(reference, manager);
            ImageInput image = pixels == null ? null : model.family().input(pixels, grid);
            Pass everything = Pass.full(TokenLayout.of(inputIds, model, image)).capture(Capture.everything()).logitsAt(Pass.Logits.ALL);
            try (ForwardResult result = ForwardPass.run(model, everything, pixels, LayerEdits.none())) {
                for (String name : reference.entries().keySet()) {
                    if (INPUTS.contains(name)) {
                        continue;
                    }
                    if (name.equals("position_ids")) {
                        long[][] positions = result.layout().positionRows();
                        NDArray actual = manager.create(positions[0]).expandDims(0);
                        if (positions.length > 1) {
                            // M-RoPE: (axes, batch, length), as transformers' get_rope_index returns them
                            actual = manager.create(java.util.Arrays.stream(positions).flatMapToLong(java.util.Arrays::stream).toArray(),
                                    new ai.djl.ndarray.types.Shape(positions.length, 1, positions[0].length));
                        }
                        rows.add(compare(name, reference.read(name, manager), actual));
                    } else if (name.equals("image_features_packed") && result.layout().hasImage()) {
                        // LLaVA-NeXT's packed tiles are exactly what fills the image positions
                        TokenLayout layout = result.layout();
                        rows.add(compare(name, reference.read(name, manager), result.cache().get(Site.embeddings())
                                .get(new ai.djl.ndarray.index.NDIndex(":, {}:{}, :", layout.imageStart(), layout.imageEnd()))));
                    } else if (name.equals("logits")) {
                        rows.add(compare(name, reference.read(name, manager), result.logits()));
                    } else {
                        Site site = site(name, model.config().text().layers());
                        if (site != null && result.cache().has(site)) {
                            rows.add(compare(name, reference.read(name, manager), result.cache().get(site)));
                        }
                    }
                }
            }
            if (reference.entries().containsKey("input_ids_expanded") && reference.entries().containsKey("logits")) {
                long[] expanded = longs(reference, "input_ids_expanded", manager);
                Pass allLogits = Pass.full(TokenLayout.of(expanded, model, image)).logitsAt(Pass.Logits.ALL);
                try (ForwardResult result = ForwardPass.run(model, allLogits, pixels, LayerEdits.none())) {
                    rows.add(compare("logits[input_ids_expanded]", reference.read("logits", manager), result.logits()));
                }
            }
        }
        if (rows.isEmpty()) {
            throw new HeadlensException(file + ": holds no tensor that headlens computes (expected names such as logits, hidden_states.0)");
        }
        return withRecordedErrors(rows, fixtureDir);
    }

    /**
     * Adds to each row Hugging Face's own float32-versus-float64 error for its tensor, from
     * {@code fixtures.json} ({@code verification.independent_reference_max_abs_diff}), so that a
     * large-valued tensor (the raw residual stream) is judged against what float32 can promise.
     * Ablation rows {@code logits_last.<set>} read {@code logits.<set>} ({@code logits} for clean).
     */
    static List<Row> withRecordedErrors(List<Row> rows, Path fixtureDir) {
        Path json = fixtureDir.resolve("fixtures.json");
        if (!Files.isRegularFile(json)) {
            return rows;
        }
        com.google.gson.JsonObject recorded;
        try {
            com.google.gson.JsonObject root = org.headlens.model.JsonFiles.readObject(json, org.headlens.model.JsonFiles.MAX_CONFIG_BYTES);
            com.google.gson.JsonElement verification = root.get("verification");
            if (verification == null || !verification.isJsonObject()
                    || !verification.getAsJsonObject().has("independent_reference_max_abs_diff")
                    || !verification.getAsJsonObject().get("independent_reference_max_abs_diff").isJsonObject()) {
                return rows;
            }
            recorded = verification.getAsJsonObject().getAsJsonObject("independent_reference_max_abs_diff");
        } catch (HeadlensException e) {
            return rows;
        }
        List<Row> out = new ArrayList<>();
        for (Row row : rows) {
            String key = row.name();
            if (key.startsWith("ablation logits_last.")) {
                String set = key.substring("ablation logits_last.".length());
                key = set.equals("clean") ? "logits" : "logits." + set;
            } else if (key.contains("[")) {
                key = key.substring(0, key.indexOf('['));
            }
            double error = 0;
            com.google.gson.JsonElement value = recorded.get(key);
            if (value != null && value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()
                    && Double.isFinite(value.getAsDouble()) && value.getAsDouble() >= 0) {
                error = value.getAsDouble();
            }
            out.add(new Row(row.name(), row.shape(), row.maxAbsDiff(), error));
        }
        return out;
    }

    /**
     * Compares head ablation with {@code ablations.safetensors}: final-position logits of the
     * clean run, the baseline run and every head set {@code heads.<set>} as (layer, head) rows,
     * with {@code pixel_values_baseline} as the baseline image. Runs the fast path.
     *
     * @param model the model
     * @param fixtureDir folder with {@code ablations.safetensors}
     * @return one row per compared set, or an empty list if the folder has no ablation references
     */
    public static List<Row> compareAblations(Lvlm model, Path fixtureDir) {
        Path file = fixtureDir.resolve("ablations.safetensors");
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        SafeTensors reference = SafeTensors.open(file);
        List<Row> rows = new ArrayList<>();
        var text = model.config().text();
        try (NDManager manager = model.newScope()) {
            long[] inputIds = longs(reference, "input_ids", manager);
            NDArray pixels = reference.read("pixel_values", manager);
            NDArray baseline = reference.read("pixel_values_baseline", manager);
            long[] grid = grid(reference, manager);
            Prompt prompt = Prompt.ofIds(model, inputIds, model.family().input(pixels, grid));
            try (InterventionEngine engine = InterventionEngine.prepare(model, prompt, pixels, Baseline.image(baseline))) {
                List<String> names = new ArrayList<>();
                List<Intervention> interventions = new ArrayList<>();
                for (String name : reference.entries().keySet()) {
                    if (name.startsWith("logits_last.")) {
                        String set = name.substring("logits_last.".length());
                        HeadMask mask;
                        if (set.equals("clean")) {
                            mask = HeadMask.none(text.layers(), text.heads());
                        } else if (set.equals("baseline")) {
                            mask = HeadMask.all(text.layers(), text.heads());
                        } else {
                            long[] pairs = longs(reference, "heads." + set, manager);
                            List<Head> heads = new ArrayList<>();
                            for (int i = 0; i + 1 < pairs.length; i += 2) {
                                heads.add(new Head((int) pairs[i], (int) pairs[i + 1]));
                            }
                            mask = HeadMask.of(text.layers(), text.heads(), heads);
                        }
                        names.add(name);
                        interventions.add(Intervention.ablate(mask));
                    }
                }
                float[][] logits = engine.finalLogits(interventions);
                for (int i = 0; i < names.size(); i++) {
                    NDArray expected = reference.read(names.get(i), manager);
                    rows.add(compare("ablation " + names.get(i), expected, manager.create(logits[i], expected.getShape())));
                }
            }
        }
        return withRecordedErrors(rows, fixtureDir);
    }

    /**
     * The site of a reference tensor's name, or null for a name headlens does not compute: the
     * fixtures follow transformers' output names ({@code hidden_states.i} is the input of layer i,
     * and {@code hidden_states.<layers>} the final norm's output).
     */
    static Site site(String name, int layers) {
        int dot = name.lastIndexOf('.');
        String stem = dot < 0 ? name : name.substring(0, dot);
        int index;
        try {
            index = dot < 0 ? Site.NONE : Integer.parseInt(name.substring(dot + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        return switch (stem) {
            case "hidden_states" -> index == layers ? Site.finalNorm() : index >= 0 && index < layers ? Site.residualPre(index) : null;
            case "decoder_layer_output" -> index >= 0 ? Site.residualPost(index) : null;
            case "attentions" -> index >= 0 ? Site.attentionPattern(index) : null;
            case "decoder_q_post_rope" -> index >= 0 ? Site.query(index) : null;
            case "decoder_k_post_rope" -> index >= 0 ? Site.key(index) : null;
            case "decoder_v" -> index >= 0 ? Site.value(index) : null;
            case "vision_hidden_states" -> index >= 0 ? Site.visionHidden(index) : null;
            case "vision_selected_features" -> Site.visionFeatures();
            case "projector_output", "vision_merger_output" -> Site.projectorOutput();
            case "inputs_embeds_merged" -> Site.embeddings();
            default -> null;
        };
    }

    /** The image's grid as the family reads it: Qwen2-VL's image_grid_thw, LLaVA-NeXT's image_sizes, or none. */
    private static long[] grid(SafeTensors reference, NDManager manager) {
        for (String name : List.of("image_grid_thw", "image_sizes")) {
            if (reference.entries().containsKey(name)) {
                return longs(reference, name, manager);
            }
        }
        return null;
    }

    private static long[] longs(SafeTensors reference, String name, NDManager manager) {
        if (!reference.entries().containsKey(name)) {
            throw new HeadlensException(reference.file() + ": has no '" + name + "' tensor");
        }
        return reference.read(name, manager).toType(DataType.INT64, false).toLongArray();
    }

    private static Row compare(String name, NDArray expected, NDArray actual) {
        long[] shape = expected.getShape().getShape();
        if (!expected.getShape().equals(actual.getShape()) && actual.getShape().dimension() == expected.getShape().dimension() + 1
                && actual.getShape().get(0) == 1 && actual.size() == expected.size()) {
            // Qwen2-VL's vision side has no batch axis (one row per patch); headlens keeps one of size 1
            actual = actual.reshape(expected.getShape());
        }
        if (!expected.getShape().equals(actual.getShape())) {
            return new Row(name + " (headlens shape " + actual.getShape() + ")", shape, Double.POSITIVE_INFINITY);
        }
        double[] a = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] b = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            if (Double.isNaN(d)) {
                return new Row(name, shape, Double.POSITIVE_INFINITY);
            }
            max = Math.max(max, d);
        }
        return new Row(name, shape, max);
    }
}
