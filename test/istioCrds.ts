// Istio's CustomResourceDefinitions (the pinned base chart's files/crd-all.gen.yaml, read in place, never copied) as a
// validator of the Istio custom resources the program declares, emulating what the Kubernetes API server does on a
// create:
//   (a) the structural OpenAPI schema of the served version, checked with Ajv, unknown fields reported as errors
//       (Kubernetes would silently prune them), formats as Kubernetes checks them;
//   (b) every `x-kubernetes-validations` CEL rule, evaluated at its schema node against the (pruned) value there,
//       only where that value is present; transition rules (those using `oldSelf`) are skipped, as on a create;
//   (c) `x-kubernetes-list-type: map | set` uniqueness.
// CEL is evaluated by @marcbachmann/cel-js with the Kubernetes library functions the rules use registered here
// (see kubernetesCel below); a rule that does not compile with it is reported as "cannot evaluate rule", never passed.
// Callers inside tests call requireUpstream first.

import { Environment } from "@marcbachmann/cel-js";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { ISTIO_VERSION } from "../components/mesh/istioOperator";
import { goSplitHostPort, goValidOptionalPort, parseGoDuration } from "../components/validation";
import { JsonObject, chartDir, isObject, pruningAsErrors } from "../tools/upstream/upstream";

// ---------------------------------------------------------------------------------------------------------------
// The CRDs

/** The file holding every Istio CRD, in the pinned base chart. */
export function istioCrdFile(): string {
    return path.join(chartDir("base", ISTIO_VERSION), "files", "crd-all.gen.yaml");
}

/** One served version of an Istio CRD. */
export interface IstioCrdVersion {
    group: string;
    kind: string;
    version: string;
    /** `<group>/<version>`. */
    apiVersion: string;
    /** The version's openAPIV3Schema, as in the file (do not modify). */
    schema: JsonObject;
}

let crdCache: IstioCrdVersion[] | undefined;

/** Every served version of every CRD in crd-all.gen.yaml (parsed once per process). */
export function istioCrdVersions(): IstioCrdVersion[] {
    if (crdCache !== undefined) {
        return crdCache;
    }
    const file = istioCrdFile();
    const found: IstioCrdVersion[] = [];
    for (const doc of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
        const crd: unknown = doc.toJS();
        if (!isObject(crd) || crd.kind !== "CustomResourceDefinition" || !isObject(crd.spec) || !isObject(crd.spec.names)) {
            continue;
        }
        const group = String(crd.spec.group);
        const kind = String(crd.spec.names.kind);
        for (const version of (crd.spec.versions as unknown[]) ?? []) {
            if (!isObject(version) || version.served !== true || !isObject(version.schema) || !isObject(version.schema.openAPIV3Schema)) {
                continue;
            }
            const name = String(version.name);
            found.push({ group, kind, version: name, apiVersion: `${group}/${name}`, schema: version.schema.openAPIV3Schema });
        }
    }
    if (found.length === 0) {
        throw new Error(`${file}: no CustomResourceDefinition found`);
    }
    crdCache = found;
    return found;
}

/** The served version of `kind` at `apiVersion`; throws naming what exists when there is none. */
export function istioCrdVersion(apiVersion: string, kind: string): IstioCrdVersion {
    const all = istioCrdVersions();
    const found = all.find((v) => v.apiVersion === apiVersion && v.kind === kind);
    if (found === undefined) {
        const served = all.filter((v) => v.kind === kind).map((v) => v.apiVersion);
        throw new Error(
            `Istio ${ISTIO_VERSION} serves no ${kind} at ${apiVersion}` + (served.length > 0 ? ` (served: ${served.join(", ")})` : ` (no such kind)`),
        );
    }
    return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes' CEL environment

// Two of the evaluator's built-ins are not cel-go's: its duration(string) is not Go's time.ParseDuration (it rejects
// "0", accepts "ms" and "."), and its int(string) is JavaScript's BigInt (it takes "", "0b1", "0o7", "0X10", which
// strconv.ParseInt(s, 10, 64) rejects). A built-in overload cannot be replaced, so rules are evaluated with every call
// of these functions rewritten to Go-faithful ones (rewriteCalls).
const REWRITTEN_FUNCTIONS: Record<string, string> = { duration: "k8s_go_duration", int: "k8s_go_int" };
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

/** cel-go's int(string): strconv.ParseInt(s, 10, 64), an optional sign and decimal digits, in int64 range. */
export function parseGoInt(s: string): bigint {
    const n = /^[+-]?[0-9]+$/.test(s) ? BigInt(s) : undefined;
    if (n === undefined || n < MIN_INT64 || n > MAX_INT64) {
        throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: ${n === undefined ? "invalid syntax" : "value out of range"}`);
    }
    return n;
}

/** The evaluator's google.protobuf.Duration class (not exported by the package; taken from a value). */
const DurationClass: new (seconds: bigint, nanos: number) => unknown = (new Environment().evaluate("duration('1s')") as any).constructor;

/**
 * Go's time.ParseDuration, which cel-go's duration(string) calls (the program's own port, components/validation.ts
 * parseGoDuration), as the evaluator needs it: nanoseconds, or Go's error thrown.
 */
export function goDurationOrThrow(text: string): bigint {
    const parsed = parseGoDuration(text);
    if ("error" in parsed) {
        throw new Error(`time: ${parsed.error} ${JSON.stringify(text)}`);
    }
    return parsed.ns;
}

/** A URL as Go's net/url represents what Kubernetes' url() returns (the parts its accessors read). */
export class KubernetesURL {
    constructor(
        public readonly scheme: string,
        public readonly host: string,
    ) {}

    /** Go's URL.Hostname(): the host without a port, IPv6 brackets removed. */
    hostname(): string {
        return goSplitHostPort(this.host).hostname;
    }

    /** Go's URL.Port(): the digits after the host's last colon, "" when none. */
    port(): string {
        return goSplitHostPort(this.host).port;
    }
}

const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Go's shouldEscape(c, encodeHost) for an ASCII byte: whether it may not appear unescaped in a host. */
function hostCharNeedsEscape(c: string): boolean {
    if (/^[a-zA-Z0-9\-._~]$/.test(c)) {
        return false;
    }
    return !"!$&'()*+,;=:[]<>\"".includes(c);
}

/** Go's unescape(s, mode) error checks for encodeHost and encodePath (the decoded text is not needed). */
function checkEscapes(s: string, host: boolean): void {
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (c === "%") {
            if (!isHex(s[i + 1]) || !isHex(s[i + 2])) {
                const bad = s.slice(i, i + 3);
                throw new Error(`invalid URL escape ${JSON.stringify(bad)}`);
            }
            // In a host, %-encoding is only for non-ASCII bytes (RFC 3986 3.2.2), and %25 (RFC 6874 zones).
            if (host && parseInt(s[i + 1], 16) < 8 && s.slice(i, i + 3) !== "%25") {
                throw new Error(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
            }
            i += 2;
        } else if (host && c.charCodeAt(0) < 0x80 && hostCharNeedsEscape(c)) {
            throw new Error(`invalid character ${JSON.stringify(c)} in host name`);
        }
    }
}

/** Go's net/url parse(rawURL, viaRequest) for what url()/isURL() need: the scheme and host, or its error. */
function goParseURL(raw: string, viaRequest: boolean): KubernetesURL {
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(raw)) {
        throw new Error("net/url: invalid control character in URL");
    }
    if (raw === "" && viaRequest) {
        throw new Error("empty url");
    }
    if (raw === "*") {
        return new KubernetesURL("", "");
    }
    let scheme = "";
    let rest = raw;
    for (let i = 0; i < raw.length; i++) {
        const c = raw[i];
        if (/[a-zA-Z]/.test(c)) {
            continue;
        }
        if (/[0-9+\-.]/.test(c)) {
            if (i === 0) {
                break;
            }
            continue;
        }
        if (c === ":") {
            if (i === 0) {
                throw new Error("missing protocol scheme");
            }
            scheme = raw.slice(0, i).toLowerCase();
            rest = raw.slice(i + 1);
        }
        break;
    }
    if (rest.endsWith("?") && rest.split("?").length === 2) {
        rest = rest.slice(0, -1);
    } else {
        const q = rest.indexOf("?");
        if (q !== -1) {
            rest = rest.slice(0, q);
        }
    }
    if (!rest.startsWith("/")) {
        if (scheme !== "") {
            return new KubernetesURL(scheme, ""); // opaque
        }
        if (viaRequest) {
            throw new Error("invalid URI for request");
        }
        if (rest.split("/")[0].includes(":")) {
            throw new Error("first path segment in URL cannot contain colon");
        }
    }
    let host = "";
    if ((scheme !== "" || (!viaRequest && !rest.startsWith("///"))) && rest.startsWith("//")) {
        let authority = rest.slice(2);
        const slash = authority.indexOf("/");
        rest = slash >= 0 ? authority.slice(slash) : "";
        authority = slash >= 0 ? authority.slice(0, slash) : authority;
        const at = authority.lastIndexOf("@");
        host = authority.slice(at + 1);
        if (host.startsWith("[")) {
            const close = host.lastIndexOf("]");
            if (close < 0) {
                throw new Error("missing ']' in host");
            }
            const colonPort = host.slice(close + 1);
            if (!goValidOptionalPort(colonPort)) {
                throw new Error(`invalid port ${JSON.stringify(colonPort)} after host`);
            }
        } else {
            const colon = host.lastIndexOf(":");
            if (colon !== -1 && !goValidOptionalPort(host.slice(colon))) {
                throw new Error(`invalid port ${JSON.stringify(host.slice(colon))} after host`);
            }
        }
        checkEscapes(host, true);
        if (at >= 0) {
            const userinfo = authority.slice(0, at);
            if (!/^[a-zA-Z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) {
                throw new Error("net/url: invalid userinfo");
            }
            checkEscapes(userinfo, false);
        }
    }
    checkEscapes(rest, false);
    return new KubernetesURL(scheme, host);
}

/** Kubernetes' url(string): ParseRequestURI must accept it, then the URL is url.Parse's (fragment cut first). */
export function kubernetesUrl(s: string): KubernetesURL {
    try {
        goParseURL(s, true);
        return goParseURL(s.split("#")[0], false);
    } catch (e) {
        throw new Error(`URL parse error during conversion from string: parse ${JSON.stringify(s)}: ${(e as Error).message}`);
    }
}

/** Kubernetes' isURL(string): whether Go's url.ParseRequestURI accepts it. */
export function kubernetesIsUrl(s: string): boolean {
    try {
        goParseURL(s, true);
        return true;
    } catch {
        return false;
    }
}

/**
 * The CEL environment of CRD validation rules: CEL's standard definitions (the evaluator's, with duration(string)
 * and int(string) replaced by Go's parsers, see REWRITTEN_FUNCTIONS) and the Kubernetes library functions the Istio rules use, after
 * k8s.io/apiserver/pkg/cel/library/urls.go: url(string), isURL(string), URL.getScheme(), getHost(), getHostname(),
 * getPort(). Everything else in Kubernetes' library (ip/cidr, quantity, regex, lists, getEscapedPath, getQuery, ...)
 * is deliberately absent: a rule that needs it fails to compile, and is reported.
 */
function kubernetesCel(): Environment {
    return new Environment()
        .registerType("kubernetes.URL", KubernetesURL)
        .registerFunction("url(string): kubernetes.URL", kubernetesUrl)
        .registerFunction("isURL(string): bool", kubernetesIsUrl)
        .registerFunction("kubernetes.URL.getScheme(): string", (u: KubernetesURL) => u.scheme)
        .registerFunction("kubernetes.URL.getHost(): string", (u: KubernetesURL) => u.host)
        .registerFunction("kubernetes.URL.getHostname(): string", (u: KubernetesURL) => u.hostname())
        .registerFunction("kubernetes.URL.getPort(): string", (u: KubernetesURL) => u.port())
        .registerFunction("k8s_go_duration(string): google.protobuf.Duration", (s: string) => {
            const ns = goDurationOrThrow(s);
            return new DurationClass(ns / 1_000_000_000n, Number(ns % 1_000_000_000n));
        })
        .registerFunction("k8s_go_int(string): int", parseGoInt)
        .registerFunction("k8s_go_int(int): int", (i: bigint) => i);
    // int(double), int(uint), int(timestamp), duration(duration) ... are not registered: a rule using them fails to
    // compile and is reported as one that cannot be evaluated.
}

let baseEnvironment: Environment | undefined;
const environments = new Map<string, Environment>();

/** The environment with `self` declared as `celType` (one per type; the base is frozen once cloned). */
function environmentFor(celType: string): Environment {
    let env = environments.get(celType);
    if (env === undefined) {
        baseEnvironment ??= kubernetesCel();
        env = baseEnvironment.clone().registerVariable("self", celType);
        environments.set(celType, env);
    }
    return env;
}

/**
 * A rule's text with every call of a global function in REWRITTEN_FUNCTIONS (duration(, int() renamed to its
 * Go-faithful replacement; string literals (quoted, triple-quoted, raw) are left alone, and a member call
 * (`x.duration(`) is not a call of the global function.
 */
export function rewriteCalls(rule: string): string {
    let out = "";
    let i = 0;
    while (i < rule.length) {
        const c = rule[i];
        if (c === '"' || c === "'") {
            const triple = rule.startsWith(c.repeat(3), i);
            const quote = triple ? c.repeat(3) : c;
            const raw = i > 0 && /[rR]/.test(rule[i - 1]) && (i < 2 || !/[A-Za-z0-9_]/.test(rule[i - 2]));
            let j = i + quote.length;
            while (j < rule.length && !rule.startsWith(quote, j)) {
                j += !raw && rule[j] === "\\" ? 2 : 1;
            }
            j = Math.min(rule.length, j + quote.length);
            out += rule.slice(i, j);
            i = j;
            continue;
        }
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rule.slice(i));
        if (word !== null) {
            const before = out.replace(/\s+$/, "");
            const isMember = before.endsWith(".");
            const isCall = /^\s*\(/.test(rule.slice(i + word[0].length));
            const replacement = Object.prototype.hasOwnProperty.call(REWRITTEN_FUNCTIONS, word[0]) ? REWRITTEN_FUNCTIONS[word[0]] : undefined;
            out += replacement !== undefined && isCall && !isMember ? replacement : word[0];
            i += word[0].length;
            continue;
        }
        out += c;
        i++;
    }
    return out;
}

/**
 * The evaluator's matches() is JavaScript's RegExp, Kubernetes' is RE2 (unanchored search in both). They agree on
 * patterns built only from literal ASCII characters, character classes of them, ^ $ | ( (?: ) and the quantifiers
 * * + ? {n,m}; not on `.`, \s, \b, Unicode classes, lookarounds or backreferences. A matches() whose argument is not a
 * string literal of that subset is one this validator cannot evaluate faithfully.
 */
const SAFE_REGEX = /^(?:[A-Za-z0-9_\-^$|)*+?{},:=@/#%&!~<>;'" ]|\((?!\?)|\(\?:|\\[.\-\\/[\]()*+?^$|{}]|\[(?:\\[.\-\\\][^]|[A-Za-z0-9_\-.:/@ ])+\])*$/;

/** The arguments of .matches( in a rule that are not string literals of SAFE_REGEX's subset. */
export function unfaithfulRegexes(rule: string): string[] {
    const bad: string[] = [];
    for (const call of rule.matchAll(/\.matches\(\s*/g)) {
        const rest = rule.slice(call.index! + call[0].length);
        const literal = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)/.exec(rest);
        if (literal === null) {
            bad.push(`a non-literal pattern at ${JSON.stringify(rest.slice(0, 30))}`);
            continue;
        }
        const pattern = literal[1].slice(1, -1).replace(/\\\\/g, "\\");
        if (!SAFE_REGEX.test(pattern)) {
            bad.push(`pattern ${literal[1]}`);
        }
    }
    return bad;
}

/** Whether a rule is a transition rule (refers to oldSelf), evaluated only on updates. */
export function isTransitionRule(rule: string): boolean {
    return /\b(oldSelf|optionalOldSelf)\b/.test(rule.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""'));
}

/**
 * The CEL type Kubernetes gives a value of this schema (coarsened: an object with properties is a map<string, dyn>
 * here, where Kubernetes has a record type; field selection, has() and macros behave the same).
 */
export function celTypeOf(schema: JsonObject): string {
    if (schema["x-kubernetes-int-or-string"] === true) {
        return "dyn";
    }
    switch (schema.type) {
        case "string":
            return schema.format === "date-time" ? "google.protobuf.Timestamp" : schema.format === "byte" ? "bytes" : "string";
        case "integer":
            return "int";
        case "number":
            return "double";
        case "boolean":
            return "bool";
        case "array":
            return `list<${isObject(schema.items) ? celTypeOf(schema.items) : "dyn"}>`;
        case "object":
            if (isObject(schema.additionalProperties) && !isObject(schema.properties)) {
                return `map<string, ${celTypeOf(schema.additionalProperties)}>`;
            }
            return "map<string, dyn>";
        default:
            return "dyn";
    }
}

/** A compiled rule, or why it cannot be evaluated. */
export type CompiledRule = { ok: true; evaluate: (self: unknown) => unknown } | { ok: false; error: string };

const compiled = new Map<string, CompiledRule>();

/** Compiles (parses and type-checks) a rule with `self` of the type its schema node gives it. */
export function compileRule(rule: string, schema: JsonObject): CompiledRule {
    const type = celTypeOf(schema);
    const key = `${type}\u0000${rule}`;
    let result = compiled.get(key);
    if (result === undefined) {
        try {
            const env = environmentFor(type);
            const unfaithful = unfaithfulRegexes(rule);
            if (unfaithful.length > 0) {
                throw new Error(`matches() with ${unfaithful.join(", ")}: RE2 and JavaScript may disagree; review and extend SAFE_REGEX`);
            }
            const expression = rewriteCalls(rule);
            const check = env.check(expression);
            if (!check.valid) {
                throw check.error;
            }
            if (check.type !== "bool") {
                throw new Error(`the rule is of type ${check.type}, not bool`);
            }
            const program = env.parse(expression);
            result = { ok: true, evaluate: (self: unknown) => program({ self }) };
        } catch (e) {
            result = { ok: false, error: ((e as Error).message ?? String(e)).split("\n")[0] };
        }
        compiled.set(key, result);
    }
    return result;
}

/**
 * The value as Kubernetes hands it to CEL, pruned to what the schema declares (unknown fields are dropped before
 * validation): integers as int (bigint), numbers as double, date-time strings as timestamps, byte strings as bytes.
 */
export function toCelValue(value: unknown, schema: JsonObject): unknown {
    if (value === null || value === undefined) {
        return value;
    }
    if (schema["x-kubernetes-int-or-string"] === true) {
        return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
    }
    switch (schema.type) {
        case "integer":
            return typeof value === "number" && Number.isInteger(value) ? BigInt(value) : value;
        case "number":
            return value;
        case "string":
            if (typeof value === "string" && schema.format === "date-time") {
                return new Date(value);
            }
            if (typeof value === "string" && schema.format === "byte") {
                return new Uint8Array(Buffer.from(value, "base64"));
            }
            return value;
        case "array":
            return Array.isArray(value) && isObject(schema.items) ? value.map((v) => toCelValue(v, schema.items as JsonObject)) : value;
        case "object": {
            if (!isObject(value)) {
                return value;
            }
            const out: JsonObject = {};
            const properties = isObject(schema.properties) ? schema.properties : undefined;
            for (const [key, v] of Object.entries(value)) {
                if (properties !== undefined && isObject(properties[key])) {
                    out[key] = toCelValue(v, properties[key]);
                } else if (isObject(schema.additionalProperties)) {
                    out[key] = toCelValue(v, schema.additionalProperties);
                } else if (schema["x-kubernetes-preserve-unknown-fields"] === true || (properties === undefined && schema.additionalProperties === true)) {
                    out[key] = untypedCelValue(v);
                }
                // else: pruned
            }
            return out;
        }
        default:
            return schema["x-kubernetes-preserve-unknown-fields"] === true ? untypedCelValue(value) : value;
    }
}

/** An unstructured value (under x-kubernetes-preserve-unknown-fields): JSON integers are int, other numbers double. */
function untypedCelValue(value: unknown): unknown {
    if (typeof value === "number") {
        return Number.isInteger(value) ? BigInt(value) : value;
    }
    if (Array.isArray(value)) {
        return value.map(untypedCelValue);
    }
    if (isObject(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untypedCelValue(v)]));
    }
    return value;
}

// ---------------------------------------------------------------------------------------------------------------
// The rules, where they sit

/** A rule and the schema node it sits at. */
export interface RuleSite {
    /** Where in the object, e.g. `spec.servers[*].port.number`, `spec.selector.matchLabels[*]`. */
    path: string;
    rule: string;
    message?: string;
    schema: JsonObject;
}

/** Every x-kubernetes-validations rule of a schema, reached as Kubernetes reaches them (properties, items, additionalProperties). */
export function ruleSites(schema: JsonObject, at = ""): RuleSite[] {
    const sites: RuleSite[] = [];
    for (const v of (schema["x-kubernetes-validations"] as unknown[]) ?? []) {
        if (isObject(v) && typeof v.rule === "string") {
            sites.push({ path: at, rule: v.rule, message: typeof v.message === "string" ? v.message : undefined, schema });
        }
    }
    if (isObject(schema.properties)) {
        for (const [key, child] of Object.entries(schema.properties)) {
            if (isObject(child)) {
                sites.push(...ruleSites(child, at === "" ? key : `${at}.${key}`));
            }
        }
    }
    if (isObject(schema.items)) {
        sites.push(...ruleSites(schema.items, `${at}[*]`));
    }
    if (isObject(schema.additionalProperties)) {
        sites.push(...ruleSites(schema.additionalProperties, `${at}[*]`));
    }
    return sites;
}

/** Kubernetes' message for a failed rule without its own. */
function ruleMessage(rule: string, message: string | undefined): string {
    return message ?? `failed rule: ${rule}`;
}

/** Evaluates the rules of the schema tree at the value tree; problems as `<path>: rule "<rule>" failed: <message>`. */
function celProblems(schema: JsonObject, value: unknown, at: string, problems: string[]): void {
    if (value === undefined || value === null || !matchesType(schema, value)) {
        return; // absent: no rule runs; of the wrong type: the schema check reports it
    }
    for (const v of (schema["x-kubernetes-validations"] as unknown[]) ?? []) {
        if (!isObject(v) || typeof v.rule !== "string" || isTransitionRule(v.rule)) {
            continue;
        }
        const where = at === "" ? "<root>" : at;
        const rule = compileRule(v.rule, schema);
        if (!rule.ok) {
            problems.push(`${where}: cannot evaluate rule "${v.rule}": ${rule.error}`);
            continue;
        }
        let result: unknown;
        try {
            result = rule.evaluate(toCelValue(value, schema));
        } catch (e) {
            problems.push(`${where}: rule "${v.rule}" failed: evaluation error: ${((e as Error).message ?? String(e)).split("\n")[0]}`);
            continue;
        }
        if (result !== true) {
            problems.push(`${where}: rule "${v.rule}" failed: ${ruleMessage(v.rule, typeof v.message === "string" ? v.message : undefined)}`);
        }
    }
    if (Array.isArray(value)) {
        if (isObject(schema.items)) {
            value.forEach((item, i) => celProblems(schema.items as JsonObject, item, `${at}[${i}]`, problems));
        }
        problems.push(...listTypeProblems(schema, value, at));
        return;
    }
    if (isObject(value)) {
        const properties = isObject(schema.properties) ? schema.properties : {};
        for (const [key, child] of Object.entries(value)) {
            if (isObject(properties[key])) {
                celProblems(properties[key], child, at === "" ? key : `${at}.${key}`, problems);
            } else if (isObject(schema.additionalProperties)) {
                celProblems(schema.additionalProperties, child, `${at}[${key}]`, problems);
            }
        }
    }
}

function matchesType(schema: JsonObject, value: unknown): boolean {
    if (schema["x-kubernetes-int-or-string"] === true) {
        return typeof value === "string" || (typeof value === "number" && Number.isInteger(value));
    }
    switch (schema.type) {
        case "object":
            return isObject(value);
        case "array":
            return Array.isArray(value);
        case "string":
            return typeof value === "string";
        case "integer":
            return typeof value === "number" && Number.isInteger(value);
        case "number":
            return typeof value === "number";
        case "boolean":
            return typeof value === "boolean";
        default:
            return true;
    }
}

/** x-kubernetes-list-type: set (items unique) and map (items unique by x-kubernetes-list-map-keys), as Kubernetes checks. */
function listTypeProblems(schema: JsonObject, list: unknown[], at: string): string[] {
    const type = schema["x-kubernetes-list-type"];
    const keys = Array.isArray(schema["x-kubernetes-list-map-keys"]) ? (schema["x-kubernetes-list-map-keys"] as string[]) : [];
    if (type !== "set" && type !== "map") {
        return [];
    }
    const seen = new Set<string>();
    const problems: string[] = [];
    list.forEach((item, i) => {
        const identity = type === "set" ? JSON.stringify(item) : JSON.stringify(keys.map((k) => (isObject(item) ? item[k] : undefined)));
        if (seen.has(identity)) {
            problems.push(`${at}[${i}]: Duplicate value: ${identity}`);
        }
        seen.add(identity);
    });
    return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The structural schema

/** The parts of ObjectMeta a custom resource's `metadata` may have (Kubernetes prunes the rest). */
const OBJECT_META: JsonObject = {
    type: "object",
    required: ["name"],
    properties: {
        // Custom resources' names are DNS-1123 subdomains; namespaces DNS-1123 labels.
        name: { type: "string", maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" },
        namespace: { type: "string", maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
        labels: { type: "object", additionalProperties: { type: "string" } },
        annotations: { type: "object", additionalProperties: { type: "string" } },
        generateName: { type: "string" },
        finalizers: { type: "array", items: { type: "string" } },
        ownerReferences: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    },
};

/** The formats Kubernetes checks in CRD schemas among those Istio's use; int32 and double are not checked. */
function addKubernetesFormats(ajv: Ajv): Ajv {
    return ajv
        .addFormat("int32", true)
        .addFormat("double", true)
        .addFormat("byte", /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/)
        .addFormat("date-time", /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/);
}

const ajvValidators = new Map<string, ValidateFunction>();

/** Ajv validator of a whole object of that CRD version: apiVersion/kind/metadata at the root, pruning as errors. */
function structuralValidator(crd: IstioCrdVersion): ValidateFunction {
    const key = `${crd.apiVersion}/${crd.kind}`;
    let validate = ajvValidators.get(key);
    if (validate === undefined) {
        const root = pruningAsErrors(crd.schema);
        root.properties = {
            apiVersion: { type: "string", enum: [crd.apiVersion] },
            kind: { type: "string", enum: [crd.kind] },
            metadata: OBJECT_META,
            ...(root.properties as JsonObject),
        };
        root.required = ["apiVersion", "kind", "metadata"];
        validate = addKubernetesFormats(new Ajv({ strict: false, allErrors: true })).compile(pruningAsErrors(root));
        ajvValidators.set(key, validate);
    }
    return validate;
}

/** A JSON pointer as a Kubernetes field path: `/spec/ports/0/number` -> `spec.ports[0].number`. */
export function fieldPath(pointer: string): string {
    let out = "";
    for (const raw of pointer.split("/").slice(1)) {
        const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        out += /^\d+$/.test(part) ? `[${part}]` : out === "" ? part : `.${part}`;
    }
    return out === "" ? "<root>" : out;
}

function describeAjvError(e: ErrorObject): string {
    const at = fieldPath(e.instancePath);
    if (e.keyword === "additionalProperties") {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        return `${at}: unknown field "${field}" (Kubernetes would prune it)`;
    }
    return `${at}: ${e.keyword} ${JSON.stringify(e.params)} ${e.message ?? ""}`.trimEnd();
}

/**
 * Everything Istio's CRDs and the API server's CRD handling reject in `object` (a whole custom resource: apiVersion,
 * kind, metadata, spec), [] when a create would be accepted. Throws when Istio serves no such apiVersion and kind.
 */
export function istioResourceProblems(object: JsonObject): string[] {
    const crd = istioCrdVersion(String(object.apiVersion), String(object.kind));
    const validate = structuralValidator(crd);
    const problems = validate(object) ? [] : (validate.errors ?? []).map(describeAjvError);
    // The CRD's schema has no apiVersion/kind/metadata; their rules are the API server's own (above).
    const body = Object.fromEntries(Object.entries(object).filter(([key]) => !["apiVersion", "kind", "metadata"].includes(key)));
    celProblems(crd.schema, body, "", problems);
    return problems;
}
