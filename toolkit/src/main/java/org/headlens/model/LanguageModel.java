package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.headlens.HeadlensException;

/** The decoder: token embedding, decoder layers, final RMSNorm and the language-model head. */
public final class LanguageModel {
    private final ModelConfig.TextConfig config;
    private final NDArray embedding;
    private final List<DecoderLayer> layers;
    private final NDArray finalNorm;
    private final NDArray head;
    private final ai.djl.ndarray.types.DataType computeType;

    LanguageModel(ModelConfig.TextConfig config, Weights weights, ai.djl.ndarray.types.DataType computeType) {
        this.config = config;
        this.computeType = computeType;
        long d = config.hiddenSize();
        long vocab = config.vocabSize();
        embedding = weights.get("language_model.model.embed_tokens.weight", vocab, d);
        List<DecoderLayer> list = new ArrayList<>();
        Widening widening = new Widening();
        for (int i = 0; i < config.layers(); i++) {
            list.add(new DecoderLayer(i, config, weights, widening));
        }
        layers = Collections.unmodifiableList(list);
        finalNorm = weights.get("language_model.model.norm.weight", d);
        NDArray lmHead = weights.optional("language_model.lm_head.weight", vocab, d);
        if (lmHead == null) {
            if (!config.tieWordEmbeddings()) {
                throw new HeadlensException(weights.folder() + ": tensor 'language_model.lm_head.weight' is missing "
                        + "and text_config.tie_word_embeddings is false");
            }
            lmHead = embedding;
        }
        head = lmHead;
    }

    /** @return the decoder configuration */
    public ModelConfig.TextConfig config() {
        return config;
    }

    /** @return the decoder layers in order */
    public List<DecoderLayer> layers() {
        return layers;
    }

    /**
     * Looks up token embeddings.
     *
     * @param manager owner of the result
     * @param tokenIds ids, each in [0, vocab)
     * @return (1, T, hidden)
     */
    public NDArray embed(NDManager manager, long[] tokenIds) {
        for (long id : tokenIds) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new HeadlensException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
            }
        }
        NDArray ids = manager.create(tokenIds);
        NDArray rows = embedding.get(new NDIndex("{}", ids));
        rows.attach(manager);
        if (rows.getDataType() != computeType) {
            // weights stored narrower than the computation: only the looked-up rows are widened
            NDArray widened = rows.toType(computeType, false);
            rows.close();
            rows = widened;
        }
        return rows.expandDims(0);
    }

    /**
     * Final RMSNorm.
     *
     * @param hidden last layer's output
     * @return normalised stream
     */
    public NDArray finalNorm(NDArray hidden) {
        return Ops.rmsNorm(hidden, finalNorm, config.rmsNormEps());
    }

    /**
     * The language-model head.
     *
     * @param normed final-normed hidden states (..., hidden)
     * @return logits (..., vocab)
     */
    public NDArray logits(NDArray normed) {
        return Ops.linear(normed, head, null);
    }
}
