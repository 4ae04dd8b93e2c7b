// A throwaway PostgreSQL server for tests: Debian's binaries (package postgresql), a data directory in a temporary
// directory, listening on 127.0.0.1 only, TLS on with a certificate of a CA made here with openssl, and pg_hba.conf
// taking only `hostssl` connections authenticated with scram-sha-256. initdb and the server refuse to run as root, so
// as root (CI) they run as the `postgres` system user (runuser), in a directory it owns.

import { SpawnSyncReturns, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const DEBIAN_POSTGRESQL = "/usr/lib/postgresql";

/** The binaries a test server needs, or why they are missing. */
export type PostgresResolution = { found: true; bin: string; psql: string; runAs?: { uid: number; gid: number } } | { found: false; reason: string };

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** The newest /usr/lib/postgresql/<version>/bin with initdb, pg_ctl and postgres; psql; openssl; the user to run as. */
export function findPostgres(): PostgresResolution {
    const versions = fs.existsSync(DEBIAN_POSTGRESQL)
        ? fs
              .readdirSync(DEBIAN_POSTGRESQL)
              .filter((v) => /^\d+$/.test(v))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    const bin = versions
        .map((v) => path.join(DEBIAN_POSTGRESQL, v, "bin"))
        .find((dir) => ["initdb", "pg_ctl", "postgres"].every((b) => isExecutable(path.join(dir, b))));
    if (bin === undefined) {
        return { found: false, reason: `no PostgreSQL server binaries in ${DEBIAN_POSTGRESQL}/<version>/bin (initdb, pg_ctl, postgres)` };
    }
    const psql = [path.join(bin, "psql"), "/usr/bin/psql"].find(isExecutable);
    if (psql === undefined) {
        return { found: false, reason: `no psql beside ${bin}/postgres or in /usr/bin` };
    }
    if (spawnSync("openssl", ["version"]).status !== 0) {
        return { found: false, reason: "no openssl to make the server's certificates" };
    }
    if (process.getuid?.() !== 0) {
        return { found: true, bin, psql };
    }
    const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
    const [uid, gid] = [id("-u"), id("-g")];
    if (uid.status !== 0 || gid.status !== 0 || !isExecutable("/usr/sbin/runuser")) {
        return { found: false, reason: "running as root without a postgres system user and runuser to run the server as" };
    }
    return { found: true, bin, psql, runAs: { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) } };
}

/** A free TCP port on 127.0.0.1 (free when asked; the server takes it right after). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

function check(run: SpawnSyncReturns<string>, what: string): string {
    if (run.status !== 0) {
        throw new Error(`${what} failed (${run.status ?? run.signal ?? run.error?.message}): ${(run.stderr || run.stdout || "").trim()}`);
    }
    return run.stdout;
}

function openssl(dir: string, args: string[]): void {
    check(spawnSync("openssl", args, { cwd: dir, encoding: "utf8" }), `openssl ${args[0]}`);
}

/** A CA (`<name>.crt`, `<name>.key`) in `dir`. */
function makeCa(dir: string, name: string): void {
    openssl(
        dir,
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"].concat([
            "-subj",
            `/CN=${name}`,
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.crt`,
        ]),
    );
}

export interface LocalPostgres {
    port: number;
    /** The temporary directory holding everything (removed by stop). */
    dir: string;
    /** The CA that signed the server's certificate, and another one. */
    caFile: string;
    otherCaFile: string;
    /** Stops the server (if it runs) and removes the directory. */
    stop(): void;
}

/**
 * Creates and starts the server; `setupSql` (one statement a line) runs first in single-user mode, so that no
 * connection other than `hostssl` + scram-sha-256 is ever allowed. Cleans up itself when a step fails.
 */
export async function startPostgres(
    found: Extract<PostgresResolution, { found: true }>,
    setupSql: string[],
    /** Where each start attempt listens (tests of the retry give a port already taken). */
    choosePort: () => Promise<number> = freePort,
): Promise<LocalPostgres> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-pg-"));
    const data = path.join(dir, "data");
    const tls = path.join(dir, "tls");
    let started = false;
    // Only what the server needs: no PG* variable of the caller's reaches it.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C", LC_ALL: "C" };
    const asServer = (binary: string, args: string[], input?: string) =>
        spawnSync(found.runAs ? "/usr/sbin/runuser" : binary, found.runAs ? ["-u", "postgres", "--", binary, ...args] : args, {
            cwd: dir,
            env,
            encoding: "utf8",
            input,
            timeout: 30000,
        });
    const pgCtl = (args: string[]) => asServer(path.join(found.bin, "pg_ctl"), ["-D", data, ...args]);
    const stop = () => {
        try {
            if (started) {
                pgCtl(["-m", "immediate", "-w", "-t", "10", "stop"]);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };
    try {
        fs.chmodSync(dir, 0o755);
        fs.mkdirSync(tls);
        makeCa(tls, "ca");
        makeCa(tls, "other-ca");
        openssl(tls, [
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        fs.writeFileSync(path.join(tls, "server.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n");
        openssl(tls, [
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        fs.chmodSync(path.join(tls, "server.key"), 0o600);
        if (found.runAs) {
            for (const entry of [dir, tls, ...fs.readdirSync(tls).map((f) => path.join(tls, f))]) {
                fs.chownSync(entry, found.runAs.uid, found.runAs.gid);
            }
        }
        check(asServer(path.join(found.bin, "initdb"), ["-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C", "-A", "reject", "--no-sync"]), "initdb");
        fs.appendFileSync(
            path.join(data, "postgresql.conf"),
            [
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = ''",
                "ssl = on",
                `ssl_cert_file = '${path.join(tls, "server.crt")}'`,
                `ssl_key_file = '${path.join(tls, "server.key")}'`,
                "password_encryption = 'scram-sha-256'",
                "fsync = off",
                "",
            ].join("\n"),
        );
        fs.writeFileSync(path.join(data, "pg_hba.conf"), "hostssl all all 127.0.0.1/32 scram-sha-256\n");
        const single = asServer(path.join(found.bin, "postgres"), ["--single", "-D", data, "postgres"], setupSql.join("\n") + "\n");
        check(single, "postgres --single");
        if (/(ERROR|FATAL):/.test(single.stdout + single.stderr)) {
            throw new Error(`the setup SQL failed: ${(single.stdout + single.stderr).trim()}`);
        }
        started = true;
        // The port is free when asked, not reserved: another suite running at the same time (issue 19) may take it
        // before the server binds it. The server then fails to start with "could not bind IPv4 address ...: Address
        // already in use" in its log; it is started again on another port (the last `port` line of the file wins).
        const log = path.join(dir, "server.log");
        for (let attempt = 1; ; attempt++) {
            const port = await choosePort();
            fs.appendFileSync(path.join(data, "postgresql.conf"), `port = ${port}\n`);
            const logged = fs.existsSync(log) ? fs.statSync(log).size : 0;
            const start = pgCtl(["-l", log, "-w", "-t", "20", "start"]);
            const taken = () => fs.existsSync(log) && fs.readFileSync(log).subarray(logged).toString("utf8").includes("Address already in use");
            if (start.status !== 0 && attempt < 5 && taken()) {
                continue;
            }
            check(start, "pg_ctl start");
            return { port, dir, caFile: path.join(tls, "ca.crt"), otherCaFile: path.join(tls, "other-ca.crt"), stop };
        }
    } catch (error) {
        const log = path.join(dir, "server.log");
        const tail = fs.existsSync(log) ? `; server log: ${fs.readFileSync(log, "utf8").trim().split("\n").slice(-5).join(" | ")}` : "";
        stop();
        throw new Error(`${error instanceof Error ? error.message : String(error)}${tail}`);
    }
}

/** psql with a connection string and nothing else: no PG* variables, no ~/.pgpass, ~/.psqlrc or ~/.postgresql. */
export function psql(found: Extract<PostgresResolution, { found: true }>, home: string, conninfo: string, sql: string): SpawnSyncReturns<string> {
    return spawnSync(found.psql, ["-X", "-w", "-A", "-t", "-d", conninfo, "-c", sql], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C" },
        encoding: "utf8",
        timeout: 20000,
    });
}
