// The only module of `npm run verify` that talks to a cluster: the Kubernetes API through @kubernetes/client-node,
// behind ClusterReader, so tests give the checks recorded API responses instead.

import * as k8s from "@kubernetes/client-node";
import { Writable } from "stream";
import {
    CertManagerIssuerObject,
    ClusterFederatedTrustDomainObject,
    ClusterSpiffeIdObject,
    PROXY_CONTAINER,
    PodObject,
    UsageError,
    WorkloadKind,
    WorkloadObject,
    CERT_MANAGER_GROUP,
    selectorString,
} from "./verifyChecks";

/** What the checks read from a cluster. Objects are returned as the API server sends them; a missing one is undefined. */
export interface ClusterReader {
    readWorkload(kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadObject | undefined>;
    /** Pods of a namespace, optionally only those with all of `labels`. */
    listPods(namespace: string, labels?: Record<string, string>): Promise<PodObject[]>;
    readClusterSpiffeId(name: string): Promise<ClusterSpiffeIdObject | undefined>;
    listClusterFederatedTrustDomains(): Promise<ClusterFederatedTrustDomainObject[]>;
    /**
     * The proxy's Envoy config dump: `pilot-agent request GET config_dump` run in the pod's istio-proxy container,
     * i.e. Envoy's admin API `/config_dump` on localhost:15000 (istioctl 1.30 reaches the same endpoint through a
     * port-forward; exec needs only `pods/exec`). Rejects with the reason when the command fails.
     */
    proxyConfigDump(namespace: string, pod: string): Promise<string>;
    /** The trust bundle a SPIRE server serves: stdout of BUNDLE_SHOW_COMMAND in its spire-server container. */
    spireServerBundle(namespace: string, pod: string): Promise<string>;
    /** stdout of HEALTHCHECK_COMMAND in the pod's spire-server container; rejects with its error output when it fails. */
    spireServerHealthcheck(namespace: string, pod: string): Promise<string>;
    /** A cert-manager.io Issuer (in `namespace`) or ClusterIssuer (namespace ignored). */
    readCertManagerIssuer(kind: "Issuer" | "ClusterIssuer", namespace: string, name: string): Promise<CertManagerIssuerObject | undefined>;
}

/** The command run in the proxy container. */
export const CONFIG_DUMP_COMMAND = ["pilot-agent", "request", "GET", "config_dump"];

/** The SPIRE server's container in the chart's server pods (charts/spire-server/templates/server-resource.yaml). */
export const SPIRE_SERVER_CONTAINER = "spire-server";
/**
 * The server CLI, by its path: the spire-server image is built FROM scratch with the binary in /opt/spire/bin and
 * sets no PATH (spiffe/spire v1.15.2 Dockerfile).
 */
export const SPIRE_SERVER_BINARY = "/opt/spire/bin/spire-server";
/**
 * The server API socket. The chart's server.conf sets no socket_path, so the server binds SPIRE's default, which is
 * also the CLI's `-socketPath` default (spiffe/spire cmd/spire-server/util/util.go DefaultSocketPath), on the volume
 * the chart mounts at /tmp/spire-server/private; the chart's controller manager config names the same path
 * (charts/spire-server/templates/controller-manager-configmap.yaml spireServerSocketPath). Passed explicitly anyway.
 */
export const SPIRE_SERVER_SOCKET = "/tmp/spire-server/private/api.sock";
/** Prints the bundle the server serves (the server API's GetBundle) as SPIFFE JSON (cmd/spire-server/cli/bundle/show.go). */
export const BUNDLE_SHOW_COMMAND = [SPIRE_SERVER_BINARY, "bundle", "show", "-socketPath", SPIRE_SERVER_SOCKET, "-format", "spiffe"];
/** Calls the server API's gRPC Health service, which reads the bundle from the datastore (cmd/spire-server/cli/healthcheck). */
export const HEALTHCHECK_COMMAND = [SPIRE_SERVER_BINARY, "healthcheck", "-socketPath", SPIRE_SERVER_SOCKET];

const CERT_MANAGER_VERSION = "v1";

const SPIRE_GROUP = "spire.spiffe.io";
const SPIRE_VERSION = "v1alpha1";
const EXEC_TIMEOUT_MS = 30_000;

/** Loads the kubeconfig (KUBECONFIG or ~/.kube/config, or `kubeconfigFile`) and selects `context`. */
export function loadKubeConfig(context: string, kubeconfigFile?: string): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    try {
        if (kubeconfigFile !== undefined) {
            kc.loadFromFile(kubeconfigFile);
        } else {
            kc.loadFromDefault();
        }
    } catch (error) {
        throw new UsageError(`Cannot load the kubeconfig: ${(error as Error).message}`);
    }
    if (kc.getContextObject(context) === null) {
        const known = kc
            .getContexts()
            .map((c) => c.name)
            .sort();
        throw new UsageError(
            `Kube context ${JSON.stringify(context)} is not in your kubeconfig (contexts: ${known.length > 0 ? known.join(", ") : "none"}); ` +
                "fix kubernetes:context in the stack file or pass --context <context>",
        );
    }
    kc.setCurrentContext(context);
    return kc;
}

/**
 * One line for a failed API call. client-node's ApiException message spans lines (code, message, body, headers); the
 * useful part is the HTTP code and the API server's Status message in the body, e.g. `HTTP 403: deployments.apps
 * "istiod" is forbidden: ...`.
 */
export function describeApiError(error: unknown): string {
    const { code, body } = (error ?? {}) as { code?: unknown; body?: unknown };
    if (typeof code !== "number") {
        return error instanceof Error ? error.message : String(error);
    }
    let status: unknown = body;
    if (typeof body === "string") {
        try {
            status = JSON.parse(body);
        } catch {
            status = { message: body };
        }
    }
    const message = (status as { message?: unknown } | null | undefined)?.message;
    return typeof message === "string" && message !== "" ? `HTTP ${code}: ${message}` : `HTTP ${code}`;
}

/** Runs an API call; a 404 gives undefined when `missingIsUndefined`, any other failure an Error of one line. */
async function call<T>(request: () => Promise<T>, missingIsUndefined: true): Promise<T | undefined>;
async function call<T>(request: () => Promise<T>, missingIsUndefined?: false): Promise<T>;
async function call<T>(request: () => Promise<T>, missingIsUndefined = false): Promise<T | undefined> {
    try {
        return await request();
    } catch (error) {
        if (missingIsUndefined && (error as { code?: unknown } | null)?.code === 404) {
            return undefined;
        }
        throw new Error(describeApiError(error));
    }
}

/** A ClusterReader for the cluster of a kubeconfig context. */
export function kubernetesCluster(kc: k8s.KubeConfig): ClusterReader {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const exec = new k8s.Exec(kc);

    /** Runs `command` in a container; resolves with its stdout, rejects with its stderr (or status) when it fails. */
    const run = (namespace: string, pod: string, container: string, command: string[], name: string) =>
        new Promise<string>((resolve, reject) => {
            const stdout: Buffer[] = [];
            const stderr: Buffer[] = [];
            const collect = (into: Buffer[]) =>
                new Writable({
                    write(chunk: Buffer, _encoding, done) {
                        into.push(Buffer.from(chunk));
                        done();
                    },
                });
            let socket: { close(): void } | undefined;
            const timer = setTimeout(() => {
                socket?.close();
                reject(new Error(`\`${name}\` did not finish within ${EXEC_TIMEOUT_MS / 1000} s`));
            }, EXEC_TIMEOUT_MS);
            exec.exec(namespace, pod, container, command, collect(stdout), collect(stderr), null, false, (status) => {
                clearTimeout(timer);
                if (status.status === "Success") {
                    resolve(Buffer.concat(stdout).toString("utf8"));
                } else {
                    const detail = Buffer.concat(stderr).toString("utf8").trim() || status.message || "no output";
                    reject(new Error(`\`${name}\` failed: ${detail}`));
                }
            }).then(
                (ws) => {
                    socket = ws;
                },
                (error: unknown) => {
                    clearTimeout(timer);
                    reject(error instanceof Error ? error : new Error(String(error)));
                },
            );
        });

    return {
        async readWorkload(kind, namespace, name) {
            const read = {
                StatefulSet: () => apps.readNamespacedStatefulSet({ name, namespace }),
                DaemonSet: () => apps.readNamespacedDaemonSet({ name, namespace }),
                Deployment: () => apps.readNamespacedDeployment({ name, namespace }),
            }[kind];
            return (await call<unknown>(read, true)) as WorkloadObject | undefined;
        },
        async listPods(namespace, labels) {
            const list = await call(() => core.listNamespacedPod({ namespace, ...(labels !== undefined ? { labelSelector: selectorString(labels) } : {}) }));
            return list.items as unknown as PodObject[];
        },
        async readClusterSpiffeId(name) {
            return (await call<unknown>(
                () => custom.getClusterCustomObject({ group: SPIRE_GROUP, version: SPIRE_VERSION, plural: "clusterspiffeids", name }),
                true,
            )) as ClusterSpiffeIdObject | undefined;
        },
        async listClusterFederatedTrustDomains() {
            const list = (await call(() =>
                custom.listClusterCustomObject({ group: SPIRE_GROUP, version: SPIRE_VERSION, plural: "clusterfederatedtrustdomains" }),
            )) as { items?: ClusterFederatedTrustDomainObject[] };
            return list.items ?? [];
        },
        proxyConfigDump(namespace, pod) {
            return run(namespace, pod, PROXY_CONTAINER, CONFIG_DUMP_COMMAND, CONFIG_DUMP_COMMAND.join(" "));
        },
        spireServerBundle(namespace, pod) {
            return run(namespace, pod, SPIRE_SERVER_CONTAINER, BUNDLE_SHOW_COMMAND, "spire-server bundle show");
        },
        spireServerHealthcheck(namespace, pod) {
            return run(namespace, pod, SPIRE_SERVER_CONTAINER, HEALTHCHECK_COMMAND, "spire-server healthcheck");
        },
        async readCertManagerIssuer(kind, namespace, name) {
            const request =
                kind === "ClusterIssuer"
                    ? () => custom.getClusterCustomObject({ group: CERT_MANAGER_GROUP, version: CERT_MANAGER_VERSION, plural: "clusterissuers", name })
                    : () => custom.getNamespacedCustomObject({ group: CERT_MANAGER_GROUP, version: CERT_MANAGER_VERSION, namespace, plural: "issuers", name });
            return (await call<unknown>(request, true)) as CertManagerIssuerObject | undefined;
        },
    };
}
