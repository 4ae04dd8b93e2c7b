// Validation of user and peer input, as plain functions that declare nothing.
//
// Each `check*` function returns undefined when the value is valid, or a short reason ("contains a space; ...")
// that `describeProblem` turns into the one-line message users see: the key, the quoted value, what is expected.

import * as pulumi from "@pulumi/pulumi";
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
        problems.length === 1 ? `${title}: ${problems[0]}` : `${title} (${problems.length} problems):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        problems,
    );
}

/** `key: "value" reason`: the shape of every validation message. */
export function describeProblem(key: string, value: unknown, reason: string): string {
    return `${key}: ${quote(value)} ${reason}`;
}

/**
 * The problem of a component argument that may be an Output (`pulumi.Input`), when its value is known at construction
 * (a plain value): `key: "value" reason`, or undefined when it is valid or not known yet. A component collects these
 * with its other problems into one ValidationError before it declares anything; checkedInput checks the others.
 */
export function knownInputProblem(key: string, value: unknown, check: (v: unknown) => string | undefined): string | undefined {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return undefined;
    }
    const problem = check(value);
    return problem === undefined ? undefined : describeProblem(key, value, problem);
}

/**
 * A component argument that may be an Output (`pulumi.Input`, e.g. the name of a Namespace the caller creates), as an
 * Output checked once it resolves: a bad value fails the deployment with the message a plain value gets at
 * construction (`<title>: key: "value" reason`), thrown as a ValidationError inside the apply, so no resource that
 * takes it is created. A value unknown in a preview is checked by the update. Plain values are checked twice (also by
 * knownInputProblem, with the component's other problems, before anything is declared); the second check passes.
 */
export function checkedInput(title: string, key: string, value: pulumi.Input<string>, check: (v: unknown) => string | undefined): pulumi.Output<string> {
    return pulumi.output(value).apply((resolved) => {
        const problem = check(resolved);
        if (problem !== undefined) {
            throw new ValidationError(`${title}: ${describeProblem(key, resolved, problem)}`);
        }
        return resolved;
    });
}

/** JSON-quotes a value for a message, shortening very long ones so the message stays readable. */
export function quote(value: unknown): string {
    const text = value === undefined ? "undefined" : JSON.stringify(value);
    return text.length > 120 ? `${text.slice(0, 100)}…(${text.length} characters)` : text;
}

const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const MAX_TRUST_DOMAIN_LENGTH = 255;
/** Istio's DNS label (pkg/config/labels/instance.go IsDNS1123Label: dns1123LabelFmt, DNS1123LabelMaxLength 63). */
const ISTIO_DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const MAX_DNS_LABEL_LENGTH = 63;

/**
 * Checks a trust domain as both of its consumers take it, since SPIRE and Istio's `meshConfig.trustDomain` get the
 * same value (and peers get it as `trustDomainAliases`):
 * - the SPIFFE ID specification (section 2.1), which SPIRE enforces: 1 to 255 characters from lowercase letters,
 *   digits, ".", "-" and "_"; no scheme, path, port or user info;
 * - Istio 1.30.3, pkg/config/validation/agent/validation.go ValidateTrustDomain (istiod refuses a mesh config that
 *   fails it): the value split at "." must be DNS labels (pkg/config/labels IsDNS1123Label: 1 to 63 letters, digits
 *   and "-", alphanumeric at both ends), so no "_", no empty label (".demo", "a..b"), no label starting or ending
 *   with "-", none over 63 characters. Istio allows one trailing dot ("istio.io."); this program does not: a peer
 *   names its ClusterFederatedTrustDomain after the trust domain (federation.ts federatedTrustDomainName) and a
 *   Kubernetes object name (apimachinery IsDNS1123Subdomain) cannot end with a dot.
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
        return `contains whitespace; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), ${example}`;
    }
    if (/[A-Z]/.test(value)) {
        return `contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. ${quote(value.toLowerCase())}`;
    }
    if (!TRUST_DOMAIN_CHARS.test(value)) {
        const bad = [...value].find((c) => !TRUST_DOMAIN_CHARS.test(c));
        return `contains ${quote(bad)}; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), ${example}`;
    }
    // From here on the value is a valid SPIFFE trust domain: what Istio (and Kubernetes object names) add.
    const istio = "Istio's meshConfig.trustDomain takes only dot-separated DNS labels";
    if (value.includes("_")) {
        return `contains "_", which SPIFFE allows but ${istio} (letters, digits and "-"), ${example}`;
    }
    if (value.endsWith(".")) {
        return (
            'ends with "."; a peer names its ClusterFederatedTrustDomain after the trust domain and a Kubernetes name cannot end with ".", ' +
            `so write it without the trailing dot, e.g. ${quote(value.replace(/\.+$/, "") || "cluster1.demo")}`
        );
    }
    const labels = value.split(".");
    if (labels.some((label) => label === "")) {
        return `has an empty label (it starts with "." or contains ".."); ${istio}, ${example}`;
    }
    const long = labels.find((label) => label.length > MAX_DNS_LABEL_LENGTH);
    if (long !== undefined) {
        return `has a label of ${long.length} characters; ${istio} of at most ${MAX_DNS_LABEL_LENGTH} characters each, ${example}`;
    }
    const dashed = labels.find((label) => !ISTIO_DNS1123_LABEL.test(label));
    if (dashed !== undefined) {
        return `has the label ${quote(dashed)}, which starts or ends with "-"; ${istio}, each starting and ending with a letter or digit, ${example}`;
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

/** Checks a SPIFFE ID that names a workload: a valid SPIFFE ID with a path. */
export function checkWorkloadSpiffeId(value: unknown): string | undefined {
    const problem = checkSpiffeId(value);
    if (problem !== undefined) {
        return problem;
    }
    if (!/^spiffe:\/\/[^/]+\/./.test(value as string)) {
        return "has no path, so it names a whole trust domain; " + 'expected a workload\'s ID such as "spiffe://cluster1.demo/ns/default/sa/curl-greeter"';
    }
    return undefined;
}

const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a Kubernetes DNS label (RFC 1123): 1 to 63 lowercase letters, digits and "-", alphanumeric at both ends. */
export function checkDnsLabel(value: unknown): string | undefined {
    if (typeof value !== "string") {
        return 'is not a string; expected an RFC 1123 label (lowercase letters, digits and "-", at most 63 characters)';
    }
    if (value.length === 0) {
        return 'is empty; expected an RFC 1123 label (lowercase letters, digits and "-", at most 63 characters)';
    }
    if (value.length > 63) {
        return `is ${value.length} characters long; an RFC 1123 label is at most 63 characters`;
    }
    if (!RFC1123_LABEL.test(value)) {
        return 'is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"';
    }
    return undefined;
}

/** Nanoseconds per unit of Go's time.ParseDuration (src/time/format.go unitMap; "µs" is U+00B5, "μs" U+03BC). */
const GO_DURATION_UNITS_NS: Record<string, bigint> = {
    ns: 1n,
    us: 1_000n,
    µs: 1_000n,
    μs: 1_000n,
    ms: 1_000_000n,
    s: 1_000_000_000n,
    m: 60_000_000_000n,
    h: 3_600_000_000_000n,
};
const TWO_TO_63 = 1n << 63n;
/** The longest duration Go represents: time.Duration is an int64 of nanoseconds (1<<63 - 1 ns). */
export const MAX_GO_DURATION = "2562047h47m16.854775807s";

/** What Go's time.ParseDuration makes of a text: nanoseconds, or its error ("invalid duration", an overflow too). */
export type GoDuration = { ns: bigint } | { error: string };

/**
 * Go's time.ParseDuration, ported line by line (golang/go src/time/format.go: ParseDuration, leadingInt,
 * leadingFraction), which is how SPIRE reads `ca_ttl` and `refresh_hint` (spiffe/spire cmd/spire-server/cli/run/run.go).
 * The grammar is `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` or "0"; a value over 1<<63-1 ns is "invalid duration".
 */
export function parseGoDuration(text: string): GoDuration {
    const invalid = { error: "invalid duration" };
    let s = text;
    let d = 0n;
    let neg = false;
    if (s !== "" && (s[0] === "-" || s[0] === "+")) {
        neg = s[0] === "-";
        s = s.slice(1);
    }
    if (s === "0") {
        return { ns: 0n };
    }
    if (s === "") {
        return invalid;
    }
    const isDigit = (c: string) => c >= "0" && c <= "9";
    while (s !== "") {
        if (!(s[0] === "." || isDigit(s[0]))) {
            return invalid;
        }
        // leadingInt: [0-9]*, failing when it passes 1<<63.
        let v = 0n;
        let i = 0;
        for (; i < s.length && isDigit(s[i]); i++) {
            if (v > TWO_TO_63 / 10n) {
                return invalid;
            }
            v = v * 10n + BigInt(s.charCodeAt(i) - 48);
            if (v > TWO_TO_63) {
                return invalid;
            }
        }
        const pre = i > 0;
        s = s.slice(i);
        // leadingFraction: (\.[0-9]*)?, which stops adding precision instead of overflowing.
        let f = 0n;
        let scale = 1;
        let post = false;
        if (s !== "" && s[0] === ".") {
            s = s.slice(1);
            let j = 0;
            let overflow = false;
            for (; j < s.length && isDigit(s[j]); j++) {
                if (overflow) {
                    continue;
                }
                if (f > (TWO_TO_63 - 1n) / 10n) {
                    overflow = true;
                    continue;
                }
                const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
                if (y > TWO_TO_63) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = j > 0;
            s = s.slice(j);
        }
        if (!pre && !post) {
            return invalid;
        }
        let u = 0;
        while (u < s.length && !(s[u] === "." || isDigit(s[u]))) {
            u++;
        }
        if (u === 0) {
            return { error: "missing unit in duration" };
        }
        const unitName = s.slice(0, u);
        s = s.slice(u);
        const unit = GO_DURATION_UNITS_NS[unitName];
        if (unit === undefined) {
            return { error: `unknown unit ${JSON.stringify(unitName)} in duration` };
        }
        if (v > TWO_TO_63 / unit) {
            return invalid;
        }
        v *= unit;
        if (f > 0n) {
            // float64(f) * (float64(unit) / scale), truncated, as Go computes it.
            v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
            if (v > TWO_TO_63) {
                return invalid;
            }
        }
        d += v;
        if (d > TWO_TO_63) {
            return invalid;
        }
    }
    if (neg) {
        return { ns: -d };
    }
    if (d > TWO_TO_63 - 1n) {
        return invalid;
    }
    return { ns: d };
}

/**
 * Parses a Go duration ("720h", "5m", "1h30m", "90s"), the format SPIRE and its chart take, into milliseconds.
 * Returns undefined when Go's time.ParseDuration refuses the text.
 */
export function parseDuration(text: string): number | undefined {
    const parsed = parseGoDuration(text);
    return "ns" in parsed ? Number(parsed.ns) / 1e6 : undefined;
}

const DURATION_EXPECTED = 'expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)';

/** Checks a positive Go duration that Go's time.ParseDuration (and so SPIRE) accepts. */
export function checkDuration(value: unknown): string | undefined {
    if (typeof value !== "string") {
        return `is not a string; ${DURATION_EXPECTED}`;
    }
    if (value === "") {
        return `is empty; ${DURATION_EXPECTED}`;
    }
    const parsed = parseGoDuration(value);
    if ("error" in parsed) {
        // Well-formed but too long: Go answers "invalid duration" for an overflow too; say which it is.
        const wellFormed = /^[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$/.test(value) && /[0-9]/.test(value);
        return wellFormed
            ? `is longer than a Go duration can be (at most ${quote(MAX_GO_DURATION)}; time.ParseDuration: "invalid duration"); ${DURATION_EXPECTED}`
            : `is not a duration; ${DURATION_EXPECTED}`;
    }
    if (parsed.ns <= 0n) {
        return `is not a positive duration; ${DURATION_EXPECTED}`;
    }
    return undefined;
}

/**
 * The smallest refresh hint SPIRE honours: spiffe/spire pkg/common/bundleutil/refreshhint.go MinimumRefreshHint
 * (one minute). A smaller `refresh_hint` only makes the server warn "Bundle endpoint refresh hint set too low. SPIRE
 * will not refresh more often than 1 minute" (cmd/spire-server/cli/run/run.go), and peers still refresh once a minute.
 */
export const MIN_REFRESH_HINT = "1m";

/** Checks the federation refresh hint: a Go duration of at least MIN_REFRESH_HINT. */
export function checkRefreshHint(value: unknown): string | undefined {
    const problem = checkDuration(value);
    if (problem !== undefined) {
        return problem;
    }
    if ((parseDuration(value as string) as number) < (parseDuration(MIN_REFRESH_HINT) as number)) {
        return (
            `is shorter than ${quote(MIN_REFRESH_HINT)}, SPIRE's minimum refresh hint (peers never refresh a bundle more often than once a minute); ` +
            'expected at least "1m", e.g. "5m"'
        );
    }
    return undefined;
}

/** RFC 5280 appendix A.1 upper bounds of the X.509 subject attributes this program sets. */
export const X509_SUBJECT_UPPER_BOUNDS = { commonName: 64, organization: 64 } as const;

/**
 * Checks an X.509 subject attribute of the SPIRE CA: non-empty and within RFC 5280's upper bound
 * (ub-common-name and ub-organization-name are both 64 characters).
 */
export function checkX509SubjectAttribute(value: unknown, attribute: keyof typeof X509_SUBJECT_UPPER_BOUNDS): string | undefined {
    const name = attribute === "commonName" ? "common name (CN)" : "organization (O)";
    const bound = X509_SUBJECT_UPPER_BOUNDS[attribute];
    const ub = attribute === "commonName" ? "ub-common-name" : "ub-organization-name";
    if (typeof value !== "string") {
        return `is not a string; expected an X.509 ${name} of 1 to ${bound} characters`;
    }
    if (value.trim().length === 0) {
        return `is empty; expected an X.509 ${name} of 1 to ${bound} characters`;
    }
    const length = [...value].length;
    if (length > bound) {
        return `is ${length} characters long; RFC 5280 (${ub}) allows an X.509 ${name} of at most ${bound} characters`;
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

/** Checks a TCP port number. */
export function checkPort(value: unknown): string | undefined {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
        return "is not a port; expected an integer from 1 to 65535";
    }
    return undefined;
}

/** Checks that a container image reference is pinned: a tag other than "latest", or a digest. */
export function checkPinnedImage(value: unknown): string | undefined {
    const expected = 'expected an image pinned by tag or digest, e.g. "docker.io/curlimages/curl:8.16.0"';
    if (typeof value !== "string" || value.length === 0) {
        return `is not an image reference; ${expected}`;
    }
    if (/@sha256:[0-9a-f]{64}$/.test(value)) {
        return undefined;
    }
    const lastSegment = value.slice(value.lastIndexOf("/") + 1);
    const colon = lastSegment.lastIndexOf(":");
    if (colon === -1) {
        return `has no tag, so it floats with "latest"; ${expected}`;
    }
    if (lastSegment.slice(colon + 1) === "latest") {
        return `uses the floating tag "latest"; ${expected}`;
    }
    return undefined;
}

/** What Go's url.Parse makes of a URL: the parts the checks below read, or Go's error. */
export type GoUrl = { scheme: string; opaque: string; hasUser: boolean; host: string; path: string; error?: undefined } | { error: string };

/** Go net/url shouldEscape for the modes Parse validates (host, zone, user info, path, fragment). */
function goShouldEscape(c: string, mode: "host" | "zone" | "userPassword" | "path" | "fragment"): boolean {
    if (/[A-Za-z0-9]/.test(c)) {
        return false;
    }
    if ((mode === "host" || mode === "zone") && "!$&'()*+,;=:[]<>\"".includes(c)) {
        return false;
    }
    if ("-_.~".includes(c)) {
        return false;
    }
    if ("$&+,/:;=?@".includes(c)) {
        switch (mode) {
            case "path":
                return c === "?";
            case "userPassword":
                return c === "@" || c === "/" || c === "?" || c === ":";
            case "fragment":
                return false;
        }
    }
    if (mode === "fragment" && "!()*".includes(c)) {
        return false;
    }
    return true;
}

/** Go net/url unescape's validation: undefined when `s` is well escaped for the mode, else Go's error text. */
function goUnescapeError(s: string, mode: "host" | "zone" | "userPassword" | "path" | "fragment"): string | undefined {
    const ishex = (c: string | undefined) => c !== undefined && /[0-9A-Fa-f]/.test(c);
    for (let i = 0; i < s.length;) {
        if (s[i] === "%") {
            if (i + 2 >= s.length || !ishex(s[i + 1]) || !ishex(s[i + 2])) {
                return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
            }
            // RFC 3986: in a host, %-encoding is only for non-ASCII bytes (and %25 for IPv6 zones, RFC 6874).
            if (mode === "host" && parseInt(s[i + 1], 16) < 8 && s.slice(i, i + 3) !== "%25") {
                return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
            }
            if (mode === "zone") {
                const v = String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
                if (s.slice(i, i + 3) !== "%25" && v !== " " && goShouldEscape(v, "host")) {
                    return `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`;
                }
            }
            i += 3;
        } else {
            if ((mode === "host" || mode === "zone") && s.charCodeAt(i) < 0x80 && goShouldEscape(s[i], mode)) {
                return `invalid character ${JSON.stringify(s[i])} in host name`;
            }
            i++;
        }
    }
    return undefined;
}

/** Go net/url validOptionalPort: "" or ":" followed by digits only. */
export function goValidOptionalPort(port: string): boolean {
    return port === "" || /^:[0-9]*$/.test(port);
}

/**
 * Go net/url parseHost, as of Go 1.25.2/1.24.8 and later (the bracket rules of CVE-2025-47912, and for http and
 * https a port that starts at the first colon, go.dev/issue/75223): undefined when `host` (host[:port], no user info)
 * is acceptable, else Go's error text (the netip error inside "invalid host" is summarised).
 */
function goParseHostError(scheme: string, host: string): string | undefined {
    const openBracket = host.lastIndexOf("[");
    if (openBracket > 0) {
        return "invalid IP-literal";
    }
    if (openBracket === 0) {
        const closeBracket = host.lastIndexOf("]");
        if (closeBracket < 0) {
            return "missing ']' in host";
        }
        const colonPort = host.slice(closeBracket + 1);
        if (!goValidOptionalPort(colonPort)) {
            return `invalid port ${JSON.stringify(colonPort)} after host`;
        }
        const hostname = host.slice(1, closeBracket);
        const zone = hostname.indexOf("%25");
        const escapeError =
            zone >= 0 ? (goUnescapeError(hostname.slice(0, zone), "host") ?? goUnescapeError(hostname.slice(zone), "zone")) : goUnescapeError(hostname, "host");
        if (escapeError !== undefined) {
            return escapeError;
        }
        // Only an IPv6 address may be bracketed (netip.ParseAddr, and not Is4()).
        const address = hostname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
        const family = isIP(address);
        if (family === 4) {
            return "invalid IP-literal";
        }
        return family === 6 ? undefined : `invalid host: ${JSON.stringify(address)} is not an IP address`;
    }
    const first = host.indexOf(":");
    if (first !== -1) {
        const i = scheme === "http" || scheme === "https" ? first : host.lastIndexOf(":");
        if (!goValidOptionalPort(host.slice(i))) {
            return `invalid port ${JSON.stringify(host.slice(i))} after host`;
        }
    }
    return goUnescapeError(host, "host");
}

/**
 * Go's url.Parse, ported for what it accepts and refuses (golang/go src/net/url/url.go: Parse, parse, getScheme,
 * parseAuthority, parseHost, validUserinfo, unescape, setPath, setFragment; parseHost as of the Go releases of late
 * 2025, which refuse more, so a URL refused by any Go the controller manager may be built with is refused here). SPIRE and the spire-controller-manager
 * read every bundle endpoint URL with it (spire-controller-manager pkg/spireapi/types.go ValidateBundleEndpointURL,
 * spiffe/spire pkg/server/api/trustdomain.go), and Helm its repository URLs. It differs from the WHATWG parser of
 * JavaScript's `URL`: it strips no whitespace (a leading space leaves no scheme, and a rootless path whose first
 * segment holds a colon is an error), refuses every ASCII control character, does not turn "\" into "/", reads
 * "https:///path" and "https:host" as URLs without a host, and gives "https://@host" an (empty) user.
 */
export function parseGoUrl(rawUrl: string): GoUrl {
    const hash = rawUrl.indexOf("#");
    const u = hash === -1 ? rawUrl : rawUrl.slice(0, hash);
    const frag = hash === -1 ? "" : rawUrl.slice(hash + 1);
    // stringContainsCTLByte: any byte < 0x20 or 0x7f.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    if (/[\x00-\x1f\x7f]/.test(u)) {
        return { error: "net/url: invalid control character in URL" };
    }
    const result = { scheme: "", opaque: "", hasUser: false, host: "", path: "" };
    if (u === "*") {
        return { ...result, path: "*" };
    }
    // getScheme: [a-zA-Z][a-zA-Z0-9+-.]* before the first ":", else no scheme.
    let rest = u;
    for (let i = 0; i < u.length; i++) {
        const c = u[i];
        if (/[a-zA-Z]/.test(c)) {
            continue;
        }
        if (/[0-9+.-]/.test(c)) {
            if (i === 0) {
                break;
            }
            continue;
        }
        if (c === ":") {
            if (i === 0) {
                return { error: "missing protocol scheme" };
            }
            result.scheme = u.slice(0, i).toLowerCase();
            rest = u.slice(i + 1);
        }
        break;
    }
    if (rest.endsWith("?") && rest.split("?").length === 2) {
        rest = rest.slice(0, -1);
    } else if (rest.includes("?")) {
        rest = rest.slice(0, rest.indexOf("?"));
    }
    if (!rest.startsWith("/")) {
        if (result.scheme !== "") {
            // A rootless path after a scheme is opaque: no authority, no host.
            return { ...result, opaque: rest };
        }
        if (rest.split("/")[0].includes(":")) {
            return { error: "first path segment in URL cannot contain colon" };
        }
    }
    if ((result.scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
        let authority = rest.slice(2);
        rest = "";
        const slash = authority.indexOf("/");
        if (slash >= 0) {
            rest = authority.slice(slash);
            authority = authority.slice(0, slash);
        }
        const at = authority.lastIndexOf("@");
        const host = at < 0 ? authority : authority.slice(at + 1);
        const hostError = goParseHostError(result.scheme, host);
        if (hostError !== undefined) {
            return { error: hostError };
        }
        if (at >= 0) {
            const userinfo = authority.slice(0, at);
            // validUserinfo: RFC 3986 unreserved, sub-delims, ":", "%" and "@".
            if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) {
                return { error: "net/url: invalid userinfo" };
            }
            const colon = userinfo.indexOf(":");
            const userError = (colon < 0 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)])
                .map((part) => goUnescapeError(part, "userPassword"))
                .find((e) => e !== undefined);
            if (userError !== undefined) {
                return { error: userError };
            }
            result.hasUser = true;
        }
        result.host = host;
    }
    const pathError = goUnescapeError(rest, "path") ?? goUnescapeError(frag, "fragment");
    if (pathError !== undefined) {
        return { error: pathError };
    }
    return { ...result, path: rest };
}

/** Go's URL.Hostname() and URL.Port() (splitHostPort): the host without a valid port and IPv6 brackets, and the port. */
export function goSplitHostPort(hostPort: string): { hostname: string; port: string } {
    let hostname = hostPort;
    let port = "";
    const colon = hostname.lastIndexOf(":");
    if (colon !== -1 && goValidOptionalPort(hostname.slice(colon))) {
        port = hostname.slice(colon + 1);
        hostname = hostname.slice(0, colon);
    }
    if (hostname.startsWith("[") && hostname.endsWith("]")) {
        hostname = hostname.slice(1, -1);
    }
    return { hostname, port };
}

/**
 * The checks shared by the https URLs of this program, as Go reads them: leading or trailing whitespace (which the
 * WHATWG parser would strip and Go does not), a URL Go refuses, a scheme outside `schemes`, user info, no host, and a
 * port outside 1-65535 (Go accepts any digits; no TCP connection can be made to them).
 */
function checkGoUrl(value: unknown, schemes: string[], expected: string, userInfo: string): string | undefined {
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    if (value === "") {
        return `is empty; ${expected}`;
    }
    if (/^\s|\s$/.test(value)) {
        return `has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${expected}`;
    }
    const url = parseGoUrl(value);
    if (url.error !== undefined) {
        return `is not a URL (Go's url.Parse: ${url.error}); ${expected}`;
    }
    if (url.scheme === "") {
        return `is not a URL; ${expected}`;
    }
    if (!schemes.includes(url.scheme)) {
        return `uses ${quote(url.scheme)}; ${expected}`;
    }
    if (url.hasUser) {
        return `${userInfo}; ${expected}`;
    }
    const { hostname, port } = goSplitHostPort(url.host);
    if (hostname === "") {
        return `has no host; ${expected}`;
    }
    if (port !== "" && !(Number(port) >= 1 && Number(port) <= 65535)) {
        return `has port ${quote(port)}; a TCP port is 1 to 65535; ${expected}`;
    }
    return undefined;
}

/**
 * Checks a Helm chart repository address: an https:// URL or an oci:// reference, without credentials, as Go's
 * url.Parse reads it (Helm's repository and registry clients parse it with Go's net/url).
 */
export function checkChartRepository(value: unknown): string | undefined {
    const expected = 'expected an "https://" chart repository URL or an "oci://" registry reference without credentials';
    return checkGoUrl(value, ["https", "oci"], expected, "contains credentials");
}

/**
 * Checks a federation bundle endpoint URL as Go's url.Parse reads it and as the spire-controller-manager's webhook
 * (pkg/spireapi/types.go ValidateBundleEndpointURL) and SPIRE's trust domain API require: scheme "https", a host
 * (Go's URL.Host non-empty: "https:///path" has none), no user info (Go's URL.User nil: "https://@host" has one).
 */
export function checkBundleEndpointUrl(value: unknown): string | undefined {
    const expected = 'expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"';
    return checkGoUrl(value, ["https"], expected, "contains user info");
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

/**
 * Checks a host name a client calls and a gateway serves: a lowercase DNS name of at least two labels, each an
 * RFC 1123 label, no wildcard, port, scheme or path, and a last label that is not all digits (Istio 1.30.3
 * pkg/config/validation/agent/validation.go ValidateDNS1123Labels, which Gateway, VirtualService and ServiceEntry
 * hosts go through: "top level domain cannot be all-numeric").
 */
export function checkHostname(value: unknown): string | undefined {
    const example = 'e.g. "bookinfo.cluster2.demo"';
    if (typeof value !== "string" || value.length === 0) {
        return `is not a host name; expected a DNS name, ${example}`;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || value.includes("/")) {
        return `is a URL; expected only the host name, ${example}`;
    }
    if (value.includes("*")) {
        return `is a wildcard; expected one exact DNS name, ${example}`;
    }
    if (value.includes(":")) {
        return `contains a port; expected only the host name, ${example}`;
    }
    if (/[A-Z]/.test(value)) {
        return `contains uppercase letters; expected a lowercase DNS name, e.g. ${quote(value.toLowerCase())}`;
    }
    if (value.length > 253) {
        return `is ${value.length} characters long; a DNS name is at most 253 characters`;
    }
    const labels = value.split(".");
    if (labels.length < 2) {
        return "is a single label, which the pod's DNS search path would resolve inside the cluster; " + `expected a fully qualified name, ${example}`;
    }
    const bad = labels.find((label) => checkDnsLabel(label) !== undefined);
    if (bad !== undefined) {
        return (
            `has the label ${quote(bad)}; each label is 1 to 63 lowercase letters, digits and "-", ` + `starting and ending with a letter or digit, ${example}`
        );
    }
    const topLevel = labels[labels.length - 1];
    if (/^[0-9]+$/.test(topLevel)) {
        return `ends in the all-numeric label ${quote(topLevel)}, which Istio refuses as a host's top-level domain, ${example}`;
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

/**
 * Namespaces Kubernetes itself creates and owns (kubernetes/kubernetes pkg/controlplane/controller/systemnamespaces:
 * kube-system, kube-public, kube-node-lease; and "default", which the API server recreates). The program creates its
 * SPIRE and Istio namespaces as resources: it cannot create these (they exist), and `pulumi destroy` would delete
 * what it adopted. Kubernetes also reserves the "kube-" prefix for system namespaces.
 */
export const KUBERNETES_OWNED_NAMESPACES: readonly string[] = ["default", "kube-node-lease", "kube-public", "kube-system"];

/** Checks a namespace this program creates and owns: never one of Kubernetes' own (see KUBERNETES_OWNED_NAMESPACES). */
export function checkOwnedNamespace(value: unknown): string | undefined {
    const problem = checkDnsLabel(value);
    if (problem !== undefined) {
        return problem;
    }
    const name = value as string;
    if (KUBERNETES_OWNED_NAMESPACES.includes(name) || name.startsWith("kube-")) {
        return (
            `is a namespace Kubernetes owns; this program creates its namespace and deletes it on \`pulumi destroy\`, ` +
            'so give it one of its own, e.g. "spire-server" or "istio-system"'
        );
    }
    return undefined;
}

/** Levenshtein distance between two strings (insertions, deletions and substitutions). */
export function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/**
 * Checks the namespace of a config key (`<namespace>:<key>`) against the project's: a namespace one or two edits
 * away from it (`istio-spyre`, `Istio-Spire`, `istio_spire`) is a typo whose keys nothing reads, since Pulumi hands
 * every key to the program and the program reads only its own namespace. Other namespaces (`kubernetes`, `pulumi`,
 * `random`, ...) belong to providers and are not this program's to judge.
 */
export function checkConfigNamespace(namespace: string, project: string): string | undefined {
    if (namespace === project) {
        return undefined;
    }
    const distance = editDistance(namespace.toLowerCase(), project);
    if (namespace.toLowerCase() === project || distance <= 2) {
        return `is in namespace ${quote(namespace)}, not this project's ${quote(project)}, so nothing reads it`;
    }
    return undefined;
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
