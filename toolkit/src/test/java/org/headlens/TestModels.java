package org.headlens;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.headlens.data.ShapeSample;
import org.headlens.data.Sample;
import org.headlens.data.ShapesDataset;
import org.headlens.data.SyntheticShapes;
import org.headlens.data.TinyModel;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelConfig;

/** Small random models and datasets in the tiny model's formats, written to a test's folder. */
public final class TestModels {
    private TestModels() {
    }

    /** Writes a randomly initialised model folder with the tiny model's vision tower and vocabulary. */
    public static Path randomModel(Path folder, int layers, int heads, int hidden, long seed) {
        var configJson = TinyModel.config(layers, heads, hidden);
        TinyModel.writeFolderFiles(folder, configJson);
        try (Lvlm model = Lvlm.random(ModelConfig.parse(folder.resolve("config.json"), configJson), seed)) {
            model.save(folder);
        }
        return folder;
    }

    /** Writes {@code count} synthetic samples (class = index mod 8) and reads them back. */
    public static List<Sample> shapes(Path folder, int count, long seed) {
        SyntheticShapes generator = new SyntheticShapes(TinyModel.IMAGE_SIZE, seed);
        List<ShapeSample> shapes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            shapes.add(generator.sample("t", i));
        }
        ShapesDataset.write(folder, shapes);
        return ShapesDataset.read(folder);
    }
}
