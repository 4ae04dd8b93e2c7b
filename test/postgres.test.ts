// The SQL datastore end to end against a real PostgreSQL (test/localPostgres.ts: TLS on, only hostssl +
// scram-sha-256): the spire release rendered by real Helm with the program's values, server.conf's connection string
// read as SPIRE reads it with DBPW = encodeDataStorePassword(...) (test/spireServerConf.ts), and psql (libpq, whose
// conninfo rules lib/pq follows) connecting with it. The password holds every character that means something on
// the way: spaces, both quotes, a backslash, "@", "%", "$" (also as "$HOME" and "${DBPW}"), "=", non-ASCII.

import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { expect } from "chai";
import { requireHelm } from "./chartRender";
import {
    SPIRE_DATASTORE_CA_PATH,
    SPIRE_DATASTORE_PASSWORD_KEY,
    SPIRE_DATASTORE_PASSWORD_SECRET,
    encodeDataStorePassword,
    libpqQuote,
} from "../components/mesh/spireDataStore";
import { requireArtifact, requireUpstream } from "../tools/upstream/artifacts";
import { RenderedObject } from "../tools/upstream/helm";
import { LocalPostgres, PostgresResolution, findPostgres, freePort, psql, startPostgres } from "./localPostgres";
import { libpqConninfo, renderSpire, serverConfOf, serverPodOf, spireSqlPluginData } from "./spireServerConf";

const PASSWORD = `p@ss w0rd 'single' "double" back\\slash 100% $HOME \${DBPW} =eq ünï`;
const USER = "spire";
const DATABASE = "spire_db";
const CA_SECRET = "postgres-ca";
const WHO = "select current_user || '|' || current_database() || '|' || ssl from pg_stat_ssl where pid = pg_backend_pid()";

/** SQL's string literal (standard_conforming_strings: only `'` is doubled). */
const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

describe("postgres: SPIRE's connection string, as the chart renders it, reaches a real PostgreSQL", function () {
    this.timeout(30000);
    let found: Extract<PostgresResolution, { found: true }>;
    let server: LocalPostgres | undefined;
    let objects: RenderedObject[];
    let serverConf: string;

    before(function () {
        requireUpstream(this);
    });
    before(function () {
        const pg = findPostgres();
        requireArtifact(
            this,
            pg.found,
            () => `pending: no PostgreSQL to test the SQL datastore against (${pg.found ? "" : pg.reason}); \`apt-get install postgresql\``,
        );
        found = pg as typeof found;
    });
    before(async function () {
        const helm = await requireHelm(this, "render the spire chart with");
        server = await startPostgres(found, [`CREATE ROLE ${USER} LOGIN PASSWORD ${sqlString(PASSWORD)};`, `CREATE DATABASE ${DATABASE} OWNER ${USER};`]);
        objects = await renderSpire(helm, {
            type: "postgres",
            host: "127.0.0.1",
            port: server.port,
            database: DATABASE,
            user: USER,
            tls: { mode: "verify-full", caSecret: CA_SECRET },
        });
        serverConf = serverConfOf(objects);
    });
    after(() => {
        server?.stop();
    });

    /** The connection string SPIRE's sql plugin gets with this DBPW, the CA read from `caFile` instead of the mount. */
    const conninfo = (dbpw: string, caFile = server!.caFile): string => {
        const connectionString = spireSqlPluginData(serverConf, { DBPW: dbpw }).connection_string;
        const mounted = ` sslrootcert=${SPIRE_DATASTORE_CA_PATH}`;
        expect(connectionString.split(mounted)).to.have.length(2, `one ${mounted.trim()} in ${connectionString}`);
        return connectionString.replace(mounted, ` sslrootcert=${libpqQuote(caFile)}`);
    };

    it("renders DBPW from the password Secret and the CA Secret mounted where sslrootcert points", () => {
        const pod = serverPodOf(objects);
        expect(pod.container.args).to.deep.equal(["-expandEnv", "-config", "/run/spire/config/server.conf"]);
        expect(pod.container.env.find((e: { name: string }) => e.name === "DBPW")?.valueFrom).to.deep.equal({
            secretKeyRef: { name: SPIRE_DATASTORE_PASSWORD_SECRET, key: SPIRE_DATASTORE_PASSWORD_KEY },
        });
        const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === CA_SECRET);
        expect(volume?.secret.items).to.deep.equal([{ key: "ca.crt", path: "ca.crt" }]);
        const mount = pod.container.volumeMounts.find((m: { name: string }) => m.name === volume.name);
        expect(`${mount.mountPath}/${volume.secret.items[0].path}`).to.equal(SPIRE_DATASTORE_CA_PATH);
        expect(libpqConninfo(spireSqlPluginData(serverConf, { DBPW: "x" }).connection_string)).to.deep.equal({
            dbname: DATABASE,
            user: USER,
            password: "x",
            host: "127.0.0.1",
            port: String(server!.port),
            sslmode: "verify-full",
            sslrootcert: SPIRE_DATASTORE_CA_PATH,
        });
    });

    it("connects with the encoded password, over verified TLS, as the user to the database", () => {
        const run = psql(found, server!.dir, conninfo(encodeDataStorePassword("postgres", PASSWORD)), WHO);
        expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).to.deep.equal({ status: 0, stdout: `${USER}|${DATABASE}|true\n`, stderr: "" });
    });

    it("is refused with a wrong password", () => {
        const run = psql(found, server!.dir, conninfo(encodeDataStorePassword("postgres", `${PASSWORD}!`)), WHO);
        expect(run.status).to.equal(2);
        expect(run.stderr).to.contain(`FATAL:  password authentication failed for user "${USER}"`);
    });

    it("is refused by verify-full when the server's certificate is not of the configured CA", () => {
        const run = psql(found, server!.dir, conninfo(encodeDataStorePassword("postgres", PASSWORD), server!.otherCaFile), WHO);
        expect(run.status).to.equal(2);
        expect(run.stderr).to.contain("certificate verify failed");
    });

    it("is refused without TLS (the server takes hostssl only, so TLS is not optional here)", () => {
        const plain = conninfo(encodeDataStorePassword("postgres", PASSWORD)).replace(" sslmode=verify-full", " sslmode=disable");
        const run = psql(found, server!.dir, plain, WHO);
        expect(run.status).to.equal(2);
        expect(run.stderr).to.contain(`no pg_hba.conf entry for host "127.0.0.1", user "${USER}", database "${DATABASE}", no encryption`);
    });

    it("breaks without the encoding: the raw password ends server.conf's JSON string, and an unquoted one the conninfo", () => {
        // As the Secret's text, the raw password's `"` ends the JSON string: SPIRE cannot read its config.
        expect(() => conninfo(PASSWORD)).to.throw('server.conf is not valid HCL JSON: expected "," or "}"');
        // Escaped for the JSON/HCL string only (not libpq-quoted): the config reads, but at its first space the
        // password ends and libpq takes the rest for keywords.
        const jsonOnly = JSON.stringify(PASSWORD).slice(1, -1).replace(/\$/g, "\\u0024");
        const run = psql(found, server!.dir, conninfo(jsonOnly), WHO);
        expect({ status: run.status, stderr: run.stderr }).to.deep.equal({
            status: 2,
            stderr: 'psql: error: missing "=" after "w0rd" in connection info string\n',
        });
    });
});

describe("postgres: the test server of one suite beside another's (test/localPostgres.ts)", function () {
    this.timeout(30000);
    let found: Extract<PostgresResolution, { found: true }>;

    before(function () {
        const pg = findPostgres();
        requireArtifact(this, pg.found, () => `pending: no PostgreSQL (${pg.found ? "" : pg.reason}); \`apt-get install postgresql\``);
        found = pg as typeof found;
    });

    it("starts on another port when the free port it chose was taken before the server bound it", async () => {
        // Another suite's server (here, a plain listener) took the port between the choice and the start.
        const taken = net.createServer();
        await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
        const takenPort = (taken.address() as net.AddressInfo).port;
        const offered: number[] = [];
        let server: LocalPostgres | undefined;
        try {
            server = await startPostgres(found, [], async () => {
                offered.push(offered.length === 0 ? takenPort : await freePort());
                return offered[offered.length - 1];
            });
            expect(offered).to.have.length(2);
            expect(server.port).to.equal(offered[1]).and.not.equal(takenPort);
            expect(fs.readFileSync(path.join(server.dir, "server.log"), "utf8")).to.include("Address already in use");
            // The server answers on its port (TLS is required; the handshake's first byte is enough here).
            const answer = await new Promise<string>((resolve, reject) => {
                const socket = net.connect(server!.port, "127.0.0.1", () => socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));
                socket.once("data", (d) => (socket.destroy(), resolve(d.toString("latin1", 0, 1))));
                socket.once("error", reject);
            });
            expect(answer).to.equal("S");
        } finally {
            server?.stop();
            taken.close();
        }
    });
});
