package org.halyard.kvcache.api;

import java.util.List;

/**
 * The result of {@link KvCache#check()}.
 *
 * @param consistent whether every invariant held
 * @param problems what did not hold, one line each
 * @param dropped whether the cache was dropped because of them
 */
public record KvCheck(boolean consistent, List<String> problems, boolean dropped) {

    public KvCheck {
        problems = List.copyOf(problems);
    }
}
