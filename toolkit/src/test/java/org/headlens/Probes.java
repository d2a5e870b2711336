package org.headlens;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a probe's {@code main} in a child JVM on the test class path, for tests that must see a
 * process's own resident memory: the probe prints one line {@code probe: key=value key=value ...}.
 *
 * <p>The child runs with a fixed malloc mmap threshold: glibc otherwise raises its threshold after
 * the first large free and keeps freed blocks for reuse, so whether a step's peak shows its own
 * allocations would depend on what an earlier step happened to leave behind (a CI machine saw a
 * 2-layer recompute peak at 10 MB where this one sees 70).
 */
public final class Probes {
    private Probes() {
    }

    /**
     * @param jvmOptions options of the child JVM (e.g. heap limits)
     * @param probe the class whose {@code main} runs
     * @param args its arguments
     * @return the pairs of its probe line; the test fails if the child fails or prints none
     */
    public static Map<String, String> run(List<String> jvmOptions, Class<?> probe, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), probe.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("MALLOC_MMAP_THRESHOLD_", String.valueOf(1 << 20));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertEquals(0, process.waitFor(), output);
        String line = output.lines().filter(l -> l.startsWith("probe: ")).findFirst().orElseThrow(() -> new AssertionError(output));
        System.out.println(probe.getSimpleName() + " " + String.join(" ", args) + ": " + line);
        Map<String, String> values = new HashMap<>();
        for (String pair : line.substring("probe: ".length()).split(" ")) {
            String[] kv = pair.split("=", 2);
            values.put(kv[0], kv[1]);
        }
        return values;
    }
}
