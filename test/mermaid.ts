// Mermaid's own parser, for the tests of the render's graphs (tools/render/graphs.ts): the `mermaid` package from the
// npm registry (a devDependency, pinned), not a parser of ours. What a test reads back is what GitHub would draw.
//
// `mermaid` is ESM-only (package.json "type": "module", exports only `import`); the tests are CommonJS (tsconfig
// "module": "commonjs"), where TypeScript and swc compile `import()` to `require()`. A function made at run time keeps
// Node's own `import()`. Mermaid's flowchart database sanitizes every label with DOMPurify (mermaid
// src/diagrams/common/common.ts sanitizeText), which needs a DOM window when it is created (dompurify's
// createDOMPurify(window) at module load): jsdom (also a pinned devDependency) gives it one, only while mermaid loads.
// 11.x is the last Mermaid line for Node 20 (12.x needs Node >= 22.12); jsdom 29 is the last for Node 20.19.

// jsdom ships no types (@types/jsdom is not needed for the one constructor used here).
const { JSDOM }: { JSDOM: new (html: string) => { window: any } } = require("jsdom");
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

/** A node as Mermaid's flowchart database holds it. */
export interface ParsedVertex {
    id: string;
    /** The label's lines (split at `<br>`), with Mermaid's entity codes decoded as GitHub shows them. */
    lines: string[];
    /** Mermaid's shape name: square, stadium, hexagon... */
    type: string;
    classes: string[];
}

export interface ParsedEdge {
    start: string;
    end: string;
    /** `normal` for `-->`, `dotted` for `-.->`. */
    stroke: string;
    text: string;
}

export interface ParsedFlowchart {
    diagramType: string;
    vertices: ParsedVertex[];
    edges: ParsedEdge[];
    subgraphs: { id: string; title: string; nodes: string[] }[];
    classes: Map<string, string[]>;
}

let loaded: Promise<{ mermaid: any; decode: (html: string) => string }> | undefined;

async function load(): Promise<{ mermaid: any; decode: (html: string) => string }> {
    const dom = new JSDOM("");
    const global = globalThis as { window?: unknown };
    global.window = dom.window;
    try {
        const mermaid = (await importModule("mermaid")).default;
        // HTML entities (`&quot;`, `&#35;`) decoded by the DOM, as a browser shows them.
        const decode = (html: string) => {
            const element = dom.window.document.createElement("textarea");
            element.innerHTML = html;
            return element.value;
        };
        return { mermaid, decode };
    } finally {
        // The rest of the worker's tests run without a global window.
        delete global.window;
    }
}

/**
 * Parses a Mermaid flowchart with Mermaid, and reads back its nodes, edges, subgraphs and classes. Throws Mermaid's
 * error for text it refuses, and when the text is not a flowchart.
 */
export async function parseFlowchart(text: string): Promise<ParsedFlowchart> {
    loaded ??= load();
    const { mermaid, decode } = await loaded;
    const { diagramType } = await mermaid.parse(text);
    if (diagramType !== "flowchart-v2") {
        throw new Error(`not a flowchart: ${diagramType}`);
    }
    const db = (await mermaid.mermaidAPI.getDiagramFromText(text)).db;
    // Mermaid replaces entity codes (`#quot;`) by markers before parsing and back when it draws (mermaid
    // src/mermaidAPI.ts encodeEntities, src/utils.ts decodeEntities: `ﬂ°°` is `&#`, `ﬂ°` is `&`, `¶ß` is `;`).
    const entities = (label: string) => label.replace(/ﬂ°°/g, "&#").replace(/ﬂ°/g, "&").replace(/¶ß/g, ";");
    const vertices: ParsedVertex[] = [...db.getVertices().values()].map((v: any) => ({
        id: v.id,
        lines: String(v.text)
            .split("<br>")
            .map((line) => decode(entities(line))),
        type: v.type,
        classes: [...v.classes],
    }));
    const edges: ParsedEdge[] = db.getEdges().map((e: any) => ({ start: e.start, end: e.end, stroke: e.stroke, text: decode(entities(e.text ?? "")) }));
    const subgraphs = db.getSubGraphs().map((s: any) => ({ id: s.id, title: decode(entities(s.title)), nodes: [...s.nodes] }));
    const classes = new Map<string, string[]>([...db.getClasses().entries()].map(([name, c]: [string, any]) => [name, [...c.styles]]));
    return { diagramType, vertices, edges, subgraphs, classes };
}

/** The source of every ```mermaid block of a Markdown text. */
export function mermaidBlocks(markdown: string): string[] {
    return [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}
