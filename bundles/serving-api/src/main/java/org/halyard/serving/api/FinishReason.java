package org.halyard.serving.api;

/** Why a generation ended (OpenAI's {@code finish_reason} where one exists). */
public enum FinishReason {
    /** The model ended the text (EOS) or a stop sequence matched: {@code stop}. */
    STOP("stop"),
    /** {@code max_tokens} or the context was reached: {@code length}. */
    LENGTH("length"),
    /** A safety policy stopped the output: {@code content_filter}. */
    CONTENT_FILTER("content_filter"),
    /** The client went away or cancelled. */
    CANCELLED("cancelled"),
    /** The request's deadline passed. */
    DEADLINE("deadline"),
    /** Something failed; {@link Completion#error()} says what. */
    ERROR("error");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    /** The value of OpenAI's {@code finish_reason}. */
    public String openAi() {
        return openAi;
    }
}
