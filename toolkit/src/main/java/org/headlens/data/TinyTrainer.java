package org.headlens.data;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.headlens.forward.ForwardPass;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/**
 * Trains the tiny LLaVA from scratch on freshly generated synthetic samples with DJL autograd,
 * through the same forward code that analyses it, and writes it as a Hugging Face folder.
 *
 * @param steps optimisation steps
 * @param batch images per step
 * @param learningRate peak Adam learning rate (cosine decay to 5% of it)
 * @param seed seed of the initialisation and of the training stream
 * @param layers decoder layers
 * @param heads decoder heads
 * @param hidden decoder width
 */
public record TinyTrainer(int steps, int batch, double learningRate, long seed, int layers, int heads, int hidden) {

    /** The shipped configuration. */
    public static TinyTrainer defaults(long seed) {
        return new TinyTrainer(2800, 32, 1e-3, seed, 6, 8, 128);
    }

    /**
     * Trains and writes the folder.
     *
     * @param out model folder to write
     * @param log progress lines
     * @return mean loss of the first and of the last 50 steps
     */
    public double[] train(Path out, PrintStream log) {
        JsonObject configJson = TinyModel.config(layers, heads, hidden);
        ModelConfig config = ModelConfig.parse(out.resolve("config.json"), configJson);
        SyntheticShapes generator = new SyntheticShapes(TinyModel.IMAGE_SIZE, seed + 1);
        java.util.Random curriculum = new java.util.Random(seed + 2);
        List<String> vocabulary = TinyModel.vocabulary();
        long[] objectPrompt = promptIds(TinyModel.OBJECT_PROMPT);
        long[] colourPrompt = promptIds(TinyModel.COLOUR_PROMPT);
        double firstLoss = 0;
        double lastLoss = 0;
        double[] recent = {Math.log(8), Math.log(6)};
        int skipped = 0;
        int window = Math.min(50, Math.max(1, steps / 4));
        try (Lvlm model = Lvlm.random(config, seed)) {
            Map<String, NDArray> parameters = model.weights().tensors();
            parameters.values().forEach(p -> p.setRequiresGradient(true));
            Adam adam = new Adam(parameters, model.weights().manager());
            long start = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                double loss;
                // every fourth step asks for the colour: an easy signal that makes image-to-answer heads form early
                boolean colour = step % 4 == 3;
                try (NDManager work = model.newScope()) {
                    List<NDArray> images = new ArrayList<>();
                    float[] labels = new float[batch * vocabulary.size()];
                    for (int i = 0; i < batch; i++) {
                        // curriculum: easy samples first, then the full mix of styles, backgrounds and rotations
                        double hard = Math.max(0, Math.min(1, (step - 0.4 * steps) / (0.3 * steps)));
                        ShapeSample sample = generator.sample("train", step * batch + i, curriculum.nextDouble() >= hard);
                        images.add(model.imageProcessor().pixelValues(work, sample.image()));
                        labels[i * vocabulary.size() + vocabulary.indexOf(colour ? sample.colour() : sample.shape())] = 1f;
                    }
                    NDArray pixels = NDArrays.concat(new NDList(images), 0);
                    NDArray target = work.create(labels, new ai.djl.ndarray.types.Shape(batch, vocabulary.size()));
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = ForwardPass.finalLogitsForTraining(model, work, colour ? colourPrompt : objectPrompt, pixels);
                        NDArray lossArray = logits.logSoftmax(-1).mul(target).sum().div(-batch);
                        collector.backward(lossArray);
                        loss = lossArray.getFloat();
                    }
                    double warm = Math.min(1.0, (step + 1) / 100.0);
                    double cosine = 0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * step / (double) steps));
                    if (!adam.step(learningRate * warm * cosine)) {
                        skipped++;
                    }
                }
                recent[colour ? 1 : 0] = 0.95 * recent[colour ? 1 : 0] + 0.05 * loss;
                if (step < window) {
                    firstLoss += loss / window;
                }
                if (step >= steps - window) {
                    lastLoss += loss / window;
                }
                if (log != null && (step % 50 == 0 || step == steps - 1)) {
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    log.printf("train-tiny: step %d/%d loss object %.4f colour %.4f, %d skipped (%.1f steps/s, %.0f s left)%n",
                            step + 1, steps, recent[0], recent[1], skipped,
                            (step + 1) / elapsed, (steps - step - 1) * elapsed / (step + 1));
                }
            }
            parameters.values().forEach(p -> p.setRequiresGradient(false));
            TinyModel.writeFolderFiles(out, configJson);
            model.saveWeights(out);
        }
        return new double[] {firstLoss, lastLoss};
    }

    /**
     * Adam with global gradient-norm clipping. Its moments live in the weights' manager and are
     * updated in place, so a long run allocates nothing that outlives a step.
     */
    private static final class Adam {
        private static final double BETA1 = 0.9;
        private static final double BETA2 = 0.999;
        private static final double EPSILON = 1e-8;
        private static final double MAX_NORM = 1.0;
        private final Map<String, NDArray> parameters;
        private final Map<String, NDArray[]> moments = new java.util.LinkedHashMap<>();
        private int t;

        Adam(Map<String, NDArray> parameters, NDManager owner) {
            this.parameters = parameters;
            parameters.forEach((name, p) -> moments.put(name, new NDArray[] {owner.zeros(p.getShape()), owner.zeros(p.getShape())}));
        }

        /**
         * Backward adds to the stored gradients, so they are reset after every step. Filling with
         * zeros (rather than subtracting the gradient from itself, as DJL's zeroGradients does)
         * also clears a gradient that holds NaN.
         */
        private void clearGradients() {
            for (NDArray weight : parameters.values()) {
                weight.getGradient().set(new ai.djl.ndarray.index.NDIndex("..."), 0f);
            }
        }

        /** @return false (and no update) when the gradient is not finite */
        boolean step(double learningRate) {
            // every temporary (gradient handles included) is freed when the scope closes; the
            // moments and weights are changed in place and outlive it
            try (NDScope scope = new NDScope()) {
                double squared = 0;
                for (NDArray p : parameters.values()) {
                    squared += p.getGradient().square().sum().getFloat();
                }
                double norm = Math.sqrt(squared);
                if (!Double.isFinite(norm)) {
                    clearGradients();
                    return false;
                }
                t++;
                double clip = norm > MAX_NORM ? MAX_NORM / norm : 1.0;
                double correction1 = 1 - Math.pow(BETA1, t);
                double correction2 = 1 - Math.pow(BETA2, t);
                for (Map.Entry<String, NDArray> entry : parameters.entrySet()) {
                    NDArray weight = entry.getValue();
                    NDArray[] m = moments.get(entry.getKey());
                    NDArray gradient = weight.getGradient().mul(clip);
                    m[0].muli(BETA1).addi(gradient.mul(1 - BETA1));
                    m[1].muli(BETA2).addi(gradient.square().mul(1 - BETA2));
                    weight.subi(m[0].div(correction1).div(m[1].div(correction2).sqrt().add(EPSILON)).mul(learningRate));
                }
                clearGradients();
            }
            return true;
        }
    }

    /**
     * @param prompt a prompt made of tiny-vocabulary words
     * @return its token ids (BOS first), as tokenizer.json gives them
     */
    public static long[] promptIds(String prompt) {
        List<String> vocabulary = TinyModel.vocabulary();
        String spaced = prompt.replace(":", " : ").replace("?", " ? ").replace(".", " . ");
        List<Long> ids = new ArrayList<>(List.of((long) vocabulary.indexOf("<s>")));
        for (String word : spaced.trim().split("\\s+")) {
            int id = vocabulary.indexOf(word);
            if (id < 0) {
                throw new IllegalStateException("word '" + word + "' is not in the tiny vocabulary");
            }
            ids.add((long) id);
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }
}
