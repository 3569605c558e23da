package org.halyard.mode.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** OpenAI's JSON shapes of files, batches and lists. */
final class Shapes {

    private Shapes() {
    }

    static Map<String, Object> file(FileRecord f, BatchJobs mode) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", f.id());
        m.put("object", "file");
        m.put("bytes", f.bytes());
        m.put("created_at", f.createdAt());
        m.put("expires_at", mode.expiresAt(f).getEpochSecond());
        m.put("filename", f.filename());
        m.put("purpose", f.purpose());
        m.put("status", "processed");
        m.put("status_details", null);
        return m;
    }

    static Map<String, Object> batch(BatchRecord b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id());
        m.put("object", "batch");
        m.put("endpoint", b.endpoint());
        m.put("errors", json(b.errors()));
        m.put("input_file_id", b.inputFileId());
        m.put("completion_window", b.completionWindow());
        m.put("status", b.status());
        m.put("output_file_id", b.ended() ? b.outputFileId() : null);
        m.put("error_file_id", b.ended() ? b.errorFileId() : null);
        m.put("created_at", b.createdAt());
        m.put("in_progress_at", b.inProgressAt());
        m.put("expires_at", b.expiresAt());
        m.put("finalizing_at", b.finalizingAt());
        m.put("completed_at", b.completedAt());
        m.put("failed_at", b.failedAt());
        m.put("expired_at", b.expiredAt());
        m.put("cancelling_at", b.cancellingAt());
        m.put("cancelled_at", b.cancelledAt());
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("total", b.total());
        counts.put("completed", b.completed());
        counts.put("failed", b.failed());
        m.put("request_counts", counts);
        m.put("metadata", json(b.metadata()));
        return m;
    }

    private static JsonNode json(String s) {
        if (s == null) {
            return null;
        }
        try {
            return Jsonl.MAPPER.readTree(s);
        } catch (IOException e) {
            return null;
        }
    }

    /** A cursor page: {@code {"object": "list", "data", "first_id", "last_id", "has_more"}}. */
    static Map<String, Object> list(List<Map<String, Object>> data, boolean hasMore) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "list");
        m.put("data", data);
        m.put("first_id", data.isEmpty() ? null : data.get(0).get("id"));
        m.put("last_id", data.isEmpty() ? null : data.get(data.size() - 1).get("id"));
        m.put("has_more", hasMore);
        return m;
    }
}
