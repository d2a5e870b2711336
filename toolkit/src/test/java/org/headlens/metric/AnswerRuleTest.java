package org.headlens.metric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;
import org.junit.jupiter.api.Test;

/** Answers of several tokens are refused with their tokens, or with the first-token rule measured on the first one. */
class AnswerRuleTest {
    @Test
    void aLongerAnswerIsRefusedOrMeasuredOnItsFirstToken() {
        try (Lvlm model = Lvlm.load(QuestionTest.MODEL)) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> Answer.of(model, "circle square"));
            assertTrue(e.getMessage().contains("is 2 tokens") && e.getMessage().contains("--first-token"), e.getMessage());
            Answer first = Answer.of(model, "circle square", true);
            assertEquals(Answer.of(model, "circle").token(), first.token(), "the first token of 'circle square' is circle's");
            assertEquals("circle square", first.word());
            assertEquals(Answer.of(model, "star").token(), Answer.of(model, "star", true).token(), "one-token answers are unchanged");
        }
    }
}
