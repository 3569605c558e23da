package org.halyard.serving.api;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.halyard.serving.api.RejectedException.Reason;

/**
 * What each caller (tenant) of a serving mode is using of its {@link Quota}: requests in flight,
 * and two token buckets, requests and tokens per minute, refilled continuously. A serving mode
 * keeps one ledger and, at admission, {@linkplain #take takes} a request's share before it
 * submits the request; the returned {@link Entry} is {@linkplain Entry#refund refunded} when the
 * submission fails and {@linkplain Entry#release released} when the request ends.
 *
 * <p>A final class every serving mode uses as it is (not an interface to implement); safe for
 * concurrent use.
 */
public final class QuotaLedger {

    private final LongSupplier nanoClock;
    private final Map<String, Account> accounts = new ConcurrentHashMap<>();

    /** @param nanoClock the time the buckets refill by ({@code System::nanoTime}; tests pass their own) */
    public QuotaLedger(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** One caller's use: requests in flight and the contents of its two buckets. */
    private static final class Account {
        int inFlight;
        double requests;
        double tokens;
        long refilledNanos;
        boolean primed;
    }

    /** A request's share of its caller's quota, from {@link #take} until it is given back. */
    public final class Entry {
        private final Account account;
        private final Quota quota;
        private final long cost;
        private boolean done;

        private Entry(Account account, Quota quota, long cost) {
            this.account = account;
            this.quota = quota;
            this.cost = cost;
        }

        /** The request was not admitted after all: its tokens go back to the buckets. */
        public void refund() {
            synchronized (account) {
                if (done) {
                    return;
                }
                done = true;
                account.inFlight--;
                if (quota.tokensPerMinute() > 0) {
                    account.tokens = Math.min(quota.tokensPerMinute(), account.tokens + cost);
                }
                if (quota.requestsPerMinute() > 0) {
                    account.requests = Math.min(quota.requestsPerMinute(), account.requests + 1);
                }
            }
        }

        /** The request ended: it no longer counts as in flight (what it used stays used). */
        public void release() {
            synchronized (account) {
                if (!done) {
                    done = true;
                    account.inFlight--;
                }
            }
        }
    }

    /**
     * Takes one request of {@code cost} tokens (prompt plus {@code max_tokens}) from the caller's
     * quota, or refuses it: {@link Reason#QUOTA} with the time until enough is back, or
     * {@link Reason#INVALID} when the cost alone exceeds the tokens per minute.
     *
     * @return the request's entry; {@code null} when the quota is {@link Quota#unlimited()}
     */
    public Entry take(String tenant, Quota quota, long cost) throws RejectedException {
        if (quota.unlimited()) {
            return null;
        }
        Account a = accounts.computeIfAbsent(tenant, t -> new Account());
        synchronized (a) {
            refill(a, quota);
            if (quota.concurrentRequests() > 0 && a.inFlight >= quota.concurrentRequests()) {
                throw new RejectedException(Reason.QUOTA, "Your API key allows " + quota.concurrentRequests()
                        + " requests at once and that many are running; wait for one to finish.", Duration.ofSeconds(1));
            }
            if (quota.requestsPerMinute() > 0 && a.requests < 1) {
                throw new RejectedException(Reason.QUOTA, "Your API key allows " + quota.requestsPerMinute()
                        + " requests per minute and they are used up; retry after the Retry-After interval.",
                        wait(1 - a.requests, quota.requestsPerMinute()));
            }
            if (quota.tokensPerMinute() > 0) {
                if (cost > quota.tokensPerMinute()) {
                    throw new RejectedException(Reason.INVALID, "The prompt plus max_tokens (" + cost
                            + " tokens) exceeds your API key's " + quota.tokensPerMinute()
                            + " tokens per minute; lower max_tokens or shorten the prompt.");
                }
                if (a.tokens < cost) {
                    throw new RejectedException(Reason.QUOTA, "Your API key allows " + quota.tokensPerMinute()
                            + " tokens per minute (prompt plus max_tokens) and this request needs " + cost
                            + " more than remain; retry after the Retry-After interval.",
                            wait(cost - a.tokens, quota.tokensPerMinute()));
                }
                a.tokens -= cost;
            }
            if (quota.requestsPerMinute() > 0) {
                a.requests -= 1;
            }
            a.inFlight++;
            return new Entry(a, quota, cost);
        }
    }

    private void refill(Account a, Quota q) {
        long now = nanoClock.getAsLong();
        if (!a.primed) {
            a.requests = q.requestsPerMinute();
            a.tokens = q.tokensPerMinute();
            a.refilledNanos = now;
            a.primed = true;
            return;
        }
        double minutes = (now - a.refilledNanos) / 60e9;
        a.refilledNanos = now;
        a.requests = Math.min(q.requestsPerMinute(), a.requests + minutes * q.requestsPerMinute());
        a.tokens = Math.min(q.tokensPerMinute(), a.tokens + minutes * q.tokensPerMinute());
    }

    private static Duration wait(double missing, long perMinute) {
        return Duration.ofSeconds(Math.max(1, (long) Math.ceil(missing * 60.0 / perMinute)));
    }
}
