package org.headlens.metric;

import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;

/**
 * The expected answer of a sample as the token a metric is measured on. A multi-token answer is
 * read at its first token, as single-word answers are in the paper.
 *
 * @param word the answer as written in the labels
 * @param token its first token id
 */
public record Answer(String word, int token) {
    /**
     * @param model the model whose tokenizer encodes the answer
     * @param word the answer
     * @return the answer's first token
     */
    public static Answer of(Lvlm model, String word) {
        long[] ids = model.encodeWithoutSpecialTokens(word);
        if (ids.length == 0) {
            throw new HeadlensException("the answer '" + word + "' encodes to no token");
        }
        return new Answer(word, (int) ids[0]);
    }

    /** @return true if the answer token has the largest logit */
    public boolean isPredicted(float[] logits) {
        for (int i = 0; i < logits.length; i++) {
            if (logits[i] > logits[token]) {
                return false;
            }
        }
        return true;
    }
}
