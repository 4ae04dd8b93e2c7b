// Renders the Helm releases a program run declares with the real pinned charts (`helm template`), so tests judge the
// program by what the charts make of its values, not by the values it sends.
//
// Renders run concurrently (helm.ts `helmTemplateAsync`, a few processes at a time) and are cached
// by everything that decides their output (chart, version, release name, namespace, values), so a test file that runs
// the program several times renders each distinct release once.

import * as os from "os";
import { canonical } from "../components/values";
import { Declared } from "../tools/mock-engine/harness";
import { Limiter, RenderedObject, ensureHelm, helmTemplateAsync } from "../tools/upstream/helm";
import { requireArtifact } from "../tools/upstream/artifacts";
import { chartDir } from "../tools/upstream/upstream";

export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/**
 * The Helm 3 binary a test renders with (tools/upstream/helm.ts ensureHelm), or the test is pending, saying why and
 * what it would have done (`what`: "render the charts with"); with CI=true a missing Helm fails (requireArtifact).
 */
export async function requireHelm(ctx: Mocha.Context, what = "render the charts with"): Promise<string> {
    const found = await ensureHelm();
    requireArtifact(ctx, found.found, () => `pending: no Helm 3 to ${what} (${found.found ? "" : found.reason})`);
    return (found as { binary: string }).binary;
}

/** The Helm releases of a run, in declaration order. */
export function releasesOf(declared: Declared[]): Declared[] {
    return declared.filter((d) => d.type === HELM_RELEASE);
}

/** A declared Helm release rendered with its own values. */
export interface ReleaseRender {
    release: Declared;
    /** Helm release name. */
    name: string;
    chart: string;
    version: string;
    namespace: string;
    objects: RenderedObject[];
}

/** Renders declared releases with the pinned chart sources; each distinct (chart, version, name, namespace, values) once. */
export class ChartRenderer {
    private readonly cache = new Map<string, Promise<RenderedObject[]>>();
    private readonly limiter: Limiter;
    /** How many `helm template` runs were started (distinct renders). */
    public renders = 0;

    constructor(
        private readonly helm: string,
        concurrency = Math.max(2, Math.min(4, os.cpus().length)),
    ) {
        this.limiter = new Limiter(concurrency);
    }

    /** The objects Helm renders for a declared Release: its chart and version, its name, namespace and values. */
    render(release: Declared): Promise<RenderedObject[]> {
        const { name, chart, version, namespace } = release.inputs as Record<string, unknown>;
        for (const [field, value] of Object.entries({ name, chart, version, namespace })) {
            if (typeof value !== "string" || value === "") {
                throw new Error(`Release ${release.name} has no known ${field} (${JSON.stringify(value)}); it cannot be rendered`);
            }
        }
        const values = release.inputs.values ?? {};
        const key = JSON.stringify(canonical({ name, chart, version, namespace, values }));
        let rendered = this.cache.get(key);
        if (rendered === undefined) {
            this.renders++;
            rendered = this.limiter.run(() =>
                helmTemplateAsync({
                    helm: this.helm,
                    chartDir: chartDir(chart as string, version as string),
                    release: name as string,
                    namespace: namespace as string,
                    values,
                }),
            );
            this.cache.set(key, rendered);
        }
        return rendered;
    }

    /** Every Release of a run, rendered (concurrently), in declaration order. */
    renderAll(declared: Declared[]): Promise<ReleaseRender[]> {
        return Promise.all(
            releasesOf(declared).map(async (release) => ({
                release,
                name: release.inputs.name,
                chart: release.inputs.chart,
                version: release.inputs.version,
                namespace: release.inputs.namespace,
                objects: await this.render(release),
            })),
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Looking at rendered objects

/** `kind namespace/name` (or `kind name` for cluster-scoped objects), for messages. */
export function describeObject(o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string {
    const ns = o.metadata?.namespace;
    return `${o.kind} ${ns ? `${ns}/` : ""}${o.metadata?.name}`;
}

/** The objects of a kind (and name, namespace when given). */
export function objectsOf(objects: RenderedObject[], kind: string, name?: string, namespace?: string): RenderedObject[] {
    return objects.filter(
        (o) => o.kind === kind && (name === undefined || o.metadata?.name === name) && (namespace === undefined || o.metadata?.namespace === namespace),
    );
}

/** The one rendered object of that kind and name (and namespace); fails naming what there is instead. */
export function theObject(objects: RenderedObject[], kind: string, name: string, namespace?: string): RenderedObject {
    const found = objectsOf(objects, kind, name, namespace);
    if (found.length !== 1) {
        const same = objectsOf(objects, kind).map(describeObject);
        throw new Error(
            `expected one ${kind} ${namespace ? `${namespace}/` : ""}${name} in the render, found ${found.length}; ${kind} objects rendered: ${same.join(", ") || "none"}`,
        );
    }
    return found[0];
}

/** Whether an object is a Helm hook (a test pod, a pre/post-install job): it exists only around install/test. */
export function isHelmHook(o: RenderedObject): boolean {
    return o.metadata?.annotations?.["helm.sh/hook"] !== undefined;
}

/** Whether every label of `selector` is on `labels` (a Service selector, a matchLabels). */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
    return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The pod template of a workload object (Deployment, StatefulSet, DaemonSet, Job), or the Pod itself. */
export function podTemplateOf(
    o: RenderedObject,
): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: any } | undefined {
    if (o.kind === "Pod") {
        return { metadata: o.metadata, spec: o.spec };
    }
    return o.spec?.template;
}

export interface PortForwardTarget {
    namespace: string;
    service: string;
    localPort: number;
    servicePort: number;
}

/** Parses `kubectl -n <ns> port-forward svc/<name> <local>:<remote>`; throws on anything else. */
export function parsePortForward(command: string): PortForwardTarget {
    const m = /^kubectl -n (\S+) port-forward svc\/(\S+) (\d+):(\d+)$/.exec(command);
    if (!m) {
        throw new Error(`not a kubectl port-forward to a Service: ${JSON.stringify(command)}`);
    }
    return { namespace: m[1], service: m[2], localPort: Number(m[3]), servicePort: Number(m[4]) };
}

/**
 * What `kubectl port-forward svc/...` reaches in a render: the Service, the port, the non-hook workload its selector
 * picks, and the container port its targetPort resolves to (kubectl forwards to a pod of the Service, at the
 * container port the Service port targets). Throws saying which step does not resolve.
 */
export function resolvePortForward(
    objects: RenderedObject[],
    target: PortForwardTarget,
): { service: RenderedObject; workload: RenderedObject; container: string; containerPort: number } {
    const service = theObject(objects, "Service", target.service, target.namespace);
    const port = (service.spec?.ports ?? []).find((p: { port: number }) => p.port === target.servicePort);
    if (port === undefined) {
        throw new Error(`${describeObject(service)} has no port ${target.servicePort}`);
    }
    const selector: Record<string, string> = service.spec?.selector ?? {};
    const workloads = objects.filter(
        (o) => !isHelmHook(o) && ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) && selects(selector, podTemplateOf(o)?.metadata?.labels),
    );
    if (workloads.length !== 1) {
        throw new Error(`${describeObject(service)} selects ${workloads.length} workloads (${workloads.map(describeObject).join(", ")}), expected one`);
    }
    const [workload] = workloads;
    const targetPort: number | string = port.targetPort ?? port.port;
    for (const container of podTemplateOf(workload)!.spec.containers ?? []) {
        for (const p of container.ports ?? []) {
            if (p.containerPort === targetPort || (typeof targetPort === "string" && p.name === targetPort)) {
                return { service, workload, container: container.name, containerPort: p.containerPort };
            }
        }
    }
    throw new Error(`${describeObject(service)} port ${target.servicePort} targets ${targetPort}, which no container of ${describeObject(workload)} exposes`);
}
