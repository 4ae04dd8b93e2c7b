// Imports point one way (docs/architecture.md): tools/ and the stack program (index.ts) → components/ → its base.
// Inside components/: stack/ (the configuration contract) → addons/ and samples/ → mesh/ → the base (components/*.ts),
// only samples/ imports a sample, and no module imports another that imports it back, through a barrel or not.
//
// The imports are read with the TypeScript compiler's own scanner (ts.preProcessFile: import, import type,
// export ... from, import x = require, require(...) and import(...)) and resolved to files with its module
// resolution, as tsc resolves them.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");

/** Where a file stands. The areas are components/'s folders; anything else under components/ is a folder no rule knows. */
type Layer = "base" | "mesh" | "addons" | "samples" | "stack" | "entry" | "program" | "tools" | "policy" | "test" | "other";

/** The layers of components/, from the bottom up. */
const COMPONENT_LAYERS: readonly Layer[] = ["base", "mesh", "addons", "samples", "stack", "entry"];

/** What each layer may import (itself included where listed). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
    base: ["base"],
    mesh: ["mesh", "base"],
    addons: ["addons", "mesh", "base"],
    samples: ["samples", "mesh", "base"],
    stack: ["stack", "addons", "mesh", "base"],
    // components/index.ts, the package's main entry point: it re-exports every layer of components/.
    entry: ["stack", "samples", "addons", "mesh", "base"],
    // index.ts, the stack program.
    program: ["entry", "stack", "samples", "addons", "mesh", "base"],
    // The render and the bench run the stack program, and the render judges it with the policy pack.
    tools: ["tools", "program", "policy", ...COMPONENT_LAYERS],
    // The policy pack is a package of its own (policy/package.json), run by `pulumi preview --policy-pack policy`.
    policy: ["policy"],
    test: [],
    other: [],
};

/** The layer of a file, by its path from the project root (`/` separated). */
function layerOf(file: string): Layer {
    if (file === "index.ts") {
        return "program";
    }
    if (file === "components/index.ts") {
        return "entry";
    }
    const [top, second, ...rest] = file.split("/");
    if (top === "components") {
        if (rest.length === 0 && second !== undefined && second.endsWith(".ts")) {
            return "base";
        }
        return ["mesh", "addons", "samples", "stack"].includes(second) ? (second as Layer) : "other";
    }
    return ["tools", "policy", "test"].includes(top) ? (top as Layer) : "other";
}

/** The first rule an import from one layer into another breaks, or undefined when it keeps them all. */
function brokenRule(from: Layer, to: Layer): string | undefined {
    const inComponents = COMPONENT_LAYERS.includes(from);
    if (from === "other") {
        return "a file under components/ outside base, mesh/, addons/, samples/ and stack/ is in no layer; place it in one";
    }
    if (inComponents && ["tools", "test", "policy", "program"].includes(to)) {
        return "components/ never imports tools/, test/, policy/ or index.ts";
    }
    if (to === "samples" && inComponents && from !== "samples" && from !== "entry") {
        return "only samples/ imports a sample";
    }
    if (!ALLOWED[from].includes(to)) {
        return `${from} imports only ${ALLOWED[from].join(", ") || "nothing of the project"}`;
    }
    return undefined;
}

/** One import of one project file: the specifier as written and the file it resolves to (undefined: none). */
interface ProjectImport {
    from: string;
    specifier: string;
    to: string | undefined;
}

/**
 * The relative imports of `files` (path from the root → text), each resolved to a file with TypeScript's module
 * resolution over `fileExists`. Package imports (not starting with ".") are not the project's layers and are left out.
 */
function projectImports(files: Map<string, string>, fileExists: (absolute: string) => boolean): ProjectImport[] {
    const options: ts.CompilerOptions = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
    const host: ts.ModuleResolutionHost = { fileExists, readFile: (f) => files.get(path.relative(ROOT, f).split(path.sep).join("/")) };
    const imports: ProjectImport[] = [];
    for (const [from, text] of files) {
        for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
            if (!specifier.startsWith(".")) {
                continue;
            }
            const resolved = ts.resolveModuleName(specifier, path.join(ROOT, from), options, host).resolvedModule?.resolvedFileName;
            imports.push({ from, specifier, to: resolved === undefined ? undefined : path.relative(ROOT, resolved).split(path.sep).join("/") });
        }
    }
    return imports;
}

/** Every import that breaks a rule, as `from -> to (rule)`. */
function layerViolations(imports: ProjectImport[]): string[] {
    return imports.flatMap(({ from, specifier, to }) => {
        if (to === undefined) {
            return [`${from} -> ${specifier} (a relative import that names no file)`];
        }
        const rule = brokenRule(layerOf(from), layerOf(to));
        return rule === undefined ? [] : [`${from} -> ${to} (${rule})`];
    });
}

/**
 * The import cycles (Tarjan's strongly connected components of more than one file, or a file importing itself), each
 * as its files and the imports that tie them: `cycle a.ts, b.ts: a.ts -> b.ts, b.ts -> a.ts`.
 */
function importCycles(imports: ProjectImport[]): string[] {
    const edges = new Map<string, string[]>();
    for (const { from, to } of imports) {
        if (to !== undefined) {
            edges.set(from, [...new Set([...(edges.get(from) ?? []), to])].sort());
            edges.set(to, edges.get(to) ?? []);
        }
    }
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const components: string[][] = [];
    const visit = (file: string) => {
        index.set(file, index.size);
        low.set(file, index.get(file)!);
        stack.push(file);
        onStack.add(file);
        for (const next of edges.get(file)!) {
            if (!index.has(next)) {
                visit(next);
                low.set(file, Math.min(low.get(file)!, low.get(next)!));
            } else if (onStack.has(next)) {
                low.set(file, Math.min(low.get(file)!, index.get(next)!));
            }
        }
        if (low.get(file) === index.get(file)) {
            const component: string[] = [];
            let member: string;
            do {
                member = stack.pop()!;
                onStack.delete(member);
                component.push(member);
            } while (member !== file);
            components.push(component.sort());
        }
    };
    [...edges.keys()].sort().forEach((file) => index.has(file) || visit(file));
    return components
        .filter((c) => c.length > 1 || edges.get(c[0])!.includes(c[0]))
        .map((c) => {
            const ties = c.flatMap((a) =>
                edges
                    .get(a)!
                    .filter((b) => c.includes(b))
                    .map((b) => `${a} -> ${b}`),
            );
            return `cycle ${c.join(", ")}: ${ties.join(", ")}`;
        })
        .sort();
}

/** The project's TypeScript sources that the rules cover: components/, tools/, policy/ (not its node_modules), index.ts. */
function projectSources(): Map<string, string> {
    const walk = (dir: string): string[] =>
        fs
            .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
            .filter((entry) => entry.name !== "node_modules")
            .flatMap((entry) => (entry.isDirectory() ? walk(`${dir}/${entry.name}`) : entry.name.endsWith(".ts") ? [`${dir}/${entry.name}`] : []));
    const files = ["index.ts", ...walk("components"), ...walk("tools"), ...walk("policy")].sort();
    return new Map(files.map((file) => [file, fs.readFileSync(path.join(ROOT, file), "utf8")]));
}

describe("layers: imports point one way (docs/architecture.md)", () => {
    const imports = projectImports(projectSources(), ts.sys.fileExists);

    it("reads every kind of import: import, export ... from (barrels), require(...) and import(...)", () => {
        const has = (from: string, to: string) => imports.some((i) => i.from === from && i.to === to);
        expect(has("index.ts", "components/index.ts"), "import").to.equal(true);
        expect(has("components/index.ts", "components/mesh/index.ts"), "export * from a barrel").to.equal(true);
        expect(has("components/mesh/index.ts", "components/mesh/federation.ts"), "export * from").to.equal(true);
        expect(has("tools/render/render.ts", "index.ts"), "require").to.equal(true);
        expect(has("tools/fleet/fleet.ts", "tools/fleet/automation.ts"), "import()").to.equal(true);
        expect(imports.filter((i) => i.from.startsWith("components/")).length).to.be.greaterThan(60);
    });

    it("keeps every rule: base → nothing above it, each area → only the layers below it, only samples/ imports a sample, components/ → no tool, test, policy or program", () => {
        expect(layerViolations(imports), "from -> to (rule)").to.deep.equal([]);
    });

    it("has no import cycle, inside components/ or anywhere in the program, tools and policy pack", () => {
        expect(importCycles(imports)).to.deep.equal([]);
    });

    it("places each file in its layer: base is components/*.ts, the areas are components/'s folders, the barrel is the entry", () => {
        // A new folder of components/ is placed in the rules before it is used.
        expect([...projectSources().keys()].filter((file) => layerOf(file) === "other")).to.deep.equal([]);
        expect(
            [
                "components/validation.ts",
                "components/mesh/spire.ts",
                "components/mesh/index.ts",
                "components/stack/config.ts",
                "components/index.ts",
                "components/x/y.ts",
                "index.ts",
                "tools/fleet/fleet.ts",
                "test/x.test.ts",
                "examples/a.ts",
            ].map(layerOf),
        ).to.deep.equal(["base", "mesh", "mesh", "stack", "entry", "other", "program", "tools", "test", "other"]);
    });

    it("names each broken rule, and finds the cycles a barrel closes", () => {
        // A small tree of its own: every kind of wrong import once.
        const files = new Map<string, string>([
            ["components/validation.ts", 'import { checkHostname } from "./samples/federatedCall";'],
            ["components/samples/federatedCall.ts", 'import { isDeployTimePlaceholder } from "../mesh";\nexport const checkHostname = 1;'],
            ["components/mesh/index.ts", 'export * from "./federation";'],
            [
                "components/mesh/federation.ts",
                'import { SAMPLES_OUTPUT } from "../samples/peerSamples";\nimport { x } from ".";\nexport const isDeployTimePlaceholder = 1;',
            ],
            ["components/samples/peerSamples.ts", 'import type { Fleet } from "../../tools/fleet/fleet";'],
            ["components/addons/observability.ts", 'const samples = require("../samples/peerSamples");\nimport "./missing";'],
            ["tools/fleet/fleet.ts", 'import { fake } from "../../test/fakeFleetWorkspace";'],
            ["test/fakeFleetWorkspace.ts", ""],
        ]);
        const small = projectImports(files, (f) => files.has(path.relative(ROOT, f).split(path.sep).join("/")));
        expect(layerViolations(small)).to.deep.equal([
            "components/validation.ts -> components/samples/federatedCall.ts (only samples/ imports a sample)",
            "components/mesh/federation.ts -> components/samples/peerSamples.ts (only samples/ imports a sample)",
            "components/samples/peerSamples.ts -> tools/fleet/fleet.ts (components/ never imports tools/, test/, policy/ or index.ts)",
            "components/addons/observability.ts -> components/samples/peerSamples.ts (only samples/ imports a sample)",
            "components/addons/observability.ts -> ./missing (a relative import that names no file)",
            "tools/fleet/fleet.ts -> test/fakeFleetWorkspace.ts (tools imports only tools, program, policy, base, mesh, addons, samples, stack, entry)",
        ]);
        expect(importCycles(small)).to.deep.equal([
            "cycle components/mesh/federation.ts, components/mesh/index.ts: components/mesh/federation.ts -> components/mesh/index.ts, components/mesh/index.ts -> components/mesh/federation.ts",
        ]);
        expect(brokenRule("base", "mesh")).to.equal("base imports only base");
        expect(brokenRule("mesh", "addons")).to.equal("mesh imports only mesh, base");
        expect(brokenRule("samples", "addons")).to.equal("samples imports only samples, mesh, base");
        expect(brokenRule("stack", "entry")).to.equal("stack imports only stack, addons, mesh, base");
        expect(brokenRule("entry", "samples")).to.equal(undefined);
        expect(brokenRule("program", "tools")).to.equal("program imports only entry, stack, samples, addons, mesh, base");
        expect(brokenRule("policy", "base")).to.equal("policy imports only policy");
    });
});
