package org.halyard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LoadGenTest {

    @Test
    void percentilesAreNearestRank() {
        List<Double> v = List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
        assertEquals(5.0, LoadGen.pct(v, 50));
        assertEquals(9.0, LoadGen.pct(v, 90));
        assertEquals(10.0, LoadGen.pct(v, 99));
        assertEquals("null", LoadGen.percentiles(List.of()));
    }

    @Test
    void onlyChunksWithTextCountAsTokens() {
        assertTrue(LoadGen.hasText("{\"choices\":[{\"index\":0,\"text\":\"ab\",\"finish_reason\":null}]}"));
        assertFalse(LoadGen.hasText("{\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"stop\"}]}"));
        assertFalse(LoadGen.hasText("{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"));
        assertTrue(LoadGen.hasText("{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}"));
        assertFalse(LoadGen.hasText("{\"choices\":[],\"usage\":{\"completion_tokens\":3}}"));
    }

    @Test
    void promptsAreQuotedAsJson() {
        assertEquals("\"a\\n\\\"b\\\"\\u0001\"", LoadGen.quote("a\n\"b\"\u0001"));
    }

    @Test
    void badOptionsAreRefused() {
        LoadGen g = new LoadGen();
        assertThrows(IllegalArgumentException.class, () -> g.parse(new String[] {"--bogus"}));
        assertThrows(IllegalArgumentException.class, () -> g.parse(new String[] {"--concurrency"}));
        g.parse(new String[] {"--concurrency", "8", "--url", "http://h:1/", "--chat"});
        assertEquals(8, g.concurrency);
        assertEquals("http://h:1", g.url);
    }
}
