package org.halyard.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ParamsTest {

    static Params read(String json) {
        return Params.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), null, 1000);
    }

    static ApiError.Body error(ApiException e) {
        return ((ApiError.Envelope) e.getResponse().getEntity()).error();
    }

    @Test
    void malformedJsonIs400SayingWhere() {
        ApiException e = assertThrows(ApiException.class, () -> read("{\"model\": "));
        assertEquals(400, e.getResponse().getStatus());
        assertTrue(error(e).message().contains("not valid JSON"), error(e).message());
        assertEquals("invalid_json", error(e).code());
    }

    @Test
    void aBodyThatIsNotAnObjectIs400() {
        ApiException e = assertThrows(ApiException.class, () -> read("[1,2]"));
        assertTrue(error(e).message().contains("must be a JSON object"));
        assertThrows(ApiException.class, () -> read(""));
    }

    @Test
    void oversizedBodiesAre413() {
        ApiException e = assertThrows(ApiException.class, () -> read("{\"prompt\": \"" + "x".repeat(2000) + "\"}"));
        assertEquals(413, e.getResponse().getStatus());
    }

    @Test
    void wrongTypesAndValuesNameTheField() {
        Params p = read("{\"max_tokens\": \"ten\", \"temperature\": 3, \"stop\": [1], \"n\": 1.5, \"stream\": \"yes\"}");
        ApiException e = assertThrows(ApiException.class, () -> p.integer("max_tokens", 1, 100, null));
        assertEquals("max_tokens", error(e).param());
        assertTrue(error(e).message().contains("must be an integer, not a string"), error(e).message());
        e = assertThrows(ApiException.class, () -> p.number("temperature", 0, 2, false, 1));
        assertTrue(error(e).message().contains("at most 2"), error(e).message());
        e = assertThrows(ApiException.class, () -> p.strings("stop", 4));
        assertEquals("stop", error(e).param());
        e = assertThrows(ApiException.class, () -> p.integer("n", 1, 8, 1L));
        assertEquals("n", error(e).param());
        e = assertThrows(ApiException.class, () -> p.bool("stream", false));
        assertEquals("stream", error(e).param());
        assertEquals(7L, read("{\"n\": 7.0}").integer("n", 1, 8, 1L));
        assertEquals(1L, read("{\"n\": null}").integer("n", 1, 8, 1L));
    }
}
