package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.headlens.HeadlensException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code install-kernel --kernel kotlin}: the kernelspec it writes, and what it refuses. */
class KotlinKernelTest {
    private static final List<String> KERNEL_JARS = List.of(KotlinKernel.KERNEL_JAR, "kotlin-jupyter-api-0.11.0-398.jar",
            "kotlin-jupyter-lib-0.11.0-398.jar", "kotlin-stdlib-1.8.20.jar", "kotlin-stdlib-jdk8-1.8.20.jar", "kotlin-reflect-1.8.20.jar",
            "kotlin-script-runtime-1.8.20.jar", "kotlinx-serialization-json-jvm-1.4.1.jar", "kotlin-compiler-embeddable-1.8.20.jar",
            "kotlin-scripting-jvm-1.8.20.jar", "jna-5.17.0.jar", "logback-classic-1.3.6.jar", "jeromq-0.5.3.jar");

    private static Path home(Path temp, List<String> jars) throws Exception {
        Path folder = Files.createDirectories(temp.resolve("repo/kotlin/kernel/target/jars"));
        for (String jar : jars) {
            Files.writeString(folder.resolve(jar), jar);
        }
        return temp.resolve("repo");
    }

    @Test
    void writesAKernelspecThatRunsTheKernelWithItsJarsAndCompilesCellsAgainstItsApiOnly(@TempDir Path temp) throws Exception {
        Path folder = temp.resolve("kernels/kotlin");
        // a kernel installed before, with the Kotlin compiler's JNA: a reinstall must not keep it on the class path
        Files.createDirectories(folder.resolve("jars"));
        Files.writeString(folder.resolve(InstallKernelCommand.MARKER), "");
        Files.writeString(folder.resolve("jars/jna-5.6.0.jar"), "old");
        Path java = KotlinKernel.install(home(temp, KERNEL_JARS), null, folder);

        assertEquals(Path.of(System.getProperty("java.home"), "bin", "java").toAbsolutePath(), java);
        Set<String> installed = new TreeSet<>();
        try (var files = Files.list(folder.resolve("jars"))) {
            files.forEach(p -> installed.add(p.getFileName().toString()));
        }
        assertEquals(new TreeSet<>(KERNEL_JARS), installed);

        JsonObject spec = JsonParser.parseString(Files.readString(folder.resolve("kernel.json"))).getAsJsonObject();
        assertEquals("kotlin", spec.get("language").getAsString());
        List<String> argv = new ArrayList<>();
        JsonArray array = spec.getAsJsonArray("argv");
        array.forEach(e -> argv.add(e.getAsString()));
        assertEquals(java.toString(), argv.get(0));
        assertEquals(folder.resolve("jars").toAbsolutePath() + File.separator + "*", argv.get(argv.indexOf("-cp") + 1));
        assertTrue(argv.contains(KotlinKernel.MAIN_CLASS), argv.toString());
        assertTrue(argv.contains("{connection_file}"), argv.toString());
        assertTrue(argv.contains("-Dlogback.configurationFile=" + folder.resolve("logback.xml").toAbsolutePath()), argv.toString());
        assertTrue(Files.readString(folder.resolve("logback.xml")).contains("level=\"WARN\""));

        String scriptClasspath = argv.stream().filter(a -> a.startsWith("-classpath=")).findFirst().orElseThrow().substring("-classpath=".length());
        Set<String> script = new TreeSet<>();
        for (String entry : scriptClasspath.split(File.pathSeparator)) {
            assertTrue(Files.isRegularFile(Path.of(entry)), entry);
            script.add(Path.of(entry).getFileName().toString());
        }
        assertEquals(new TreeSet<>(List.of("kotlin-jupyter-api-0.11.0-398.jar", "kotlin-jupyter-lib-0.11.0-398.jar", "kotlin-stdlib-1.8.20.jar",
                "kotlin-stdlib-jdk8-1.8.20.jar", "kotlin-reflect-1.8.20.jar", "kotlin-script-runtime-1.8.20.jar",
                "kotlinx-serialization-json-jvm-1.4.1.jar")), script, "cells compile against the kernel's API and Kotlin, not its compiler or JNA");
        assertFalse(scriptClasspath.contains("jna"), scriptClasspath);
    }

    @Test
    void refusesWithoutTheBuiltKernelOrWithAJavaThatIsNotOne(@TempDir Path temp) throws Exception {
        HeadlensException missing = assertThrows(HeadlensException.class,
                () -> KotlinKernel.install(home(temp, List.of("jna-5.17.0.jar")), null, temp.resolve("kernels/kotlin")));
        assertTrue(missing.getMessage().contains(KotlinKernel.KERNEL_JAR + ": not found; build first"), missing.getMessage());
        assertFalse(missing.getMessage().contains("\n"), missing.getMessage());

        Path notJava = Files.writeString(temp.resolve("java"), "not a program");
        HeadlensException refused = assertThrows(HeadlensException.class,
                () -> KotlinKernel.install(home(temp, KERNEL_JARS), notJava, temp.resolve("kernels/kotlin")));
        assertTrue(refused.getMessage().startsWith(notJava + ": not an executable java"), refused.getMessage());
        assertFalse(Files.exists(temp.resolve("kernels/kotlin/kernel.json")), "nothing is installed when refused");
    }

    @Test
    void aKernelThatHeadlensDidNotInstallIsLeftAsItIs(@TempDir Path temp) throws Exception {
        Path home = home(temp, KERNEL_JARS);
        for (String name : new String[] {"kotlin", "java"}) {
            // e.g. IJava, which installs itself as "java", with its own jars
            Path folder = Files.createDirectories(temp.resolve("kernels").resolve(name).resolve("jars"));
            Files.writeString(folder.resolve("ijava.jar"), "theirs");
            Files.writeString(folder.getParent().resolve("kernel.json"), "{\"argv\": [\"theirs\"]}");
            HeadlensException refused = assertThrows(HeadlensException.class,
                    () -> KotlinKernel.install(home, null, folder.getParent()));
            assertTrue(refused.getMessage().contains("did not install"), refused.getMessage());
            refused = assertThrows(HeadlensException.class, () -> InstallKernelCommand.claimFolder(folder.getParent()));
            assertTrue(refused.getMessage().startsWith(folder.getParent().toString()), refused.getMessage());
            assertEquals("theirs", Files.readString(folder.resolve("ijava.jar")));
            assertEquals("{\"argv\": [\"theirs\"]}", Files.readString(folder.getParent().resolve("kernel.json")));
            assertFalse(Files.exists(folder.getParent().resolve(InstallKernelCommand.MARKER)));
        }
        // an empty folder, or a new one, is taken
        Path empty = Files.createDirectories(temp.resolve("kernels/empty"));
        KotlinKernel.install(home, null, empty);
        assertTrue(Files.exists(empty.resolve("kernel.json")) && Files.exists(empty.resolve(InstallKernelCommand.MARKER)));
        // and headlens's own install is replaced on the next run
        KotlinKernel.install(home, null, empty);
    }
}
