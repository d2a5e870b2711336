package org.headlens.data;

import com.univocity.parsers.common.TextParsingException;
import com.univocity.parsers.csv.CsvParser;
import com.univocity.parsers.csv.CsvParserSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.headlens.HeadlensException;
import org.headlens.Messages;

/**
 * A CSV manifest: columns {@code image} and {@code answer}, optionally {@code mask} (a mask image,
 * white on the object) and {@code id} (else the image's file name without its extension); every other
 * column is a label. Fields are separated by commas, semicolons, tabs or bars: the first of these
 * with which the header names {@code image} and {@code answer} (in any case). Paths are relative to
 * the CSV's folder and may not leave it. Read with the same parser and checks as the shapes
 * dataset's {@code labels.csv}.
 */
final class CsvManifest {
    /** Field separators tried in turn: spreadsheets write ';' where ',' is the decimal mark, and .tsv files tabs. */
    private static final char[] DELIMITERS = {',', ';', '\t', '|'};

    private CsvManifest() {
    }

    /** @return whether the file's header has the manifest's columns */
    static boolean looksLikeManifest(Path file) {
        return delimiter(file) != 0;
    }

    /**
     * @return the first separator with which the first line names the columns image and answer
     *         (in any case), or 0 when none does or the file cannot be read
     */
    private static char delimiter(Path file) {
        for (char delimiter : DELIMITERS) {
            List<String> names = lowerCase(header(file, delimiter));
            if (names.contains("image") && names.contains("answer")) {
                return delimiter;
            }
        }
        return 0;
    }

    private static CsvParser parser(char delimiter) {
        CsvParserSettings settings = ShapesDataset.csvSettings();
        settings.getFormat().setDelimiter(delimiter);
        return new CsvParser(settings);
    }

    private static String[] header(Path file, char delimiter) {
        CsvParser parser = parser(delimiter);
        try (InputStream in = Files.newInputStream(file)) {
            parser.beginParsing(in, charset(file));
            return parser.parseNext();
        } catch (IOException | RuntimeException e) {
            return null;
        } finally {
            parser.stopParsing();
        }
    }

    /**
     * Excel's "Unicode text" is UTF-16 with a byte-order mark; everything else is read as UTF-8
     * (whose mark the parser skips).
     */
    private static Charset charset(Path file) throws IOException {
        byte[] start = new byte[2];
        try (InputStream in = Files.newInputStream(file)) {
            int read = in.readNBytes(start, 0, 2);
            boolean utf16 = read == 2
                    && (start[0] == (byte) 0xFE && start[1] == (byte) 0xFF || start[0] == (byte) 0xFF && start[1] == (byte) 0xFE);
            return utf16 ? StandardCharsets.UTF_16 : StandardCharsets.UTF_8;
        }
    }

    private static List<String> lowerCase(String[] header) {
        return header == null ? List.of() : Arrays.stream(header).map(name -> name.toLowerCase(Locale.ROOT)).toList();
    }

    static List<Datasets.Row> read(Path csv) {
        Path root = csv.toAbsolutePath().getParent().normalize();
        char delimiter = delimiter(csv);
        CsvParser parser = parser(delimiter == 0 ? ',' : delimiter);
        List<Datasets.Row> rows = new ArrayList<>();
        try (InputStream in = Files.newInputStream(csv)) {
            parser.beginParsing(in, charset(csv));
            String[] header = parser.parseNext();
            if (delimiter == 0) {
                throw new HeadlensException(csv + ": first line must be a header with the columns image and answer (optional: id, mask, "
                        + "labels), separated by commas, semicolons, tabs or bars" + (header == null ? "" : ", not "
                        + Messages.quote(String.join(",", header))));
            }
            // the method's columns are found in any case ("Image"); labels keep the names as written
            List<String> names = lowerCase(header);
            Set<String> seen = new HashSet<>();
            for (String name : names) {
                if (name.isEmpty() || !seen.add(name)) {
                    throw new HeadlensException(csv + ": line 1: " + (name.isEmpty() ? "a column has no name" : "the column "
                            + Messages.quote(name) + " is named twice") + "; every column needs its own name");
                }
            }
            int image = names.indexOf("image");
            int answer = names.indexOf("answer");
            int mask = names.indexOf("mask");
            int id = names.indexOf("id");
            String[] f;
            while ((f = parser.parseNext()) != null) {
                long line = parser.getContext().currentLine();
                String where = csv + ": line " + line;
                if (f.length == 1 && f[0].isEmpty()) {
                    continue; // a blank line, as spreadsheets leave at the end
                }
                if (f.length != header.length) {
                    throw new HeadlensException(where + " has " + f.length + " fields but the header has " + header.length
                            + " (a field with a " + (delimiter == '\t' ? "tab" : "'" + delimiter + "'") + " in it must be quoted)");
                }
                if (f[image].isEmpty() || f[answer].isEmpty()) {
                    throw new HeadlensException(where + " has an empty " + (f[image].isEmpty() ? "image" : "answer"));
                }
                Path imagePath = ShapesDataset.inside(root, f[image], where, "image");
                Path maskPath = mask < 0 || f[mask].isEmpty() ? null : ShapesDataset.inside(root, f[mask], where, "mask");
                String sampleId = id >= 0 && !f[id].isEmpty() ? f[id] : Datasets.stem(f[image]);
                Map<String, String> labels = new LinkedHashMap<>();
                for (int c = 0; c < f.length; c++) {
                    if (c != image && c != answer && c != mask && c != id) {
                        labels.put(header[c], f[c]);
                    }
                }
                rows.add(new Datasets.Row(new Sample(sampleId, imagePath, f[answer], maskPath == null ? null : ObjectMask.file(maskPath), labels),
                        where));
            }
        } catch (TextParsingException e) {
            if (e.getCause() instanceof IOException io) {
                throw new HeadlensException(csv + ": cannot read (" + io.getMessage() + ")", e);
            }
            throw new HeadlensException(csv + ": line " + (e.getLineIndex() + 1) + " cannot be read as CSV (a field longer than "
                    + ShapesDataset.MAX_FIELD + " characters, or more than " + ShapesDataset.MAX_COLUMNS + " fields)", e);
        } catch (IOException | UncheckedIOException e) {
            throw new HeadlensException(csv + ": cannot read (" + e.getMessage() + ")", e);
        } finally {
            parser.stopParsing();
        }
        return rows;
    }
}
