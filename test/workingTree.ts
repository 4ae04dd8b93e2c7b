// The suite never writes into the working tree, so that suites running at once in one checkout (an editor's test runner
// beside a terminal, a watch mode beside a pre-push hook, CI jobs sharing a workspace) cannot break each other.
//
// mocha's global fixtures (.mocharc.json `require`s this file) hold it: mochaGlobalSetup records every file and folder of
// the checkout before the first test file runs, mochaGlobalTeardown compares after the last, and a difference fails the
// run. In parallel mode both run once, in mocha's main process, not in the workers (mocha lib/nodejs/worker.cjs ignores
// them there), and an error in a teardown fixture is reported and counted as a failure (mocha lib/mocha.cjs, run()).
// Left out: node_modules/ at any depth (installed packages, and the caches ESLint and Prettier keep under
// node_modules/.cache/) and git's own .git/.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
/** Folders that are not the working tree's, wherever they are. */
const NOT_RECORDED = new Set(["node_modules", ".git"]);

/** Each path under `root` (relative, `/`-separated), with what it is: type, mode, and size, time and hash of a file. */
export type TreeRecord = Map<string, string>;

export function recordTree(root: string): TreeRecord {
    const record: TreeRecord = new Map();
    const walk = (relative: string) => {
        for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (NOT_RECORDED.has(entry.name)) {
                continue;
            }
            const name = relative === "" ? entry.name : `${relative}/${entry.name}`;
            const full = path.join(root, name);
            const stat = fs.lstatSync(full);
            if (stat.isSymbolicLink()) {
                record.set(name, `link -> ${fs.readlinkSync(full)}`);
            } else if (stat.isDirectory()) {
                record.set(name, `folder, mode ${stat.mode.toString(8)}`);
                walk(name);
            } else {
                const hash = stat.isFile() ? createHash("sha256").update(fs.readFileSync(full)).digest("hex") : "not a regular file";
                record.set(name, `file, mode ${stat.mode.toString(8)}, ${stat.size} bytes, modified ${stat.mtime.toISOString()}, sha256 ${hash}`);
            }
        }
    };
    walk("");
    return record;
}

/** What changed from `before` to `after`, one line per path: `added x`, `removed x`, `changed x: <before> -> <after>`. */
export function treeChanges(before: TreeRecord, after: TreeRecord): string[] {
    const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
    return paths.flatMap((p) => {
        const [was, is] = [before.get(p), after.get(p)];
        return was === is ? [] : was === undefined ? [`added ${p}`] : is === undefined ? [`removed ${p}`] : [`changed ${p}: ${was} -> ${is}`];
    });
}

let before: TreeRecord | undefined;

export function mochaGlobalSetup(): void {
    before = recordTree(ROOT);
}

export function mochaGlobalTeardown(): void {
    const changes = treeChanges(before!, recordTree(ROOT));
    if (changes.length > 0) {
        throw new Error(
            `the suite wrote into the working tree (${ROOT}); tests write into temporary directories only:\n${changes.map((c) => `  - ${c}`).join("\n")}`,
        );
    }
}
