package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.headlens.model.DecoderLayer;
import org.headlens.model.LanguageModel;
import org.headlens.model.Lvlm;
import org.headlens.model.Ops;
import org.headlens.model.Rope;

/**
 * The decoder loop: runs a {@link Pass} (query positions {@code [from, length)}, attending to
 * keys {@code [0, length)} of which {@code [0, from)} come from the pass's cached prefix) and
 * applies {@link LayerEdits} in every layer. With {@code from = 0} it is the plain full-sequence
 * pass; with {@code from} = the end of the image it is the fast path.
 *
 * <p>Keys are kept in blocks (prefix text, image, suffix text) so that an edit can compute the
 * scores of both the prompt's and another image's block and select per (batch row, head,
 * query), and cached blocks with batch 1 are shared by every row of the batch without being
 * copied.
 */
final class DecoderRun {
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
     * Result of a run.
     *
     * @param logits (B, 1 or Q, vocab)
     * @param recorder the activations kept
     * @param keysAndValues per layer, the blocks computed in this run (for building caches), or null
     */
    record Output(NDArray logits, ActivationCache.Recorder recorder, List<List<Block>> keysAndValues) {
    }

    private final Lvlm model;
    private final Pass pass;
    private final LayerEdits edits;
    private final ActivationCache.Recorder recorder;

    private DecoderRun(Lvlm model, Pass pass, LayerEdits edits, ActivationCache.Recorder recorder) {
        this.model = model;
        this.pass = pass;
        this.edits = edits;
        this.recorder = recorder;
    }

    /**
     * Runs the decoder.
     *
     * @param model the model
     * @param pass what to run and keep
     * @param hidden input embeddings of the pass's query positions (B, Q, hidden); temporary
     *     tensors go to its manager
     * @param edits what to change
     * @return logits, kept activations and, if the pass asks, this run's key/value blocks
     */
    static Output run(Lvlm model, Pass pass, NDArray hidden, LayerEdits edits) {
        return new DecoderRun(model, pass, edits, new ActivationCache.Recorder(pass.capture(), pass.from())).run(hidden);
    }

    private Output run(NDArray hidden) {
        LanguageModel decoder = model.languageModel();
        long[][] positions = pass.layout().positionRows();
        for (int i = 0; i < positions.length; i++) {
            positions[i] = Arrays.copyOfRange(positions[i], pass.from(), pass.length());
        }
        Rope rope = Rope.of(hidden.getManager(), decoder.config(), positions, model.computeType());
        List<List<Block>> produced = pass.keepKeysValues() ? new ArrayList<>() : null;
        List<DecoderLayer> layers = decoder.layers();
        int rows = edits.rows();
        for (int l = pass.startLayer(); l < layers.size(); l++) {
            DecoderLayer layer = layers.get(l);
            boolean shared = hidden.getShape().get(0) == 1 && rows > 1;
            if (shared && !(shortcuts() && edits.onlyImageSwapsIn(l))) {
                hidden = hidden.repeat(0, rows);
                shared = false;
            }
            // the last layer's other positions feed nothing but keys and values, computed before the attention
            int offset = l == layers.size() - 1 && finalOnly() && !edits.editsActivationsIn(l) ? pass.queries() - 1 : 0;
            NDArray input = hidden;
            boolean sharedInput = shared;
            hidden = Ops.scopedLayer(() -> sharedInput ? sharedLayer(layer, input, rope, offset) : layer(layer, input, rope, offset, produced),
                    () -> keptSoFar(produced));
        }
        if (pass.logits() == Pass.Logits.NONE) {
            return new Output(null, recorder, produced);
        }
        NDArray last = pass.logits() == Pass.Logits.FINAL ? hidden.get(new NDIndex(":, -1:, :")) : hidden;
        NDArray normed = site(Site.finalNorm(), decoder.finalNorm(last));
        NDArray logits = decoder.logits(normed);
        if (logits.getShape().get(0) == 1 && rows > 1) {
            logits = logits.repeat(0, rows); // no layer ran: every row is the clean run
        }
        return new Output(logits, recorder, produced);
    }

    /** @return what must outlive the layer that just ran: the activations recorded and the newest keys and values */
    private List<NDArray> keptSoFar(List<List<Block>> produced) {
        List<NDArray> kept = new ArrayList<>(recorder.kept());
        if (produced != null && !produced.isEmpty()) {
            for (Block block : produced.get(produced.size() - 1)) {
                kept.add(block.key());
                kept.add(block.value());
            }
        }
        return kept;
    }

    /** @return true if the pass may skip work whose result cannot change (nothing is captured or kept) */
    private boolean shortcuts() {
        return pass.shortcuts() && pass.capture().isEmpty() && !pass.keepKeysValues();
    }

    /** @return true if only the final position's output is needed from the last layer */
    private boolean finalOnly() {
        return shortcuts() && pass.logits() == Pass.Logits.FINAL;
    }

    /**
     * One decoder layer on the batch, computing the queries from {@code offset} on (keys and
     * values of every position).
     */
    private NDArray layer(DecoderLayer layer, NDArray hidden, Rope rope, int offset, List<List<Block>> produced) {
        int l = layer.index();
        hidden = site(Site.residualPre(l), hidden);
        DecoderLayer.QueryKeyValue qkv = layer.queryKeyValue(hidden, rope);
        NDArray query = site(Site.query(l), qkv.query());
        NDArray key = site(Site.key(l), qkv.key());
        NDArray value = site(Site.value(l), qkv.value());
        List<Block> current = split(layer.perQueryHead(key), layer.perQueryHead(value));
        boolean keysValuesOnly = pass.logits() == Pass.Logits.NONE && l == model.config().text().layers() - 1 && pass.capture().isEmpty();
        if (produced != null) {
            // contiguous copies: the caches read them in every later pass, and the layer's full keys and values can be freed with it
            List<Block> copies = new ArrayList<>();
            for (Block block : current) {
                copies.add(new Block(block.key().duplicate(), block.value().duplicate(), block.start()));
            }
            produced.add(copies);
        }
        if (keysValuesOnly) {
            return hidden; // the last layer of a prefix: nothing reads its output
        }
        List<Block> blocks = new ArrayList<>();
        if (pass.prefix() != null) {
            blocks.addAll(pass.prefix().blocks(l));
        }
        blocks.addAll(current);
        if (offset > 0) {
            query = query.get(new NDIndex(":, :, {}:, :", offset));
            hidden = hidden.get(new NDIndex(":, {}:, :", offset));
        }
        NDArray perHead = site(Site.headOutput(l), attend(query, blocks, l, offset, edits.swaps(l)));
        NDArray attention = site(Site.attentionOutput(l), layer.outputProjection(perHead));
        hidden = hidden.add(attention);
        NDArray mlp = site(Site.mlpOutput(l), layer.mlp(hidden));
        return site(Site.residualPost(l), hidden.add(mlp));
    }

    /**
     * One decoder layer whose input is the same for every row (batch 1 in, batch B out): the
     * queries, keys and values, and each head's attention over the prompt's own image and over
     * each swap source, are computed once; the rows differ only in which of these each (head,
     * query) takes, so only the output projection and the MLP run per row. Needs a layer
     * without score or activation edits.
     */
    private NDArray sharedLayer(DecoderLayer layer, NDArray hidden, Rope rope, int offset) {
        int l = layer.index();
        DecoderLayer.QueryKeyValue qkv = layer.queryKeyValue(hidden, rope);
        List<Block> blocks = new ArrayList<>();
        if (pass.prefix() != null) {
            blocks.addAll(pass.prefix().blocks(l));
        }
        blocks.addAll(split(layer.perQueryHead(qkv.key()), layer.perQueryHead(qkv.value())));
        NDArray query = qkv.query();
        if (offset > 0) {
            query = query.get(new NDIndex(":, :, {}:, :", offset));
            hidden = hidden.get(new NDIndex(":, {}:, :", offset));
        }
        NDArray perHead = attend(query, blocks, l, offset, List.of());
        NDArray attention;
        List<LayerEdits.ImageSwap> swaps = edits.swaps(l);
        if (swaps.isEmpty()) {
            attention = layer.outputProjection(perHead);
        } else {
            NDArray out = perHead;
            for (LayerEdits.ImageSwap swap : swaps) {
                List<Block> swappedBlocks = new ArrayList<>();
                for (Block block : blocks) {
                    boolean image = block.start() == pass.layout().imageStart() && block.length() == pass.layout().imageLength();
                    swappedBlocks.add(image ? swap.source().imageBlock(l) : block);
                }
                NDArray swapped = attend(query, swappedBlocks, l, offset, List.of());
                NDArray select = selector(swap, offset);
                Shape shape = new Shape(edits.rows(), perHead.getShape().get(1), perHead.getShape().get(2), perHead.getShape().get(3));
                out = NDArrays.where(select.broadcast(shape), swapped.broadcast(shape), out.broadcast(shape));
            }
            attention = layer.outputProjection(out);
        }
        hidden = hidden.add(attention);
        return hidden.add(layer.mlp(hidden));
    }

    /** The activation at a site after its edits; offered to the recorder. */
    private NDArray site(Site site, NDArray activation) {
        NDArray value = edits.apply(site, activation);
        recorder.offer(site, value);
        return value;
    }

    /** Splits this run's keys/values at the image boundaries so the image is a block of its own. */
    private List<Block> split(NDArray key, NDArray value) {
        int from = pass.from();
        int length = pass.length();
        TokenLayout layout = pass.layout();
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

    /**
     * Attention of the query positions {@code from + offset} onwards over every key block, with
     * the layer's score edits and the given image swaps.
     */
    private NDArray attend(NDArray query, List<Block> blocks, int l, int offset, List<LayerEdits.ImageSwap> swaps) {
        double scale = 1.0 / Math.sqrt(query.getShape().get(3));
        TokenLayout layout = pass.layout();
        List<NDArray> scores = new ArrayList<>();
        int imageBlock = -1;
        for (int i = 0; i < blocks.size(); i++) {
            Block block = blocks.get(i);
            NDArray s = mask(product(query, block.key().swapAxes(2, 3)).mul(scale), block, l, offset);
            if (!swaps.isEmpty() && block.start() == layout.imageStart() && block.length() == layout.imageLength()) {
                imageBlock = i;
                for (LayerEdits.ImageSwap swap : swaps) {
                    NDArray other = mask(product(query, swap.source().imageBlock(l).key().swapAxes(2, 3)).mul(scale), block, l, offset);
                    s = NDArrays.where(selector(swap, offset).broadcast(s.getShape()), other, s);
                }
            }
            scores.add(s);
        }
        NDArray all = scores.size() == 1 ? scores.get(0) : NDArrays.concat(new NDList(scores), 3);
        NDArray weights = all.toType(DataType.FLOAT32, false).softmax(-1).toType(query.getDataType(), false);
        weights = site(Site.attentionPattern(l), weights);
        NDArray out = null;
        int keyOffset = 0;
        for (int i = 0; i < blocks.size(); i++) {
            Block block = blocks.get(i);
            NDArray w = blocks.size() == 1 ? weights : weights.get(new NDIndex(":, :, :, {}:{}", keyOffset, keyOffset + block.length()));
            keyOffset += block.length();
            NDArray part = product(w, block.value());
            if (i == imageBlock) {
                for (LayerEdits.ImageSwap swap : swaps) {
                    part = NDArrays.where(selector(swap, offset).broadcast(part.getShape()), product(w, swap.source().imageBlock(l).value()), part);
                }
            }
            out = out == null ? part : out.add(part);
        }
        return out;
    }

    /** A swap's selector from query {@code offset} on. */
    private static NDArray selector(LayerEdits.ImageSwap swap, int offset) {
        NDArray select = swap.select();
        return offset == 0 || select.getShape().get(2) == 1 ? select : select.get(new NDIndex(":, :, {}:, :", offset));
    }

    /**
     * Adds the causal mask (where some key follows some query) and the layer's score edits to a
     * block's scores, for the queries from {@code from + offset} on.
     */
    private NDArray mask(NDArray scores, Block block, int l, int offset) {
        int from = pass.from() + offset;
        int queries = pass.queries() - offset;
        NDArray s = scores;
        if (block.end() - 1 > from) {
            float[] causal = new float[queries * block.length()];
            for (int q = 0; q < queries; q++) {
                for (int k = 0; k < block.length(); k++) {
                    if (block.start() + k > from + q) {
                        causal[q * block.length() + k] = LayerEdits.BLOCKED;
                    }
                }
            }
            s = s.add(scores.getManager().create(causal, new Shape(queries, block.length())).toType(scores.getDataType(), false));
        }
        NDArray additive = edits.scoreMask(l);
        if (additive != null) {
            s = s.add(additive.get(new NDIndex(":, :, {}:, {}:{}", offset, block.start(), block.end())));
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
