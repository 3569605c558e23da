package org.halyard.safety.api;

import java.util.List;
import java.util.Objects;

/**
 * What a policy decided for one piece of content.
 *
 * @param action the action taken
 * @param text the text to continue with (redacted when {@code action} is REDACT)
 * @param verdicts the verdicts it was decided from
 * @param policy the deciding policy's name and version, for the audit trail
 * @param reason one line for the client (when blocked) and the incident log
 */
public record Decision(Action action, String text, List<Verdict> verdicts, String policy, String reason) {

    public Decision {
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(text, "text");
        verdicts = List.copyOf(verdicts);
        policy = policy == null ? "" : policy;
        reason = reason == null ? "" : reason;
    }

    /** Whether the content may go on (possibly redacted). */
    public boolean permitted() {
        return action != Action.BLOCK;
    }
}
