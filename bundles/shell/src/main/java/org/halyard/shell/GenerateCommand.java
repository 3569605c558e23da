package org.halyard.shell;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.serving.api.Completion;
import org.halyard.serving.api.GeneratedToken;
import org.halyard.serving.api.GenerationHandle;
import org.halyard.serving.api.GenerationListener;
import org.halyard.serving.api.GenerationRequest;
import org.halyard.serving.api.RejectedException;
import org.halyard.serving.api.ServingMode;

/**
 * {@code halyard:generate}: continues a prompt on a served model through a serving mode (so
 * admission applies as for API clients) and prints the text as it is generated, then the
 * request's figures. Ctrl-C cancels the request.
 */
@Command(scope = "halyard", name = "generate", description = "Generates text from a prompt on a served model")
@Service
public class GenerateCommand extends HalyardCommandSupport {

    @Argument(index = 0, name = "prompt", description = "The prompt text", required = true, multiValued = true)
    List<String> prompt;

    @Option(name = "-m", aliases = "--model", description = "The served model (default: the only one served)")
    String model;

    @Option(name = "-n", aliases = "--max-tokens", description = "Most tokens to generate")
    int maxTokens = 64;

    @Option(name = "-t", aliases = "--temperature", description = "Sampling temperature; 0 is greedy")
    double temperature;

    @Option(name = "-s", aliases = "--seed", description = "Seed of the sampler")
    long seed;

    @Option(name = "--mode", description = "Serving mode")
    String mode = "interactive";

    @Option(name = "--stop", description = "A stop sequence", multiValued = true)
    List<String> stop;

    @Option(name = "--ignore-eos", description = "Keep generating past the end-of-sequence token")
    boolean ignoreEos;

    @Override
    public Object execute() throws Exception {
        List<Found<Model>> models = services(Model.class, null);
        Model m = null;
        for (Found<Model> f : models) {
            if (model == null ? models.size() == 1 : model.equals(f.property(Model.NAME))) {
                m = f.service();
            }
        }
        if (m == null) {
            System.err.println(model == null ? "Name the model with --model; served: " + names(models)
                    : "No model '" + model + "' is served; served: " + names(models));
            return null;
        }
        ServingMode sm = services(ServingMode.class, "(" + ServingMode.MODE + "=" + mode + ")").stream()
                .map(Found::service).findFirst().orElse(null);
        if (sm == null) {
            System.err.println("No serving mode '" + mode + "' is available.");
            return null;
        }
        String text = String.join(" ", prompt);
        int[] tokens = m.tokenizer().encode(text, true, false);
        GenerationRequest request = GenerationRequest.builder("shell-" + UUID.randomUUID(), m.info().name(), tokens)
                .tenant("shell").maxTokens(maxTokens).ignoreEos(ignoreEos)
                .stop(stop == null ? List.of() : stop)
                .sampling(SamplingParams.GREEDY.withTemperature((float) temperature).withSeed(seed))
                .attributes(java.util.Map.of("endpoint", "shell:halyard:generate"))
                .build();
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        GenerationHandle handle;
        try {
            handle = sm.submit(request, new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    events.add(token);
                }

                @Override
                public void onComplete(Completion completion) {
                    events.add(completion);
                }
            });
        } catch (RejectedException e) {
            System.err.println("Refused (" + e.reason() + "): " + e.getMessage());
            return null;
        }
        System.out.print(text);
        System.out.flush();
        Instant start = Instant.now();
        try {
            while (true) {
                Object e = events.poll(1, TimeUnit.SECONDS);
                if (e instanceof GeneratedToken t) {
                    System.out.print(t.text());
                    System.out.flush();
                } else if (e instanceof Completion c) {
                    System.out.println();
                    double seconds = c.totalTime().toNanos() / 1e9;
                    System.out.printf("[%s; %d prompt + %d output tokens; first token %d ms; %.1f tokens/s; %d ms]%n",
                            c.reason().openAi() + c.error().map(x -> ": " + x).orElse(""), c.usage().promptTokens(),
                            c.usage().completionTokens(), c.timeToFirstToken() == null ? -1
                                    : c.timeToFirstToken().toMillis(),
                            seconds == 0 ? 0 : c.usage().completionTokens() / seconds, c.totalTime().toMillis());
                    return null;
                }
            }
        } catch (InterruptedException e) {
            handle.cancel();
            System.out.println();
            System.out.println("[cancelled after " + java.time.Duration.between(start, Instant.now()).toMillis() + " ms]");
            return null;
        }
    }

    private static String names(List<Found<Model>> models) {
        return models.stream().map(f -> String.valueOf(f.property(Model.NAME))).sorted().toList().toString();
    }
}
