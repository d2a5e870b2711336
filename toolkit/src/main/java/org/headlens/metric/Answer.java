package org.headlens.metric;

import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;

/**
 * The expected answer of a sample as the token a metric is measured on. Answers are single
 * tokens, as in the paper: a metric on the first of several tokens would credit any answer that
 * starts the same way, so longer answers are refused.
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
        if (ids.length != 1) {
            StringBuilder tokens = new StringBuilder();
            for (long id : ids) {
                tokens.append(tokens.length() == 0 ? "" : " ").append(model.token(id));
            }
            throw new HeadlensException("the answer '" + word + "' is " + ids.length + " tokens (" + tokens
                    + ") but must be exactly one: use one-word answers the tokenizer keeps whole");
        }
        return new Answer(word, (int) ids[0]);
    }

    /**
     * Whether the model answers with this token: its logit is finite and strictly larger than
     * every other. A tie is not an answer (a model whose logits are all equal, e.g. with all-zero
     * weights, would otherwise be right about every sample), nor is a NaN, which compares false
     * with everything.
     *
     * @param logits final-position logits
     * @return true if the answer token alone has the largest logit
     */
    public boolean isPredicted(float[] logits) {
        float answer = logits[token];
        if (!Float.isFinite(answer)) {
            return false;
        }
        for (int i = 0; i < logits.length; i++) {
            if (i != token && !(answer > logits[i])) {
                return false;
            }
        }
        return true;
    }
}
