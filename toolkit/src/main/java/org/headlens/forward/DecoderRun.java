package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.headlens.model.DecoderLayer;
import org.headlens.model.LanguageModel;
import org.headlens.model.Lvlm;
import org.headlens.model.Rope;

/**
 * The decoder over query positions {@code [from, T)}, attending to keys {@code [0, T)} of which
 * {@code [0, from)} come from a cache. With {@code from = 0} it is the plain full-sequence pass;
 * with {@code from} = the end of the image it is the fast path, since ablating image-to-text
 * flow never changes the states of earlier positions.
 *
 * <p>Keys are kept in blocks (prefix text, image, suffix text) so that head ablation can compute
 * both the real and the baseline image score blocks and select per (batch row, head, query),
 * and cached blocks with batch 1 are shared by every row of the batch without being copied.
 */
final class DecoderRun {
    /**
     * Score added where attention is blocked. Large enough that the softmax weight is exactly 0
     * in float32 (as with transformers' most-negative-float mask), small enough that two masks
     * added together, or their gradients, stay finite.
     */
    static final float MASKED = -1e9f;

    /**
     * Keys and values of consecutive key positions, one entry per query head.
     *
     * @param key (B or 1, heads, length, headDim), post-RoPE
     * @param value (B or 1, heads, length, headDim)
     * @param start first position
     */
    record Block(NDArray key, NDArray value, int start) {
        int length() {
            return (int) key.getShape().get(2);
        }

        int end() {
            return start + length();
        }
    }

    /**
     * What changes the run. Arrays are indexed by layer; null entries mean no change there.
     *
     * @param ablated per layer (B, heads, 1, 1) boolean: replace image keys/values for this row and head
     * @param baseline per layer, the baseline's image block (batch 1)
     * @param knockout per layer additive mask (B or 1, heads or 1, Q, T)
     * @param hooks activation hooks, or null
     */
    record Interventions(NDArray[] ablated, Block[] baseline, NDArray[] knockout, Hooks hooks) {
        static Interventions none(int layers) {
            return new Interventions(new NDArray[layers], new Block[layers], new NDArray[layers], null);
        }
    }

    /**
     * Result of a run.
     *
     * @param logits (B, 1 or Q, vocab)
     * @param keysAndValues per layer, the blocks computed in this run (for building caches), or null
     */
    record Output(NDArray logits, List<List<Block>> keysAndValues) {
    }

    private DecoderRun() {
    }

    /**
     * Runs the decoder.
     *
     * @param model the model
     * @param work manager for temporary tables
     * @param hidden input embeddings of the query positions (B, Q, hidden)
     * @param from first query position
     * @param layout the prompt's layout (T = layout.length() unless {@code length} is smaller)
     * @param length total sequence length T of this run
     * @param cache per layer, the cached blocks covering [0, from) (null when from = 0)
     * @param interventions changes to apply
     * @param kept where tensors named as in {@link ForwardResult} go (null to keep none)
     * @param options which tensors to keep
     * @param keepBlocks whether to return this run's key/value blocks
     * @param finalOnly whether to compute logits for the final position only
     * @return logits and optionally the blocks
     */
    static Output run(Lvlm model, NDManager work, NDArray hidden, int from, TokenLayout layout, int length,
            List<List<Block>> cache, Interventions interventions, Map<String, NDArray> kept, ForwardOptions options,
            boolean keepBlocks, boolean finalOnly) {
        LanguageModel decoder = model.languageModel();
        long[] positions = new long[length - from];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = from + i;
        }
        Rope rope = Rope.of(work, decoder.config(), positions, model.computeType());
        Hooks hooks = interventions.hooks();
        List<List<Block>> produced = keepBlocks ? new ArrayList<>() : null;
        for (DecoderLayer layer : decoder.layers()) {
            int l = layer.index();
            if (kept != null && options.hiddenStates()) {
                kept.put("hidden_states." + l, hidden);
            }
            hidden = hook(hooks, HookSite.RESIDUAL_PRE, l, hidden);
            DecoderLayer.QueryKeyValue qkv = layer.queryKeyValue(hidden, rope);
            if (kept != null && options.queryKeyValue()) {
                kept.put("decoder_q_post_rope." + l, qkv.query());
                kept.put("decoder_k_post_rope." + l, qkv.key());
                kept.put("decoder_v." + l, qkv.value());
            }
            List<Block> current = split(layer.perQueryHead(qkv.key()), layer.perQueryHead(qkv.value()), from, layout, length);
            if (produced != null) {
                produced.add(current);
            }
            List<Block> blocks = new ArrayList<>();
            if (cache != null) {
                blocks.addAll(cache.get(l));
            }
            blocks.addAll(current);
            NDArray perHead = attend(qkv.query(), from, layout, blocks, interventions, l, kept, options, hooks);
            perHead = hook(hooks, HookSite.HEAD_OUTPUT, l, perHead);
            NDArray attention = hook(hooks, HookSite.ATTENTION_OUTPUT, l, layer.outputProjection(perHead));
            hidden = hidden.add(attention);
            NDArray mlp = hook(hooks, HookSite.MLP_OUTPUT, l, layer.mlp(hidden));
            hidden = hook(hooks, HookSite.RESIDUAL_POST, l, hidden.add(mlp));
            if (kept != null && options.hiddenStates()) {
                kept.put("decoder_layer_output." + l, hidden);
            }
        }
        NDArray last = finalOnly ? hidden.get(new NDIndex(":, -1:, :")) : hidden;
        NDArray normed = decoder.finalNorm(last);
        if (kept != null && options.hiddenStates()) {
            kept.put("hidden_states." + decoder.layers().size(), normed);
        }
        return new Output(decoder.logits(normed), produced);
    }

    private static NDArray hook(Hooks hooks, HookSite site, int layer, NDArray value) {
        return hooks == null ? value : hooks.apply(site, layer, value);
    }

    /** Splits this run's keys/values at the image boundaries so the image is a block of its own. */
    private static List<Block> split(NDArray key, NDArray value, int from, TokenLayout layout, int length) {
        List<Integer> cuts = new ArrayList<>(List.of(from));
        for (int boundary : new int[] {layout.imageStart(), layout.imageEnd()}) {
            if (boundary > from && boundary < length && !cuts.contains(boundary)) {
                cuts.add(boundary);
            }
        }
        cuts.add(length);
        List<Block> blocks = new ArrayList<>();
        for (int i = 0; i + 1 < cuts.size(); i++) {
            int a = cuts.get(i) - from;
            int b = cuts.get(i + 1) - from;
            if (a == 0 && b == length - from) {
                blocks.add(new Block(key, value, cuts.get(i)));
            } else {
                blocks.add(new Block(key.get(new NDIndex(":, :, {}:{}", a, b)), value.get(new NDIndex(":, :, {}:{}", a, b)), cuts.get(i)));
            }
        }
        return blocks;
    }

    /** Attention of the query positions over every key block, with ablation, knockout and hooks. */
    private static NDArray attend(NDArray query, int from, TokenLayout layout, List<Block> blocks,
            Interventions interventions, int l, Map<String, NDArray> kept, ForwardOptions options, Hooks hooks) {
        int queries = (int) query.getShape().get(2);
        double scale = 1.0 / Math.sqrt(query.getShape().get(3));
        NDArray ablated = interventions.ablated()[l];
        Block baseline = interventions.baseline()[l];
        NDArray knockout = interventions.knockout()[l];
        // rows that take the baseline: ablated (row, head) and queries after the image
        NDArray select = null;
        if (ablated != null && layout.hasImage() && from + queries > layout.imageEnd()) {
            boolean[] after = new boolean[queries];
            for (int q = 0; q < queries; q++) {
                after[q] = from + q >= layout.imageEnd();
            }
            NDArray afterImage = query.getManager().create(after, new Shape(1, 1, queries, 1));
            select = ablated.logicalAnd(afterImage);
        }
        List<NDArray> scores = new ArrayList<>();
        int imageBlock = -1;
        for (int i = 0; i < blocks.size(); i++) {
            Block block = blocks.get(i);
            NDArray s = mask(product(query, block.key().swapAxes(2, 3)).mul(scale), from, queries, block, knockout);
            if (select != null && block.start() == layout.imageStart() && block.length() == layout.imageLength()) {
                imageBlock = i;
                NDArray b = mask(product(query, baseline.key().swapAxes(2, 3)).mul(scale), from, queries, block, knockout);
                s = NDArrays.where(select.broadcast(s.getShape()), b, s);
            }
            scores.add(s);
        }
        NDArray all = scores.size() == 1 ? scores.get(0) : NDArrays.concat(new NDList(scores), 3);
        NDArray weights = all.toType(DataType.FLOAT32, false).softmax(-1).toType(query.getDataType(), false);
        if (hooks != null) {
            weights = hooks.apply(HookSite.ATTENTION_PATTERN, l, weights);
        }
        if (kept != null && options.attentions()) {
            kept.put("attentions." + l, weights);
        }
        NDArray out = null;
        int offset = 0;
        for (int i = 0; i < blocks.size(); i++) {
            Block block = blocks.get(i);
            NDArray w = blocks.size() == 1 ? weights : weights.get(new NDIndex(":, :, :, {}:{}", offset, offset + block.length()));
            offset += block.length();
            NDArray part = product(w, block.value());
            if (i == imageBlock) {
                part = NDArrays.where(select.broadcast(part.getShape()), product(w, baseline.value()), part);
            }
            out = out == null ? part : out.add(part);
        }
        return out;
    }

    /** Adds the causal mask (where some key follows some query) and the knockout mask of a block. */
    private static NDArray mask(NDArray scores, int from, int queries, Block block, NDArray knockout) {
        NDArray s = scores;
        if (block.end() - 1 > from) {
            float[] causal = new float[queries * block.length()];
            for (int q = 0; q < queries; q++) {
                for (int k = 0; k < block.length(); k++) {
                    if (block.start() + k > from + q) {
                        causal[q * block.length() + k] = MASKED;
                    }
                }
            }
            s = s.add(scores.getManager().create(causal, new Shape(queries, block.length())).toType(scores.getDataType(), false));
        }
        if (knockout != null) {
            s = s.add(knockout.get(new NDIndex(":, :, :, {}:{}", block.start(), block.end())));
        }
        return s;
    }

    /**
     * Batched matrix product {@code a @ b} over (batch, head). When {@code b} has batch 1 and
     * {@code a} does not, the batch is folded into the rows of {@code a} so that {@code b} is
     * read once per head instead of being copied per batch row.
     */
    static NDArray product(NDArray a, NDArray b) {
        long batch = a.getShape().get(0);
        if (b.getShape().get(0) == batch) {
            return a.matMul(b);
        }
        Shape s = a.getShape();
        long heads = s.get(1);
        long rows = s.get(2);
        NDArray folded = a.transpose(1, 0, 2, 3).reshape(heads, batch * rows, s.get(3));
        NDArray product = folded.matMul(b.reshape(heads, b.getShape().get(2), b.getShape().get(3)));
        return product.reshape(heads, batch, rows, b.getShape().get(3)).transpose(1, 0, 2, 3);
    }
}
