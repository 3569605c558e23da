package org.halyard.safety.api;

import java.util.Objects;

/**
 * One classifier's judgement of one piece of content.
 *
 * @param classifier the classifier's name
 * @param action what it recommends
 * @param category what it found, for example {@code jailbreak}, {@code pii.email}, {@code toxicity};
 *     empty when nothing
 * @param score its confidence, 0 to 1
 * @param reason one line for the incident log; never the offending content itself
 * @param redacted the text with offending parts replaced, when {@code action} is REDACT; else null
 */
public record Verdict(String classifier, Action action, String category, double score, String reason,
        String redacted) {

    public Verdict {
        Objects.requireNonNull(classifier, "classifier");
        Objects.requireNonNull(action, "action");
        category = category == null ? "" : category;
        reason = reason == null ? "" : reason;
        if (action == Action.REDACT && redacted == null) {
            throw new IllegalArgumentException("a REDACT verdict carries the redacted text");
        }
    }

    /** A verdict that found nothing. */
    public static Verdict allow(String classifier) {
        return new Verdict(classifier, Action.ALLOW, "", 0, "", null);
    }
}
