package org.headlens.evaluation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.headlens.HeadlensException;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.metric.Answer;
import org.headlens.metric.Metric;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import tech.tablesaw.api.BooleanColumn;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * How often the model answers correctly, with the real image and with a blank one (which shows
 * how much of the accuracy needs the image at all).
 *
 * @param samples one row per sample: id, class, style, answer (the model's top token), correct, blank_correct
 */
public record Accuracy(Table samples) {
    /**
     * Asks the question about every sample, with its image and with a blank image.
     *
     * @param model the model
     * @param entries the samples; their class is the expected answer
     * @param prompt the question with its image placeholder
     * @return the per-sample outcomes
     */
    public static Accuracy measure(Lvlm model, List<Sample> entries, String prompt) {
        if (entries.isEmpty()) {
            throw new HeadlensException("no samples to evaluate");
        }
        Table table = Table.create("accuracy", StringColumn.create("sample"), StringColumn.create("class"), StringColumn.create("style"),
                StringColumn.create("answer"), BooleanColumn.create("correct"), BooleanColumn.create("blank_correct"));
        try (NDManager manager = model.newScope()) {
            Prompt question = Prompt.of(model, prompt);
            NDArray blank = null;
            for (Sample entry : entries) {
                Answer answer = Answer.of(model, entry.answer());
                try (NDManager scope = manager.newSubManager()) {
                    NDArray pixels = model.imageProcessor().pixelValues(scope, entry.image());
                    if (blank == null) {
                        // all-zero pixel values: the processor's mean colour everywhere
                        blank = manager.zeros(pixels.getShape());
                    }
                    float[] logits = finalLogits(model, question, pixels);
                    Metric.requireFinite(logits, "sample " + entry.id());
                    float[] blankLogits = finalLogits(model, question, blank);
                    Metric.requireFinite(blankLogits, "sample " + entry.id() + " with a blank image");
                    table.stringColumn("sample").append(entry.id());
                    table.stringColumn("class").append(entry.answer());
                    table.stringColumn("style").append(entry.labels().getOrDefault("style", ""));
                    table.stringColumn("answer").append(model.token(argMax(logits)));
                    table.booleanColumn("correct").append(answer.isPredicted(logits));
                    table.booleanColumn("blank_correct").append(answer.isPredicted(blankLogits));
                }
            }
        }
        return new Accuracy(table);
    }

    /** @return fraction answered correctly */
    public double accuracy() {
        return samples.booleanColumn("correct").countTrue() / (double) samples.rowCount();
    }

    /** @return fraction answered correctly when every image is blank */
    public double blankAccuracy() {
        return samples.booleanColumn("blank_correct").countTrue() / (double) samples.rowCount();
    }

    /** @return accuracy and sample count per class */
    public Table byClass() {
        return by("class");
    }

    /** @return accuracy and sample count per style */
    public Table byStyle() {
        return by("style");
    }

    /** @return the wrong answers: class, answer and how often, most frequent first */
    public Table confusions() {
        Table counts = samples.where(samples.booleanColumn("correct").isFalse()).countBy("class", "answer");
        // countBy names its count column "Count"; every other table here says "samples"
        counts.column(counts.columnCount() - 1).setName("samples");
        return counts.setName("confusions").sortDescendingOn("samples");
    }

    private static int argMax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            best = values[i] > values[best] ? i : best;
        }
        return best;
    }

    private Table by(String column) {
        Map<String, int[]> counts = new TreeMap<>();
        for (int i = 0; i < samples.rowCount(); i++) {
            int[] c = counts.computeIfAbsent(samples.stringColumn(column).get(i), k -> new int[2]);
            c[0] += samples.booleanColumn("correct").get(i) ? 1 : 0;
            c[1]++;
        }
        return Table.create("accuracy by " + column, StringColumn.create(column, counts.keySet()),
                DoubleColumn.create("accuracy", counts.values().stream().mapToDouble(c -> c[0] / (double) c[1])),
                IntColumn.create("samples", counts.values().stream().mapToInt(c -> c[1]).toArray()));
    }

    private static float[] finalLogits(Lvlm model, Prompt question, NDArray pixels) {
        try (ForwardResult result = ForwardPass.run(model, question.inputIds(), pixels)) {
            return result.finalLogits();
        }
    }
}
