package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Values of config.json that parse but cannot be computed with: non-finite or non-positive
 * numbers, unknown activations, values of the wrong kind. Each is refused when the config is
 * read, naming config.json and the field, before any weight is loaded.
 */
class ConfigValuesTest {
    @TempDir
    Path dir;

    /** Writes the tiny model's config with one field of one section replaced by raw JSON text. */
    private Path configWith(String section, String field, String rawValue) throws Exception {
        JsonObject json = JsonFiles.readObject(ModelCopies.TINY.resolve("config.json"), JsonFiles.MAX_CONFIG_BYTES);
        JsonObject target = section.equals("top") ? json : json.getAsJsonObject(section);
        target.addProperty(field, "@@VALUE@@");
        Path folder = Files.createDirectories(dir.resolve("model"));
        Files.writeString(folder.resolve("config.json"), json.toString().replace("\"@@VALUE@@\"", rawValue));
        return folder;
    }

    @ParameterizedTest(name = "{0}.{1} = {2}")
    @CsvSource(delimiter = '|', value = {
        "text_config   | rms_norm_eps                | NaN                  | a positive finite number",
        "text_config   | rms_norm_eps                | Infinity             | a positive finite number",
        "text_config   | rms_norm_eps                | -1e-5                | a positive finite number",
        "text_config   | rms_norm_eps                | 0                    | a positive finite number",
        "text_config   | rms_norm_eps                | 1e999                | a positive finite number",
        "text_config   | rms_norm_eps                | \"1e-5\"             | a positive finite number",
        "text_config   | rms_norm_eps                | 1e300                | a positive number that float32 can hold",
        "vision_config | layer_norm_eps              | 1e-50                | a positive number that float32 can hold",
        "text_config   | rope_theta                  | NaN                  | a positive finite number",
        "text_config   | rope_theta                  | -Infinity            | a positive finite number",
        "text_config   | rope_theta                  | 0.0                  | a positive finite number",
        "text_config   | rope_scaling                | {\"type\":\"linear\",\"factor\":NaN} | a positive finite number",
        "text_config   | rope_scaling                | {\"type\":\"linear\"}               | factor is missing",
        "text_config   | rope_scaling                | {\"type\":5,\"factor\":2}           | expected a string",
        "text_config   | rope_scaling                | {\"type\":\"yarn\",\"factor\":2}    | not supported",
        "text_config   | hidden_act                  | \"relu\"             | not a supported activation (supported: silu, swish)",
        "text_config   | hidden_act                  | 7                    | expected a string",
        "text_config   | head_dim                    | 15                   | an even number",
        "text_config   | max_position_embeddings     | 0                    | a positive integer",
        "text_config   | max_position_embeddings     | 2.5                  | an integer",
        "text_config   | hidden_size                 | 1e12                 | an integer",
        "text_config   | num_hidden_layers           | \"6\"                | an integer",
        "text_config   | tie_word_embeddings         | \"yes\"              | true or false",
        "vision_config | layer_norm_eps              | NaN                  | a positive finite number",
        "vision_config | layer_norm_eps              | -1                   | a positive finite number",
        "vision_config | hidden_act                  | \"swiglu\"           | not a supported activation (supported: gelu, quick_gelu",
        "vision_config | image_size                  | 2000000              | patches",
        "top           | projector_hidden_act        | \"tanh\"             | not a supported activation (supported: gelu, quick_gelu",
        "top           | projector_hidden_act        | null                 | ",
        "top           | vision_feature_layer        | [\"a\"]              | a list of layer indices",
        "top           | vision_feature_layer        | [[1]]                | a list of layer indices",
        "top           | vision_feature_layer        | []                   | layer indices",
        "top           | vision_feature_layer        | 1.5                  | an integer",
        "top           | image_token_index           | \"3\"                | an integer",
    })
    void unusableValuesAreRefusedNamingTheFileAndTheField(String section, String field, String value, String expected) throws Exception {
        Path folder = configWith(section, field, value);
        Path file = folder.resolve("config.json");
        if (expected == null) {
            // null means "use the default", as in transformers
            assertEquals("gelu", ModelConfig.read(folder).projectorActivation());
            return;
        }
        HeadlensException e = assertThrows(HeadlensException.class, () -> ModelConfig.read(folder));
        String message = e.getMessage();
        String prefix = section.equals("top") ? "" : section + ".";
        assertTrue(message.startsWith(file.toString()), message);
        assertTrue(message.contains(prefix + field) || message.contains(section + ": " + field)
                || message.contains(section + ": image_size"), "names the field: " + message);
        assertTrue(message.contains(expected), message);
        assertTrue(!message.contains("\n") && !message.contains("Exception"), message);
    }
}
