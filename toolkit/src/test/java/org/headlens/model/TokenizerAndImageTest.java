package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.headlens.Fixtures;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

class TokenizerAndImageTest {
    private static Path modelWithTokenizer(Path dir) throws Exception {
        Path source = Fixtures.model("llava-clip-llama");
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        Files.copy(source.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        StringBuilder vocab = new StringBuilder("\"<unk>\":0,\"<s>\":1,\"USER\":2,\":\":3,\"ASSISTANT\":4,\"what\":5,\"shape\":6,\"?\":7,\"circle\":8");
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
                + "\"added_tokens\":[{\"id\":127,\"content\":\"<image>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                + "\"normalized\":false,\"special\":true},{\"id\":1,\"content\":\"<s>\",\"single_word\":false,\"lstrip\":false,"
                + "\"rstrip\":false,\"normalized\":false,\"special\":true}],"
                + "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
                + "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                + "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],"
                + "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},\"decoder\":null,"
                + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{" + vocab + ",\"<image>\":127},\"unk_token\":\"<unk>\"}}");
        return dir;
    }

    @Test
    void tokenizerJsonIsLoadedThroughDjlTokenizers(@TempDir Path dir) throws Exception {
        try (Lvlm model = Lvlm.load(modelWithTokenizer(dir))) {
            assertTrue(model.hasTokenizer());
            assertArrayEquals(new long[] {1, 2, 3, 127, 5, 6, 7, 4, 3}, model.encode("USER: <image> what shape? ASSISTANT:"));
            assertArrayEquals(new long[] {8}, model.encodeWithoutSpecialTokens("circle"));
            assertEquals("circle", model.token(8));
        }
    }

    @Test
    void withoutTokenizerJsonEncodingSaysWhatIsMissing() {
        try (Lvlm model = Lvlm.load(Fixtures.model("llava-clip-llama"))) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> model.encode("hi"));
            assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        }
    }

    @Test
    void preprocessingResizesCropsRescalesAndNormalises(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"do_resize\":true,\"size\":{\"shortest_edge\":32},"
                + "\"resample\":3,\"do_center_crop\":true,\"crop_size\":{\"height\":32,\"width\":32},\"do_rescale\":true,"
                + "\"rescale_factor\":0.00392156862745098,\"do_normalize\":true,\"image_mean\":[0.5,0.25,0.0],\"image_std\":[0.5,0.25,1.0]}");
        ModelConfig config = ModelConfig.read(Fixtures.model("llava-clip-llama"));
        ImageProcessor processor = ImageProcessor.read(dir, config.vision());
        // a wide image whose left and right thirds are cut away by the centre crop
        BufferedImage image = new BufferedImage(300, 100, BufferedImage.TYPE_INT_RGB);
        var g = image.createGraphics();
        g.setColor(Color.RED);
        g.fillRect(0, 0, 300, 100);
        g.setColor(new Color(51, 102, 255));
        g.fillRect(90, 0, 120, 100);
        g.dispose();
        try (NDManager manager = NDManager.newBaseManager()) {
            var pixels = processor.pixelValues(manager, image);
            assertEquals(new ai.djl.ndarray.types.Shape(1, 3, 32, 32), pixels.getShape());
            float[] v = pixels.toFloatArray();
            // centre pixel: (51/255 - 0.5)/0.5, (102/255 - 0.25)/0.25, (255/255 - 0)/1
            assertEquals(51 / 255.0 / 0.5 - 1, v[16 * 32 + 16], 1e-5);
            assertEquals((102 / 255.0 - 0.25) / 0.25, v[1024 + 16 * 32 + 16], 1e-5);
            assertEquals(1.0, v[2048 + 16 * 32 + 16], 1e-5);
        }
        // grey and transparent images become RGB
        BufferedImage grey = new BufferedImage(40, 40, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage rgba = new BufferedImage(40, 40, BufferedImage.TYPE_INT_ARGB);
        Path greyFile = dir.resolve("grey.png");
        ImageIO.write(grey, "png", greyFile.toFile());
        try (NDManager manager = NDManager.newBaseManager()) {
            assertEquals(3, processor.pixelValues(manager, greyFile).getShape().get(1));
            assertEquals(3, processor.pixelValues(manager, rgba).getShape().get(1));
        }
        Path broken = dir.resolve("broken.png");
        Files.write(broken, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        HeadlensException e = assertThrows(HeadlensException.class, () -> Images.read(broken));
        assertTrue(e.getMessage().contains("broken.png"), e.getMessage());
    }

    @Test
    void aWrittenProcessorReadsBackTheSame(@TempDir Path dir) {
        ModelConfig config = ModelConfig.read(Fixtures.model("llava-clip-llama"));
        ImageProcessor clip = new ImageProcessor(32, 0, 0, 3, 32, 32, 1 / 255.0, new double[] {0.1, 0.2, 0.3}, new double[] {0.4, 0.5, 0.6});
        ImageProcessor fixed = new ImageProcessor(0, 32, 32, 2, 0, 0, 1 / 127.5, new double[] {1, 1, 1}, new double[] {1, 1, 1});
        BufferedImage image = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 40; y++) {
            for (int x = 0; x < 48; x++) {
                image.setRGB(x, y, (x * 5) << 16 | (y * 6) << 8 | (x * y) % 256);
            }
        }
        for (ImageProcessor written : new ImageProcessor[] {clip, fixed}) {
            written.write(dir);
            ImageProcessor read = ImageProcessor.read(dir, config.vision());
            try (NDManager manager = NDManager.newBaseManager()) {
                assertArrayEquals(written.pixelValues(manager, image).toFloatArray(), read.pixelValues(manager, image).toFloatArray(), written.toString());
            }
        }
    }

    @Test
    void aProcessorThatDisagreesWithTheTowerIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("preprocessor_config.json"), "{\"size\":{\"shortest_edge\":336},\"do_center_crop\":true,\"crop_size\":336}");
        ModelConfig config = ModelConfig.read(Fixtures.model("llava-clip-llama"));
        HeadlensException e = assertThrows(HeadlensException.class, () -> ImageProcessor.read(dir, config.vision()));
        assertTrue(e.getMessage().contains("336x336") && e.getMessage().contains("image_size is 32"), e.getMessage());
    }

    /** A valid config for the fixture's 32-pixel tower, with one field replaced by a bad value. */
    static Stream<Arguments> badProcessorFields() {
        return Stream.of(
                // field, bad JSON value, what the message must say
                Arguments.of("image_mean", "[0.5,0.5]", "must be 3 numbers"),
                Arguments.of("image_mean", "[0.5,\"red\",0.5]", "image_mean[1] must be a finite number"),
                Arguments.of("image_mean", "[0.5,NaN,0.5]", "image_mean[1] must be a finite number"),
                Arguments.of("image_std", "[0.5,0,0.5]", "image_std[1] is 0.0; it must be positive"),
                Arguments.of("image_std", "[0.5,0.5,-0.25]", "image_std[2] is -0.25; it must be positive"),
                Arguments.of("image_std", "[Infinity,0.5,0.5]", "image_std[0] must be a finite number"),
                Arguments.of("rescale_factor", "NaN", "rescale_factor must be a finite number"),
                Arguments.of("rescale_factor", "1e999", "rescale_factor must be a finite number"),
                Arguments.of("rescale_factor", "0", "rescale_factor is 0.0; it must be positive"),
                Arguments.of("resample", "0", "resample 0 (nearest) is not a PIL filter headlens implements; supported: 2 (bilinear), 3 (bicubic)"),
                Arguments.of("resample", "1", "resample 1 (lanczos) is not"),
                Arguments.of("resample", "4294967298", "resample 4294967298 is not"),
                Arguments.of("resample", "2.5", "resample 2.5 is not"),
                Arguments.of("size", "{\"shortest_edge\":-32}", "size.shortest_edge is -32; it must be positive"),
                Arguments.of("size", "{\"shortest_edge\":0}", "size.shortest_edge is 0; it must be positive"),
                Arguments.of("size", "{\"shortest_edge\":32.5}", "size.shortest_edge must be a whole number of pixels, not 32.5"),
                Arguments.of("size", "{\"shortest_edge\":100000}", "size.shortest_edge is 100000, more than 128 (4 x vision_config.image_size 32)"),
                Arguments.of("size", "{\"shortest_edge\":1e999999999}", "size.shortest_edge is 1e999999999, more than 128"),
                Arguments.of("size", "{\"height\":32}", "size has no width"),
                Arguments.of("size", "{\"height\":32,\"width\":\"32\"}", "size.width must be a whole number of pixels"),
                Arguments.of("size", "-32", "size is -32; it must be positive"),
                Arguments.of("crop_size", "-32", "crop_size is -32; it must be positive"),
                Arguments.of("size", "{\"height\":100000,\"width\":32}", "size.height is 100000, more than 128"),
                Arguments.of("crop_size", "{\"height\":32,\"width\":4294967328}", "produces 32x4294967328 images but vision_config.image_size is 32"),
                Arguments.of("crop_size", "16", "produces 16x16 images but vision_config.image_size is 32"),
                Arguments.of("do_center_crop", "\"yes\"", "do_center_crop must be true or false"),
                Arguments.of("do_center_crop", "false", "without do_center_crop the images are not the 32x32"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("badProcessorFields")
    void badProcessorFieldsAreRefusedNamingFileAndField(String field, String value, String expected, @TempDir Path dir) throws Exception {
        JsonObject json = JsonParser.parseString("{\"do_resize\":true,\"size\":{\"shortest_edge\":32},\"resample\":3,"
                + "\"do_center_crop\":true,\"crop_size\":{\"height\":32,\"width\":32},\"do_rescale\":true,"
                + "\"rescale_factor\":0.00392156862745098,\"do_normalize\":true,\"image_mean\":[0.5,0.5,0.5],\"image_std\":[0.5,0.5,0.5]}")
                .getAsJsonObject();
        ModelConfig config = ModelConfig.read(Fixtures.model("llava-clip-llama"));
        Path file = dir.resolve("preprocessor_config.json");
        Files.writeString(file, json.toString());
        ImageProcessor.read(dir, config.vision()); // the base is valid
        // spliced as text: NaN, Infinity and 1e999999999 are what a hostile file holds, not what Gson writes
        String text = json.toString().replaceFirst("\"" + field + "\":(\\{[^}]*\\}|\\[[^\\]]*\\]|[^,}]+)",
                java.util.regex.Matcher.quoteReplacement("\"" + field + "\":" + value));
        assertTrue(text.contains(value), text);
        Files.writeString(file, text);
        HeadlensException e = assertThrows(HeadlensException.class, () -> ImageProcessor.read(dir, config.vision()));
        assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("Exception") || e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void processorsBuiltInCodeAreCheckedToo() {
        double[] ones = {1, 1, 1};
        for (Runnable bad : new Runnable[] {
            () -> new ImageProcessor(32, 0, 0, 3, 32, 32, 1 / 255.0, ones, new double[] {1, 0, 1}),
            () -> new ImageProcessor(32, 0, 0, 3, 32, 32, Double.NaN, ones, ones),
            () -> new ImageProcessor(32, 0, 0, 1, 32, 32, 1 / 255.0, ones, ones),
            () -> new ImageProcessor(-32, 0, 0, 3, 32, 32, 1 / 255.0, ones, ones),
            () -> new ImageProcessor(32, 0, 0, 3, 32, 32, 1 / 255.0, new double[] {1, 1}, ones)}) {
            HeadlensException e = assertThrows(HeadlensException.class, bad::run);
            assertTrue(e.getMessage().startsWith("image processor: "), e.getMessage());
        }
    }

    @Test
    void anObjectMaskIsResizedAndCroppedLikeThePixels() {
        // CLIP at 336: a 640x320 image becomes 672x336, then the centre 336x336 (columns 168-503) is kept
        ImageProcessor clip = new ImageProcessor(336, 0, 0, 3, 336, 336, 1 / 255.0, new double[] {0, 0, 0}, new double[] {1, 1, 1});
        boolean[][] mask = new boolean[320][640];
        for (int y = 0; y < 320; y++) {
            for (int x = 0; x < 320; x++) {
                mask[y][x] = true; // the left half
            }
        }
        boolean[][] mapped = clip.mask(mask);
        assertEquals(336, mapped.length);
        assertEquals(336, mapped[0].length);
        int covered = 0;
        for (boolean[] row : mapped) {
            for (int x = 0; x < row.length; x++) {
                covered += row[x] ? 1 : 0;
                assertEquals(x < 168, row[x], "column " + x);
            }
        }
        assertEquals(168 * 336, covered);
    }
}
