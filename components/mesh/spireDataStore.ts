// The SPIRE server's datastore: the sqlite3 file on the server's own volume (the chart's default), or an external
// PostgreSQL or MySQL server, which several server replicas share.
//
// How a setting reaches the database driver (spire chart 0.30.0, SPIRE 1.15.2):
// 1. charts/spire-server/templates/_helpers.tpl `spire-server.datastore-config` builds the connection string with
//    printf, unquoted: postgres `dbname=%s user=%s password=${DBPW} host=%s port=%d` followed by ` key=value` per
//    `dataStore.sql.options` entry; mysql `%s:${DBPW}@tcp(%s:%d)/%s?key=value&...&parseTime=true` (options
//    url-query-escaped). `root_ca_path` is written beside it only for mysql (templates/server-resource.yaml fails
//    "rootCAPath can only be set with database type mysql or aws_mysql.").
// 2. templates/configmap.yaml writes server.conf as JSON (spire-lib `reformat-and-yaml2json`: toPrettyJson), and the
//    server runs with `-expandEnv` and DBPW from the password Secret (templates/server-resource.yaml).
// 3. spire cmd/spire-server/cli/run/run.go ParseFile: pkg/common/config ExpandEnv (Go's os.Expand over the whole
//    file text, `$$` kept as `$`) BEFORE hcl.Decode. So the Secret's text lands inside a JSON string literal.
// 4. hashicorp/hcl v1 (v1.0.1-vault-7) reads the file as JSON (lex.go: first character `{`); a plugin's
//    `plugin_data` stays an AST (pkg/common/catalog/config.go hclPluginConfig.PluginData ast.Node) whose string
//    tokens keep their raw JSON text; catalog/config.go pluginConfigFromHCL prints it back as HCL
//    (printer: hcl/printer/nodes.go literalType writes Token.Text as is) and the sql plugin decodes that text again
//    (pkg/server/datastore/sqlstore/sqlstore.go Configure: hcl.Decode), now as HCL: hcl/scanner scanString
//    and hcl/strconv Unquote, which copy a `${...}` section raw (no escapes read inside it) and refuse U+E123.
// 5. The driver parses the string: postgres through gorm's "postgres" dialect, which is lib/pq (jinzhu/gorm
//    dialects/postgres imports github.com/lib/pq; sqlstore/postgres.go gorm.Open("postgres", connString); pgx
//    only for aws_postgres), lib/pq v1.12.3 connector.go fromDSN (libpq's conninfo_parse rules: a value in single
//    quotes, `\` escaping the next character); mysql through go-sql-driver/mysql v1.10.0 dsn.go ParseDSN, which
//    takes the password raw between the first ":" and the last "@" before the last "/".

import { isIP } from "net";
import { Values } from "../values";
import { checkDnsName, describeProblem, editDistance, quote } from "../validation";

/** The Secret (in the SPIRE namespace) holding the SQL datastore password, already encoded (encodeDataStorePassword). */
export const SPIRE_DATASTORE_PASSWORD_SECRET = "spire-datastore-password";
/** The key of that Secret. */
export const SPIRE_DATASTORE_PASSWORD_KEY = "password";
/** The key of the CA Secret (`tls.caSecret`) holding the PEM CA bundle that signs the database server's certificate. */
export const SPIRE_DATASTORE_CA_KEY = "ca.crt";
/** The pod volume of the CA Secret, and where the server (and the chart's controller manager container) mount it. */
export const SPIRE_DATASTORE_CA_VOLUME = "spire-datastore-ca";
export const SPIRE_DATASTORE_CA_DIR = "/run/spire/datastore-ca";
export const SPIRE_DATASTORE_CA_PATH = `${SPIRE_DATASTORE_CA_DIR}/${SPIRE_DATASTORE_CA_KEY}`;

/** The port each SQL server listens on by default (the chart's own defaults, _helpers.tpl `default 5432` / `3306`). */
export const SQL_DEFAULT_PORTS = { postgres: 5432, mysql: 3306 } as const;

/**
 * PostgreSQL sslmodes (libpq; lib/pq connector.go sslModes are the same six). lib/pq's default, when none is given,
 * is "require" (TLS without verification), not libpq's "prefer".
 */
export const POSTGRES_TLS_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
/** The modes that verify the server's certificate chain, so the only ones a CA is for. */
export const POSTGRES_VERIFYING_TLS_MODES = ["verify-ca", "verify-full"] as const;
/**
 * go-sql-driver/mysql's `tls` values (dsn.go normalize: "true" verifies against the system roots and the host name,
 * "skip-verify" and "preferred" do not verify, "preferred" also falls back to plain text; "false" is plain text). Other
 * values name a registered tls.Config, which a config file cannot register. Without `tls` the driver does not use TLS.
 */
export const MYSQL_TLS_MODES = ["true", "false", "skip-verify", "preferred"] as const;
export const MYSQL_VERIFYING_TLS_MODES = ["true"] as const;

/** TLS to the database server. */
export interface SqlDataStoreTls {
    /** PostgreSQL: an sslmode (POSTGRES_TLS_MODES); MySQL: go-sql-driver's `tls` (MYSQL_TLS_MODES). */
    mode: string;
    /**
     * A Secret in the SPIRE namespace whose key `ca.crt` holds the CA (PEM) that signs the database server's
     * certificate; only with a verifying mode. Absent: the system roots of the SPIRE server image.
     */
    caSecret?: string;
}

/** An external SQL datastore. */
export interface SqlDataStore {
    type: "postgres" | "mysql";
    /** DNS name or IP address of the database server. */
    host: string;
    /** @default 5432 (postgres), 3306 (mysql) */
    port?: number;
    database: string;
    user: string;
    /** @default the driver's default: lib/pq "require" (TLS, unverified); go-sql-driver no TLS */
    tls?: SqlDataStoreTls;
}

/** Where the SPIRE server keeps its data. */
export type SpireDataStore = { type: "sqlite3" } | SqlDataStore;

/** The port an SQL datastore is reached on (its own, or the type's default). */
export function dataStorePort(ds: SqlDataStore): number {
    return ds.port ?? SQL_DEFAULT_PORTS[ds.type];
}

const KEY = "spireDataStore";
const SQL_FIELDS = ["type", "host", "port", "database", "user", "tls"];
const TLS_FIELDS = ["mode", "caSecret"];
const SHAPE =
    'expected {"type": "sqlite3"} (the default) or {"type": "postgres" | "mysql", "host", "port"?, "database", "user", "tls"?: {"mode", "caSecret"?}}';
const TYPES = ["sqlite3", "postgres", "mysql"];

/**
 * The characters a database or user name may have: they are written unquoted into the connection string (step 1
 * above), so no whitespace (ends a libpq value), `\` and `'` (libpq escape and quote), `$` (expandEnv), `"` (the JSON
 * and HCL string), `:` (ends the MySQL user), `/` `?` `%` (the MySQL database name is the DSN path, path-unescaped).
 * `@` is left to users (Azure's `user@server`): ParseDSN splits at the LAST "@", so a user's "@" stays the user's.
 */
const NAME_CHARACTERS = { database: /^[A-Za-z0-9_.-]$/, user: /^[A-Za-z0-9_.@-]$/ };
const NAME_CHARACTERS_TEXT = { database: 'letters, digits, "_", "-" and "."', user: 'letters, digits, "_", "-", "." and "@"' };
/**
 * Longest names the servers keep. PostgreSQL truncates longer database and user names of a connection to
 * NAMEDATALEN - 1 = 63 bytes (postmaster ProcessStartupPacket), so a longer name would silently name another role;
 * MySQL user names are at most 32 characters, database names 64 (MySQL reference, "Identifier Length Limits").
 */
const NAME_LIMITS = {
    postgres: { database: [63, "PostgreSQL truncates database names to 63 bytes"], user: [63, "PostgreSQL truncates user names to 63 bytes"] },
    mysql: { database: [64, "MySQL database names are at most 64 characters"], user: [32, "MySQL user names are at most 32 characters"] },
} as const;

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** ` ; did you mean "host"?` when a field is one or two edits from a known one. */
function didYouMean(field: string, known: string[]): string {
    const close = known.find((k) => editDistance(field.toLowerCase(), k.toLowerCase()) <= 2);
    return close === undefined ? "" : `; did you mean ${quote(close)}?`;
}

function unknownFields(at: string, value: Record<string, unknown>, known: string[], problems: string[]): void {
    for (const field of Object.keys(value).filter((k) => !known.includes(k))) {
        problems.push(describeProblem(`${at}.${field}`, value[field], `is not a field of ${at}${didYouMean(field, known)}; expected ${known.join(", ")}`));
    }
}

function checkName(type: SqlDataStore["type"], field: "database" | "user", value: unknown): string | undefined {
    const expected = `expected the ${field === "database" ? "database" : "user"} name, of ${NAME_CHARACTERS_TEXT[field]}, e.g. "spire"`;
    if (value === undefined) {
        return `is required for ${quote(type)}; ${expected}`;
    }
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    if (value === "") {
        return `is empty; ${expected}`;
    }
    const bad = [...value].find((c) => !NAME_CHARACTERS[field].test(c));
    if (bad !== undefined) {
        return `contains ${quote(bad)}; the chart writes it unquoted into the connection string, so it takes only ${NAME_CHARACTERS_TEXT[field]}`;
    }
    const [limit, why] = NAME_LIMITS[type][field];
    if (value.length > limit) {
        return `is ${value.length} characters long; ${why}`;
    }
    return undefined;
}

function checkHost(type: SqlDataStore["type"], value: unknown): string | undefined {
    const expected =
        'expected the database server\'s DNS name (lowercase letters, digits, "-" and ".") or IP address, e.g. "spire-db.example.com" or "10.0.0.12"';
    if (value === undefined) {
        return `is required for ${quote(type)}; ${expected}`;
    }
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    if (isIP(value) !== 0 || checkDnsName(value) === undefined) {
        return undefined;
    }
    const bracketed = /^\[(.*)\]$/.exec(value);
    if (bracketed !== null && isIP(bracketed[1]) === 6) {
        return `is an IPv6 address in brackets; write it without them, e.g. ${quote(bracketed[1])}`;
    }
    return `is neither a DNS name nor an IP address; ${expected}`;
}

function checkPort(type: SqlDataStore["type"], value: unknown): string | undefined {
    if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535) {
        return undefined;
    }
    return `is not a port number; expected an integer from 1 to 65535 (default ${SQL_DEFAULT_PORTS[type]} for ${type})`;
}

function checkTls(type: SqlDataStore["type"], value: unknown, problems: string[]): SqlDataStoreTls | undefined {
    const at = `${KEY}.tls`;
    const modes: readonly string[] = type === "postgres" ? POSTGRES_TLS_MODES : MYSQL_TLS_MODES;
    const verifying: readonly string[] = type === "postgres" ? POSTGRES_VERIFYING_TLS_MODES : MYSQL_VERIFYING_TLS_MODES;
    const modeList = modes.map((m) => quote(m)).join(", ");
    const modeKind = type === "postgres" ? "a PostgreSQL sslmode" : "a go-sql-driver/mysql tls value";
    if (!isObject(value)) {
        problems.push(describeProblem(at, value, `is not an object; expected {"mode", "caSecret"?} with "mode" one of ${modeList}`));
        return undefined;
    }
    const before = problems.length;
    unknownFields(at, value, TLS_FIELDS, problems);
    const { mode, caSecret } = value;
    if (mode === undefined) {
        problems.push(describeProblem(`${at}.mode`, mode, `is required; expected ${modeKind}: ${modeList}`));
    } else if (typeof mode !== "string" || !modes.includes(mode)) {
        problems.push(describeProblem(`${at}.mode`, mode, `is not ${modeKind}; expected one of ${modeList}`));
    }
    if (caSecret !== undefined) {
        if (typeof caSecret !== "string" || checkDnsName(caSecret) !== undefined) {
            problems.push(
                describeProblem(
                    `${at}.caSecret`,
                    caSecret,
                    `is not a Secret name; expected the name of a Secret in the SPIRE namespace (lowercase letters, digits, "-" and ".") whose key "${SPIRE_DATASTORE_CA_KEY}" holds the CA`,
                ),
            );
        } else if (caSecret === SPIRE_DATASTORE_PASSWORD_SECRET) {
            problems.push(
                describeProblem(`${at}.caSecret`, caSecret, "is the Secret this program writes the datastore password to; name the Secret holding the CA"),
            );
        } else if (typeof mode === "string" && modes.includes(mode) && !verifying.includes(mode)) {
            problems.push(
                describeProblem(
                    `${at}.caSecret`,
                    caSecret,
                    type === "postgres"
                        ? mode === "require"
                            ? // lib/pq ssl.go (as libpq): "require" with an sslrootcert file verifies the chain.
                              'is only taken with tls.mode "verify-ca" or "verify-full": with "require" the driver would quietly verify the chain with it anyway, as "verify-ca" does; say so with "mode": "verify-ca" or "verify-full"'
                            : `is only taken with tls.mode "verify-ca" or "verify-full": with ${quote(mode)} the connection may not use TLS at all, so the CA would be ignored; set "mode": "verify-ca" or "verify-full"`
                        : // spire sqlstore/mysql.go configureConnection: root_ca_path replaces the connection's tls setting
                          // with SPIRE's own verifying tls.Config ("spireCustomTLS").
                          `is only taken with tls.mode "true": SPIRE verifies the server with the CA whenever one is set, so ${quote(mode)} would be silently replaced; set "mode": "true"`,
                ),
            );
        }
    }
    if (problems.length > before) {
        return undefined;
    }
    return { mode: mode as string, ...(caSecret !== undefined ? { caSecret: caSecret as string } : {}) };
}

/**
 * Validates the parsed JSON of config key `spireDataStore` (undefined: `{type: "sqlite3"}`). Each problem is pushed
 * as one line (`spireDataStore.<field>: <value> <what is wrong; what is expected>`); with any problem the answer is
 * `{type: "sqlite3"}` and the caller is expected to refuse the configuration.
 */
export function parseSpireDataStore(value: unknown, problems: string[]): SpireDataStore {
    const sqlite: SpireDataStore = { type: "sqlite3" };
    if (value === undefined) {
        return sqlite;
    }
    if (!isObject(value)) {
        problems.push(describeProblem(KEY, value, `is not an object; ${SHAPE}`));
        return sqlite;
    }
    const type = value.type;
    if (type === undefined || typeof type !== "string" || !TYPES.includes(type)) {
        problems.push(
            describeProblem(
                `${KEY}.type`,
                type,
                `${type === undefined ? "is required" : "is not a datastore type"}; expected one of "sqlite3", "postgres", "mysql"`,
            ),
        );
        unknownFields(KEY, value, SQL_FIELDS, problems);
        return sqlite;
    }
    if (type === "sqlite3") {
        for (const field of Object.keys(value).filter((k) => k !== "type")) {
            problems.push(
                describeProblem(
                    `${KEY}.${field}`,
                    value[field],
                    SQL_FIELDS.includes(field)
                        ? 'is not taken by the "sqlite3" datastore (a file on the server\'s own volume); set "type" to "postgres" or "mysql" to use an SQL server'
                        : `is not a field of ${KEY}${didYouMean(field, SQL_FIELDS)}; ${SHAPE}`,
                ),
            );
        }
        return sqlite;
    }
    const before = problems.length;
    const sqlType = type as SqlDataStore["type"];
    unknownFields(KEY, value, SQL_FIELDS, problems);
    const report = (field: string, problem: string | undefined) => {
        if (problem !== undefined) {
            problems.push(describeProblem(`${KEY}.${field}`, value[field], problem));
        }
    };
    report("host", checkHost(sqlType, value.host));
    if (value.port !== undefined) {
        report("port", checkPort(sqlType, value.port));
    }
    report("database", checkName(sqlType, "database", value.database));
    report("user", checkName(sqlType, "user", value.user));
    const tls = value.tls === undefined ? undefined : checkTls(sqlType, value.tls, problems);
    if (problems.length > before) {
        return sqlite;
    }
    return {
        type: sqlType,
        host: value.host as string,
        ...(value.port !== undefined ? { port: value.port as number } : {}),
        database: value.database as string,
        user: value.user as string,
        ...(tls !== undefined ? { tls } : {}),
    };
}

/**
 * The additions to the umbrella chart's `spire-server` values for a datastore: `{}` for sqlite3 (the chart's default,
 * so deployed stacks do not change). For SQL: `dataStore.sql` with the whole connection (type, database, host, port,
 * user, options: nothing of the chart's defaults or of pass-through values is left to decide it), the password from
 * the Secret `passwordSecret` (`externalSecret`: the chart then sets DBPW from it and creates no Secret of its own),
 * and with `tls.caSecret` the CA mounted from that Secret (`extraVolumes`/`extraVolumeMounts`, which the chart gives
 * to the server container and to the controller manager container of the same pod) and referenced: postgres by the
 * `sslrootcert` option (libpq's; the chart refuses `rootCAPath` for postgres), mysql by the chart's `rootCAPath`
 * (server.conf `root_ca_path`, which SPIRE reads for mysql only).
 */
export function spireDataStoreChartValues(ds: SpireDataStore, passwordSecret: { name: string; key: string }): Values {
    if (ds.type === "sqlite3") {
        return {};
    }
    const caSecret = ds.tls?.caSecret;
    const options: Values[] =
        ds.type === "postgres"
            ? ds.tls === undefined
                ? []
                : [{ sslmode: ds.tls.mode }, ...(caSecret !== undefined ? [{ sslrootcert: SPIRE_DATASTORE_CA_PATH }] : [])]
            : ds.tls === undefined
              ? []
              : [{ tls: ds.tls.mode }];
    // The mysql template writes `tcp(%s:%d)`: an IPv6 address needs its brackets there (go-sql-driver dials the
    // address as is); lib/pq joins host and port itself (connector.go network: net.JoinHostPort).
    const host = ds.type === "mysql" && isIP(ds.host) === 6 ? `[${ds.host}]` : ds.host;
    return {
        dataStore: {
            sql: {
                databaseType: ds.type,
                databaseName: ds.database,
                host,
                port: dataStorePort(ds),
                username: ds.user,
                options,
                externalSecret: { enabled: true, name: passwordSecret.name, key: passwordSecret.key },
                ...(ds.type === "mysql" && caSecret !== undefined ? { rootCAPath: SPIRE_DATASTORE_CA_PATH } : {}),
            },
        },
        ...(caSecret !== undefined
            ? {
                  extraVolumes: [
                      {
                          name: SPIRE_DATASTORE_CA_VOLUME,
                          secret: { secretName: caSecret, items: [{ key: SPIRE_DATASTORE_CA_KEY, path: SPIRE_DATASTORE_CA_KEY }] },
                      },
                  ],
                  extraVolumeMounts: [{ name: SPIRE_DATASTORE_CA_VOLUME, mountPath: SPIRE_DATASTORE_CA_DIR, readOnly: true }],
              }
            : {}),
    };
}

/**
 * Why a password cannot be the SQL datastore's, or undefined. Any other password works with encodeDataStorePassword.
 * - empty: the chart always writes a password (postgres `password=`, mysql `user:@`), and an account without one is
 *   not what a password setting is for;
 * - a NUL character: PostgreSQL's protocol and libpq carry the password as a NUL-terminated string, and so do MySQL's
 *   clear-text authentication and its client tools, so the server and the driver would not see the same password;
 * - a lone UTF-16 surrogate: it has no UTF-8 form, so the Secret could not hold the password as given.
 */
export function dataStorePasswordProblem(type: "postgres" | "mysql", password: string): string | undefined {
    const server = type === "postgres" ? "PostgreSQL" : "MySQL";
    if (password === "") {
        return `is empty; expected the ${server} user's password`;
    }
    if (password.includes("\0")) {
        return `contains a NUL character, which ${server} cannot take in a password (it is sent as a NUL-terminated string)`;
    }
    if (/\p{Surrogate}/u.test(password)) {
        return "contains a lone UTF-16 surrogate, which has no UTF-8 form; expected a password of Unicode characters";
    }
    return undefined;
}

/**
 * The body of a string literal that both of SPIRE's readings of server.conf (step 3-4 above) turn back into `text`:
 * hcl/json/scanner and hcl/scanner scanString, then hcl/strconv Unquote (or Go's strconv.Unquote, which gives the same
 * for these escapes). `"` and `\` are escaped; `$` is written `\u0024` so that no `${` ever starts HCL's
 * interpolation section, inside which Unquote reads no escapes and the scanner ignores `"`; control characters and
 * U+E123 (hcl/scanner next: "reserved for internal use") as `\u` escapes; the rest, non-ASCII included, as is.
 */
function hclStringBody(text: string): string {
    let out = "";
    for (const c of text) {
        const code = c.codePointAt(0)!;
        if (c === '"' || c === "\\") {
            out += `\\${c}`;
        } else if (c === "$" || code < 0x20 || code === 0x7f || code === 0xe123) {
            out += `\\u${code.toString(16).padStart(4, "0")}`;
        } else {
            out += c;
        }
    }
    return out;
}

/**
 * A libpq keyword/value quoted value: in single quotes, `\` and `'` escaped with `\`. lib/pq (connector.go fromDSN),
 * libpq (fe-connect.c conninfo_parse) and pgx (pgconn/config.go parseKeywordValueSettings, which unescapes only `\\`
 * and `\'`) all read it back as `value`; whitespace, `=`, `@`, `%` need no escape inside the quotes.
 */
export function libpqQuote(value: string): string {
    return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * The exact text to store in the password Secret (SPIRE_DATASTORE_PASSWORD_SECRET) for `password`: what, substituted
 * for `${DBPW}` in server.conf and read as SPIRE reads it (see the top of this file), gives the driver exactly
 * `password`. postgres: the libpq-quoted value, as the body of an HCL string; mysql: the password itself as the body
 * of an HCL string (ParseDSN takes it raw: it may hold ":", "@", "/" and anything else). Check the password with
 * dataStorePasswordProblem first.
 */
export function encodeDataStorePassword(type: "postgres" | "mysql", password: string): string {
    return hclStringBody(type === "postgres" ? libpqQuote(password) : password);
}
