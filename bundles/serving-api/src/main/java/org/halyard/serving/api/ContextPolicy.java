package org.halyard.serving.api;

import java.util.Locale;
import java.util.Objects;

/**
 * What a request does when its prompt plus {@code max_tokens} exceeds the model's context. Chosen
 * per request ({@code context_policy}), else by the caller's API key, else by the serving mode.
 *
 * <pre>
 *   REJECT    refuse at admission (400): the prompt and output must fit the context
 *   TRUNCATE  keep the prompt's last tokens (and its BOS), as many as leave room for max_tokens
 *   SLIDE     keep the first tokens (attention sinks) and a window of the latest ones; the
 *             oldest tokens after the sinks leave the KV cache as new ones come (StreamingLLM),
 *             so prompt and output may be far longer than the context
 *
 *   SLIDE, in slots of the KV cache:   [ sinks | ........ window ........ ]   ≤ windowTokens
 *                                                ▲ slideTokens leave here when it is full
 * </pre>
 *
 * @param overflow which of the three
 * @param sinkTokens SLIDE: tokens kept at the start for ever; 0 for the serving layer's default
 *     (one KV block). Rounded up to whole KV blocks
 * @param windowTokens SLIDE: the most tokens the KV cache holds for the request, sinks included,
 *     at most the model's context; 0 for the model's context
 * @param slideTokens SLIDE: tokens dropped at once when the window is full (whole KV blocks);
 *     0 for a quarter of the window
 */
public record ContextPolicy(Overflow overflow, int sinkTokens, int windowTokens, int slideTokens) {

    /** The three behaviours. */
    public enum Overflow {
        /** Refuse what does not fit. */
        REJECT,
        /** Cut the prompt's start. */
        TRUNCATE,
        /** Attention sinks plus a sliding window. */
        SLIDE;

        /** The name as the REST API spells it ({@code reject}, {@code truncate}, {@code slide}). */
        public String apiName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The value for a name as the REST API spells it, ignoring case; null when unknown. */
        public static Overflow parse(String name) {
            if (name == null) {
                return null;
            }
            for (Overflow o : values()) {
                if (o.name().equalsIgnoreCase(name.trim())) {
                    return o;
                }
            }
            return null;
        }
    }

    /** Refuse what does not fit the context (the default). */
    public static final ContextPolicy REJECT = of(Overflow.REJECT);

    public ContextPolicy {
        Objects.requireNonNull(overflow, "overflow");
        if (sinkTokens < 0 || windowTokens < 0 || slideTokens < 0) {
            throw new IllegalArgumentException("sinkTokens, windowTokens and slideTokens must not be negative: "
                    + sinkTokens + ", " + windowTokens + ", " + slideTokens);
        }
    }

    /** A policy with the default sinks, window and slide. */
    public static ContextPolicy of(Overflow overflow) {
        return new ContextPolicy(overflow, 0, 0, 0);
    }
}
