package org.halyard.shell;

import com.codahale.metrics.Counter;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.Metric;
import com.codahale.metrics.MetricRegistry;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.telemetry.api.Outcome;
import org.halyard.telemetry.api.metrics.BucketHistogram;
import org.halyard.telemetry.api.metrics.HalyardMetrics;
import org.halyard.telemetry.api.metrics.MetricFamily;
import org.halyard.telemetry.api.metrics.MetricId;

/**
 * {@code halyard:metrics}: a readable summary of the telemetry registry: per serving mode and
 * model the requests by outcome, queues, tokens and latency quantiles (estimated from the
 * histogram buckets as Prometheus does); per model the KV cache and mixture-of-experts routing;
 * and the process' memory. Figures are totals since telemetry started.
 */
@Command(scope = "halyard", name = "metrics", description = "Summarises Halyard's metrics per serving mode and model")
@Service
public class MetricsCommand extends HalyardCommandSupport {

    @Option(name = "-m", aliases = "--model", description = "Only this model")
    String model;

    @Option(name = "--mode", description = "Only this serving mode")
    String mode;

    @Override
    public Object execute() {
        List<Found<MetricRegistry>> registries = services(MetricRegistry.class, "(" + HalyardMetrics.REGISTRY + "=*)");
        if (registries.isEmpty()) {
            System.out.println("No metrics: Halyard's telemetry is not running (feature:install halyard-telemetry)");
            return null;
        }
        print(registries.get(0).service(), System.out);
        return null;
    }

    /** Index of a registry by family name, then label set. */
    static Map<String, Map<MetricId, Metric>> index(MetricRegistry registry) {
        Map<String, Map<MetricId, Metric>> byFamily = new TreeMap<>();
        for (Map.Entry<String, Metric> e : registry.getMetrics().entrySet()) {
            try {
                MetricId id = MetricId.parse(e.getKey());
                byFamily.computeIfAbsent(id.name(), k -> new TreeMap<>(java.util.Comparator.comparing(MetricId::encode)))
                        .put(id, e.getValue());
            } catch (IllegalArgumentException ignored) {
                // not Halyard's
            }
        }
        return byFamily;
    }

    void print(MetricRegistry registry, PrintStream out) {
        Map<String, Map<MetricId, Metric>> m = index(registry);
        boolean format = !noFormat;

        // every (model, mode) pair any request or queue metric knows
        TreeSet<String> pairs = new TreeSet<>();
        for (MetricFamily f : List.of(HalyardMetrics.REQUESTS, HalyardMetrics.SCHEDULER_REQUESTS)) {
            for (MetricId id : m.getOrDefault(f.name(), Map.of()).keySet()) {
                if (wanted(id)) {
                    pairs.add(id.label(HalyardMetrics.MODEL) + "\u0000" + id.label(HalyardMetrics.MODE));
                }
            }
        }

        out.println("Requests (since telemetry started)");
        ShellTable requests = new ShellTable().emptyTableText("no requests yet");
        requests.column("Model");
        requests.column("Mode");
        for (Outcome o : Outcome.values()) {
            requests.column(o.label()).alignRight();
        }
        requests.column("Running").alignRight();
        requests.column("Waiting").alignRight();
        requests.column("In tok").alignRight();
        requests.column("Out tok").alignRight();
        requests.column("Cached").alignRight();
        for (String pair : pairs) {
            String[] mm = pair.split("\u0000", -1);
            List<Object> row = new ArrayList<>(List.of(mm[0], mm[1]));
            for (Outcome o : Outcome.values()) {
                row.add(count(m, HalyardMetrics.REQUESTS.id(mm[0], mm[1], o.label())));
            }
            row.add(count(m, HalyardMetrics.SCHEDULER_REQUESTS.id(mm[0], mm[1], "running")));
            row.add(count(m, HalyardMetrics.SCHEDULER_REQUESTS.id(mm[0], mm[1], "waiting")));
            row.add(count(m, HalyardMetrics.TOKENS.id(mm[0], mm[1], "input")));
            row.add(count(m, HalyardMetrics.TOKENS.id(mm[0], mm[1], "output")));
            row.add(count(m, HalyardMetrics.CACHED_TOKENS.id(mm[0], mm[1])));
            requests.addRow().addContent(row);
        }
        requests.print(out, format);

        out.println();
        out.println("Latency (successful requests; p50 / p95 estimated from the histogram buckets)");
        ShellTable latency = new ShellTable().emptyTableText("no successful requests yet");
        latency.column("Model");
        latency.column("Mode");
        latency.column("TTFT p50").alignRight();
        latency.column("TTFT p95").alignRight();
        latency.column("TPOT p50").alignRight();
        latency.column("TPOT p95").alignRight();
        latency.column("E2E p50").alignRight();
        latency.column("E2E p95").alignRight();
        latency.column("Queue p95").alignRight();
        for (String pair : pairs) {
            String[] mm = pair.split("\u0000", -1);
            BucketHistogram.Snapshot e2e = snapshot(m, HalyardMetrics.REQUEST_DURATION.id(mm[0], mm[1], "ok"));
            if (e2e == null || e2e.count() == 0) {
                continue;
            }
            BucketHistogram.Snapshot ttft = snapshot(m, HalyardMetrics.TIME_TO_FIRST_TOKEN.id(mm[0], mm[1]));
            BucketHistogram.Snapshot tpot = snapshot(m, HalyardMetrics.TIME_PER_OUTPUT_TOKEN.id(mm[0], mm[1]));
            BucketHistogram.Snapshot queue = snapshot(m, HalyardMetrics.QUEUE_DURATION.id(mm[0], mm[1]));
            latency.addRow().addContent(mm[0], mm[1], ms(ttft, 0.5), ms(ttft, 0.95), ms(tpot, 0.5), ms(tpot, 0.95),
                    ms(e2e, 0.5), ms(e2e, 0.95), ms(queue, 0.95));
        }
        latency.print(out, format);

        out.println();
        out.println("KV cache");
        ShellTable kv = new ShellTable().emptyTableText("no KV cache open");
        kv.column("Model");
        kv.column("Blocks used").alignRight();
        kv.column("Cached").alignRight();
        kv.column("Free").alignRight();
        kv.column("Memory used").alignRight();
        kv.column("Capacity").alignRight();
        kv.column("Prefix hit").alignRight();
        kv.column("Sequences").alignRight();
        for (MetricId id : m.getOrDefault(HalyardMetrics.KV_CAPACITY.name(), Map.of()).keySet()) {
            String model = id.label(HalyardMetrics.MODEL);
            if (this.model != null && !this.model.equals(model)) {
                continue;
            }
            kv.addRow().addContent(model, count(m, HalyardMetrics.KV_BLOCKS.id(model, "used")),
                    count(m, HalyardMetrics.KV_BLOCKS.id(model, "cached")), count(m, HalyardMetrics.KV_BLOCKS.id(model, "free")),
                    bytes(value(m, HalyardMetrics.KV_MEMORY.id(model, "used"))), bytes(value(m, id)),
                    percent(value(m, HalyardMetrics.KV_PREFIX_HIT_RATIO.id(model))),
                    count(m, HalyardMetrics.KV_SEQUENCES.id(model)));
        }
        kv.print(out, format);

        printRouting(m, out, format);

        out.println();
        out.println("Memory");
        ShellTable mem = new ShellTable();
        mem.column("What");
        mem.column("Now").alignRight();
        mem.column("Limit").alignRight();
        mem.addRow().addContent("heap in use", bytes(value(m, HalyardMetrics.HEAP_USED.id())), bytes(value(m, HalyardMetrics.HEAP_LIMIT.id())));
        mem.addRow().addContent("heap live after GC", bytes(value(m, HalyardMetrics.HEAP_LIVE.id())), bytes(value(m, HalyardMetrics.HEAP_LIMIT.id())));
        mem.addRow().addContent("direct buffers", bytes(value(m, HalyardMetrics.OFFHEAP_USED.id("direct"))), bytes(value(m, HalyardMetrics.OFFHEAP_LIMIT.id())));
        mem.addRow().addContent("mapped files", bytes(value(m, HalyardMetrics.OFFHEAP_USED.id("mapped"))), "");
        mem.addRow().addContent("JVM non-heap", bytes(value(m, HalyardMetrics.OFFHEAP_USED.id("nonheap"))), "");
        mem.addRow().addContent("process resident", bytes(value(m, HalyardMetrics.PROCESS_RESIDENT.id())), bytes(value(m, HalyardMetrics.PROCESS_LIMIT.id())));
        mem.print(out, format);
    }

    private void printRouting(Map<String, Map<MetricId, Metric>> m, PrintStream out, boolean format) {
        Map<MetricId, Metric> tokens = m.getOrDefault(HalyardMetrics.ROUTER_TOKENS.name(), Map.of());
        if (tokens.isEmpty()) {
            return;
        }
        out.println();
        out.println("Mixture-of-experts routing (since telemetry started)");
        ShellTable t = new ShellTable();
        t.column("Model");
        t.column("Layer").alignRight();
        t.column("Tokens").alignRight();
        t.column("Entropy/token").alignRight();
        t.column("Busiest expert").alignRight();
        t.column("Max/mean load").alignRight();
        for (MetricId id : tokens.keySet()) {
            String model = id.label(HalyardMetrics.MODEL);
            String layer = id.label(HalyardMetrics.LAYER);
            if (this.model != null && !this.model.equals(model)) {
                continue;
            }
            long n = count(m, id);
            double entropy = value(m, HalyardMetrics.ROUTER_ENTROPY.id(model, layer));
            long max = 0;
            long sum = 0;
            int experts = 0;
            int busiest = -1;
            for (Map.Entry<MetricId, Metric> e : m.getOrDefault(HalyardMetrics.EXPERT_TOKENS.name(), Map.of()).entrySet()) {
                if (model.equals(e.getKey().label(HalyardMetrics.MODEL)) && layer.equals(e.getKey().label(HalyardMetrics.LAYER))) {
                    long c = count(m, e.getKey());
                    experts++;
                    sum += c;
                    if (c > max) {
                        max = c;
                        busiest = Integer.parseInt(e.getKey().label(HalyardMetrics.EXPERT));
                    }
                }
            }
            t.addRow().addContent(model, layer, n, n == 0 ? "-" : String.format(Locale.ROOT, "%.3f nats", entropy / n),
                    busiest < 0 ? "-" : busiest, sum == 0 ? "-" : String.format(Locale.ROOT, "%.2f", max / (sum / (double) experts)));
        }
        t.print(out, format);
    }

    private boolean wanted(MetricId id) {
        return (model == null || model.equals(id.label(HalyardMetrics.MODEL)))
                && (mode == null || mode.equals(id.label(HalyardMetrics.MODE)));
    }

    private static Metric metric(Map<String, Map<MetricId, Metric>> m, MetricId id) {
        return m.getOrDefault(id.name(), Map.of()).get(id);
    }

    private static long count(Map<String, Map<MetricId, Metric>> m, MetricId id) {
        double v = value(m, id);
        return Double.isNaN(v) ? 0 : Math.round(v);
    }

    private static double value(Map<String, Map<MetricId, Metric>> m, MetricId id) {
        Metric metric = metric(m, id);
        if (metric instanceof Counter c) {
            return c.getCount();
        }
        if (metric instanceof Gauge<?> g && g.getValue() instanceof Number n) {
            return n.doubleValue();
        }
        return Double.NaN;
    }

    private static BucketHistogram.Snapshot snapshot(Map<String, Map<MetricId, Metric>> m, MetricId id) {
        return metric(m, id) instanceof BucketHistogram h ? h.snapshot() : null;
    }

    static String ms(BucketHistogram.Snapshot s, double q) {
        if (s == null || s.count() == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.1f ms", s.quantile(q) * 1000);
    }

    static String bytes(double v) {
        if (Double.isNaN(v) || v < 0) {
            return "-";
        }
        long b = Math.round(v);
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? b + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static String percent(double share) {
        return Double.isNaN(share) ? "-" : String.format(Locale.ROOT, "%.1f%%", share * 100);
    }

    /** For tests. */
    void filter(String model, String mode) {
        this.model = model;
        this.mode = mode;
    }
}
