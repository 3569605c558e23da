package org.halyard.safety.api;

/** What to do with content, mildest first: a decision takes the most severe action. */
public enum Action {
    /** Let it through. */
    ALLOW,
    /** Let it through and record the verdict (and alert on rates). */
    FLAG,
    /** Let it through with the offending parts replaced. */
    REDACT,
    /** Stop it: the request fails (input) or the output ends ({@code content_filter}). */
    BLOCK;

    /** The more severe of the two. */
    public Action max(Action other) {
        return other.ordinal() > ordinal() ? other : this;
    }
}
