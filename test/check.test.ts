// `npm test` (tools/check/check.ts) on small trees of its own, in temporary directories: one where every check
// passes, one with a type error, a lint error, a format error and a failing test. The trees take the project's
// ESLint and Prettier configs as they are, and its node_modules through a link.

import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkTimes, concurrentReport } from "../tools/bench/bench";
import { CheckResult, checkCacheFiles, formatCheck, lint, report, runChecks, typeCheck, withCacheFile } from "../tools/check/check";

const ROOT = path.join(__dirname, "..");

/** Written as Prettier writes them (the tree's own format check reads them too). */
const TREE: Record<string, string> = {
    "tsconfig.json": [
        "{",
        '  "compilerOptions": { "strict": true, "target": "ES2022", "module": "commonjs", "lib": ["ES2022"], "types": [], "skipLibCheck": true },',
        '  "include": ["*.ts"]',
        "}",
        "",
    ].join("\n"),
    ".mocharc.json": '{ "spec": ["*.test.js"] }\n',
    "answer.ts": "export const answer: number = 42;\n",
    "answer.test.js": ["/* global describe, it */", 'describe("the answer", () => {', '    it("is given", () => {});', "});", ""].join("\n"),
};

/** What breaks each check: a type error, two lint errors (one found only with the program's types), a format error, a failing test. */
const BROKEN: Record<string, string> = {
    "types.ts": 'export const wrong: number = "forty-two";\n',
    "lint.ts": [
        'import * as pulumi from "@pulumi/pulumi";',
        "",
        "export function stop(): void {",
        "    debugger;",
        "}",
        'export const url = `https://${pulumi.output("host")}`;',
        "",
    ].join("\n"),
    "format.ts": "export const spaced = {a:1};\n",
    "failing.test.js": [
        "/* global describe, it */",
        'describe("the fixture", () => {',
        '    it("fails", () => {',
        '        throw new Error("the failing test");',
        "    });",
        "});",
        "",
    ].join("\n"),
};

function tree(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-check-"));
    for (const config of ["eslint.config.mjs", ".prettierrc.json"]) {
        fs.copyFileSync(path.join(ROOT, config), path.join(dir, config));
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    for (const [file, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
}

describe("npm test: every check at once (tools/check/check.ts)", function () {
    this.timeout(120000);
    const dirs: string[] = [];
    let passing: CheckResult[];
    let broken: CheckResult[];

    before(async () => {
        const clean = tree(TREE);
        const bad = tree({ ...TREE, ...BROKEN });
        dirs.push(clean, bad);
        // Each with caches of its own, empty.
        passing = await runChecks({ cwd: clean, cacheDir: path.join(clean, "cache") });
        broken = await runChecks({ cwd: bad, cacheDir: path.join(bad, "cache") });
    });
    after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));

    it("passes a tree where every check passes, and exits 0", () => {
        expect(passing.map((r) => [r.name, r.command, r.ok, r.status])).to.deep.equal([
            ["type check", "tsc --noEmit -p .", true, 0],
            ["lint", "eslint .", true, 0],
            ["format", "prettier --check --cache .", true, 0],
            ["tests", "mocha", true, 0],
        ]);
        expect(byName(passing).tests.output).to.include("1 passing");
        const { text, exitCode } = report(passing);
        expect(exitCode).to.equal(0);
        expect(text.split("\n").at(-1)).to.equal("npm test: every check passed");
    });

    it("reports exactly what tsc --noEmit -p . reports, with its exit status", () => {
        // A tree of its own, with the type error alone (the broken tree's @pulumi/pulumi would make tsc slow).
        const dir = tree({ "tsconfig.json": TREE["tsconfig.json"], "types.ts": BROKEN["types.ts"], "answer.ts": TREE["answer.ts"] });
        dirs.push(dir);
        const tsc = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."], {
            cwd: dir,
            encoding: "utf8",
        });
        const { result, program } = typeCheck(dir);
        expect([result.output, result.status]).to.deep.equal([tsc.stdout, tsc.status]);
        expect(result.output).to.equal("types.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.\n");
        expect(result.status).to.equal(2);
        expect(byName(broken)["type check"]).to.deep.include({ output: result.output, status: 2, ok: false });
        // The program it keeps, for the lint: the tree's files.
        expect(
            program!
                .getRootFileNames()
                .map((f) => path.basename(f))
                .sort(),
        ).to.deep.equal(["answer.ts", "types.ts"]);
    });

    it("lints with the project's rules, the type-aware ones reading the type check's program", () => {
        const { output, ok, status } = byName(broken).lint;
        expect([ok, status]).to.deep.equal([false, 1]);
        const errors = output.split("\n").filter((line) => /^\s+\d+:\d+\s+error/.test(line));
        expect(errors.map((line) => line.trim().replace(/\s+/g, " "))).to.deep.equal([
            "4:5 error Unexpected 'debugger' statement no-debugger",
            "6:20 error pulumi.Output<T> not permitted in template literals @pulumi/no-output-in-template-literal",
        ]);
    });

    it("fails the format check on a file Prettier would rewrite, naming it", () => {
        const { output, ok, status } = byName(broken).format;
        expect([ok, status]).to.deep.equal([false, 1]);
        expect(output).to.include("[warn] format.ts\n");
        expect(output).to.not.include("answer.ts");
    });

    it("fails the tests on a failing test", () => {
        const { output, ok, status } = byName(broken).tests;
        expect([ok, status]).to.deep.equal([false, 1]);
        expect(output).to.include("1 passing");
        expect(output).to.include("1 failing");
        expect(output).to.include("Error: the failing test");
    });

    it("fails npm test when any one check fails, and says which, with that check's output", () => {
        const failed = byName(broken);
        for (const name of ["type check", "lint", "format", "tests"] as const) {
            const results = passing.map((r) => (r.name === name ? failed[name] : r));
            const { text, exitCode } = report(results);
            expect(exitCode, name).to.equal(1);
            expect(text.split("\n").at(-1), name).to.equal(`npm test: FAILED: ${name}`);
            expect(text, name).to.include(`── ${name}: ${failed[name].command}\n${failed[name].output.trimEnd()}\n`);
            expect(text, name).to.match(new RegExp(`\\n${name}: +FAILED \\(exit ${failed[name].status}\\) `));
        }
        expect(report(broken).text.split("\n").at(-1)).to.equal("npm test: FAILED: type check, lint, format, tests");
        expect(report(broken).exitCode).to.equal(1);
    });

    it("reports when each check was done, which npm run bench reads", () => {
        const seconds: Record<string, number> = { "type check": 14.7, lint: 21.2, format: 14.8, tests: 46.4 };
        const { text } = report(
            passing.map((r) => ({ ...r, seconds: seconds[r.name] })),
            46.5,
        );
        expect(text.split("\n").slice(-5)).to.deep.equal([
            "type check:  ok               done at 14.7 s   tsc --noEmit -p .",
            "lint:        ok               done at 21.2 s   eslint .",
            "format:      ok               done at 14.8 s   prettier --check --cache .",
            "tests:       ok               done at 46.4 s   mocha",
            "npm test: every check passed in 46.5 s",
        ]);
        expect(checkTimes(text)).to.equal("type check 15 s, lint 21 s, format 15 s, tests 46 s");
    });

    describe("its caches, shared by runs at the same time in one checkout (issue 19)", () => {
        it("leaves ESLint's and Prettier's caches as whole files, each in its place, and nothing else", () => {
            const cacheDir = path.join(dirs[0], "cache");
            const files = checkCacheFiles(cacheDir);
            expect(fs.readdirSync(path.join(cacheDir, "istio-spire-check")).sort()).to.deep.equal(["eslint-cache.json", "prettier-cache.json"]);
            // ESLint's names the files it linted, Prettier's the files it checked (both flatted JSON: an array).
            for (const file of [files.eslint, files.prettier]) {
                expect(JSON.parse(fs.readFileSync(file, "utf8")), file).to.be.an("array");
                expect(fs.readFileSync(file, "utf8"), file).to.include("answer.ts");
            }
        });

        it("works on a private copy and replaces the shared file only when done, in one rename", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-cache-"));
            dirs.push(dir);
            const shared = path.join(dir, "sub", "cache.json");
            // No cache yet: the copy does not exist either, and what the tool writes becomes the cache.
            const first = await withCacheFile(shared, async (own) => {
                expect(fs.existsSync(own)).to.equal(false);
                fs.writeFileSync(own, '["first"]');
                return path.dirname(own);
            });
            expect([first, fs.readFileSync(shared, "utf8")]).to.deep.equal([path.dirname(shared), '["first"]']);
            // While a run writes its copy, the shared file is the whole previous one; a reader never sees the writing.
            await withCacheFile(shared, async (own) => {
                expect(fs.readFileSync(own, "utf8")).to.equal('["first"]');
                fs.writeFileSync(own, '["second", ');
                expect(fs.readFileSync(shared, "utf8")).to.equal('["first"]');
                fs.appendFileSync(own, '"whole"]');
            });
            expect(fs.readFileSync(shared, "utf8")).to.equal('["second", "whole"]');
            // A run that fails leaves the cache as it was, and no copy behind.
            const failing = withCacheFile(shared, async (own) => {
                fs.writeFileSync(own, "broken");
                throw new Error("the lint crashed");
            });
            await failing.then(
                () => expect.fail("withCacheFile swallowed the error"),
                (error: Error) => expect(error.message).to.equal("the lint crashed"),
            );
            expect(fs.readFileSync(shared, "utf8")).to.equal('["second", "whole"]');
            expect(fs.readdirSync(path.dirname(shared))).to.deep.equal(["cache.json"]);
        });

        it("leaves out a cache that is not whole (Prettier would fail on it): right verdicts, and a whole cache after", async () => {
            const clean = dirs[0];
            const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-torn-"));
            dirs.push(cacheDir);
            const files = checkCacheFiles(cacheDir);
            fs.mkdirSync(path.dirname(files.eslint), { recursive: true });
            for (const [file, whole] of [
                [files.eslint, path.join(clean, "cache", "istio-spire-check", "eslint-cache.json")],
                [files.prettier, path.join(clean, "cache", "istio-spire-check", "prettier-cache.json")],
            ]) {
                const text = fs.readFileSync(whole, "utf8");
                fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
            }
            const bad = dirs[1];
            const [linted, formatted] = await Promise.all([lint(bad, cacheDir), formatCheck(bad, cacheDir)]);
            expect([linted.ok, formatted.ok]).to.deep.equal([false, false]);
            expect(linted.output).to.include("no-debugger");
            expect(formatted.output).to.include("[warn] format.ts\n");
            for (const file of [files.eslint, files.prettier]) {
                expect(JSON.parse(fs.readFileSync(file, "utf8")), file).to.be.an("array");
            }
        });
    });

    it("npm run bench -- --concurrent reports each round, the rounds that passed, and how long they took", () => {
        const ok = { status: 0, output: "npm test: every check passed\n" };
        const rounds = [
            { wall: 150.25, runs: [ok, ok, ok] },
            { wall: 140, runs: [ok, { status: 1, output: ["a", "b", "npm test: FAILED: tests"].join("\n") }, ok] },
            { wall: 160, runs: [ok, ok, ok] },
        ];
        expect(concurrentReport(3, rounds)).to.deep.equal([
            "round  1: 3 of 3 passed in 150.3 s",
            "round  2: FAILED: run 2 exit 1 in 140.0 s",
            "round  3: 3 of 3 passed in 160.0 s",
            "3 npm test at once in one checkout, 3 rounds: 2 of 3 rounds passed; a round took 150.3 s (median), 160.0 s at most; 7.5 min in all",
            "",
            "── round 2, run 2 (exit 1), its last 40 lines:",
            "a",
            "b",
            "npm test: FAILED: tests",
        ]);
    });
});
