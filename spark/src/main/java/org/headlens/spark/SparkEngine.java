package org.headlens.spark;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkException;
import org.apache.spark.SparkExecutorInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.headlens.HeadlensException;
import org.headlens.Messages;
import org.headlens.cli.Distributed;

/**
 * Runs headlens's per-sample tasks on Apache Spark: one partition, so one task, per sample.
 * Under spark-submit the master and every other setting come from Spark's own configuration;
 * from {@code ./headlens ... --spark MASTER} the master is the option's value.
 */
public final class SparkEngine implements Distributed, Distributed.Provider {
    private final JavaSparkContext context;

    /** The provider the toolkit's command line finds through {@code META-INF/services}. */
    public SparkEngine() {
        context = null;
    }

    private SparkEngine(JavaSparkContext context) {
        this.context = context;
    }

    @Override
    public Distributed open(String master, String name) {
        SparkConf conf = new SparkConf().setAppName(name);
        // spark-submit sets the master (and SparkMain passes it on): its own wins over the copy in --spark
        conf.setIfMissing("spark.master", master);
        conf.setIfMissing("spark.ui.showConsoleProgress", "false");
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        JavaSparkContext context;
        try {
            context = new JavaSparkContext(conf);
        } catch (RuntimeException e) {
            throw new HeadlensException("cannot start Spark with master " + Messages.quote(master) + " (" + e.getMessage() + ")", e);
        }
        context.setLogLevel("WARN");
        return new SparkEngine(context);
    }

    @Override
    public void run(String stage, List<String> sampleIds, Task task) {
        if (sampleIds.isEmpty()) {
            return;
        }
        context.setJobDescription("headlens " + stage + " (" + sampleIds.size() + " samples)");
        try {
            context.parallelize(sampleIds, sampleIds.size()).foreach(task::run);
        } catch (Exception e) {
            // Spark's job failure is a checked SparkException that Scala throws undeclared
            throw explained(e, stage);
        }
    }

    /**
     * A failed task's own one-line message when it was headlens's (a refused input), else Spark's
     * reason; Spark reports both wrapped in its job failure.
     */
    static RuntimeException explained(Exception failure, String stage) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof HeadlensException headlens) {
                return headlens;
            }
        }
        String message = String.valueOf(failure.getMessage());
        // Spark quotes the executor's exception as "...: org.headlens.HeadlensException: <message>\n\tat ..."
        String marker = HeadlensException.class.getName() + ": ";
        int at = message.indexOf(marker);
        if (at >= 0) {
            String rest = message.substring(at + marker.length());
            int end = rest.indexOf('\n');
            return new HeadlensException(end < 0 ? rest : rest.substring(0, end), failure);
        }
        if (failure instanceof RuntimeException runtime && !(failure.getCause() instanceof SparkException)) {
            return runtime;
        }
        int end = message.indexOf('\n');
        return new HeadlensException("the Spark job of " + stage + " failed: " + (end < 0 ? message : message.substring(0, end)), failure);
    }

    @Override
    public JsonObject describe() {
        JsonObject spark = new JsonObject();
        spark.addProperty("version", context.version());
        spark.addProperty("master", context.master());
        spark.addProperty("application", context.sc().applicationId());
        spark.addProperty("executor_memory", context.getConf().get("spark.executor.memory", "1g"));
        // Spark lists the driver among the executors; it runs tasks only in local mode
        String driver = SparkEnv.get().blockManager().blockManagerId().hostPort();
        JsonArray executors = new JsonArray();
        for (SparkExecutorInfo executor : context.sc().statusTracker().getExecutorInfos()) {
            String address = executor.host() + ":" + executor.port();
            if (context.isLocal() || !address.equals(driver)) {
                executors.add(address);
            }
        }
        spark.addProperty("executor_count", executors.size());
        spark.add("executors", executors);
        return spark;
    }

    @Override
    public void close() {
        if (context != null) {
            context.stop();
        }
    }
}
