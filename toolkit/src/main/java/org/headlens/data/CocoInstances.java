package org.headlens.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.awt.geom.Path2D;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.headlens.HeadlensException;
import org.headlens.Messages;
import org.headlens.model.JsonFiles;

/**
 * A COCO instances file ({@code instances_val2017.json}): the main object of an image is its
 * largest non-crowd instance, kept when it covers at least {@link Datasets.Options#minObjectShare}
 * of the image and is at least {@link Datasets.Options#minObjectRatio} times the area of the next
 * largest non-crowd instance; its category name is the answer and its segmentation the mask (its
 * box, for files without segmentations). Category ids need not be contiguous. Images without such
 * an object are skipped and counted.
 */
final class CocoInstances {
    /** instances_train2017.json, the largest file COCO ships, is 450 MB. */
    static final long MAX_BYTES = 1024L * 1024 * 1024;

    private CocoInstances() {
    }

    /** What was read: the rows, and how many images had no main object. */
    record Read(List<Datasets.Row> rows, int withoutObject) {
    }

    static Read read(Path file, Path images, double minShare, double minRatio) {
        JsonObject root = JsonFiles.readObject(file, MAX_BYTES);
        JsonArray imageList = array(root, "images", file);
        JsonArray annotations = array(root, "annotations", file);
        JsonArray categories = array(root, "categories", file);
        Map<Long, String> names = new HashMap<>();
        Map<Long, String> supercategories = new HashMap<>();
        for (int i = 0; i < categories.size(); i++) {
            JsonObject category = object(categories.get(i), file, "categories[" + i + "]");
            long id = integer(category, "id", file, "categories[" + i + "]");
            String name = text(category, "name", file, "categories[" + i + "]");
            if (names.put(id, name) != null) {
                throw new HeadlensException(file + ": categories[" + i + "] repeats the category id " + id);
            }
            if (category.has("supercategory") && category.get("supercategory").isJsonPrimitive()) {
                supercategories.put(id, category.get("supercategory").getAsString());
            }
        }
        Map<Long, List<JsonObject>> byImage = new HashMap<>();
        for (int i = 0; i < annotations.size(); i++) {
            JsonObject annotation = object(annotations.get(i), file, "annotations[" + i + "]");
            String where = "annotations[" + i + "]";
            long imageId = integer(annotation, "image_id", file, where);
            long category = integer(annotation, "category_id", file, where);
            if (!names.containsKey(category)) {
                throw new HeadlensException(file + ": " + where + " has the category_id " + category + ", which no category has");
            }
            annotation.addProperty("headlens_where", where);
            byImage.computeIfAbsent(imageId, k -> new ArrayList<>()).add(annotation);
        }
        Path imageRoot = images.toAbsolutePath().normalize();
        List<Datasets.Row> rows = new ArrayList<>();
        int withoutObject = 0;
        Map<Long, Integer> seenImages = new HashMap<>();
        for (int i = 0; i < imageList.size(); i++) {
            String where = "images[" + i + "]";
            JsonObject image = object(imageList.get(i), file, where);
            long id = integer(image, "id", file, where);
            if (seenImages.put(id, i) != null) {
                throw new HeadlensException(file + ": " + where + " repeats the image id " + id);
            }
            String name = text(image, "file_name", file, where);
            long width = integer(image, "width", file, where);
            long height = integer(image, "height", file, where);
            if (width <= 0 || height <= 0 || width > 65_535 || height > 65_535) {
                throw new HeadlensException(file + ": " + where + " has the size " + width + "x" + height + "; sides are 1 to 65535 pixels");
            }
            JsonObject main = mainObject(byImage.getOrDefault(id, List.of()), width * (double) height, minShare, minRatio, file);
            if (main == null) {
                withoutObject++;
                continue;
            }
            long category = main.get("category_id").getAsLong();
            Path imagePath = ShapesDataset.inside(imageRoot, name, file + ": " + where, "file_name");
            Map<String, String> labels = new LinkedHashMap<>();
            if (supercategories.containsKey(category)) {
                labels.put("supercategory", supercategories.get(category));
            }
            String annotationWhere = file + ": " + main.get("headlens_where").getAsString();
            CocoMask mask = CocoMask.of(segmentationOrBox(main, annotationWhere), (int) width, (int) height, annotationWhere);
            rows.add(new Datasets.Row(new Sample(Datasets.stem(name), imagePath, names.get(category), mask, labels), file + ": " + where));
        }
        return new Read(rows, withoutObject);
    }

    /** @return the image's main object, or null when it has none that qualifies */
    private static JsonObject mainObject(List<JsonObject> annotations, double imageArea, double minShare, double minRatio, Path file) {
        JsonObject largest = null;
        double largestArea = -1;
        double secondArea = 0;
        for (JsonObject annotation : annotations) {
            if (annotation.has("iscrowd") && annotation.get("iscrowd").isJsonPrimitive() && annotation.get("iscrowd").getAsInt() != 0) {
                continue;
            }
            double area = area(annotation, file);
            if (area > largestArea) {
                secondArea = Math.max(secondArea, largestArea);
                largest = annotation;
                largestArea = area;
            } else {
                secondArea = Math.max(secondArea, area);
            }
        }
        if (largest == null || largestArea < minShare * imageArea || largestArea < minRatio * secondArea) {
            return null;
        }
        return largest;
    }

    /** The annotation's {@code area} (COCO's mask area), or its box's when it has none. */
    private static double area(JsonObject annotation, Path file) {
        String where = annotation.get("headlens_where").getAsString();
        JsonElement area = annotation.get("area");
        double value;
        if (area != null && area.isJsonPrimitive() && area.getAsJsonPrimitive().isNumber()) {
            value = area.getAsDouble();
        } else if (annotation.has("bbox") && annotation.get("bbox").isJsonArray() && annotation.getAsJsonArray("bbox").size() == 4) {
            JsonArray box = annotation.getAsJsonArray("bbox");
            value = number(box.get(2), file + ": " + where + ".bbox") * number(box.get(3), file + ": " + where + ".bbox");
        } else {
            throw new HeadlensException(file + ": " + where + " has neither an area nor a bbox");
        }
        if (!Double.isFinite(value) || value < 0) {
            throw new HeadlensException(file + ": " + where + " has the area " + value + "; areas are finite and not negative");
        }
        return value;
    }

    private static JsonArray array(JsonObject root, String name, Path file) {
        JsonElement value = root.get(name);
        if (value == null || !value.isJsonArray()) {
            throw new HeadlensException(file + ": has no " + name + " list; a COCO instances file has images, annotations and categories");
        }
        return value.getAsJsonArray();
    }

    private static JsonObject object(JsonElement element, Path file, String where) {
        if (!element.isJsonObject()) {
            throw new HeadlensException(file + ": " + where + " is not an object");
        }
        return element.getAsJsonObject();
    }

    private static long integer(JsonObject object, String name, Path file, String where) {
        JsonElement value = object.get(name);
        double number = value == null ? Double.NaN : number(value, file + ": " + where + "." + name);
        if (number != Math.rint(number) || Math.abs(number) > 9.0e15) {
            throw new HeadlensException(file + ": " + where + " has no whole number " + name);
        }
        return (long) number;
    }

    static double number(JsonElement value, String where) {
        if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber()) {
            throw new HeadlensException(where + " is not a number");
        }
        double number = value.getAsDouble();
        if (!Double.isFinite(number)) {
            throw new HeadlensException(where + " is not a finite number");
        }
        return number;
    }

    private static String text(JsonObject object, String name, Path file, String where) {
        JsonElement value = object.get(name);
        if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString() || value.getAsString().isEmpty()) {
            throw new HeadlensException(file + ": " + where + " has no " + name + " text");
        }
        return value.getAsString();
    }

    /**
     * Detection-only files (boxes, no segmentation) are common; their box is the best object
     * region they give, so it becomes a one-rectangle polygon.
     */
    private static JsonElement segmentationOrBox(JsonObject annotation, String where) {
        JsonElement segmentation = annotation.get("segmentation");
        boolean absent = segmentation == null || segmentation.isJsonNull()
                || segmentation.isJsonArray() && segmentation.getAsJsonArray().isEmpty();
        if (!absent || !annotation.has("bbox") || !annotation.get("bbox").isJsonArray() || annotation.getAsJsonArray("bbox").size() != 4) {
            return segmentation;
        }
        JsonArray box = annotation.getAsJsonArray("bbox");
        double x = number(box.get(0), where + ".bbox");
        double y = number(box.get(1), where + ".bbox");
        double right = x + number(box.get(2), where + ".bbox");
        double bottom = y + number(box.get(3), where + ".bbox");
        JsonArray rectangle = new JsonArray();
        for (double value : new double[] {x, y, right, y, right, bottom, x, bottom}) {
            rectangle.add(value);
        }
        JsonArray polygons = new JsonArray();
        polygons.add(rectangle);
        return polygons;
    }

    /**
     * A COCO segmentation: polygons (pixel centres inside a polygon, even-odd rule, are object),
     * an uncompressed run-length encoding ({@code counts} as numbers) or COCO's compressed one
     * ({@code counts} as a string). Run lengths go down the columns, starting with background.
     *
     * @param polygons x, y pairs per polygon, or null
     * @param counts run lengths, or null
     * @param width the image's width
     * @param height the image's height
     * @param where the annotation, for errors
     */
    record CocoMask(double[][] polygons, long[] counts, int width, int height, String where) implements ObjectMask {
        static CocoMask of(JsonElement segmentation, int width, int height, String where) {
            if (segmentation == null) {
                throw new HeadlensException(where + " has no segmentation");
            }
            if (segmentation.isJsonArray()) {
                JsonArray list = segmentation.getAsJsonArray();
                double[][] polygons = new double[list.size()][];
                for (int p = 0; p < list.size(); p++) {
                    if (!list.get(p).isJsonArray() || list.get(p).getAsJsonArray().size() < 6 || list.get(p).getAsJsonArray().size() % 2 != 0) {
                        throw new HeadlensException(where + ": segmentation polygon " + p + " is not a list of at least 3 x, y pairs");
                    }
                    JsonArray points = list.get(p).getAsJsonArray();
                    polygons[p] = new double[points.size()];
                    for (int k = 0; k < points.size(); k++) {
                        polygons[p][k] = number(points.get(k), where + " segmentation");
                    }
                }
                if (polygons.length == 0) {
                    throw new HeadlensException(where + " has an empty segmentation");
                }
                return new CocoMask(polygons, null, width, height, where);
            }
            if (!segmentation.isJsonObject() || !segmentation.getAsJsonObject().has("counts") || !segmentation.getAsJsonObject().has("size")) {
                throw new HeadlensException(where + ": segmentation is neither polygons nor a run-length encoding with counts and size");
            }
            JsonObject rle = segmentation.getAsJsonObject();
            JsonElement size = rle.get("size");
            if (!size.isJsonArray() || size.getAsJsonArray().size() != 2
                    || number(size.getAsJsonArray().get(0), where) != height
                    || number(size.getAsJsonArray().get(1), where) != width) {
                throw new HeadlensException(where + ": segmentation size " + size + " is not the image's [height, width] [" + height + ", " + width + "]");
            }
            JsonElement counts = rle.get("counts");
            long[] runs;
            if (counts.isJsonPrimitive() && counts.getAsJsonPrimitive().isString()) {
                runs = decompress(counts.getAsString(), where);
            } else if (counts.isJsonArray()) {
                JsonArray list = counts.getAsJsonArray();
                runs = new long[list.size()];
                for (int k = 0; k < list.size(); k++) {
                    double run = number(list.get(k), where + " counts");
                    if (run < 0 || run != Math.rint(run)) {
                        throw new HeadlensException(where + ": run-length count " + k + " is " + run + "; counts are whole numbers, not negative");
                    }
                    runs[k] = (long) run;
                }
            } else {
                throw new HeadlensException(where + ": segmentation counts are neither a list of numbers nor a compressed string");
            }
            long total = 0;
            for (long run : runs) {
                if (run < 0) {
                    throw new HeadlensException(where + ": compressed counts decode to a negative run length");
                }
                total += run;
                if (total > (long) width * height) {
                    break;
                }
            }
            if (total != (long) width * height) {
                throw new HeadlensException(where + ": run lengths add up to " + total + " pixels but the image has " + width + "x" + height
                        + " = " + (long) width * height);
            }
            return new CocoMask(null, runs, width, height, where);
        }

        /**
         * COCO's compressed counts: each run length (from the third on, minus the run two before)
         * in 5-bit groups, least significant first, each group plus 48 as a character; 0x20 marks
         * that more groups follow, and 0x10 in the last group makes the number negative.
         */
        static long[] decompress(String text, String where) {
            List<Long> runs = new ArrayList<>();
            int p = 0;
            while (p < text.length()) {
                long value = 0;
                int shift = 0;
                boolean more = true;
                while (more) {
                    if (p >= text.length()) {
                        throw new HeadlensException(where + ": compressed counts end in the middle of a number");
                    }
                    int c = text.charAt(p) - 48;
                    if (c < 0 || c > 63 || shift > 55) {
                        throw new HeadlensException(where + ": compressed counts hold " + Messages.quote(String.valueOf(text.charAt(p)))
                                + " at " + p + ", not COCO's run-length characters");
                    }
                    value |= (long) (c & 0x1f) << shift;
                    more = (c & 0x20) != 0;
                    p++;
                    shift += 5;
                    if (!more && (c & 0x10) != 0) {
                        value |= -1L << shift;
                    }
                }
                if (runs.size() > 2) {
                    value += runs.get(runs.size() - 2);
                }
                runs.add(value);
            }
            return runs.stream().mapToLong(Long::longValue).toArray();
        }

        @Override
        public boolean[][] read(Path image, int imageWidth, int imageHeight) {
            if (imageWidth != width || imageHeight != height) {
                throw new HeadlensException(image + ": is " + imageWidth + "x" + imageHeight + " but " + where + " is for an image of "
                        + width + "x" + height);
            }
            boolean[][] mask = new boolean[height][width];
            if (counts != null) {
                long index = 0;
                for (int k = 0; k < counts.length; k++) {
                    if (k % 2 == 1) {
                        for (long i = index; i < index + counts[k]; i++) {
                            mask[(int) (i % height)][(int) (i / height)] = true;
                        }
                    }
                    index += counts[k];
                }
                return mask;
            }
            for (double[] polygon : polygons) {
                Path2D.Double path = new Path2D.Double(Path2D.WIND_EVEN_ODD);
                path.moveTo(polygon[0], polygon[1]);
                for (int k = 2; k < polygon.length; k += 2) {
                    path.lineTo(polygon[k], polygon[k + 1]);
                }
                path.closePath();
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        mask[y][x] |= path.contains(x + 0.5, y + 0.5);
                    }
                }
            }
            return mask;
        }
    }
}
