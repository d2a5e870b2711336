package org.headlens.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.headlens.HeadlensException;

/**
 * A folder of class folders, {@code DIR/<answer>/<image>}: the folder name is the expected
 * answer, there are no masks and no other labels. Ids are the images' file names without their
 * extension, prefixed with the class when two classes hold files of the same name.
 */
final class ClassFolders {
    /** File name endings read as images; anything else (notes, {@code .DS_Store}) is ignored. */
    static final Set<String> IMAGE_ENDINGS = Set.of("png", "jpg", "jpeg", "bmp", "gif");

    private ClassFolders() {
    }

    /** @return whether the folder has a subfolder holding at least one image */
    static boolean looksLikeClassFolders(Path folder) {
        try {
            for (Path sub : list(folder)) {
                if (Files.isDirectory(sub) && list(sub).stream().anyMatch(ClassFolders::isImage)) {
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
        return !name.startsWith(".") && dot > 0 && IMAGE_ENDINGS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT))
                && Files.isRegularFile(file);
    }

    static List<Datasets.Row> read(Path folder) {
        Path root = realPath(folder);
        List<Path[]> found = new ArrayList<>();
        for (Path sub : list(folder)) {
            if (!Files.isDirectory(sub) || sub.getFileName().toString().startsWith(".")) {
                continue;
            }
            for (Path file : list(sub)) {
                if (isImage(file)) {
                    // a link to a file elsewhere would let a dataset read outside itself
                    if (!realPath(file).startsWith(root)) {
                        throw new HeadlensException(file + ": points outside the dataset folder " + folder);
                    }
                    found.add(new Path[] {sub, file});
                }
            }
        }
        if (found.isEmpty()) {
            throw new HeadlensException(folder + ": holds no class folders with images (DIR/<answer>/<image>.png|jpg|jpeg|bmp|gif)");
        }
        Set<String> stems = new HashSet<>();
        boolean prefix = false;
        for (Path[] f : found) {
            prefix |= !stems.add(Datasets.stem(f[1].getFileName().toString()).toLowerCase(Locale.ROOT));
        }
        List<Datasets.Row> rows = new ArrayList<>();
        for (Path[] f : found) {
            String answer = f[0].getFileName().toString();
            String stem = Datasets.stem(f[1].getFileName().toString());
            rows.add(new Datasets.Row(Sample.of(prefix ? answer + "-" + stem : stem, f[1], answer), f[1].toString()));
        }
        return rows;
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
