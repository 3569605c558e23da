package org.halyard.exporter.jsonlog.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RedactorTest {

    @Test
    void emailsAndPhoneNumbers() {
        assertEquals("write to [EMAIL] or call [PHONE] today",
                Redactor.redact("write to Jane.Doe+x@mail.example.co.uk or call +1 (415) 555-0134 today"));
        assertEquals("Phone: [PHONE]", Redactor.redact("Phone: 0490 75 40 81"));
        assertEquals("fax [PHONE]", Redactor.redact("fax 345-899-3560x4587"));
    }

    @Test
    void cardNumbersOnlyWhenTheLuhnCheckPasses() {
        assertEquals("card [CARD] ok", Redactor.redact("card 4111 1111 1111 1111 ok"));
        assertEquals("card [CARD]", Redactor.redact("card 4111-1111-1111-1111"));
        assertTrue(Redactor.luhn("79927398713"));
        assertFalse(Redactor.luhn("4111111111111112"));
        // 16 digits failing Luhn are not a card (and too long for a phone number)
        assertEquals("order 4111111111111112", Redactor.redact("order 4111111111111112"));
    }

    @Test
    void ibansOnlyWhenTheChecksumPasses() {
        assertEquals("to [IBAN] please", Redactor.redact("to DE89 3704 0044 0532 0130 00 please"));
        assertEquals("iban [IBAN]", Redactor.redact("iban gb82west12345698765432"));
        assertFalse(Redactor.validIban("DE00370400440532013000"));
    }

    @Test
    void ipAddressesVersionFourAndSix() {
        assertEquals("from [IP] and [IP] and [IP]", Redactor.redact("from 192.168.10.254 and 2001:db8::8a2e:370:7334 and ::1"));
        assertEquals("version 1.2.3.4.5 and 300.1.1.1", Redactor.redact("version 1.2.3.4.5 and 300.1.1.1"));
        assertEquals("at 12:30:45 use std::vector", Redactor.redact("at 12:30:45 use std::vector"));
    }

    @Test
    void apiKeysTokensAndSecrets() {
        assertEquals("key [API_KEY]", Redactor.redact("key sk-proj-abcdefghijklmnopqrstuvwx1234"));
        assertEquals("aws [API_KEY]", Redactor.redact("aws AKIAIOSFODNN7EXAMPLE"));
        assertEquals("gh [API_KEY]", Redactor.redact("gh ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"));
        assertEquals("Authorization: Bearer [SECRET]", Redactor.redact("Authorization: Bearer abc.DEF-123_456789xyzXYZ"));
        assertEquals("password=[SECRET] user=bob", Redactor.redact("password=hunter2 user=bob"));
        assertEquals("{\"api_key\": [SECRET]}", Redactor.redact("{\"api_key\": \"1234-secret\"}"));
        assertEquals("db postgres://[SECRET]@db:5432/x", Redactor.redact("db postgres://admin:s3cret@db:5432/x"));
        assertEquals("jwt [JWT]", Redactor.redact("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"));
        assertEquals("[PRIVATE_KEY] end", Redactor.redact("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- end"));
    }

    @Test
    void datesTimesAndOrdinaryNumbersStay() {
        String s = "On 2024-01-31 at 10:15:00 we sold 3 items for 12.50 (order 48213, v1.2.3, 31.01.2024, 12/31/24)";
        assertEquals(s, Redactor.redact(s));
    }

    @Test
    void emptyAndNullPassThrough() {
        assertEquals("", Redactor.redact(""));
        assertEquals(null, Redactor.redact(null));
    }

    @Test
    void hostileInputDoesNotBlowUp() {
        // patterns that backtrack catastrophically would not return on these at all
        assertTrue(Redactor.find("1 ".repeat(10_000)).size() > 1000, "runs of digits are redacted");
        assertEquals(0, Redactor.find(":".repeat(20_000)).size());
        assertEquals(0, Redactor.find("a@".repeat(10_000)).size());
        assertEquals(1, Redactor.find("sk-".repeat(5_000)).size(), "one long key-like token");
        assertEquals(0, Redactor.find("password=".repeat(2_000).replace("=", " ")).size());
    }
}
