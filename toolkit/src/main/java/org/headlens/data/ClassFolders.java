package org.headlens.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.headlens.HeadlensException;

/**
 * A folder of class folders, {@code DIR/<answer>/<image>}, read as torchvision's
 * {@code ImageFolder} reads it: the top folder's name is the expected answer, and images in
 * folders below it count too ({@code DIR/cat/2019/001.jpg}). Folders whose name starts with a dot
 * ({@code .ipynb_checkpoints}, which Jupyter leaves) are not read. There are no masks and no other
 * labels. Ids are the images' file names without their extension; when two files share a name,
 * every id is the class and the path below it instead ({@code cat-2019-001}).
 */
final class ClassFolders {
    /**
     * File name endings taken as images; anything else (notes, {@code .DS_Store}) is ignored.
     * WebP, HEIC and AVIF are images Java cannot decode: they are taken so that the image check
     * names them (or {@code --skip-bad} counts them) instead of their samples silently missing.
     */
    static final Set<String> IMAGE_ENDINGS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp", "heic", "heif", "avif");

    private ClassFolders() {
    }

    /** @return whether the folder has a subfolder holding at least one image */
    static boolean looksLikeClassFolders(Path folder) {
        try {
            for (Path sub : list(folder)) {
                if (Files.isDirectory(sub) && !hidden(sub) && !images(sub).isEmpty()) {
                    return true;
                }
            }
            return false;
        } catch (HeadlensException e) {
            return false;
        }
    }

    static boolean isImage(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return !hidden(file) && dot > 0 && IMAGE_ENDINGS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT))
                && Files.isRegularFile(file);
    }

    static List<Datasets.Row> read(Path folder) {
        Path root = realPath(folder);
        List<Path[]> found = new ArrayList<>();
        for (Path sub : list(folder)) {
            if (!Files.isDirectory(sub) || hidden(sub)) {
                continue;
            }
            for (Path file : images(sub)) {
                // a link to a file elsewhere would let a dataset read outside itself
                if (!realPath(file).startsWith(root)) {
                    throw new HeadlensException(file + ": points outside the dataset folder " + folder);
                }
                found.add(new Path[] {sub, file});
            }
        }
        if (found.isEmpty()) {
            throw new HeadlensException(folder + ": holds no class folders with images (DIR/<answer>/<image>.png|jpg|jpeg|bmp|gif|tif)");
        }
        Set<String> stems = new HashSet<>();
        boolean withPath = false;
        for (Path[] f : found) {
            withPath |= !stems.add(Datasets.stem(f[1].getFileName().toString()).toLowerCase(Locale.ROOT));
        }
        List<Datasets.Row> rows = new ArrayList<>();
        for (Path[] f : found) {
            String answer = f[0].getFileName().toString();
            String below = Datasets.stem(f[0].relativize(f[1]).toString().replace(f[1].getFileSystem().getSeparator(), "-"));
            String id = withPath ? answer + "-" + below : Datasets.stem(f[1].getFileName().toString());
            rows.add(new Datasets.Row(Sample.of(id, f[1], answer), f[1].toString()));
        }
        return rows;
    }

    /** @return the images in a class folder and the folders below it, sorted by path, hidden folders left out */
    private static List<Path> images(Path classFolder) {
        List<Path> images = new ArrayList<>();
        for (Path entry : list(classFolder)) {
            if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) && !hidden(entry)) {
                images.addAll(images(entry));
            } else if (isImage(entry)) {
                images.add(entry);
            }
        }
        return images;
    }

    private static boolean hidden(Path path) {
        return path.getFileName().toString().startsWith(".");
    }

    /** @return the folder's entries sorted by name, so every machine reads the same order */
    private static List<Path> list(Path folder) {
        try (Stream<Path> entries = Files.list(folder)) {
            return entries.sorted().toList();
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot list (" + e.getMessage() + ")", e);
        }
    }

    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            throw new HeadlensException(path + ": cannot read (" + e.getMessage() + ")", e);
        }
    }
}
