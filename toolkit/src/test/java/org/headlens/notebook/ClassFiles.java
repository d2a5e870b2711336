package org.headlens.notebook;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The parts of compiled classes that decide whether they link against another copy of a library:
 * each class's supertypes, the members it declares, and the classes and members it refers to.
 * Read straight from the class-file constant pool, so that a jar's classes can be checked without
 * loading them.
 */
final class ClassFiles {
    /** A field or method named by a class file: {@code owner.name descriptor}, owner in internal form. */
    record MemberReference(String owner, String name, String descriptor) {
        @Override
        public String toString() {
            return owner.replace('/', '.') + "." + name + descriptor;
        }
    }

    /**
     * One class as its class file describes it.
     *
     * @param name internal name, e.g. {@code com/google/gson/JsonParser}
     * @param origin the jar or folder it was read from
     * @param supertypes super class (if any) and interfaces
     * @param members declared fields and methods as {@code name descriptor}
     * @param classes classes named in the constant pool
     * @param references fields and methods named in the constant pool
     */
    record ClassInfo(String name, String origin, List<String> supertypes, Set<String> members, Set<String> classes,
            List<MemberReference> references) {
    }

    private ClassFiles() {
    }

    /** @return every class in a jar or a folder of classes, by internal name (the first copy wins) */
    static Map<String, ClassInfo> read(Path jarOrFolder) {
        Map<String, ClassInfo> classes = new LinkedHashMap<>();
        String origin = jarOrFolder.getFileName().toString();
        try {
            if (Files.isDirectory(jarOrFolder)) {
                try (Stream<Path> files = Files.walk(jarOrFolder)) {
                    for (Path file : files.filter(ClassFiles::isClass).toList()) {
                        try (InputStream in = Files.newInputStream(file)) {
                            add(classes, parse(in.readAllBytes(), origin));
                        }
                    }
                }
            } else if (Files.isRegularFile(jarOrFolder)) {
                try (ZipFile zip = new ZipFile(jarOrFolder.toFile())) {
                    for (ZipEntry entry : zip.stream().toList()) {
                        if (isClass(Path.of(entry.getName()))) {
                            try (InputStream in = zip.getInputStream(entry)) {
                                add(classes, parse(in.readAllBytes(), origin));
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(jarOrFolder + ": cannot read classes", e);
        }
        return classes;
    }

    private static boolean isClass(Path file) {
        String name = file.toString().replace('\\', '/');
        // multi-release variants and module descriptors are not what a class loader finds by name
        return name.endsWith(".class") && !name.startsWith("META-INF/") && !name.contains("/META-INF/")
                && !name.endsWith("module-info.class") && !name.endsWith("package-info.class");
    }

    private static void add(Map<String, ClassInfo> classes, ClassInfo info) {
        classes.putIfAbsent(info.name(), info);
    }

    /** @return the class described by a class file's bytes */
    static ClassInfo parse(byte[] bytes, String origin) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException(origin + ": not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        int[] tags = new int[count];
        int[] first = new int[count];
        int[] second = new int[count];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            tags[i] = tag;
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 3, 4 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++;
                }
                case 7, 8, 16, 19, 20 -> first[i] = in.readUnsignedShort();
                case 9, 10, 11, 12, 17, 18 -> {
                    first[i] = in.readUnsignedShort();
                    second[i] = in.readUnsignedShort();
                }
                case 15 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                }
                default -> throw new IOException(origin + ": unknown constant pool tag " + tag);
            }
        }
        in.readUnsignedShort();
        String name = utf8[first[in.readUnsignedShort()]];
        int superIndex = in.readUnsignedShort();
        List<String> supertypes = new ArrayList<>();
        if (superIndex != 0) {
            supertypes.add(utf8[first[superIndex]]);
        }
        int interfaces = in.readUnsignedShort();
        for (int i = 0; i < interfaces; i++) {
            supertypes.add(utf8[first[in.readUnsignedShort()]]);
        }
        Set<String> members = new HashSet<>();
        for (int kind = 0; kind < 2; kind++) {
            int memberCount = in.readUnsignedShort();
            for (int i = 0; i < memberCount; i++) {
                in.readUnsignedShort();
                String memberName = utf8[in.readUnsignedShort()];
                String descriptor = utf8[in.readUnsignedShort()];
                members.add(memberName + " " + descriptor);
                int attributes = in.readUnsignedShort();
                for (int a = 0; a < attributes; a++) {
                    in.readUnsignedShort();
                    in.skipNBytes(in.readInt() & 0xffffffffL);
                }
            }
        }
        Set<String> classes = new HashSet<>();
        List<MemberReference> references = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            if (tags[i] == 7) {
                String referenced = utf8[first[i]];
                classes.add(referenced.startsWith("[") ? elementClass(referenced) : referenced);
            } else if (tags[i] == 9 || tags[i] == 10 || tags[i] == 11) {
                String owner = utf8[first[first[i]]];
                int nameAndType = second[i];
                references.add(new MemberReference(owner, utf8[first[nameAndType]], utf8[second[nameAndType]]));
            }
        }
        classes.remove(null);
        return new ClassInfo(name, origin, supertypes, members, classes, references);
    }

    /** @return the element class of an array descriptor such as {@code [[Lcom/x/Y;}, or null for primitives */
    private static String elementClass(String arrayDescriptor) {
        String element = arrayDescriptor.substring(arrayDescriptor.lastIndexOf('[') + 1);
        return element.startsWith("L") ? element.substring(1, element.length() - 1) : null;
    }
}
