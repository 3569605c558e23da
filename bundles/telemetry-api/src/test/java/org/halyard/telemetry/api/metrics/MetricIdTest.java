package org.halyard.telemetry.api.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MetricIdTest {

    @Test
    void encodesLabelsSortedByKey() {
        MetricId id = MetricId.of("gen_ai.server.request.duration", "outcome", "ok", "mode", "chat", "model", "demo");
        assertEquals("gen_ai.server.request.duration{mode=chat,model=demo,outcome=ok}", id.encode());
    }

    @Test
    void nameWithoutLabelsEncodesToItself() {
        assertEquals("halyard.memory.heap.used", MetricId.of("halyard.memory.heap.used").encode());
        assertEquals(MetricId.of("jvm.threads"), MetricId.parse("jvm.threads"));
    }

    @Test
    void parseInvertsEncodeEvenWithSeparatorsInValues() {
        MetricId id = MetricId.of("x", "model", "a,b=c{d}\\e", "mode", "", "z", "plain");
        String encoded = id.encode();
        assertEquals(id, MetricId.parse(encoded));
        assertEquals(Map.of("model", "a,b=c{d}\\e", "mode", "", "z", "plain"), MetricId.parse(encoded).labels());
    }

    @Test
    void rejectsMalformedNamesAndKeys() {
        assertThrows(IllegalArgumentException.class, () -> MetricId.of("a{b"));
        assertThrows(IllegalArgumentException.class, () -> MetricId.of("a", "bad key", "v"));
        assertThrows(IllegalArgumentException.class, () -> MetricId.parse("a{b=c"));
        assertThrows(IllegalArgumentException.class, () -> MetricId.parse("a{b}"));
        assertThrows(IllegalArgumentException.class, () -> MetricId.of("a", "odd"));
    }

    @Test
    void familyIdsTakeTheirLabelsInOrder() {
        MetricId id = HalyardMetrics.REQUESTS.id("demo", "chat", "ok");
        assertEquals("halyard.server.requests{mode=chat,model=demo,outcome=ok}", id.encode());
        assertThrows(IllegalArgumentException.class, () -> HalyardMetrics.REQUESTS.id("demo"));
    }

    @Test
    void catalogueNamesAreUniqueAndFindable() {
        for (MetricFamily f : HalyardMetrics.ALL) {
            assertEquals(f, HalyardMetrics.find(f.name()).orElseThrow());
        }
        assertEquals(HalyardMetrics.ALL.size(), HalyardMetrics.ALL.stream().map(MetricFamily::name).distinct().count());
    }
}
