package org.halyard.mode.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultLogTest {

    @TempDir
    Path dir;

    @Test
    void appendedRecordsAreReadBackOnOpen() throws Exception {
        Path p = dir.resolve("out.jsonl");
        try (ResultLog log = ResultLog.open(p, id -> { })) {
            log.append("{\"custom_id\":\"a\",\"x\":1}");
            log.append("{\"custom_id\":\"b\",\"x\":2}");
            assertEquals(2, log.records());
        }
        List<String> ids = new ArrayList<>();
        try (ResultLog log = ResultLog.open(p, ids::add)) {
            assertEquals(2, log.records());
            log.append("{\"custom_id\":\"c\"}");
        }
        assertEquals(List.of("a", "b"), ids);
        assertEquals(3, Files.readAllLines(p).size());
    }

    @Test
    void aRecordCutOffByACrashIsRemovedOnOpen() throws Exception {
        Path p = dir.resolve("out.jsonl");
        Files.writeString(p, "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"}\n{\"custom_id\":\"c\",\"respo", StandardCharsets.UTF_8);
        List<String> ids = new ArrayList<>();
        try (ResultLog log = ResultLog.open(p, ids::add)) {
            assertEquals(List.of("a", "b"), ids);
            log.append("{\"custom_id\":\"c\"}");
        }
        assertEquals(List.of("{\"custom_id\":\"a\"}", "{\"custom_id\":\"b\"}", "{\"custom_id\":\"c\"}"),
                Files.readAllLines(p));
    }

    @Test
    void garbageLeftByAnOperatingSystemCrashCutsTheLogThere() throws Exception {
        Path p = dir.resolve("out.jsonl");
        Files.writeString(p, "{\"custom_id\":\"a\"}\n", StandardCharsets.UTF_8);
        Files.write(p, new byte[] {0, 0, 0, '\n', '{', '"'}, StandardOpenOption.APPEND);
        Files.writeString(p, "custom_id\":\"z\"}\n", StandardOpenOption.APPEND);
        List<String> ids = new ArrayList<>();
        try (ResultLog log = ResultLog.open(p, ids::add)) {
            assertEquals(1, log.records());
        }
        assertEquals(List.of("a"), ids);
        assertEquals("{\"custom_id\":\"a\"}\n", Files.readString(p));
    }

    @Test
    void aRecordWithoutCustomIdIsNotAnAnswer() throws Exception {
        Path p = dir.resolve("out.jsonl");
        Files.writeString(p, "{\"custom_id\":\"a\"}\n{\"id\":1}\n", StandardCharsets.UTF_8);
        try (ResultLog log = ResultLog.open(p, id -> { })) {
            assertEquals(1, log.records());
        }
    }
}
