// `npm run bench`: how long the suite, the render and the program take, beside their targets. It reports; it does
// not assert (wall time depends on the machine and its load), so it exits 0 unless something fails to run.
//
//   npm test          wall time of `npm test` (tools/check/check.ts: type check, lint, format check and mocha side by
//                     side), spawned as a child, twice: cold, then warm. Cold is a fresh clone right after `npm ci`:
//                     every cache the suite keeps starts empty, each pointed to a new temporary directory, so the
//                     user's own caches are neither used nor touched:
//                       - ESLint's and Prettier's ($ISTIO_SPIRE_CHECK_CACHE; else node_modules/.cache),
//                       - the render cache of Helm's output ($ISTIO_SPIRE_RENDER_CACHE; else ~/.cache/istio-spire/renders),
//                       - ts-node's V8 code cache of the TypeScript compiler (v8-compile-cache-lib,
//                         $V8_COMPILE_CACHE_CACHE_DIR; else $TMPDIR/v8-compile-cache-<uid>).
//                     Kept, as `npm run fetch-upstream` leaves them: the pinned charts and Helm (without them those
//                     tests are pending, which is faster, not slower); and the operating system's file cache.
//                     Warm is the same command again right after, with those caches as the cold run left them.
//   npm run render    wall time of one `npm run render` of the project's stacks into a temporary directory,
//                     start-up (ts-node) included
//   program scaling   the program alone, in process under the mock runtime (tools/mock-engine/harness.ts runProgram): a stack with
//                     10 federated peers and 50 enrolled namespaces against the default stack (trustDomain and
//                     clusterName only); each the median of several runs after a warm-up
//   --files           instead of the above: each test file's share of the parallel mocha run (tools/bench/fileTimes.ts),
//                     wall and CPU, its own and its child processes', heaviest first, with cold caches
//
//   --concurrent      instead of the above: several `npm test` started together in this checkout, sharing its
//                     caches, round after round (default 3 at once, 10 rounds; --suites <n>, --rounds <n>): whether
//                     every one passed, and how long each round took. Issue 19: no suite writes into the working tree
//                     (each checks it, test/workingTree.ts) and the caches they share are replaced atomically
//                     (tools/check/check.ts withCacheFile), so they cannot break each other.
//
// Options: --skip-test (skip the npm test runs), --runs <n> (program runs per figure, default 7), --files,
// --concurrent [--suites <n>] [--rounds <n>].

import { spawnSync } from "child_process";
import { generateKeyPairSync, sign } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHECK_CACHE_ENV, runProcess } from "../check/check";
import { wantsHelp } from "../help";
import { FILE_TIMES_ENV, FileTime, childrenCpuSeconds } from "./fileTimes";
// The program, its harness and the render are loaded where they are measured: `--help` answers without them.
import type { runProgram as RunProgram } from "../mock-engine/harness";

/** Where v8-compile-cache-lib, through which ts-node loads the TypeScript compiler, keeps its cache. */
export const V8_COMPILE_CACHE_ENV = "V8_COMPILE_CACHE_CACHE_DIR";

const PROJECT_DIR = path.join(__dirname, "..", "..");
const ORG = "organization/istio-spire";

const TARGETS = { test: 60, render: 5, ratio: 2 };

// ---------------------------------------------------------------------------------------------------------------
// Valid SPIFFE bundles for made-up peers: a self-signed P-256 CA certificate naming spiffe://<trust domain>, built
// in DER here since Node can sign but not issue certificates.

function der(tag: number, ...content: Buffer[]): Buffer {
    const body = Buffer.concat(content);
    const n = body.length;
    const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
    return Buffer.concat([Buffer.from([tag]), length, body]);
}
const sequence = (...c: Buffer[]) => der(0x30, ...c);
function oid(dotted: string): Buffer {
    const [a, b, ...rest] = dotted.split(".").map(Number);
    const bytes = [40 * a + b];
    for (const n of rest) {
        const chunk = [n & 0x7f];
        for (let v = n >> 7; v > 0; v >>= 7) {
            chunk.unshift((v & 0x7f) | 0x80);
        }
        bytes.push(...chunk);
    }
    return der(0x06, Buffer.from(bytes));
}
const name = (cn: string) => sequence(der(0x31, sequence(oid("2.5.4.3"), der(0x0c, Buffer.from(cn)))));
const utcTime = (d: Date) => der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, "")}Z`));

/** A SPIFFE bundle (JWKS) with one x509-svid authority for the trust domain, as SPIRE publishes it. */
export function spiffeBundle(trustDomain: string): string {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecdsaSha256 = sequence(oid("1.2.840.10045.4.3.2"));
    const san = sequence(oid("2.5.29.17"), der(0x04, sequence(der(0x86, Buffer.from(`spiffe://${trustDomain}`)))));
    const basicConstraints = sequence(oid("2.5.29.19"), der(0x01, Buffer.from([0xff])), der(0x04, sequence(der(0x01, Buffer.from([0xff])))));
    const tbs = sequence(
        der(0xa0, der(0x02, Buffer.from([2]))),
        der(0x02, Buffer.from([1])),
        ecdsaSha256,
        name(trustDomain),
        sequence(utcTime(new Date("2026-01-01T00:00:00Z")), utcTime(new Date("2036-01-01T00:00:00Z"))),
        name(trustDomain),
        publicKey.export({ type: "spki", format: "der" }),
        der(0xa3, sequence(basicConstraints, san)),
    );
    const signature = sign("sha256", tbs, privateKey);
    const certificate = sequence(tbs, ecdsaSha256, der(0x03, Buffer.from([0]), signature));
    const jwk = publicKey.export({ format: "jwk" });
    return JSON.stringify({
        keys: [{ use: "x509-svid", kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, x5c: [certificate.toString("base64")] }],
        spiffe_refresh_hint: 300,
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Measurements

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall (and CPU, where known) seconds of a command, and its output; throws (with its output) if it fails. */
function timeCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): { wall: number; cpu?: number; stdout: string } {
    const cpuBefore = childrenCpuSeconds();
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    }
    const cpuAfter = childrenCpuSeconds();
    return { wall, cpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore, stdout: result.stdout };
}

/** The scaled stack: 10 peers, each with a valid federation export, and 50 enrolled namespaces. */
function scaledStack() {
    const peers = Array.from({ length: 10 }, (_, i) => `peer${i + 1}`);
    const stackOutputs: Record<string, Record<string, unknown>> = {};
    for (const peer of peers) {
        stackOutputs[`${ORG}/${peer}`] = {
            federation: {
                trustDomain: `${peer}.demo`,
                bundleEndpointUrl: `https://${peer}.example.com:8443`,
                endpointSpiffeId: `spiffe://${peer}.demo/spire/server`,
                trustBundle: spiffeBundle(`${peer}.demo`),
                bundleEndpointProfile: "https_spiffe",
            },
        };
    }
    const config = {
        trustDomain: "bench.demo",
        clusterName: "bench",
        peers: peers.map((peer) => ({ stack: `${ORG}/${peer}` })),
        enrolledNamespaces: Array.from({ length: 50 }, (_, i) => `team-${i + 1}`),
    };
    return { config, stackOutputs };
}

interface ProgramTimes {
    /** Median wall milliseconds. */
    wall: number;
    /** Median CPU milliseconds of this process. */
    cpu: number;
    resources: number;
}

async function timeProgram(runs: number): Promise<{ base: ProgramTimes; scaled: ProgramTimes }> {
    const { runProgram }: { runProgram: typeof RunProgram } = require("../mock-engine/harness");
    const program: () => Promise<Record<string, unknown>> = require("../../index");
    const ownBundle = spiffeBundle("bench.demo");
    const base = { trustDomain: "bench.demo", clusterName: "bench" };
    const scaled = scaledStack();
    const once = async (config: Record<string, unknown>, stackOutputs: Record<string, Record<string, unknown>>) => {
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        const run = await runProgram(program, config, { ownBundle, stackOutputs }, "bench");
        const wall = Number(process.hrtime.bigint() - started) / 1e6;
        const used = process.cpuUsage(cpu);
        if (run.warnings.length > 0) {
            throw new Error(`unexpected warnings: ${run.warnings.join("; ")}`);
        }
        return { wall, cpu: (used.user + used.system) / 1000, resources: run.declared.length };
    };
    // Warm-up: module loading and JIT, for both shapes.
    await once(base, {});
    await once(scaled.config, scaled.stackOutputs);
    const baseRuns: Awaited<ReturnType<typeof once>>[] = [];
    const scaledRuns: Awaited<ReturnType<typeof once>>[] = [];
    for (let i = 0; i < runs; i++) {
        // Interleaved, so drift in the machine's load affects both alike.
        baseRuns.push(await once(base, {}));
        scaledRuns.push(await once(scaled.config, scaled.stackOutputs));
    }
    const summary = (all: typeof baseRuns): ProgramTimes => ({
        wall: median(all.map((r) => r.wall)),
        cpu: median(all.map((r) => r.cpu)),
        resources: all[0].resources,
    });
    return { base: summary(baseRuns), scaled: summary(scaledRuns) };
}

function line(what: string, figure: string, target?: { text: string; met: boolean }, note = ""): string {
    // The verdict's column is kept without a target, so that the notes line up.
    const verdict = target ? `target ${target.text.padEnd(7)} ${(target.met ? "met" : "NOT MET").padEnd(8)}` : "".padEnd(23);
    return `${what.padEnd(52)} ${figure.padStart(9)}   ${verdict}  ${note}`.trimEnd();
}

/** Empty directories for every cache `npm test` keeps (see the top of this file), and what removes them. */
function coldCaches(): { env: Record<string, string>; remove: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-bench-cold-"));
    const { RENDER_CACHE_ENV }: typeof import("../render/releaseObjects") = require("../render/releaseObjects");
    return {
        env: {
            [CHECK_CACHE_ENV]: path.join(dir, "check"),
            [RENDER_CACHE_ENV]: path.join(dir, "renders"),
            [V8_COMPILE_CACHE_ENV]: path.join(dir, "v8-compile-cache"),
        },
        remove: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

/** When each check of `npm test` was done, from its report (tools/check/check.ts `report`). */
export function checkTimes(stdout: string): string {
    const done = [...stdout.matchAll(/^(type check|lint|format|tests): +ok +done at ([\d.]+) s /gm)];
    return done.map((m) => `${m[1]} ${Number(m[2]).toFixed(0)} s`).join(", ");
}

/** Each test file's share of a parallel mocha run (tools/bench/fileTimes.ts), heaviest (CPU) first. */
function fileTable(times: FileTime[]): string[] {
    const t0 = Math.min(...times.map((t) => t.start));
    const workers = [...new Set(times.map((t) => t.worker))];
    const total = (t: FileTime) => t.cpu + (t.children ?? 0);
    const rows = [...times].sort((a, b) => total(b) - total(a) || a.file.localeCompare(b.file));
    const s = (seconds: number) => seconds.toFixed(1).padStart(5);
    return [
        `${"test file".padEnd(36)} worker   from     to   wall    CPU  (own + children)`,
        ...rows.map(
            (t) =>
                `${(path.relative(PROJECT_DIR, t.file) + (t.first ? " *" : "")).padEnd(36)} ${String(workers.indexOf(t.worker) + 1).padStart(6)} ${s((t.start - t0) / 1000)}  ${s((t.end - t0) / 1000)}  ${s((t.end - t.start) / 1000)}  ${s(total(t))}  (${s(t.cpu)} + ${t.children === undefined ? "    ?" : s(t.children)})`,
        ),
        `${"all files".padEnd(36)} ${" ".repeat(6)} ${" ".repeat(5)}  ${s((Math.max(...times.map((t) => t.end)) - t0) / 1000)}  ${" ".repeat(5)}  ${s(times.reduce((n, t) => n + total(t), 0))}`,
        "* the worker's first file: its share includes starting the worker (ts-node, and the modules every file loads)",
    ];
}

/** What `npm run bench -- --help` (or `-h`) prints, on stdout, with exit code 0. */
/** One round of `npm test` runs started together: its wall time, and each run's exit status and output. */
export interface ConcurrentRound {
    wall: number;
    runs: { status: number; output: string }[];
}

/** Starts `suites` `npm test` at once in this checkout and waits for all of them. */
async function concurrentRound(npm: string, suites: number): Promise<ConcurrentRound> {
    const started = process.hrtime.bigint();
    const env = { ...process.env, BENCH_INNER: "1" };
    const runs = await Promise.all(Array.from({ length: suites }, () => runProcess(npm, ["test", "--silent"], PROJECT_DIR, { env })));
    return { wall: Number(process.hrtime.bigint() - started) / 1e9, runs };
}

/** The report of `--concurrent`: a line per round, then the verdict and the times (median and slowest round, total). */
export function concurrentReport(suites: number, rounds: ConcurrentRound[]): string[] {
    const lines = rounds.map((round, i) => {
        const failed = round.runs.map((r, j) => (r.status === 0 ? undefined : `run ${j + 1} exit ${r.status}`)).filter((f) => f !== undefined);
        return `round ${String(i + 1).padStart(2)}: ${failed.length === 0 ? `${suites} of ${suites} passed` : `FAILED: ${failed.join(", ")}`} in ${round.wall.toFixed(1)} s`;
    });
    const passedRounds = rounds.filter((round) => round.runs.every((r) => r.status === 0)).length;
    const walls = rounds.map((r) => r.wall).sort((a, b) => a - b);
    const total = walls.reduce((sum, w) => sum + w, 0);
    lines.push(
        `${suites} npm test at once in one checkout, ${rounds.length} rounds: ${passedRounds} of ${rounds.length} rounds passed; ` +
            `a round took ${median(walls).toFixed(1)} s (median), ${walls[walls.length - 1].toFixed(1)} s at most; ${(total / 60).toFixed(1)} min in all`,
    );
    for (const [i, round] of rounds.entries()) {
        for (const [j, run] of round.runs.entries()) {
            if (run.status !== 0) {
                lines.push("", `── round ${i + 1}, run ${j + 1} (exit ${run.status}), its last 40 lines:`, ...run.output.trimEnd().split("\n").slice(-40));
            }
        }
    }
    return lines;
}

/** The positive integer after `flag` in `argv`, or `fallback` when the flag is not given. */
function positiveOption(argv: string[], flag: string, fallback: number): number {
    const at = argv.indexOf(flag);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < 1) {
        throw new Error(`${flag} needs a positive integer`);
    }
    return value;
}

export const BENCH_HELP = [
    "usage: npm run bench -- [--skip-test] [--runs <n>] [--files] [--concurrent [--suites <n>] [--rounds <n>]]",
    "",
    "Measures `npm test` (cold: every cache it keeps empty, as in a fresh clone after `npm ci`; then warm), `npm run",
    "render` and the program under the mock runtime beside their targets; it reports, it does not assert.",
    "",
    "  --skip-test    skip the `npm test` runs",
    "  --runs <n>     program runs per figure (default 7)",
    "  --files        only each test file's share of the parallel mocha run (wall, CPU), heaviest first",
    "  --concurrent   only this: <suites> `npm test` started together in this checkout (default 3), <rounds> rounds",
    "                 one after the other (default 10): whether each passed, and how long each round took",
    "  -h, --help     print this help and exit",
].join("\n");

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    if (wantsHelp(argv)) {
        console.log(BENCH_HELP);
        return;
    }
    const runs = positiveOption(argv, "--runs", 7);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    console.log(
        `istio-spire bench on ${os.cpus().length} cores, load average ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(" ")}`,
    );
    const cpu = (seconds: number | undefined) => (seconds === undefined ? "" : `CPU ${seconds.toFixed(1)} s`);

    if (argv.includes("--concurrent")) {
        const [suites, roundCount] = [positiveOption(argv, "--suites", 3), positiveOption(argv, "--rounds", 10)];
        const rounds: ConcurrentRound[] = [];
        for (let i = 0; i < roundCount; i++) {
            rounds.push(await concurrentRound(npm, suites));
            console.log(concurrentReport(suites, rounds)[i]);
        }
        console.log(concurrentReport(suites, rounds).slice(roundCount).join("\n"));
        return;
    }
    if (argv.includes("--files")) {
        const cold = coldCaches();
        const out = path.join(cold.env[CHECK_CACHE_ENV], "..", "file-times.jsonl");
        try {
            // The project's mocha config, with the hook plugin required after ts-node/register.
            const config = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, ".mocharc.json"), "utf8"));
            const configFile = path.join(cold.env[CHECK_CACHE_ENV], "..", "mocharc.json");
            fs.writeFileSync(configFile, JSON.stringify({ ...config, require: [...config.require, path.join(__dirname, "fileTimes.ts")], reporter: "dot" }));
            const mocha = path.join(path.dirname(require.resolve("mocha/package.json")), "bin", "mocha.js");
            const run = timeCommand(process.execPath, [mocha, "--config", configFile], { ...cold.env, [FILE_TIMES_ENV]: out });
            const times: FileTime[] = fs
                .readFileSync(out, "utf8")
                .split("\n")
                .filter((l) => l !== "")
                .map((l) => JSON.parse(l));
            console.log([...fileTable(times), line("mocha (wall)", `${run.wall.toFixed(1)} s`, undefined, cpu(run.cpu))].join("\n"));
        } finally {
            cold.remove();
        }
        return;
    }
    const lines: string[] = [];

    // (c) first, in this process, before the children compete for the cores.
    const p = await timeProgram(runs);

    // The render twice: every chart rendered by Helm (render cache off), then with Helm's output cached, as a second
    // `npm run render` or a pull request's unchanged releases find it.
    const { RENDER_CACHE_ENV }: typeof import("../render/releaseObjects") = require("../render/releaseObjects");
    const stacks = fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).length;
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-bench-cache-"));
    try {
        for (const [label, env] of [
            ["Helm for every chart", { [RENDER_CACHE_ENV]: "off" }],
            ["Helm output cached", { [RENDER_CACHE_ENV]: cache }],
        ] as const) {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-bench-"));
            try {
                if (label === "Helm output cached") {
                    timeCommand(npm, ["run", "--silent", "render", "--", "--out", out], { BENCH_INNER: "1", ...env });
                }
                const render = timeCommand(npm, ["run", "--silent", "render", "--", "--out", out], { BENCH_INNER: "1", ...env });
                lines.push(
                    line(
                        `npm run render (${stacks} stacks, ${label}, wall)`,
                        `${render.wall.toFixed(2)} s`,
                        { text: `< ${TARGETS.render} s`, met: render.wall < TARGETS.render },
                        cpu(render.cpu),
                    ),
                );
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        }
    } finally {
        fs.rmSync(cache, { recursive: true, force: true });
    }

    if (!argv.includes("--skip-test")) {
        // Cold, then warm with the caches the cold run filled.
        const cold = coldCaches();
        try {
            const tests: string[] = [];
            for (const [label, target] of [
                ["cold", { text: `< ${TARGETS.test} s` }],
                ["warm", undefined],
            ] as const) {
                const test = timeCommand(npm, ["test", "--silent"], { BENCH_INNER: "1", ...cold.env });
                const note = [cpu(test.cpu), checkTimes(test.stdout) && `done at: ${checkTimes(test.stdout)}`].filter((n) => n !== "").join("; ");
                tests.push(line(`npm test, ${label} (wall)`, `${test.wall.toFixed(1)} s`, target && { ...target, met: test.wall < TARGETS.test }, note));
            }
            lines.unshift(...tests);
        } finally {
            cold.remove();
        }
    }
    const ratio = p.scaled.wall / p.base.wall;
    const ms = (t: ProgramTimes) => `${t.resources} resources, CPU ${t.cpu.toFixed(0)} ms`;
    lines.push(line(`program, default stack (median of ${runs})`, `${p.base.wall.toFixed(0)} ms`, undefined, ms(p.base)));
    lines.push(line(`program, 10 peers + 50 namespaces (median of ${runs})`, `${p.scaled.wall.toFixed(0)} ms`, undefined, ms(p.scaled)));
    lines.push(
        line(
            "  ratio to the default stack",
            `${ratio.toFixed(2)}x`,
            { text: `< ${TARGETS.ratio}x`, met: ratio < TARGETS.ratio },
            `CPU ${(p.scaled.cpu / p.base.cpu).toFixed(2)}x`,
        ),
    );
    console.log(lines.join("\n"));
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (error) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        },
    );
}
