package org.headlens.results;

import com.google.gson.JsonObject;
import java.nio.file.Path;

/**
 * Run in a child JVM by {@link ResultFolderTest}: claims the folder given as the first argument
 * for the command given as the second, prints {@code claimed}, and holds the folder until its
 * standard input is closed.
 */
public final class ClaimHolder {
    private ClaimHolder() {
    }

    /**
     * @param args folder and command name
     * @throws Exception when standard input fails
     */
    public static void main(String[] args) throws Exception {
        JsonObject identity = new JsonObject();
        identity.addProperty("command", args[1]);
        try (ResultFolder folder = ResultFolder.claim(Path.of(args[0]), identity)) {
            System.out.println("claimed");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the folder until the parent closes our input
            }
        }
    }
}
