package org.headlens.model;

import ai.djl.Device;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.headlens.HeadlensException;

/**
 * A LLaVA-family vision-language model loaded from a Hugging Face folder: vision tower,
 * projector and decoder as DJL NDArray graphs on the PyTorch engine, plus the tokenizer and
 * image processor when the folder has them. Owns the native memory of its weights; close it.
 *
 * <pre>{@code
 * try (Lvlm model = Lvlm.load(Path.of("datasets/tiny-shapes/model"))) { ... }
 * }</pre>
 */
public final class Lvlm implements AutoCloseable {
    /** Tokenizers above this are refused before parsing; the largest real ones are about 35 MB. */
    static final long MAX_TOKENIZER_BYTES = 256L * 1024 * 1024;

    private final Path folder;
    private final ModelConfig config;
    private final NDManager manager;
    private final Weights weights;
    /** Set by {@link #close()}; volatile because Spark's local threads share one model. */
    private volatile boolean closed;
    private final DataType computeType;
    private final DataType storageType;
    private final VisionTower visionTower;
    private final Projector projector;
    private final LanguageModel languageModel;
    private final ImageProcessor imageProcessor;
    private final HuggingFaceTokenizer tokenizer;
    private final Family family;

    /**
     * How to load a model.
     *
     * @param computeType floating type of activations and arithmetic (float32 default; float16
     *     halves memory but is about 10x slower on CPUs; bfloat16 checkpoints are widened on load)
     * @param device where the weights live (CPU default)
     * @param storageType floating type the weights are held in; narrower than
     *     {@code computeType} (float16 storage, float32 compute) keeps a float16 checkpoint at its
     *     own size in memory and widens each weight exactly to float32 only for the step that uses it
     */
    public record LoadOptions(DataType computeType, Device device, DataType storageType) {
        /**
         * Weights held and computed in one type.
         *
         * @param computeType type of weights and activations
         * @param device where the weights live
         */
        public LoadOptions(DataType computeType, Device device) {
            this(computeType, device, computeType);
        }

        /** float32 on the CPU. */
        public static LoadOptions defaults() {
            return new LoadOptions(DataType.FLOAT32, Device.cpu());
        }

        /**
         * Weights held in one type and computed in another, on the CPU.
         *
         * @param storage type the weights are held in (e.g. float16)
         * @param compute type of activations and arithmetic (e.g. float32)
         * @return the options
         */
        public static LoadOptions of(DataType storage, DataType compute) {
            return new LoadOptions(compute, Device.cpu(), storage);
        }

        /** @return these options with weights held and computed in {@code type} */
        public LoadOptions withComputeType(DataType type) {
            return new LoadOptions(type, device, type);
        }

        /** @return these options with weights held in {@code type}, computed as before */
        public LoadOptions withStorageType(DataType type) {
            return new LoadOptions(computeType, device, type);
        }

        /** @return true if weights are widened to the compute type step by step */
        public boolean widens() {
            return storageType != computeType;
        }
    }

    private Lvlm(Path folder, ModelConfig config, NDManager manager, Weights weights, DataType computeType, DataType storageType,
            ImageProcessor imageProcessor, HuggingFaceTokenizer tokenizer) {
        this.folder = folder;
        this.config = config;
        this.manager = manager;
        this.weights = weights;
        this.computeType = computeType;
        this.storageType = storageType;
        this.languageModel = new LanguageModel(config.text(), weights, computeType);
        this.tokenizer = tokenizer;
        if (config.family().equals("qwen2_vl")) {
            this.visionTower = null;
            this.projector = null;
            this.imageProcessor = null;
            this.family = new Qwen2VlFamily(config, Qwen2VlImageProcessor.read(folder, config.vision()), weights);
        } else {
            this.visionTower = new VisionTower(config.vision(), weights);
            this.projector = new Projector(config, weights);
            this.imageProcessor = imageProcessor;
            LlavaFamily llava = new LlavaFamily(config, imageProcessor, visionTower, projector);
            this.family = config.family().equals("llava_next") ? new LlavaNextFamily(config, imageProcessor, llava, weights) : llava;
        }
    }

    /**
     * Loads a model folder in float32 on the CPU.
     *
     * @param folder folder with config.json and safetensors weights
     * @return the model
     */
    public static Lvlm load(Path folder) {
        return load(folder, LoadOptions.defaults());
    }

    /**
     * Loads a model folder.
     *
     * @param folder folder with config.json and safetensors weights
     * @param options compute type and device
     * @return the model
     */
    public static Lvlm load(Path folder, LoadOptions options) {
        offlineUnlessTold();
        DataType type = options.computeType();
        DataType storage = options.storageType();
        for (DataType t : new DataType[] {type, storage}) {
            if (t != DataType.FLOAT32 && t != DataType.FLOAT16 && t != DataType.FLOAT64) {
                // bfloat16 weights are read (widened exactly to float32); DJL 0.36's PyTorch engine
                // aborts the process on bfloat16 arrays, so they cannot be held or computed in it.
                throw new HeadlensException("compute type " + t + " is not supported; use float32 (default), float16 or float64");
            }
        }
        if (storage.getNumOfBytes() > type.getNumOfBytes()) {
            throw new HeadlensException("weights held in " + storage + " cannot be computed in the narrower " + type
                    + "; compute in " + storage + " or wider");
        }
        ModelConfig config = ModelConfig.read(folder);
        ImageProcessor processor = config.family().equals("qwen2_vl") ? null : ImageProcessor.read(folder, config.vision());
        NDManager manager = NDManager.newBaseManager(options.device(), "PyTorch");
        try {
            Weights weights = Weights.load(folder, manager, storage, type);
            HuggingFaceTokenizer tokenizer = loadTokenizer(folder);
            return new Lvlm(folder, config, manager, weights, type, storage, processor, tokenizer);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Loads a model folder on the CPU with its weights held and computed in one type.
     *
     * @param folder folder with config.json and safetensors weights
     * @param type float32, float16 or float64
     * @return the model
     */
    public static Lvlm load(Path folder, DataType type) {
        return load(folder, LoadOptions.defaults().withComputeType(type));
    }

    /**
     * The PyTorch native library ships in the class path, so DJL never needs to download anything;
     * in offline mode it also never tries (which matters in notebooks, where no launcher sets it).
     * An explicit {@code -Dai.djl.offline=false} is respected.
     */
    private static void offlineUnlessTold() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
    }

    /**
     * A randomly initialised model built in-process (no folder): for benchmarks and for training
     * from scratch. {@link #save} writes it as a Hugging Face folder.
     *
     * @param config the architecture
     * @param seed initialisation seed
     * @return the model, float32 on the CPU, without tokenizer
     */
    public static Lvlm random(ModelConfig config, long seed) {
        offlineUnlessTold();
        NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        Weights weights = Weights.random(manager, seed);
        ImageProcessor processor = ImageProcessor.read(Path.of("(random model)"), config.vision());
        return new Lvlm(weights.folder(), config, manager, weights, DataType.FLOAT32, DataType.FLOAT32, processor, null);
    }

    /**
     * Builds the model's graph on weights that exist only as names and shapes
     * ({@link Weights#declared}), to check a checkpoint layout without its data.
     *
     * @param config the architecture
     * @param weights declared weights
     * @return the model; its weights are placeholders, so it computes nothing meaningful
     */
    static Lvlm assemble(ModelConfig config, Weights weights) {
        ImageProcessor processor = config.family().equals("qwen2_vl") ? null : ImageProcessor.read(weights.folder(), config.vision());
        return new Lvlm(weights.folder(), config, weights.manager(), weights, DataType.FLOAT32, DataType.FLOAT32, processor, null);
    }

    /**
     * Writes the model as a folder that transformers loads as {@code LlavaForConditionalGeneration}
     * and {@code LlavaProcessor}: the weights as {@code model.safetensors}, the image processor as
     * {@code preprocessor_config.json}, and {@code processor_config.json}, which tells
     * LlavaProcessor how many tokens the image placeholder stands for. The weights include the
     * vision parameters transformers holds but LLaVA never reads ({@link VisionTower#unusedParameters}):
     * kept as loaded, or written neutral when this model lacks them. Config, tokenizer and chat
     * template are the caller's, since they are text the caller chose; the processor is the
     * model's, because weights trained on one normalisation and read back with another lose
     * accuracy silently.
     *
     * @param folder destination folder
     */
    public void save(Path folder) {
        if (!(family instanceof LlavaFamily)) {
            throw new HeadlensException(folder + ": saving is implemented for LLaVA-1.5 models only, not " + config.family());
        }
        Map<String, NDArray> tensors = new LinkedHashMap<>(weights.tensors());
        try (NDManager created = manager.newSubManager()) {
            for (VisionTower.UnusedParameter unused : VisionTower.unusedParameters(config.vision())) {
                if (!tensors.containsKey(unused.name())) {
                    tensors.put(unused.name(), created.full(new Shape(unused.shape()), unused.value(), storageType));
                }
            }
            SafeTensors.write(folder.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        imageProcessor.write(folder);
        writeProcessorConfig(folder);
    }

    /**
     * LlavaProcessor (transformers 4.47 and later) replaces each placeholder with
     * {@code (side / patch_size)^2 + num_additional_image_tokens} tokens, one fewer for the
     * {@code default} strategy: CLIP's CLS token is the additional one, SigLIP has none. Without
     * {@code patch_size} newer versions cannot expand the placeholder at all.
     */
    private void writeProcessorConfig(Path folder) {
        JsonObject json = new JsonObject();
        String imageToken = imageTokenText(folder);
        if (imageToken != null) {
            json.addProperty("image_token", imageToken);
        }
        json.addProperty("num_additional_image_tokens", config.vision().isClip() ? 1 : 0);
        json.addProperty("patch_size", config.vision().patchSize());
        json.addProperty("processor_class", "LlavaProcessor");
        json.addProperty("vision_feature_select_strategy", config.visionFeatureSelectStrategy());
        Path file = folder.resolve("processor_config.json");
        try {
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The placeholder's text, from this model's tokenizer or else from the tokenizer the caller
     * already wrote to the folder; null (transformers then assumes {@code <image>}) when neither
     * exists or the text does not encode back to exactly the placeholder id.
     */
    private String imageTokenText(Path folder) {
        HuggingFaceTokenizer source = tokenizer != null ? tokenizer : loadTokenizer(folder);
        if (source == null) {
            return null;
        }
        try {
            long id = config.imageTokenIndex();
            String text = source.decode(new long[] {id}, false);
            long[] back = source.encode(text, false, false).getIds();
            return !text.isEmpty() && back.length == 1 && back[0] == id ? text : null;
        } catch (RuntimeException e) {
            return null;
        } finally {
            if (source != tokenizer) {
                source.close();
            }
        }
    }

    private static HuggingFaceTokenizer loadTokenizer(Path folder) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            long size = Files.size(file);
            if (size > MAX_TOKENIZER_BYTES) {
                throw new HeadlensException(file + ": is " + size + " bytes, more than the " + MAX_TOKENIZER_BYTES
                        + " bytes accepted for a tokenizer");
            }
            // LLaVA prompts spell the placeholder and role tokens out, so never truncate or pad.
            return HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true", "truncation", "false",
                    "padding", "false", "maxLength", "1000000"));
        } catch (HeadlensException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            String reason = String.valueOf(e.getMessage()).lines().findFirst().orElse("").replaceAll("\\p{Cntrl}", "?");
            throw new HeadlensException(file + ": cannot load tokenizer ("
                    + (reason.length() > 160 ? reason.substring(0, 160) + "..." : reason) + ")", e);
        }
    }

    /** @return the model folder */
    public Path folder() {
        return folder;
    }

    /** @return the parsed config */
    public ModelConfig config() {
        return config;
    }

    /** @return the floating type of activations and arithmetic */
    public DataType computeType() {
        return computeType;
    }

    /** @return the floating type the weights are held in (narrower than {@link #computeType} when widened per step) */
    public DataType storageType() {
        return storageType;
    }

    /** @return the vision tower (LLaVA-1.5; other families keep theirs in {@link #family()}) */
    public VisionTower visionTower() {
        return llavaOnly(visionTower, "vision tower");
    }

    /** @return the projector (LLaVA-1.5; other families keep theirs in {@link #family()}) */
    public Projector projector() {
        return llavaOnly(projector, "projector");
    }

    /** @return what this model's family does differently: image processor, vision side, position ids, chat roles */
    public Family family() {
        requireOpen();
        return family;
    }

    /**
     * Preprocesses an image with the family's image processor.
     *
     * @param manager owner of the result
     * @param image the image
     * @return pixel values and grid
     */
    public ImageInput preprocess(NDManager manager, java.awt.image.BufferedImage image) {
        return family().preprocess(manager, image);
    }

    /**
     * Reads and preprocesses an image file with the family's image processor (the file's size is
     * checked from its header before it is decoded).
     *
     * @param manager owner of the result
     * @param file PNG, JPEG, BMP or GIF
     * @return pixel values and grid
     */
    public ImageInput preprocess(NDManager manager, Path file) {
        if (family() instanceof LlavaFamily) {
            return new ImageInput(imageProcessor.pixelValues(manager, file), null);
        }
        return family.preprocess(manager, Images.readInput(file));
    }

    private <T> T llavaOnly(T part, String what) {
        requireOpen();
        if (part == null) {
            throw new HeadlensException(folder + ": a " + config.family() + " model has no LLaVA-1.5 " + what
                    + "; use model.family() and model.preprocess(...)");
        }
        return part;
    }

    /** @return the decoder */
    public LanguageModel languageModel() {
        requireOpen();
        return languageModel;
    }

    /** @return the image processor (from preprocessor_config.json, or the tower's default) */
    public ImageProcessor imageProcessor() {
        return llavaOnly(imageProcessor, "image processor");
    }

    /** @return the weights by name */
    public Weights weights() {
        requireOpen();
        return weights;
    }

    /**
     * Opens a scope for the arrays of one piece of work; close it to free them.
     *
     * @return a sub-manager of the model's manager
     */
    public NDManager newScope() {
        requireOpen();
        return manager.newSubManager();
    }

    /**
     * An input (pixel values) in the model's compute type and on its device, so that callers may
     * make inputs with any manager, e.g. on the CPU for a model on a GPU.
     *
     * @param values the input
     * @return it, or a copy where the type or the device differs
     */
    public NDArray asInput(NDArray values) {
        requireOpen();
        NDArray placed = values.getDevice().equals(manager.getDevice()) ? values : values.toDevice(manager.getDevice(), false);
        return placed.toType(computeType, false);
    }

    /** @return true if the folder has a tokenizer.json */
    public boolean hasTokenizer() {
        return tokenizer != null;
    }

    /**
     * Tokenizes text with the model's tokenizer, adding special tokens (e.g. LLaMA's BOS).
     *
     * @param text the prompt
     * @return token ids
     */
    public long[] encode(String text) {
        return requireTokenizer().encode(text).getIds();
    }

    /**
     * Tokenizes text without special tokens, e.g. an answer word.
     *
     * @param text the text
     * @return token ids
     */
    public long[] encodeWithoutSpecialTokens(String text) {
        return requireTokenizer().encode(text, false, false).getIds();
    }

    /**
     * @param ids token ids
     * @return their text
     */
    public String decode(long[] ids) {
        return requireTokenizer().decode(ids, false);
    }

    /**
     * @param id one token id
     * @return the token's string form, as in the vocabulary
     */
    public String token(long id) {
        return requireTokenizer().decode(new long[] {id}, false);
    }

    private HuggingFaceTokenizer requireTokenizer() {
        requireOpen();
        if (tokenizer == null) {
            throw new HeadlensException(folder.resolve("tokenizer.json") + ": not found; this model folder has no tokenizer, so pass token ids");
        }
        return tokenizer;
    }

    @Override
    public void close() {
        closed = true;
        if (tokenizer != null) {
            tokenizer.close();
        }
        weights.close();
        manager.close();
    }

    /**
     * A closed model's native arrays are gone; a notebook cell run again after the cell that
     * closed it would otherwise fail deep in DJL with "Native resource has been released".
     */
    private void requireOpen() {
        if (closed) {
            throw new HeadlensException(folder + ": this model was closed (by close() or the end of its try block); load it again with "
                    + "Lvlm.load");
        }
    }

    @Override
    public String toString() {
        return "Lvlm[" + folder + ": " + config.describe() + ", " + (storageType == computeType ? computeType.toString()
                : storageType + " weights computed in " + computeType) + "]";
    }
}
