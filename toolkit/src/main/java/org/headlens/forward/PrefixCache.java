package org.headlens.forward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.headlens.HeadlensException;
import org.headlens.ablation.Baseline;
import org.headlens.model.Lvlm;

/**
 * The keys and values of a prompt's prefix (text before the image, and the image) in every
 * layer, for the real image and for the baseline. Built once per sample; every intervention on
 * image-to-text edges then only runs the text after the image.
 */
final class PrefixCache implements AutoCloseable {
    private final NDManager manager;
    private final List<List<DecoderRun.Block>> clean;
    private final DecoderRun.Block[] baseline;

    private PrefixCache(NDManager manager, List<List<DecoderRun.Block>> clean, DecoderRun.Block[] baseline) {
        this.manager = manager;
        this.clean = clean;
        this.baseline = baseline;
    }

    /** @return per layer, the real prefix's blocks (prefix text, image), batch 1 */
    List<List<DecoderRun.Block>> clean() {
        return clean;
    }

    /** @return per layer, the baseline's image block, batch 1 */
    DecoderRun.Block[] baseline() {
        return baseline;
    }

    static PrefixCache build(Lvlm model, Prompt prompt, NDArray pixels, Baseline baselineKind) {
        TokenLayout layout = prompt.layout();
        if (!layout.hasImage()) {
            throw new HeadlensException("head ablation needs a prompt with an image");
        }
        NDManager owner = model.newScope();
        try (NDScope scope = new NDScope(); NDManager work = model.newScope()) {
            List<List<DecoderRun.Block>> clean = prefixBlocks(model, work, prompt, pixels);
            DecoderRun.Block[] baseline = new DecoderRun.Block[clean.size()];
            for (int l = 0; l < clean.size(); l++) {
                baseline[l] = imageBlock(clean.get(l), layout);
            }
            if (baselineKind instanceof Baseline.MeanOverImagePositions) {
                for (int l = 0; l < baseline.length; l++) {
                    DecoderRun.Block image = baseline[l];
                    long positions = image.length();
                    baseline[l] = new DecoderRun.Block(image.key().mean(new int[] {2}, true).repeat(2, positions),
                            image.value().mean(new int[] {2}, true).repeat(2, positions), image.start());
                }
            } else {
                List<List<DecoderRun.Block>> other = prefixBlocks(model, work, prompt, baselinePixels(model, work, pixels, baselineKind));
                for (int l = 0; l < baseline.length; l++) {
                    baseline[l] = imageBlock(other.get(l), layout);
                }
            }
            List<List<DecoderRun.Block>> kept = new ArrayList<>();
            for (List<DecoderRun.Block> layer : clean) {
                List<DecoderRun.Block> blocks = new ArrayList<>();
                for (DecoderRun.Block block : layer) {
                    blocks.add(keep(block, owner));
                }
                kept.add(blocks);
            }
            for (int l = 0; l < baseline.length; l++) {
                baseline[l] = keep(baseline[l], owner);
            }
            return new PrefixCache(owner, kept, baseline);
        } catch (RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    private static DecoderRun.Block keep(DecoderRun.Block block, NDManager owner) {
        // slices are views of a larger tensor; contiguous copies let the rest be freed
        NDArray key = block.key().duplicate();
        NDArray value = block.value().duplicate();
        for (NDArray a : new NDArray[] {key, value}) {
            NDScope.unregister(a);
            a.attach(owner);
        }
        return new DecoderRun.Block(key, value, block.start());
    }

    private static DecoderRun.Block imageBlock(List<DecoderRun.Block> blocks, TokenLayout layout) {
        for (DecoderRun.Block block : blocks) {
            if (block.start() == layout.imageStart()) {
                return block;
            }
        }
        throw new IllegalStateException("no image block");
    }

    /** Runs text before the image and the image; returns each layer's key/value blocks. */
    private static List<List<DecoderRun.Block>> prefixBlocks(Lvlm model, NDManager work, Prompt prompt, NDArray pixels) {
        TokenLayout layout = prompt.layout();
        NDArray embeddings = ForwardPass.embeddings(model, work, layout, pixels, ForwardOptions.logitsOnly(), null)
                .get(new NDIndex(":, :{}, :", layout.imageEnd()));
        return DecoderRun.run(model, work, embeddings, 0, layout, layout.imageEnd(), null,
                DecoderRun.Interventions.none(model.config().text().layers()), null, ForwardOptions.logitsOnly(), true, true)
                .keysAndValues();
    }

    private static NDArray baselinePixels(Lvlm model, NDManager work, NDArray pixels, Baseline kind) {
        if (kind instanceof Baseline.Image image) {
            return image.pixelValues();
        }
        if (kind instanceof Baseline.Blank) {
            return work.zeros(pixels.getShape(), pixels.getDataType());
        }
        if (kind instanceof Baseline.MeanImage mean) {
            if (mean.pixelValues().isEmpty()) {
                throw new HeadlensException("a mean-image baseline needs at least one image");
            }
            NDArray stacked = NDArrays.concat(new NDList(mean.pixelValues()), 0);
            return stacked.mean(new int[] {0}, true).reshape(new Shape(pixels.getShape().getShape()));
        }
        throw new IllegalArgumentException(kind.toString());
    }

    @Override
    public void close() {
        manager.close();
    }
}
