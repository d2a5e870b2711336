package org.headlens.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Unusual and hostile image files: handled correctly or refused with a message naming the file. */
class ImagesTest {
    private static final ImageProcessor PROCESSOR = new ImageProcessor(64, 0, 0, 3, 64, 64, 1 / 255.0, new double[] {0, 0, 0},
            new double[] {1, 1, 1});

    private static float[] pixels(Path file) {
        try (NDManager manager = NDManager.newBaseManager()) {
            return PROCESSOR.pixelValues(manager, file).toFloatArray();
        }
    }

    @Test
    void greyRgbaSixteenBitAndTinyImagesBecomeTheSameRgbPixels(@TempDir Path dir) throws Exception {
        BufferedImage rgb = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        var g = rgb.createGraphics();
        g.setColor(new Color(120, 120, 120));
        g.fillRect(0, 0, 64, 64);
        g.dispose();
        Path reference = dir.resolve("rgb.png");
        ImageIO.write(rgb, "png", reference.toFile());

        BufferedImage grey = new BufferedImage(64, 64, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage rgba = new BufferedImage(64, 64, BufferedImage.TYPE_INT_ARGB);
        // 16-bit colour: PIL keeps the high byte (120), where scaling would round 30975 * 255 / 65535 up to 121
        var colour16Model = new java.awt.image.ComponentColorModel(java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB),
                false, false, java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_USHORT);
        BufferedImage rgb16 = new BufferedImage(colour16Model, colour16Model.createCompatibleWritableRaster(64, 64), false, null);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                grey.getRaster().setSample(x, y, 0, 120);
                rgba.setRGB(x, y, 0x80787878); // half transparent: alpha is dropped, as PIL's convert("RGB") does
                for (int c = 0; c < 3; c++) {
                    rgb16.getRaster().setSample(x, y, c, 120 * 256 + 255);
                }
            }
        }
        float[] expected = pixels(reference);
        for (var entry : java.util.Map.of("grey.png", grey, "rgb16.png", rgb16, "rgba.png", rgba).entrySet()) {
            Path file = dir.resolve(entry.getKey());
            ImageIO.write(entry.getValue(), "png", file.toFile());
            float[] actual = pixels(file);
            float worst = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            }
            assertTrue(worst < 0.5f / 255, entry.getKey() + " differs by " + worst * 255 + " levels");
        }
        // a 1x1 image is resized up to the model's input
        BufferedImage dot = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        dot.setRGB(0, 0, 0x787878);
        Path tiny = dir.resolve("tiny.png");
        ImageIO.write(dot, "png", tiny.toFile());
        assertEquals(3 * 64 * 64, pixels(tiny).length);
        assertEquals(120 / 255.0, pixels(tiny)[0], 1e-3);
    }

    /**
     * PIL opens a 16-bit grey PNG as 32-bit integers and its convert("RGB") clips them, so
     * transformers sees a mid-grey 16-bit image as white: such an image is refused as a model
     * input, naming the file, and still read as a mask (white is 65535 there as anywhere).
     */
    @Test
    void sixteenBitGreyIsRefusedAsAnInputAndReadAsAMask(@TempDir Path dir) throws Exception {
        BufferedImage grey16 = new BufferedImage(64, 64, BufferedImage.TYPE_USHORT_GRAY);
        grey16.getRaster().setSample(3, 4, 0, 65535);
        Path file = dir.resolve("grey16.png");
        ImageIO.write(grey16, "png", file.toFile());
        String expected = file + ": is a grey image of more than 8 bits per pixel, which transformers' image processors";
        for (org.junit.jupiter.api.function.Executable use : java.util.List.<org.junit.jupiter.api.function.Executable>of(
                () -> Images.inputSize(file), () -> pixels(file))) {
            HeadlensException e = assertThrows(HeadlensException.class, use);
            assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        }
        // the other families read the file through Lvlm.preprocess
        try (Lvlm qwen = Lvlm.load(org.headlens.Fixtures.model("qwen2-vl")); NDManager manager = qwen.newScope()) {
            HeadlensException e = assertThrows(HeadlensException.class, () -> qwen.preprocess(manager, file));
            assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        }
        HeadlensException e = assertThrows(HeadlensException.class, () -> {
            try (NDManager manager = NDManager.newBaseManager()) {
                PROCESSOR.pixelValues(manager, grey16);
            }
        });
        assertTrue(e.getMessage().startsWith("the image is a grey image of more than 8 bits"), e.getMessage());
        assertArrayEquals(new int[] {64, 64}, Images.size(file));
        boolean[][] mask = org.headlens.data.ObjectMask.file(file).read(file, 64, 64);
        int set = 0;
        for (boolean[] row : mask) {
            for (boolean pixel : row) {
                set += pixel ? 1 : 0;
            }
        }
        assertTrue(mask[4][3]);
        assertEquals(1, set);
    }

    /** CMYK TIFF and (Adobe, inverted) CMYK JPEG files written by PIL, against PIL's own convert("RGB"). */
    @Test
    void cmykImagesMatchPillowsConversion() throws Exception {
        for (String name : new String[] {"cmyk.tif", "cmyk.jpg"}) {
            Path file = Path.of(ImagesTest.class.getResource("/images/" + name).toURI());
            Path reference = file.resolveSibling(name.replace('.', '-') + "-pil-rgb.png");
            float[] expected = pixels(reference);
            float[] actual = pixels(file);
            float worst = 0;
            for (int i = 0; i < expected.length; i++) {
                worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
            }
            // the JPEG is decoded by two libjpeg builds, whose inverse DCTs may differ by a level
            assertTrue(worst <= 1.5f / 255, name + " differs from PIL by " + worst * 255 + " levels");
        }
    }

    @Test
    void hugeTruncatedCorruptAndFakeImagesAreRefusedByName(@TempDir Path dir) throws Exception {
        // a PNG header announcing 20000 x 20000 pixels (1.6 GB decoded), refused before any pixel is read
        Path huge = dir.resolve("huge.png");
        Files.write(huge, pngHeader(20000, 20000));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Images.read(huge));
        assertTrue(e.getMessage().startsWith(huge.toString()) && e.getMessage().contains("20000x20000"), e.getMessage());

        BufferedImage image = new BufferedImage(200, 200, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        Path truncated = dir.resolve("truncated.png");
        Files.write(truncated, Arrays.copyOf(bytes.toByteArray(), bytes.size() / 2));
        e = assertThrows(HeadlensException.class, () -> Images.read(truncated));
        assertTrue(e.getMessage().startsWith(truncated.toString()), e.getMessage());

        Path text = dir.resolve("notes.jpg");
        Files.writeString(text, "this is not a picture");
        e = assertThrows(HeadlensException.class, () -> Images.read(text));
        assertTrue(e.getMessage().startsWith(text.toString()) && e.getMessage().contains("not an image"), e.getMessage());

        Path empty = dir.resolve("empty.png");
        Files.write(empty, new byte[0]);
        assertThrows(HeadlensException.class, () -> Images.read(empty));
        assertThrows(HeadlensException.class, () -> Images.read(dir.resolve("missing.png")));
    }

    /**
     * Sizes are refused from the header alone, by total pixels and by each side: a header-only
     * file of a few dozen bytes must give a message, never an attempt to decode or allocate.
     */
    @Test
    void oversizedHeadersAreRefusedBeforeDecoding(@TempDir Path dir) throws Exception {
        int[][] sizes = {{40_000_000, 1}, {1, 40_000_000}, {Images.MAX_SIDE + 1, 10}, {7000, 7000}, {Integer.MAX_VALUE, Integer.MAX_VALUE}};
        for (int[] size : sizes) {
            Path file = dir.resolve(size[0] + "x" + size[1] + ".png");
            Files.write(file, pngHeader(size[0], size[1]));
            for (var read : java.util.List.<java.util.function.Function<Path, ?>>of(Images::read, Images::size, ImagesTest::pixels)) {
                HeadlensException e = assertThrows(HeadlensException.class, () -> read.apply(file));
                assertTrue(e.getMessage().startsWith(file + ": image is " + size[0] + "x" + size[1] + ", "), e.getMessage());
                assertTrue(e.getMessage().contains(size[0] > Images.MAX_SIDE || size[1] > Images.MAX_SIDE
                        ? "a side longer than " + Images.MAX_SIDE : "more than " + ImageProcessor.MAX_PIXELS + " pixels"), e.getMessage());
            }
        }
        // a header under both caps passes them, and the file is refused only for ending early
        Path small = dir.resolve("small.png");
        Files.write(small, pngHeader(300, 200));
        HeadlensException e = assertThrows(HeadlensException.class, () -> Images.read(small));
        assertTrue(e.getMessage().startsWith(small + ": cannot decode image"), e.getMessage());
        assertArrayEquals(new int[] {300, 200}, Images.size(writeImage(dir.resolve("whole.png"), 300, 200)));
    }

    /**
     * An image within the caps whose preprocessing would not be: resizing a 20000 x 1 image to a
     * shortest edge of 64 makes it 1,280,000 x 64. Refused from the sizes, before any resizing.
     */
    @Test
    void preprocessingThatWouldExceedThePixelCapIsRefusedFromTheSizes(@TempDir Path dir) throws Exception {
        BufferedImage line = new BufferedImage(20_000, 1, BufferedImage.TYPE_INT_RGB);
        Path file = dir.resolve("line.png");
        ImageIO.write(line, "png", file.toFile());
        HeadlensException e = assertThrows(HeadlensException.class, () -> pixels(file));
        assertTrue(e.getMessage().startsWith(file + ": image of 20000x1 pixels would be resized to 1280000x64"), e.getMessage());
        try (NDManager manager = NDManager.newBaseManager()) {
            e = assertThrows(HeadlensException.class, () -> PROCESSOR.pixelValues(manager, line));
            assertTrue(e.getMessage().contains("more than " + ImageProcessor.MAX_PIXELS), e.getMessage());
        }
        boolean[][] mask = new boolean[1][20_000];
        e = assertThrows(HeadlensException.class, () -> PROCESSOR.mask(mask));
        assertTrue(e.getMessage().startsWith("object mask of 20000x1 pixels"), e.getMessage());
        // an ordinary wide image is fine: 640x80 becomes 512x64, cropped to 64x64
        assertEquals(3 * 64 * 64, pixels(writeImage(dir.resolve("wide.png"), 640, 80)).length);
    }

    private static Path writeImage(Path file, int width, int height) throws Exception {
        ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB), "png", file.toFile());
        return file;
    }

    /** The PNG signature and an IHDR chunk (8-bit RGB) with a correct CRC, and nothing else. */
    private static byte[] pngHeader(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes()).putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer file = ByteBuffer.allocate(8 + 4 + 17 + 4);
        file.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}).putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return file.array();
    }
}
