package org.halyard.scheduler.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    @Test
    void holdsBackWhatCouldStartAStopSequenceAndDropsTheMatch() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("abc", m.add("abcE"));
        assertEquals("", m.add("N"));
        assertEquals("", m.add("D!"));
        assertTrue(m.stopped());
        assertEquals("", m.add("more"));
        assertEquals("", m.finish());
    }

    @Test
    void releasesHeldTextWhenTheStopSequenceDoesNotComplete() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("", m.add("EN"));
        assertEquals("ENx", m.add("x"));
        assertEquals("", m.add("E"));
        assertEquals("E", m.finish());
        assertFalse(m.stopped());
    }

    @Test
    void theEarliestOfSeveralStopSequencesWins() {
        StopMatcher m = new StopMatcher(List.of("world", "lo w", ""));
        assertEquals("hel", m.add("hello world"));
        assertTrue(m.stopped());
    }

    @Test
    void withoutStopSequencesEverythingPassesAtOnce() {
        StopMatcher m = new StopMatcher(List.of());
        assertEquals("abc", m.add("abc"));
        assertEquals("", m.finish());
    }

    @Test
    void overlappingPrefixesHoldTheLongestCandidate() {
        StopMatcher m = new StopMatcher(List.of("aab"));
        assertEquals("", m.add("a"));
        assertEquals("", m.add("a"));
        assertEquals("a", m.add("a")); // "aaa": only "aa" can still start "aab"
        assertEquals("", m.add("b"));
        assertTrue(m.stopped());
    }
}
