package org.halyard.serving.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.halyard.serving.api.RejectedException.Reason;
import org.junit.jupiter.api.Test;

class QuotaLedgerTest {

    final AtomicLong now = new AtomicLong();
    final QuotaLedger ledger = new QuotaLedger(now::get);

    @Test
    void unlimitedQuotasAreNotAccounted() throws RejectedException {
        assertNull(ledger.take("a", Quota.UNLIMITED, 1_000_000));
    }

    @Test
    void concurrentRequestsAreCountedUntilReleasedOnceEach() throws RejectedException {
        Quota q = new Quota(2, 0, 0);
        QuotaLedger.Entry first = ledger.take("a", q, 10);
        QuotaLedger.Entry second = ledger.take("a", q, 10);
        RejectedException e = assertThrows(RejectedException.class, () -> ledger.take("a", q, 10));
        assertEquals(Reason.QUOTA, e.reason());
        assertNotNull(ledger.take("b", q, 10), "another caller has its own account");
        first.release();
        first.release(); // a second release frees nothing more
        assertNotNull(ledger.take("a", q, 10));
        assertThrows(RejectedException.class, () -> ledger.take("a", q, 10));
        second.refund();
        assertNotNull(ledger.take("a", q, 10));
    }

    @Test
    void tokenBucketsRefuseWithTheTimeUntilEnoughIsBackAndRefill() throws RejectedException {
        Quota q = new Quota(0, 0, 600); // 10 tokens a second
        ledger.take("a", q, 500).release();
        RejectedException e = assertThrows(RejectedException.class, () -> ledger.take("a", q, 200));
        assertEquals(Reason.QUOTA, e.reason());
        assertEquals(Duration.ofSeconds(10), e.retryAfter().orElseThrow(), "100 tokens missing at 10 a second");
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        assertNotNull(ledger.take("a", q, 200));
    }

    @Test
    void aRefundGivesTheTokensBackAndACostOverTheMinuteIsInvalid() throws RejectedException {
        Quota q = new Quota(0, 1, 100);
        ledger.take("a", q, 100).refund();
        assertNotNull(ledger.take("a", q, 100), "the refunded request and tokens are back");
        RejectedException e = assertThrows(RejectedException.class, () -> ledger.take("b", q, 101));
        assertEquals(Reason.INVALID, e.reason());
        assertTrue(e.getMessage().contains("lower max_tokens"), e.getMessage());
    }
}
