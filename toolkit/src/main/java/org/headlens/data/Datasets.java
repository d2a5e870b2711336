package org.headlens.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.headlens.HeadlensException;
import org.headlens.model.Images;
import org.headlens.results.ResultFolder;

/**
 * Reads samples from whichever layout a path has:
 * <ul>
 * <li>a COCO instances file ({@code *.json}; pictures in {@link Options#images}, default beside the file);
 * <li>a CSV manifest ({@code *.csv} or {@code *.tsv} with columns {@code image}, {@code answer},
 *     optional {@code mask} and {@code id}, other columns labels; paths relative to the CSV's folder);
 * <li>the tiny-shapes layout (a folder with {@code labels.csv}, or with {@code eval/labels.csv});
 * <li>a folder of class folders ({@code DIR/<answer>/<image>}).
 * </ul>
 * Every image is checked from its header before anything runs: a row whose image is missing,
 * unreadable or too large is refused naming the file and line, or with
 * {@link Options#skipBad} skipped and counted.
 *
 * <pre>{@code
 * Dataset data = Datasets.read(Path.of("instances_val2017.json"));
 * HeadAttribution.of(model).run(data.samples());
 * }</pre>
 */
public final class Datasets {
    /** Default least share of the image the main COCO object covers. */
    public static final double DEFAULT_MIN_OBJECT_SHARE = 0.1;
    /** Default least ratio of the main COCO object's area to the next largest instance's. */
    public static final double DEFAULT_MIN_OBJECT_RATIO = 2.0;

    private Datasets() {
    }

    /** A sample as read, with where it was read (file and line, or file and list index). */
    record Row(Sample sample, String where) {
    }

    /**
     * How to read a dataset.
     *
     * @param images folder of a COCO file's pictures, or null for the file's own folder
     * @param minObjectShare COCO: least share of the image the main object covers (0 to 1)
     * @param minObjectRatio COCO: least ratio of its area to the next largest non-crowd instance's (at least 1)
     * @param skipBad skip and count samples whose image is missing, unreadable or too large, instead of refusing the dataset
     */
    public record Options(Path images, double minObjectShare, double minObjectRatio, boolean skipBad) {
        /** Checks the ranges. */
        public Options {
            if (!(minObjectShare >= 0 && minObjectShare <= 1)) {
                throw new HeadlensException("the least object share must be from 0 to 1, not " + minObjectShare);
            }
            if (!(minObjectRatio >= 1 && Double.isFinite(minObjectRatio))) {
                throw new HeadlensException("the least object ratio must be a finite number of at least 1, not " + minObjectRatio);
            }
        }

        /** @return the defaults: pictures beside the file, share 0.1, ratio 2, bad images refused */
        public static Options defaults() {
            return new Options(null, DEFAULT_MIN_OBJECT_SHARE, DEFAULT_MIN_OBJECT_RATIO, false);
        }

        /** @return a copy reading COCO pictures from {@code folder} */
        public Options withImages(Path folder) {
            return new Options(folder, minObjectShare, minObjectRatio, skipBad);
        }

        /** @return a copy with the COCO main-object thresholds */
        public Options withMainObject(double share, double ratio) {
            return new Options(images, share, ratio, skipBad);
        }

        /** @return a copy that skips (true) or refuses (false) samples with a bad image */
        public Options withSkipBad(boolean skip) {
            return new Options(images, minObjectShare, minObjectRatio, skip);
        }
    }

    /**
     * A dataset as read.
     *
     * @param source the path read
     * @param layout {@code coco}, {@code csv}, {@code shapes} or {@code folders}
     * @param samples the samples, in the file's order
     * @param withoutObject COCO images skipped because no instance qualified as the main object
     * @param bad samples skipped for a bad image (with {@link Options#skipBad}), each as "where: what"
     */
    public record Dataset(Path source, String layout, List<Sample> samples, int withoutObject, List<String> bad) {
        /** @return one line: layout, samples, and what was skipped */
        public String summary() {
            return "data: " + layout + " " + source + " samples=" + samples.size()
                    + (layout.equals("coco") ? " skipped_without_main_object=" + withoutObject : "")
                    + " skipped_bad=" + bad.size();
        }
    }

    /**
     * @param path a COCO file, a CSV manifest, a tiny-shapes folder or a folder of class folders
     * @return the samples, with the defaults of {@link Options#defaults()}
     */
    public static Dataset read(Path path) {
        return read(path, Options.defaults());
    }

    /**
     * @param path a COCO file, a CSV manifest, a tiny-shapes folder or a folder of class folders
     * @param options how to read it
     * @return the samples
     * @throws HeadlensException if the layout is none of these, a row is malformed, ids repeat,
     *         or (unless skipped) an image is missing, unreadable or too large
     */
    public static Dataset read(Path path, Options options) {
        String layout;
        List<Row> rows;
        int withoutObject = 0;
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (Files.isRegularFile(path) && name.endsWith(".json")) {
            layout = "coco";
            CocoInstances.Read read = CocoInstances.read(path, options.images() != null ? options.images()
                    : path.toAbsolutePath().getParent(), options.minObjectShare(), options.minObjectRatio());
            rows = read.rows();
            withoutObject = read.withoutObject();
        } else if (Files.isRegularFile(path) && name.equals("labels.csv") && !CsvManifest.looksLikeManifest(path)) {
            layout = "shapes";
            rows = shapes(path.toAbsolutePath().getParent());
        } else if (Files.isRegularFile(path) && (name.endsWith(".csv") || name.endsWith(".tsv"))) {
            // a CSV that is not a manifest is refused by the manifest reader, naming the columns it lacks
            layout = "csv";
            rows = CsvManifest.read(path);
        } else if (Files.isDirectory(path) && (Files.isRegularFile(path.resolve("labels.csv")) || Files.isRegularFile(path.resolve("eval/labels.csv")))) {
            layout = "shapes";
            rows = shapes(path);
        } else if (Files.isDirectory(path) && ClassFolders.looksLikeClassFolders(path)) {
            layout = "folders";
            rows = ClassFolders.read(path);
        } else {
            throw new HeadlensException(path + ": " + (Files.exists(path) ? "is no dataset headlens reads" : "not found")
                    + "; give a COCO instances .json, a .csv or .tsv with columns image and answer, a folder with labels.csv (tiny shapes)"
                    + " or a folder of class folders (DIR/<answer>/<image>)");
        }
        if (options.images() != null && !layout.equals("coco")) {
            throw new HeadlensException(path + ": --images is for COCO files only; a " + layout + " dataset names its images itself");
        }
        // errors name the file the ids are in: the shapes layout's labels.csv rather than its folder
        String idSource = layout.equals("shapes") && Files.isDirectory(path) ? shapesLabels(path).toString() : path.toString();
        ResultFolder.checkSampleIds(rows.stream().map(r -> r.sample().id()).toList(), idSource);
        List<Sample> samples = new ArrayList<>();
        List<String> bad = new ArrayList<>();
        for (Row row : rows) {
            String problem = imageProblem(row.sample());
            if (problem == null) {
                samples.add(row.sample());
            } else if (options.skipBad()) {
                bad.add(row.where() + ": " + problem);
            } else {
                throw new HeadlensException(row.where() + ": " + problem + " (--skip-bad skips such samples and counts them)");
            }
        }
        if (samples.isEmpty()) {
            throw new HeadlensException(path + ": holds no usable samples" + (withoutObject > 0 ? " (" + withoutObject
                    + " images without a main object)" : "") + (bad.isEmpty() ? "" : " (" + bad.size() + " with a bad image)"));
        }
        return new Dataset(path, layout, List.copyOf(samples), withoutObject, List.copyOf(bad));
    }

    private static Path shapesLabels(Path folder) {
        return Files.isRegularFile(folder.resolve("labels.csv")) ? folder.resolve("labels.csv") : folder.resolve("eval/labels.csv");
    }

    private static List<Row> shapes(Path folder) {
        Path labels = shapesLabels(folder);
        List<Sample> samples = ShapesDataset.read(folder);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < samples.size(); i++) {
            // the header is line 1; a quoted line break would shift this, which only names the line
            rows.add(new Row(samples.get(i), labels + ": sample " + (i + 1) + " (id " + samples.get(i).id() + ")"));
        }
        return rows;
    }

    /** @return what is wrong with the sample's image or mask file (read from their headers only), or null */
    private static String imageProblem(Sample sample) {
        try {
            int[] size = Images.inputSize(sample.image());
            // a mask that cannot fit its image would stop a flow run mid-way; say so before it starts
            if (sample.mask() instanceof ObjectMask.MaskFile file) {
                int[] maskSize = Images.size(file.file());
                if (maskSize[0] != size[0] || maskSize[1] != size[1]) {
                    return file.file() + ": mask is " + maskSize[0] + "x" + maskSize[1] + " but its image is " + size[0] + "x" + size[1];
                }
            } else if (sample.mask() instanceof CocoInstances.CocoMask coco && (coco.width() != size[0] || coco.height() != size[1])) {
                return sample.image() + ": is " + size[0] + "x" + size[1] + " but the COCO file gives " + coco.width() + "x" + coco.height();
            }
            return null;
        } catch (HeadlensException e) {
            return e.getMessage();
        }
    }

    /** @return a file name without its folder and extension */
    static String stem(String path) {
        String name = path.replace('\\', '/');
        name = name.substring(name.lastIndexOf('/') + 1);
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
