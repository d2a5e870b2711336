package org.headlens.metric;

import java.text.Normalizer;
import java.util.Locale;
import org.headlens.HeadlensException;
import org.headlens.Messages;
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
     * @return the answer's token
     * @throws HeadlensException if the answer is not exactly one token, or that token is not the
     *         word (a word outside the vocabulary becomes the unknown token, and every such answer
     *         would be scored against it)
     */
    public static Answer of(Lvlm model, String word) {
        return of(model, word, false);
    }

    /**
     * @param model the model whose tokenizer encodes the answer
     * @param word the answer
     * @param firstToken whether an answer of several tokens is measured on its first token: the
     *        metric is then the first token's logit (or probability...) and a sample counts as
     *        answered correctly when that token is the model's top token, so another word that
     *        starts with the same token also counts as right
     * @return the answer's token
     * @throws HeadlensException if the answer has no token, is several tokens and
     *         {@code firstToken} is false, or its (first) token is not the start of the word
     */
    public static Answer of(Lvlm model, String word, boolean firstToken) {
        long[] ids = model.encodeWithoutSpecialTokens(word);
        if (firstToken && ids.length > 1) {
            String first = model.decode(new long[] {ids[0]});
            if (comparable(first).isEmpty() || !comparable(word).startsWith(comparable(first))) {
                throw new HeadlensException("the answer " + Messages.quote(word) + " starts with the token " + Messages.quote(first) + " (id "
                        + ids[0] + "), which is not the start of the word, so its first token cannot stand for it");
            }
            return new Answer(word, (int) ids[0]);
        }
        if (ids.length != 1) {
            StringBuilder tokens = new StringBuilder();
            for (long id : ids) {
                tokens.append(tokens.length() == 0 ? "" : " ").append(model.token(id));
            }
            throw new HeadlensException("the answer " + Messages.quote(word) + " is " + ids.length + " tokens (" + Messages.quote(tokens.toString())
                    + ") but must be exactly one: use one-word answers the tokenizer keeps whole, or --first-token to measure the first token");
        }
        String decoded = model.decode(ids);
        if (!comparable(decoded).equals(comparable(word))) {
            throw new HeadlensException("the answer " + Messages.quote(word) + " is not in the tokenizer's vocabulary: it becomes the token "
                    + Messages.quote(decoded) + " (id " + ids[0] + "), so use a word the vocabulary has");
        }
        return new Answer(word, (int) ids[0]);
    }

    /**
     * Text as a tokenizer may legitimately change it and still mean the same token: without
     * surrounding spaces (word-start markers decode to a space), case or accents (lower-casing
     * and accent-stripping normalisers), in compatibility form.
     */
    private static String comparable(String text) {
        String decomposed = Normalizer.normalize(text.strip(), Normalizer.Form.NFKD);
        return decomposed.replaceAll("\\p{M}", "").toLowerCase(Locale.ROOT);
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
