package org.headlens.evaluation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelCopies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broken model must never look accurate: ties are wrong answers and non-finite logits are reported. */
class AccuracyTest {
    private static final Path DATA = Path.of("..", "datasets", "tiny-shapes", "eval");

    private static List<Sample> samples() {
        return ShapesDataset.read(DATA).subList(0, 8);
    }

    @Test
    void aModelWithAllZeroWeightsAnswersNothing(@TempDir Path dir) {
        Path zeros = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("zeros"), (manager, tensors) ->
                tensors.replaceAll((name, tensor) -> tensor.zerosLike()));
        try (Lvlm model = Lvlm.load(zeros)) {
            Accuracy accuracy = Accuracy.measure(model, samples(), TinyModel.OBJECT_PROMPT);
            assertEquals(0.0, accuracy.accuracy(), "every logit ties, so no answer is right");
            assertEquals(0.0, accuracy.blankAccuracy());
            assertEquals(8, accuracy.samples().rowCount());
        }
        try (Lvlm model = Lvlm.load(ModelCopies.TINY)) {
            assertTrue(Accuracy.measure(model, samples(), TinyModel.OBJECT_PROMPT).accuracy() > 0.8, "the real weights still answer");
        }
    }

    @Test
    void activationsThatOverflowInFloat16AreReportedWithTheSample(@TempDir Path dir) {
        // every weight fits float16, but the final norm's output times the head does not
        Path large = ModelCopies.withWeights(ModelCopies.TINY, dir.resolve("large"), (manager, tensors) -> {
            tensors.put("language_model.model.norm.weight", tensors.get("language_model.model.norm.weight").zerosLike().add(60000f));
            tensors.put("language_model.lm_head.weight", tensors.get("language_model.lm_head.weight").mul(1000f));
        });
        List<Sample> samples = samples();
        try (Lvlm model = Lvlm.load(large, Lvlm.LoadOptions.defaults().withComputeType(DataType.FLOAT16))) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> Accuracy.measure(model, samples, TinyModel.OBJECT_PROMPT));
            assertTrue(e.getMessage().startsWith("sample " + samples.get(0).id() + ": the final logits hold "), e.getMessage());
            assertTrue(e.getMessage().contains("not finite") && !e.getMessage().contains("\n"), e.getMessage());
        }
        try (Lvlm model = Lvlm.load(large)) {
            Accuracy accuracy = Accuracy.measure(model, samples, TinyModel.OBJECT_PROMPT);
            assertEquals(8, accuracy.samples().rowCount(), "in float32 the same weights give finite logits");
        }
    }
}
