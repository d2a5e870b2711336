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
 * each its own process started from Spark's own classes, run an attribution that spark-submit
 * (also its own process) submits with the shaded jar; each worker's executor loads the model and
 * takes tasks, and the tables equal those of a run in one process. Runs after {@code package},
 * which builds the jar.
 */
class StandaloneClusterIT {
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopCluster() throws InterruptedException {
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
            if (entry.contains("/org/headlens/") || entry.contains("/toolkit/target/") || entry.contains("/ai/djl/") || entry.contains("/tech/tablesaw/")
                    || !entry.endsWith(".jar")) {
                continue;
            }
            Files.createSymbolicLink(home.resolve(source.getFileName()), source);
        }
        long begun = System.nanoTime();
        String classpath = home + "/*";
        int port = freePort();
        String master = "spark://127.0.0.1:" + port;
        Path masterLog = work.resolve("master.log");
        start(work, home.getParent(), classpath, masterLog, "org.apache.spark.deploy.master.Master",
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--webui-port", Integer.toString(freePort()));
        await(masterLog, "I have been elected leader");
        // both workers start at once: the test waits for them together
        for (int i = 1; i <= 2; i++) {
            start(work, home.getParent(), classpath, work.resolve("worker" + i + ".log"), "org.apache.spark.deploy.worker.Worker", "--host",
                    "127.0.0.1", "--cores", "1", "--memory", "1536m", "--webui-port", Integer.toString(freePort()), "--work-dir",
                    Files.createDirectories(work.resolve("worker" + i)).toString(), master);
        }
        // a CSV manifest with relative image and mask paths, given to the driver relative to its working folder: executors, whose
        // working folders are elsewhere, must read the same samples
        Path pictures = Files.createDirectories(work.resolve("pictures"));
        StringBuilder csv = new StringBuilder("image,answer,style,mask\n");
        for (org.headlens.data.Sample sample : org.headlens.data.Datasets.read(SparkLocalTest.DATA).samples().subList(0, 2)) {
            String name = sample.image().getFileName().toString();
            Files.copy(sample.image(), pictures.resolve(name));
            Files.copy(((org.headlens.data.ObjectMask.MaskFile) sample.mask()).file(), pictures.resolve("mask-" + name));
            csv.append("pictures/").append(name).append(',').append(sample.answer()).append(',').append(sample.label("style"))
                    .append(",pictures/mask-").append(name).append('\n');
        }
        Files.writeString(work.resolve("manifest.csv"), csv);
        // few masks (ridge needs no more than the heads): the cluster, not the arithmetic, is under test
        String[] options = {"--model", SparkLocalTest.MODEL.toString(), "--masks", "16", "--regression", "ridge", "--held-out", "4",
            "--curve-points", "2", "--seed", "5", "--keep-incorrect"};
        SparkLocalTest.Run one = SparkLocalTest.run(concat(new String[] {"attribute", "--out", single.toString(), "--data",
            work.resolve("manifest.csv").toString()}, options));
        assertEquals(0, one.status(), one.err());
        for (int i = 1; i <= 2; i++) {
            await(work.resolve("worker" + i + ".log"), "Successfully registered with master");
        }
        long clusterUp = System.nanoTime();
        // submitted as a user would: spark-submit's own class, the shaded jar, the driver in its own process
        Path driverLog = work.resolve("driver.log");
        Process driver = start(work, home.getParent(), classpath, driverLog, "org.apache.spark.deploy.SparkSubmit", concat(new String[] {
            "--master", master, "--deploy-mode", "client", "--class", "org.headlens.spark.SparkMain",
            "--driver-memory", "1g", "--executor-memory", "1g", "--executor-cores", "1", "--total-executor-cores", "2",
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false",
            "--conf", "spark.executor.extraJavaOptions=-Dai.djl.offline=true", "--conf", "spark.driver.extraJavaOptions=-Dai.djl.offline=true",
            jar.toString(), "attribute", "--out", cluster.toString(), "--data", "manifest.csv"}, options));
        assertTrue(driver.waitFor(300, TimeUnit.SECONDS), "the submitted run ends");
        System.out.printf("StandaloneClusterIT: cluster up and one-machine run %.1f s, submitted run %.1f s%n", (clusterUp - begun) / 1e9,
                (System.nanoTime() - clusterUp) / 1e9);
        String submitted = Files.readString(driverLog);
        assertEquals(0, driver.exitValue(), submitted + "\nmaster log:\n" + Files.readString(masterLog));
        SparkLocalTest.assertSameTables(single, cluster, SparkLocalTest.TABLES);
        assertEquals(SparkLocalTest.summary(one.out()), SparkLocalTest.summary(submitted.lines().filter(l -> l.startsWith("attribute: samples="))
                .reduce((a, b) -> b).orElse(submitted)));

        JsonObject spark = JsonParser.parseString(Files.readString(cluster.resolve("manifest.json"))).getAsJsonObject().getAsJsonObject("spark");
        assertEquals(master, spark.get("master").getAsString());
        assertEquals(System.getProperty("headlens.spark.version"), spark.get("version").getAsString());
        // one executor per worker (the driver, which runs no tasks here, is not counted), all on loopback
        List<String> executors = new ArrayList<>();
        for (JsonElement executor : spark.getAsJsonArray("executors")) {
            executors.add(executor.getAsString());
        }
        assertEquals(2, executors.size(), executors.toString());
        assertEquals(2, spark.get("executor_count").getAsInt(), spark.toString());
        assertTrue(executors.stream().allMatch(e -> e.startsWith("127.0.0.1:")), executors.toString());
        // each executor ran its samples' tasks in its own JVM, which loaded the model once
        try (var logs = Files.walk(work)) {
            List<Path> stderr = logs.filter(p -> p.getFileName().toString().equals("stderr") && p.toString().contains("app-")).toList();
            assertEquals(2, stderr.size(), "one executor per worker: " + stderr);
        }
    }

    private Process start(Path work, Path sparkHome, String classpath, Path log, String main, String... args) throws IOException {
        // spark-submit in client mode runs the driver in its own JVM, so its heap is this one
        String heap = main.endsWith("SparkSubmit") ? "-Xmx1g" : "-Xmx256m";
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), heap));
        command.addAll(Arrays.asList(System.getProperty("headlens.spark.opens", "").split("\\s+")));
        command.addAll(List.of("-cp", classpath, main));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command.stream().filter(s -> !s.isEmpty()).toList())
                .directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> environment = builder.environment();
        environment.put("SPARK_HOME", sparkHome.toString());
        environment.put("SPARK_SCALA_VERSION", "2.13");
        environment.put("SPARK_LOCAL_IP", "127.0.0.1");
        Process process = builder.start();
        started.add(process);
        return process;
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
