package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;

/**
 * The size arithmetic of the any-size families against values worked out by hand from
 * transformers' formulas (Python rounding and truncation), for sizes other than the fixtures'.
 */
class FamilyGeometryTest {
    @Test
    void llavaNextPicksPinpointResizesAndUnpadsLikeTransformers() {
        try (Lvlm model = Lvlm.load(Fixtures.model("llava-next-clip-llama"))) {
            LlavaNextFamily family = (LlavaNextFamily) model.family();
            // the fixture: 82 wide x 50 high -> 64x64, resized 40 high, rows 2..6 of 8 kept
            assertEquals(new LlavaNextFamily.Geometry(64, 64, 40, 64, 2, 2, 2, 6, 0, 8), family.geometry(50, 82));
            assertEquals(52, family.imageTokens(new long[] {50, 82}));
            // the same image standing up: columns are cut instead, int(50 * 8 / 82) = 4 kept
            assertEquals(new LlavaNextFamily.Geometry(64, 64, 64, 40, 2, 2, 0, 8, 2, 6), family.geometry(82, 50));
            assertEquals(16 + 8 * 5, family.imageTokens(new long[] {82, 50}));
            // a wide strip: 64x32 (h x w) loses to 32x64, which holds it without waste
            assertEquals(new LlavaNextFamily.Geometry(32, 64, 20, 64, 1, 2, 1, 3, 0, 8), family.geometry(20, 64));
            // a small square: every pinpoint holds all of it; least waste picks 32x64 (first of the ties)
            LlavaNextFamily.Geometry square = family.geometry(10, 10);
            assertEquals(32, square.bestHeight());
            assertEquals(64, square.bestWidth());
            assertThrows(HeadlensException.class, () -> family.imageTokens(null));
            // an odd padding difference (32 - 21): transformers 4.44's canvas is one row short and the
            // short tiles are resized back to 32; the tile count must still match the geometry
            try (ai.djl.ndarray.NDManager manager = model.newScope()) {
                java.awt.image.BufferedImage odd = new java.awt.image.BufferedImage(64, 21, java.awt.image.BufferedImage.TYPE_INT_RGB);
                ImageInput input = model.preprocess(manager, odd);
                assertEquals(new ai.djl.ndarray.types.Shape(1, 3, 3, 32, 32), input.pixels().getShape());
                assertArrayEquals(new long[] {21, 64}, input.grid());
            }
        }
    }

    @Test
    void qwen2VlSmartResizeRoundsHalfToEvenAndKeepsThePixelBudget() {
        try (Lvlm model = Lvlm.load(Fixtures.model("qwen2-vl"))) {
            Qwen2VlImageProcessor processor = Qwen2VlImageProcessor.read(Fixtures.model("qwen2-vl"), model.config().vision());
            assertArrayEquals(new int[] {56, 84}, processor.smartResize(56, 84), "the fixture: no resize");
            // 70 / 28 = 2.5 rounds to 2 (half to even), 42 / 28 = 1.5 rounds to 2
            assertArrayEquals(new int[] {56, 56}, processor.smartResize(70, 42));
            // 1000 x 1000 is over max_pixels 6272: beta = sqrt(1e6 / 6272), floor -> 56 x 56
            assertArrayEquals(new int[] {56, 56}, processor.smartResize(1000, 1000));
            // under min_pixels 3136: scaled up with ceil (29 x 31 -> 2.06 and 2.2 windows -> 3 columns)
            assertArrayEquals(new int[] {56, 56}, processor.smartResize(30, 30));
            assertArrayEquals(new int[] {56, 84}, processor.smartResize(29, 31));
            // over the budget with an aspect ratio: floor on both sides
            assertArrayEquals(new int[] {28, 168}, processor.smartResize(60, 300));
            assertArrayEquals(new int[] {28, 112}, processor.smartResize(33, 100));
            assertThrows(HeadlensException.class, () -> processor.smartResize(10, 100), "a side under 28 pixels");
        }
    }

    @Test
    void familyConfigsAreReadWithTheirDefaultsAndContradictionsRefused() throws Exception {
        java.nio.file.Path file = Fixtures.model("qwen2-vl").resolve("config.json");
        String text = java.nio.file.Files.readString(file);
        ModelConfig qwen = ModelConfig.parse(file, com.google.gson.JsonParser.parseString(text).getAsJsonObject());
        assertEquals("qwen2_vl", qwen.family());
        assertEquals(java.util.List.of(2, 3, 3), qwen.text().mropeSection());
        assertEquals(1e6, qwen.text().ropeTheta());
        assertEquals(127, qwen.imageTokenIndex());
        assertEquals(2, qwen.vision().temporalPatchSize());
        assertEquals(128, qwen.vision().intermediateSize(), "embed_dim x mlp_ratio");
        for (String[] broken : new String[][] {
            {"\"mrope_section\": [\n      2,\n      3,\n      3\n    ]", "\"mrope_section\": [2, 3, 4]", "mrope_section"},
            {"\"num_heads\": 4", "\"num_heads\": 16", "embed_dim"},
            {"\"hidden_size\": 64,\n    \"model_type\": \"qwen2_vl\"", "\"hidden_size\": 32,\n    \"model_type\": \"qwen2_vl\"", "merger"}}) {
            assertTrue(text.contains(broken[0]), broken[0]);
            String edited = text.replace(broken[0], broken[1]);
            HeadlensException e = assertThrows(HeadlensException.class,
                    () -> ModelConfig.parse(file, com.google.gson.JsonParser.parseString(edited).getAsJsonObject()));
            assertTrue(e.getMessage().contains(broken[2]) && e.getMessage().contains("config.json"), e.getMessage());
        }
        java.nio.file.Path nextFile = Fixtures.model("llava-next-clip-llama").resolve("config.json");
        String next = java.nio.file.Files.readString(nextFile);
        ModelConfig llavaNext = ModelConfig.parse(nextFile, com.google.gson.JsonParser.parseString(next).getAsJsonObject());
        assertEquals(java.util.List.of(java.util.List.of(32, 64), java.util.List.of(64, 32), java.util.List.of(64, 64)),
                llavaNext.gridPinpoints());
        String badPinpoint = next.replaceFirst("32,\\s*64", "33, 64");
        HeadlensException e = assertThrows(HeadlensException.class,
                () -> ModelConfig.parse(nextFile, com.google.gson.JsonParser.parseString(badPinpoint).getAsJsonObject()));
        assertTrue(e.getMessage().contains("image_grid_pinpoints"), e.getMessage());
    }

    @Test
    void qwen2VlPositionIdsFollowGetRopeIndex() {
        try (Lvlm model = Lvlm.load(Fixtures.model("qwen2-vl"))) {
            // 2 text tokens, a 4x2 grid of merged tokens from a (1, 8, 4) patch grid, 3 text tokens
            long[][] rows = model.family().positionIds(13, 2, 8, new long[] {1, 8, 4});
            assertArrayEquals(new long[] {0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 6, 7, 8}, rows[0]);
            assertArrayEquals(new long[] {0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8}, rows[1]);
            assertArrayEquals(new long[] {0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 6, 7, 8}, rows[2]);
            long[][] text = model.family().positionIds(4, 4, 0, null);
            assertArrayEquals(new long[] {0, 1, 2, 3}, text[2], "text only: all three rows count up");
        }
    }
}
