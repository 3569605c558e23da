package org.halyard.scheduler.impl;

import java.util.List;

/**
 * Turns the decoded text of a stream into the text a client may see, holding back whatever could
 * still become a stop sequence. Text is released only once no stop sequence can start in it;
 * when one completes, the text before it is released and the rest is dropped.
 *
 * <pre>
 *   stop = ["END"]     pending "abcE"  → release "abc", hold "E"   (E may start END)
 *                      + "N"   → "EN"  → release "",    hold "EN"
 *                      + "D!"  → "END!" → match at 0: release "", stop
 * </pre>
 *
 * Not thread safe: one per request, used by the scheduler's loop.
 */
final class StopMatcher {

    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private final int maxStopLength;
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> s != null && !s.isEmpty()).toList();
        this.maxStopLength = this.stops.stream().mapToInt(String::length).max().orElse(0);
    }

    /** Adds decoded text; returns what may be released now. */
    String add(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        if (stops.isEmpty()) {
            String out = pending.toString();
            pending.setLength(0);
            return out;
        }
        int first = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = pending.substring(0, first);
            pending.setLength(0);
            return out;
        }
        int hold = heldSuffix();
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /** The end of the stream: releases what was held back (no stop sequence completed). */
    String finish() {
        if (stopped) {
            return "";
        }
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    /** Whether a stop sequence matched. */
    boolean stopped() {
        return stopped;
    }

    /** Length of the longest suffix of pending that is a proper prefix of some stop sequence. */
    private int heldSuffix() {
        int best = 0;
        int n = pending.length();
        String tail = pending.substring(Math.max(0, n - maxStopLength));
        for (String s : stops) {
            int max = Math.min(s.length() - 1, tail.length());
            for (int k = max; k > best; k--) {
                if (tail.regionMatches(tail.length() - k, s, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}
