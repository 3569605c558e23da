package org.halyard.serving.api;

import java.util.List;
import org.halyard.engine.api.TokenLogprob;

/**
 * One generated token as the listener receives it.
 *
 * @param index the token's index in the output (0 first)
 * @param token the token id
 * @param text text that became final with this token: it may be empty (half a UTF-8 character,
 *     or text held back because it could begin a stop sequence) or carry text held back before
 * @param logprob the token's log-probability
 * @param top the most likely alternatives when asked for
 */
public record GeneratedToken(int index, int token, String text, float logprob, List<TokenLogprob> top) {

    public GeneratedToken {
        top = top == null ? List.of() : List.copyOf(top);
    }
}
