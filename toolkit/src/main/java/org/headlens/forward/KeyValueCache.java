package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.model.Lvlm;

/**
 * Every layer's keys and values of a prompt's prefix (the text before the image, and the image),
 * per query head. Built once per image; every pass that only changes what the text after the
 * image reads then starts from it ({@link Pass#after}) instead of recomputing the prefix.
 */
public final class KeyValueCache implements AutoCloseable {
    private final NDManager manager;
    private final TokenLayout layout;
    private final List<List<DecoderRun.Block>> blocks;

    private KeyValueCache(NDManager manager, TokenLayout layout, List<List<DecoderRun.Block>> blocks) {
        this.manager = manager;
        this.layout = layout;
        this.blocks = blocks;
    }

    /**
     * Runs the prefix of a prompt with an image and keeps its keys and values.
     *
     * @param model the model
     * @param layout the prompt's layout
     * @param pixelValues (1, 3, H, W) the image
     * @return the cache; close it to free its memory
     */
    public static KeyValueCache ofPrefix(Lvlm model, TokenLayout layout, NDArray pixelValues) {
        if (!layout.hasImage()) {
            throw new HeadlensException("a prefix cache needs a prompt with an image");
        }
        NDManager owner = model.newScope();
        try (NDScope scope = new NDScope(); NDManager work = model.newScope()) {
            NDArray image = ForwardPass.imageEmbeddings(model, model.asInput(pixelValues), layout.imageGrid(),
                    new ActivationCache.Recorder(Capture.none(), 0));
            NDArray embeddings = ForwardPass.embeddings(model, work, layout, image).get(new NDIndex(":, :{}, :", layout.imageEnd()));
            Pass prefix = Pass.full(layout).upTo(layout.imageEnd()).keepingKeysValues().logitsAt(Pass.Logits.NONE);
            List<List<DecoderRun.Block>> produced = DecoderRun.run(model, prefix, embeddings, LayerEdits.none()).keysAndValues();
            return new KeyValueCache(owner, layout, keep(produced, owner));
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    /**
     * @return a cache whose image keys and values are, per layer and head, their mean over the
     *     image positions (a baseline that keeps the image's average and removes where things are)
     */
    public KeyValueCache meanOverImage() {
        // a manager of its own, so that either cache can be closed first
        NDManager owner = manager.getParentManager().newSubManager();
        try (NDScope scope = new NDScope()) {
            List<List<DecoderRun.Block>> averaged = new ArrayList<>();
            for (List<DecoderRun.Block> layer : blocks) {
                List<DecoderRun.Block> row = new ArrayList<>();
                for (DecoderRun.Block block : layer) {
                    long positions = block.length();
                    block = block.start() == layout.imageStart()
                            ? new DecoderRun.Block(block.key().mean(new int[] {2}, true).repeat(2, positions),
                                    block.value().mean(new int[] {2}, true).repeat(2, positions), block.start())
                            : new DecoderRun.Block(block.key().duplicate(), block.value().duplicate(), block.start());
                    row.add(block);
                }
                averaged.add(row);
            }
            return new KeyValueCache(owner, layout, keep(averaged, owner));
        }
    }

    /** @return native memory held by the keys and values */
    public long bytes() {
        long bytes = 0;
        for (List<DecoderRun.Block> layer : blocks) {
            for (DecoderRun.Block block : layer) {
                bytes += (block.key().size() + block.value().size()) * block.key().getDataType().getNumOfBytes();
            }
        }
        return bytes;
    }

    /** @return the layout of the prompt whose prefix this is */
    public TokenLayout layout() {
        return layout;
    }

    /** @return the number of positions held (the end of the image) */
    public int length() {
        return layout.imageEnd();
    }

    /** @return per layer, the blocks covering [0, length) (prefix text, image), batch 1 */
    List<DecoderRun.Block> blocks(int layer) {
        return blocks.get(layer);
    }

    /** @return the image block of a layer */
    DecoderRun.Block imageBlock(int layer) {
        for (DecoderRun.Block block : blocks.get(layer)) {
            if (block.start() == layout.imageStart()) {
                return block;
            }
        }
        throw new IllegalStateException("a prefix cache always holds the image block");
    }

    private static List<List<DecoderRun.Block>> keep(List<List<DecoderRun.Block>> blocks, NDManager owner) {
        List<List<DecoderRun.Block>> kept = new ArrayList<>();
        for (List<DecoderRun.Block> layer : blocks) {
            List<DecoderRun.Block> row = new ArrayList<>();
            for (DecoderRun.Block block : layer) {
                // each block is an array of its own (a contiguous copy made in its layer), moved here whole
                for (NDArray a : new NDArray[] {block.key(), block.value()}) {
                    NDScope.unregister(a);
                    a.attach(owner);
                }
                row.add(block);
            }
            kept.add(row);
        }
        return kept;
    }

    @Override
    public void close() {
        manager.close();
    }
}
