package org.headlens.data;

import java.awt.image.BufferedImage;
import com.univocity.parsers.common.TextParsingException;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import com.univocity.parsers.csv.CsvWriter;
import com.univocity.parsers.csv.CsvWriterSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.headlens.HeadlensException;
import org.headlens.Messages;

/**
 * A main-object dataset on disk: {@code labels.csv} with one row per sample
 * ({@code id,image,mask,shape,style,colour,background,x,y,width,height}), images and masks as PNG.
 *
 * <p>The CSV is read and written with univocity-parsers, the parser Tablesaw already brings onto
 * the class path: quoted fields (with commas, quotes or line breaks) and a UTF-8 byte-order mark
 * are handled as spreadsheets and pandas write them.
 */
public final class ShapesDataset {
    private static final String HEADER = "id,image,mask,shape,style,colour,background,x,y,width,height";
    /** The columns read, in this order at the start of the header; more may follow. */
    private static final List<String> REQUIRED = List.of("id", "image", "mask", "shape", "style", "colour", "background");
    /** Bounds for the parser: a path is at most 4096 characters on Linux, and rows are short. */
    static final int MAX_FIELD = 4096;
    static final int MAX_COLUMNS = 64;

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
            StringWriter csv = new StringWriter();
            CsvWriterSettings settings = new CsvWriterSettings();
            settings.getFormat().setLineSeparator("\n");
            CsvWriter writer = new CsvWriter(csv, settings);
            writer.writeRow((Object[]) HEADER.split(","));
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
                writer.writeRow(s.id(), image, mask, s.shape(), s.style(), s.colour(), s.background(),
                        s.box()[0], s.box()[1], s.box()[2], s.box()[3]);
            }
            writer.close();
            Files.writeString(folder.resolve("labels.csv"), csv.toString());
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot write dataset (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Reads {@code labels.csv} of a dataset folder (the folder itself, or its {@code eval/}).
     * Image and mask paths are relative to the folder and may not leave it.
     *
     * @param folder dataset folder
     * @return the samples in file order: the answer is the shape, the labels {@code shape},
     *         {@code style}, {@code colour} and {@code background}
     * @throws HeadlensException naming the file and line of a malformed row or a path that
     *         leaves the folder, before any image is opened
     */
    public static List<Sample> read(Path folder) {
        Path labels = folder.resolve("labels.csv");
        if (!Files.isRegularFile(labels) && Files.isRegularFile(folder.resolve("eval/labels.csv"))) {
            return read(folder.resolve("eval"));
        }
        if (!Files.isRegularFile(labels)) {
            throw new HeadlensException(labels + ": not found; a dataset folder holds labels.csv (" + HEADER + ")");
        }
        CsvParser parser = new CsvParser(csvSettings());
        List<Sample> entries = new ArrayList<>();
        Map<String, Long> lineOfId = new HashMap<>();
        // univocity skips a UTF-8 byte-order mark (spreadsheets write one), as the tests check
        try (InputStream in = Files.newInputStream(labels)) {
            parser.beginParsing(in, StandardCharsets.UTF_8);
            String[] header = parser.parseNext();
            if (header == null || header.length < REQUIRED.size()
                    || !Arrays.asList(header).subList(0, REQUIRED.size()).equals(REQUIRED)) {
                throw new HeadlensException(labels + ": first line must be the header " + HEADER
                        + (header == null ? "" : ", not " + Messages.quote(String.join(",", header))));
            }
            Path root = folder.normalize();
            String[] f;
            while ((f = parser.parseNext()) != null) {
                String where = labels + ": line " + parser.getContext().currentLine();
                if (f.length != header.length) {
                    throw new HeadlensException(where + " has " + f.length + " fields but the header has " + header.length
                            + " (a field with a comma must be quoted)");
                }
                if (f[0].isEmpty() || f[1].isEmpty()) {
                    throw new HeadlensException(where + " has an empty " + (f[0].isEmpty() ? "id" : "image"));
                }
                // result files are named by id, so two samples with one id would share one file
                Long earlier = lineOfId.putIfAbsent(f[0], parser.getContext().currentLine());
                if (earlier != null) {
                    throw new HeadlensException(where + " repeats the id " + Messages.quote(f[0]) + " of line " + earlier
                            + "; ids must be unique");
                }
                Path image = inside(root, f[1], where, "image");
                Path mask = f[2].isEmpty() ? null : inside(root, f[2], where, "mask");
                Map<String, String> sampleLabels = new LinkedHashMap<>();
                sampleLabels.put("shape", f[3]);
                sampleLabels.put("style", f[4]);
                sampleLabels.put("colour", f[5]);
                sampleLabels.put("background", f[6]);
                entries.add(new Sample(f[0], image, f[3], mask == null ? null : ObjectMask.file(mask), sampleLabels));
            }
        } catch (TextParsingException e) {
            if (e.getCause() instanceof IOException io) {
                throw new HeadlensException(labels + ": cannot read (" + io.getMessage() + ")", e);
            }
            throw new HeadlensException(labels + ": line " + (e.getLineIndex() + 1) + " cannot be read as CSV (a field longer than "
                    + MAX_FIELD + " characters, or more than " + MAX_COLUMNS + " fields)", e);
        } catch (IOException | UncheckedIOException e) {
            throw new HeadlensException(labels + ": cannot read (" + e.getMessage() + ")", e);
        } finally {
            parser.stopParsing();
        }
        return entries;
    }

    /** @return parser settings for dataset CSV files: bounded fields and columns, no comment character */
    static CsvParserSettings csvSettings() {
        CsvParserSettings settings = new CsvParserSettings();
        settings.setMaxCharsPerColumn(MAX_FIELD);
        settings.setMaxColumns(MAX_COLUMNS);
        settings.setNullValue("");
        settings.setEmptyValue("");
        // '#' starts a comment by default; an id may start with it
        settings.getFormat().setComment('\0');
        settings.setLineSeparatorDetectionEnabled(true);
        settings.setReadInputOnSeparateThread(false);
        settings.setErrorContentLength(0);
        return settings;
    }

    /**
     * Resolves an image or mask column against the dataset folder, refusing before anything is
     * opened a path that is absolute, not a path at all, or leads out of the folder.
     */
    static Path inside(Path root, String value, String where, String column) {
        Path resolved;
        try {
            Path given = Path.of(value);
            if (given.isAbsolute()) {
                throw new HeadlensException(where + ": the " + column + " path " + Messages.quote(value)
                        + " is absolute; paths are relative to the dataset folder");
            }
            resolved = root.resolve(given).normalize();
        } catch (InvalidPathException e) {
            throw new HeadlensException(where + ": the " + column + " path " + Messages.quote(value) + " is not a valid path", e);
        }
        if (!resolved.startsWith(root)) {
            throw new HeadlensException(where + ": the " + column + " path " + Messages.quote(value) + " points outside the dataset folder");
        }
        return resolved;
    }
}
