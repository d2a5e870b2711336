package org.headlens.evaluation;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.TreeMap;
import org.headlens.HeadlensException;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.metric.Answer;
import org.headlens.metric.Metric;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.LayerEdits;
import org.headlens.forward.Pass;
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
 * @param samples one row per sample: sample (id), image, class (the expected answer), answer (the
 *        model's top token), correct, blank_correct, logit and probability of the expected answer's
 *        token, then one column per label of the samples (e.g. style), empty where a sample has none
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
        return measure(model, entries, prompt, false);
    }

    /**
     * Asks the question about every sample, with its image and with a blank image.
     *
     * @param model the model
     * @param entries the samples; their answer is the expected one
     * @param prompt the question with its image placeholder
     * @param firstToken whether answers of several tokens are measured on their first token (see
     *        {@link Answer#of(Lvlm, String, boolean)}); otherwise they are refused before any sample runs
     * @return the per-sample outcomes
     */
    public static Accuracy measure(Lvlm model, List<Sample> entries, String prompt, boolean firstToken) {
        if (entries.isEmpty()) {
            throw new HeadlensException("no samples to evaluate");
        }
        Map<String, Answer> answers = new java.util.HashMap<>();
        Set<String> labelNames = new LinkedHashSet<>();
        for (Sample entry : entries) {
            answers.computeIfAbsent(entry.answer(), word -> Answer.of(model, word, firstToken));
            entry.labels().keySet().stream().filter(name -> !name.equals(Sample.ANSWER)).forEach(labelNames::add);
        }
        Table table = Table.create("accuracy", StringColumn.create("sample"), StringColumn.create("image"), StringColumn.create("class"),
                StringColumn.create("answer"), BooleanColumn.create("correct"), BooleanColumn.create("blank_correct"),
                DoubleColumn.create("logit"), DoubleColumn.create("probability"));
        Map<String, String> columnOf = new LinkedHashMap<>();
        for (String name : labelNames) {
            String column = table.columnNames().contains(name) ? "label_" + name : name;
            columnOf.put(name, column);
            table.addColumns(StringColumn.create(column));
        }
        try (NDManager manager = model.newScope()) {
            NDArray blank = null;
            for (Sample entry : entries) {
                Answer answer = answers.get(entry.answer());
                try (NDManager scope = manager.newSubManager()) {
                    org.headlens.model.ImageInput image = model.preprocess(scope, entry.image());
                    NDArray pixels = image.pixels();
                    // the image's size decides its token count in the any-size families
                    Prompt question = Prompt.of(model, prompt, image);
                    if (blank == null || !blank.getShape().equals(pixels.getShape())) {
                        // all-zero pixel values: the processor's mean colour everywhere, in this image's layout
                        if (blank != null) {
                            blank.close();
                        }
                        blank = manager.zeros(pixels.getShape());
                    }
                    float[] logits = finalLogits(model, question, pixels);
                    Metric.requireFinite(logits, "sample " + entry.id());
                    float[] blankLogits = finalLogits(model, question, blank);
                    Metric.requireFinite(blankLogits, "sample " + entry.id() + " with a blank image");
                    table.stringColumn("sample").append(entry.id());
                    table.stringColumn("image").append(entry.image().toString());
                    table.stringColumn("class").append(entry.answer());
                    table.stringColumn("answer").append(model.token(argMax(logits)));
                    table.booleanColumn("correct").append(answer.isPredicted(logits));
                    table.booleanColumn("blank_correct").append(answer.isPredicted(blankLogits));
                    table.doubleColumn("logit").append(Metric.LOGIT.of(logits, answer.token()));
                    table.doubleColumn("probability").append(Metric.PROBABILITY.of(logits, answer.token()));
                    columnOf.forEach((name, column) -> table.stringColumn(column).append(entry.labels().getOrDefault(name, "")));
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

    /** @return accuracy and sample count per style (the samples' label {@code style}) */
    public Table byStyle() {
        return byLabel("style");
    }

    /** @return the label columns of the samples table, in the order first seen */
    public List<String> labelColumns() {
        return samples.columnNames().subList(8, samples.columnCount());
    }

    /**
     * @param column a label column (see {@link #labelColumns()})
     * @return accuracy and sample count per value of that label
     * @throws HeadlensException if the samples have no such label
     */
    public Table byLabel(String column) {
        if (!labelColumns().contains(column)) {
            throw new HeadlensException("the samples have no label " + column + "; their labels are "
                    + (labelColumns().isEmpty() ? "none (only the answer)" : String.join(", ", labelColumns())));
        }
        return by(column);
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
        // the prompt's own layout: in the any-size families the image's grid decides its positions
        try (ForwardResult result = ForwardPass.run(model, Pass.full(question.layout()), pixels, LayerEdits.none())) {
            return result.finalLogits();
        }
    }
}
