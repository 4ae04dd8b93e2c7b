// `npm test`: every check of the tree, each as its own command would run it, with the type check done once.
//
//   type check   what `tsc --noEmit -p .` reports, with its exit status: TypeScript's own command line
//                (ts.executeCommandLine, what the tsc binary runs), in this process, keeping the program it built;
//   lint         ESLint on `.` with the project's config (eslint.config.mjs), as `eslint .` runs it, except that the
//                type-aware rules read the type check's program (typescript-eslint `parserOptions.programs`) instead
//                of building a second program of the same tsconfig.json (`project` is then ignored:
//                typescript-estree createParseSettings.js); cached by content like `npm run lint`;
//   format       `prettier --check --cache .`, a child process;
//   tests        mocha with .mocharc.json (and the arguments given to `npm test --`), a child process that prints as
//                it goes.
//
// They run at the same time: the tests from the start, the type check and the lint beside them, one after the other
// (the lint needs the program), and the format check beside both. Before, `tsc --noEmit -p . && npm run lint &&
// mocha` type-checked the tree twice (tsc, then ESLint's own program) and ran the four one after the other. Once the
// tests are done, the output of each other check that failed (and the lint's warnings) is printed under its command,
// then one line per check; the exit code is 1 when any check failed, whichever.
//
// Caches: ESLint's and Prettier's under node_modules/.cache/istio-spire-check/ (apart from `npm run lint`'s and
// `npm run format`'s, node_modules/.cache/eslint/ and prettier/), or under $ISTIO_SPIRE_CHECK_CACHE when set
// (`npm run bench` points it to an empty directory for a cold run). Several `npm test` runs may share a checkout
// (issue 19), so each writes its caches atomically (withCacheFile): both tools would otherwise write theirs in place
// (ESLint 9: flat-cache 4 src/utils.js writeJSON; Prettier 3: its bundled flat-cache `save`, fs.writeFileSync), and a
// run could read another's half-written file. ESLint reads an unparsable cache as an empty one (flat-cache tryParse),
// but Prettier given --cache-location fails the check on it ("'<file>' isn't a valid JSON file": legacy-cli
// findCacheFileFromOption). With the rename no run sees a torn cache; one that is not JSON anyway (a run killed by an
// older version of this script, a hand edit) is left out, and the run starts from none.

import { spawn } from "child_process";
import { randomBytes } from "crypto";
import type { Linter } from "eslint";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { wantsHelp } from "../help";

const PROJECT_DIR = path.join(__dirname, "..", "..");

/** Environment variable naming the directory of the check's caches (default: node_modules/.cache of the tree). */
export const CHECK_CACHE_ENV = "ISTIO_SPIRE_CHECK_CACHE";

export type CheckName = "type check" | "lint" | "format" | "tests";

/** The outcome of one check. */
export interface CheckResult {
    name: CheckName;
    /** The command it stands for. */
    command: string;
    ok: boolean;
    /** Its exit status (as the command's would be). */
    status: number;
    /** What it printed (empty for the tests when they printed as they went). */
    output: string;
    /** Seconds from the start of the checks to its end. */
    seconds?: number;
}

export interface CheckOptions {
    /** The tree to check (its tsconfig.json, eslint.config.mjs, Prettier config, .mocharc.json). @default this project */
    cwd?: string;
    /** Arguments for mocha. @default none */
    mochaArgs?: string[];
    /** Where ESLint's and Prettier's caches are kept. @default $ISTIO_SPIRE_CHECK_CACHE, else <cwd>/node_modules/.cache */
    cacheDir?: string;
    /** The tests print as they run (stdio inherited) instead of being captured into their result. @default false */
    liveTests?: boolean;
}

/**
 * Runs `use` on a private copy of the cache file `shared` (none when there is none yet, or it is not JSON), then puts the copy in its
 * place with one rename(2), which replaces the file atomically (POSIX rename: a reader opens the old file or the new
 * one, never a part of either). Runs at the same time each read a whole cache and leave a whole one: the last to
 * finish wins, and every entry of a content-keyed cache is valid for whatever tree it meets.
 */
export async function withCacheFile<T>(shared: string, use: (file: string) => Promise<T>): Promise<T> {
    fs.mkdirSync(path.dirname(shared), { recursive: true });
    const own = `${shared}.${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
        try {
            fs.copyFileSync(shared, own);
            JSON.parse(fs.readFileSync(own, "utf8"));
        } catch (error) {
            if (!(error instanceof SyntaxError) && (error as NodeJS.ErrnoException).code !== "ENOENT") {
                throw error;
            }
            // No cache yet, or not a whole one: the tool starts from none.
            fs.rmSync(own, { force: true });
        }
        const result = await use(own);
        if (fs.existsSync(own)) {
            fs.renameSync(own, shared);
        }
        return result;
    } finally {
        fs.rmSync(own, { force: true });
    }
}

/** The cache files of `npm test` under `cacheDir`. */
export function checkCacheFiles(cacheDir: string): { eslint: string; prettier: string } {
    const dir = path.join(cacheDir, "istio-spire-check");
    return { eslint: path.join(dir, "eslint-cache.json"), prettier: path.join(dir, "prettier-cache.json") };
}

/** `tsc --noEmit -p .` in `cwd`, through TypeScript's own command line: its output, its exit status, its program. */
export function typeCheck(cwd: string): { result: CheckResult; program?: ts.Program } {
    // Not in typescript.d.ts, but exported by the package: the function the tsc binary calls (lib/_tsc.js).
    const executeCommandLine = (ts as unknown as { executeCommandLine?: ExecuteCommandLine }).executeCommandLine;
    if (typeof executeCommandLine !== "function") {
        throw new Error(`typescript ${ts.version} does not export executeCommandLine; the type check cannot run as tsc does`);
    }
    let output = "";
    let status: number | undefined;
    let program: ts.Program | undefined;
    const system: ts.System = {
        ...ts.sys,
        write: (s) => (output += s),
        getCurrentDirectory: () => cwd,
        exit: (code) => {
            status = code ?? 0;
        },
    };
    executeCommandLine(system, (built) => (program = built as ts.Program), ["--noEmit", "-p", cwd]);
    if (status === undefined) {
        throw new Error("the type check ended without an exit status");
    }
    return { result: { name: "type check", command: "tsc --noEmit -p .", ok: status === 0, status, output }, program };
}
type ExecuteCommandLine = (system: ts.System, cb: (program: unknown) => void, args: readonly string[]) => void;

/** `eslint .` in `cwd` with its config; type-aware rules read `program` when given. */
export async function lint(cwd: string, cacheDir: string, program?: ts.Program): Promise<CheckResult> {
    // Loaded here, not at the top: `npm test -- --help` answers without it.
    const { ESLint }: typeof import("eslint") = require("eslint");
    const overrideConfig: Linter.Config[] = [
        // Files the config gives no tsconfigRootDir (.js, .mjs) have typescript-eslint infer it from the configs loaded
        // in the process, which fails once two trees' were (test/check.test.ts): it is the tree's.
        { languageOptions: { parserOptions: { tsconfigRootDir: cwd } } },
    ];
    if (program !== undefined) {
        // ESLint hashes the config into its cache key, and refuses functions in it (config.js languageOptionsToJSON):
        // the program stands in the key for what it is built from.
        Object.defineProperty(program, "toJSON", { value: () => "the type check's program (tsconfig.json)", configurable: true });
        overrideConfig.push({ files: ["**/*.ts"], languageOptions: { parserOptions: { programs: [program] } } });
    }
    // Apart from `npm run lint`'s cache (node_modules/.cache/eslint/): the program is part of this config's key. A
    // file path, not a folder (ESLint lib/eslint/eslint-helpers.js getCacheFile: a path that is not an existing folder
    // and does not end in a separator is the cache file itself); lintFiles writes it at its end (eslint.js,
    // lintResultCache.reconcile()).
    const { results, output } = await withCacheFile(checkCacheFiles(cacheDir).eslint, async (cacheLocation) => {
        const eslint = new ESLint({ cwd, cache: true, cacheStrategy: "content", cacheLocation, overrideConfig });
        const linted = await eslint.lintFiles(["."]);
        return { results: linted, output: await (await eslint.loadFormatter("stylish")).format(linted) };
    });
    const ok = results.every((r) => r.errorCount === 0 && r.fatalErrorCount === 0);
    return { name: "lint", command: "eslint .", ok, status: ok ? 0 : 1, output };
}

/**
 * Runs `command` (node itself when it is `process.execPath`) and resolves with its exit status and (unless inherited)
 * its output, both streams as they came; never rejects: a process that cannot start is a failure with the reason.
 */
export function runProcess(
    command: string,
    args: string[],
    cwd: string,
    options: { inherit?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ status: number; output: string }> {
    return new Promise((resolve) => {
        const child = spawn(command, args, { cwd, env: options.env ?? process.env, stdio: options.inherit ? "inherit" : ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout?.on("data", (d) => (output += d));
        child.stderr?.on("data", (d) => (output += d));
        child.on("error", (error) => resolve({ status: 1, output: `${output}${error.message}\n` }));
        child.on("close", (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), output }));
    });
}

/** `prettier --check --cache .` in `cwd`. */
export async function formatCheck(cwd: string, cacheDir: string): Promise<CheckResult> {
    const prettier = path.join(path.dirname(require.resolve("prettier/package.json")), "bin", "prettier.cjs");
    const { status, output } = await withCacheFile(checkCacheFiles(cacheDir).prettier, (cacheLocation) =>
        // --no-color: its output is captured and printed again with the report, and Prettier colours it whenever CI is
        // set, even into a pipe (it bundles picocolors, whose isColorSupported is true when `env.CI` is set).
        runProcess(process.execPath, [prettier, "--check", "--cache", "--cache-location", cacheLocation, "--no-color", "."], cwd),
    );
    return { name: "format", command: "prettier --check --cache .", ok: status === 0, status, output };
}

/** `mocha` in `cwd` with its .mocharc.json. */
export async function tests(cwd: string, mochaArgs: string[], live: boolean): Promise<CheckResult> {
    const mocha = path.join(path.dirname(require.resolve("mocha/package.json")), "bin", "mocha.js");
    const { status, output } = await runProcess(process.execPath, [mocha, ...mochaArgs], cwd, { inherit: live });
    return { name: "tests", command: ["mocha", ...mochaArgs].join(" "), ok: status === 0, status, output };
}

/** Every check of the tree, at the same time; the results in the order type check, lint, format, tests. */
export async function runChecks(options: CheckOptions = {}): Promise<CheckResult[]> {
    const started = process.hrtime.bigint();
    const timed = (result: CheckResult): CheckResult => ({ ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    const cwd = path.resolve(options.cwd ?? PROJECT_DIR);
    const cacheDir = path.resolve(options.cacheDir ?? process.env[CHECK_CACHE_ENV] ?? path.join(cwd, "node_modules", ".cache"));
    const testing = tests(cwd, options.mochaArgs ?? [], options.liveTests ?? false).then(timed);
    const formatting = formatCheck(cwd, cacheDir).then(timed);
    // Once both children are started: the type check holds this process until it is done.
    await new Promise((resolve) => setImmediate(resolve));
    const failure = (name: CheckName, command: string, error: unknown): CheckResult => ({
        name,
        command,
        ok: false,
        status: 2,
        output: `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    });
    let typed: CheckResult;
    let program: ts.Program | undefined;
    try {
        ({ result: typed, program } = typeCheck(cwd));
    } catch (error) {
        typed = failure("type check", "tsc --noEmit -p .", error);
    }
    typed = timed(typed);
    const linted = timed(await lint(cwd, cacheDir, program).catch((error) => failure("lint", "eslint .", error)));
    return [typed, linted, await formatting, await testing];
}

/** The report printed after the checks, and the exit code: 0 when every check passed, else 1. */
export function report(results: CheckResult[], seconds?: number): { text: string; exitCode: number } {
    const lines: string[] = [];
    for (const r of results) {
        // A failed check's output; of a check that passed, only the lint's (its warnings).
        if (r.output.trim() !== "" && (!r.ok || r.name === "lint")) {
            lines.push(`── ${r.name}: ${r.command}`, r.output.trimEnd(), "");
        }
    }
    for (const r of results) {
        const verdict = r.ok ? "ok" : `FAILED (exit ${r.status})`;
        const at = r.seconds === undefined ? "" : `done at ${r.seconds.toFixed(1)} s`;
        lines.push(`${`${r.name}:`.padEnd(12)} ${verdict.padEnd(16)} ${at.padEnd(16)} ${r.command}`.trimEnd());
    }
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    const took = seconds === undefined ? "" : ` in ${seconds.toFixed(1)} s`;
    lines.push(failed.length === 0 ? `npm test: every check passed${took}` : `npm test: FAILED: ${failed.join(", ")}${took}`);
    return { text: lines.join("\n"), exitCode: failed.length === 0 ? 0 : 1 };
}

/** What `npm test -- --help` (or `-h`) prints, on stdout, with exit code 0. */
export const CHECK_HELP = [
    "usage: npm test [-- <mocha arguments>]",
    "",
    "Runs every check of the tree at the same time: the type check (as `tsc --noEmit -p .`), the lint (ESLint with",
    "eslint.config.mjs, reading the type check's program), the format check (`prettier --check --cache .`) and the tests",
    "(mocha with .mocharc.json, printing as they run). Then prints what the other checks reported and one line per check.",
    "",
    "  <mocha arguments>   passed to mocha, with .mocharc.json (e.g. --grep <pattern>); the other checks cover the whole tree",
    "  -h, --help          print this help and exit",
    "",
    `Caches: node_modules/.cache/istio-spire-check/ (each replaced atomically), or under $${CHECK_CACHE_ENV} when set.`,
    "Exit code: 0 when every check passed, else 1.",
].join("\n");

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    if (wantsHelp(argv)) {
        console.log(CHECK_HELP);
        return 0;
    }
    const started = process.hrtime.bigint();
    const results = await runChecks({ mochaArgs: argv, liveTests: true });
    const { text, exitCode } = report(results, Number(process.hrtime.bigint() - started) / 1e9);
    console.log(`\n${text}`);
    return exitCode;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            console.error(error instanceof Error ? (error.stack ?? error.message) : error);
            process.exit(1);
        },
    );
}
