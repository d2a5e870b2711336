package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.Fixtures;
import org.headlens.forward.Capture;
import org.headlens.forward.ForwardPass;
import org.headlens.forward.ForwardResult;
import org.headlens.forward.LayerEdits;
import org.headlens.forward.Pass;
import org.headlens.forward.Prompt;
import org.headlens.forward.Site;
import org.headlens.model.ImageInput;
import org.headlens.model.Images;
import org.headlens.model.Lvlm;
import org.headlens.model.ModelCopies;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Both parameter-name layouts of each new family, and checkpoints saved with tied embeddings. */
class FamilyLayoutsTest {
    /** The newer transformers names (everything under model.*, lm_head at the top). */
    private static String newerName(String name) {
        for (String[] rename : new String[][] {{"model.layers.", "model.language_model.layers."},
            {"model.embed_tokens.", "model.language_model.embed_tokens."}, {"model.norm.", "model.language_model.norm."},
            {"visual.", "model.visual."}, {"image_newline", "model.image_newline"},
            {"language_model.model.", "model.language_model."}, {"language_model.lm_head.", "lm_head."},
            {"vision_tower.", "model.vision_tower."}, {"multi_modal_projector.", "model.multi_modal_projector."}}) {
            if (name.startsWith(rename[0])) {
                return rename[1] + name.substring(rename[0].length());
            }
        }
        return name;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void newerParameterNamesLoadToTheSameNumbers(String name, @TempDir Path temp) {
        Path copy = ModelCopies.withWeights(Fixtures.model(name), temp.resolve("m"), (manager, tensors) -> {
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            tensors.forEach((key, value) -> renamed.put(newerName(key), value));
            assertTrue(!renamed.keySet().equals(tensors.keySet()), "the copy uses other names");
            tensors.clear();
            tensors.putAll(renamed);
        });
        try (Lvlm model = Lvlm.load(copy)) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compare(model, Fixtures.model(name));
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.passes(ReferenceCheck.TOLERANCE), row.name() + " differs by " + row.maxAbsDiff());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llava-next-clip-llama", "qwen2-vl"})
    void tiedEmbeddingsReadTheHeadFromTheEmbeddingTable(String name, @TempDir Path temp) throws Exception {
        Path weights = ModelCopies.withWeights(Fixtures.model(name), temp.resolve("w"),
                (manager, tensors) -> tensors.keySet().removeIf(key -> key.endsWith("lm_head.weight")));
        Path tied = temp.resolve("tied");
        ModelCopies.withConfig(weights, tied, text -> text.replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true"));
        assertTrue(Files.readString(tied.resolve("config.json")).contains("\"tie_word_embeddings\": true"));
        try (Lvlm model = Lvlm.load(tied); NDManager manager = model.newScope()) {
            ImageInput image = model.preprocess(manager, Images.read(Fixtures.model(name).resolve("image.png")));
            long[] ids = org.headlens.model.SafeTensors.open(Fixtures.model(name).resolve("fixtures.safetensors"))
                    .read("input_ids", manager).toLongArray();
            Pass pass = Pass.full(Prompt.ofIds(model, ids, image).layout()).capture(Capture.of(Site.finalNorm()));
            try (ForwardResult result = ForwardPass.run(model, pass, image.pixels(), LayerEdits.none())) {
                NDArray normed = result.cache().get(Site.finalNorm());
                NDArray embedding = model.weights().get("language_model.model.embed_tokens.weight", 128, 64);
                NDArray expected = normed.matMul(embedding.transpose());
                float difference = expected.reshape(-1).sub(result.logits().reshape(-1)).abs().max().getFloat();
                assertEquals(0, difference, 1e-5, "logits are the final norm times the embedding table");
            }
        }
    }
}
