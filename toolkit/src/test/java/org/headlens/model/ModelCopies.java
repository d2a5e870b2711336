package org.headlens.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/** Copies of a model folder with edited weights or config, for tests of what loading refuses. */
public final class ModelCopies {
    /** The shipped tiny model (tokenizer, processor and all). */
    public static final Path TINY = Path.of("..", "datasets", "tiny-shapes", "model");

    private ModelCopies() {
    }

    /**
     * Copies every file of {@code source} into {@code target}, then rewrites its weights.
     *
     * @param source a model folder with model.safetensors
     * @param target where the copy goes
     * @param edit changes the tensors (by stored name) before they are written back
     * @return {@code target}
     */
    public static Path withWeights(Path source, Path target, BiConsumer<NDManager, Map<String, NDArray>> edit) {
        copy(source, target);
        SafeTensors weights = SafeTensors.open(source.resolve("model.safetensors"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : weights.entries().keySet()) {
                tensors.put(name, weights.read(name, manager));
            }
            edit.accept(manager, tensors);
            SafeTensors.write(target.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        return target;
    }

    /**
     * Copies a model folder and rewrites the text of its config.json.
     *
     * @param source a model folder
     * @param target where the copy goes
     * @param edit new config text from the old one
     * @return {@code target}
     */
    public static Path withConfig(Path source, Path target, UnaryOperator<String> edit) {
        copy(source, target);
        try {
            Path config = target.resolve("config.json");
            Files.writeString(config, edit.apply(Files.readString(config)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return target;
    }

    private static void copy(Path source, Path target) {
        try (Stream<Path> files = Files.list(source)) {
            Files.createDirectories(target);
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, target.resolve(file.getFileName().toString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
