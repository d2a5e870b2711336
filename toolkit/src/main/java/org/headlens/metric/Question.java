package org.headlens.metric;

import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.headlens.interventions.Baseline;
import org.headlens.forward.Head;
import org.headlens.forward.HeadMask;
import org.headlens.interventions.Intervention;
import org.headlens.forward.Prompt;
import org.headlens.interventions.InterventionEngine;
import org.headlens.model.Lvlm;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * One question about one image, asked of the clean model or with heads ablated: the quickest way
 * to see what the model answers and how an ablation moves a logit.
 *
 * <pre>{@code
 * Question question = Question.ask(model, TinyModel.OBJECT_PROMPT, sample.image());
 * show(question.top(5));
 * show(question.ablating(new Head(3, 1)).top(5));
 * }</pre>
 *
 * @param model the model
 * @param prompt the question with its image placeholder
 * @param image the image file
 * @param ablated heads whose image-to-text flow is blocked (against a blank image)
 */
public record Question(Lvlm model, String prompt, Path image, List<Head> ablated) {
    /** Copies the head list. */
    public Question {
        ablated = List.copyOf(ablated);
    }

    /**
     * @param model the model
     * @param prompt the question with its image placeholder
     * @param image the image file
     * @return the question, nothing ablated
     */
    public static Question ask(Lvlm model, String prompt, Path image) {
        return new Question(model, prompt, image, List.of());
    }

    /** @return the same question with these heads ablated as well */
    public Question ablating(Head... heads) {
        List<Head> all = new ArrayList<>(ablated);
        all.addAll(Arrays.asList(heads));
        return new Question(model, prompt, image, all);
    }

    private InterventionEngine prepare(NDManager scope) {
        org.headlens.model.ImageInput input = model.preprocess(scope, image);
        return InterventionEngine.prepare(model, Prompt.of(model, prompt, input), input.pixels(), Baseline.blank());
    }

    /** @return final-position logits over the vocabulary */
    public float[] logits() {
        int layers = model.config().text().layers();
        int heads = model.config().text().heads();
        try (NDManager scope = model.newScope();
                InterventionEngine engine = prepare(scope)) {
            return engine.finalLogits(List.of(Intervention.ablate(HeadMask.of(layers, heads, ablated))))[0];
        }
    }

    /**
     * @param word an answer word
     * @return its logit (of its first token)
     */
    public double logit(String word) {
        return Metric.LOGIT.of(logits(), Answer.of(model, word).token());
    }

    /**
     * @param k how many answers
     * @return the {@code k} most likely next tokens: rank, token, logit, probability
     */
    public Table top(int k) {
        float[] logits = logits();
        int[] order = IntStream.range(0, logits.length).boxed().sorted(Comparator.comparingDouble(i -> -logits[i]))
                .mapToInt(Integer::intValue).limit(k).toArray();
        Table table = Table.create(ablated.isEmpty() ? "answers" : "answers with " + ablated + " ablated", IntColumn.create("rank"),
                StringColumn.create("token"), DoubleColumn.create("logit"), DoubleColumn.create("probability"));
        for (int i = 0; i < order.length; i++) {
            table.intColumn("rank").append(i + 1);
            table.stringColumn("token").append(model.token(order[i]));
            table.doubleColumn("logit").append(logits[order[i]]);
            table.doubleColumn("probability").append(Metric.PROBABILITY.of(logits, order[i]));
        }
        return table;
    }
}
