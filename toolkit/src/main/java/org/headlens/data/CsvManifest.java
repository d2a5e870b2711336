package org.headlens.data;

import com.univocity.parsers.common.TextParsingException;
import com.univocity.parsers.csv.CsvParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.headlens.HeadlensException;
import org.headlens.Messages;

/**
 * A CSV manifest: columns {@code image} and {@code answer}, optionally {@code mask} (a mask image,
 * white on the object) and {@code id} (else the image's file name without its extension); every other
 * column is a label. Paths are relative to the CSV's folder and may not leave it. Read with the
 * same parser and checks as the shapes dataset's {@code labels.csv}.
 */
final class CsvManifest {
    private CsvManifest() {
    }

    /** @return whether the file's header has the manifest's columns */
    static boolean looksLikeManifest(Path file) {
        List<String> header = header(file);
        return header.contains("image") && header.contains("answer");
    }

    /** @return the first line's fields, or an empty list when it cannot be read */
    static List<String> header(Path file) {
        CsvParser parser = new CsvParser(ShapesDataset.csvSettings());
        try (InputStream in = Files.newInputStream(file)) {
            parser.beginParsing(in, StandardCharsets.UTF_8);
            String[] header = parser.parseNext();
            return header == null ? List.of() : List.of(header);
        } catch (IOException | RuntimeException e) {
            return List.of();
        } finally {
            parser.stopParsing();
        }
    }

    static List<Datasets.Row> read(Path csv) {
        Path root = csv.toAbsolutePath().getParent().normalize();
        CsvParser parser = new CsvParser(ShapesDataset.csvSettings());
        List<Datasets.Row> rows = new ArrayList<>();
        try (InputStream in = Files.newInputStream(csv)) {
            parser.beginParsing(in, StandardCharsets.UTF_8);
            String[] header = parser.parseNext();
            List<String> names = header == null ? List.of() : List.of(header);
            if (!names.contains("image") || !names.contains("answer")) {
                throw new HeadlensException(csv + ": first line must be a header with the columns image and answer (optional: id, mask, "
                        + "labels)" + (header == null ? "" : ", not " + Messages.quote(String.join(",", header))));
            }
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
                            + " (a field with a comma must be quoted)");
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
                        labels.put(names.get(c), f[c]);
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
