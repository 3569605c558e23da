package org.halyard.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Drives Halyard's OpenAI-compatible REST API with streaming requests, either at a fixed
 * concurrency (closed loop: each client sends its next request when the last one ends) or at a
 * fixed rate (open loop: Poisson arrivals, whatever the server does), and reports time to first
 * token, inter-token latency, end-to-end latency percentiles and throughput as JSON.
 *
 * <pre>
 *   ./halyard loadgen --concurrency 8 --requests 64 --max-tokens 128
 *   ./halyard loadgen --rate 20 --duration 30 --max-tokens 64
 * </pre>
 *
 * Goodput counts only requests answered in full (HTTP 200 and a finish reason); rejections
 * (429/503) are counted apart with how fast they came.
 */
public final class LoadGen {

    static final String USAGE = """
            ./halyard loadgen [options]   drive the REST API with streaming requests; prints a JSON summary
              --url URL             server (default http://127.0.0.1:8181)
              --model NAME          model (default: the first of GET /v1/models)
              --api-key KEY         sent as Authorization: Bearer KEY
              --concurrency N       closed loop: N clients, each sending its next request when the last ends (default 1)
              --rate R              open loop: R requests per second, Poisson arrivals (overrides --concurrency)
              --requests N          stop after N requests (default 32)
              --duration S          or after S seconds of sending
              --warmup N            requests sent first and not measured (default 2)
              --max-tokens N        max_tokens of each request (default 64)
              --prompt TEXT         the prompt (default: a rotation of Shakespeare openings)
              --chat                use /v1/chat/completions instead of /v1/completions
              --no-ignore-eos       stop at the model's end of text (default: ignore_eos, fixed-length outputs)
              --temperature T       sampling temperature (default 0)
              --criticality C       critical, default or sheddable
              --prompt-file FILE    the prompt is this file's text (long documents for the ultra-long mode)
              --mode NAME           the serving mode of each request (interactive, ultra-long, ...)
              --context-policy P    reject, truncate or slide (Halyard's context_policy)
              --label TEXT          a label copied into the JSON summary
            """;

    static final String[] PROMPTS = {
        "First Citizen:\n", "ROMEO:\nO, ", "KING RICHARD III:\nNow is the winter of our discontent\n",
        "JULIET:\n", "To be, or not to be", "HAMLET:\nWhat a piece of work is a man!\n",
        "MENENIUS:\nI tell you, friends, ", "QUEEN MARGARET:\n",
    };

    String url = "http://127.0.0.1:8181";
    String model;
    String apiKey;
    int concurrency = 1;
    double rate;
    int requests = 32;
    double durationSeconds;
    int warmup = 2;
    int maxTokens = 64;
    String prompt;
    boolean chat;
    boolean ignoreEos = true;
    double temperature;
    String criticality;
    String mode;
    String contextPolicy;
    String label = "";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
            .version(HttpClient.Version.HTTP_1_1).executor(Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "loadgen-http");
                t.setDaemon(true);
                return t;
            })).build();

    /** What one request saw. */
    record Result(int status, boolean ok, long startNanos, long ttftNanos, long endNanos, List<Long> gaps,
            int tokens, String error) {
    }

    public static void main(String[] args) throws Exception {
        LoadGen g = new LoadGen();
        try {
            g.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("loadgen: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
        }
        System.out.println(g.run());
    }

    void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--url" -> { url = need(a, v); i++; }
                case "--model" -> { model = need(a, v); i++; }
                case "--api-key" -> { apiKey = need(a, v); i++; }
                case "--concurrency" -> { concurrency = Integer.parseInt(need(a, v)); i++; }
                case "--rate" -> { rate = Double.parseDouble(need(a, v)); i++; }
                case "--requests" -> { requests = Integer.parseInt(need(a, v)); i++; }
                case "--duration" -> { durationSeconds = Double.parseDouble(need(a, v)); i++; }
                case "--warmup" -> { warmup = Integer.parseInt(need(a, v)); i++; }
                case "--max-tokens" -> { maxTokens = Integer.parseInt(need(a, v)); i++; }
                case "--prompt" -> { prompt = need(a, v); i++; }
                case "--chat" -> chat = true;
                case "--no-ignore-eos" -> ignoreEos = false;
                case "--temperature" -> { temperature = Double.parseDouble(need(a, v)); i++; }
                case "--criticality" -> { criticality = need(a, v); i++; }
                case "--prompt-file" -> {
                    try {
                        prompt = java.nio.file.Files.readString(java.nio.file.Path.of(need(a, v)));
                    } catch (java.io.IOException e) {
                        throw new IllegalArgumentException("cannot read " + v + ": " + e.getMessage());
                    }
                    i++;
                }
                case "--mode" -> { mode = need(a, v); i++; }
                case "--context-policy" -> { contextPolicy = need(a, v); i++; }
                case "--label" -> { label = need(a, v); i++; }
                case "-h", "--help" -> throw new IllegalArgumentException("usage");
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (concurrency < 1 || requests < 1 || maxTokens < 1 || rate < 0) {
            throw new IllegalArgumentException("--concurrency, --requests and --max-tokens must be at least 1");
        }
        url = url.replaceAll("/+$", "");
    }

    private static String need(String option, String value) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    String run() throws Exception {
        if (model == null) {
            model = firstModel();
        }
        for (int i = 0; i < warmup; i++) {
            one(i);
        }
        ConcurrentLinkedQueue<Result> results = new ConcurrentLinkedQueue<>();
        AtomicInteger issued = new AtomicInteger();
        long deadline = durationSeconds > 0 ? System.nanoTime() + (long) (durationSeconds * 1e9) : Long.MAX_VALUE;
        long t0 = System.nanoTime();
        if (rate > 0) {
            // open loop: arrivals do not wait for answers
            ExecutorService pool = Executors.newCachedThreadPool();
            List<Future<?>> all = new ArrayList<>();
            Random rnd = new Random(42);
            long next = System.nanoTime();
            while (issued.get() < requests && System.nanoTime() < deadline) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                int k = issued.getAndIncrement();
                all.add(pool.submit(() -> results.add(one(k))));
                next += (long) (-Math.log(1 - rnd.nextDouble()) / rate * 1e9);
            }
            for (Future<?> f : all) {
                f.get();
            }
            pool.shutdown();
        } else {
            ExecutorService pool = Executors.newFixedThreadPool(concurrency);
            List<Future<?>> all = new ArrayList<>();
            for (int c = 0; c < concurrency; c++) {
                all.add(pool.submit(() -> {
                    int k;
                    while ((k = issued.getAndIncrement()) < requests && System.nanoTime() < deadline) {
                        results.add(one(k));
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
            pool.shutdown();
        }
        long t1 = System.nanoTime();
        return summary(new ArrayList<>(results), (t1 - t0) / 1e9);
    }

    private String firstModel() throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + "/v1/models")).timeout(Duration.ofSeconds(10));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        String body = http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body();
        int i = body.indexOf("\"id\":\"");
        if (i < 0) {
            throw new IllegalStateException("no model served at " + url + ": " + body);
        }
        return body.substring(i + 6, body.indexOf('"', i + 6));
    }

    private String body(int k) {
        String p = prompt != null ? prompt : PROMPTS[k % PROMPTS.length];
        StringBuilder sb = new StringBuilder("{\"model\":").append(quote(model));
        if (chat) {
            sb.append(",\"messages\":[{\"role\":\"user\",\"content\":").append(quote(p)).append("}]");
        } else {
            sb.append(",\"prompt\":").append(quote(p));
        }
        sb.append(",\"max_tokens\":").append(maxTokens).append(",\"temperature\":").append(temperature)
                .append(",\"ignore_eos\":").append(ignoreEos)
                .append(",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
        if (criticality != null) {
            sb.append(",\"criticality\":").append(quote(criticality));
        }
        if (mode != null) {
            sb.append(",\"mode\":").append(quote(mode));
        }
        if (contextPolicy != null) {
            sb.append(",\"context_policy\":").append(quote(contextPolicy));
        }
        return sb.append('}').toString();
    }

    /** Sends one streaming request and times its events. */
    Result one(int k) {
        long start = System.nanoTime();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + (chat ? "/v1/chat/completions" : "/v1/completions")))
                .timeout(Duration.ofSeconds(600)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(k), StandardCharsets.UTF_8));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        try {
            HttpResponse<InputStream> r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() != 200) {
                String err = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
                return new Result(r.statusCode(), false, start, -1, System.nanoTime(), List.of(), 0, err);
            }
            long first = -1;
            long last = -1;
            List<Long> gaps = new ArrayList<>();
            int tokens = 0;
            int usageTokens = -1;
            boolean finished = false;
            String error = null;
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.startsWith("data: ")) {
                        continue;
                    }
                    String data = line.substring(6);
                    if (data.equals("[DONE]")) {
                        break;
                    }
                    long now = System.nanoTime();
                    if (data.startsWith("{\"error\"")) {
                        error = data;
                        continue;
                    }
                    if (data.contains("\"finish_reason\":\"")) {
                        finished = true;
                    }
                    int u = data.indexOf("\"completion_tokens\":");
                    if (u >= 0) {
                        usageTokens = Integer.parseInt(data.substring(u + 20).replaceAll("^(\\d+).*$", "$1"));
                    }
                    if (hasText(data)) {
                        tokens++;
                        if (first < 0) {
                            first = now;
                        } else {
                            gaps.add(now - last);
                        }
                        last = now;
                    }
                }
            }
            long end = System.nanoTime();
            boolean ok = finished && error == null;
            return new Result(200, ok, start, first < 0 ? -1 : first - start, end, gaps,
                    usageTokens >= 0 ? usageTokens : tokens, error);
        } catch (IOException | InterruptedException e) {
            return new Result(0, false, start, -1, System.nanoTime(), List.of(), 0, e.toString());
        }
    }

    /** Whether a chunk carries output text (not the role chunk, a closing chunk or the usage chunk). */
    static boolean hasText(String data) {
        int i = data.indexOf("\"text\":\"");
        if (i < 0) {
            i = data.indexOf("\"content\":\"");
            if (i < 0) {
                return false;
            }
            return data.charAt(i + 11) != '"';
        }
        return data.charAt(i + 8) != '"';
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    String summary(List<Result> all, double seconds) {
        List<Result> ok = all.stream().filter(Result::ok).toList();
        List<Result> rejected = all.stream().filter(r -> r.status() == 429 || r.status() == 503).toList();
        long failed = all.size() - ok.size() - rejected.size();
        long tokens = ok.stream().mapToLong(Result::tokens).sum();
        List<Double> ttft = ms(ok.stream().filter(r -> r.ttftNanos() >= 0).map(Result::ttftNanos).toList());
        List<Double> itl = ms(ok.stream().flatMap(r -> r.gaps().stream()).toList());
        List<Double> e2e = ms(ok.stream().map(r -> r.endNanos() - r.startNanos()).toList());
        List<Double> rej = ms(rejected.stream().map(r -> r.endNanos() - r.startNanos()).toList());
        StringBuilder sb = new StringBuilder("{");
        field(sb, "label", quote(label));
        field(sb, "model", quote(model));
        field(sb, "endpoint", quote(chat ? "/v1/chat/completions" : "/v1/completions"));
        field(sb, "mode", quote(rate > 0 ? "rate" : "concurrency"));
        field(sb, "concurrency", rate > 0 ? "null" : Integer.toString(concurrency));
        field(sb, "rate_rps", rate > 0 ? fmt(rate) : "null");
        field(sb, "max_tokens", Integer.toString(maxTokens));
        field(sb, "requests", Integer.toString(all.size()));
        field(sb, "ok", Integer.toString(ok.size()));
        field(sb, "rejected", Integer.toString(rejected.size()));
        field(sb, "failed", Long.toString(failed));
        field(sb, "duration_s", fmt(seconds));
        field(sb, "output_tokens", Long.toString(tokens));
        field(sb, "goodput_rps", fmt(ok.size() / seconds));
        field(sb, "output_tokens_per_s", fmt(tokens / seconds));
        field(sb, "ttft_ms", percentiles(ttft));
        field(sb, "itl_ms", percentiles(itl));
        field(sb, "e2e_ms", percentiles(e2e));
        field(sb, "rejection_ms", percentiles(rej));
        if (failed > 0) {
            field(sb, "first_failure", quote(all.stream().filter(r -> !r.ok() && r.status() != 429 && r.status() != 503)
                    .map(r -> r.status() + " " + r.error()).findFirst().orElse("")));
        }
        sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
    }

    private static void field(StringBuilder sb, String name, String value) {
        sb.append('"').append(name).append("\":").append(value).append(',');
    }

    private static List<Double> ms(List<Long> nanos) {
        List<Double> out = new ArrayList<>(nanos.size());
        for (long n : nanos) {
            out.add(n / 1e6);
        }
        Collections.sort(out);
        return out;
    }

    static String percentiles(List<Double> sorted) {
        if (sorted.isEmpty()) {
            return "null";
        }
        double mean = sorted.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        return "{\"n\":" + sorted.size() + ",\"mean\":" + fmt(mean) + ",\"p50\":" + fmt(pct(sorted, 50)) + ",\"p90\":"
                + fmt(pct(sorted, 90)) + ",\"p99\":" + fmt(pct(sorted, 99)) + ",\"max\":"
                + fmt(sorted.get(sorted.size() - 1)) + "}";
    }

    /** Nearest-rank percentile of a sorted list. */
    static double pct(List<Double> sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }
}
