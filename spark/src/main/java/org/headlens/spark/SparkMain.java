package org.headlens.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.headlens.cli.Main;

/**
 * Entry point for {@code spark-submit --class org.headlens.spark.SparkMain headlens-spark.jar
 * attribute|trace [options]}: the headlens command line, with {@code --spark} set to the master
 * spark-submit was given, so every sample runs as a task of that cluster.
 */
public final class SparkMain {
    private SparkMain() {
    }

    /**
     * @param args a headlens command (attribute or trace) and its options
     */
    public static void main(String[] args) {
        System.exit(Main.run(withMaster(args, new SparkConf().get("spark.master", "local[*]")), System.out, System.err));
    }

    /** @return the arguments with {@code --spark master} after the command, unless they name one */
    static String[] withMaster(String[] args, String master) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        boolean named = all.stream().anyMatch(a -> a.equals("--spark") || a.startsWith("--spark="));
        if (!named && !all.isEmpty() && !all.get(0).startsWith("-")) {
            all.add(1, "--spark=" + master);
        }
        return all.toArray(String[]::new);
    }
}
