package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.headlens.HeadlensException;

/** The decoder: token embedding, decoder layers, final RMSNorm and the language-model head. */
public final class LanguageModel {
    /**
     * Vocabulary rows of the head multiplied at a time. Held in float16 and computed in float32,
     * the head is widened a block at a time into kept arrays: Qwen2's whole 152064-row head would
     * be a fresh 2.2 GB array for every batch (70% of a 1-layer slice's fast path). Both storage
     * types take the same blocks, so their logits stay identical.
     */
    static final long HEAD_BLOCK_ROWS = 8192;

    private final ModelConfig.TextConfig config;
    private final NDArray embedding;
    private final List<DecoderLayer> layers;
    private final NDArray finalNorm;
    private final List<NDArray> headBlocks;
    private final Widening widening = new Widening();
    private final ai.djl.ndarray.types.DataType computeType;

    LanguageModel(ModelConfig.TextConfig config, Weights weights, ai.djl.ndarray.types.DataType computeType) {
        this.config = config;
        this.computeType = computeType;
        long d = config.hiddenSize();
        long vocab = config.vocabSize();
        embedding = weights.get("language_model.model.embed_tokens.weight", vocab, d);
        List<DecoderLayer> list = new ArrayList<>();
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
        List<NDArray> blocks = new ArrayList<>();
        for (long start = 0; start < vocab && vocab > HEAD_BLOCK_ROWS; start += HEAD_BLOCK_ROWS) {
            // row blocks of a row-major matrix are contiguous views: no copy
            blocks.add(lmHead.get(new NDIndex("{}:{}", start, Math.min(vocab, start + HEAD_BLOCK_ROWS))));
        }
        // one block is the head itself: a view would stop training (TinyTrainer) from updating it in place
        headBlocks = blocks.isEmpty() ? List.of(lmHead) : List.copyOf(blocks);
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
        if (headBlocks.size() == 1) {
            return widening.linear(normed, headBlocks.get(0), null);
        }
        NDList parts = new NDList(headBlocks.size());
        for (NDArray block : headBlocks) {
            parts.add(widening.linear(normed, block, null));
        }
        return NDArrays.concat(parts, -1);
    }
}
