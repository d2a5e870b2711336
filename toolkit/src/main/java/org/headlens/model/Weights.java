package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.headlens.HeadlensException;

/**
 * The parameters of a model folder, by their Hugging Face names, converted to one compute type
 * and owned by one {@link NDManager}.
 *
 * <p>Names are normalised to the layout transformers 4.44 writes for LLaVA
 * ({@code language_model.model.*}, {@code language_model.lm_head.*}, {@code vision_tower.*},
 * {@code multi_modal_projector.*}); the newer layout ({@code model.language_model.*},
 * {@code lm_head.*}) is accepted too. Only safetensors are read: pickle checkpoints can run
 * arbitrary code when loaded, so they are refused.
 */
public final class Weights implements AutoCloseable {
    /** File endings of pickle-based checkpoints, which are never opened. */
    public static final List<String> PICKLE_ENDINGS = List.of(".bin", ".pt", ".pth", ".ckpt", ".pkl");
    /** Safetensors dtypes a weight may have; each is converted to the compute type. */
    public static final Set<String> FLOATING_DTYPES = Set.of("F64", "F32", "F16", "BF16");

    private final Path folder;
    private final NDManager manager;
    private final Map<String, NDArray> tensors;
    private final Map<String, Path> sourceFile;
    /** Tensors of the checkpoint that are not floating point, by canonical name, with their dtype. */
    private final Map<String, String> notFloating;

    private final java.util.Random random;
    /** Names and shapes of a checkpoint known only by its header (see {@link #declared}), or null. */
    private Map<String, long[]> declared;

    private Weights(Path folder, NDManager manager, Map<String, NDArray> tensors, Map<String, Path> sourceFile,
            Map<String, String> notFloating, java.util.Random random) {
        this.folder = folder;
        this.manager = manager;
        this.tensors = tensors;
        this.sourceFile = sourceFile;
        this.notFloating = notFloating;
        this.random = random;
    }

    /**
     * Weights of a checkpoint known only by its names and shapes: each requested tensor is a
     * broadcast zero of its shape, which takes no memory. Building a model on them checks that
     * the model finds every parameter it needs with the right shape, for checkpoints too large to
     * write (a 7B or 13B release), without a byte of data.
     *
     * @param folder what messages name
     * @param manager owner of the placeholders
     * @param shapes canonical names and shapes
     * @return the weights
     */
    static Weights declared(Path folder, NDManager manager, Map<String, long[]> shapes) {
        Weights weights = new Weights(folder, manager, new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>(), null);
        weights.declared = new LinkedHashMap<>(shapes);
        return weights;
    }

    /**
     * Weights that are created on first request with the requested shape: norm scales 1, biases
     * 0, matrices normal with standard deviation 1/sqrt(fan-in). Used to build randomly
     * initialised models in-process (benchmarks, training from scratch).
     *
     * @param manager owner of the tensors
     * @param seed seed of the initialisation
     * @return empty weights that fill themselves
     */
    public static Weights random(NDManager manager, long seed) {
        return new Weights(Path.of("(random weights)"), manager, new LinkedHashMap<>(), new LinkedHashMap<>(),
                new LinkedHashMap<>(), new java.util.Random(seed));
    }

    private NDArray initialise(String name, long[] shape) {
        int size = 1;
        for (long d : shape) {
            size = Math.multiplyExact(size, (int) d);
        }
        float[] values = new float[size];
        boolean scale = shape.length == 1 && (name.contains("norm") || name.contains("layrnorm"));
        if (scale) {
            java.util.Arrays.fill(values, 1f);
        } else if (!name.endsWith("bias")) {
            // token embeddings and 1-D vectors (CLIP's class embedding) at 0.5; every other matrix,
            // the patch convolution and position table included, scaled by its fan-in
            long fanIn = shape.length == 1 ? 1 : size / shape[0];
            double std = name.endsWith("embed_tokens.weight") || shape.length == 1 ? 0.5 : 1.0 / Math.sqrt(fanIn);
            for (int i = 0; i < size; i++) {
                values[i] = (float) (random.nextGaussian() * std);
            }
        }
        // copied out of the direct buffer the values pass through, into memory PyTorch owns, so that
        // random models of real widths do not count against the JVM's direct-memory limit
        NDArray staged = manager.create(values, new Shape(shape));
        try {
            NDArray array = staged.duplicate();
            array.setName(name);
            return array;
        } finally {
            staged.close();
        }
    }

    /**
     * Loads every tensor of a model folder.
     *
     * @param folder model folder with {@code model.safetensors} or an index and shards
     * @param manager owner of the loaded tensors
     * @param computeType floating type every floating tensor is converted to
     * @return the weights
     */
    public static Weights load(Path folder, NDManager manager, DataType computeType) {
        return load(folder, manager, computeType, computeType);
    }

    /**
     * Loads every tensor of a model folder, held in one type for computation in another.
     *
     * @param folder model folder with {@code model.safetensors} or an index and shards
     * @param manager owner of the loaded tensors
     * @param storageType floating type every floating tensor is converted to and held in
     * @param stepType floating type a weight is widened to for its step (the memory check
     *     counts the largest such copy)
     * @return the weights
     */
    public static Weights load(Path folder, NDManager manager, DataType storageType, DataType stepType) {
        DataType computeType = storageType;
        List<Path> files = safetensorsFiles(folder);
        List<SafeTensors> indexes = new ArrayList<>();
        for (Path file : files) {
            indexes.add(SafeTensors.open(file));
        }
        if (ai.djl.Device.Type.CPU.equals(manager.getDevice().getDeviceType())) {
            requireMemory(folder, indexes, storageType, stepType, Memory.availableBytes());
        }
        boolean watch = ai.djl.Device.Type.CPU.equals(manager.getDevice().getDeviceType());
        long remaining = bytesIn(indexes, storageType);
        long sinceCheck = 0;
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        Map<String, Path> sourceFile = new LinkedHashMap<>();
        Map<String, String> notFloating = new LinkedHashMap<>();
        try {
            for (SafeTensors index : indexes) {
                Path file = index.file();
                for (SafeTensors.Entry entry : index.entries().values()) {
                    String name = entry.name();
                    String canonical = canonicalName(name);
                    if (sourceFile.containsKey(canonical)) {
                        throw new HeadlensException(file + ": tensor " + SafeTensors.quote(name) + " is also in " + sourceFile.get(canonical));
                    }
                    sourceFile.put(canonical, file);
                    if (!FLOATING_DTYPES.contains(entry.dtype())) {
                        // integer buffers that older checkpoints carry (e.g. CLIP's position_ids) are
                        // never weights; one that the graph asks for is refused by get()
                        notFloating.put(canonical, entry.dtype());
                        continue;
                    }
                    NDArray converted = index.read(name, manager, computeType);
                    converted.setName(canonical);
                    tensors.put(canonical, converted);
                    requireFinite(index, name, converted);
                    long bytes = entry.size() * computeType.getNumOfBytes();
                    remaining -= bytes;
                    sinceCheck += bytes;
                    if (watch && sinceCheck >= WATCH_BYTES) {
                        sinceCheck = 0;
                        requireStillFits(folder, remaining, Memory.availableBytes());
                    }
                }
            }
        } catch (RuntimeException e) {
            tensors.values().forEach(NDArray::close);
            throw e;
        }
        return new Weights(folder, manager, tensors, sourceFile, notFloating, null);
    }

    /** Loaded bytes between two checks that the rest still fits. */
    static final long WATCH_BYTES = 512L * 1024 * 1024;

    /**
     * Stops a load, in one line, when other processes have taken the memory its remaining
     * tensors need since it started: the kernel would otherwise kill this process, the largest,
     * part-way through.
     */
    static void requireStillFits(Path folder, long remaining, long available) {
        long margin = 256L * 1024 * 1024;
        if (available >= 0 && available < remaining + margin) {
            throw new HeadlensException(folder + ": stopped loading: " + Memory.gigabytes(remaining) + " of weights are still to load but only "
                    + Memory.gigabytes(available) + " of memory is available now (MemAvailable); other processes took memory"
                    + " after the load began");
        }
    }

    /**
     * Bytes the floating tensors of a checkpoint occupy once held in {@code type}.
     *
     * @param indexes the checkpoint's files
     * @param type the type they are held in
     * @return the total
     */
    static long bytesIn(List<SafeTensors> indexes, DataType type) {
        long total = 0;
        for (SafeTensors index : indexes) {
            for (SafeTensors.Entry entry : index.entries().values()) {
                if (FLOATING_DTYPES.contains(entry.dtype())) {
                    total = Math.addExact(total, Math.multiplyExact(entry.size(), (long) type.getNumOfBytes()));
                }
            }
        }
        return total;
    }

    /**
     * Memory of widened copies while computing in {@code stepType}: the largest weight widened
     * afresh for its step and freed (vision tower, projector), plus one kept array per distinct
     * shape of the layers' attention and MLP matrices and of the head's row blocks
     * ({@link Widening}; a CLIP tower's layers are counted as kept too, and the embedding's blocks
     * even when it is not the head, which errs on the safe side). The embedding itself is widened
     * only in the rows a prompt looks up.
     */
    private static long widenedBytes(List<SafeTensors> indexes, DataType stepType) {
        long largest = 0;
        Map<List<Long>, Long> kept = new java.util.HashMap<>();
        for (SafeTensors index : indexes) {
            for (Map.Entry<String, SafeTensors.Entry> named : index.entries().entrySet()) {
                SafeTensors.Entry entry = named.getValue();
                long bytes = entry.size() * stepType.getNumOfBytes();
                String name = named.getKey();
                boolean layerMatrix = entry.shape().length == 2 && name.contains("layers.")
                        && (name.contains(".mlp.") || name.contains(".self_attn."));
                boolean vocabulary = entry.shape().length == 2 && (name.endsWith("lm_head.weight") || name.endsWith("embed_tokens.weight"));
                if (!layerMatrix && !vocabulary) {
                    largest = Math.max(largest, bytes); // widened afresh for its step (vision tower, projector)
                }
                if (layerMatrix) {
                    kept.put(Arrays.stream(entry.shape()).boxed().toList(), bytes);
                }
                if (vocabulary) {
                    // the head's row blocks (LanguageModel.HEAD_BLOCK_ROWS); a tied head is the embedding
                    long rows = entry.shape()[0];
                    long block = LanguageModel.HEAD_BLOCK_ROWS;
                    for (long height : new long[] {Math.min(rows, block), rows > block ? rows % block : 0}) {
                        kept.put(List.of(height, entry.shape()[1]), height * entry.shape()[1] * stepType.getNumOfBytes());
                    }
                }
            }
        }
        return largest + kept.values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * Refuses, before anything is allocated, a checkpoint whose weights do not fit in the memory
     * the machine has available: the alternative is the kernel killing the process part-way, or
     * the machine swapping for hours. Names what it needs, what is available and what would fit.
     */
    static void requireMemory(Path folder, List<SafeTensors> indexes, DataType type, DataType stepType, long available) {
        if (available < 0) {
            return;
        }
        long weights = bytesIn(indexes, type);
        long widened = stepType == type ? 0 : widenedBytes(indexes, stepType);
        long needed = weights + widened + Memory.LOAD_HEADROOM_BYTES;
        if (needed <= available) {
            return;
        }
        String hint;
        long half = bytesIn(indexes, DataType.FLOAT16) + widenedBytes(indexes, DataType.FLOAT32) + Memory.LOAD_HEADROOM_BYTES;
        if ((type.getNumOfBytes() > 2 || stepType.getNumOfBytes() > 4) && half <= available) {
            hint = "load it with --dtype float16 --compute float32 (weights held in float16, " + Memory.gigabytes(half)
                    + ", each widened exactly to float32 for its step), or in Java LoadOptions.of(FLOAT16, FLOAT32)";
        } else if (half < needed) {
            hint = "free memory: with --dtype float16 --compute float32 it needs " + Memory.gigabytes(half)
                    + "; headlens holds every weight in memory and does not stream layers from disk";
        } else {
            hint = "free memory or use a machine with at least " + Memory.gigabytes(needed)
                    + " available; headlens holds every weight in memory and does not stream layers from disk";
        }
        throw new HeadlensException(folder + ": holding its weights in " + type.toString().toLowerCase(java.util.Locale.ROOT)
                + (widened > 0 ? " and widening them to " + stepType.toString().toLowerCase(java.util.Locale.ROOT) + " step by step" : "")
                + " needs " + Memory.gigabytes(needed) + " (" + Memory.gigabytes(weights) + " of weights"
                + (widened > 0 ? ", " + Memory.gigabytes(widened) + " for widened copies" : "") + " and "
                + Memory.gigabytes(Memory.LOAD_HEADROOM_BYTES) + " to work in), but only " + Memory.gigabytes(available)
                + " of memory is available (MemAvailable); " + hint);
    }

    /**
     * Refuses a tensor that holds NaN or infinity, or whose values overflow the compute type: no
     * forward pass through it gives numbers that mean anything. The sum of a tensor is finite only
     * when every element is, so one reduction decides for almost every tensor; only a tensor
     * whose sum is not finite is counted element by element.
     */
    private static void requireFinite(SafeTensors index, String name, NDArray tensor) {
        long[] nonFinite = nonFinite(tensor);
        if (nonFinite[0] == 0 && nonFinite[1] == 0) {
            return;
        }
        String what = (nonFinite[0] > 0 ? nonFinite[0] + " NaN" : "") + (nonFinite[0] > 0 && nonFinite[1] > 0 ? " and " : "")
                + (nonFinite[1] > 0 ? nonFinite[1] + " infinite" : "") + " values";
        String dtype = index.entries().get(name).dtype();
        DataType storedType = dtype.equals("F16") ? DataType.FLOAT16 : dtype.equals("F64") ? DataType.FLOAT64 : DataType.FLOAT32;
        if (storedType != tensor.getDataType()) {
            // finite as stored, infinite once narrowed: the compute type is too narrow, not the file wrong
            try (NDManager scope = tensor.getManager().newSubManager()) {
                long[] stored = nonFinite(index.read(name, scope));
                if (stored[0] == 0 && stored[1] == 0) {
                    throw new HeadlensException(index.file() + ": tensor " + SafeTensors.quote(name) + " holds " + what
                            + " once converted to " + tensor.getDataType() + ": its " + dtype + " values exceed the range of "
                            + tensor.getDataType() + "; load it in " + (tensor.getDataType() == DataType.FLOAT16 ? "float32" : "float64"));
                }
            }
        }
        throw new HeadlensException(index.file() + ": tensor " + SafeTensors.quote(name) + " holds " + what
                + "; a model with non-finite weights computes no meaningful numbers");
    }

    /** @return the number of NaN and of infinite elements */
    private static long[] nonFinite(NDArray tensor) {
        // the scope frees the reductions, which would otherwise live as long as the weights
        try (NDScope scope = new NDScope()) {
            if (tensor.isEmpty() || Double.isFinite(tensor.sum().toType(DataType.FLOAT64, false).getDouble())) {
                return new long[2];
            }
            return new long[] {tensor.isNaN().countNonzero().getLong(), tensor.isInfinite().countNonzero().getLong()};
        }
    }

    /**
     * Lists the safetensors files of a model folder: the shards named by
     * {@code model.safetensors.index.json}, or {@code model.safetensors}, refusing pickle files.
     *
     * @param folder model folder
     * @return files to read
     */
    public static List<Path> safetensorsFiles(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new HeadlensException(folder + ": not a folder; pass the folder that holds config.json and the weights");
        }
        Path indexFile = folder.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(indexFile)) {
            return shardsFromIndex(indexFile);
        }
        Path single = folder.resolve("model.safetensors");
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        List<Path> pickles = new ArrayList<>();
        try (Stream<Path> list = Files.list(folder)) {
            list.filter(p -> isPickle(p.getFileName().toString())).sorted().forEach(pickles::add);
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (!pickles.isEmpty()) {
            throw refusePickle(pickles.get(0));
        }
        throw new HeadlensException(folder + ": no model.safetensors or model.safetensors.index.json found");
    }

    /** @return true if a file name ends like a pickle checkpoint */
    public static boolean isPickle(String fileName) {
        String lower = fileName.toLowerCase(Locale.ROOT);
        return PICKLE_ENDINGS.stream().anyMatch(lower::endsWith);
    }

    /**
     * The error for a pickle checkpoint: why it is refused and how to convert it.
     *
     * @param file the pickle file
     * @return the error to throw
     */
    public static HeadlensException refusePickle(Path file) {
        return new HeadlensException(file + ": pickle checkpoints are refused, because loading one can run arbitrary code. "
                + "Convert it once, in a trusted Python environment, with "
                + "model = AutoModelForVision2Seq.from_pretrained(dir); model.save_pretrained(out, safe_serialization=True)");
    }

    private static List<Path> shardsFromIndex(Path indexFile) {
        JsonObject json = JsonFiles.readObject(indexFile, JsonFiles.MAX_CONFIG_BYTES);
        JsonElement mapElement = json.get("weight_map");
        if (mapElement == null || !mapElement.isJsonObject()) {
            throw new HeadlensException(indexFile + ": has no weight_map object");
        }
        Set<String> shardNames = new LinkedHashSet<>();
        for (Map.Entry<String, JsonElement> entry : mapElement.getAsJsonObject().entrySet()) {
            JsonElement value = entry.getValue();
            if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
                throw new HeadlensException(indexFile + ": weight_map entry " + SafeTensors.quote(entry.getKey())
                        + " is " + shorten(value.toString()) + ", expected the file name of a shard");
            }
            shardNames.add(value.getAsString());
        }
        List<Path> shards = new ArrayList<>();
        Path folder = indexFile.getParent();
        for (String name : shardNames) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")
                    || name.chars().anyMatch(Character::isISOControl)) {
                throw new HeadlensException(indexFile + ": shard " + SafeTensors.quote(name) + " is not a file name inside the model folder");
            }
            // a name without separators, "." or "..", resolves to a file directly in the folder
            Path shard;
            try {
                shard = folder.resolve(name);
            } catch (java.nio.file.InvalidPathException e) {
                throw new HeadlensException(indexFile + ": shard " + SafeTensors.quote(name) + " is not a file name inside the model folder");
            }
            if (isPickle(name)) {
                throw refusePickle(shard);
            }
            if (!Files.isRegularFile(shard)) {
                throw new HeadlensException(indexFile + ": names shard " + SafeTensors.quote(name) + ", which is missing from " + folder);
            }
            shards.add(shard);
        }
        if (shards.isEmpty()) {
            throw new HeadlensException(indexFile + ": weight_map names no shard");
        }
        return shards;
    }

    private static String shorten(String text) {
        String line = text.replaceAll("\\p{Cntrl}", "?");
        return line.length() <= 60 ? line : line.substring(0, 60) + "...";
    }

    /**
     * Maps the newer LLaVA parameter layout onto the 4.44 one.
     *
     * @param name a parameter name as stored
     * @return the canonical name
     */
    static String canonicalName(String name) {
        if (name.startsWith("model.language_model.")) {
            return "language_model.model." + name.substring("model.language_model.".length());
        }
        if (name.startsWith("model.vision_tower.")) {
            return name.substring("model.".length());
        }
        if (name.startsWith("model.multi_modal_projector.")) {
            return name.substring("model.".length());
        }
        if (name.startsWith("lm_head.")) {
            return "language_model." + name;
        }
        // Qwen2-VL: the decoder at model.* (4.45) and the vision side at visual.* or model.visual.*
        if (name.equals("model.image_newline")) {
            return "image_newline";
        }
        if (name.startsWith("model.visual.")) {
            return name.substring("model.".length());
        }
        if (name.startsWith("model.layers.") || name.startsWith("model.embed_tokens.") || name.startsWith("model.norm.")) {
            return "language_model." + name;
        }
        return name;
    }

    /**
     * Returns a required tensor after checking its shape.
     *
     * @param name canonical name
     * @param shape expected shape
     * @return the tensor
     */
    public NDArray get(String name, long... shape) {
        if (random != null && !tensors.containsKey(name)) {
            tensors.put(name, initialise(name, shape));
        }
        if (declared != null && !tensors.containsKey(name) && declared.containsKey(name)) {
            tensors.put(name, manager.zeros(new Shape(1)).broadcast(new Shape(declared.get(name))));
        }
        NDArray tensor = tensors.get(name);
        if (notFloating.containsKey(name)) {
            throw new HeadlensException(sourceFile.get(name) + ": tensor " + SafeTensors.quote(name) + " has dtype "
                    + notFloating.get(name) + ", expected a floating point type (" + String.join(", ", new TreeSet<>(FLOATING_DTYPES)) + ")");
        }
        if (tensor == null) {
            throw new HeadlensException(folder + ": tensor '" + name + "' is missing from the weights");
        }
        if (!tensor.getShape().equals(new Shape(shape))) {
            throw new HeadlensException(sourceFile.get(name) + ": tensor '" + name + "' has shape "
                    + tensor.getShape() + " but config.json implies " + new Shape(shape));
        }
        return tensor;
    }

    /**
     * Returns an optional tensor (e.g. a bias), checking its shape when present.
     *
     * @param name canonical name
     * @param shape expected shape
     * @return the tensor or null
     */
    public NDArray optional(String name, long... shape) {
        return has(name) || notFloating.containsKey(name) || random != null ? get(name, shape) : null;
    }

    /** @return true if the tensor exists */
    public boolean has(String name) {
        return tensors.containsKey(name) || declared != null && declared.containsKey(name);
    }

    /** @return every tensor by canonical name, in load order */
    public Map<String, NDArray> tensors() {
        return java.util.Collections.unmodifiableMap(tensors);
    }

    /** @return every canonical tensor name */
    public Set<String> names() {
        return new TreeSet<>(tensors.keySet());
    }

    /** @return the model folder */
    public Path folder() {
        return folder;
    }

    /** @return the manager owning every tensor */
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        tensors.values().forEach(NDArray::close);
        tensors.clear();
    }

    @Override
    public String toString() {
        return "Weights[" + folder + ", " + tensors.size() + " tensors, e.g. " + Arrays.toString(tensors.keySet().stream().limit(2).toArray()) + "]";
    }
}
