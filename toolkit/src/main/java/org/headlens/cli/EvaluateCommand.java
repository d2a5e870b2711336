package org.headlens.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.forward.ForwardOptions;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;

/** {@code evaluate}: accuracy of the model's one-word answer, by class and style, and with blank images. */
final class EvaluateCommand implements Main.Command {
    @Override
    public String summary() {
        return "answer accuracy by class and style, and with blank images: --model DIR --data DIR [--prompt TEXT]";
    }

    @Override
    public int run(Options options, PrintStream out) {
        Path modelDir = options.path("model", null);
        Path dataDir = options.path("data", null);
        String promptText = options.string("prompt", TinyModel.OBJECT_PROMPT);
        List<ShapesDataset.Entry> entries = ShapesDataset.read(dataDir);
        try (Lvlm model = Lvlm.load(modelDir); NDManager manager = model.newScope()) {
            Prompt prompt = Prompt.of(model, promptText);
            Map<String, int[]> byClass = new TreeMap<>();
            Map<String, int[]> byStyle = new TreeMap<>();
            int correct = 0;
            int blankCorrect = 0;
            NDArray blank = null;
            for (ShapesDataset.Entry entry : entries) {
                long answer = model.encodeWithoutSpecialTokens(entry.shape())[0];
                try (NDManager scope = manager.newSubManager()) {
                    NDArray pixels = model.imageProcessor().pixelValues(scope, entry.image());
                    if (blank == null) {
                        blank = manager.zeros(pixels.getShape());
                    }
                    boolean right = argmax(model, prompt, pixels) == answer;
                    correct += right ? 1 : 0;
                    blankCorrect += argmax(model, prompt, blank) == answer ? 1 : 0;
                    tally(byClass, entry.shape(), right);
                    tally(byStyle, entry.style(), right);
                }
            }
            print(out, "class", byClass);
            print(out, "style", byStyle);
            double accuracy = correct / (double) entries.size();
            double blankAccuracy = blankCorrect / (double) entries.size();
            out.printf("evaluate: accuracy=%.4f blank_accuracy=%.4f samples=%d%n", accuracy, blankAccuracy, entries.size());
        }
        return 0;
    }

    private static long argmax(Lvlm model, Prompt prompt, NDArray pixels) {
        try (ForwardResult result = ForwardPass.run(model, prompt.inputIds(), pixels, ForwardOptions.logitsOnly())) {
            float[] logits = result.finalLogits();
            int best = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
    }

    private static void tally(Map<String, int[]> table, String key, boolean right) {
        int[] counts = table.computeIfAbsent(key, k -> new int[2]);
        counts[0] += right ? 1 : 0;
        counts[1]++;
    }

    private static void print(PrintStream out, String what, Map<String, int[]> table) {
        out.printf("%-10s  %8s  %7s%n", what, "accuracy", "samples");
        table.forEach((k, v) -> out.printf("%-10s  %8.4f  %7d%n", k, v[0] / (double) v[1], v[1]));
    }
}
