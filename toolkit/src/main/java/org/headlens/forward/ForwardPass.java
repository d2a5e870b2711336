package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.Arrays;
import org.headlens.HeadlensException;
import org.headlens.model.ImageInput;
import org.headlens.model.Lvlm;
import org.headlens.model.VisionOutput;
import org.headlens.model.ModelConfig;

/**
 * The forward pass of a LLaVA model: vision tower, feature selection, projector, splicing the
 * image embeddings in at the placeholder, decoder (with any {@link LayerEdits}), final norm,
 * head. Every intermediate is freed when the pass ends; only what the {@link Pass}'s
 * {@link Capture} asks for is kept, in the returned {@link ForwardResult}.
 *
 * <pre>{@code
 * Pass pass = Pass.full(TokenLayout.of(ids, model.config())).capture(Capture.of(Site.residualPost(2)));
 * try (ForwardResult result = ForwardPass.run(model, pass, pixels, LayerEdits.none())) {
 *     NDArray residual = result.cache().get(Site.residualPost(2));
 * }
 * }</pre>
 */
public final class ForwardPass {
    private ForwardPass() {
    }

    /**
     * Runs the model on one prompt and image, keeping the final position's logits only.
     *
     * @param model the model
     * @param inputIds prompt token ids (one placeholder, or the placeholder expanded)
     * @param pixelValues (1, 3, H, W) preprocessed image, or null for a text-only prompt
     * @return the logits; close it when done
     */
    public static ForwardResult run(Lvlm model, long[] inputIds, NDArray pixelValues) {
        return run(model, inputIds, pixelValues, Capture.none());
    }

    /**
     * Runs the model on one prompt and image, keeping the activations {@code capture} names.
     *
     * @param model the model
     * @param inputIds prompt token ids
     * @param pixelValues (1, 3, H, W) preprocessed image, or null for a text-only prompt
     * @param capture what to keep
     * @return the logits and activations; close it when done
     */
    public static ForwardResult run(Lvlm model, long[] inputIds, NDArray pixelValues, Capture capture) {
        return run(model, Pass.full(TokenLayout.of(inputIds, model.config())).capture(capture), pixelValues, LayerEdits.none());
    }

    /**
     * Runs a pass with edits.
     *
     * @param model the model
     * @param pass what to run and keep; a pass on a cached prefix needs no pixels
     * @param pixelValues (B, 3, H, W) preprocessed image, or null for a text-only prompt or a cached prefix
     * @param edits what to change
     * @return the logits and activations; close it when done
     */
    public static ForwardResult run(Lvlm model, Pass pass, NDArray pixelValues, LayerEdits edits) {
        TokenLayout layout = pass.layout();
        if (pass.prefix() == null && layout.hasImage() && pixelValues == null) {
            throw new HeadlensException("the prompt has an image placeholder but no image was given");
        }
        if (!layout.hasImage() && pixelValues != null) {
            throw new HeadlensException("an image was given but the prompt has no image placeholder (token id "
                    + model.config().imageTokenIndex() + ")");
        }
        if (pass.logits() == Pass.Logits.NONE) {
            throw new HeadlensException("a pass without logits only builds a prefix cache (KeyValueCache.ofPrefix); ask for "
                    + "Pass.Logits.FINAL or ALL");
        }
        requireMemory(model, pass, Math.max(edits.rows(), pixelValues == null ? 1 : model.family().images(pixelValues)));
        NDManager owner = model.newScope();
        try (NDScope scope = new NDScope(); NDManager work = model.newScope()) {
            ActivationCache.Recorder vision = new ActivationCache.Recorder(pass.capture(), pass.from());
            NDArray hidden;
            if (pass.states() != null) {
                hidden = pass.states().input(pass.startLayer()).duplicate();
                hidden.attach(work);
            } else if (pass.prefix() != null) {
                hidden = model.languageModel().embed(work, Arrays.copyOfRange(layout.decoderIds(), pass.from(), pass.length()));
            } else {
                NDArray image = layout.hasImage() ? imageEmbeddings(model, model.asInput(pixelValues), layout.imageGrid(), vision) : null;
                hidden = embeddings(model, work, layout, image);
                vision.offer(Site.embeddings(), hidden);
                if (pass.length() < layout.length()) {
                    hidden = hidden.get(new NDIndex(":, :{}, :", pass.length()));
                }
            }
            // a batch-1 input stays batch 1 here: the decoder shares what does not differ between rows
            DecoderRun.Output output = DecoderRun.run(model, pass, hidden, edits);
            output.recorder().addAll(vision);
            NDArray logits = output.logits();
            NDScope.unregister(logits);
            logits.attach(owner);
            return new ForwardResult(logits, ActivationCache.keep(output.recorder(), owner), layout);
        } catch (RuntimeException e) {
            owner.close();
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
        requireMemory(model, Pass.full(layout), model.family().images(pixelValues));
        NDArray image = imageEmbeddings(model, model.asInput(pixelValues), layout.imageGrid(),
                new ActivationCache.Recorder(Capture.none(), 0));
        NDArray logits = DecoderRun.run(model, Pass.full(layout), embeddings(model, work, layout, image), LayerEdits.none()).logits();
        return logits.reshape(pixelValues.getShape().get(0), -1);
    }

    /**
     * Refuses a pass whose largest intermediates cannot fit in this machine's memory, from sizes
     * alone and before anything is allocated: a long prompt on a model with many heads needs
     * heads x positions x positions attention scores per layer, which grows quadratically.
     *
     * @param model the model
     * @param pass what runs and is kept
     * @param batch rows computed at once
     */
    public static void requireMemory(Lvlm model, Pass pass, long batch) {
        ModelConfig config = model.config();
        ModelConfig.TextConfig text = config.text();
        TokenLayout layout = pass.layout();
        long keys = pass.length();
        long queries = pass.queries();
        if (queries * keys > Integer.MAX_VALUE - 8) {
            throw new HeadlensException("the prompt is " + keys + " positions; attention over more than "
                    + (long) Math.sqrt(Integer.MAX_VALUE) + " positions is not supported");
        }
        double bytes = model.computeType().getNumOfBytes();
        Capture capture = pass.capture();
        // per layer: scores, their float32 copy for the softmax, the weights and the causal mask
        double decoder = batch * (double) text.heads() * queries * keys * (3 * bytes + 8)
                + batch * (double) queries * (3.0 * text.intermediateSize() + 8.0 * text.hiddenSize()) * bytes
                + 4.0 * text.layers() * text.heads() * keys * text.headDim() * bytes
                + batch * (double) (pass.logits() == Pass.Logits.ALL ? queries : 1) * text.vocabSize() * 8;
        if (capture.wantsAny(Site.Kind.ATTENTION_PATTERN)) {
            decoder += (double) text.layers() * batch * text.heads() * queries * keys * bytes;
        }
        for (Site.Kind kind : Site.Kind.values()) {
            if (kind.perLayer() && kind.inDecoder() && kind != Site.Kind.ATTENTION_PATTERN && capture.wantsAny(kind)) {
                decoder += (double) text.layers() * batch * queries * Math.max(text.hiddenSize(), (long) text.heads() * text.headDim()) * bytes;
            }
        }
        double vision = 0;
        if (layout.hasImage() && pass.prefix() == null) {
            ModelConfig.VisionConfig tower = config.vision();
            long[] sequences = model.family().visionSequences(layout.imageGrid());
            double tokens = sequences[1];
            vision = batch * sequences[0] * (tower.heads() * tokens * tokens * (3 * bytes + 4)
                    + tokens * (3.0 * tower.intermediateSize() + 8.0 * tower.hiddenSize()) * bytes
                    * (capture.wantsAny(Site.Kind.VISION_HIDDEN) ? tower.layers() : 1));
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

    /**
     * Token embeddings with the projected image features spliced in at the image positions.
     *
     * @param image (B, image tokens, hidden) projected image embeddings, or null for a text-only prompt
     */
    static NDArray embeddings(Lvlm model, NDManager work, TokenLayout layout, NDArray image) {
        long[] ids = layout.decoderIds().clone();
        for (int p : layout.imagePositions()) {
            ids[p] = 0; // placeholder rows are overwritten; id 0 keeps the lookup in range
        }
        NDArray text = model.languageModel().embed(work, ids);
        if (image == null) {
            return text;
        }
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
     * The family's vision side: tower, then projector or merger. Its activations go to the recorder.
     *
     * @param model the model
     * @param pixels preprocessed pixel values in the compute type, in the family's layout
     * @param grid the image's grid ({@link TokenLayout#imageGrid}), or null for a fixed-size family
     * @param recorder where vision activations go
     * @return image embeddings (B, image tokens, text hidden)
     */
    static NDArray imageEmbeddings(Lvlm model, NDArray pixels, long[] grid, ActivationCache.Recorder recorder) {
        ImageInput input = model.family().input(pixels, grid);
        VisionOutput output = model.family().encode(input, recorder.wants(Site.Kind.VISION_HIDDEN));
        for (int i = 0; i < output.hidden().size(); i++) {
            recorder.offer(Site.visionHidden(i), output.hidden().get(i));
        }
        if (output.features() != null) {
            recorder.offer(Site.visionFeatures(), output.features());
        }
        recorder.offer(Site.projectorOutput(), output.projected());
        return output.embeddings();
    }
}
