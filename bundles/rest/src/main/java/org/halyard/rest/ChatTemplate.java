package org.halyard.rest;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Renders a model's chat template (Jinja, as Hugging Face and GGUF files carry it) with Jinjava,
 * with the variables those templates expect: {@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token} and the {@code raise_exception} function. Thread safe.
 */
final class ChatTemplate {

    /** Raised by a template's {@code raise_exception(...)}: the conversation does not fit it. */
    static final class TemplateException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateException(String message) {
            super(message);
        }
    }

    private final Jinjava jinjava;

    ChatTemplate() {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        // Jinjava's expression language looks classes up through the context class loader
        Thread.currentThread().setContextClassLoader(ChatTemplate.class.getClassLoader());
        try {
            JinjavaConfig config = JinjavaConfig.newBuilder()
                    .withMaxOutputSize(4L * 1024 * 1024)
                    .withMaxRenderDepth(16)
                    .withFailOnUnknownTokens(false)
                    // message content is data: never render template syntax inside it
                    .withNestedInterpretationEnabled(false)
                    .build();
            this.jinjava = new Jinjava(config);
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                    ChatTemplate.class, "raise", String.class));
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    /** Called by templates as {@code raise_exception(message)}. */
    public static String raise(String message) {
        throw new TemplateException(message);
    }

    /**
     * Renders the conversation.
     *
     * @throws TemplateException when the template refuses the conversation or fails
     */
    String render(String template, List<Map<String, Object>> messages, boolean addGenerationPrompt,
            String bosToken, String eosToken) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(ChatTemplate.class.getClassLoader());
        RenderResult r;
        try {
            r = jinjava.renderForResult(template, ctx);
        } catch (TemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            Throwable c = e;
            while (c != null) {
                if (c instanceof TemplateException t) {
                    throw t;
                }
                c = c.getCause();
            }
            throw new TemplateException("the chat template failed: " + e.getMessage());
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
        List<TemplateError> fatal = r.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            for (TemplateError e : fatal) {
                Throwable c = e.getException();
                while (c != null) {
                    if (c instanceof TemplateException t) {
                        throw t;
                    }
                    c = c.getCause();
                }
            }
            throw new TemplateException("the chat template failed: "
                    + fatal.stream().map(TemplateError::getMessage).collect(Collectors.joining("; ")));
        }
        return r.getOutput();
    }
}
