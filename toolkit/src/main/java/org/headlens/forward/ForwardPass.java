package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/**
 * The plain full-sequence forward pass of a LLaVA model: vision tower, feature selection,
 * projector, splicing the image embeddings in at the placeholder, decoder, final norm, head.
 * Every intermediate is freed when the pass ends; only what {@link ForwardOptions} asks for is
 * kept, in the returned {@link ForwardResult}.
 */
public final class ForwardPass {
    private ForwardPass() {
    }

    /**
     * Runs the model on one prompt and image.
     *
     * @param model the model
     * @param inputIds prompt token ids (one placeholder, or the placeholder expanded)
     * @param pixelValues (1, 3, H, W) preprocessed image, or null for a text-only prompt
     * @param options what to keep
     * @return the kept tensors; close it when done
     */
    public static ForwardResult run(Lvlm model, long[] inputIds, NDArray pixelValues, ForwardOptions options) {
        return run(model, inputIds, pixelValues, options, null);
    }

    /**
     * Runs the model with hooks that read or overwrite activations (see {@link HookSite}).
     *
     * @param model the model
     * @param inputIds prompt token ids
     * @param pixelValues (1, 3, H, W) preprocessed image, or null for a text-only prompt
     * @param options what to keep
     * @param hooks hooks to apply, or null
     * @return the kept tensors; close it when done
     */
    public static ForwardResult run(Lvlm model, long[] inputIds, NDArray pixelValues, ForwardOptions options, Hooks hooks) {
        ModelConfig config = model.config();
        TokenLayout layout = TokenLayout.of(inputIds, config);
        if (layout.hasImage() && pixelValues == null) {
            throw new HeadlensException("the prompt has an image placeholder but no image was given");
        }
        if (!layout.hasImage() && pixelValues != null) {
            throw new HeadlensException("an image was given but the prompt has no image placeholder (token id "
                    + config.imageTokenIndex() + ")");
        }
        requireMemory(model, layout, pixelValues == null ? 1 : pixelValues.getShape().get(0), layout.length(), options);
        NDManager out = model.newScope();
        Map<String, NDArray> kept = new LinkedHashMap<>();
        try (NDScope scope = new NDScope(); NDManager work = model.newScope()) {
            NDArray embeddings = embeddings(model, work, layout, pixelValues, options, kept);
            if (options.vision()) {
                kept.put("inputs_embeds_merged", embeddings);
            }
            int layers = config.text().layers();
            DecoderRun.Output output = DecoderRun.run(model, work, embeddings, 0, layout, layout.length(), null,
                    new DecoderRun.Interventions(new NDArray[layers], new DecoderRun.Block[layers], new NDArray[layers], hooks),
                    kept, options, false, !options.allPositions());
            kept.put("logits", output.logits());
            for (NDArray tensor : kept.values()) {
                NDScope.unregister(tensor);
                tensor.attach(out);
            }
            return new ForwardResult(out, kept, layout);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /**
     * Final-position logits for a batch of images that share one prompt, computed in the caller's
     * manager without freeing intermediates, so that autograd can run backward through them.
     *
     * @param model the model
     * @param work owner of every intermediate (close it after the backward pass)
     * @param inputIds the shared prompt
     * @param pixelValues (B, 3, H, W)
     * @return (B, vocab) logits
     */
    public static NDArray finalLogitsForTraining(Lvlm model, NDManager work, long[] inputIds, NDArray pixelValues) {
        TokenLayout layout = TokenLayout.of(inputIds, model.config());
        requireMemory(model, layout, pixelValues.getShape().get(0), layout.length(), ForwardOptions.logitsOnly());
        NDArray embeddings = embeddings(model, work, layout, pixelValues, ForwardOptions.logitsOnly(), null);
        NDArray logits = DecoderRun.run(model, work, embeddings, 0, layout, layout.length(), null,
                DecoderRun.Interventions.none(model.config().text().layers()), null, ForwardOptions.logitsOnly(), false, true).logits();
        return logits.reshape(pixelValues.getShape().get(0), -1);
    }

    /**
     * Refuses a pass whose largest intermediates cannot fit in this machine's memory, from sizes
     * alone and before anything is allocated: a long prompt on a model with many heads needs
     * heads x positions x positions attention scores per layer, which grows quadratically.
     *
     * @param model the model
     * @param layout the prompt's layout
     * @param batch rows computed at once
     * @param queries query positions computed (the whole sequence, or the text after the image)
     * @param options what the pass keeps
     */
    static void requireMemory(Lvlm model, TokenLayout layout, long batch, long queries, ForwardOptions options) {
        ModelConfig config = model.config();
        ModelConfig.TextConfig text = config.text();
        long keys = layout.length();
        if (queries * keys > Integer.MAX_VALUE - 8) {
            throw new HeadlensException("the prompt is " + keys + " positions; attention over more than "
                    + (long) Math.sqrt(Integer.MAX_VALUE) + " positions is not supported");
        }
        double bytes = model.computeType().getNumOfBytes();
        // per layer: scores, their float32 copy for the softmax, the weights and the causal mask
        double decoder = batch * (double) text.heads() * queries * keys * (3 * bytes + 8)
                + batch * (double) queries * (3.0 * text.intermediateSize() + 8.0 * text.hiddenSize()) * bytes
                + 4.0 * text.layers() * text.heads() * keys * text.headDim() * bytes
                + batch * (double) (options.allPositions() ? queries : 1) * text.vocabSize() * 8;
        if (options.attentions()) {
            decoder += (double) text.layers() * text.heads() * queries * keys * bytes;
        }
        if (options.hiddenStates() || options.queryKeyValue()) {
            decoder += 8.0 * text.layers() * batch * keys * Math.max(text.hiddenSize(), (long) text.heads() * text.headDim()) * bytes;
        }
        double vision = 0;
        if (layout.hasImage()) {
            ModelConfig.VisionConfig tower = config.vision();
            double tokens = tower.tokens();
            vision = batch * (tower.heads() * tokens * tokens * (3 * bytes + 4)
                    + tokens * (3.0 * tower.intermediateSize() + 8.0 * tower.hiddenSize()) * bytes * (options.vision() ? tower.layers() : 1));
        }
        double needed = decoder + vision;
        long available = physicalMemory();
        if (available > 0 && needed > available) {
            throw new HeadlensException(String.format(java.util.Locale.ROOT,
                    "a forward pass over this prompt (%d positions, batch %d) needs about %.1f GB, more than this machine's %.1f GB of memory",
                    keys, batch, needed / 1e9, available / 1e9));
        }
    }

    /** @return the machine's (or container's) memory in bytes, or 0 when the JVM cannot tell */
    private static long physicalMemory() {
        var system = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return system instanceof com.sun.management.OperatingSystemMXBean os ? os.getTotalMemorySize() : 0;
    }

    /** Token embeddings with the projected image features spliced in at the image positions. */
    static NDArray embeddings(Lvlm model, NDManager work, TokenLayout layout, NDArray pixelValues,
            ForwardOptions options, Map<String, NDArray> kept) {
        long[] ids = layout.decoderIds().clone();
        for (int p : layout.imagePositions()) {
            ids[p] = 0; // placeholder rows are overwritten; id 0 keeps the lookup in range
        }
        NDArray text = model.languageModel().embed(work, ids);
        if (!layout.hasImage()) {
            return text;
        }
        NDArray image = imageEmbeddings(model, pixelValues.toType(model.computeType(), false), options,
                kept == null ? new java.util.HashMap<>() : kept);
        long batch = image.getShape().get(0);
        if (batch > 1) {
            text = text.repeat(0, batch);
        }
        return NDArrays.concat(new NDList(
                text.get(new NDIndex(":, :{}, :", layout.imageStart())),
                image,
                text.get(new NDIndex(":, {}:, :", layout.imageEnd()))), 1);
    }

    /**
     * Vision tower, feature selection and projector for one image.
     *
     * @param model the model
     * @param pixels (1, 3, H, W) in the compute type
     * @param options what to keep
     * @param kept where kept tensors go
     * @return projected image embeddings (1, image tokens, text hidden)
     */
    static NDArray imageEmbeddings(Lvlm model, NDArray pixels, ForwardOptions options, Map<String, NDArray> kept) {
        ModelConfig config = model.config();
        int side = config.vision().imageSize();
        if (pixels.getShape().dimension() != 4 || pixels.getShape().get(1) != config.vision().channels()
                || pixels.getShape().get(2) != side || pixels.getShape().get(3) != side) {
            throw new HeadlensException("pixel values have shape " + pixels.getShape() + ", expected (batch, "
                    + config.vision().channels() + ", " + side + ", " + side + ")");
        }
        int states = config.vision().layers() + 1;
        int[] featureLayers = config.visionFeatureLayers();
        int deepest = 0;
        int[] resolved = new int[featureLayers.length];
        for (int i = 0; i < featureLayers.length; i++) {
            resolved[i] = featureLayers[i] < 0 ? states + featureLayers[i] : featureLayers[i];
            deepest = Math.max(deepest, resolved[i]);
        }
        List<NDArray> hidden = model.visionTower().hiddenStates(pixels, options.vision() ? states - 1 : deepest);
        if (options.vision()) {
            for (int i = 0; i < hidden.size(); i++) {
                kept.put("vision_hidden_states." + i, hidden.get(i));
            }
        }
        List<NDArray> chosen = new ArrayList<>();
        for (int index : resolved) {
            chosen.add(hidden.get(index));
        }
        NDArray features = chosen.size() == 1 ? chosen.get(0) : NDArrays.concat(new NDList(chosen), -1);
        if (config.strategyDropsFirst()) {
            features = features.get(new NDIndex(":, 1:, :"));
        }
        NDArray projected = model.projector().project(features);
        if (options.vision()) {
            kept.put("vision_selected_features", features);
            kept.put("projector_output", projected);
        }
        return projected;
    }
}
