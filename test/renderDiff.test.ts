import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    DEFAULT_MAX_LENGTH,
    FLEET_FILE,
    GITHUB_COMMENT_LIMIT,
    MARKER,
    buildComment,
    compareTrees,
    fenceFor,
    fleetGraphOf,
    fullPatch,
    headline,
    listFiles,
    main,
    parseArgs,
} from "../tools/pr-diff/renderDiff";
import { FleetStack, fleetFile } from "../tools/render/graphs";
import { mermaidBlocks, parseFlowchart } from "./mermaid";

/** Writes files (path -> content) under a new directory. */
function tree(parent: string, name: string, files: Record<string, string | Buffer>): string {
    const root = path.join(parent, name);
    fs.mkdirSync(root, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), content);
    }
    return root;
}

/** `count` numbered YAML lines, each `width` characters plus the newline. */
function lines(prefix: string, count: number, width = 40): string {
    return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, "0")}: `.padEnd(width, "x") + "\n").join("");
}

describe("the render diff", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-render-diff-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** A base and head with one changed, one removed and one added file, and an unchanged stack. */
    function sample(): { base: string; head: string } {
        const base = tree(dir, "base", {
            "cluster1/kubernetes/configmap-a.yaml": "a: 1\nb: 2\nc: 3\n",
            "cluster2/helm/old.yaml": "old: true\n",
            "cluster3/outputs.json": "{}\n",
        });
        const head = tree(dir, "head", {
            "cluster1/kubernetes/configmap-a.yaml": "a: 1\nb: 20\nc: 3\n",
            "cluster2/helm/new.yaml": "new: true\nmore: true\n",
            "cluster3/outputs.json": "{}\n",
        });
        return { base, head };
    }

    describe("comparing two rendered trees", () => {
        it("lists every file of a tree, nested, as sorted /-separated paths", () => {
            const root = tree(dir, "t", { "b/z.yaml": "", "a/y/x.yaml": "", "a/b.yaml": "", "top.md": "" });
            expect(listFiles(root)).to.deep.equal(["a/b.yaml", "a/y/x.yaml", "b/z.yaml", "top.md"]);
        });

        it("refuses a tree that does not exist, naming it", () => {
            expect(() => listFiles(path.join(dir, "missing"))).to.throw(`Not a directory: ${path.join(dir, "missing")}`);
        });

        it("finds added, removed and changed files with their unified diffs, sorted by path", () => {
            const { base, head } = sample();
            const comparison = compareTrees(base, head);
            expect(comparison.stacks).to.deep.equal(["cluster1", "cluster2", "cluster3"]);
            expect(comparison.changes).to.deep.equal([
                {
                    path: "cluster1/kubernetes/configmap-a.yaml",
                    stack: "cluster1",
                    kind: "changed",
                    patch:
                        "--- a/cluster1/kubernetes/configmap-a.yaml\n+++ b/cluster1/kubernetes/configmap-a.yaml\n" +
                        "@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 20\n c: 3\n",
                    additions: 1,
                    deletions: 1,
                },
                {
                    path: "cluster2/helm/new.yaml",
                    stack: "cluster2",
                    kind: "added",
                    patch: "--- /dev/null\n+++ b/cluster2/helm/new.yaml\n@@ -0,0 +1,2 @@\n+new: true\n+more: true\n",
                    additions: 2,
                    deletions: 0,
                },
                {
                    path: "cluster2/helm/old.yaml",
                    stack: "cluster2",
                    kind: "removed",
                    patch: "--- a/cluster2/helm/old.yaml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-old: true\n",
                    additions: 0,
                    deletions: 1,
                },
            ]);
        });

        it("shows three lines of context around a change in a long file, in separate hunks for distant changes", () => {
            const before = lines("k", 30);
            const after = before.replace("k00005: ", "K00005: ").replace("k00025: ", "K00025: ");
            const comparison = compareTrees(tree(dir, "base", { "c/f.yaml": before }), tree(dir, "head", { "c/f.yaml": after }));
            const hunks = comparison.changes[0].patch.split("\n").filter((line) => line.startsWith("@@"));
            expect(hunks).to.deep.equal(["@@ -3,7 +3,7 @@", "@@ -23,7 +23,7 @@"]);
        });

        it("marks a missing final newline as unified diffs do", () => {
            const comparison = compareTrees(tree(dir, "base", { "c/f": "a\n" }), tree(dir, "head", { "c/f": "a" }));
            expect(comparison.changes[0].patch).to.equal("--- a/c/f\n+++ b/c/f\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n");
        });

        it("notes a changed binary file instead of diffing it", () => {
            const comparison = compareTrees(tree(dir, "base", { "c/b.bin": Buffer.from([0, 1]) }), tree(dir, "head", { "c/b.bin": Buffer.from([0, 2]) }));
            expect(comparison.changes).to.deep.equal([
                { path: "c/b.bin", stack: "c", kind: "changed", patch: "Binary file c/b.bin changed\n", additions: 0, deletions: 0 },
            ]);
        });

        it("joins every diff, untruncated, into one patch", () => {
            const { base, head } = sample();
            const comparison = compareTrees(base, head);
            expect(fullPatch(comparison)).to.equal(comparison.changes.map((change) => change.patch).join(""));
            expect(
                fullPatch(comparison)
                    .split("\n")
                    .filter((line) => line.startsWith("+++ ")),
            ).to.deep.equal(["+++ b/cluster1/kubernetes/configmap-a.yaml", "+++ b/cluster2/helm/new.yaml", "+++ /dev/null"]);
        });
    });

    describe("the headline", () => {
        it("says there are no changes when both trees are identical", () => {
            const files = { "cluster1/a.yaml": "a: 1\n", "cluster2/a.yaml": "a: 2\n" };
            expect(headline(compareTrees(tree(dir, "base", files), tree(dir, "head", files)))).to.equal("No changes to the rendered stacks");
        });

        it("counts the changed files and names the stacks they are in", () => {
            const { base, head } = sample();
            expect(headline(compareTrees(base, head))).to.equal("3 files changed in stacks cluster1, cluster2");
        });

        it("uses the singular for one file in one stack", () => {
            expect(headline(compareTrees(tree(dir, "base", { "cluster2/a": "1\n" }), tree(dir, "head", { "cluster2/a": "2\n" })))).to.equal(
                "1 file changed in stack cluster2",
            );
        });
    });

    describe("the pull-request comment", () => {
        it("says no stack changed, behind the marker, when the trees are identical", () => {
            const files = { "cluster1/a.yaml": "a: 1\n", "cluster2/a.yaml": "a: 2\n" };
            const comment = buildComment(compareTrees(tree(dir, "base", files), tree(dir, "head", files)), { baseLabel: "1111111", headLabel: "2222222" });
            expect(comment).to.equal(
                "<!-- istio-spire:render-diff -->\n" +
                    "### No changes to the rendered stacks\n\n" +
                    "`npm run render` renders stacks cluster1, cluster2 identically for base `1111111` and head `2222222`.\n",
            );
        });

        it("lists the changed files per stack, then each diff in a diff fence", () => {
            const { base, head } = sample();
            expect(buildComment(compareTrees(base, head))).to.equal(
                [
                    "<!-- istio-spire:render-diff -->",
                    "### 3 files changed in stacks cluster1, cluster2",
                    "",
                    "`npm run render` output for the base and head of this pull request: 1 added, 1 removed, 1 changed. Unchanged: cluster3.",
                    "",
                    "**cluster1**: 1 file",
                    "- changed `cluster1/kubernetes/configmap-a.yaml` (+1 -1)",
                    "",
                    "**cluster2**: 2 files",
                    "- added `cluster2/helm/new.yaml` (+2)",
                    "- removed `cluster2/helm/old.yaml` (-1)",
                    "",
                    "#### `cluster1/kubernetes/configmap-a.yaml` (changed)",
                    "",
                    "```diff",
                    "--- a/cluster1/kubernetes/configmap-a.yaml",
                    "+++ b/cluster1/kubernetes/configmap-a.yaml",
                    "@@ -1,3 +1,3 @@",
                    " a: 1",
                    "-b: 2",
                    "+b: 20",
                    " c: 3",
                    "```",
                    "",
                    "#### `cluster2/helm/new.yaml` (added)",
                    "",
                    "```diff",
                    "--- /dev/null",
                    "+++ b/cluster2/helm/new.yaml",
                    "@@ -0,0 +1,2 @@",
                    "+new: true",
                    "+more: true",
                    "```",
                    "",
                    "#### `cluster2/helm/old.yaml` (removed)",
                    "",
                    "```diff",
                    "--- a/cluster2/helm/old.yaml",
                    "+++ /dev/null",
                    "@@ -1,1 +0,0 @@",
                    "-old: true",
                    "```",
                    "",
                ].join("\n"),
            );
        });

        it("is identical on every run, whatever order the files were written in", () => {
            const { base, head } = sample();
            const first = buildComment(compareTrees(base, head));
            const base2 = tree(dir, "base2", {
                "cluster3/outputs.json": "{}\n",
                "cluster2/helm/old.yaml": "old: true\n",
                "cluster1/kubernetes/configmap-a.yaml": "a: 1\nb: 2\nc: 3\n",
            });
            const head2 = tree(dir, "head2", {
                "cluster3/outputs.json": "{}\n",
                "cluster2/helm/new.yaml": "new: true\nmore: true\n",
                "cluster1/kubernetes/configmap-a.yaml": "a: 1\nb: 20\nc: 3\n",
            });
            expect(buildComment(compareTrees(base, head))).to.equal(first);
            expect(buildComment(compareTrees(base2, head2))).to.equal(first);
        });

        it("fences a diff containing ``` and ```` with a longer fence, so no line of it closes the fence", () => {
            const before = "notes: |\n  ```yaml\n  a: 1\n  ```\n";
            const after = "notes: |\n  ````yaml\n  a: 2\n```\n";
            const comparison = compareTrees(tree(dir, "base", { "cluster1/notes.yaml": before }), tree(dir, "head", { "cluster1/notes.yaml": after }));
            const patch = comparison.changes[0].patch;
            expect(fenceFor(patch)).to.equal("`````");
            const comment = buildComment(comparison);
            expect(comment).to.contain(`#### \`cluster1/notes.yaml\` (changed)\n\n\`\`\`\`\`diff\n${patch}\`\`\`\`\`\n`);
            // CommonMark: a closing fence is a run of at least as many backticks, indented at most three spaces.
            const inside = comment.split("`````diff\n")[1].split("\n`````\n")[0].split("\n");
            expect(inside.filter((line) => /^ {0,3}`{5,}\s*$/.test(line))).to.deep.equal([]);
            expect(inside.some((line) => line.includes("```"))).to.equal(true);
        });

        it("uses a three-backtick fence when the diff has no backticks", () => {
            expect(fenceFor("+a\n-b\n")).to.equal("```");
            expect(fenceFor("+``\n")).to.equal("```");
            expect(fenceFor("+```\n")).to.equal("````");
        });

        it("quotes a path containing a backtick with a longer inline code span", () => {
            const comparison = compareTrees(tree(dir, "base", {}), tree(dir, "head", { "cluster1/a`b.yaml": "x\n" }));
            expect(buildComment(comparison)).to.contain("- added `` cluster1/a`b.yaml `` (+1)\n");
            expect(buildComment(comparison)).to.contain("#### `` cluster1/a`b.yaml `` (added)\n");
        });

        it("cuts the diff that overflows GitHub's limit at a line, leaves out the rest and says so with the count", () => {
            // 12 files, each diff about 24,000 characters: two fit whole, the third is cut, nine are left out.
            const files = Object.fromEntries(
                Array.from({ length: 12 }, (_, i) => [`cluster${(i % 2) + 1}/kubernetes/f${String(i).padStart(2, "0")}.yaml`, lines(`f${i}-`, 600)]),
            );
            const comparison = compareTrees(tree(dir, "base", {}), tree(dir, "head", files));
            const comment = buildComment(comparison);
            expect(comment.length).to.be.at.most(DEFAULT_MAX_LENGTH);
            expect(comment.length).to.be.below(GITHUB_COMMENT_LIMIT);
            expect(comment.startsWith(`${MARKER}\n### 12 files changed in stacks cluster1, cluster2\n`)).to.equal(true);
            // Every file is still listed.
            expect(comment.split("\n").filter((line) => line.startsWith("- added "))).to.have.length(12);
            // Diffs in path order (cluster1's f00, f02, f04, ..., then cluster2's): two whole, the third cut.
            const order = comparison.changes.map((change) => change.path);
            expect(order.slice(0, 4)).to.deep.equal([
                "cluster1/kubernetes/f00.yaml",
                "cluster1/kubernetes/f02.yaml",
                "cluster1/kubernetes/f04.yaml",
                "cluster1/kubernetes/f06.yaml",
            ]);
            const shown = comment
                .split("\n")
                .filter((line) => line.startsWith("#### "))
                .map((line) => line.slice(6, line.indexOf("` (")));
            expect(shown).to.deep.equal(order.slice(0, 3));
            expect(comment).to.contain(`#### \`${order[1]}\` (added)\n\n\`\`\`diff\n${comparison.changes[1].patch}\`\`\`\n`);
            const cutSection = comment.split(`#### \`${order[2]}\` (added)\n\n\`\`\`diff\n`)[1];
            const cutLines = cutSection.slice(0, cutSection.indexOf("\n```\n")).split("\n");
            expect(comparison.changes[2].patch.startsWith(cutLines.join("\n") + "\n")).to.equal(true);
            const match =
                /^> Diffs truncated to stay under GitHub's 65,536-character comment limit: the diff of `([^`]+)` is cut after (\d+) of 603 lines, and the diffs of 9 files, from `([^`]+)` on \(in path order\), are left out\. Run `npm run render` on both commits and compare the trees to see every change\.$/m.exec(
                    comment,
                );
            expect(match, "truncation note").to.not.equal(null);
            expect(match![1]).to.equal(order[2]);
            expect(match![3]).to.equal(order[3]);
            expect(Number(match![2])).to.equal(cutLines.length);
            expect(cutLines.length).to.be.above(100);
            expect(comment).to.contain("> [!WARNING]\n> Diffs truncated");
            // The note comes before the diffs, so it is seen without scrolling through them.
            expect(comment.indexOf("> [!WARNING]")).to.be.below(comment.indexOf("#### "));
            // The cut diff's fence is closed.
            expect(comment.endsWith("```\n")).to.equal(true);
        });

        it("leaves a diff out whole when not even its first line fits, and says how many files are left out", () => {
            const files = {
                "cluster1/a.yaml": lines("a", 10),
                "cluster1/b.yaml": `${"y".repeat(3000)}\n`,
                "cluster1/c.yaml": "c\n",
            };
            const comment = buildComment(compareTrees(tree(dir, "base", {}), tree(dir, "head", files)), { maxLength: 2500 });
            expect(comment.length).to.be.at.most(2500);
            expect(comment).to.contain(
                "> [!WARNING]\n> Diffs truncated to stay under GitHub's 65,536-character comment limit: the diffs of 2 files, from " +
                    "`cluster1/b.yaml` on (in path order), are left out. Run `npm run render` on both commits and compare the trees to see every change.\n",
            );
            expect(comment).to.contain("#### `cluster1/a.yaml` (added)");
            expect(comment).to.not.contain("#### `cluster1/b.yaml`");
            expect(comment).to.not.contain("#### `cluster1/c.yaml`");
        });

        it("says one file is left out in the singular", () => {
            const files = { "cluster1/a.yaml": lines("a", 10), "cluster1/b.yaml": `${"y".repeat(3000)}\n` };
            const comment = buildComment(compareTrees(tree(dir, "base", {}), tree(dir, "head", files)), { maxLength: 2500 });
            expect(comment).to.contain("comment limit: the diff of `cluster1/b.yaml` is left out. Run");
        });

        it("stops listing files at half the limit and says how many more changed", () => {
            const files = Object.fromEntries(
                Array.from({ length: 200 }, (_, i) => [`cluster1/objects/ns/ConfigMap-${String(i).padStart(3, "0")}.yaml`, "a\n"]),
            );
            const comment = buildComment(compareTrees(tree(dir, "base", {}), tree(dir, "head", files)), { maxLength: 10000 });
            const listed = comment.split("\n").filter((line) => line.startsWith("- added "));
            expect(comment.length).to.be.at.most(10000);
            expect(comment.indexOf("\n… and ")).to.be.at.most(5000);
            expect(listed[0]).to.equal("- added `cluster1/objects/ns/ConfigMap-000.yaml` (+1)");
            expect(comment).to.contain(`\n\n… and ${200 - listed.length} more files not listed.\n\n`);
            expect(listed.length).to.be.above(50);
        });

        it("does not truncate anything that fits", () => {
            const { base, head } = sample();
            expect(buildComment(compareTrees(base, head), { maxLength: 2000 })).to.not.contain("truncated");
        });
    });

    describe("the fleet graph in the comment", () => {
        /** A fleet.md of `n` stacks, each federated with the next (tools/render/graphs.ts, as `npm run render` writes it). */
        const fleetOf = (n: number) =>
            fleetFile(
                Array.from({ length: n }, (_, i): FleetStack => {
                    const peer = `cluster${(i + 1) % n}`;
                    return {
                        stack: `cluster${i}`,
                        ok: true,
                        outputs: { trustDomain: `cluster${i}.demo`, federatedWith: n > 1 ? [`${peer}.demo`] : [], pendingPeers: [] },
                        peers: n > 1 ? [`organization/istio-spire/${peer}`] : [],
                        violations: 0,
                    };
                }),
            );

        it("shows the head's fleet graph (its fleet.md) above the changed files, as Mermaid reads it", async () => {
            const { base, head } = sample();
            const fleet = fleetOf(3);
            fs.writeFileSync(path.join(head, FLEET_FILE), fleet);
            const out = path.join(dir, "comment.md");
            main([base, head, "--out", out]);
            const comment = fs.readFileSync(out, "utf8");
            const graph = fleetGraphOf(fleet)!;
            expect(graph.split("\n")[0]).to.equal("flowchart LR");
            expect(comment).to.include(
                "Unchanged: cluster3.\n\n**The fleet** (head, `fleet.md`):\n\n```mermaid\n" + graph + "\n```\n\n**(top level)**: 1 file\n- added `fleet.md`",
            );
            const blocks = mermaidBlocks(comment);
            // The graph; fleet.md's own diff (added) shows its block as `+` lines of a diff fence.
            expect(blocks.length).to.equal(1);
            const [shown, drawn] = await Promise.all([parseFlowchart(blocks[0]), parseFlowchart(mermaidBlocks(fleet)[0])]);
            expect(shown.vertices.map((v) => v.lines)).to.deep.equal([
                ["cluster0", "cluster0.demo"],
                ["cluster1", "cluster1.demo"],
                ["cluster2", "cluster2.demo"],
            ]);
            expect(shown.edges).to.deep.equal(drawn.edges);
            expect(shown.edges.map((e) => [e.start, e.end, e.text])).to.deep.equal([
                ["s_cluster0", "s_cluster1", "federated"],
                ["s_cluster1", "s_cluster2", "federated"],
                ["s_cluster2", "s_cluster0", "federated"],
            ]);
        });

        it("shows it when nothing changed", () => {
            const files = { "cluster1/a.yaml": "a: 1\n", [FLEET_FILE]: fleetOf(1) };
            const comparison = compareTrees(tree(dir, "base", files), tree(dir, "head", files));
            expect(buildComment(comparison, { fleet: fleetGraphOf(fleetOf(1)) })).to.equal(
                "<!-- istio-spire:render-diff -->\n" +
                    "### No changes to the rendered stacks\n\n" +
                    "`npm run render` renders stacks (top level), cluster1 identically for the base and head of this pull request.\n\n" +
                    '**The fleet** (head, `fleet.md`):\n\n```mermaid\nflowchart LR\n    s_cluster0["cluster0<br/>cluster0.demo"]\n```\n',
            );
        });

        it("leaves out a graph that would take more than a quarter of the comment, says so, and stays under the limit", () => {
            const { base, head } = sample();
            const fleet = fleetGraphOf(fleetOf(60))!;
            expect(fleet.length).to.be.above(4000 / 4);
            const comment = buildComment(compareTrees(base, head), { maxLength: 4000, fleet });
            expect(comment.length).to.be.at.most(4000);
            expect(comment).to.not.include("```mermaid");
            expect(comment).to.include(
                `Unchanged: cluster3.\n\n**The fleet**: its graph (${fleet.length.toLocaleString("en-US")} characters) is left out to keep the comment short; see \`fleet.md\` in the head's render.\n\n**cluster1**`,
            );
            expect(fleet.length).to.be.below(DEFAULT_MAX_LENGTH / 4 - 100);
            expect(buildComment(compareTrees(base, head), { fleet })).to.include("```mermaid\n" + fleet + "\n```\n");
        });

        it("reads the graph from the first Mermaid block of fleet.md, and nothing from a file without one", () => {
            expect(fleetGraphOf("# x\n\n```mermaid\nflowchart LR\n    a --> b\n```\n\n```mermaid\nflowchart LR\n```\n")).to.equal("flowchart LR\n    a --> b");
            expect(fleetGraphOf("# x\n\n```yaml\na: 1\n```\n")).to.equal(undefined);
        });
    });

    describe("the command line", () => {
        it("writes the comment and the full patch and returns the headline", () => {
            const { base, head } = sample();
            const out = path.join(dir, "out", "comment.md");
            const patch = path.join(dir, "out", "render.diff");
            const line = main([base, head, "--out", out, "--patch", patch, "--base-label", "aaa", "--head-label", "bbb"]);
            expect(line).to.equal("3 files changed in stacks cluster1, cluster2");
            const comparison = compareTrees(base, head);
            expect(fs.readFileSync(out, "utf8")).to.equal(buildComment(comparison, { baseLabel: "aaa", headLabel: "bbb" }));
            expect(fs.readFileSync(patch, "utf8")).to.equal(fullPatch(comparison));
        });

        it("refuses a missing directory, an unknown option and a bad --max-length", () => {
            expect(() => parseArgs(["base"])).to.throw("Usage: ts-node tools/pr-diff/renderDiff.ts <baseDir> <headDir> --out comment.md");
            expect(() => parseArgs(["a", "b", "--outt", "x"])).to.throw("Unknown option --outt");
            expect(() => parseArgs(["a", "b", "--out"])).to.throw("--out needs a value");
            expect(() => parseArgs(["a", "b", "--max-length", "70000"])).to.throw('--max-length must be an integer from 1000 to 65536, got "70000"');
            expect(() => main([path.join(dir, "nope"), path.join(dir, "nope2"), "--out", path.join(dir, "c.md")])).to.throw(
                `Not a directory: ${path.join(dir, "nope")}`,
            );
        });

        it("runs as `ts-node tools/pr-diff/renderDiff.ts <base> <head> --out comment.md` and prints the headline", () => {
            const { base, head } = sample();
            const out = path.join(dir, "comment.md");
            const { execFileSync } = require("child_process") as typeof import("child_process");
            const stdout = execFileSync(
                process.execPath,
                [require.resolve("ts-node/dist/bin"), path.join(__dirname, "..", "tools", "pr-diff", "renderDiff.ts"), base, head, "--out", out],
                {
                    encoding: "utf8",
                },
            );
            expect(stdout).to.equal("3 files changed in stacks cluster1, cluster2\n");
            expect(fs.readFileSync(out, "utf8")).to.equal(buildComment(compareTrees(base, head)));
        });
    });
});
