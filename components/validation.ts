// Validation of user and peer input, as plain functions that declare nothing.
//
// Each `check*` function returns undefined when the value is valid, or a short reason ("contains a space; ...")
// that `describeProblem` turns into the one-line message users see: the key, the quoted value, what is expected.

import { isIP } from "net";

/** The error every validation failure is reported with: its message is written for the person running Pulumi. */
export class ValidationError extends Error {
    constructor(
        message: string,
        /** Each problem found, one line each; `message` joins them. */
        public readonly problems: string[] = [message],
    ) {
        super(message);
        this.name = "ValidationError";
    }
}

/**
 * Throws one ValidationError for all `problems` (nothing when there are none): `<title>: <problem>` for one, or a
 * title line with the count and one indented line per problem.
 */
export function throwIfProblems(title: string, problems: string[]): void {
    if (problems.length === 0) {
        return;
    }
    throw new ValidationError(
        problems.length === 1
            ? `${title}: ${problems[0]}`
            : `${title} (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        problems,
    );
}

/** `key: "value" reason`: the shape of every validation message. */
export function describeProblem(key: string, value: unknown, reason: string): string {
    return `${key}: ${quote(value)} ${reason}`;
}

/** JSON-quotes a value for a message, shortening very long ones so the message stays readable. */
export function quote(value: unknown): string {
    const text = value === undefined ? "undefined" : JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 100)}…(${text.length} characters)` : text;
}

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const MAX_TRUST_DOMAIN_LENGTH = 255;

/**
 * Checks a SPIFFE trust domain name (SPIFFE ID specification, section 2.1): 1 to 255 characters from lowercase
 * letters, digits, dots, dashes and underscores; no scheme, path, port or user info.
 */
export function checkTrustDomain(value: unknown): string | undefined {
    const example = 'e.g. "cluster1.demo"';
    if (typeof value !== "string") {
        return `is not a string; expected a SPIFFE trust domain name, ${example}`;
    }
    if (value.length === 0) {
        return `is empty; expected a SPIFFE trust domain name, ${example}`;
    }
    if (/^spiffe:\/\//i.test(value)) {
        return `includes the "spiffe://" scheme; expected only the trust domain name, ${example}`;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
        return `is a URL; expected only the trust domain name, ${example}`;
    }
    if (value.includes("/")) {
        return `contains a path; expected only the trust domain name, ${example}`;
    }
    if (value.includes(":")) {
        return `contains a port; a SPIFFE trust domain has no port, ${example}`;
    }
    if (value.length > MAX_TRUST_DOMAIN_LENGTH) {
        return `is ${value.length} characters long; a SPIFFE trust domain is at most ${MAX_TRUST_DOMAIN_LENGTH} characters`;
    }
    if (/\s/.test(value)) {
        return `contains whitespace; a SPIFFE trust domain contains only lowercase letters, digits, ".", "-" and "_", ${example}`;
    }
    if (/[A-Z]/.test(value)) {
        return `contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. ${quote(value.toLowerCase())}`;
    }
    if (!TRUST_DOMAIN_CHARS.test(value)) {
        const bad = [...value].find((c) => !TRUST_DOMAIN_CHARS.test(c));
        return `contains ${quote(bad)}; a SPIFFE trust domain contains only lowercase letters, digits, ".", "-" and "_", ${example}`;
    }
    return undefined;
}

const SPIFFE_PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Checks a SPIFFE ID (SPIFFE ID specification, section 2): `spiffe://<trust domain><path>`, where the path is
 * empty or made of "/segment" parts of letters, digits, ".", "-" and "_", none of them "." or "..", with no trailing
 * slash, query or fragment. When `trustDomain` is given, the ID must belong to it.
 */
export function checkSpiffeId(value: unknown, trustDomain?: string): string | undefined {
    if (typeof value !== "string") {
        return 'is not a string; expected a SPIFFE ID such as "spiffe://cluster2.demo/spire/server"';
    }
    if (!value.startsWith("spiffe://")) {
        return 'does not start with "spiffe://"; expected a SPIFFE ID such as "spiffe://cluster2.demo/spire/server"';
    }
    if (value.length > 2048) {
        return `is ${value.length} characters long; a SPIFFE ID is at most 2048 characters`;
    }
    const rest = value.slice("spiffe://".length);
    if (/[?#]/.test(rest)) {
        return "has a query or fragment; a SPIFFE ID has neither";
    }
    const slash = rest.indexOf("/");
    const td = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? "" : rest.slice(slash);
    const tdProblem = checkTrustDomain(td);
    if (tdProblem !== undefined) {
        return `has an invalid trust domain ${quote(td)}: it ${tdProblem}`;
    }
    if (path !== "") {
        const segments = path.slice(1).split("/");
        for (const segment of segments) {
            if (segment === "") {
                return "has an empty path segment or a trailing slash; SPIFFE ID paths have neither";
            }
            if (segment === "." || segment === "..") {
                return `has the path segment ${quote(segment)}; SPIFFE ID paths cannot contain "." or ".." segments`;
            }
            if (!SPIFFE_PATH_SEGMENT.test(segment)) {
                return `has the path segment ${quote(segment)}; SPIFFE ID path segments contain only letters, digits, ".", "-" and "_"`;
            }
        }
    }
    if (trustDomain !== undefined && td !== trustDomain) {
        return `belongs to trust domain ${quote(td)}, not ${quote(trustDomain)}; expected an ID inside ${quote(trustDomain)}`;
    }
    return undefined;
}

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a Kubernetes DNS label (RFC 1123): 1 to 63 lowercase letters, digits and "-", alphanumeric at both ends. */
export function checkDnsLabel(value: unknown): string | undefined {
    if (typeof value !== "string") {
        return "is not a string; expected an RFC 1123 label (lowercase letters, digits and \"-\", at most 63 characters)";
    }
    if (value.length === 0) {
        return "is empty; expected an RFC 1123 label (lowercase letters, digits and \"-\", at most 63 characters)";
    }
    if (value.length > 63) {
        return `is ${value.length} characters long; an RFC 1123 label is at most 63 characters`;
    }
    if (!RFC1123_LABEL.test(value)) {
        return 'is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"';
    }
    return undefined;
}

const DURATION_UNITS_MS: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/**
 * Parses a Go duration ("720h", "5m", "1h30m", "90s"), the format SPIRE and its chart take, into milliseconds.
 * Returns undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
    if (text.length === 0) {
        return undefined;
    }
    let total = 0;
    DURATION_PART.lastIndex = 0;
    let offset = 0;
    while (offset < text.length) {
        DURATION_PART.lastIndex = offset;
        const match = DURATION_PART.exec(text);
        if (match === null) {
            return undefined;
        }
        total += Number(match[1]) * DURATION_UNITS_MS[match[2]];
        offset = DURATION_PART.lastIndex;
    }
    return total;
}

/** Checks a positive Go duration. */
export function checkDuration(value: unknown): string | undefined {
    const expected = 'expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)';
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    const ms = parseDuration(value);
    if (ms === undefined) {
        return `is not a duration; ${expected}`;
    }
    if (ms <= 0) {
        return `is not a positive duration; ${expected}`;
    }
    return undefined;
}

const EXACT_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Checks that a chart version is pinned: one exact semantic version, not a range, tag or wildcard. */
export function checkPinnedVersion(value: unknown): string | undefined {
    const expected = 'expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned';
    if (typeof value !== "string" || value.length === 0) {
        return `is not pinned; ${expected}`;
    }
    if (!EXACT_SEMVER.test(value)) {
        return `is not pinned; ${expected}`;
    }
    return undefined;
}

/** Checks a Helm chart repository address: an https:// URL or an oci:// reference, without credentials. */
export function checkChartRepository(value: unknown): string | undefined {
    const expected = 'expected an "https://" chart repository URL or an "oci://" registry reference without credentials';
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return `is not a URL; ${expected}`;
    }
    if (url.protocol !== "https:" && url.protocol !== "oci:") {
        return `uses ${quote(url.protocol.replace(/:$/, ""))}; ${expected}`;
    }
    if (url.username !== "" || url.password !== "") {
        return `contains credentials; ${expected}`;
    }
    if (url.hostname === "") {
        return `has no host; ${expected}`;
    }
    return undefined;
}

/**
 * Checks a federation bundle endpoint URL as SPIRE and the controller manager's webhook require: https, a host,
 * no user info.
 */
export function checkBundleEndpointUrl(value: unknown): string | undefined {
    const expected = 'expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"';
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return `is not a URL; ${expected}`;
    }
    if (url.protocol !== "https:") {
        return `uses ${quote(url.protocol.replace(/:$/, ""))}; ${expected}`;
    }
    if (url.username !== "" || url.password !== "") {
        return `contains user info; ${expected}`;
    }
    if (url.hostname === "") {
        return `has no host; ${expected}`;
    }
    return undefined;
}

/** Checks a DNS name (RFC 1123 subdomain: dot-separated labels, at most 253 characters), such as a service host. */
export function checkDnsName(value: unknown): string | undefined {
    const expected = 'expected a DNS name of lowercase letters, digits, "-" and ".", e.g. "bookinfo.cluster2.demo"';
    if (typeof value !== "string" || value.length === 0) {
        return `is not a non-empty string; ${expected}`;
    }
    if (value.length > 253) {
        return `is ${value.length} characters long; a DNS name is at most 253 characters`;
    }
    if (!value.split(".").every((label) => label.length <= 63 && RFC1123_LABEL.test(label))) {
        return `is not a DNS name; ${expected}`;
    }
    return undefined;
}

/** Checks a network address a load balancer reports: an IPv4 or IPv6 address, or a DNS name. */
export function checkNetworkAddress(value: unknown): string | undefined {
    if (typeof value === "string" && isIP(value) !== 0) {
        return undefined;
    }
    return checkDnsName(value) === undefined
        ? undefined
        : 'is neither an IP address nor a DNS name; expected a load balancer address such as "203.0.113.20" or "gw.example.com"';
}

/** Returns the first of `values` that occurs more than once, or undefined. */
export function firstDuplicate<T>(values: T[]): T | undefined {
    const seen = new Set<T>();
    for (const value of values) {
        if (seen.has(value)) {
            return value;
        }
        seen.add(value);
    }
    return undefined;
}

/**
 * Checks the id a peer exports for its SPIRE installation (`federation.installationId`): an opaque token, a UUID as
 * this program makes it, that this stack writes into a Kubernetes annotation value and compares for equality.
 */
export function checkInstallationId(value: unknown): string | undefined {
    const expected = 'expected the opaque id the peer exports, of letters, digits, ".", "_" and "-", e.g. "2f1c7a9e-4b0d-4c6e-9a53-7d1e2b8c4f60"';
    if (typeof value !== "string" || value.length === 0) {
        return `is not a non-empty string; ${expected}`;
    }
    if (value.length > 63) {
        return `is ${value.length} characters long; an installation id is at most 63 characters`;
    }
    if (!/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(value)) {
        return `is not an installation id; ${expected}`;
    }
    return undefined;
}
