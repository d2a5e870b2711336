package org.headlens.forward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Executable;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The forward pass stays readable at its call sites: no public or package-private method or
 * constructor takes more than four parameters or a boolean flag (what to run is a {@link Pass},
 * what to change {@link LayerEdits}).
 */
class ForwardSignaturesTest {
    static List<String> violations(Class<?> type) {
        List<String> found = new ArrayList<>();
        List<Executable> executables = new ArrayList<>(List.of(type.getDeclaredMethods()));
        executables.addAll(List.of(type.getDeclaredConstructors()));
        for (Executable executable : executables) {
            if (Modifier.isPrivate(executable.getModifiers()) || executable.isSynthetic()) {
                continue;
            }
            boolean flag = Stream.of(executable.getParameterTypes()).anyMatch(p -> p == boolean.class || p == Boolean.class);
            if (executable.getParameterCount() > 4 || flag) {
                found.add(type.getSimpleName() + "." + executable.getName() + " takes " + executable.getParameterCount()
                        + " parameters" + (flag ? " including a boolean flag" : ""));
            }
        }
        return found;
    }

    @Test
    void noMethodOfTheForwardPassTakesMoreThanFourParametersOrAFlag() throws IOException, ClassNotFoundException {
        Path classes = Path.of("target/classes/org/headlens/forward");
        List<String> found = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> files = Files.list(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = file.getFileName().toString().replace(".class", "");
                found.addAll(violations(Class.forName("org.headlens.forward." + name.replace('$', '$'))));
                checked++;
            }
        }
        assertTrue(checked > 10, "found the forward package's classes (" + checked + ")");
        assertEquals(List.of(), found);
    }

    /** A class the check must refuse, so that the test above can fail. */
    static final class Wide {
        Wide(int a, int b, int c, int d, int e) {
        }

        void run(Object pass, boolean keepBlocks) {
        }
    }

    @Test
    void theCheckRefusesWideSignaturesAndFlags() {
        assertEquals(2, violations(Wide.class).size(), violations(Wide.class).toString());
    }
}
