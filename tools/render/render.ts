// `npm run render`: the plan of every stack, without a cluster, the Pulumi CLI or the network.
//
// Runs the real program (index.ts) for each `Pulumi.<stack>.yaml` under Pulumi's mock runtime, as `pulumi preview`
// would run it, and writes `rendered/<stack>/`: one YAML file per Kubernetes object, one per Helm release (repository,
// chart, version, namespace, full values), the IstioOperator, the stack outputs, and a summary, which also reports
// the policy pack (policy/) run on the stack; a violation fails the render as it fails a preview with the pack. The
// summary draws the stack's dependency chain, and `rendered/fleet.md` the fleet, as Mermaid graphs (graphs.ts). The
// console names each release whose chart objects could not be rendered (no chart, no Helm), why, and what fixes it.
//
// Federation is resolved between the rendered stacks as stack references resolve it after the three-step bootstrap:
// a first pass renders every stack alone (its peers created, with no outputs), a second feeds each stack its peers'
// outputs (`federation`, `samples`). Named stacks (`npm run render -- cluster2`) are rendered with their peers in the
// first pass, so they resolve the same way; only the named stacks are written. Values that only exist once a stack is
// deployed (the load balancer address, the live trust bundle) are written as `<deploy-time: ...>` placeholders, never
// as made-up data. A stack file Pulumi would not load fails that stack's render only, naming the file.

import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { KUBERNETES_CONTEXT_KEY, canonical, deployTimePlaceholder } from "../../components";
import { policies } from "../../policy/policies";
import { Declared, runProgram, secretConfig } from "../mock-engine/harness";
import { PolicyReport, checkRun } from "../mock-engine/policyHarness";
import { PROJECT, SecureValue, StackSource, loadStackSources, selectStacks } from "../stack-files/stackFiles";
import { ReleaseInputs, ReleaseObjects, ReleaseRenderer, helmReleaseRenderer, releaseObjectFiles, renderReleases } from "./releaseObjects";
import { FleetStack, dependencySection, fleetFile, fleetGraph } from "./graphs";
import { wantsHelp } from "../help";

/** The organization of every stack on Pulumi's local (self-managed) backend. */
export const LOCAL_BACKEND_ORGANIZATION = "organization";

/** One stack's render: what the program declared and returned, or the error it stopped with. */
export type StackRender =
    | {
          stack: string;
          ok: true;
          declared: Declared[];
          outputs: Record<string, unknown>;
          warnings: string[];
          peers: string[];
          /** The policy pack (policy/) run on the render, as `pulumi preview --policy-pack policy` would run it. */
          policy: PolicyReport;
      }
    | { stack: string; ok: false; error: string };

/** The stacks a stack's `peers` config names that are among the rendered ones, by fully qualified name. */
export function renderedPeers(source: StackSource, rendered: string[]): Map<string, string> {
    const peers = new Map<string, string>();
    const entries = Array.isArray(source.config.peers) ? source.config.peers : [];
    for (const entry of entries) {
        const name = (entry as { stack?: unknown } | null)?.stack;
        const parts = typeof name === "string" ? name.split("/") : [];
        // <organization>/<project>/<stack>: any organization, since an offline render has none.
        if (parts.length === 3 && parts[1] === PROJECT && rendered.includes(parts[2])) {
            peers.set(name as string, parts[2]);
        }
    }
    return peers;
}

/** Replaces every unknown (a value the deployment computes) with a placeholder naming where it came from. */
export function withPlaceholders(value: unknown, origin: string): unknown {
    if (pulumi.isUnknown(value)) {
        return deployTimePlaceholder(origin);
    }
    if (Array.isArray(value)) {
        return value.map((item, i) => withPlaceholders(item, `${origin}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlaceholders(v, `${origin}.${k}`)]));
    }
    return value;
}

/** What the render gives the program for a secret of a stack file, which it cannot decrypt. */
export const OFFLINE_SECRET_PLACEHOLDER = "offline-render-placeholder";

async function renderOne(program: () => Promise<unknown>, source: StackSource, stackOutputs: Record<string, Record<string, unknown>>): Promise<StackRender> {
    if (source.error !== undefined) {
        return { stack: source.stack, ok: false, error: source.error };
    }
    try {
        // The program sees every key, as under Pulumi, in the organization of the local backend that the README's
        // stack files name their peers with (`organization/istio-spire/<stack>`). A file without a kube context runs
        // without one (runProgram would otherwise give it a context named after the stack); a source built without
        // `otherConfig` (a test's) keeps that default.
        // A secret (`{secure: ...}` in the file) cannot be decrypted offline: the program gets a placeholder, as a secret.
        const projectConfig = Object.fromEntries(
            Object.entries(source.config).map(([key, value]) => [key, value instanceof SecureValue ? secretConfig(OFFLINE_SECRET_PLACEHOLDER) : value]),
        );
        const config = source.otherConfig === undefined ? projectConfig : { [KUBERNETES_CONTEXT_KEY]: undefined, ...projectConfig, ...source.otherConfig };
        const run = await runProgram(
            program as () => Promise<Record<string, unknown>>,
            config,
            { preview: true, stackOutputs, organization: LOCAL_BACKEND_ORGANIZATION },
            source.stack,
        );
        const policy = await checkRun(policies, run);
        return {
            stack: source.stack,
            ok: true,
            declared: run.declared,
            outputs: Object.fromEntries(Object.entries(run.outputs).map(([name, value]) => [name, withPlaceholders(value, `${source.stack} output ${name}`)])),
            warnings: run.warnings,
            peers: Object.keys(stackOutputs).sort(),
            policy,
        };
    } catch (error) {
        return { stack: source.stack, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
}

/**
 * Renders stacks twice: alone (the bootstrap's first runs, where every stack exists but no peer has exported
 * anything yet), then with the outputs of the peers rendered in the first pass (the bootstrap's converged state).
 * `created` are the stacks that exist (the procedure creates every stack of the project before the first `pulumi
 * up`; default: the given ones): a peer among them that is not given has no outputs; a peer not among them fails the
 * stack's render with the engine's "unknown stack" error, as its preview would.
 *
 * `only` (default: every given stack) names the stacks wanted: each is rendered with its peers among `sources`
 * rendered in the first pass, so its federation resolves exactly as in a render of every stack. The result holds the
 * wanted stacks' renders, in `only`'s order, then the failures of the peers rendered for them (a peer that fails has
 * no outputs, so the wanted stack shows it pending, and the render as a whole has failed).
 */
export async function renderStacks(
    program: () => Promise<unknown>,
    sources: StackSource[],
    created: string[] = sources.map((s) => s.stack),
    only: string[] = sources.map((s) => s.stack),
): Promise<StackRender[]> {
    const existing = [...new Set([...created, ...sources.map((s) => s.stack)])];
    const byName = new Map(sources.map((s) => [s.stack, s]));
    const wanted = only.map((stack) => {
        const source = byName.get(stack);
        if (source === undefined) {
            throw new Error(`No stack ${JSON.stringify(stack)} among the stacks to render (${sources.map((s) => s.stack).join(", ")})`);
        }
        return source;
    });
    /** The peers of a stack that exist, each with no outputs. */
    const createdPeers = (source: StackSource) => {
        const outputs: Record<string, Record<string, unknown>> = {};
        for (const name of renderedPeers(source, existing).keys()) {
            outputs[name] = {};
        }
        return outputs;
    };
    // The first pass: the wanted stacks and their peers that can be rendered, in source order.
    const firstPass = new Set(wanted.map((s) => s.stack));
    for (const source of wanted) {
        for (const peer of renderedPeers(source, [...byName.keys()]).values()) {
            firstPass.add(peer);
        }
    }
    const first = new Map<string, StackRender>();
    for (const source of sources.filter((s) => firstPass.has(s.stack))) {
        first.set(source.stack, await renderOne(program, source, createdPeers(source)));
    }
    // A stack reference sees every output of the peer stack: `federation`, and `samples` for the federated call.
    const outputsOf = new Map<string, Record<string, unknown>>();
    for (const r of first.values()) {
        if (r.ok) {
            outputsOf.set(r.stack, r.outputs);
        }
    }
    const results: StackRender[] = [];
    for (const source of wanted) {
        const alone = first.get(source.stack)!;
        if (!alone.ok) {
            results.push(alone);
            continue;
        }
        const stackOutputs = createdPeers(source);
        for (const [name, stack] of renderedPeers(source, [...outputsOf.keys()])) {
            stackOutputs[name] = outputsOf.get(stack)!;
        }
        results.push(await renderOne(program, source, stackOutputs));
    }
    for (const r of first.values()) {
        if (!r.ok && !only.includes(r.stack)) {
            results.push(r);
        }
    }
    return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Files

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

function yaml(value: unknown): string {
    return stringify(canonical(value), { lineWidth: 0 });
}

function json(value: unknown): string {
    return `${JSON.stringify(canonical(value), null, 2)}\n`;
}

/** Manifests the provider fetches and applies at deploy time (ConfigFile, ConfigGroup): their objects are not known here. */
function isManifest(d: Declared): boolean {
    return d.type.startsWith("kubernetes:yaml/");
}

/** Kubernetes objects the stack declares (not reads, not Helm releases, not manifests, not stack references). */
function kubernetesObjects(declared: Declared[]): Declared[] {
    return declared.filter((d) => d.type.startsWith("kubernetes:") && d.type !== HELM_RELEASE && !isManifest(d) && !d.read);
}

function isPatch(d: Declared): boolean {
    return d.type.endsWith("Patch");
}

/** `objects/<namespace>/<Kind>-<name>.yaml`; cluster-scoped objects go under `objects/_cluster/`. */
/** What the render writes in place of a secret input, as `pulumi preview` shows one. */
export const REDACTED_SECRET = "[secret]";

/** Inputs with every secret (Declared.secretPaths, `a.b`) replaced by REDACTED_SECRET: a render is shared in pull requests. */
export function redactSecrets(inputs: any, secretPaths: string[]): any {
    const copy = structuredClone(inputs);
    for (const at of secretPaths) {
        const keys = at.split(".");
        let node = copy;
        for (const key of keys.slice(0, -1)) {
            node = node?.[key];
        }
        if (node !== undefined && node !== null && keys[keys.length - 1] in node) {
            node[keys[keys.length - 1]] = REDACTED_SECRET;
        }
    }
    return copy;
}

export function objectFileName(d: Declared): string {
    const metadata = d.inputs.metadata ?? {};
    if (typeof metadata.name !== "string" || metadata.name === "") {
        // Auto-naming adds a random suffix at deploy time: a render could not name the file, nor a diff follow it.
        throw new Error(`${d.type} ${d.name} has no metadata.name; every object this program declares is named explicitly`);
    }
    const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "_cluster";
    return `objects/${namespace}/${d.inputs.kind}-${metadata.name}${isPatch(d) ? ".patch" : ""}.yaml`;
}

function header(d: Declared, names: Map<string, Declared>): string {
    const describe = (name: string) => {
        const dep = names.get(name);
        if (dep?.type === HELM_RELEASE) {
            return `Helm release ${dep.inputs.name} (${name})`;
        }
        return dep?.inputs?.kind && dep.inputs.metadata?.name ? `${dep.inputs.kind} ${dep.inputs.metadata.name} (${name})` : name;
    };
    const lines = [`# Pulumi resource ${d.name} (${d.type})${d.parent ? `, in component ${d.parent}` : ""}`];
    if (isPatch(d)) {
        lines.push("# A server-side apply patch: only the fields below are managed on an existing object.");
    }
    if (d.dependsOn.length > 0) {
        lines.push(`# Created after: ${d.dependsOn.map(describe).join(", ")}`);
    }
    if (d.ignoreChanges.length > 0) {
        lines.push(`# Changes ignored after creation: ${d.ignoreChanges.join(", ")}`);
    }
    return `${lines.join("\n")}\n`;
}

/** The file for one Helm release: where the chart comes from and the full values handed to it. */
function releaseFile(d: Declared, stack: string): string {
    const { name, namespace, chart, version, repositoryOpts, values, ...settings } = d.inputs;
    const release = {
        name,
        namespace,
        repository: repositoryOpts?.repo,
        chart,
        version,
        settings: canonical(settings),
        values: canonical(values ?? {}),
    };
    const body = stringify(withPlaceholders(release, `${stack} ${d.name}`), { lineWidth: 0 });
    return `# Pulumi resource ${d.name} (${d.type}), in component ${d.parent}\n${d.dependsOn.length ? `# Installed after: ${d.dependsOn.join(", ")}\n` : ""}${body}`;
}

/** What was rendered of each Helm release's chart, by release name (absent: the render was not asked for chart objects). */
export type ChartObjects = Map<string, ReleaseObjects>;

/** The inputs of the Helm releases a stack declares, as the chart renderer takes them, placeholders in place of unknowns. */
export function declaredReleases(r: Extract<StackRender, { ok: true }>): ReleaseInputs[] {
    return r.declared
        .filter((d) => d.type === HELM_RELEASE)
        .map(
            (d) =>
                withPlaceholders(
                    {
                        name: d.inputs.name,
                        namespace: d.inputs.namespace,
                        chart: d.inputs.chart,
                        version: d.inputs.version,
                        values: d.inputs.values ?? {},
                        ...(typeof d.inputs.repositoryOpts?.repo === "string" ? { repository: d.inputs.repositoryOpts.repo } : {}),
                    },
                    `${r.stack} ${d.name}`,
                ) as ReleaseInputs,
        );
}

/** The releases of a stack whose chart objects were not rendered, by release name, with why and what renders them. */
export function unrenderedReleases(r: Extract<StackRender, { ok: true }>, charts: ChartObjects): { release: string; reason: string; fix?: string }[] {
    return declaredReleases(r)
        .map((d) => d.name)
        .sort()
        .flatMap((release) => {
            const objects: ReleaseObjects = charts.get(release) ?? { rendered: false, reason: "no render" };
            return objects.rendered ? [] : [{ release, reason: objects.reason, ...(objects.fix === undefined ? {} : { fix: objects.fix }) }];
        });
}

/** Each distinct fix, in the order of the releases that need it. */
function distinctFixes(missing: { fix?: string }[]): string[] {
    return [...new Set(missing.flatMap((m) => (m.fix === undefined ? [] : [m.fix])))];
}

function chartObjectsSection(r: Extract<StackRender, { ok: true }>, charts: ChartObjects | undefined): string[] {
    const lines = ["", "## Chart objects (helm/<release>/)", ""];
    const releases = declaredReleases(r)
        .map((d) => d.name)
        .sort();
    if (charts === undefined) {
        return [...lines, "Not rendered: this render was made without Helm (only each release's values are written)."];
    }
    for (const name of releases) {
        const objects = charts.get(name);
        lines.push(
            objects?.rendered ? `- ${name}: ${objects.objects.length} objects, by ${objects.by}` : `- ${name}: not rendered: ${objects?.reason ?? "no render"}`,
        );
    }
    const fixes = distinctFixes(unrenderedReleases(r, charts));
    if (fixes.length > 0) {
        lines.push("", `To render them: ${fixes.join("; ")}; then \`npm run render\` again.`);
    }
    return lines;
}

function summaryFile(r: Extract<StackRender, { ok: true }>, files: string[], charts: ChartObjects | undefined): string {
    const byKind = new Map<string, number>();
    for (const d of r.declared) {
        const kind = d.read ? `${d.type} (read)` : d.type;
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    }
    const outputs = r.outputs as { trustDomain?: string; federatedWith?: string[]; pendingPeers?: string[] };
    const lines = [
        `# Stack ${r.stack}`,
        "",
        "Rendered offline by `npm run render`: the program ran under Pulumi's mock runtime as a preview, with no cluster.",
        "Values that exist only after `pulumi up` appear as `<deploy-time: ...>` placeholders.",
        "",
        `- Trust domain: ${outputs.trustDomain ?? "none"}`,
        `- Federated with: ${outputs.federatedWith?.length ? outputs.federatedWith.join(", ") : "none"}`,
        `- Peer stacks read: ${r.peers.length ? r.peers.join(", ") : "none"}`,
        `- Pending peers: ${outputs.pendingPeers?.length ? outputs.pendingPeers.join(", ") : "none"}`,
        "",
        ...dependencySection(r.declared),
        "",
        "## Resources by type",
        "",
        "| type | count |",
        "|---|---|",
        ...[...byKind.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `| \`${kind}\` | ${n} |`),
        "",
        "## Order (what waits for what)",
        "",
        ...[...r.declared]
            .filter((d) => d.dependsOn.length > 0)
            .sort((a, b) => a.name.localeCompare(b.name))
            .map(
                (d) =>
                    `- \`${d.name}\` after ${[...d.dependsOn]
                        .sort()
                        .map((n) => `\`${n}\``)
                        .join(", ")}`,
            ),
        "",
        "## Files",
        "",
        ...files.map((f) => `- ${f}`),
    ];
    lines.push(...chartObjectsSection(r, charts));
    lines.push("", "## Policy pack (policy/)", "");
    if (r.policy.violations.length === 0) {
        lines.push(`${policies.length} policies, no violations.`);
    } else {
        lines.push(...r.policy.violations.map((v) => `- ${v.policy}: ${v.message}`));
    }
    lines.push(...r.policy.advisories.map((v) => `- advisory: ${v.policy}: ${v.message}`));
    lines.push(...r.policy.notRunInPreview.map((n) => `- not run (value unknown in a preview): ${n}`));
    if (r.warnings.length > 0) {
        lines.push("", "## Warnings", "", ...r.warnings.map((w) => `- ${w}`));
    }
    return `${lines.join("\n")}\n`;
}

/** Every file of a stack's render, by path relative to `rendered/<stack>/`, in path order. */
export function renderFiles(r: Extract<StackRender, { ok: true }>, charts?: ChartObjects): Map<string, string> {
    const files = new Map<string, string>();
    const add = (file: string, content: string, what: string) => {
        if (files.has(file)) {
            throw new Error(`${r.stack}: two resources render to ${file} (the second is ${what})`);
        }
        files.set(file, content);
    };
    const names = new Map(r.declared.map((d) => [d.name, d]));
    for (const d of kubernetesObjects(r.declared)) {
        const object = withPlaceholders(redactSecrets(d.inputs, d.secretPaths), `${r.stack} ${d.name}`);
        add(objectFileName(d), header(d, names) + yaml(object), d.name);
    }
    for (const d of r.declared.filter(isManifest)) {
        const note = "# The provider fetches this manifest when it deploys and applies every object in it; they are not rendered offline.\n";
        add(`manifests/${d.name}.yaml`, header(d, names) + note + yaml(withPlaceholders(d.inputs, `${r.stack} ${d.name}`)), d.name);
    }
    for (const d of r.declared.filter((x) => x.type === HELM_RELEASE)) {
        add(`helm/${d.inputs.name}.yaml`, releaseFile(d, r.stack), d.name);
    }
    for (const release of declaredReleases(r)) {
        const objects = charts?.get(release.name);
        if (objects?.rendered) {
            for (const [file, content] of releaseObjectFiles(release, objects.objects)) {
                add(file, content, `an object of release ${release.name}`);
            }
        }
    }
    if (r.outputs.istioOperator !== undefined) {
        add(
            "istio-operator.yaml",
            `# The stack output istioOperator: the Istio installation, as istioctl reads it.\n${yaml(r.outputs.istioOperator)}`,
            "istioOperator",
        );
    }
    add("outputs.json", json(r.outputs), "outputs");
    const paths = [...files.keys(), "summary.md"].sort();
    add("summary.md", summaryFile(r, paths, charts), "summary");
    return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What the fleet graph (tools/render/graphs.ts) reads of each stack's render. */
export function fleetStacks(results: StackRender[]): FleetStack[] {
    return results.map((r) =>
        r.ok ? { stack: r.stack, ok: true, outputs: r.outputs, peers: r.peers, violations: r.policy.violations.length } : { stack: r.stack, ok: false },
    );
}

/** The file a render writes beside the stacks' directories: `fleet.md`, the fleet as this render resolved it. */
export const FLEET_FILE = "fleet.md";

/** Replaces `<outDir>/<stack>/` with the stack's files; a failed stack's directory is removed, never left stale. */
export function writeStack(outDir: string, r: StackRender, charts?: ChartObjects): number {
    const dir = path.join(outDir, r.stack);
    fs.rmSync(dir, { recursive: true, force: true });
    if (!r.ok) {
        return 0;
    }
    const files = renderFiles(r, charts);
    for (const [file, content] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
    }
    return files.size;
}

// ---------------------------------------------------------------------------------------------------------------
// Command line

export interface RenderArguments {
    outDir: string;
    stacks: string[];
    /** Render each Helm release's objects with Helm. @default true */
    charts: boolean;
}

/** Renders the chart objects of every release of every rendered stack, keyed by stack, then release name. */
export async function renderChartObjects(
    results: StackRender[],
    options?: { cache?: string },
    renderer = helmReleaseRenderer(options),
): Promise<Map<string, ChartObjects>> {
    const releases: [string, ReleaseInputs][] = results.flatMap((r) =>
        r.ok ? declaredReleases(r).map((d): [string, ReleaseInputs] => [`${r.stack}\n${d.name}`, d]) : [],
    );
    const rendered = await renderReleases(renderer, releases);
    const byStack = new Map<string, ChartObjects>();
    for (const [key, objects] of rendered) {
        const [stack, release] = key.split("\n");
        byStack.set(stack, (byStack.get(stack) ?? new Map()).set(release, objects));
    }
    return byStack;
}

/** What `npm run render -- --help` (or `-h`) prints, on stdout, with exit code 0. */
export const RENDER_HELP = [
    "usage: npm run render -- [--out <dir>] [--no-charts] [stack ...]",
    "",
    "Renders each stack's plan under Pulumi's mock runtime, without a cluster, the Pulumi CLI or the network",
    '(README, "Without a cluster"). Writes <dir>/<stack>/ for each stack (its summary.md draws its dependency chain)',
    "and <dir>/fleet.md, the fleet as a Mermaid graph.",
    "",
    "  stack ...      the stacks to write (default: every Pulumi.<stack>.yaml); their peers are rendered with them",
    "  --out <dir>    where to write (default: rendered/)",
    "  --no-charts    skip rendering the Helm charts' objects",
    "  -h, --help     print this help and exit",
    "",
    "Exit code: 0 every stack rendered without a policy violation, 1 otherwise.",
].join("\n");

export function parseArguments(argv: string[], projectDir: string): RenderArguments {
    const result: RenderArguments = { outDir: path.join(projectDir, "rendered"), stacks: [], charts: true };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--out") {
            const dir = argv[++i];
            if (dir === undefined || dir.startsWith("--")) {
                throw new Error("--out needs a directory");
            }
            result.outDir = path.resolve(dir);
        } else if (argv[i] === "--no-charts") {
            result.charts = false;
        } else if (argv[i].startsWith("--")) {
            throw new Error(`Unknown option ${argv[i]}; usage: npm run render -- [--out <dir>] [--no-charts] [stack ...]`);
        } else {
            result.stacks.push(argv[i]);
        }
    }
    return result;
}

/** A render fails when a stack's program failed or the policy pack found a violation in it. */
export function failedStacks(results: StackRender[]): string[] {
    return results.filter((r) => !r.ok || r.policy.violations.length > 0).map((r) => r.stack);
}

/** Where the command's lines go (console.log and console.error for `npm run render`). */
export interface RenderOutput {
    stdout: (line: string) => void;
    stderr: (line: string) => void;
}

/** The console lines under a stack's line naming the releases whose chart objects were not rendered, and why. */
export function unrenderedLines(r: Extract<StackRender, { ok: true }>, charts: ChartObjects): string[] {
    const missing = unrenderedReleases(r, charts);
    if (missing.length === 0) {
        return [];
    }
    const releases = declaredReleases(r).length;
    return [
        `  chart objects not rendered for ${missing.length} of ${releases} Helm release${releases === 1 ? "" : "s"}:`,
        ...missing.map((m) => `    ${m.release}: ${m.reason}`),
    ];
}

/** What `--no-charts` prints, once: the chart objects were skipped on purpose. */
export const NO_CHARTS_LINE = "Chart objects skipped (--no-charts): helm/<release>.yaml holds each release's values only.";

/** `npm run render -- <argv>` in a project directory: renders, writes, reports; returns the exit code. */
export async function renderCommandLine(
    projectDir: string,
    argv: string[],
    output: RenderOutput,
    /** What renders the charts (default: Helm and the pinned charts, tools/render/releaseObjects.ts). */
    options: { renderer?: ReleaseRenderer } = {},
): Promise<number> {
    if (wantsHelp(argv)) {
        output.stdout(RENDER_HELP);
        return 0;
    }
    const started = Date.now();
    const args = parseArguments(argv, projectDir);
    // Every stack file is read (a named stack's peers render with it, so its federation resolves as in a render of
    // every stack); every stack of the project exists (README: they are all created before the first `pulumi up`).
    const named = selectStacks(projectDir, args.stacks);
    const sources = loadStackSources(projectDir);
    const program: () => Promise<unknown> = require("../../index");
    const results = await renderStacks(
        program,
        sources,
        sources.map((s) => s.stack),
        named,
    );
    const charts = args.charts ? await renderChartObjects(results, undefined, options.renderer) : new Map<string, ChartObjects>();
    const fixes: string[] = [];
    for (const r of results) {
        // Only the named stacks are written; a peer rendered for them is written only when it failed (its old render,
        // no longer what its file says, is removed). Other stacks' renders are left as they are.
        const count = writeStack(args.outDir, r, args.charts ? (charts.get(r.stack) ?? new Map()) : undefined);
        const where = path.relative(projectDir, path.join(args.outDir, r.stack)) || ".";
        if (r.ok) {
            output.stdout(`${r.stack}: ${r.declared.length} resources, ${count} files in ${where}/`);
            for (const warning of r.warnings) {
                output.stdout(`  warning: ${warning}`);
            }
            // Mandatory violations fail the render as they fail `pulumi preview --policy-pack policy`.
            for (const v of r.policy.violations) {
                output.stderr(`${r.stack}: policy violation: ${v.policy}: ${v.message}`);
            }
            // Advisory ones are printed and do not fail it, as the engine prints them as warnings.
            for (const v of r.policy.advisories) {
                output.stdout(`  policy advisory: ${v.policy}: ${v.message}`);
            }
            // Without the pinned charts (or Helm), the render still succeeds; each release it could not render is named.
            if (args.charts) {
                const stackCharts = charts.get(r.stack) ?? new Map();
                unrenderedLines(r, stackCharts).forEach((line) => output.stdout(line));
                fixes.push(...distinctFixes(unrenderedReleases(r, stackCharts)));
            }
        } else {
            const peerOf = named.includes(r.stack) ? "" : ` (rendered as a peer of ${named.join(", ")})`;
            output.stderr(`${r.stack}: error${peerOf}: ${r.error}`);
        }
    }
    if (!args.charts) {
        output.stdout(NO_CHARTS_LINE);
    } else if (fixes.length > 0) {
        output.stdout(`To render the chart objects: ${[...new Set(fixes)].join("; ")}; then \`npm run render\` again (\`--no-charts\` skips them).`);
    }
    // The fleet as this render resolved it: every stack it wrote (and the failed peers of named stacks).
    const fleet = fleetStacks(results);
    fs.mkdirSync(args.outDir, { recursive: true });
    fs.writeFileSync(path.join(args.outDir, FLEET_FILE), fleetFile(fleet));
    const { nodes, edges: links } = fleetGraph(fleet);
    const pending = links.filter((e) => e.kind === "pending").length;
    const stacks = `${nodes.length} stack${nodes.length === 1 ? "" : "s"}`;
    output.stdout(
        `Fleet: ${stacks}, ${links.length - pending} federated and ${pending} pending peer links, in ${path.relative(projectDir, path.join(args.outDir, FLEET_FILE))}.`,
    );
    const rendered = results.filter((r) => r.ok).length;
    output.stdout(`Rendered ${rendered} of ${results.length} stacks in ${((Date.now() - started) / 1000).toFixed(1)} s (mock runtime; no cluster contacted).`);
    return failedStacks(results).length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
    // npm runs scripts in the project root; the stacks are that project's.
    return renderCommandLine(process.cwd(), process.argv.slice(2), { stdout: (line) => console.log(line), stderr: (line) => console.error(line) });
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        },
    );
}
