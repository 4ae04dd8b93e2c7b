// The README is the newcomer's page and docs/ the reference, one page per topic: every relative link between them (and
// to the project's files) resolves as GitHub resolves it, every page is one link away from the README, and the
// program's and tools' pointers into the docs name a page and a heading that exist.

import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT, brokenLinks, headingAnchors, headings, headingsWithLevels, isExternal, linkProblem, markdownLinks, markdownPages, readPage } from "./docs";

/** The pages under docs/, relative to the project. */
const docsPages = () => markdownPages().filter((p) => p.startsWith("docs/"));

/** The pages a page links to (relative links to Markdown files under docs/, without their anchors), resolved. */
function linkedPages(page: string): string[] {
    return markdownLinks(readPage(page))
        .filter((l) => !isExternal(l.target) && !l.target.startsWith("#"))
        .map((l) =>
            path
                .relative(ROOT, path.resolve(path.dirname(path.join(ROOT, page)), l.target.replace(/#.*$/, "")))
                .split(path.sep)
                .join("/"),
        )
        .filter((p) => p.startsWith("docs/") && p.endsWith(".md"));
}

describe("README and docs/", () => {
    describe("the link checker", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
            fs.mkdirSync(path.join(dir, "docs"));
            fs.mkdirSync(path.join(dir, "examples", "production"), { recursive: true });
            fs.writeFileSync(path.join(dir, "index.ts"), "");
            fs.writeFileSync(
                path.join(dir, "README.md"),
                [
                    "# Project",
                    "[ok](docs/a.md) [ok](docs/a.md#without-a-cluster-npm-run-render) [ok](#project) [ok](examples/production/)",
                    "[missing file](docs/b.md) [missing anchor](docs/a.md#nothing) [ok](https://example.com/x.md#y) [ok](index.ts)",
                    "`[in a code span](docs/nowhere.md)` and [anchor into code](index.ts#L1) and [a link",
                    "over two lines](docs/c.md)",
                    "```",
                    "[in a fence](docs/nowhere.md)",
                    "```",
                ].join("\n"),
            );
            fs.writeFileSync(
                path.join(dir, "docs", "a.md"),
                [
                    "# A",
                    "## Without a cluster: `npm run render`",
                    "## Clean-up",
                    "## Clean-up",
                    "[ok](#clean-up-1) [no third](#clean-up-2) [ok](../README.md#project) [ok](../examples/production) [out](../../x.md)",
                ].join("\n"),
            );
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("slugs headings as GitHub does: lowercase, punctuation dropped but - and _, spaces to -, repeats numbered", () => {
            const text = [
                "# Title",
                "## Without a cluster: `npm run render`",
                "## Istio canary upgrades (`istioRevisions`, `istioRevisionTags`)",
                "```",
                "# a comment, not a heading",
                "```",
                "## Clean-up",
                "## Clean-up",
                "## Clean-up 1",
                "## [Linked](x.md) snake_case & Über",
            ].join("\n");
            expect(headings(text)).to.have.length(7);
            expect(headingAnchors(text)).to.deep.equal([
                "title",
                "without-a-cluster-npm-run-render",
                "istio-canary-upgrades-istiorevisions-istiorevisiontags",
                "clean-up",
                "clean-up-1",
                "clean-up-1-1",
                "linked-snake_case--über",
            ]);
        });

        it("finds each broken file, anchor or escape, and nothing else (not in code, not external)", () => {
            expect(brokenLinks(dir, ["README.md", "docs/a.md"])).to.deep.equal([
                "README.md:3: docs/b.md: no file docs/b.md",
                "README.md:3: docs/a.md#nothing: docs/a.md has no heading with the anchor #nothing",
                "README.md:4: index.ts#L1: an anchor into something that is not a Markdown file",
                "README.md:4: docs/c.md: no file docs/c.md",
                "docs/a.md:5: #clean-up-2: docs/a.md has no heading with the anchor #clean-up-2",
                "docs/a.md:5: ../../x.md: leaves the repository",
            ]);
        });
    });

    describe("this project's pages", () => {
        it("has no broken relative link in README.md or docs/: every file exists and every anchor is a heading", () => {
            const pages = markdownPages();
            const relative = pages.flatMap((p) => markdownLinks(readPage(p)).filter((l) => !isExternal(l.target)));
            // Enough links to mean something: the README alone links every docs page.
            expect(relative.length).to.be.at.least(2 * docsPages().length);
            expect(brokenLinks(ROOT, pages)).to.deep.equal([]);
        });

        it("links every docs page from the README directly, and from the index docs/README.md", () => {
            const pages = docsPages().filter((p) => p !== "docs/README.md");
            expect(pages.length).to.be.at.least(13);
            const fromReadme = new Set(linkedPages("README.md"));
            expect(pages.filter((p) => !fromReadme.has(p))).to.deep.equal([]);
            expect(fromReadme.has("docs/README.md"), "the README links the index").to.equal(true);
            const fromIndex = new Set(linkedPages("docs/README.md"));
            expect(pages.filter((p) => !fromIndex.has(p))).to.deep.equal([]);
        });

        it("has a page for each topic of the reference", () => {
            expect(docsPages()).to.include.members(
                [
                    "configuration",
                    "federation",
                    "fleet",
                    "adoption",
                    "production-spire",
                    "upgrades",
                    "pull-requests",
                    "policy-pack",
                    "verify",
                    "observability",
                    "library",
                    "troubleshooting",
                    "clean-up",
                    "render",
                    "samples",
                    "performance",
                    "testing",
                    "runbook-checks",
                    "architecture",
                ].map((topic) => `docs/${topic}.md`),
            );
        });

        it("names each page lowercase-with-dashes and opens it with its one title", () => {
            for (const page of docsPages()) {
                expect(path.basename(page), page).to.match(/^([a-z0-9]+(-[a-z0-9]+)*|README)\.md$/);
                const text = readPage(page);
                expect(text.split("\n")[0], page).to.match(/^# \S/);
                expect(
                    headingsWithLevels(text).filter((h) => h.level === 1),
                    page,
                ).to.have.length(1);
            }
        });

        it("keeps the README the newcomer's page: at most 300 lines, a render of both stacks two commands from its first screen", () => {
            const readme = readPage("README.md");
            expect(readme.split("\n").length).to.be.at.most(300);
            const firstScreen = readme.split("\n").slice(0, 40).join("\n");
            const commands = /```bash\n([\s\S]*?)```/.exec(firstScreen);
            expect(commands, "a command block on the first screen").to.not.equal(null);
            const lines = commands![1].split("\n").map((l) => l.replace(/\s+#.*$/, ""));
            expect(lines.slice(0, 2)).to.deep.equal(["npm ci", "npm run render"]);
            expect(lines).to.include("npm test");
        });
    });

    describe("pointers into the docs from the program, the tools and the tests", () => {
        /** The project's own text files outside the docs: sources, stack files, workflows, scripts. */
        const sources = (): string[] => {
            const skip = /(^|\/)(node_modules|\.git|bin|dist|rendered|fixtures)(\/|$)|\.md$|package-lock\.json$/;
            const walk = (dir: string): string[] =>
                fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
                    const rel = dir ? `${dir}/${e.name}` : e.name;
                    if (skip.test(rel)) {
                        return [];
                    }
                    return e.isDirectory() ? walk(rel) : /\.(ts|ya?ml|json|mjs)$|^\.ci\/run$/.test(rel) ? [rel] : [];
                });
            // This file spells out pointers only to test them.
            return walk("").filter((f) => f !== "test/docs.test.ts");
        };

        it("names pages and headings that exist (docs/<page>.md#<anchor>)", () => {
            const pointers = sources().flatMap((file) =>
                [...fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/\bdocs\/[a-z0-9-]+\.md(#[\p{L}\p{N}_-]+)?/gu)].map((m) => ({
                    file,
                    target: m[0],
                })),
            );
            // The configuration, versions and upgrade messages point there, at least.
            expect(pointers.map((p) => p.target)).to.include.members([
                "docs/configuration.md",
                "docs/upgrades.md#supported-versions",
                "docs/upgrades.md#spire-chart-upgrades",
                "docs/verify.md",
                "docs/fleet.md",
            ]);
            // Resolved from the project's root, as the README's links are.
            const broken = pointers.flatMap(({ file, target }) => {
                const problem = linkProblem(ROOT, "README.md", target);
                return problem === undefined ? [] : [`${file}: ${problem}`];
            });
            expect(broken).to.deep.equal([]);
        });

        it('names only sections the README has when it points at the README (`README, "<section>"`)', () => {
            const sections = headings(readPage("README.md"));
            const pointers = sources().flatMap((file) =>
                // "its README" is another project's (pulumi/actions' in the workflows).
                [...fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(/(?<!its )\bREADME,? "([^"]+)"/g)].map((m) => ({ file, section: m[1] })),
            );
            expect(pointers.filter((p) => !sections.some((s) => s.startsWith(p.section))).map((p) => `${p.file}: README, "${p.section}"`)).to.deep.equal([]);
        });
    });
});
