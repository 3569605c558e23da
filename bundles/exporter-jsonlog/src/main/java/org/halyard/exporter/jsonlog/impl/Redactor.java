package org.halyard.exporter.jsonlog.impl;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds personal data and secrets in text and replaces each with its kind in brackets
 * ({@code [EMAIL]}, {@code [CARD]}, ...). Patterns with a check where one exists: card numbers
 * must pass the Luhn check, IBANs the ISO 13616 mod-97 check, IPv4 octets must be at most 255,
 * IPv6 addresses must parse. Secrets are found by the prefixes of well-known key formats, by
 * {@code Bearer}/{@code Basic} headers, private-key blocks, JWTs, credentials in URLs and
 * {@code password=...}-style assignments (only the value is replaced).
 *
 * <p>Detectors run on the original text; where findings overlap, the earlier detector in
 * {@link Kind} order wins (secrets before cards before phone numbers), then the longer finding.
 * Phone numbers have no checksum, so that detector errs on the side of redacting: a run of 7 to
 * 15 digits in phone-like groups is redacted unless it looks like a date or a time.
 *
 * <p>Thread-safe and stateless.
 */
final class Redactor {

    /** What a finding is, in precedence order. */
    enum Kind {
        PRIVATE_KEY, JWT, API_KEY, SECRET, EMAIL, IBAN, CARD, IP, PHONE
    }

    /** One finding in the original text: {@code [start, end)}. */
    record Finding(Kind kind, int start, int end) {
    }

    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)");
    private static final Pattern JWT = Pattern.compile(
            "\\beyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}");
    private static final Pattern API_KEY = Pattern.compile("(?<![A-Za-z0-9_-])(?:"
            + "sk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}"     // OpenAI, Anthropic
            + "|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"      // Stripe
            + "|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
            + "|glpat-[A-Za-z0-9_-]{20,}"                          // GitLab
            + "|xox[abeprs]-[A-Za-z0-9-]{10,}"                     // Slack
            + "|(?:AKIA|ASIA)[0-9A-Z]{16}"                         // AWS access key ids
            + "|AIza[0-9A-Za-z_-]{35}"                             // Google
            + "|hf_[A-Za-z0-9]{30,}"                               // Hugging Face
            + "|npm_[A-Za-z0-9]{36}"
            + ")");
    /** {@code Bearer xyz}, {@code Basic xyz}: the credential after the scheme. */
    private static final Pattern AUTH_HEADER = Pattern.compile(
            "(?i)\\b(?:bearer|basic|token)\\s+([A-Za-z0-9._~+/=-]{16,})");
    /** {@code password: hunter2}, {@code "api_key" = "..."}: the value after the name. */
    private static final Pattern ASSIGNMENT = Pattern.compile("(?i)\\b(?:password|passwd|pwd|passphrase|secret"
            + "|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key"
            + "|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token)\\b[\"']?\\s*[:=]\\s*"
            + "(\"[^\"\\n]*\"|'[^'\\n]*'|[^\\s,;\"']+)");
    /** {@code scheme://user:password@host}: the user and password. */
    private static final Pattern URL_CREDENTIALS = Pattern.compile("(?i)\\b[a-z][a-z0-9+.-]*://([^/\\s:@]+:[^/\\s@]+)@");
    private static final Pattern EMAIL = Pattern.compile(
            "(?i)(?<![a-z0-9._%+-])[a-z0-9._%+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\\.[a-z]{2,}");
    /** An IBAN written compactly, or in the printed form: groups of four separated by spaces. */
    private static final Pattern IBAN = Pattern.compile("(?i)(?<![a-z0-9])[a-z]{2}\\d{2}(?:[a-z0-9]{11,30}"
            + "|(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,3})?)(?![a-z0-9])");
    private static final Pattern CARD = Pattern.compile("(?<![\\d.-])\\d(?:[ -]?\\d){12,18}(?![\\d])");
    private static final Pattern IPV4 = Pattern.compile(
            "(?<![\\d.])(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}(?![\\d]|\\.\\d)");
    private static final Pattern IPV6 = Pattern.compile("(?i)(?<![0-9a-f:])[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:.]*(?![0-9a-f:])");
    /**
     * Phone-like: an optional + or 00 country prefix, then 2 to 7 groups of digits (parenthesised
     * or not) separated by one space, dot or dash, and an optional extension.
     */
    private static final Pattern PHONE = Pattern.compile(
            "(?<![\\w.+:/-])(?:\\+|00)?(?:\\(\\d{1,5}\\)|\\d{1,5})(?:[ .-]?(?:\\(\\d{1,5}\\)|\\d{1,10})){1,6}"
                    + "(?:\\s?(?:x|ext\\.?)\\s?\\d{1,5})?(?![\\w]|[:/]\\d|\\.\\d)");
    /** 2024-01-31, 31.01.2024, 01/31/24 and the like: a phone candidate that is all date. */
    private static final Pattern DATE = Pattern.compile("^(\\d{4})[-./](\\d{1,2})[-./](\\d{1,2})$"
            + "|^(\\d{1,2})[-./](\\d{1,2})[-./](\\d{2}|\\d{4})$");

    private Redactor() {
    }

    /** Every finding, overlaps resolved, in text order. */
    static List<Finding> find(String text) {
        List<Finding> all = new ArrayList<>();
        // cheap guards first: most text has no '@', no "://", no private key
        boolean anyDigit = hasDigit(text);
        if (text.contains("PRIVATE KEY")) {
            add(all, Kind.PRIVATE_KEY, PRIVATE_KEY, text, 0);
        }
        if (text.contains("eyJ")) {
            add(all, Kind.JWT, JWT, text, 0);
        }
        add(all, Kind.API_KEY, API_KEY, text, 0);
        add(all, Kind.SECRET, AUTH_HEADER, text, 1);
        add(all, Kind.SECRET, ASSIGNMENT, text, 1);
        if (text.contains("://")) {
            add(all, Kind.SECRET, URL_CREDENTIALS, text, 1);
        }
        if (text.indexOf('@') >= 0) {
            add(all, Kind.EMAIL, EMAIL, text, 0);
        }
        if (!anyDigit) {
            return resolve(all);
        }
        Matcher m = IBAN.matcher(text);
        while (m.find()) {
            String s = m.group();
            if (validIban(s)) {
                all.add(new Finding(Kind.IBAN, m.start(), m.end()));
            } else {
                // the printed form may have taken a short word after the IBAN for its last group
                int lastSpace = s.lastIndexOf(' ');
                if (lastSpace > 0 && validIban(s.substring(0, lastSpace))) {
                    all.add(new Finding(Kind.IBAN, m.start(), m.start() + lastSpace));
                }
            }
        }
        m = CARD.matcher(text);
        while (m.find()) {
            String digits = m.group().replaceAll("[^0-9]", "");
            if (digits.length() >= 13 && digits.length() <= 19 && luhn(digits)) {
                all.add(new Finding(Kind.CARD, m.start(), m.end()));
            }
        }
        if (text.indexOf('.') >= 0) {
            add(all, Kind.IP, IPV4, text, 0);
        }
        m = IPV6.matcher(text.indexOf(':') >= 0 ? text : "");
        while (m.find()) {
            if (validIpv6(m.group())) {
                all.add(new Finding(Kind.IP, m.start(), m.end()));
            }
        }
        m = PHONE.matcher(text);
        while (m.find()) {
            String s = m.group();
            int digits = 0;
            for (int i = 0; i < s.length(); i++) {
                if (Character.isDigit(s.charAt(i))) {
                    digits++;
                }
            }
            if (digits >= 7 && digits <= 15 && !isDate(s)) {
                all.add(new Finding(Kind.PHONE, m.start(), m.end()));
            }
        }
        return resolve(all);
    }

    private static boolean hasDigit(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= '0' && c <= '9') {
                return true;
            }
        }
        return false;
    }

    /** The text with every finding replaced by {@code [KIND]}. */
    static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        List<Finding> found = find(text);
        if (found.isEmpty()) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length());
        int at = 0;
        for (Finding f : found) {
            b.append(text, at, f.start()).append('[').append(f.kind().name()).append(']');
            at = f.end();
        }
        return b.append(text, at, text.length()).toString();
    }

    private static void add(List<Finding> out, Kind kind, Pattern p, String text, int group) {
        Matcher m = p.matcher(text);
        while (m.find()) {
            if (m.group(group) != null) {
                out.add(new Finding(kind, m.start(group), m.end(group)));
            }
        }
    }

    /** Keeps, of overlapping findings, the one of the earlier kind, then the longer one. */
    private static List<Finding> resolve(List<Finding> all) {
        all.sort(Comparator.comparing(Finding::kind).thenComparing(f -> f.start() - f.end()));
        // kept findings never overlap, so ordered by start they are ordered by end too: a new one
        // overlaps a kept one only if it overlaps its neighbour on either side
        TreeMap<Integer, Finding> kept = new TreeMap<>();
        for (Finding f : all) {
            Map.Entry<Integer, Finding> before = kept.floorEntry(f.start());
            Map.Entry<Integer, Finding> after = kept.ceilingEntry(f.start());
            if (before != null && before.getValue().end() > f.start() || after != null && after.getKey() < f.end()) {
                continue;
            }
            kept.put(f.start(), f);
        }
        return new ArrayList<>(kept.values());
    }

    /** Whether a phone candidate is a calendar date (year-month-day, day-month-year, month-day-year). */
    static boolean isDate(String s) {
        Matcher d = DATE.matcher(s);
        if (!d.find()) {
            return false;
        }
        if (d.group(1) != null) {
            return monthDay(Integer.parseInt(d.group(2)), Integer.parseInt(d.group(3)));
        }
        int a = Integer.parseInt(d.group(4));
        int b = Integer.parseInt(d.group(5));
        return monthDay(b, a) || monthDay(a, b);
    }

    private static boolean monthDay(int month, int day) {
        return month >= 1 && month <= 12 && day >= 1 && day <= 31;
    }

    /** The Luhn check of a card number. */
    static boolean luhn(String digits) {
        int sum = 0;
        boolean twice = false;
        for (int i = digits.length() - 1; i >= 0; i--) {
            int d = digits.charAt(i) - '0';
            if (twice) {
                d *= 2;
                if (d > 9) {
                    d -= 9;
                }
            }
            sum += d;
            twice = !twice;
        }
        return sum % 10 == 0;
    }

    /** The ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 = 1. */
    static boolean validIban(String candidate) {
        String s = candidate.replace(" ", "").toUpperCase(Locale.ROOT);
        if (s.length() < 15 || s.length() > 34) {
            return false;
        }
        String rearranged = s.substring(4) + s.substring(0, 4);
        int mod = 0;
        for (int i = 0; i < rearranged.length(); i++) {
            char c = rearranged.charAt(i);
            int v;
            if (c >= '0' && c <= '9') {
                v = c - '0';
                mod = (mod * 10 + v) % 97;
            } else if (c >= 'A' && c <= 'Z') {
                v = c - 'A' + 10;
                mod = (mod * 100 + v) % 97;
            } else {
                return false;
            }
        }
        return mod == 1;
    }

    /** Whether a string is an IPv6 address (full, compressed, or with an IPv4 tail). */
    static boolean validIpv6(String s) {
        if (s.length() < 2 || s.length() > 45 || s.chars().noneMatch(Character::isDigit)) {
            // no digit: C++ scopes (Foo::bar) and the like, not addresses
            return false;
        }
        int doubleColon = s.indexOf("::");
        if (doubleColon >= 0 && s.indexOf("::", doubleColon + 1) >= 0) {
            return false;
        }
        String[] groups = s.split(":", -1);
        int count = 0;
        for (int i = 0; i < groups.length; i++) {
            String g = groups[i];
            if (g.isEmpty()) {
                continue;  // part of "::" (or a leading/trailing colon of it)
            }
            if (i == groups.length - 1 && g.contains(".")) {
                if (!IPV4.matcher(g).matches()) {
                    return false;
                }
                count += 2;
                continue;
            }
            if (g.length() > 4 || !g.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                return false;
            }
            count++;
        }
        if (doubleColon < 0) {
            // no "::": exactly eight groups and no empty ones
            return count == 8 && groups.length == 8 || count == 8 && s.contains(".");
        }
        if (s.startsWith(":") && !s.startsWith("::") || s.endsWith(":") && !s.endsWith("::")) {
            return false;
        }
        // "fe80::1", "2001:db8::8a2e:370:7334", "::1"; one group after a "::" mid-text is too thin
        return count < 8 && (count >= 2 || s.startsWith("::") && count == 1);
    }
}
