package org.headlens.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * How much memory this process holds and how much the machine can still give it, read from
 * Linux's {@code /proc}; elsewhere the figures are unknown (-1) and no check refuses anything.
 */
public final class Memory {
    /**
     * Memory besides the weights that a load needs to finish: the JVM, libtorch and the largest
     * temporary of the check for non-finite values.
     */
    static final long LOAD_HEADROOM_BYTES = 1L << 30;

    /** System property that replaces the machine's available memory, in bytes (tests use it). */
    public static final String AVAILABLE_PROPERTY = "headlens.availableMemoryBytes";

    private Memory() {
    }

    /**
     * Memory the machine can give without swapping: {@code MemAvailable}, or less when a cgroup
     * limit leaves less.
     *
     * @return bytes, or -1 when unknown
     */
    public static long availableBytes() {
        String forced = System.getProperty(AVAILABLE_PROPERTY);
        if (forced != null) {
            return Long.parseLong(forced.strip());
        }
        long available = field(Path.of("/proc/meminfo"), "MemAvailable:");
        long limit = number(Path.of("/sys/fs/cgroup/memory.max"));
        long used = number(Path.of("/sys/fs/cgroup/memory.current"));
        if (limit > 0 && used >= 0 && (available < 0 || limit - used < available)) {
            available = Math.max(0, limit - used);
        }
        return available;
    }

    /** @return the largest resident memory this process has had (VmHWM), in bytes, or -1 when unknown */
    public static long peakResidentBytes() {
        return field(Path.of("/proc/self/status"), "VmHWM:");
    }

    /**
     * Starts a new peak, so that the peak of one step can be read on its own: Linux (4.0 and
     * later) resets VmHWM to the current resident size when 5 is written to {@code /proc/self/clear_refs}.
     *
     * @return false where that is not possible; the peak then stays the whole process's
     */
    public static boolean resetPeak() {
        try {
            Files.write(Path.of("/proc/self/clear_refs"), "5".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    java.nio.file.StandardOpenOption.WRITE);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** @return the resident memory of this process now (VmRSS), in bytes, or -1 when unknown */
    public static long residentBytes() {
        return field(Path.of("/proc/self/status"), "VmRSS:");
    }

    /**
     * @param bytes a size
     * @return it in decimal gigabytes with one decimal, e.g. {@code 14.1 GB}
     */
    public static String gigabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
    }

    /** A {@code Name:   123 kB} line of a /proc file, in bytes. */
    private static long field(Path file, String name) {
        try {
            List<String> lines = Files.readAllLines(file);
            for (String line : lines) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    long value = Long.parseLong(parts[0]);
                    return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** A file holding one number (cgroup v2); "max" or anything unreadable is -1. */
    private static long number(Path file) {
        try {
            String text = Files.readString(file).strip();
            return text.matches("[0-9]+") ? Long.parseLong(text) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
