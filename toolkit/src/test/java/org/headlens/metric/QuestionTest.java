package org.headlens.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.forward.Head;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.TinyModel;
import org.headlens.forward.Prompt;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/** Questions to the embedded model: answers, ablation, and the prompts and answers that are refused. */
class QuestionTest {
    static final Path MODEL = Path.of("..", "datasets", "tiny-shapes", "model");
    static final Path DATA = Path.of("..", "datasets", "tiny-shapes", "eval");

    @Test
    void topAnswersAreSortedProbabilitiesAndAblationMovesTheLogit() {
        try (Lvlm model = Lvlm.load(MODEL)) {
            Sample sample = ShapesDataset.read(DATA).get(0);
            Question question = Question.ask(model, TinyModel.OBJECT_PROMPT, sample.image());
            Table top = question.top(3);
            assertEquals(3, top.rowCount());
            assertTrue(top.doubleColumn("probability").get(0) >= top.doubleColumn("probability").get(1));
            assertEquals(question.logit(top.stringColumn("token").get(0)), top.doubleColumn("logit").get(0), 1e-5);
            Question everyHeadOfLayer0 = question;
            for (int h = 0; h < 8; h++) {
                everyHeadOfLayer0 = everyHeadOfLayer0.ablating(new Head(0, h));
            }
            assertEquals(8, everyHeadOfLayer0.ablated().size());
            assertNotEquals(question.logit(sample.answer()), everyHeadOfLayer0.logit(sample.answer()), 1e-3);
        }
    }

    @Test
    void promptsWithoutImageOrRoleAndAnswersOfSeveralTokensAreRefused() {
        try (Lvlm model = Lvlm.load(MODEL)) {
            HeadlensException noImage = assertThrows(HeadlensException.class,
                    () -> Prompt.of(model, "USER: What is the main object in the image? ASSISTANT:"));
            assertTrue(noImage.getMessage().contains("no image placeholder"), noImage.getMessage());
            HeadlensException noRole = assertThrows(HeadlensException.class, () -> Prompt.of(model, "USER: <image>\nWhat is the object?"));
            assertTrue(noRole.getMessage().contains("role marker"), noRole.getMessage());
            HeadlensException twoWords = assertThrows(HeadlensException.class, () -> Answer.of(model, "red circle"));
            assertTrue(twoWords.getMessage().contains("\"red circle\" is 2 tokens (\"red circle\")"), twoWords.getMessage());
            assertEquals(1, List.of(Answer.of(model, "circle")).size());
        }
    }

    /** A word outside the vocabulary becomes the unknown token; scoring it would score every such word alike. */
    @Test
    void answersOutsideTheVocabularyAreRefusedByName() {
        try (Lvlm model = Lvlm.load(MODEL)) {
            for (String word : new String[] {"zebra", "Circle", "ellipse\n"}) {
                HeadlensException e = assertThrows(HeadlensException.class, () -> Answer.of(model, word), word);
                assertTrue(e.getMessage().startsWith("the answer " + org.headlens.Messages.quote(word) + " is not in the tokenizer's vocabulary")
                        && e.getMessage().contains("\"<unk>\""), e.getMessage());
            }
            Answer circle = Answer.of(model, " circle ");
            assertEquals("circle", model.token(circle.token()));
        }
    }
}
