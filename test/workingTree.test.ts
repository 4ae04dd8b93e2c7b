// The guard that the suite leaves the working tree as it found it (test/workingTree.ts, mocha's global fixtures): what it
// records and what it reports, on a tree of its own in a temporary directory.
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { recordTree, treeChanges } from "./workingTree";

describe("the working tree guard (test/workingTree.ts)", () => {
    let root: string;

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-tree-"));
        fs.mkdirSync(path.join(root, "components", "mesh"), { recursive: true });
        fs.writeFileSync(path.join(root, "components", "mesh", "spire.ts"), "export const a = 1;\n");
        fs.writeFileSync(path.join(root, "README.md"), "# x\n");
        fs.mkdirSync(path.join(root, "node_modules", ".cache", "eslint"), { recursive: true });
        fs.mkdirSync(path.join(root, "policy", "node_modules"), { recursive: true });
        fs.mkdirSync(path.join(root, ".git"));
    });

    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("reports nothing for an untouched tree", () => {
        expect(treeChanges(recordTree(root), recordTree(root))).to.deep.equal([]);
    });

    it("reports a file or folder added, removed or rewritten, and a rewrite with the same bytes by its time", () => {
        const before = recordTree(root);
        fs.mkdirSync(path.join(root, "dist"));
        fs.writeFileSync(path.join(root, "dist", "index.js"), "");
        fs.rmSync(path.join(root, "README.md"));
        fs.writeFileSync(path.join(root, "components", "mesh", "spire.ts"), "export const a = 2;\n");
        const after = recordTree(root);
        const changes = treeChanges(before, after);
        expect(changes.map((c) => c.split(":")[0])).to.deep.equal([
            "removed README.md",
            "changed components/mesh/spire.ts",
            "added dist",
            "added dist/index.js",
        ]);
        const [, was, is] = changes[1].match(/^changed components\/mesh\/spire\.ts: file, .*, sha256 ([0-9a-f]{64}) -> file, .*, sha256 ([0-9a-f]{64})$/)!;
        expect(was).to.not.equal(is);

        // Same bytes, written again (what a formatter or a build that rewrites its output does).
        const file = path.join(root, "components", "mesh", "spire.ts");
        fs.utimesSync(file, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
        const again = recordTree(root);
        fs.writeFileSync(file, fs.readFileSync(file));
        expect(treeChanges(again, recordTree(root)).map((c) => c.split(":")[0])).to.deep.equal(["changed components/mesh/spire.ts"]);
    });

    it("leaves out node_modules/ at any depth (installed packages, ESLint's and Prettier's caches) and .git/", () => {
        const before = recordTree(root);
        expect([...before.keys()]).to.deep.equal(["README.md", "components", "components/mesh", "components/mesh/spire.ts", "policy"]);
        fs.writeFileSync(path.join(root, "node_modules", ".cache", "eslint", ".cache_1"), "{}");
        fs.writeFileSync(path.join(root, "policy", "node_modules", "x.js"), "");
        fs.writeFileSync(path.join(root, ".git", "index"), "");
        expect(treeChanges(before, recordTree(root))).to.deep.equal([]);
    });

    it("runs around every run of the suite: .mocharc.json requires it, and mocha finds its global fixtures", () => {
        const config = JSON.parse(fs.readFileSync(path.join(__dirname, "..", ".mocharc.json"), "utf8"));
        expect(config.require).to.include("test/workingTree.ts");
        const fixtures = require("./workingTree");
        expect([typeof fixtures.mochaGlobalSetup, typeof fixtures.mochaGlobalTeardown]).to.deep.equal(["function", "function"]);
    });
});
