package org.headlens.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code make-model}: what it plans, and what it refuses before writing a byte. */
class MakeModelCommandTest {
    @Test
    void planListsThePublishedShards(@TempDir Path dir) {
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("make-model", "--like", "llava-1.5-7b", "--out", dir.resolve("m").toString(),
                "--plan");
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("llava-hf/llava-1.5-7b-hf, float16, 7,063,427,072 parameters, 3 shard(s), 14.1 GB"), run.out());
        assertTrue(run.out().contains("model-00003-of-00003.safetensors: 88 tensors, 4,176,125,952 bytes"), run.out());
        assertTrue(Files.notExists(dir.resolve("m")), "a plan writes nothing");
        run = VerifyModelCommandTest.run("make-model", "--like", "qwen2-vl-7b", "--out", dir.resolve("q").toString(), "--plan", "--layers", "2");
        assertTrue(run.out().contains("Qwen/Qwen2-VL-7B-Instruct (first 2 layers), bfloat16"), run.out());
    }

    @Test
    void refusesANonEmptyFolderAndAnUnknownReleaseInOneLine(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("keep.txt"), "mine");
        VerifyModelCommandTest.Run run = VerifyModelCommandTest.run("make-model", "--like", "llava-1.5-7b", "--out", dir.toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("the folder is not empty"), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "nothing written");
        }
        run = VerifyModelCommandTest.run("make-model", "--like", "llava-1.5-70b", "--out", dir.resolve("x").toString());
        assertEquals(2, run.status());
        assertTrue(run.err().contains("llava-1.5-7b") && run.err().contains("qwen2-vl-7b"), run.err());
    }
}
