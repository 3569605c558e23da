package org.halyard.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {

    /** The demo model's template (models/halyard-shakespeare-moe/checkpoint/tokenizer_config.json). */
    static final String DEMO = "{% for message in messages %}{{ bos_token }}{{ message['role'] | upper }}:\n"
            + "{{ message['content'] }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}{{ bos_token }}"
            + "ASSISTANT:\n{% endif %}";

    final ChatTemplate t = new ChatTemplate();

    @Test
    void rendersTheDemoTemplateAsTheReferenceDoes() {
        String out = t.render(DEMO, List.of(Map.of("role", "user", "content", "What news from Verona?")), true,
                "<s>", "</s>");
        // reference-outputs.json, the chat case
        assertEquals("<s>USER:\nWhat news from Verona?</s><s>ASSISTANT:\n", out);
    }

    @Test
    void withoutGenerationPromptTheAssistantTurnIsNotOpened() {
        String out = t.render(DEMO, List.of(Map.of("role", "system", "content", "Be brief."),
                Map.of("role", "user", "content", "hi")), false, "<s>", "</s>");
        assertEquals("<s>SYSTEM:\nBe brief.</s><s>USER:\nhi</s>", out);
    }

    @Test
    void raiseExceptionRefusesTheConversation() {
        String tpl = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}"
                + "{% endif %}ok";
        ChatTemplate.TemplateException e = assertThrows(ChatTemplate.TemplateException.class,
                () -> t.render(tpl, List.of(Map.of("role", "assistant", "content", "x")), true, "", ""));
        assertTrue(e.getMessage().contains("must start with user"), e.getMessage());
        assertEquals("ok", t.render(tpl, List.of(Map.of("role", "user", "content", "x")), true, "", ""));
    }

    @Test
    void contentIsInsertedVerbatimEvenWhenItLooksLikeTemplateSyntax() {
        String out = t.render(DEMO, List.of(Map.of("role", "user", "content", "{{ 7*7 }} {% raw %}")), false, "<s>", "</s>");
        assertEquals("<s>USER:\n{{ 7*7 }} {% raw %}</s>", out);
    }
}
