package org.headlens.interventions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.headlens.Fixtures;
import org.headlens.model.Lvlm;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"llava-clip-llama", "llava-siglip-qwen2"})
    void everyReferenceTensorMatchesHuggingFace(String name) {
        try (Lvlm model = Lvlm.load(Fixtures.model(name))) {
            List<ReferenceCheck.Row> rows = ReferenceCheck.compare(model, Fixtures.model(name));
            Set<String> compared = rows.stream().map(ReferenceCheck.Row::name).collect(Collectors.toSet());
            // logits, 3 vision states, 4 hidden states, 3 layer outputs, 3 attentions, 9 q/k/v,
            // features, projector, merged embeddings, position ids, logits from the expanded prompt
            assertEquals(28, rows.size(), "compared " + compared);
            assertTrue(compared.containsAll(Set.of("logits", "attentions.2", "decoder_k_post_rope.1",
                    "vision_selected_features", "projector_output", "logits[input_ids_expanded]")));
            for (ReferenceCheck.Row row : rows) {
                assertTrue(row.maxAbsDiff() <= 1e-4, row.name() + " differs by " + row.maxAbsDiff());
            }
        }
    }
}
