// SPIFFE trust bundles in SPIFFE format (SPIFFE Trust Domain and Bundle specification, section 4): the JWKS
// document `spire-server bundle show -format spiffe` prints and SPIRE's bundle publisher writes to `bundle.spiffe`.
// Checked with the rules go-spiffe's spiffebundle.Read applies, which the controller manager's webhook runs on a
// ClusterFederatedTrustDomain's trustDomainBundle.

import { X509Certificate, createHash } from "crypto";

/** One JWK of a SPIFFE bundle. */
export interface SpiffeBundleKey {
    use: "x509-svid" | "jwt-svid";
    kty: string;
    kid?: string;
    x5c?: string[];
    [field: string]: unknown;
}

/** A parsed SPIFFE bundle. */
export interface SpiffeBundle {
    keys: SpiffeBundleKey[];
    spiffe_sequence?: number;
    spiffe_refresh_hint?: number;
}

/**
 * Checks a SPIFFE-format bundle: a JSON object whose `keys` are JWKs with `use` "x509-svid" (exactly one X.509
 * certificate in `x5c`) or "jwt-svid" (with a `kid`), with at least one X.509 authority (what https_spiffe bundle
 * endpoint authentication and mTLS need). When `trustDomain` is given, an authority whose certificate names a
 * SPIFFE URI must name that trust domain. Returns undefined when valid, else the reason.
 */
export function checkSpiffeBundle(text: unknown, trustDomain?: string): string | undefined {
    if (typeof text !== "string" || text.trim() === "") {
        return "is empty; expected the SPIFFE bundle JSON that `spire-server bundle show -format spiffe` prints";
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        return "is not JSON; expected the SPIFFE bundle JSON that `spire-server bundle show -format spiffe` prints";
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc) || !Array.isArray((doc as SpiffeBundle).keys)) {
        return 'has no "keys" list; expected a SPIFFE bundle (a JWKS document)';
    }
    const bundle = doc as SpiffeBundle;
    for (const field of ["spiffe_sequence", "spiffe_refresh_hint"] as const) {
        if (bundle[field] !== undefined && (typeof bundle[field] !== "number" || !Number.isInteger(bundle[field]))) {
            return `has a non-integer "${field}"`;
        }
    }
    let authorities = 0;
    for (const [i, key] of bundle.keys.entries()) {
        if (typeof key !== "object" || key === null) {
            return `has a key #${i} that is not an object`;
        }
        if (typeof key.kty !== "string" || key.kty === "") {
            return `has a key #${i} without "kty"`;
        }
        if (key.use === "x509-svid") {
            if (!Array.isArray(key.x5c) || key.x5c.length !== 1) {
                return `has an x509-svid key #${i} with ${Array.isArray(key.x5c) ? key.x5c.length : 0} certificates in "x5c"; expected exactly 1`;
            }
            const problem = checkAuthorityCertificate(key.x5c[0], trustDomain);
            if (problem !== undefined) {
                return `has an x509-svid key #${i} whose certificate ${problem}`;
            }
            authorities++;
        } else if (key.use === "jwt-svid") {
            if (typeof key.kid !== "string" || key.kid === "") {
                return `has a jwt-svid key #${i} without "kid"`;
            }
        } else {
            return `has a key #${i} with use ${JSON.stringify(key.use)}; expected "x509-svid" or "jwt-svid"`;
        }
    }
    if (authorities === 0) {
        return 'has no "x509-svid" key; expected at least one X.509 authority';
    }
    return undefined;
}

/**
 * Subject alternative names of base64 DER certificates already parsed ("" for none; null when it does not parse as
 * X.509). Parsing one takes about half a millisecond, and the same few bundles are checked again and again: by every
 * run of the program (its own bundle, each peer's), and by `npm run fleet` judging every peer of every stack after
 * each run.
 */
const subjectAltNames = new Map<string, string | null>();

function certificateSubjectAltName(der: string): string | null {
    let known = subjectAltNames.get(der);
    if (known === undefined) {
        try {
            known = new X509Certificate(Buffer.from(der, "base64")).subjectAltName ?? "";
        } catch {
            known = null;
        }
        if (subjectAltNames.size >= 1000) {
            subjectAltNames.clear();
        }
        subjectAltNames.set(der, known);
    }
    return known;
}

function checkAuthorityCertificate(der: unknown, trustDomain: string | undefined): string | undefined {
    if (typeof der !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(der)) {
        return "is not base64 DER";
    }
    const subjectAltName = certificateSubjectAltName(der);
    if (subjectAltName === null) {
        return "does not parse as X.509";
    }
    if (trustDomain !== undefined) {
        const uris = subjectAltName
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s.startsWith("URI:spiffe://"))
            .map((s) => s.slice("URI:".length));
        if (uris.length > 0 && !uris.some((uri) => uri === `spiffe://${trustDomain}` || uri.startsWith(`spiffe://${trustDomain}/`))) {
            return `names ${uris.join(", ")}, not trust domain ${JSON.stringify(trustDomain)}`;
        }
    }
    return undefined;
}

/**
 * The authorities of a SPIFFE bundle, each named by what identifies it across bundle versions: `x509:<SHA-256 of the
 * DER certificate>` for an X.509 authority (its `x5c` certificate), `jwt:<kid>` for a JWT authority. SPIRE keeps an
 * authority in its bundle from the moment it is prepared until it expires, so two bundles of one CA lineage share
 * authorities across a rotation, and a server that lost its keys publishes authorities that share none. Sorted,
 * without duplicates; undefined when the text is not a valid SPIFFE bundle (checkSpiffeBundle).
 */
export function spiffeBundleAuthorities(text: unknown): string[] | undefined {
    if (checkSpiffeBundle(text) !== undefined) {
        return undefined;
    }
    const ids = new Set<string>();
    for (const key of (JSON.parse(text as string) as SpiffeBundle).keys) {
        if (key.use === "x509-svid") {
            ids.add(`x509:${createHash("sha256").update(Buffer.from(key.x5c![0], "base64")).digest("hex")}`);
        } else {
            ids.add(`jwt:${key.kid}`);
        }
    }
    return [...ids].sort();
}
