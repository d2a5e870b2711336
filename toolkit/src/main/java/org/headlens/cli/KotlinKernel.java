package org.headlens.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.headlens.HeadlensException;

/**
 * {@code install-kernel --kernel kotlin}: installs JetBrains' Kotlin kernel, fetched from Maven
 * Central with its libraries by the build ({@code kotlin/kernel}), as a kernelspec that runs it
 * on a plain {@code java}. The build gives the kernel the JNA that DJL brings, in place of the one
 * of its Kotlin compiler: notebook code finds JNA's native library through the kernel's class path,
 * and DJL's CUDA probe fails when that library and JNA's classes disagree.
 */
final class KotlinKernel {
    /** The kernel version the build fetches; {@code kotlin/kernel/pom.xml} names the same. */
    static final String VERSION = "0.11.0-398";
    static final String KERNEL_JAR = "kotlin-jupyter-kernel-" + VERSION + ".jar";
    /** The kernel's entry point (its jar's Main-Class). */
    static final String MAIN_CLASS = "org.jetbrains.kotlinx.jupyter.IkotlinKt";
    private static final int MINIMUM_JAVA = 17;
    /**
     * What notebook code is compiled against, as the kernel's own distribution lists it: its API and
     * notebook library, Kotlin's standard library, reflection and script runtime, kotlinx.serialization.
     */
    static final Pattern SCRIPT_CLASSPATH = Pattern.compile(
            "(kotlin-jupyter-(api|lib)|kotlin-script-runtime|kotlin-stdlib(-common|-jdk7|-jdk8)?|kotlin-reflect"
                    + "|kotlinx-serialization-(core|json)(-jvm)?|annotations)-[0-9][^/]*\\.jar");

    private KotlinKernel() {
    }

    /**
     * Installs the kernel.
     *
     * @param home the repository (its {@code kotlin/kernel/target/jars} holds the kernel)
     * @param java the java to run it, or null for the one running headlens
     * @param folder the kernelspec folder to write
     * @return the java the kernelspec runs
     */
    static Path install(Path home, Path java, Path folder) {
        Path jars = home.resolve("kotlin/kernel/target/jars");
        if (!Files.isRegularFile(jars.resolve(KERNEL_JAR))) {
            throw new HeadlensException(jars.resolve(KERNEL_JAR) + ": not found; build first (mvn -q -DskipTests package in "
                    + home.toAbsolutePath().normalize() + "), which fetches the Kotlin kernel");
        }
        Path runner = java != null ? checked(java) : Path.of(System.getProperty("java.home"), "bin", "java").toAbsolutePath();
        Path installed = folder.resolve("jars");
        try {
            InstallKernelCommand.claimFolder(folder);
            Files.createDirectories(installed);
            // a reinstall over an older kernel of ours must not leave its jars on the class path
            try (Stream<Path> old = Files.list(installed)) {
                for (Path jar : old.toList()) {
                    Files.delete(jar);
                }
            }
            List<String> scriptClasspath = new ArrayList<>();
            try (Stream<Path> files = Files.list(jars)) {
                for (Path jar : files.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                    Path copy = installed.resolve(jar.getFileName());
                    Files.copy(jar, copy, StandardCopyOption.REPLACE_EXISTING);
                    if (SCRIPT_CLASSPATH.matcher(jar.getFileName().toString()).matches()) {
                        scriptClasspath.add(copy.toAbsolutePath().toString());
                    }
                }
            }
            Path logging = folder.resolve("logback.xml");
            // the kernel logs every message at DEBUG to its standard output otherwise
            Files.writeString(logging, "<configuration>\n  <appender name=\"err\" class=\"ch.qos.logback.core.ConsoleAppender\">\n"
                    + "    <target>System.err</target>\n    <encoder><pattern>%d{HH:mm:ss} %-5level %logger{20} - %msg%n</pattern></encoder>\n"
                    + "  </appender>\n  <root level=\"WARN\"><appender-ref ref=\"err\"/></root>\n</configuration>\n");
            JsonArray argv = new JsonArray();
            argv.add(runner.toString());
            argv.add("-Dlogback.configurationFile=" + logging.toAbsolutePath());
            argv.add("-cp");
            argv.add(installed.toAbsolutePath() + File.separator + "*");
            argv.add(MAIN_CLASS);
            argv.add("-classpath=" + String.join(File.pathSeparator, scriptClasspath));
            argv.add("{connection_file}");
            argv.add("-home=" + folder.toAbsolutePath());
            JsonObject spec = new JsonObject();
            spec.add("argv", argv);
            spec.addProperty("display_name", "Kotlin (kotlin-jupyter " + VERSION + ")");
            spec.addProperty("language", "kotlin");
            spec.addProperty("interrupt_mode", "message");
            Files.writeString(folder.resolve("kernel.json"), new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(spec) + "\n");
        } catch (IOException e) {
            throw new HeadlensException(folder + ": cannot install the Kotlin kernel (" + e.getMessage() + ")");
        }
        return runner;
    }

    private static Path checked(Path java) {
        if (!Files.isExecutable(java)) {
            throw new HeadlensException(java + ": not an executable java");
        }
        int version = InstallKernelCommand.version(java);
        if (version < MINIMUM_JAVA) {
            throw new HeadlensException(java + ": Java " + version + ", but the Kotlin kernel needs " + MINIMUM_JAVA + " or newer");
        }
        return java.toAbsolutePath();
    }
}
