// The project's Markdown as the tests read it: README.md (the newcomer's page) and the reference under docs/, one page
// per topic. Claims the tests check are read from the page that now holds them; links between the pages are checked
// the way GitHub resolves them (test/docs.test.ts).

import * as fs from "fs";
import * as path from "path";

export const ROOT = path.join(__dirname, "..");

/** README.md and every Markdown file under docs/, as paths relative to `root` with `/` separators, sorted. */
export function markdownPages(root: string = ROOT): string[] {
    const docs = path.join(root, "docs");
    const pages = fs.existsSync(docs)
        ? fs
              .readdirSync(docs, { recursive: true, encoding: "utf8" })
              .filter((f) => f.endsWith(".md"))
              .map((f) => `docs/${f.split(path.sep).join("/")}`)
        : [];
    return ["README.md", ...pages.sort()];
}

/** The text of a page, by its path relative to the project (`README.md`, `docs/verify.md`). */
export function readPage(page: string, root: string = ROOT): string {
    return fs.readFileSync(path.join(root, page), "utf8");
}

/** Each line of a Markdown text, with whether it is inside a fenced code block (the fence lines count as inside). */
function linesWithFences(text: string): { line: string; fenced: boolean }[] {
    let fenced = false;
    return text.split("\n").map((line) => {
        if (/^\s*```/.test(line)) {
            fenced = !fenced;
            return { line, fenced: true };
        }
        return { line, fenced };
    });
}

/**
 * The text of a section: from its heading (`# <title>` to `#### <title>`) to the next heading of the same or a higher
 * level, fenced code excepted. A page's `# <title>` section is the whole page.
 */
export function section(text: string, title: string, page = "the page"): string {
    const lines = linesWithFences(text);
    const start = lines.findIndex((l) => !l.fenced && /^#{1,4} /.test(l.line) && l.line.replace(/^#+ /, "") === title);
    if (start < 0) {
        throw new Error(`${page} has no section "${title}"`);
    }
    const level = /^#+/.exec(lines[start].line)![0].length;
    const end = lines.findIndex((l, i) => i > start && !l.fenced && /^#+ /.test(l.line) && /^#+/.exec(l.line)![0].length <= level);
    return lines
        .slice(start + 1, end < 0 ? lines.length : end)
        .map((l) => l.line)
        .join("\n");
}

/** The headings of a Markdown text (ATX, outside fenced code) with their level: `## Clean-up` → 2, `Clean-up`. */
export function headingsWithLevels(text: string): { level: number; text: string }[] {
    return linesWithFences(text)
        .filter((l) => !l.fenced && /^#{1,6} /.test(l.line))
        .map((l) => ({ level: /^#+/.exec(l.line)![0].length, text: l.line.replace(/^#+ +/, "").replace(/ +#* *$/, "") }));
}

/** The headings of a Markdown text, as text: `## Clean-up` → `Clean-up`. */
export function headings(text: string): string[] {
    return headingsWithLevels(text).map((h) => h.text);
}

/**
 * The anchors GitHub gives a page's headings, in order. As github-slugger (Flet/github-slugger, index.js, which
 * GitHub's renderer follows): the heading's text (a link's text for a link, code without its backticks), lowercased;
 * every character but letters, marks, digits, `-`, `_` and the space removed; each space a `-`. A repeated anchor
 * gets `-1`, `-2`, ... (an anchor that is already taken, however it came about, is skipped over).
 */
export function headingAnchors(text: string): string[] {
    const taken = new Map<string, number>();
    return headings(text).map((heading) => {
        const plain = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1");
        const base = plain
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, "")
            .replace(/ /g, "-");
        let anchor = base;
        while (taken.has(anchor)) {
            const count = taken.get(base)! + 1;
            taken.set(base, count);
            anchor = `${base}-${count}`;
        }
        taken.set(anchor, 0);
        return anchor;
    });
}

/** An inline Markdown link or image: `[text](target)`, with its 1-based line. */
export interface MarkdownLink {
    text: string;
    target: string;
    line: number;
}

/** The inline links of a Markdown text, outside fenced code and code spans; a link's text may span lines. */
export function markdownLinks(text: string): MarkdownLink[] {
    // Fenced code and code spans are text, not Markdown: blanked out, same length, so that offsets stay.
    const prose = linesWithFences(text)
        .map(({ line, fenced }) => (fenced ? " ".repeat(line.length) : line.replace(/`[^`\n]*`/g, (span) => " ".repeat(span.length))))
        .join("\n");
    return [...prose.matchAll(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*([^()\s]+)(?:\s+"[^"]*")?\s*\)/g)].map((m) => {
        const textStart = m.index! + m[0].indexOf("[") + 1;
        return { text: text.slice(textStart, textStart + m[1].length), target: m[2], line: prose.slice(0, m.index!).split("\n").length };
    });
}

/** Whether a link target leaves the repository (`https:`, `mailto:`, ...). */
export function isExternal(target: string): boolean {
    return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

/**
 * What is wrong with a relative link of `page` (a path relative to `root`), or undefined: its file (relative to the
 * linking page) must exist inside the repository, and an anchor must be one of the target's heading anchors.
 */
export function linkProblem(root: string, page: string, target: string): string | undefined {
    const hash = target.indexOf("#");
    const file = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = file === "" ? path.join(root, page) : path.resolve(path.dirname(path.join(root, page)), decodeURIComponent(file));
    const relative = path.relative(root, resolved);
    if (relative.startsWith("..") || path.isAbsolute(relative) || file.startsWith("/")) {
        return `${target}: leaves the repository`;
    }
    if (!fs.existsSync(resolved)) {
        return `${target}: no file ${relative.split(path.sep).join("/")}`;
    }
    if (anchor === undefined) {
        return undefined;
    }
    if (!resolved.endsWith(".md") || fs.statSync(resolved).isDirectory()) {
        return `${target}: an anchor into something that is not a Markdown file`;
    }
    const anchors = headingAnchors(fs.readFileSync(resolved, "utf8"));
    return anchors.includes(anchor) ? undefined : `${target}: ${relative.split(path.sep).join("/")} has no heading with the anchor #${anchor}`;
}

/** Every broken relative link of the given pages, as `<page>:<line>: <problem>`. */
export function brokenLinks(root: string, pages: string[]): string[] {
    return pages.flatMap((page) =>
        markdownLinks(readPage(page, root))
            .filter((link) => !isExternal(link.target))
            .flatMap((link) => {
                const problem = linkProblem(root, page, link.target);
                return problem === undefined ? [] : [`${page}:${link.line}: ${problem}`];
            }),
    );
}
