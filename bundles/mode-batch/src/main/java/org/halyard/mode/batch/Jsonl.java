package org.halyard.mode.batch;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** The batch mode's Jackson configuration (immutable once built). */
final class Jsonl {

    /** Lines must be one JSON value each: trailing tokens are an error, nesting is bounded. */
    static final ObjectMapper MAPPER = create();

    private Jsonl() {
    }

    private static ObjectMapper create() {
        JsonMapper m = JsonMapper.builder()
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.ALWAYS,
                        JsonInclude.Include.ALWAYS))
                .build();
        m.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64)
                .maxStringLength(64 * 1024 * 1024).build());
        return m;
    }
}
