// Recognising credentials in plain text (Lambda environment values), whatever the variable is called.

// Credentials with a documented, recognisable shape.
const CREDENTIAL_SHAPES: { what: string; pattern: RegExp }[] = [
    { what: "an AWS access key id", pattern: /\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
    { what: "a private key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/ },
    { what: "a Google OAuth client secret", pattern: /\bGOCSPX-[0-9A-Za-z_-]{20,}/ },
    { what: "a Google OAuth refresh token", pattern: /(^|[^0-9A-Za-z])1\/\/[0-9A-Za-z_-]{20,}/ },
    { what: "a Google OAuth access token", pattern: /\bya29\.[0-9A-Za-z_-]{20,}/ },
    { what: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}/ },
    { what: "a Slack token", pattern: /\bxox[abeoprs]-[0-9A-Za-z-]{10,}/ },
    { what: "a GitHub token", pattern: /\b(gh[pousr]_[0-9A-Za-z]{36,}|github_pat_[0-9A-Za-z_]{22,})/ },
    { what: "a Stripe secret key", pattern: /\b[rs]k_live_[0-9A-Za-z]{16,}/ },
    { what: "a JSON Web Token", pattern: /\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{8,}\.[0-9A-Za-z_-]+/ },
    { what: "a URL with a password", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s/@]+@/i },
];

/** Shannon entropy in bits per character. */
export function entropy(text: string): number {
    const counts = new Map<string, number>();
    for (const c of text) {
        counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    return [...counts.values()].reduce((bits, n) => bits - (n / text.length) * Math.log2(n / text.length), 0);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A token that looks machine-random rather than written: 32+ hex digits with letters and digits,
 * or 24+ base64 characters of two or more classes (lower, upper, digit), entropy close to the most
 * its length allows, and under 60% of its letters and digits in words (`Forwarder`, `mail`) or
 * numbers (`123456789012`), which names, paths and ARNs are made of.
 */
function looksRandom(token: string): boolean {
    if (UUID.test(token)) {
        return false;
    }
    if (/^[0-9a-f]{32,}$/i.test(token)) {
        return /[0-9]/.test(token) && /[a-f]/i.test(token) && entropy(token) >= 3;
    }
    const alnum = token.replace(/[^0-9A-Za-z]/g, "");
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((c) => c.test(alnum)).length;
    const inWords = (alnum.match(/[A-Z]?[a-z]{3,}|[0-9]{5,}/g) ?? []).join("").length;
    return token.length >= 24 && classes >= 2 && entropy(token) >= Math.min(Math.log2(token.length) - 0.9, 4.5) && inWords / alnum.length < 0.6;
}

/** What kind of credential the text holds, if it holds one. */
export function credentialIn(text: string): string | undefined {
    const shaped = CREDENTIAL_SHAPES.find(({ pattern }) => pattern.test(text));
    if (shaped) {
        return shaped.what;
    }
    return (text.match(/[0-9A-Za-z+/=_-]{24,}/g) ?? []).some(looksRandom) ? "a long random-looking secret" : undefined;
}
