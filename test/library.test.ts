// The components as a library: `npm pack` builds a package another Pulumi TypeScript program can depend on, and the
// example program (examples/mesh-platform) runs from that package under the mock runtime, not from the source tree.
//
// `npm pack` runs the package's prepack, `npm run build`, which deletes dist/ and compiles components/ into it: run in
// the checkout, it would write into the working tree, under any other suite running there at the same time. So the
// package is packed from a private copy of its sources in a temporary directory (PACKAGE_SOURCES, node_modules linked),
// and a second pack, of a copy of the whole checkout, shows the tarball is the one `npm pack` in the root produces.
// That second pack takes the first one's dist/ (`--ignore-scripts`: no second build): the build's inputs (components/,
// the two tsconfigs, node_modules) are the same files in both copies, so what could differ is what npm takes from the
// tree (`files`, package.json, README, what a root file list adds), and that is what the comparison holds.
// The tarball is unpacked as the example's node_modules/istio-spire, as npm would install it, with the peer
// dependencies linked to this project's own node_modules (offline, and the one copy of @pulumi/pulumi the mock runtime
// is set on).

import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { createRequire } from "module";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { Declared, ProgramRun, runProgram } from "../tools/mock-engine/harness";

const ROOT = path.join(__dirname, "..");
const EXAMPLE = path.join(ROOT, "examples", "mesh-platform");
/** The example's files, as a user copies them (no node_modules). */
const EXAMPLE_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts"];
/** The peer dependencies, linked into the example from this project's node_modules. */
const PEERS = ["@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/random", "@pulumi/tls"];
const PROVIDER_TYPE = "pulumi:providers:kubernetes";

/** What `npm pack --json` reports of one package. */
interface PackReport {
    name: string;
    version: string;
    filename: string;
    integrity: string;
    files: { path: string; size: number }[];
}

/**
 * What `npm pack` reads: the package's files (package.json, README.md, dist/ from the build) and the build's inputs
 * (tsconfig.build.json extends tsconfig.json; it compiles components/). A file the package gains (a LICENSE, a new
 * entry of `files`) makes the tarballs differ in "is the tarball `npm pack` in the root produces" until it is listed.
 */
const PACKAGE_SOURCES = ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "components"];

/**
 * Copies `entries` of this project (all of it when undefined, but node_modules/ and .git/ at any depth) into `dir`,
 * with node_modules linked to this project's, as a checkout with its dependencies installed.
 */
function copyProject(dir: string, entries?: string[]): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const entry of entries ?? fs.readdirSync(ROOT).filter((e) => e !== "node_modules" && e !== ".git")) {
        fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), {
            recursive: true,
            filter: (source) => !["node_modules", ".git"].includes(path.basename(source)),
        });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
}

/**
 * `npm pack` in `dir` (its prepack builds dist/ there, unless `--ignore-scripts` is among `args`), the tarball written
 * into `destination`; npm's JSON report.
 */
async function npmPack(dir: string, destination: string, args: string[] = []): Promise<PackReport> {
    fs.mkdirSync(destination, { recursive: true });
    // The build's output (prepack) goes to stderr; stdout is the JSON report.
    const { code, stdout, stderr } = await runAsync(
        "npm",
        ["pack", "--json", "--pack-destination", destination, "--offline", "--no-audit", "--no-fund", "--loglevel=error", ...args],
        dir,
        {
            ...process.env,
            npm_config_update_notifier: "false",
        },
    );
    if (code !== 0) {
        throw new Error(`npm pack in ${dir} exited with ${code}:\n${stderr}`);
    }
    return (JSON.parse(stdout) as PackReport[])[0];
}

/** Every file under `dir` (relative, sorted) with its mode and content, to compare two unpacked tarballs. */
function treeContent(dir: string): { path: string; mode: number; content: string }[] {
    return (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[])
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort()
        .map((f) => ({ path: f, mode: fs.statSync(path.join(dir, f)).mode, content: fs.readFileSync(path.join(dir, f), "base64") }));
}

/** Every `components/**\/*.ts` file, relative to components/ and without the extension (`mesh/spire`). */
function componentModules(dir = path.join(ROOT, "components"), prefix = ""): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((entry) =>
            entry.isDirectory()
                ? componentModules(path.join(dir, entry.name), `${prefix}${entry.name}/`)
                : entry.name.endsWith(".ts")
                  ? [`${prefix}${entry.name.slice(0, -".ts".length)}`]
                  : [],
        )
        .sort();
}

/**
 * The program Pulumi's Node.js runtime runs for a project directory, as Pulumi decides it:
 * - the engine passes the entry point: Pulumi.yaml's `main` when it names a file (its base name, with the project
 *   directory as pwd), "." when there is none (pulumi/pulumi pkg/engine getPwdMain);
 * - for ".", @pulumi/pulumi cmd/run/run.ts takes package.json's `exports` (a string, or `exports["."]`: `default`,
 *   else `require`, else `import`), else its `main`, when that file exists; else the directory itself (index.js).
 */
function pulumiProgramPath(projectDir: string, project: { main?: string }, pkg: { main?: string; exports?: any }): string {
    if (project.main !== undefined) {
        return path.join(projectDir, project.main);
    }
    const exported = typeof pkg.exports === "string" ? pkg.exports : pkg.exports?.["."];
    const entry = typeof exported === "string" ? exported : exported ? exported.default || exported.require || exported.import : pkg.main;
    return entry !== undefined && fs.existsSync(path.join(projectDir, entry)) ? path.join(projectDir, entry) : projectDir;
}

/** Runs a command and resolves with its exit code and output (`output`: both streams as they came). */
function runAsync(
    command: string,
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; output: string; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child: ChildProcess = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let [output, stdout, stderr] = ["", "", ""];
        child.stdout!.on("data", (d) => ((output += d), (stdout += d)));
        child.stderr!.on("data", (d) => ((output += d), (stderr += d)));
        child.on("close", (code) => resolve({ code, output, stdout, stderr }));
    });
}

describe("the components as a library (npm pack, examples/mesh-platform)", function () {
    // One build of the components (tsc, some seconds) and one type check of the example against the packed types.
    this.timeout(180_000);

    let tmp: string;
    let report: PackReport;
    /** The pack of a copy of the whole checkout: what `npm pack` in the root produces. */
    let checkoutReport: PackReport;
    let packageDir: string;
    let exampleDir: string;
    let packed: {
        name: string;
        private?: boolean;
        main: string;
        types: string;
        exports: Record<string, any>;
        typesVersions: any;
        peerDependencies: Record<string, string>;
        dependencies?: Record<string, string>;
        files: string[];
    };

    before(async function () {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-library-"));
        // The package's sources alone, built and packed; then the whole checkout, with that build's dist/ (a dist/ the
        // checkout may hold from an earlier build of the user's is replaced).
        copyProject(path.join(tmp, "package-sources"), PACKAGE_SOURCES);
        copyProject(path.join(tmp, "checkout"));
        report = await npmPack(path.join(tmp, "package-sources"), tmp);
        fs.rmSync(path.join(tmp, "checkout", "dist"), { recursive: true, force: true });
        fs.cpSync(path.join(tmp, "package-sources", "dist"), path.join(tmp, "checkout", "dist"), { recursive: true });
        checkoutReport = await npmPack(path.join(tmp, "checkout"), path.join(tmp, "from-checkout"), ["--ignore-scripts"]);

        // The example as a user has it, with the tarball installed: node_modules/istio-spire is the unpacked package.
        exampleDir = path.join(tmp, "mesh-platform");
        fs.mkdirSync(path.join(exampleDir, "node_modules", "@pulumi"), { recursive: true });
        fs.mkdirSync(path.join(exampleDir, "node_modules", "@types"), { recursive: true });
        for (const file of EXAMPLE_FILES) {
            fs.copyFileSync(path.join(EXAMPLE, file), path.join(exampleDir, file));
        }
        packageDir = path.join(exampleDir, "node_modules", "istio-spire");
        // pacote is npm's own extractor (a `file:` spec: no registry); it strips the tarball's `package/` prefix.
        const pacote: { extract(spec: string, dest: string): Promise<unknown> } = require("pacote");
        await pacote.extract(`file:${path.join(tmp, report.filename)}`, packageDir);
        for (const peer of [...PEERS, "@types/node"]) {
            fs.symlinkSync(path.join(ROOT, "node_modules", peer), path.join(exampleDir, "node_modules", peer), "dir");
        }
        packed = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
    });

    after(() => {
        if (tmp !== undefined) {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    describe("the package", () => {
        it("holds the compiled components and their declarations, and nothing else but its package.json and README", () => {
            const expected = ["README.md", "package.json", ...componentModules().flatMap((m) => [`dist/${m}.d.ts`, `dist/${m}.js`])].sort();
            expect(report.files.map((f) => f.path).sort()).to.deep.equal(expected);
            // The stack program, the tools, the tests, the policy pack, the example and the sources stay out.
            const outside = report.files.map((f) => f.path).filter((p) => !/^dist\/.+\.(js|d\.ts)$/.test(p) && p !== "package.json" && p !== "README.md");
            expect(outside).to.deep.equal([]);
            expect(report.files.map((f) => f.path)).to.include.members([
                "dist/index.d.ts",
                "dist/mesh/spire.d.ts",
                "dist/samples/samples.d.ts",
                "dist/addons/observability.d.ts",
            ]);
        });

        it("is the tarball `npm pack` in the root produces, file for file and byte for byte, built and packed without writing into the checkout", async () => {
            expect(report.files.map((f) => [f.path, f.size])).to.deep.equal(checkoutReport.files.map((f) => [f.path, f.size]));
            const pacote: { extract(spec: string, dest: string): Promise<unknown> } = require("pacote");
            const fromCheckout = path.join(tmp, "from-checkout", "unpacked");
            await pacote.extract(`file:${path.join(tmp, "from-checkout", checkoutReport.filename)}`, fromCheckout);
            expect(treeContent(packageDir)).to.deep.equal(treeContent(fromCheckout));
            // npm writes every entry with the same fixed time, so equal content packs to equal bytes.
            expect([report.filename, report.integrity]).to.deep.equal([checkoutReport.filename, checkoutReport.integrity]);
            // The build wrote dist/ in the private copy.
            expect(fs.existsSync(path.join(tmp, "package-sources", "dist", "index.js"))).to.equal(true);
        });

        it("is named and versioned as this project, not private, with its entry points in the package", () => {
            const project = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            expect([report.name, report.version, report.filename]).to.deep.equal([project.name, project.version, `${project.name}-${project.version}.tgz`]);
            expect(packed.private).to.equal(undefined);
            expect([packed.main, packed.types, packed.files]).to.deep.equal(["dist/index.js", "dist/index.d.ts", ["dist/"]]);
            expect(packed.exports).to.deep.equal({
                ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
                "./mesh": { types: "./dist/mesh/index.d.ts", default: "./dist/mesh/index.js" },
                "./addons": { types: "./dist/addons/index.d.ts", default: "./dist/addons/index.js" },
                "./samples": { types: "./dist/samples/index.d.ts", default: "./dist/samples/index.js" },
                "./package.json": "./package.json",
            });
            // Every target of `exports`, `main`, `types` and `typesVersions` is a file of the package.
            const targets = [
                packed.main,
                packed.types,
                ...Object.values(packed.exports).flatMap((t) => (typeof t === "string" ? [t] : (Object.values(t) as string[]))),
                ...Object.values(packed.typesVersions["*"] as Record<string, string[]>).flat(),
            ];
            for (const target of targets) {
                expect(fs.existsSync(path.join(packageDir, target)), target).to.equal(true);
            }
        });

        it("takes @pulumi/pulumi, @pulumi/kubernetes, @pulumi/random and @pulumi/tls from the program that uses it (peer dependencies)", () => {
            expect(packed.peerDependencies).to.deep.equal({
                "@pulumi/kubernetes": "^4.34.2",
                "@pulumi/pulumi": "^3.248.0",
                "@pulumi/random": "^4.21.2",
                "@pulumi/tls": "^5.6.1",
            });
            // Not also as dependencies: npm would install a second @pulumi/pulumi for a program on another version, and
            // resources registered through two SDK copies are not one program.
            expect(packed.dependencies ?? {}).to.deep.equal({});
            // This project's own pins (devDependencies, for its npm ci) are inside the ranges it asks of others, and
            // the example pins the same versions.
            const project = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            const example = JSON.parse(fs.readFileSync(path.join(EXAMPLE, "package.json"), "utf8"));
            for (const peer of PEERS) {
                expect(`^${project.devDependencies[peer]}`, peer).to.equal(packed.peerDependencies[peer]);
                expect(example.dependencies[peer], peer).to.equal(project.devDependencies[peer]);
            }
            // The example depends on the tarball `npm pack` writes at the project root, by its name.
            expect(example.dependencies["istio-spire"]).to.equal(`file:../../${report.filename}`);
        });
    });

    describe("the stack program beside it", () => {
        it("is still index.ts for Pulumi: Pulumi.yaml names it, since package.json's main and exports are the library's", () => {
            const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
            const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
            // In the copy of the checkout, where `npm pack` built dist/ (as a user's `npm pack` in the root does).
            const checkout = path.join(tmp, "checkout");
            expect(pulumiProgramPath(checkout, project, pkg)).to.equal(path.join(checkout, "index.ts"));
            // Without `main:` Pulumi would run the library's entry point instead (as a program it declares nothing).
            expect(pulumiProgramPath(checkout, { ...project, main: undefined }, pkg)).to.equal(path.join(checkout, "dist", "index.js"));
        });
    });

    describe("examples/mesh-platform, run from the packed package under the mock runtime", () => {
        let run: ProgramRun<Record<string, unknown>>;
        let typeCheck: Promise<{ code: number | null; output: string }>;
        let exampleModule: NodeJS.Module;

        before(async () => {
            // The example type-checks against the package's declarations (its own tsconfig: Pulumi's template settings,
            // moduleResolution node, which reads `istio-spire/samples` through typesVersions), beside the run below.
            typeCheck = runAsync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", exampleDir], exampleDir);
            const entry = path.join(exampleDir, "index.ts");
            run = await runProgram(async () => require(entry), { kubeContext: "platform-admin" }, { project: "mesh-platform" }, "dev");
            exampleModule = require.cache[entry]!;
        });

        it("imports istio-spire from the unpacked tarball, not from the source tree", () => {
            const inPackage = (file: string) => file.startsWith(packageDir + path.sep);
            // Resolved as the example's own require does (from inside this project, `istio-spire` would resolve to this
            // project's dist/ by Node's package self-reference, whatever the search paths).
            const exampleRequire = createRequire(path.join(exampleDir, "index.ts"));
            expect(exampleRequire.resolve("istio-spire")).to.equal(path.join(packageDir, "dist", "index.js"));
            expect(exampleRequire.resolve("istio-spire/samples")).to.equal(path.join(packageDir, "dist", "samples", "index.js"));
            const loaded = exampleModule.children.map((m) => m.filename);
            expect(loaded.filter(inPackage).map((f) => path.relative(packageDir, f))).to.deep.equal(["dist/index.js", "dist/samples/index.js"]);
            expect(loaded.filter((f) => f.startsWith(path.join(ROOT, "components")))).to.deep.equal([]);
        });

        it("declares the mesh, the namespace and the sample, every Kubernetes resource through the example's own provider", () => {
            const providers = run.declared.filter((d) => d.type === PROVIDER_TYPE);
            expect(providers.map((p) => [p.name, p.inputs.context])).to.deep.equal([["platform-cluster", "platform-admin"]]);
            const ref = `${providers[0].urn}::platform-cluster-id`;
            const kubernetes = run.declared.filter((d) => d.type.startsWith("kubernetes:"));
            expect(kubernetes.filter((d) => d.provider !== ref).map((d) => d.name)).to.deep.equal([]);
            expect(kubernetes.map((d: Declared) => `${d.type} ${d.name}`).sort()).to.deep.equal([
                "kubernetes:apps/v1:Deployment curl-greeter-deployment",
                "kubernetes:core/v1:Namespace apps",
                "kubernetes:core/v1:Namespace istio-namespace",
                "kubernetes:core/v1:Namespace spire-namespace",
                "kubernetes:core/v1:Service istio-gateway-service",
                "kubernetes:core/v1:ServiceAccount curl-greeter-sa",
                "kubernetes:helm.sh/v3:Release istio-base",
                "kubernetes:helm.sh/v3:Release istio-gateway",
                "kubernetes:helm.sh/v3:Release istio-istiod",
                "kubernetes:helm.sh/v3:Release spire-crds",
                "kubernetes:helm.sh/v3:Release spire-release",
                "kubernetes:security.istio.io/v1:PeerAuthentication istio-mtls",
                "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID registration-gateway",
                "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID registration-workloads",
            ]);
        });

        it("places the sample in the namespace it was given as an Output, and names it by the trust domain Output", () => {
            const deployment = run.declared.find((d) => d.name === "curl-greeter-deployment")!;
            const serviceAccount = run.declared.find((d) => d.name === "curl-greeter-sa")!;
            expect([deployment.inputs.metadata.namespace, serviceAccount.inputs.metadata.namespace]).to.deep.equal(["apps", "apps"]);
            // The sample waits for the namespace it runs in.
            expect(deployment.dependsOn).to.include("apps");
            expect(run.outputs).to.deep.equal({
                spireNamespace: "spire-server",
                ingressGatewaySpiffeId: "spiffe://platform.example/ns/istio-system/sa/istio-ingressgateway-service-account",
                ingressGatewayAddress: "203.0.113.20",
                curlGreeterSpiffeId: "spiffe://platform.example/ns/apps/sa/curl-greeter",
            });
        });

        it("type-checks against the package's declarations", async () => {
            const { code, output } = await typeCheck;
            expect(output).to.equal("");
            expect(code).to.equal(0);
        });
    });
});
