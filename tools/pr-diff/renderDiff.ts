// Compares two `npm run render` trees (a pull request's base and head) and writes the pull-request comment.
//
//   ts-node tools/pr-diff/renderDiff.ts <baseDir> <headDir> --out comment.md [--patch full.diff]
//                              [--base-label <sha>] [--head-label <sha>] [--max-length <n>]
//
// Prints the headline. The comment shows the head's fleet graph (the Mermaid block of `<headDir>/fleet.md`, which
// `npm run render` writes; GitHub draws it) above the changed files. The comment starts with MARKER, so prComment.ts finds and updates it instead of adding a new
// one on every push, and stays under GitHub's comment limit: diffs that do not fit are cut or left out, and the
// comment says so. `--patch` writes every diff, untruncated.

import * as fs from "fs";
import * as path from "path";
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch } from "diff";
import { wantsHelp } from "../help";

/** Hidden first line of the comment; prComment.ts finds the comment to update by it. */
export const MARKER = "<!-- istio-spire:render-diff -->";
/** GitHub's maximum issue-comment body length. */
export const GITHUB_COMMENT_LIMIT = 65536;
/** Default maximum comment length: GitHub's limit with a margin, as JavaScript counts UTF-16 units. */
export const DEFAULT_MAX_LENGTH = 65000;
/** Lines of context around each change in a diff. */
export const CONTEXT_LINES = 3;

export type ChangeKind = "added" | "removed" | "changed";

export interface FileChange {
    /** Path relative to the tree's root, `/`-separated: `<stack>/<folder>/<file>`. */
    path: string;
    /** The stack the file belongs to (its first path segment), "" for a file at the root. */
    stack: string;
    kind: ChangeKind;
    /** Unified diff (`--- a/<path>`, `+++ b/<path>`, hunks), or a one-line note for binary files. */
    patch: string;
    additions: number;
    deletions: number;
}

export interface TreeComparison {
    /** Every stack in either tree, sorted. */
    stacks: string[];
    /** Every added, removed or changed file, sorted by path. */
    changes: FileChange[];
}

export interface CommentOptions {
    /** Upper bound of the comment's length (default DEFAULT_MAX_LENGTH). */
    maxLength?: number;
    /** How to name the base and head, e.g. their commit SHAs. */
    baseLabel?: string;
    headLabel?: string;
    /** The head's fleet graph: the Mermaid source of its `fleet.md` (fleetGraphOf), shown when it fits. */
    fleet?: string;
}

/** The file of a render that draws the fleet (tools/render/render.ts FLEET_FILE). */
export const FLEET_FILE = "fleet.md";

/** The source of the first ```mermaid block of a Markdown text, or undefined when it has none. */
export function fleetGraphOf(markdown: string): string | undefined {
    const match = /^(`{3,})mermaid[ \t]*\n([\s\S]*?)^\1[ \t]*$/m.exec(markdown);
    return match === null ? undefined : match[2].replace(/\n$/, "");
}

/**
 * The comment's fleet section: the graph in a ```mermaid block, or, when it would take more than a quarter of the
 * comment, a line saying where it is.
 */
function fleetSection(fleet: string | undefined, maxLength: number): string {
    if (fleet === undefined) {
        return "";
    }
    const fence = fenceFor(fleet);
    const section = `**The fleet** (head, \`${FLEET_FILE}\`):\n\n${fence}mermaid\n${fleet}\n${fence}\n\n`;
    if (section.length <= Math.floor(maxLength / 4)) {
        return section;
    }
    return `**The fleet**: its graph (${thousands(fleet.length)} characters) is left out to keep the comment short; see \`${FLEET_FILE}\` in the head's render.\n\n`;
}

/** Byte-order comparison: the same on every machine and locale. */
function compare(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** Every regular file under `root`, as sorted `/`-separated relative paths. */
export function listFiles(root: string): string[] {
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
        throw new Error(`Not a directory: ${root}`);
    }
    const files: string[] = [];
    const walk = (relative: string): void => {
        for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
            const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
            if (entry.isDirectory()) {
                walk(child);
            } else if (entry.isFile()) {
                files.push(child);
            }
        }
    };
    walk("");
    return files.sort(compare);
}

function stackOf(file: string): string {
    const slash = file.indexOf("/");
    return slash < 0 ? "" : file.slice(0, slash);
}

function isBinary(content: Buffer): boolean {
    return content.includes(0);
}

/** The unified diff of one file and its added and removed line counts. */
function diffFile(file: string, kind: ChangeKind, before: Buffer | undefined, after: Buffer | undefined): FileChange {
    const stack = stackOf(file);
    if ((before !== undefined && isBinary(before)) || (after !== undefined && isBinary(after))) {
        return { path: file, stack, kind, patch: `Binary file ${file} ${kind}\n`, additions: 0, deletions: 0 };
    }
    const patch = structuredPatch(
        kind === "added" ? "/dev/null" : `a/${file}`,
        kind === "removed" ? "/dev/null" : `b/${file}`,
        before?.toString("utf8") ?? "",
        after?.toString("utf8") ?? "",
        undefined,
        undefined,
        { context: CONTEXT_LINES },
    );
    let additions = 0;
    let deletions = 0;
    for (const hunk of patch.hunks) {
        for (const line of hunk.lines) {
            if (line.startsWith("+")) {
                additions++;
            } else if (line.startsWith("-")) {
                deletions++;
            }
        }
    }
    return { path: file, stack, kind, patch: formatPatch(patch, FILE_HEADERS_ONLY), additions, deletions };
}

/** Compares two rendered trees file by file. */
export function compareTrees(baseDir: string, headDir: string): TreeComparison {
    const base = listFiles(baseDir);
    const head = listFiles(headDir);
    const baseSet = new Set(base);
    const headSet = new Set(head);
    const all = [...new Set([...base, ...head])].sort(compare);
    const changes: FileChange[] = [];
    for (const file of all) {
        const before = baseSet.has(file) ? fs.readFileSync(path.join(baseDir, file)) : undefined;
        const after = headSet.has(file) ? fs.readFileSync(path.join(headDir, file)) : undefined;
        if (before === undefined) {
            changes.push(diffFile(file, "added", undefined, after));
        } else if (after === undefined) {
            changes.push(diffFile(file, "removed", before, undefined));
        } else if (!before.equals(after)) {
            changes.push(diffFile(file, "changed", before, after));
        }
    }
    const stacks = [...new Set(all.map(stackOf))].sort(compare);
    return { stacks, changes };
}

/** Every diff, untruncated, as one patch. */
export function fullPatch(comparison: TreeComparison): string {
    return comparison.changes.map((change) => change.patch).join("");
}

const thousands = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
const stackLabel = (stack: string): string => (stack === "" ? "(top level)" : stack);

/** "No changes to the rendered stacks" or "3 files changed in stacks cluster1, cluster2". */
export function headline(comparison: TreeComparison): string {
    const { changes } = comparison;
    if (changes.length === 0) {
        return "No changes to the rendered stacks";
    }
    const stacks = [...new Set(changes.map((change) => change.stack))].sort(compare).map(stackLabel);
    return `${plural(changes.length, "file")} changed in ${stacks.length === 1 ? "stack" : "stacks"} ${stacks.join(", ")}`;
}

/** Markdown inline code that survives backticks in the text. */
function inlineCode(text: string): string {
    const flat = text.replace(/[\r\n]+/g, " ");
    const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
    const ticks = "`".repeat(longest + 1);
    return longest === 0 ? `${ticks}${flat}${ticks}` : `${ticks} ${flat} ${ticks}`;
}

/** A code fence longer than any backtick run in `text`, so no line of it can close the fence. */
export function fenceFor(text: string): string {
    const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
    return "`".repeat(Math.max(3, longest + 1));
}

function counts(change: FileChange): string {
    const parts: string[] = [];
    if (change.additions > 0) {
        parts.push(`+${change.additions}`);
    }
    if (change.deletions > 0) {
        parts.push(`-${change.deletions}`);
    }
    return parts.length === 0 ? "" : ` (${parts.join(" ")})`;
}

function section(change: FileChange, lines: string[], fence: string): string {
    const body = lines.join("\n");
    return `#### ${inlineCode(change.path)} (${change.kind})\n\n${fence}diff\n${body}${body === "" ? "" : "\n"}${fence}\n\n`;
}

function patchLines(patch: string): string[] {
    const lines = patch.split("\n");
    if (lines[lines.length - 1] === "") {
        lines.pop();
    }
    return lines;
}

interface Truncation {
    /** The file whose diff is cut, with the lines shown and its total lines. */
    cut?: { path: string; shown: number; total: number };
    /** The files whose diffs are left out entirely: the last ones in path order. */
    leftOut: FileChange[];
}

function truncationNote(truncation: Truncation): string {
    const reasons: string[] = [];
    if (truncation.cut !== undefined) {
        const { path: file, shown, total } = truncation.cut;
        reasons.push(`the diff of ${inlineCode(file)} is cut after ${shown} of ${total} lines`);
    }
    const left = truncation.leftOut;
    if (left.length > 0) {
        reasons.push(
            left.length === 1
                ? `the diff of ${inlineCode(left[0].path)} is left out`
                : `the diffs of ${left.length} files, from ${inlineCode(left[0].path)} on (in path order), are left out`,
        );
    }
    return (
        `> [!WARNING]\n` +
        `> Diffs truncated to stay under GitHub's ${thousands(GITHUB_COMMENT_LIMIT)}-character comment limit: ${reasons.join(", and ")}. ` +
        `Run \`npm run render\` on both commits and compare the trees to see every change.\n\n`
    );
}

/** The pull-request comment: marker, headline, changed files per stack, diffs, under `maxLength` characters. */
export function buildComment(comparison: TreeComparison, options: CommentOptions = {}): string {
    const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
    const { changes, stacks } = comparison;
    const title = `${MARKER}\n### ${headline(comparison)}\n\n`;
    const compared =
        options.baseLabel !== undefined || options.headLabel !== undefined
            ? `base ${inlineCode(options.baseLabel ?? "base")} and head ${inlineCode(options.headLabel ?? "head")}`
            : "the base and head of this pull request";
    const fleet = fleetSection(options.fleet, maxLength);
    if (changes.length === 0) {
        const rendered = stacks.length === 0 ? "no stacks" : `stacks ${stacks.map(stackLabel).join(", ")}`;
        return `${title}\`npm run render\` renders ${rendered} identically for ${compared}.\n${fleet === "" ? "" : `\n${fleet.replace(/\n+$/, "\n")}`}`;
    }

    const kinds: ChangeKind[] = ["added", "removed", "changed"];
    const tally = kinds
        .map((kind) => [kind, changes.filter((change) => change.kind === kind).length] as const)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(", ");
    const changedStacks = [...new Set(changes.map((change) => change.stack))].sort(compare);
    const unchanged = stacks.filter((stack) => !changedStacks.includes(stack));
    let header =
        title +
        `\`npm run render\` output for ${compared}: ${tally}.` +
        (unchanged.length > 0 ? ` Unchanged: ${unchanged.map(stackLabel).join(", ")}.` : "") +
        "\n\n" +
        fleet;

    // The list of changed files, itself bounded (to half the comment) for pathologically many files.
    const listBudget = Math.floor(maxLength / 2);
    let listed = 0;
    let list = "";
    outer: for (const stack of changedStacks) {
        const inStack = changes.filter((change) => change.stack === stack);
        const stackHeader = `**${stackLabel(stack)}**: ${plural(inStack.length, "file")}\n`;
        if (header.length + list.length + stackHeader.length > listBudget) {
            break;
        }
        list += stackHeader;
        for (const change of inStack) {
            const line = `- ${change.kind} ${inlineCode(change.path)}${counts(change)}\n`;
            if (header.length + list.length + line.length > listBudget) {
                break outer;
            }
            list += line;
            listed++;
        }
        list += "\n";
    }
    if (listed < changes.length) {
        list += `\n… and ${plural(changes.length - listed, "more file")} not listed.\n\n`;
    }
    header += list;

    // Diffs in path order while they fit, keeping room for the truncation note at its longest.
    const longestPath = changes.reduce((a, change) => (change.path.length > a.length ? change.path : a), "");
    const worstNote = truncationNote({ cut: { path: longestPath, shown: 1e9, total: 1e9 }, leftOut: changes.map((c) => ({ ...c, path: longestPath })) });
    let remaining = maxLength - header.length - worstNote.length;
    let diffs = "";
    const truncation: Truncation = { leftOut: [] };
    for (let i = 0; i < changes.length; i++) {
        const change = changes[i];
        const lines = patchLines(change.patch);
        const fence = fenceFor(change.patch);
        const whole = section(change, lines, fence);
        if (whole.length <= remaining) {
            diffs += whole;
            remaining -= whole.length;
            continue;
        }
        // Cut this diff at a line boundary, if its first hunk header and one line of it fit, and leave out the rest.
        const firstHunk = lines.findIndex((line) => line.startsWith("@@"));
        const minimum = firstHunk < 0 ? lines.length : firstHunk + 2;
        let shown = 0;
        let size = section(change, [], fence).length;
        while (shown < lines.length && size + lines[shown].length + 1 <= remaining) {
            size += lines[shown].length + 1;
            shown++;
        }
        if (shown >= minimum && shown < lines.length) {
            diffs += section(change, lines.slice(0, shown), fence);
            truncation.cut = { path: change.path, shown, total: lines.length };
            truncation.leftOut = changes.slice(i + 1);
        } else {
            truncation.leftOut = changes.slice(i);
        }
        break;
    }
    const truncated = truncation.cut !== undefined || truncation.leftOut.length > 0;
    return (header + (truncated ? truncationNote(truncation) : "") + diffs).replace(/\n+$/, "\n");
}

interface CliArgs {
    baseDir: string;
    headDir: string;
    out?: string;
    patch?: string;
    options: CommentOptions;
}

export function parseArgs(argv: string[]): CliArgs {
    const positional: string[] = [];
    const values: Record<string, string> = {};
    const known = ["--out", "--patch", "--base-label", "--head-label", "--max-length"];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg.startsWith("--")) {
            if (!known.includes(arg)) {
                throw new Error(`Unknown option ${arg} (options: ${known.join(", ")})`);
            }
            if (i + 1 >= argv.length) {
                throw new Error(`${arg} needs a value`);
            }
            values[arg] = argv[++i];
        } else {
            positional.push(arg);
        }
    }
    if (positional.length !== 2) {
        throw new Error(
            "Usage: ts-node tools/pr-diff/renderDiff.ts <baseDir> <headDir> --out comment.md [--patch full.diff] [--base-label <label>] [--head-label <label>] [--max-length <n>]",
        );
    }
    const options: CommentOptions = {};
    if (values["--max-length"] !== undefined) {
        const n = Number(values["--max-length"]);
        if (!Number.isInteger(n) || n < 1000 || n > GITHUB_COMMENT_LIMIT) {
            throw new Error(`--max-length must be an integer from 1000 to ${GITHUB_COMMENT_LIMIT}, got ${JSON.stringify(values["--max-length"])}`);
        }
        options.maxLength = n;
    }
    if (values["--base-label"] !== undefined) {
        options.baseLabel = values["--base-label"];
    }
    if (values["--head-label"] !== undefined) {
        options.headLabel = values["--head-label"];
    }
    return { baseDir: positional[0], headDir: positional[1], out: values["--out"], patch: values["--patch"], options };
}

/** What `--help` (or `-h`) prints, on stdout, with exit code 0. */
export const RENDER_DIFF_HELP = [
    "usage: ts-node tools/pr-diff/renderDiff.ts <baseDir> <headDir> [--out comment.md] [--patch full.diff]",
    "                                           [--base-label <label>] [--head-label <label>] [--max-length <n>]",
    "",
    "Compares two `npm run render` trees and writes the pull-request comment (on stdout without --out).",
    "",
    "  --out <file>          write the comment there; the headline then goes to stdout, else to stderr",
    "  --patch <file>        write every diff, untruncated",
    "  --base-label <label>  how the comment names the base (e.g. its commit)",
    "  --head-label <label>  how the comment names the head",
    `  --max-length <n>      the comment's length limit (1000 to ${GITHUB_COMMENT_LIMIT})`,
    "  -h, --help            print this help and exit",
].join("\n");

/** The CLI: writes the comment (and the full patch), returns the headline. */
export function main(argv: string[]): string {
    const args = parseArgs(argv);
    const comparison = compareTrees(args.baseDir, args.headDir);
    const fleetFile = path.join(args.headDir, FLEET_FILE);
    const fleet = fs.existsSync(fleetFile) ? fleetGraphOf(fs.readFileSync(fleetFile, "utf8")) : undefined;
    const comment = buildComment(comparison, { ...args.options, ...(fleet === undefined ? {} : { fleet }) });
    if (args.out !== undefined) {
        fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
        fs.writeFileSync(args.out, comment);
    } else {
        process.stdout.write(comment);
    }
    if (args.patch !== undefined) {
        fs.mkdirSync(path.dirname(path.resolve(args.patch)), { recursive: true });
        fs.writeFileSync(args.patch, fullPatch(comparison));
    }
    return headline(comparison);
}

if (require.main === module && wantsHelp(process.argv.slice(2))) {
    console.log(RENDER_DIFF_HELP);
} else if (require.main === module) {
    try {
        const line = main(process.argv.slice(2));
        // With no --out the comment went to stdout; the headline then goes to stderr.
        (process.argv.includes("--out") ? console.log : console.error)(line);
    } catch (error) {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
    }
}
