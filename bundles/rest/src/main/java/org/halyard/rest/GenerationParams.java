package org.halyard.rest;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.SamplingParams;
import org.halyard.serving.api.ContextPolicy;
import org.halyard.serving.api.Criticality;

/**
 * The generation fields that {@code /v1/completions} and {@code /v1/chat/completions} share,
 * validated: OpenAI's sampling fields, vLLM's extensions ({@code top_k}, {@code min_p},
 * {@code repetition_penalty}, {@code ignore_eos}) and Halyard's ({@code mode},
 * {@code criticality}).
 *
 * @param maxTokens {@code max_tokens} (or {@code max_completion_tokens}), null when not given
 * @param sampling everything but the seed, which each choice derives from {@link #seed}
 * @param seed the request's seed, null for a random one per choice
 * @param logprobs alternatives per token to return; -1 for no log-probabilities at all
 * @param contextPolicy Halyard's {@code context_policy}, null when not given
 */
record GenerationParams(Integer maxTokens, SamplingParams sampling, Long seed, List<String> stop, int n,
        boolean stream, boolean includeUsage, int logprobs, boolean ignoreEos, String mode,
        Criticality criticality, String responseFormat, ContextPolicy contextPolicy) {

    /** Parses the shared fields; {@code chat} selects the chat form of {@code logprobs}. */
    static GenerationParams parse(Params p, Model model, Access.Config limits, boolean chat) {
        Long max = p.integer("max_tokens", 1, Integer.MAX_VALUE, null);
        if (chat && max == null) {
            max = p.integer("max_completion_tokens", 1, Integer.MAX_VALUE, null);
        }
        double temperature = p.number("temperature", 0, 2, false, 1.0);
        double topP = p.number("top_p", 0, 1, true, 1.0);
        long topK = p.integer("top_k", -1, Integer.MAX_VALUE, 0L);
        double minP = p.number("min_p", 0, 1, false, 0);
        double repetition = p.number("repetition_penalty", 0, 10, true, 1.0);
        double presence = p.number("presence_penalty", -2, 2, false, 0);
        double frequency = p.number("frequency_penalty", -2, 2, false, 0);
        Long seed = p.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE, null);
        List<String> stop = p.strings("stop", 16);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw Params.invalid("stop", "'stop' sequences must not be empty strings.");
            }
        }
        int n = p.integer("n", 1, limits.maxChoices(), 1L).intValue();
        if (p.has("best_of") && p.integer("best_of", 1, limits.maxChoices(), 1L) != n) {
            throw Params.invalid("best_of", "'best_of' other than n is not supported; leave it out.");
        }
        boolean stream = p.bool("stream", false);
        boolean includeUsage = false;
        JsonNode so = p.node("stream_options");
        if (so != null) {
            if (!so.isObject()) {
                throw Params.invalid("stream_options", "'stream_options' must be an object such as {\"include_usage\": true}.");
            }
            if (!stream) {
                throw Params.invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.");
            }
            JsonNode iu = so.get("include_usage");
            if (iu != null && !iu.isNull() && !iu.isBoolean()) {
                throw Params.invalid("stream_options.include_usage", "'stream_options.include_usage' must be true or false.");
            }
            includeUsage = iu != null && iu.asBoolean(false);
        }
        int logprobs;
        if (chat) {
            boolean want = p.bool("logprobs", false);
            long top = p.integer("top_logprobs", 0, 20, 0L);
            if (top > 0 && !want) {
                throw Params.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true.");
            }
            logprobs = want ? (int) top : -1;
        } else {
            Long lp = p.integer("logprobs", 0, 5, null);
            logprobs = lp == null ? -1 : lp.intValue();
        }
        Map<Integer, Float> bias = logitBias(p, model.tokenizer().vocabSize());
        boolean ignoreEos = p.bool("ignore_eos", false);
        String mode = p.string("mode", null);
        String crit = p.string("criticality", "default");
        Criticality criticality = switch (crit.toLowerCase(java.util.Locale.ROOT)) {
            case "critical" -> Criticality.CRITICAL;
            case "default" -> Criticality.DEFAULT;
            case "sheddable" -> Criticality.SHEDDABLE;
            default -> throw Params.invalid("criticality", "'criticality' must be critical, default or sheddable.");
        };
        String responseFormat = null;
        JsonNode rf = p.node("response_format");
        if (rf != null) {
            if (!rf.isObject() || !rf.path("type").isTextual()) {
                throw Params.invalid("response_format", "'response_format' must be an object with a 'type' "
                        + "(text, json_object or json_schema).");
            }
            if (!rf.path("type").textValue().equals("text")) {
                responseFormat = rf.toString();
            }
        }
        if (p.has("suffix")) {
            throw Params.invalid("suffix", "'suffix' (insertion) is not supported; leave it out.");
        }
        JsonNode tools = p.node("tools");
        if (tools != null && (!tools.isArray() || tools.size() > 0)) {
            throw Params.invalid("tools", "Tool calling is not supported by this server yet; leave 'tools' out.");
        }
        SamplingParams sampling = new SamplingParams((float) temperature, topK < 0 ? 0 : (int) topK, (float) topP,
                (float) minP, (float) repetition, (float) presence, (float) frequency, 0, bias,
                Math.max(0, logprobs));
        return new GenerationParams(max == null ? null : max.intValue(), sampling, seed, stop, n, stream,
                includeUsage, logprobs, ignoreEos, mode, criticality, responseFormat, contextPolicy(p));
    }

    /**
     * {@code context_policy}: {@code "reject"}, {@code "truncate"}, {@code "slide"}, or an object
     * {@code {"policy": "slide", "sink_tokens": 16, "window_tokens": 192, "slide_tokens": 48}}.
     */
    static ContextPolicy contextPolicy(Params p) {
        JsonNode n = p.node("context_policy");
        if (n == null) {
            return null;
        }
        String name;
        Params sizes = null;
        if (n.isTextual()) {
            name = n.textValue();
        } else if (n.isObject()) {
            sizes = Params.of((com.fasterxml.jackson.databind.node.ObjectNode) n);
            name = sizes.string("policy", null);
            if (name == null) {
                throw Params.invalid("context_policy.policy", "'context_policy.policy' is required: reject, truncate or slide.");
            }
        } else {
            throw Params.invalid("context_policy", "'context_policy' must be reject, truncate, slide, or an object "
                    + "such as {\"policy\": \"slide\", \"window_tokens\": 192}.");
        }
        ContextPolicy.Overflow o = ContextPolicy.Overflow.parse(name);
        if (o == null) {
            throw Params.invalid("context_policy", "'context_policy' must be reject, truncate or slide; got '" + name + "'.");
        }
        if (sizes == null) {
            return ContextPolicy.of(o);
        }
        for (java.util.Iterator<String> it = n.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!List.of("policy", "sink_tokens", "window_tokens", "slide_tokens").contains(f)) {
                throw Params.invalid("context_policy." + f, "'context_policy' has no field '" + f + "'; it takes policy, "
                        + "sink_tokens, window_tokens and slide_tokens.");
            }
        }
        return new ContextPolicy(o, sizes.integer("sink_tokens", 0, 1 << 20, 0L).intValue(),
                sizes.integer("window_tokens", 0, 1 << 24, 0L).intValue(),
                sizes.integer("slide_tokens", 0, 1 << 24, 0L).intValue());
    }

    private static Map<Integer, Float> logitBias(Params p, int vocab) {
        JsonNode lb = p.node("logit_bias");
        Map<Integer, Float> bias = new HashMap<>();
        if (lb == null) {
            return bias;
        }
        if (!lb.isObject()) {
            throw Params.invalid("logit_bias", "'logit_bias' must be an object mapping token ids to biases, "
                    + "such as {\"50256\": -100}.");
        }
        if (lb.size() > 1024) {
            throw Params.invalid("logit_bias", "'logit_bias' may hold at most 1024 tokens.");
        }
        Iterator<Map.Entry<String, JsonNode>> it = lb.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            int token;
            try {
                token = Integer.parseInt(e.getKey().trim());
            } catch (NumberFormatException ex) {
                throw Params.invalid("logit_bias", "'logit_bias' keys must be token ids; '" + e.getKey() + "' is not.");
            }
            if (token < 0 || token >= vocab) {
                throw Params.invalid("logit_bias", "'logit_bias' token " + token + " is not in the model's vocabulary of "
                        + vocab + " tokens.");
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || v.doubleValue() < -100 || v.doubleValue() > 100) {
                throw Params.invalid("logit_bias", "'logit_bias' values must be numbers from -100 to 100.");
            }
            bias.put(token, v.floatValue());
        }
        return bias;
    }
}
