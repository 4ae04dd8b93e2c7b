// Every command-line tool under tools/ answers `--help` and `-h` with its help on stdout and exit code 0, before it
// reads or does anything (tools/help.ts): spawned as `npm run <tool> -- --help` runs it.

import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BENCH_HELP } from "../tools/bench/bench";
import { CHECK_HELP } from "../tools/check/check";
import { KUBECONFIGS_HELP } from "../tools/ci/kubeconfigs";
import { BOOTSTRAP_ORDER_HELP } from "../tools/fleet/bootstrapOrder";
import { FLEET_HELP } from "../tools/fleet/fleet";
import { wantsHelp } from "../tools/help";
import { PR_COMMENT_HELP } from "../tools/pr-diff/prComment";
import { RENDER_DIFF_HELP } from "../tools/pr-diff/renderDiff";
import { RENDER_HELP } from "../tools/render/render";
import { FETCH_UPSTREAM_HELP } from "../tools/upstream/fetchUpstream";
import { HELP as VERIFY_HELP } from "../tools/verify/verify";

const ROOT = path.join(__dirname, "..");

/** Each tool's script (under tools/) and the help it must print. */
const TOOLS: Record<string, { script: string; help: string }> = {
    fleet: { script: "fleet/fleet.ts", help: FLEET_HELP },
    render: { script: "render/render.ts", help: RENDER_HELP },
    verify: { script: "verify/verify.ts", help: VERIFY_HELP },
    "fetch-upstream": { script: "upstream/fetchUpstream.ts", help: FETCH_UPSTREAM_HELP },
    bench: { script: "bench/bench.ts", help: BENCH_HELP },
    bootstrapOrder: { script: "fleet/bootstrapOrder.ts", help: BOOTSTRAP_ORDER_HELP },
    prComment: { script: "pr-diff/prComment.ts", help: PR_COMMENT_HELP },
    renderDiff: { script: "pr-diff/renderDiff.ts", help: RENDER_DIFF_HELP },
    kubeconfigs: { script: "ci/kubeconfigs.ts", help: KUBECONFIGS_HELP },
    test: { script: "check/check.ts", help: CHECK_HELP },
};

/** Runs a tool's script as its npm script does (ts-node), in a directory with nothing to read. */
function runTool(script: string, args: string[]) {
    return spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), path.join(ROOT, "tools", script), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", GITHUB_TOKEN: "", GITHUB_REPOSITORY: "" },
        timeout: 60000,
    });
}

describe("the tools' --help", function () {
    this.timeout(120000);

    it("covers every command-line tool under tools/ (each file that runs as a script)", () => {
        const scripts = fs
            .readdirSync(path.join(ROOT, "tools"), { recursive: true, encoding: "utf8" })
            .filter((f) => f.endsWith(".ts") && fs.readFileSync(path.join(ROOT, "tools", f), "utf8").includes("require.main === module"))
            .sort();
        expect(scripts).to.deep.equal(
            Object.values(TOOLS)
                .map((t) => t.script)
                .sort(),
        );
        // And every npm script that runs one of them.
        const npmScripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
        for (const [name, command] of Object.entries(npmScripts).filter(([, c]) => c.includes("tools/"))) {
            expect(TOOLS[name]?.script, name).to.equal(/tools\/(\S+\.ts)/.exec(command)![1]);
        }
    });

    it("asks for the help with --help or -h anywhere among the arguments", () => {
        expect([["--help"], ["-h"], ["up", "--help"], ["--unknown", "-h"]].map(wantsHelp)).to.deep.equal([true, true, true, true]);
        expect([[], ["up"], ["--helpful"], ["-H"]].map(wantsHelp)).to.deep.equal([false, false, false, false]);
    });

    for (const [name, { script, help }] of Object.entries(TOOLS)) {
        it(`${name}: prints its usage on stdout and exits 0 for --help and -h`, () => {
            expect(help.split("\n")[0]).to.match(/^usage: /);
            for (const flag of ["--help", "-h"]) {
                const result = runTool(script, [flag]);
                expect([flag, result.status, result.stdout, result.stderr]).to.deep.equal([flag, 0, help.endsWith("\n") ? help : `${help}\n`, ""]);
            }
        });
    }
});
