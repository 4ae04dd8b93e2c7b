// How SPIRE 1.15.2 and its SQL drivers read the datastore settings of a rendered server.conf, modelled from their
// sources so that tests can follow a password from the Secret to the driver (components/mesh/spireDataStore.ts has
// the chain, step by step). Each function names the code it models; none of them is used by the program itself.

import { isIP } from "net";
import { SPIRE_CHART_VERSION, SPIRE_RELEASE_NAME, SpireChartSettings, spireChartValues } from "../components/mesh/spire";
import { SpireDataStore } from "../components/mesh/spireDataStore";
import { RenderedObject, helmTemplateAsync } from "../tools/upstream/helm";
import { chartDir } from "../tools/upstream/upstream";
import { theObject } from "./chartRender";

/** The namespace the tests render the spire release into (the program's default). */
export const SPIRE_TEST_NAMESPACE = "spire-server";

/** The spire chart settings the Spire component decides with its defaults, for a trust domain and a datastore. */
export function spireTestSettings(dataStore?: SpireDataStore): SpireChartSettings {
    return {
        trustDomain: "cluster1.demo",
        clusterName: "cluster1",
        caTTL: "720h",
        caSubject: { country: "US", organization: "SPIRE", commonName: "cluster1.demo" },
        controllerClassName: `${SPIRE_TEST_NAMESPACE}-${SPIRE_RELEASE_NAME}`,
        federationRefreshHint: "5m",
        ...(dataStore !== undefined ? { dataStore } : {}),
    };
}

/** The spire release rendered by real Helm from the pinned chart with the program's values for this datastore. */
export function renderSpire(helm: string, dataStore?: SpireDataStore): Promise<RenderedObject[]> {
    return helmTemplateAsync({
        helm,
        chartDir: chartDir("spire", SPIRE_CHART_VERSION),
        release: SPIRE_RELEASE_NAME,
        namespace: SPIRE_TEST_NAMESPACE,
        values: spireChartValues(spireTestSettings(dataStore)),
    });
}

/** server.conf of a render (ConfigMap spire-server, key server.conf). */
export function serverConfOf(objects: RenderedObject[]): string {
    return theObject(objects, "ConfigMap", "spire-server", SPIRE_TEST_NAMESPACE).data["server.conf"];
}

/** The spire-server container of the server's StatefulSet, and the pod's volumes. */
export function serverPodOf(objects: RenderedObject[]): { container: any; containers: any[]; volumes: any[] } {
    const spec = theObject(objects, "StatefulSet", "spire-server", SPIRE_TEST_NAMESPACE).spec.template.spec;
    return { container: spec.containers.find((c: { name: string }) => c.name === "spire-server"), containers: spec.containers, volumes: spec.volumes ?? [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Step 3: spire pkg/common/config/config.go ExpandEnv = Go's os.Expand (src/os/env.go) with `$$` kept as `$`.

function isShellSpecial(c: string): boolean {
    return "*#$@!?-0123456789".includes(c);
}

function isAlphaNum(c: string): boolean {
    return /^[A-Za-z0-9_]$/.test(c);
}

/** os.Expand's getShellName: the name after a `$`, and how many characters it takes. */
function shellName(s: string): [string, number] {
    if (s[0] === "{") {
        if (s.length > 2 && isShellSpecial(s[1]) && s[2] === "}") {
            return [s[1], 3];
        }
        for (let i = 1; i < s.length; i++) {
            if (s[i] === "}") {
                return i === 1 ? ["", 2] : [s.slice(1, i), i + 1];
            }
        }
        return ["", 1];
    }
    if (isShellSpecial(s[0])) {
        return [s[0], 1];
    }
    let i = 0;
    while (i < s.length && isAlphaNum(s[i])) {
        i++;
    }
    return [s.slice(0, i), i];
}

/** SPIRE's `-expandEnv`: every `$name` / `${name}` of the text replaced once (values are not expanded again). */
export function spireExpandEnv(text: string, env: Record<string, string>): string {
    let out = "";
    let i = 0;
    for (let j = 0; j < text.length; j++) {
        if (text[j] === "$" && j + 1 < text.length) {
            out += text.slice(i, j);
            const [name, w] = shellName(text.slice(j + 1));
            if (name === "" && w > 0) {
                // invalid syntax: eaten
            } else if (name === "") {
                out += "$";
            } else {
                out += name === "$" ? "$" : (env[name] ?? "");
            }
            j += w;
            i = j + 1;
        }
    }
    return out + text.slice(i);
}

// ---------------------------------------------------------------------------------------------------------------
// Step 4: hashicorp/hcl v1.0.1-vault-7. The file is JSON (hcl/json/scanner); string tokens keep their raw text; a
// plugin's plugin_data is printed back as HCL and decoded again (hcl/scanner, hcl/strconv Unquote).

/** A JSON value as hcl/json/parser keeps it: strings as their raw token text (quotes included). */
export type HclJson = { raw: string } | { object: [string, HclJson][] } | { array: HclJson[] } | { literal: string };

function escapeLength(text: string, at: number, where: string): number {
    // hcl json/scanner and hcl/scanner scanEscape: the character after `\` and its digits.
    const c = text[at];
    const digits = (n: number, re: RegExp) => {
        for (let k = 0; k < n; k++) {
            if (!re.test(text[at + 1 + k] ?? "")) {
                throw new Error(`${where}: illegal char escape at offset ${at}`);
            }
        }
        return 1 + n;
    };
    if (c !== undefined && 'abfnrtv\\"'.includes(c)) {
        return 1;
    }
    if (c !== undefined && /[0-7]/.test(c)) {
        return digits(2, /[0-7]/); // three octal digits in all
    }
    if (c === "x") {
        return digits(2, /[0-9a-fA-F]/);
    }
    if (c === "u") {
        return digits(4, /[0-9a-fA-F]/);
    }
    if (c === "U") {
        return digits(8, /[0-9a-fA-F]/);
    }
    throw new Error(`${where}: illegal char escape at offset ${at}`);
}

/** Parses JSON as hcl/json/parser does (strings per json/scanner scanString: a `"` always ends them). */
export function parseHclJson(text: string): HclJson {
    let i = 0;
    const fail = (what: string): never => {
        throw new Error(`server.conf is not valid HCL JSON: ${what} at offset ${i}`);
    };
    const ws = () => {
        while (i < text.length && /[ \t\r\n]/.test(text[i])) {
            i++;
        }
    };
    const string = (): { raw: string } => {
        const start = i++;
        for (;;) {
            const c = text[i++];
            if (c === undefined || c === "\n") {
                fail("literal not terminated");
            }
            if (c === '"') {
                return { raw: text.slice(start, i) };
            }
            if (c === "\\") {
                i += escapeLength(text, i, "server.conf");
            }
        }
    };
    const value = (): HclJson => {
        ws();
        const c = text[i];
        if (c === "{") {
            i++;
            const object: [string, HclJson][] = [];
            ws();
            if (text[i] === "}") {
                i++;
                return { object };
            }
            for (;;) {
                ws();
                if (text[i] !== '"') {
                    fail("expected an object key");
                }
                const key = JSON.parse(string().raw) as string;
                ws();
                if (text[i++] !== ":") {
                    fail('expected ":"');
                }
                object.push([key, value()]);
                ws();
                const next = text[i++];
                if (next === "}") {
                    return { object };
                }
                if (next !== ",") {
                    fail('expected "," or "}"');
                }
            }
        }
        if (c === "[") {
            i++;
            const array: HclJson[] = [];
            ws();
            if (text[i] === "]") {
                i++;
                return { array };
            }
            for (;;) {
                array.push(value());
                ws();
                const next = text[i++];
                if (next === "]") {
                    return { array };
                }
                if (next !== ",") {
                    fail('expected "," or "]"');
                }
            }
        }
        if (c === '"') {
            return string();
        }
        const literal = /^(true|false|null|-?[0-9][0-9.eE+-]*)/.exec(text.slice(i));
        if (literal === null) {
            fail(`unexpected ${JSON.stringify(c ?? "end of file")}`);
        }
        i += literal![0].length;
        return { literal: literal![0] };
    };
    const result = value();
    ws();
    if (i !== text.length) {
        fail("unexpected text after the object");
    }
    return result;
}

/**
 * hcl/scanner scanString over a raw string token as the HCL printer writes it back: the length it scans (from the
 * opening quote to the one that ends it; inside `${...}` a quote does not end it, a newline is allowed). Raw NUL and
 * U+E123 are refused (hcl/scanner next).
 */
export function hclScanStringLength(raw: string): number {
    let braces = 0;
    let i = 1;
    for (;;) {
        const c = raw[i++];
        if (c === undefined || (c === "\n" && braces === 0)) {
            throw new Error(`HCL: literal not terminated in ${JSON.stringify(raw)}`);
        }
        if (c === "\0" || c === "\ue123") {
            throw new Error(`HCL: illegal character ${JSON.stringify(c)}`);
        }
        if (c === '"' && braces === 0) {
            return i;
        }
        if (braces === 0 && c === "$" && raw[i] === "{") {
            braces++;
            i++;
        } else if (braces > 0 && c === "{") {
            braces++;
        }
        if (braces > 0 && c === "}") {
            braces--;
        }
        if (c === "\\") {
            i += escapeLength(raw, i, "HCL");
        }
    }
}

/** hcl/strconv Unquote: a `${...}` section is copied as is; elsewhere Go's escapes are read. */
export function hclUnquote(raw: string): string {
    const bad = () => new Error(`HCL: invalid syntax unquoting ${JSON.stringify(raw)}`);
    if (raw.length < 2 || raw[0] !== '"' || raw[raw.length - 1] !== '"') {
        throw bad();
    }
    let s = raw.slice(1, -1);
    if (!s.includes("$") && !s.includes("{") && s.includes("\n")) {
        throw bad();
    }
    let out = "";
    while (s.length > 0) {
        if (s[0] === "$" && s[1] === "{") {
            let braces = 1;
            let k = 2;
            while (k < s.length && braces > 0) {
                if (s[k] === "{") {
                    braces++;
                } else if (s[k] === "}") {
                    braces--;
                }
                k++;
            }
            if (braces !== 0) {
                throw bad();
            }
            out += s.slice(0, k);
            s = s.slice(k);
            continue;
        }
        const c = s[0];
        if (c === "\n" || c === '"') {
            throw bad();
        }
        if (c !== "\\") {
            const cp = String.fromCodePoint(s.codePointAt(0)!);
            out += cp;
            s = s.slice(cp.length);
            continue;
        }
        const e = s[1];
        const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"' };
        if (e !== undefined && e in simple) {
            out += simple[e];
            s = s.slice(2);
        } else if (e === "x" || e === "u" || e === "U") {
            const n = e === "x" ? 2 : e === "u" ? 4 : 8;
            const hex = s.slice(2, 2 + n);
            if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex) || parseInt(hex, 16) > 0x10ffff) {
                throw bad();
            }
            out += String.fromCodePoint(parseInt(hex, 16));
            s = s.slice(2 + n);
        } else if (e !== undefined && /[0-7]/.test(e)) {
            const oct = s.slice(1, 4);
            if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) {
                throw bad();
            }
            out += String.fromCharCode(parseInt(oct, 8));
            s = s.slice(4);
        } else {
            throw bad();
        }
    }
    return out;
}

function member(node: HclJson | undefined, key: string): HclJson | undefined {
    return node !== undefined && "object" in node ? node.object.find(([k]) => k === key)?.[1] : undefined;
}

/**
 * The sql DataStore plugin's settings as the plugin decodes them: server.conf expanded with `env` (SPIRE's
 * -expandEnv), parsed as HCL JSON, plugins.DataStore[0].sql.plugin_data printed back as HCL and each string read
 * with the HCL scanner and Unquote. Throws where SPIRE would fail to load the config.
 */
export function spireSqlPluginData(serverConf: string, env: Record<string, string>): Record<string, string> {
    const root = parseHclJson(spireExpandEnv(serverConf, env));
    const dataStores = member(member(root, "plugins"), "DataStore");
    const entry = dataStores !== undefined && "array" in dataStores ? dataStores.array[0] : dataStores;
    const pluginData = member(member(entry, "sql"), "plugin_data");
    if (pluginData === undefined || !("object" in pluginData)) {
        throw new Error("server.conf has no plugins.DataStore sql plugin_data object");
    }
    const settings: Record<string, string> = {};
    for (const [key, value] of pluginData.object) {
        if ("raw" in value) {
            // The printed HCL `"key" = <raw>`: the HCL scanner must end the string where the JSON scanner did.
            const scanned = hclScanStringLength(value.raw);
            if (scanned !== value.raw.length) {
                throw new Error(`HCL: the string of ${key} ends after ${scanned} of its ${value.raw.length} characters: ${JSON.stringify(value.raw)}`);
            }
            settings[key] = hclUnquote(value.raw);
        } else if ("literal" in value) {
            settings[key] = value.literal;
        }
    }
    return settings;
}

// ---------------------------------------------------------------------------------------------------------------
// Step 5: the drivers.

/** Go's unicode.IsSpace (White_Space), which lib/pq uses between and after values. */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

/** lib/pq v1.12.3 connector.go fromDSN, keyword/value form (libpq's conninfo_parse rules). */
export function libpqConninfo(dsn: string): Record<string, string> {
    const s = [...dsn];
    let i = 0;
    const next = (): string | undefined => s[i++];
    const isSpace = (c: string | undefined) => c !== undefined && GO_SPACE.test(c);
    const skipSpaces = () => {
        let c = next();
        while (isSpace(c)) {
            c = next();
        }
        return c;
    };
    const opts: Record<string, string> = {};
    for (;;) {
        let c = skipSpaces();
        if (c === undefined) {
            return opts;
        }
        let key = "";
        while (c !== undefined && !isSpace(c) && c !== "=") {
            key += c;
            c = next();
        }
        if (c !== "=") {
            c = skipSpaces();
        }
        if (c !== "=") {
            throw new Error(`missing "=" after ${JSON.stringify(key)} in connection info string`);
        }
        c = skipSpaces();
        if (c === undefined) {
            opts[key] = "";
            return opts;
        }
        let value = "";
        if (c !== "'") {
            while (c !== undefined && !isSpace(c)) {
                if (c === "\\") {
                    c = next();
                    if (c === undefined) {
                        throw new Error("missing character after backslash");
                    }
                }
                value += c;
                c = next();
            }
        } else {
            for (;;) {
                c = next();
                if (c === undefined) {
                    throw new Error("unterminated quoted string literal in connection string");
                }
                if (c === "'") {
                    break;
                }
                if (c === "\\") {
                    c = next() ?? "";
                }
                value += c;
            }
        }
        opts[key] = value;
    }
}

/** go-sql-driver/mysql v1.10.0 dsn.go ParseDSN: user, password, network, address, database and parameters. */
export function goMysqlParseDsn(dsn: string): { user: string; passwd: string; net: string; addr: string; dbname: string; params: Record<string, string> } {
    const slash = dsn.lastIndexOf("/");
    if (slash < 0) {
        throw new Error("invalid DSN: missing the slash separating the database name");
    }
    let user = "";
    let passwd = "";
    let j = -1;
    for (j = slash; j >= 0; j--) {
        if (dsn[j] === "@") {
            let k = 0;
            for (; k < j; k++) {
                if (dsn[k] === ":") {
                    passwd = dsn.slice(k + 1, j);
                    break;
                }
            }
            user = dsn.slice(0, k);
            break;
        }
    }
    let k = j + 1;
    let addr = "";
    for (; k < slash; k++) {
        if (dsn[k] === "(") {
            if (dsn[slash - 1] !== ")") {
                throw new Error("invalid DSN: network address not terminated (missing closing brace)");
            }
            addr = dsn.slice(k + 1, slash - 1);
            break;
        }
    }
    const net = dsn.slice(j + 1, k);
    const query = dsn.indexOf("?", slash + 1);
    const params: Record<string, string> = {};
    if (query >= 0) {
        for (const pair of dsn.slice(query + 1).split("&")) {
            const eq = pair.indexOf("=");
            if (eq >= 0) {
                params[pair.slice(0, eq)] = decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
            }
        }
    }
    const dbname = decodeURIComponent(dsn.slice(slash + 1, query >= 0 ? query : undefined));
    return { user, passwd, net, addr, dbname, params };
}

/** Go's net.SplitHostPort host of an address (what go-sql-driver verifies the server certificate against). */
export function goHostOf(addr: string): string {
    const m = /^\[([^\]]*)\]:\d+$/.exec(addr) ?? /^([^:]*):\d+$/.exec(addr);
    if (m === null || (m[0].startsWith("[") && isIP(m[1]) !== 6)) {
        throw new Error(`address ${JSON.stringify(addr)} is not host:port`);
    }
    return m[1];
}
