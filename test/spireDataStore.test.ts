// The SPIRE SQL datastore settings (components/mesh/spireDataStore.ts): the config's validation messages, the chart
// values and what the pinned spire chart renders from them (real Helm), and the password encoding followed through
// SPIRE's reading of server.conf to each driver's connection-string parser (test/spireServerConf.ts models them from
// their sources; test/postgres.test.ts checks the postgres end against a real PostgreSQL).

import { expect } from "chai";
import { SpireChartSettings, spireChartValues } from "../components/mesh/spire";
import {
    SPIRE_DATASTORE_CA_PATH,
    SPIRE_DATASTORE_PASSWORD_KEY,
    SPIRE_DATASTORE_PASSWORD_SECRET,
    SpireDataStore,
    dataStorePasswordProblem,
    encodeDataStorePassword,
    libpqQuote,
    parseSpireDataStore,
    spireDataStoreChartValues,
} from "../components/mesh/spireDataStore";
import { requireUpstream } from "../tools/upstream/artifacts";
import { RenderedObject } from "../tools/upstream/helm";
import { objectsOf, requireHelm } from "./chartRender";
import {
    goHostOf,
    goMysqlParseDsn,
    hclUnquote,
    libpqConninfo,
    renderSpire,
    serverConfOf,
    serverPodOf,
    spireExpandEnv,
    spireSqlPluginData,
    spireTestSettings,
} from "./spireServerConf";

const SHAPE =
    'expected {"type": "sqlite3"} (the default) or {"type": "postgres" | "mysql", "host", "port"?, "database", "user", "tls"?: {"mode", "caSecret"?}}';
const HOST_EXPECTED =
    'expected the database server\'s DNS name (lowercase letters, digits, "-" and ".") or IP address, e.g. "spire-db.example.com" or "10.0.0.12"';
const PG_MODES = '"disable", "allow", "prefer", "require", "verify-ca", "verify-full"';
const USER_CHARS = 'letters, digits, "_", "-", "." and "@"';
const DB_CHARS = 'letters, digits, "_", "-" and "."';

const PG: SpireDataStore = { type: "postgres", host: "db.example.com", database: "spire", user: "spire", tls: { mode: "verify-full", caSecret: "db-ca" } };
const MYSQL: SpireDataStore = { type: "mysql", host: "db.example.com", database: "spire", user: "spire", tls: { mode: "true", caSecret: "db-ca" } };
const SECRET = { name: SPIRE_DATASTORE_PASSWORD_SECRET, key: SPIRE_DATASTORE_PASSWORD_KEY };

function problemsOf(value: unknown): string[] {
    const problems: string[] = [];
    parseSpireDataStore(value, problems);
    return problems;
}

/** Passwords with every character that has a meaning somewhere on the way (see spireDataStore.ts, steps 1-5). */
const HARD_PASSWORDS = [
    `p@ss w0rd 'single' "double" back\\slash 100% $HOME \${DBPW} =eq ünï`,
    "'",
    "\\",
    "ends with a backslash\\",
    "\\'",
    "${",
    '${X"}',
    "}{$",
    "$$",
    "$",
    "a=b c=d",
    "  leading and trailing spaces  ",
    "tab\tnew\nline\rcarriage",
    "\u0085next line\u00a0nbsp\u3000ideographic", // Go unicode.IsSpace, where lib/pq's unquoted values end
    "\ue123 reserved by hcl/scanner",
    "emoji 😀 and \u2028",
    "user:pw@tcp(host:1)/db?x=y",
    "%41%2F+",
];

describe("spireDataStore: the SPIRE SQL datastore settings", () => {
    describe("parseSpireDataStore", () => {
        it("reads an absent setting and sqlite3 as the chart's default, with no problem", () => {
            for (const value of [undefined, { type: "sqlite3" }]) {
                const problems: string[] = [];
                expect(parseSpireDataStore(value, problems)).to.deep.equal({ type: "sqlite3" });
                expect(problems).to.deep.equal([]);
            }
        });

        it("reads postgres and mysql datastores, port and tls only when given", () => {
            const problems: string[] = [];
            expect(parseSpireDataStore({ ...PG, port: 5433 }, problems)).to.deep.equal({ ...PG, port: 5433 });
            expect(parseSpireDataStore({ type: "mysql", host: "fd00::12", database: "spire_db", user: "spire@srv" }, problems)).to.deep.equal({
                type: "mysql",
                host: "fd00::12",
                database: "spire_db",
                user: "spire@srv",
            });
            expect(parseSpireDataStore({ type: "postgres", host: "10.0.0.12", database: "d", user: "u", tls: { mode: "require" } }, problems)).to.deep.equal({
                type: "postgres",
                host: "10.0.0.12",
                database: "d",
                user: "u",
                tls: { mode: "require" },
            });
            expect(problems).to.deep.equal([]);
        });

        const BAD: { title: string; value: unknown; problems: string[] }[] = [
            { title: "not an object", value: "postgres", problems: [`spireDataStore: "postgres" is not an object; ${SHAPE}`] },
            { title: "null", value: null, problems: [`spireDataStore: null is not an object; ${SHAPE}`] },
            { title: "a list", value: [], problems: [`spireDataStore: [] is not an object; ${SHAPE}`] },
            { title: "no type", value: {}, problems: ['spireDataStore.type: undefined is required; expected one of "sqlite3", "postgres", "mysql"'] },
            {
                title: "an unknown type",
                value: { type: "postgresql", host: "db" },
                problems: ['spireDataStore.type: "postgresql" is not a datastore type; expected one of "sqlite3", "postgres", "mysql"'],
            },
            {
                title: "sqlite3 with SQL fields or unknown ones",
                value: { type: "sqlite3", host: "db", fil: "x" },
                problems: [
                    'spireDataStore.host: "db" is not taken by the "sqlite3" datastore (a file on the server\'s own volume); set "type" to "postgres" or "mysql" to use an SQL server',
                    `spireDataStore.fil: "x" is not a field of spireDataStore; ${SHAPE}`,
                ],
            },
            {
                title: "a misspelt field, and so no host",
                value: { type: "postgres", hots: "db", database: "spire", user: "spire" },
                problems: [
                    'spireDataStore.hots: "db" is not a field of spireDataStore; did you mean "host"?; expected type, host, port, database, user, tls',
                    `spireDataStore.host: undefined is required for "postgres"; ${HOST_EXPECTED}`,
                ],
            },
            {
                title: "a host that is no DNS name",
                value: { type: "postgres", host: "db_1.example.com", database: "spire", user: "spire" },
                problems: [`spireDataStore.host: "db_1.example.com" is neither a DNS name nor an IP address; ${HOST_EXPECTED}`],
            },
            {
                title: "a host that is not a string",
                value: { type: "mysql", host: 3306, database: "spire", user: "spire" },
                problems: [`spireDataStore.host: 3306 is not a string; ${HOST_EXPECTED}`],
            },
            {
                title: "an IPv6 host in brackets",
                value: { type: "mysql", host: "[fd00::12]", database: "spire", user: "spire" },
                problems: ['spireDataStore.host: "[fd00::12]" is an IPv6 address in brackets; write it without them, e.g. "fd00::12"'],
            },
            {
                title: "ports out of range or not integers",
                value: { type: "postgres", host: "db", database: "spire", user: "spire", port: 65536 },
                problems: ["spireDataStore.port: 65536 is not a port number; expected an integer from 1 to 65535 (default 5432 for postgres)"],
            },
            {
                title: "a port as a string",
                value: { type: "mysql", host: "db", database: "spire", user: "spire", port: "3306" },
                problems: ['spireDataStore.port: "3306" is not a port number; expected an integer from 1 to 65535 (default 3306 for mysql)'],
            },
            {
                title: "an empty database, a user with a space",
                value: { type: "postgres", host: "db", database: "", user: "spire admin" },
                problems: [
                    `spireDataStore.database: "" is empty; expected the database name, of ${DB_CHARS}, e.g. "spire"`,
                    `spireDataStore.user: "spire admin" contains " "; the chart writes it unquoted into the connection string, so it takes only ${USER_CHARS}`,
                ],
            },
            {
                title: "characters the connection string templates do not carry",
                value: { type: "mysql", host: "db", database: "spire/db", user: "spire:admin" },
                problems: [
                    `spireDataStore.database: "spire/db" contains "/"; the chart writes it unquoted into the connection string, so it takes only ${DB_CHARS}`,
                    `spireDataStore.user: "spire:admin" contains ":"; the chart writes it unquoted into the connection string, so it takes only ${USER_CHARS}`,
                ],
            },
            {
                title: "$, quotes and backslashes in names",
                value: { type: "postgres", host: "db", database: "a$b", user: "sp'i\\re" },
                problems: [
                    `spireDataStore.database: "a$b" contains "$"; the chart writes it unquoted into the connection string, so it takes only ${DB_CHARS}`,
                    `spireDataStore.user: "sp'i\\\\re" contains "'"; the chart writes it unquoted into the connection string, so it takes only ${USER_CHARS}`,
                ],
            },
            {
                title: "names longer than the servers keep",
                value: { type: "postgres", host: "db", database: "d".repeat(64), user: "u".repeat(63) },
                problems: [`spireDataStore.database: "${"d".repeat(64)}" is 64 characters long; PostgreSQL truncates database names to 63 bytes`],
            },
            {
                title: "a MySQL user name over 32 characters",
                value: { type: "mysql", host: "db", database: "d".repeat(64), user: "u".repeat(33) },
                problems: [`spireDataStore.user: "${"u".repeat(33)}" is 33 characters long; MySQL user names are at most 32 characters`],
            },
            {
                title: "tls as a string",
                value: { ...PG, tls: "verify-full" },
                problems: [`spireDataStore.tls: "verify-full" is not an object; expected {"mode", "caSecret"?} with "mode" one of ${PG_MODES}`],
            },
            {
                title: "tls without a mode",
                value: { ...PG, tls: {} },
                problems: [`spireDataStore.tls.mode: undefined is required; expected a PostgreSQL sslmode: ${PG_MODES}`],
            },
            {
                title: "an unknown sslmode and an unknown tls field",
                value: { ...PG, tls: { mode: "verify", ca: "db-ca" } },
                problems: [
                    'spireDataStore.tls.ca: "db-ca" is not a field of spireDataStore.tls; expected mode, caSecret',
                    `spireDataStore.tls.mode: "verify" is not a PostgreSQL sslmode; expected one of ${PG_MODES}`,
                ],
            },
            {
                title: "an sslmode for MySQL",
                value: { ...MYSQL, tls: { mode: "verify-full" } },
                problems: [
                    'spireDataStore.tls.mode: "verify-full" is not a go-sql-driver/mysql tls value; expected one of "true", "false", "skip-verify", "preferred"',
                ],
            },
            {
                title: "a CA with postgres require",
                value: { ...PG, tls: { mode: "require", caSecret: "db-ca" } },
                problems: [
                    'spireDataStore.tls.caSecret: "db-ca" is only taken with tls.mode "verify-ca" or "verify-full": with "require" the driver would quietly verify the chain with it anyway, as "verify-ca" does; say so with "mode": "verify-ca" or "verify-full"',
                ],
            },
            {
                title: "a CA with postgres prefer",
                value: { ...PG, tls: { mode: "prefer", caSecret: "db-ca" } },
                problems: [
                    'spireDataStore.tls.caSecret: "db-ca" is only taken with tls.mode "verify-ca" or "verify-full": with "prefer" the connection may not use TLS at all, so the CA would be ignored; set "mode": "verify-ca" or "verify-full"',
                ],
            },
            {
                title: "a CA with a MySQL mode SPIRE would replace",
                value: { ...MYSQL, tls: { mode: "skip-verify", caSecret: "db-ca" } },
                problems: [
                    'spireDataStore.tls.caSecret: "db-ca" is only taken with tls.mode "true": SPIRE verifies the server with the CA whenever one is set, so "skip-verify" would be silently replaced; set "mode": "true"',
                ],
            },
            {
                title: "a CA Secret name Kubernetes refuses",
                value: { ...PG, tls: { mode: "verify-ca", caSecret: "Db_CA" } },
                problems: [
                    'spireDataStore.tls.caSecret: "Db_CA" is not a Secret name; expected the name of a Secret in the SPIRE namespace (lowercase letters, digits, "-" and ".") whose key "ca.crt" holds the CA',
                ],
            },
            {
                title: "the password Secret as the CA Secret",
                value: { ...PG, tls: { mode: "verify-ca", caSecret: SPIRE_DATASTORE_PASSWORD_SECRET } },
                problems: [
                    'spireDataStore.tls.caSecret: "spire-datastore-password" is the Secret this program writes the datastore password to; name the Secret holding the CA',
                ],
            },
        ];
        for (const c of BAD) {
            it(`refuses ${c.title}, saying exactly what and why`, () => {
                const problems: string[] = [];
                expect(parseSpireDataStore(c.value, problems)).to.deep.equal({ type: "sqlite3" });
                expect(problems).to.deep.equal(c.problems);
            });
        }

        it("accepts every mode of each driver, and a CA with exactly the verifying ones", () => {
            const accepted = (type: "postgres" | "mysql", mode: string, caSecret?: string) =>
                problemsOf({ type, host: "db", database: "spire", user: "spire", tls: { mode, ...(caSecret ? { caSecret } : {}) } }).length === 0;
            expect(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].filter((m) => accepted("postgres", m))).to.have.length(6);
            expect(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].filter((m) => accepted("postgres", m, "db-ca"))).to.deep.equal([
                "verify-ca",
                "verify-full",
            ]);
            expect(["true", "false", "skip-verify", "preferred"].filter((m) => accepted("mysql", m))).to.have.length(4);
            expect(["true", "false", "skip-verify", "preferred"].filter((m) => accepted("mysql", m, "db-ca"))).to.deep.equal(["true"]);
            expect(accepted("mysql", "TRUE")).to.equal(false);
        });
    });

    describe("spireDataStoreChartValues", () => {
        it("adds nothing for sqlite3, so the spire chart's values stay exactly what deployed stacks have", () => {
            expect(spireDataStoreChartValues({ type: "sqlite3" }, SECRET)).to.deep.equal({});
            const settings: SpireChartSettings = spireTestSettings();
            expect(spireChartValues({ ...settings, dataStore: { type: "sqlite3" } })).to.deep.equal(spireChartValues(settings));
            expect(JSON.stringify(spireChartValues(settings))).not.to.contain("dataStore");
        });

        it("decides the whole postgres connection, the password Secret and the CA mount", () => {
            expect(spireDataStoreChartValues(PG, SECRET)).to.deep.equal({
                dataStore: {
                    sql: {
                        databaseType: "postgres",
                        databaseName: "spire",
                        host: "db.example.com",
                        port: 5432,
                        username: "spire",
                        options: [{ sslmode: "verify-full" }, { sslrootcert: "/run/spire/datastore-ca/ca.crt" }],
                        externalSecret: { enabled: true, name: "spire-datastore-password", key: "password" },
                    },
                },
                extraVolumes: [{ name: "spire-datastore-ca", secret: { secretName: "db-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } }],
                extraVolumeMounts: [{ name: "spire-datastore-ca", mountPath: "/run/spire/datastore-ca", readOnly: true }],
            });
        });

        it("gives mysql the chart's rootCAPath, its tls option, and an IPv6 host in brackets", () => {
            expect(spireDataStoreChartValues({ ...MYSQL, host: "fd00::12", port: 3307 }, SECRET)).to.deep.equal({
                dataStore: {
                    sql: {
                        databaseType: "mysql",
                        databaseName: "spire",
                        host: "[fd00::12]",
                        port: 3307,
                        username: "spire",
                        options: [{ tls: "true" }],
                        externalSecret: { enabled: true, name: "spire-datastore-password", key: "password" },
                        rootCAPath: "/run/spire/datastore-ca/ca.crt",
                    },
                },
                extraVolumes: [{ name: "spire-datastore-ca", secret: { secretName: "db-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } }],
                extraVolumeMounts: [{ name: "spire-datastore-ca", mountPath: "/run/spire/datastore-ca", readOnly: true }],
            });
        });

        it("leaves TLS to the driver's default and mounts nothing without tls", () => {
            expect(spireDataStoreChartValues({ type: "postgres", host: "10.0.0.12", port: 5433, database: "d", user: "u" }, SECRET)).to.deep.equal({
                dataStore: {
                    sql: {
                        databaseType: "postgres",
                        databaseName: "d",
                        host: "10.0.0.12",
                        port: 5433,
                        username: "u",
                        options: [],
                        externalSecret: { enabled: true, name: "spire-datastore-password", key: "password" },
                    },
                },
            });
        });

        it("is merged into the spire-server values by spireChartValues, over pass-through values", () => {
            const values = spireChartValues(
                { ...spireTestSettings(), dataStore: PG },
                { "spire-server": { dataStore: { sql: { options: [{ connect_timeout: 5 }], maxOpenConns: 10 } }, logLevel: "debug" } },
            ) as any;
            expect(values["spire-server"].dataStore.sql.options).to.deep.equal([{ sslmode: "verify-full" }, { sslrootcert: SPIRE_DATASTORE_CA_PATH }]);
            expect(values["spire-server"].dataStore.sql.maxOpenConns).to.equal(10);
            expect(values["spire-server"].logLevel).to.equal("debug");
            expect(values["spire-server"].caTTL).to.equal("720h");
        });
    });

    describe("encodeDataStorePassword", () => {
        it("writes the libpq-quoted password (postgres) or the password (mysql) as the body of an HCL string, $ as \\u0024", () => {
            expect(libpqQuote(`it's a \\ "x"`)).to.equal(`'it\\'s a \\\\ "x"'`);
            expect(encodeDataStorePassword("postgres", `it's a \\ "x" $HOME`)).to.equal(String.raw`'it\\'s a \\\\ \"x\" \u0024HOME'`);
            expect(encodeDataStorePassword("mysql", `it's a \\ "x" $HOME`)).to.equal(String.raw`it's a \\ \"x\" \u0024HOME`);
            expect(encodeDataStorePassword("mysql", "tab\tü\ue123")).to.equal(String.raw`tab\u0009ü\ue123`);
        });

        it("refuses only empty passwords, NUL characters and lone surrogates", () => {
            expect(dataStorePasswordProblem("postgres", "")).to.equal("is empty; expected the PostgreSQL user's password");
            expect(dataStorePasswordProblem("mysql", "a\0b")).to.equal(
                "contains a NUL character, which MySQL cannot take in a password (it is sent as a NUL-terminated string)",
            );
            expect(dataStorePasswordProblem("postgres", "a\ud800b")).to.equal(
                "contains a lone UTF-16 surrogate, which has no UTF-8 form; expected a password of Unicode characters",
            );
            for (const password of HARD_PASSWORDS) {
                expect(dataStorePasswordProblem("postgres", password), password).to.equal(undefined);
                expect(dataStorePasswordProblem("mysql", password), password).to.equal(undefined);
            }
        });

        it("models SPIRE's and the drivers' parsing as their sources do (checked on their own examples)", () => {
            // Go os.Expand, and SPIRE's `$$`.
            expect(spireExpandEnv("a ${X} $X $$ ${} $1 ${ b$", { X: "x", "1": "one" })).to.equal("a x x $  one  b$");
            // lib/pq's doc examples (connector.go NewConfig).
            expect(libpqConninfo(`user=space\\ man password='it\\'s valid'`)).to.deep.equal({ user: "space man", password: "it's valid" });
            expect(libpqConninfo("user=''")).to.deep.equal({ user: "" });
            expect(() => libpqConninfo("password=a b")).to.throw('missing "=" after "b" in connection info string');
            // HCL keeps a ${...} section raw; Go's escapes elsewhere.
            expect(hclUnquote('"a\\"b ${x\\"} \\u0024{y\\"}"')).to.equal('a"b ${x\\"} ${y"}');
            // go-sql-driver takes the password between the first ":" and the last "@" before the last "/".
            expect(goMysqlParseDsn("u@s:p:w@/x@tcp(h:1)/db?tls=true&a=%2F")).to.deep.equal({
                user: "u@s",
                passwd: "p:w@/x",
                net: "tcp",
                addr: "h:1",
                dbname: "db",
                params: { tls: "true", a: "/" },
            });
        });
    });

    describe("on real renders of the pinned spire chart", function () {
        let helm: string;
        const renders = new Map<string, Promise<RenderedObject[]>>();
        const render = (ds?: SpireDataStore) => {
            const key = JSON.stringify(ds ?? null);
            if (!renders.has(key)) {
                renders.set(key, renderSpire(helm, ds));
            }
            return renders.get(key)!;
        };

        before(function () {
            requireUpstream(this);
        });
        before(async function () {
            helm = await requireHelm(this, "render the spire chart with");
        });

        it("sqlite3: the chart's own datastore file, no DBPW, no extra volume", async () => {
            const objects = await render({ type: "sqlite3" });
            const settings = spireSqlPluginData(serverConfOf(objects), {});
            expect(settings.database_type).to.equal("sqlite3");
            expect(settings.connection_string).to.equal("/run/spire/data/datastore.sqlite3");
            const pod = serverPodOf(objects);
            expect(pod.container.env.map((e: { name: string }) => e.name)).to.deep.equal(["PATH"]);
            expect(pod.volumes.map((v: { name: string }) => v.name)).not.to.include("spire-datastore-ca");
        });

        it("postgres: the connection string the chart builds, DBPW from the Secret, the CA Secret mounted where sslrootcert points", async () => {
            const objects = await render(PG);
            const settings = spireSqlPluginData(serverConfOf(objects), { DBPW: "PW" });
            expect(settings).to.deep.equal({
                connection_string:
                    "dbname=spire user=spire password=PW host=db.example.com port=5432 sslmode=verify-full sslrootcert=/run/spire/datastore-ca/ca.crt",
                database_type: "postgres",
                disable_migration: "false",
                max_idle_conns: "2",
                max_open_conns: "100",
            });
            expect(serverConfOf(objects)).to.contain('"connection_string": "dbname=spire user=spire password=${DBPW} host=');
            const pod = serverPodOf(objects);
            expect(pod.container.args).to.deep.equal(["-expandEnv", "-config", "/run/spire/config/server.conf"]);
            expect(pod.container.env.find((e: { name: string }) => e.name === "DBPW")).to.deep.equal({
                name: "DBPW",
                valueFrom: { secretKeyRef: { name: SPIRE_DATASTORE_PASSWORD_SECRET, key: SPIRE_DATASTORE_PASSWORD_KEY } },
            });
            // externalSecret: the chart creates no password Secret of its own.
            expect(objectsOf(objects, "Secret").filter((s) => s.data?.DBPW !== undefined)).to.deep.equal([]);
            expect(pod.volumes.filter((v: { name: string }) => v.name === "spire-datastore-ca")).to.deep.equal([
                { name: "spire-datastore-ca", secret: { secretName: "db-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            ]);
            const mounts = pod.containers.map((c: any) => [c.name, (c.volumeMounts ?? []).filter((m: { name: string }) => m.name === "spire-datastore-ca")]);
            expect(mounts).to.deep.equal([
                ["spire-server", [{ name: "spire-datastore-ca", mountPath: "/run/spire/datastore-ca", readOnly: true }]],
                ["spire-controller-manager", [{ name: "spire-datastore-ca", mountPath: "/run/spire/datastore-ca", readOnly: true }]],
            ]);
            expect(libpqConninfo(settings.connection_string).sslrootcert).to.equal(SPIRE_DATASTORE_CA_PATH);
        });

        it("postgres without tls: host, explicit port, no options", async () => {
            const settings = spireSqlPluginData(serverConfOf(await render({ type: "postgres", host: "10.0.0.12", port: 5433, database: "d", user: "u" })), {
                DBPW: "PW",
            });
            expect(settings.connection_string).to.equal("dbname=d user=u password=PW host=10.0.0.12 port=5433");
        });

        it("mysql: the DSN the chart builds, root_ca_path at the mounted CA, an IPv6 host go-sql-driver can dial", async () => {
            const objects = await render(MYSQL);
            const settings = spireSqlPluginData(serverConfOf(objects), { DBPW: "PW" });
            expect(settings).to.deep.equal({
                connection_string: "spire:PW@tcp(db.example.com:3306)/spire?tls=true&parseTime=true",
                database_type: "mysql",
                disable_migration: "false",
                max_idle_conns: "2",
                max_open_conns: "100",
                root_ca_path: "/run/spire/datastore-ca/ca.crt",
            });
            expect(serverPodOf(objects).container.env.find((e: { name: string }) => e.name === "DBPW").valueFrom).to.deep.equal({
                secretKeyRef: { name: SPIRE_DATASTORE_PASSWORD_SECRET, key: SPIRE_DATASTORE_PASSWORD_KEY },
            });
            expect(serverPodOf(objects).container.volumeMounts).to.deep.include({
                name: "spire-datastore-ca",
                mountPath: "/run/spire/datastore-ca",
                readOnly: true,
            });
            const v6 = spireSqlPluginData(serverConfOf(await render({ ...MYSQL, host: "fd00::12", tls: { mode: "preferred" } })), { DBPW: "PW" });
            expect(v6.connection_string).to.equal("spire:PW@tcp([fd00::12]:3306)/spire?tls=preferred&parseTime=true");
            expect(v6.root_ca_path).to.equal(undefined);
            expect(goHostOf(goMysqlParseDsn(v6.connection_string).addr)).to.equal("fd00::12");
        });

        it("renders every accepted mode of both drivers (the chart fails on none)", async () => {
            const accepted: SpireDataStore[] = [
                ...["disable", "allow", "prefer", "require"].map((mode) => ({ ...PG, tls: { mode } })),
                ...["verify-ca", "verify-full"].map((mode) => ({ ...PG, tls: { mode, caSecret: "db-ca" } })),
                ...["false", "skip-verify", "preferred"].map((mode) => ({ ...MYSQL, tls: { mode } })),
            ];
            for (const ds of accepted) {
                expect(problemsOf(ds), JSON.stringify(ds)).to.deep.equal([]);
            }
            const modes = await Promise.all(
                accepted.map(async (ds) => {
                    const cs = spireSqlPluginData(serverConfOf(await render(ds)), { DBPW: "PW" }).connection_string;
                    return ds.type === "postgres" ? libpqConninfo(cs).sslmode : goMysqlParseDsn(cs).params.tls;
                }),
            );
            expect(modes).to.deep.equal(["disable", "allow", "prefer", "require", "verify-ca", "verify-full", "false", "skip-verify", "preferred"]);
        });

        for (const ds of [PG, { ...MYSQL, user: "spire@srv" }]) {
            it(`${ds.type}: every hard password reaches the driver exactly, through -expandEnv, HCL and the ${ds.type === "postgres" ? "libpq conninfo" : "DSN"} parser`, async () => {
                const conf = serverConfOf(await render(ds));
                const expected = spireSqlPluginData(conf, { DBPW: "x" }).connection_string;
                for (const password of HARD_PASSWORDS) {
                    const settings = spireSqlPluginData(conf, { DBPW: encodeDataStorePassword(ds.type as "postgres" | "mysql", password) });
                    if (ds.type === "postgres") {
                        expect(libpqConninfo(settings.connection_string), password).to.deep.equal({ ...libpqConninfo(expected), password });
                    } else {
                        expect(goMysqlParseDsn(settings.connection_string), password).to.deep.equal({ ...goMysqlParseDsn(expected), passwd: password });
                    }
                }
            });
        }

        it("without the encoding, passwords break the config or the connection string", async () => {
            const conf = serverConfOf(await render(PG));
            expect(() => spireSqlPluginData(conf, { DBPW: 'a"b' })).to.throw('server.conf is not valid HCL JSON: expected "," or "}"');
            expect(() => spireSqlPluginData(conf, { DBPW: "a\\qb" })).to.throw("server.conf: illegal char escape");
            expect(() => libpqConninfo(spireSqlPluginData(conf, { DBPW: "pa ss" }).connection_string)).to.throw(
                'missing "=" after "ss" in connection info string',
            );
            // `${` makes the HCL scanner ignore the closing quote: the string runs on into the next key.
            expect(() => spireSqlPluginData(conf, { DBPW: "${" })).to.throw("HCL: ");
            // A password that happens to look quoted loses its quotes.
            expect(libpqConninfo(spireSqlPluginData(conf, { DBPW: "'it s'" }).connection_string).password).to.equal("it s");
        });
    });
});
