package org.headlens.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.headlens.HeadlensException;

/**
 * {@code install-kernel}: installs rapaio's Java kernel (fetched from Maven Central by the build)
 * as the Jupyter kernel named {@code java} for the current user, on a Java 21 or newer that it
 * finds or is given.
 */
final class InstallKernelCommand implements Main.Command {
    static final String KERNEL_JAR = "rapaio-jupyter-kernel-3.0.1.jar";
    static final String LAUNCHER_JAR = "headlens-rapaio-launcher.jar";
    private static final int MINIMUM_JAVA = 21;

    @Override
    public String summary() {
        return "install a Jupyter kernel: java (rapaio, on Java 21+), or --kernel kotlin";
    }

    @Override
    public java.util.List<Options.Option> options() {
        return java.util.List.of(Options.Option.choice("kernel", "java: rapaio's Java kernel; kotlin: JetBrains' Kotlin kernel (KotlinKernel)",
                        "java", "kotlin").byDefault("java"),
                Options.Option.path("java", "PATH", "the java to run the kernel (default: for java the newest 21+ found, for kotlin this one)"),
                Options.Option.text("name", "NAME", "kernel name").matching("[A-Za-z0-9._-]+", "letters, digits, '.', '_' and '-'").byDefault("java"),
                Options.Option.path("kernels", "DIR", "Jupyter's kernels folder (default the user's)"));
    }

    @Override
    public int run(Options options, PrintStream out) {
        if (options.string("kernel", "java").equals("kotlin")) {
            String name = options.given("name") ? options.string("name", "kotlin") : "kotlin";
            Path folder = options.path("kernels", defaultKernelsFolder().toString()).resolve(name);
            Path java = KotlinKernel.install(Path.of(System.getProperty("headlens.home", ".")),
                    options.given("java") ? options.path("java", null) : null, folder);
            out.printf("install-kernel: kernel=%s (Kotlin %s) java=%s folder=%s%n", name, KotlinKernel.VERSION, java, folder.toAbsolutePath());
            return 0;
        }
        Path jar = Path.of(System.getProperty("headlens.home", ".")).resolve("toolkit/target/kernel").resolve(KERNEL_JAR);
        if (!Files.isRegularFile(jar)) {
            throw new HeadlensException(jar + ": not found; build the toolkit first (mvn -q -DskipTests package), which fetches it");
        }
        String given = options.given("java") ? options.path("java", null).toString() : null;
        Path java = given != null ? checked(Path.of(given)) : find();
        String name = options.string("name", "java");
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new HeadlensException("kernel name '" + name + "' may hold only letters, digits, '.', '_' and '-'");
        }
        Path kernels = options.path("kernels", defaultKernelsFolder().toString());
        Path folder = kernels.resolve(name);
        try {
            claimFolder(folder);
            Files.copy(jar, folder.resolve(KERNEL_JAR), StandardCopyOption.REPLACE_EXISTING);
            // rapaio's own MainApp loses about one start in three to races (RapaioLauncher says which)
            writeLauncherJar(folder.resolve(LAUNCHER_JAR));
            JsonArray argv = new JsonArray();
            argv.add(java.toString());
            argv.add("-cp");
            argv.add(folder.resolve(KERNEL_JAR).toAbsolutePath() + File.pathSeparator + folder.resolve(LAUNCHER_JAR).toAbsolutePath());
            argv.add(RapaioLauncher.class.getName());
            argv.add("{connection_file}");
            JsonObject env = new JsonObject();
            env.addProperty("RJK_CLASSPATH", "");
            env.addProperty("RJK_COMPILER_OPTIONS", "");
            env.addProperty("RJK_INIT_SCRIPT", "");
            env.addProperty("RJK_TIMEOUT_MILLIS", "-1");
            env.addProperty("RJK_MIMA_CACHE", folder.resolve("mima_cache").toAbsolutePath().toString());
            JsonObject spec = new JsonObject();
            spec.add("argv", argv);
            spec.addProperty("display_name", "Java (rapaio 3.0.1)");
            spec.addProperty("language", "java");
            spec.addProperty("interrupt_mode", "message");
            spec.add("env", env);
            Files.writeString(folder.resolve("kernel.json"), new GsonBuilder().setPrettyPrinting().create().toJson(spec) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot install the kernel (" + e.getMessage() + ")");
        }
        out.printf("install-kernel: kernel=%s java=%s folder=%s%n", name, java, folder.toAbsolutePath());
        return 0;
    }

    /** Written into every kernelspec folder headlens installs; only such a folder is written over by a reinstall. */
    static final String MARKER = ".installed-by-headlens";

    /**
     * Takes a kernelspec folder for writing: a new or empty one, or one headlens installed before.
     * A user's own kernel of that name (IJava also calls itself {@code java}) is left as it is.
     */
    static void claimFolder(Path folder) throws IOException {
        if (Files.isDirectory(folder) && !Files.exists(folder.resolve(MARKER))) {
            try (Stream<Path> entries = Files.list(folder)) {
                if (entries.findAny().isPresent()) {
                    throw new HeadlensException(folder + ": holds a kernel that headlens did not install; nothing was changed"
                            + " (give another --name, or remove that folder yourself)");
                }
            }
        }
        Files.createDirectories(folder);
        Files.writeString(folder.resolve(MARKER), "written by headlens install-kernel; a reinstall replaces this kernelspec\n");
    }

    /**
     * A jar with {@link RapaioLauncher} alone: the kernel's class path must not hold the rest of
     * the toolkit, or it would shadow the notebook class path's relocated copy.
     */
    static void writeLauncherJar(Path target) throws IOException {
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        try (java.util.jar.JarOutputStream jar = new java.util.jar.JarOutputStream(Files.newOutputStream(target), manifest)) {
            for (Class<?> type : List.of(RapaioLauncher.class, RapaioLauncher.HandlersAfterConnect.class)) {
                String entry = type.getName().replace('.', '/') + ".class";
                try (java.io.InputStream in = InstallKernelCommand.class.getClassLoader().getResourceAsStream(entry)) {
                    if (in == null) {
                        throw new IOException(entry + " is missing from the toolkit's classes");
                    }
                    jar.putNextEntry(new java.util.jar.JarEntry(entry));
                    in.transferTo(jar);
                    jar.closeEntry();
                }
            }
        }
    }

    /** Jupyter's per-user data folder, as jupyter_core computes it on Linux and macOS. */
    private static Path defaultKernelsFolder() {
        String data = System.getenv("JUPYTER_DATA_DIR");
        if (data != null && !data.isBlank()) {
            return Path.of(data, "kernels");
        }
        Path home = Path.of(System.getProperty("user.home"));
        if (System.getProperty("os.name", "").toLowerCase().contains("mac")) {
            return home.resolve("Library/Jupyter/kernels");
        }
        String xdg = System.getenv("XDG_DATA_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : home.resolve(".local/share")).resolve("jupyter/kernels");
    }

    /** The newest Java of at least version 21 among JAVA_HOME, the JVM folders and the PATH. */
    private static Path find() {
        List<Path> candidates = new ArrayList<>();
        String javaHome = System.getenv("JAVA_HOME");
        if (javaHome != null) {
            candidates.add(Path.of(javaHome, "bin", "java"));
        }
        for (String root : List.of("/usr/lib/jvm", "/Library/Java/JavaVirtualMachines")) {
            try (Stream<Path> jvms = Files.list(Path.of(root))) {
                jvms.forEach(jvm -> {
                    candidates.add(jvm.resolve("bin/java"));
                    candidates.add(jvm.resolve("Contents/Home/bin/java"));
                });
            } catch (IOException e) {
                // no such folder on this system
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            candidates.add(Path.of(dir, "java"));
        }
        Path best = null;
        int bestVersion = 0;
        for (Path candidate : candidates) {
            if (Files.isExecutable(candidate)) {
                int version = version(candidate);
                if (version > bestVersion) {
                    best = candidate;
                    bestVersion = version;
                }
            }
        }
        if (best == null || bestVersion < MINIMUM_JAVA) {
            throw new HeadlensException("the kernel needs Java " + MINIMUM_JAVA + " or newer and none was found (newest: "
                    + (best == null ? "none" : best + ", version " + bestVersion) + "); give one with --java PATH");
        }
        return best.toAbsolutePath();
    }

    private static Path checked(Path java) {
        if (!Files.isExecutable(java)) {
            throw new HeadlensException(java + ": not an executable java");
        }
        int version = version(java);
        if (version < MINIMUM_JAVA) {
            throw new HeadlensException(java + ": Java " + version + ", but the kernel needs " + MINIMUM_JAVA + " or newer");
        }
        return java.toAbsolutePath();
    }

    /** @return the major version {@code java -version} reports, 0 if it does not run */
    static int version(Path java) {
        try {
            Process process = new ProcessBuilder(java.toString(), "-version").redirectErrorStream(true).start();
            String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return 0;
            }
            Matcher m = Pattern.compile("version \"(\\d+)(?:\\.(\\d+))?").matcher(text);
            if (!m.find()) {
                return 0;
            }
            int major = Integer.parseInt(m.group(1));
            // Java 8 and older report 1.x
            return major == 1 && m.group(2) != null ? Integer.parseInt(m.group(2)) : major;
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }
}
