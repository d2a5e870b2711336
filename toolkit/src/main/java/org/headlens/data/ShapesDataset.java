package org.headlens.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.headlens.HeadlensException;
import org.headlens.model.Images;

/**
 * A main-object dataset on disk: {@code labels.csv} with one row per sample
 * ({@code id,image,mask,shape,style,colour,background,x,y,width,height}), images and masks as PNG.
 */
public final class ShapesDataset {
    private static final String HEADER = "id,image,mask,shape,style,colour,background,x,y,width,height";

    /**
     * One labelled sample on disk.
     *
     * @param id identifier
     * @param image image file
     * @param mask object mask file (white = object), or null
     * @param shape class (the expected answer)
     * @param style appearance style
     * @param colour colour name
     * @param background background kind
     */
    public record Entry(String id, Path image, Path mask, String shape, String style, String colour, String background) {
        /** @return the mask as [row][column] booleans */
        public boolean[][] readMask() {
            if (mask == null) {
                throw new HeadlensException("sample " + id + " has no object mask");
            }
            BufferedImage m = Images.read(mask);
            boolean[][] out = new boolean[m.getHeight()][m.getWidth()];
            for (int y = 0; y < m.getHeight(); y++) {
                for (int x = 0; x < m.getWidth(); x++) {
                    out[y][x] = (m.getRGB(x, y) & 0xff) > 127;
                }
            }
            return out;
        }
    }

    private ShapesDataset() {
    }

    /**
     * Writes samples as PNG files and {@code labels.csv}.
     *
     * @param folder destination
     * @param samples the samples
     */
    public static void write(Path folder, List<ShapeSample> samples) {
        try {
            Files.createDirectories(folder.resolve("images"));
            Files.createDirectories(folder.resolve("masks"));
            StringBuilder csv = new StringBuilder(HEADER).append('\n');
            for (ShapeSample s : samples) {
                String image = "images/" + s.id() + ".png";
                String mask = "masks/" + s.id() + ".png";
                ImageIO.write(s.image(), "png", folder.resolve(image).toFile());
                BufferedImage m = new BufferedImage(s.mask()[0].length, s.mask().length, BufferedImage.TYPE_BYTE_BINARY);
                for (int y = 0; y < s.mask().length; y++) {
                    for (int x = 0; x < s.mask()[0].length; x++) {
                        m.setRGB(x, y, s.mask()[y][x] ? 0xffffff : 0);
                    }
                }
                ImageIO.write(m, "png", folder.resolve(mask).toFile());
                csv.append(String.join(",", s.id(), image, mask, s.shape(), s.style(), s.colour(), s.background(),
                        String.valueOf(s.box()[0]), String.valueOf(s.box()[1]), String.valueOf(s.box()[2]), String.valueOf(s.box()[3])))
                        .append('\n');
            }
            Files.writeString(folder.resolve("labels.csv"), csv);
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot write dataset (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Reads {@code labels.csv} of a dataset folder (the folder itself, or its {@code eval/}).
     *
     * @param folder dataset folder
     * @return the entries in file order
     */
    public static List<Entry> read(Path folder) {
        Path labels = folder.resolve("labels.csv");
        if (!Files.isRegularFile(labels) && Files.isRegularFile(folder.resolve("eval/labels.csv"))) {
            return read(folder.resolve("eval"));
        }
        if (!Files.isRegularFile(labels)) {
            throw new HeadlensException(labels + ": not found; a dataset folder holds labels.csv (" + HEADER + ")");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(labels);
        } catch (IOException e) {
            throw new HeadlensException(labels + ": cannot read (" + e.getMessage() + ")", e);
        }
        if (lines.isEmpty() || !lines.get(0).startsWith("id,image,mask,shape")) {
            throw new HeadlensException(labels + ": first line must be the header " + HEADER);
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split(",", -1);
            if (f.length < 7) {
                throw new HeadlensException(labels + ": line " + (i + 1) + " has " + f.length + " fields, expected at least 7");
            }
            Path image = folder.resolve(f[1]).normalize();
            if (!image.startsWith(folder.normalize())) {
                throw new HeadlensException(labels + ": line " + (i + 1) + " points outside the dataset folder: " + f[1]);
            }
            entries.add(new Entry(f[0], image, f[2].isEmpty() ? null : folder.resolve(f[2]).normalize(), f[3], f[4], f[5], f[6]));
        }
        return entries;
    }
}
