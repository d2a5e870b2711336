package org.headlens.data;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/**
 * Trains the tiny LLaVA from scratch on freshly generated synthetic samples with DJL autograd,
 * through the same forward code that analyses it, and writes it as a Hugging Face folder.
 *
 * <p>Training has the two stages of LLaVA-style models. First the vision tower learns shapes on
 * its own, as CLIP does before it meets a language model: every patch token predicts the class
 * of the object it lies on (or background), and the mean patch token predicts the class of the
 * image. A vision transformer trained only through the decoder's answer stayed at chance on
 * shapes for 30 minutes on two cores; with this dense signal it classifies 0.98-0.99 of training
 * images after 25000 steps (about 25 minutes on two cores). Both prediction heads are dropped
 * afterwards. Then the tower is frozen and the projector and decoder learn to answer the object
 * question (and, every fourth step, a colour question, which the shape-trained tower cannot answer
 * well).
 *
 * @param visionSteps steps of the vision stage
 * @param steps steps of the language stage
 * @param batch images per step
 * @param learningRate peak Adam learning rate of each stage (cosine decay to 5% of it)
 * @param seed seed of the initialisation and of the training stream
 * @param layers decoder layers
 * @param heads decoder heads
 * @param hidden decoder width
 */
public record TinyTrainer(int visionSteps, int steps, int batch, double learningRate, long seed, int layers, int heads,
        int hidden) {
    /** Covered fraction from which a patch counts as object in the vision stage. */
    private static final double OBJECT_PATCH = 0.3;

    /** The shipped configuration. */
    public static TinyTrainer defaults(long seed) {
        return new TinyTrainer(25000, 1500, 32, 2e-3, seed, 6, 8, 128);
    }

    /**
     * Trains and writes the folder.
     *
     * @param out model folder to write
     * @param log progress lines
     * @return how the loss of each stage and question changed
     */
    public List<Loss> train(Path out, PrintStream log) {
        JsonObject configJson = TinyModel.config(layers, heads, hidden);
        ModelConfig config = ModelConfig.parse(out.resolve("config.json"), configJson);
        List<Loss> loss = new ArrayList<>();
        try (Lvlm model = Lvlm.random(config, seed)) {
            Map<String, NDArray> vision = new LinkedHashMap<>();
            Map<String, NDArray> language = new LinkedHashMap<>();
            model.weights().tensors().forEach((name, tensor) -> (name.startsWith("vision_tower.") ? vision : language).put(name, tensor));
            if (visionSteps > 0) {
                loss.add(trainVision(model, vision, log));
            }
            loss.addAll(trainLanguage(model, language, log));
            TinyModel.writeFolderFiles(out, configJson);
            model.save(out);
        }
        return loss;
    }

    private Loss trainVision(Lvlm model, Map<String, NDArray> tower, PrintStream log) {
        ModelConfig.VisionConfig vision = model.config().vision();
        int side = vision.imageSize() / vision.patchSize();
        int patches = side * side;
        int classes = SyntheticShapes.SHAPES.size();
        NDManager owner = model.weights().manager();
        Map<String, NDArray> parameters = new LinkedHashMap<>(tower);
        float scale = (float) (1 / Math.sqrt(vision.hiddenSize()));
        // class of the patch's object, or one extra class for background
        NDArray patchHead = owner.randomNormal(0, scale, new Shape(vision.hiddenSize(), classes + 1), DataType.FLOAT32);
        NDArray imageHead = owner.randomNormal(0, scale, new Shape(vision.hiddenSize(), classes), DataType.FLOAT32);
        parameters.put("patch_head", patchHead);
        parameters.put("image_head", imageHead);
        parameters.values().forEach(p -> p.setRequiresGradient(true));
        Adam adam = new Adam(parameters, owner);
        SyntheticShapes generator = new SyntheticShapes(TinyModel.IMAGE_SIZE, seed + 3);
        Random curriculum = new Random(seed + 4);
        Progress progress = new Progress("vision", visionSteps, log);
        for (int step = 0; step < visionSteps; step++) {
            try (NDManager work = model.newScope()) {
                List<NDArray> images = new ArrayList<>();
                float[] imageLabels = new float[batch * classes];
                float[] patchLabels = new float[batch * patches * (classes + 1)];
                int[] answers = new int[batch];
                // easy samples first, then the full mix of styles, backgrounds and rotations
                double hard = Math.max(0, Math.min(1, (step - 0.1 * visionSteps) / (0.3 * visionSteps)));
                for (int i = 0; i < batch; i++) {
                    ShapeSample sample = generator.sample("train", step * batch + i, curriculum.nextDouble() >= hard);
                    images.add(model.imageProcessor().pixelValues(work, sample.image()));
                    answers[i] = SyntheticShapes.SHAPES.indexOf(sample.shape());
                    imageLabels[i * classes + answers[i]] = 1f;
                    boolean[] onObject = Prompt.patchGrid(sample.mask(), side, OBJECT_PATCH);
                    for (int p = 0; p < patches; p++) {
                        patchLabels[(i * patches + p) * (classes + 1) + (onObject[p] ? answers[i] : classes)] = 1f;
                    }
                }
                NDArray pixels = NDArrays.concat(new NDList(images), 0);
                double loss;
                double accuracy;
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    List<NDArray> states = model.visionTower().hiddenStates(pixels, vision.layers());
                    // the tiny model feeds the last layer's patch tokens (CLS dropped) to the projector
                    NDArray features = states.get(vision.layers()).get(new NDIndex(":, 1:, :"));
                    NDArray imageLogits = features.mean(new int[] {1}).matMul(imageHead);
                    NDArray imageLoss = imageLogits.logSoftmax(-1).mul(work.create(imageLabels, new Shape(batch, classes))).sum().div(-batch);
                    NDArray patchLoss = features.matMul(patchHead).logSoftmax(-1)
                            .mul(work.create(patchLabels, new Shape(batch, patches, classes + 1))).sum().div(-batch * patches);
                    NDArray total = imageLoss.add(patchLoss);
                    collector.backward(total);
                    loss = imageLoss.getFloat();
                    accuracy = accuracy(imageLogits, answers);
                }
                boolean finite = adam.step(learningRate * schedule(step, visionSteps));
                progress.step(step, loss, accuracy, finite);
            }
        }
        parameters.values().forEach(p -> p.setRequiresGradient(false));
        patchHead.close();
        imageHead.close();
        adam.close();
        return progress.summary();
    }

    private List<Loss> trainLanguage(Lvlm model, Map<String, NDArray> parameters, PrintStream log) {
        List<String> vocabulary = TinyModel.vocabulary();
        long[] objectPrompt = promptIds(TinyModel.OBJECT_PROMPT);
        long[] colourPrompt = promptIds(TinyModel.COLOUR_PROMPT);
        SyntheticShapes generator = new SyntheticShapes(TinyModel.IMAGE_SIZE, seed + 1);
        parameters.values().forEach(p -> p.setRequiresGradient(true));
        Adam adam = new Adam(parameters, model.weights().manager());
        Progress object = new Progress("language object", steps, log);
        Progress colourProgress = new Progress("language colour", steps, log);
        for (int step = 0; step < steps; step++) {
            // every fourth step asks for the colour, a second kind of question about the image
            boolean colour = step % 4 == 3;
            try (NDManager work = model.newScope()) {
                List<NDArray> images = new ArrayList<>();
                float[] labels = new float[batch * vocabulary.size()];
                int[] answers = new int[batch];
                for (int i = 0; i < batch; i++) {
                    ShapeSample sample = generator.sample("train", step * batch + i);
                    images.add(model.imageProcessor().pixelValues(work, sample.image()));
                    answers[i] = vocabulary.indexOf(colour ? sample.colour() : sample.shape());
                    labels[i * vocabulary.size() + answers[i]] = 1f;
                }
                NDArray pixels = NDArrays.concat(new NDList(images), 0);
                NDArray target = work.create(labels, new Shape(batch, vocabulary.size()));
                double loss;
                double accuracy;
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = ForwardPass.finalLogitsForTraining(model, work, colour ? colourPrompt : objectPrompt, pixels);
                    NDArray lossArray = logits.logSoftmax(-1).mul(target).sum().div(-batch);
                    collector.backward(lossArray);
                    loss = lossArray.getFloat();
                    accuracy = accuracy(logits, answers);
                }
                boolean finite = adam.step(learningRate * schedule(step, steps));
                (colour ? colourProgress : object).step(step, loss, accuracy, finite);
            }
        }
        parameters.values().forEach(p -> p.setRequiresGradient(false));
        adam.close();
        return List.of(object.summary(), colourProgress.summary());
    }

    /** Fraction of rows whose largest logit is the answer. */
    private static double accuracy(NDArray logits, int[] answers) {
        long[] predicted = logits.argMax(-1).toLongArray();
        int correct = 0;
        for (int i = 0; i < answers.length; i++) {
            correct += predicted[i] == answers[i] ? 1 : 0;
        }
        return correct / (double) answers.length;
    }

    /** Linear warm-up over 100 steps, then cosine decay to 5% of the peak. */
    private static double schedule(int step, int steps) {
        double warm = Math.min(1.0, (step + 1) / 100.0);
        return warm * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * step / (double) steps)));
    }

    /**
     * How one kind of loss changed during training.
     *
     * @param name stage and question, e.g. {@code language object}
     * @param first mean of the first steps (a quarter of them, at most 50)
     * @param last mean of as many last steps
     * @param accuracy running accuracy at the end
     */
    public record Loss(String name, double first, double last, double accuracy) {
    }

    /** Running loss and accuracy of one kind of step, logged every 100 steps with rate and time left. */
    private static final class Progress {
        private final String name;
        private final int steps;
        private final PrintStream log;
        private final long start = System.nanoTime();
        private final List<Double> losses = new ArrayList<>();
        private double running = Double.NaN;
        private double accuracy;
        private int skipped;
        private int nextLog;

        Progress(String name, int steps, PrintStream log) {
            this.name = name;
            this.steps = steps;
            this.log = log;
        }

        void step(int step, double loss, double stepAccuracy, boolean finite) {
            skipped += finite ? 0 : 1;
            losses.add(loss);
            running = losses.size() == 1 ? loss : 0.95 * running + 0.05 * loss;
            accuracy = losses.size() == 1 ? stepAccuracy : 0.95 * accuracy + 0.05 * stepAccuracy;
            if (log != null && (step >= nextLog || step >= steps - 4)) {
                nextLog = step + 100;
                double elapsed = (System.nanoTime() - start) / 1e9;
                log.printf("train-tiny: %s step %d/%d loss %.4f accuracy %.3f, %d skipped (%.1f steps/s, %.0f s left)%n",
                        name, step + 1, steps, running, accuracy, skipped, (step + 1) / elapsed, (steps - step - 1) * elapsed / (step + 1));
            }
        }

        Loss summary() {
            if (losses.isEmpty()) {
                return new Loss(name, Double.NaN, Double.NaN, Double.NaN);
            }
            int window = Math.max(1, Math.min(50, losses.size() / 4));
            return new Loss(name, mean(losses.subList(0, window)), mean(losses.subList(losses.size() - window, losses.size())), accuracy);
        }

        private static double mean(List<Double> values) {
            return values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
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
