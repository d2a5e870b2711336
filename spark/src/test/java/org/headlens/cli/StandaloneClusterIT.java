package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Spark standalone cluster on this machine, on loopback only: a master and two workers,
 * each its own process started from Spark's own classes, run an attribution submitted with the
 * shaded jar (each worker's executor loads the model and takes tasks); the tables equal those
 * of a run in one process. Runs after {@code package}, which builds the jar.
 */
class StandaloneClusterIT {
    private final List<Process> started = new ArrayList<>();
    private final List<String> properties = List.of("spark.jars", "spark.driver.host", "spark.driver.bindAddress", "spark.executor.memory",
            "spark.executor.cores", "spark.cores.max", "spark.ui.enabled", "spark.executor.extraJavaOptions");

    @AfterEach
    void stopCluster() throws InterruptedException {
        properties.forEach(System::clearProperty);
        for (Process process : started) {
            // workers end their executors when they stop; descendants are ended first all the same
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
        for (Process process : started) {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
        }
    }

    @Test
    void attributionOnAStandaloneClusterEqualsOneMachine(@TempDir Path work, @TempDir Path single, @TempDir Path cluster) throws Exception {
        Path jar = Path.of(System.getProperty("headlens.spark.jar"));
        assertTrue(Files.isRegularFile(jar), jar + " is built by package");
        // a Spark installation as workers expect one: SPARK_HOME/jars holds Spark's jars and the libraries
        // they share with the toolkit (as one installation of Spark has its own), but not headlens: that comes in the shaded jar
        Path home = Files.createDirectories(work.resolve("spark-home/jars"));
        for (String entry : Files.readString(Path.of(System.getProperty("headlens.spark.classpath"))).strip().split(java.io.File.pathSeparator)) {
            Path source = Path.of(entry);
            if (entry.contains("/org/headlens/") || entry.contains("/toolkit/target/") || !entry.endsWith(".jar")) {
                continue;
            }
            Files.createSymbolicLink(home.resolve(source.getFileName()), source);
        }
        String classpath = home + "/*";
        int port = freePort();
        String master = "spark://127.0.0.1:" + port;
        Path masterLog = work.resolve("master.log");
        start(work, home.getParent(), classpath, masterLog, "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(freePort()));
        await(masterLog, "I have been elected leader");
        for (int i = 1; i <= 2; i++) {
            Path log = work.resolve("worker" + i + ".log");
            start(work, home.getParent(), classpath, log, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                    "--memory", "1536m", "--webui-port", Integer.toString(freePort()), "--work-dir",
                    Files.createDirectories(work.resolve("worker" + i)).toString(), master);
            await(log, "Successfully registered with master");
        }
        System.setProperty("spark.jars", jar.toString());
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.driver.bindAddress", "127.0.0.1");
        System.setProperty("spark.executor.memory", "1g");
        System.setProperty("spark.executor.cores", "1");
        System.setProperty("spark.cores.max", "2");
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.executor.extraJavaOptions", "-Dai.djl.offline=true");

        String[] options = {"--model", SparkLocalTest.MODEL.toString(), "--data", SparkLocalTest.DATA.toString(), "--samples", "2",
            "--masks", "50", "--held-out", "8", "--curve-points", "3", "--seed", "5", "--keep-incorrect"};
        SparkLocalTest.Run one = SparkLocalTest.run(concat(new String[] {"attribute", "--out", single.toString()}, options));
        assertEquals(0, one.status(), one.err());
        SparkLocalTest.Run distributed = SparkLocalTest.run(concat(new String[] {"attribute", "--out", cluster.toString(), "--spark", master},
                options));
        assertEquals(0, distributed.status(), distributed.err() + "\nmaster log:\n" + Files.readString(masterLog));
        SparkLocalTest.assertSameTables(single, cluster, SparkLocalTest.TABLES);
        assertEquals(SparkLocalTest.summary(one.out()), SparkLocalTest.summary(distributed.out()));

        JsonObject spark = JsonParser.parseString(Files.readString(cluster.resolve("manifest.json"))).getAsJsonObject().getAsJsonObject("spark");
        assertEquals(master, spark.get("master").getAsString());
        // the driver and one executor per worker, all on loopback
        List<String> executors = new ArrayList<>();
        for (JsonElement executor : spark.getAsJsonArray("executors")) {
            executors.add(executor.getAsString());
        }
        assertEquals(3, executors.size(), executors.toString());
        assertTrue(executors.stream().allMatch(e -> e.startsWith("127.0.0.1:")), executors.toString());
        // each executor ran its samples' tasks in its own JVM, which loaded the model once
        try (var logs = Files.walk(work)) {
            List<Path> stderr = logs.filter(p -> p.getFileName().toString().equals("stderr") && p.toString().contains("app-")).toList();
            assertEquals(2, stderr.size(), "one executor per worker: " + stderr);
        }
    }

    private void start(Path work, Path sparkHome, String classpath, Path log, String main, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        command.addAll(Arrays.asList(System.getProperty("headlens.spark.opens", "").split("\\s+")));
        command.addAll(List.of("-cp", classpath, main));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command.stream().filter(s -> !s.isEmpty()).toList())
                .directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> environment = builder.environment();
        environment.put("SPARK_HOME", sparkHome.toString());
        environment.put("SPARK_SCALA_VERSION", "2.13");
        environment.put("SPARK_LOCAL_IP", "127.0.0.1");
        started.add(builder.start());
    }

    private static void await(Path log, String line) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(line)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(log + " never said '" + line + "':\n" + (Files.exists(log) ? Files.readString(log) : "(no log)"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String[] concat(String[] first, String[] second) {
        String[] all = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, all, first.length, second.length);
        return all;
    }
}
