// SPIRE: the spire-crds and spire Helm charts (spiffe/helm-charts-hardened), configured to issue the identities
// Istio's sidecars and gateways fetch over Envoy SDS.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { adoptionAnnotations } from "../kubernetes";
import { Values, canonical, deepMerge } from "../values";
import { ValidationError, quote, throwIfProblems } from "../validation";
import {
    SPIRE_DATASTORE_PASSWORD_KEY,
    SPIRE_DATASTORE_PASSWORD_SECRET,
    SpireDataStore,
    dataStorePort,
    encodeDataStorePassword,
    spireDataStoreChartValues,
} from "./spireDataStore";
import { DEFAULT_GENERATED_ROOT_VALIDITY, SPIRE_UPSTREAM_CA_SECRET, SpireUpstreamAuthority, spireUpstreamAuthorityValues } from "./spireUpstream";

/** The official chart repository of the SPIRE Helm charts. */
export const SPIRE_CHART_REPOSITORY = "https://spiffe.github.io/helm-charts-hardened/";
/** The pinned spire chart (SPIRE server and agent, SPIFFE CSI driver, controller manager). */
export const SPIRE_CHART_VERSION = "0.30.0";
/** The pinned spire-crds chart (the controller manager's CRDs). */
export const SPIRE_CRDS_CHART_VERSION = "0.6.0";
/** Release name of the spire chart; chart object names (`spire-server`, `spire-agent`, ...) derive from it. */
export const SPIRE_RELEASE_NAME = "spire";
export const SPIRE_CRDS_RELEASE_NAME = "spire-crds";

/** Where Istio's proxies expect the SPIRE agent's Workload API / SDS socket (Istio's SPIRE integration docs). */
export const WORKLOAD_SOCKET_DIR = "/run/secrets/workload-spiffe-uds";
export const WORKLOAD_SOCKET_NAME = "socket";
export const WORKLOAD_SOCKET_PATH = `${WORKLOAD_SOCKET_DIR}/${WORKLOAD_SOCKET_NAME}`;
/** The SPIFFE CSI driver that shares the agent socket directory with pods. */
export const SPIFFE_CSI_DRIVER = "csi.spiffe.io";

/**
 * Names under which the agent socket appears in the CSI driver's mount (the chart's `socketAlternate.names`).
 * `socket` is the one Istio looks for; the others are kept for workloads that use the chart's default names.
 */
export const AGENT_SOCKET_ALTERNATE_NAMES = [WORKLOAD_SOCKET_NAME, "spire-agent.sock", "api.sock"];

/**
 * Envoy SDS resource names served by the SPIRE agent. Istio asks for `default` (its own SVID) and `ROOTCA` (the
 * trust bundle to validate peers). Serving every bundle, federated ones included, under `ROOTCA` and disabling the
 * single-bundle name lets proxies accept peers from federated trust domains (Istio's SPIRE federation docs).
 */
export const AGENT_SDS = {
    enabled: true,
    defaultSVIDName: "default",
    defaultBundleName: "null",
    defaultAllBundlesName: "ROOTCA",
};

/** ConfigMap (in the SPIRE server namespace) and key where the server publishes its trust bundle, SPIFFE format. */
export const BUNDLE_CONFIGMAP = "spire-bundle";

/** The SPIRE server CA certificate subject. */
export interface CaSubject {
    /** Two-letter country code. @default "US" */
    country: string;
    /** @default "SPIRE" */
    organization: string;
    /** @default the trust domain */
    commonName: string;
}

/** What this program decides about the spire chart; everything else keeps the chart's defaults. */
export interface SpireChartSettings {
    trustDomain: string;
    clusterName: string;
    caTTL: string;
    caSubject: CaSubject;
    controllerClassName: string;
    federationRefreshHint: string;
    /**
     * The bundle endpoint's https_web certificate: an existing kubernetes.io/tls Secret in the release namespace.
     * Undefined: the https_spiffe profile (the server's own SVID, the chart default).
     */
    bundleEndpointTlsSecret?: string;
    /** Number of SPIRE servers. @default 1 (the chart's default: no value sent) */
    replicas?: number;
    /** @default SQLite (the chart's default: no value sent) */
    dataStore?: SpireDataStore;
    /** @default none (no value sent) */
    upstreamAuthority?: SpireUpstreamAuthority;
    /** Serve SPIRE's Prometheus telemetry (SPIRE_TELEMETRY_VALUES). @default false (values unchanged) */
    telemetry?: boolean;
}

/** The labels of the chart's SPIRE server pods (charts/spire-server/templates/server-resource.yaml selector). */
export const SPIRE_SERVER_POD_LABELS = {
    "app.kubernetes.io/name": "server",
    "app.kubernetes.io/instance": SPIRE_RELEASE_NAME,
    "app.kubernetes.io/component": "server",
};

/**
 * How several SPIRE servers spread: at most one more on any node than on another (so a node drain or a node failure
 * takes one server when there are as many nodes as servers), and across zones where the cluster has them, as far as
 * the scheduler can. One server gets nothing: the chart's default, so a deployed stack sees no change.
 */
export function spireServerSpread(replicas: number): Values[] {
    if (replicas <= 1) {
        return [];
    }
    const labelSelector = { matchLabels: { ...SPIRE_SERVER_POD_LABELS } };
    return [
        { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector },
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector },
    ];
}

/** The spire-server values of the production identity plane; with the defaults (one server, SQLite, no upstream): {}. */
export function spireServerHaValues(settings: Pick<SpireChartSettings, "replicas" | "dataStore" | "upstreamAuthority">): Values {
    const replicas = settings.replicas ?? 1;
    return deepMerge(
        deepMerge(
            replicas > 1 ? { replicaCount: replicas, topologySpreadConstraints: spireServerSpread(replicas) } : {},
            // Decided like the rest: its lists (options, extraVolumes, extraVolumeMounts) replace passed-through ones.
            spireDataStoreChartValues(settings.dataStore ?? { type: "sqlite3" }, { name: SPIRE_DATASTORE_PASSWORD_SECRET, key: SPIRE_DATASTORE_PASSWORD_KEY }),
        ),
        spireUpstreamAuthorityValues(settings.upstreamAuthority ?? { type: "none" }),
    );
}

/**
 * What `telemetry` adds to the spire chart values: SPIRE's Prometheus telemetry on, server and agent. The chart then
 * renders a `telemetry { Prometheus { host = "0.0.0.0", port = 9988 } }` block into server.conf and agent.conf and a
 * container port `prom` (9988) on the spire-server and spire-agent containers (and `pm-cm`, 8082, on the controller
 * manager): charts/spire-server/templates/configmap.yaml, server-resource.yaml, _controller-manager-container.tpl,
 * charts/spire-agent/templates/configmap.yaml, daemonset.yaml. No scrape annotation, no PodMonitor.
 */
export const SPIRE_TELEMETRY_VALUES: Values = {
    "spire-server": { telemetry: { prometheus: { enabled: true } } },
    "spire-agent": { telemetry: { prometheus: { enabled: true } } },
};

/**
 * The spire-server chart's `federation.tls` for a bundle endpoint profile. The chart renders exactly one profile into
 * server.conf (charts/spire-server/templates/configmap.yaml: `https_spiffe` when `tls.spire.enabled`, otherwise
 * `https_web` with `serving_cert_file` /bundle-endpoint-tls/tls.crt and tls.key) and mounts the Secret there
 * (templates/server-resource.yaml, volume `bundle-endpoint-tls`); it fails unless exactly one TLS source is enabled.
 */
export function federationTlsValues(bundleEndpointTlsSecret?: string): Values {
    return bundleEndpointTlsSecret === undefined
        ? { spire: { enabled: true } }
        : { spire: { enabled: false }, externalSecret: { enabled: true, secretName: bundleEndpointTlsSecret } };
}

/**
 * The values handed to the spire chart. Pure, so tests and the conformance check read exactly what is deployed.
 * `passThrough` values are merged underneath: they can set anything this program does not decide.
 */
export function spireChartValues(settings: SpireChartSettings, passThrough: Values = {}): Values {
    const decided: Values = {
        global: {
            spire: {
                trustDomain: settings.trustDomain,
                clusterName: settings.clusterName,
                caSubject: { ...settings.caSubject },
            },
        },
        "spire-server": {
            ...spireServerHaValues(settings),
            caTTL: settings.caTTL,
            controllerManager: {
                enabled: true,
                // Our custom resources carry this class; unclassed objects (from anyone else) are left alone.
                className: settings.controllerClassName,
                watchClassless: false,
                identities: {
                    clusterSPIFFEIDs: {
                        // This program declares its own ClusterSPIFFEIDs (WorkloadRegistration); the chart's
                        // catch-all default would register every pod in the cluster.
                        default: { enabled: false },
                        "oidc-discovery-provider": { enabled: false },
                    },
                },
            },
            federation: {
                enabled: true,
                bundleEndpoint: { refreshHint: settings.federationRefreshHint },
                ...(settings.bundleEndpointTlsSecret !== undefined ? { tls: federationTlsValues(settings.bundleEndpointTlsSecret) } : {}),
            },
        },
        "spire-agent": {
            sds: { ...AGENT_SDS },
            socketAlternate: { names: [...AGENT_SOCKET_ALTERNATE_NAMES] },
        },
        "spiffe-csi-driver": { enabled: true },
        "spiffe-oidc-discovery-provider": { enabled: false },
    };
    return canonical(deepMerge(passThrough, settings.telemetry === true ? deepMerge(decided, SPIRE_TELEMETRY_VALUES) : decided));
}

/** The controller class name this program uses for its SPIRE custom resources. */
export function controllerClassNameFor(namespace: string): string {
    // The chart's own default is "<release namespace>-<release name>"; we name it the same way, explicitly.
    return `${namespace}-${SPIRE_RELEASE_NAME}`;
}

/**
 * The ids under which the engine imports an existing SPIRE installation (SpireArgs.adopt): a Namespace's id is its
 * name (cluster-scoped), a Helm release's is `<namespace>/<name>` (pulumi-kubernetes
 * provider/pkg/provider/helm_release.go Read: an import, with no old state, splits the id with parseFqName into
 * namespace and release name and looks the release up there; the id it answers is fqName(namespace, name)).
 */
export function spireImportIds(namespace: string): { namespace: string; crdsRelease: string; release: string } {
    return {
        namespace,
        crdsRelease: `${namespace}/${SPIRE_CRDS_RELEASE_NAME}`,
        release: `${namespace}/${SPIRE_RELEASE_NAME}`,
    };
}

/** What of an existing SPIRE installation to take over instead of creating it (Pulumi's `import` option). */
export interface SpireAdoption {
    /** Import the existing namespace (id: its name), applied with force (adoptionAnnotations). @default false */
    namespace?: boolean;
    /**
     * Import the existing `spire-crds` and `spire` Helm releases of the namespace (ids `<namespace>/spire-crds`,
     * `<namespace>/spire`). The engine reads each, then diffs it against this program: chart version and values
     * differences are an update (a `helm upgrade`, the CA and datastore kept); only another release name or
     * namespace would replace a release (helm_release.go Diff: forceNewFields `.name`, `.namespace`), and both are
     * the import id's. @default false
     */
    releases?: boolean;
}

export interface SpireArgs {
    /** SPIFFE trust domain. */
    trustDomain: string;
    /** Cluster name for k8s_psat node attestation. */
    clusterName: string;
    /** Namespace of every SPIRE component (created). @default "spire-server" */
    namespace?: string;
    /** Chart repository. @default SPIRE_CHART_REPOSITORY */
    repository?: string;
    /** Exact version of the spire chart. @default "0.30.0" (SPIRE 1.15.2, its server and agent images) */
    chartVersion?: string;
    /** Exact version of the spire-crds chart. @default "0.6.0" */
    crdsChartVersion?: string;
    /** SPIRE server CA TTL. @default "720h" */
    caTTL?: string;
    /** CA subject. @default { country: "US", organization: "SPIRE", commonName: trustDomain } */
    caSubject?: Partial<CaSubject>;
    /** Bundle endpoint refresh hint for federated servers. @default "5m" */
    federationRefreshHint?: string;
    /**
     * Serve the bundle endpoint with the https_web profile, with the certificate of this existing kubernetes.io/tls
     * Secret in `namespace`. @default undefined: https_spiffe (the server's own SVID)
     */
    bundleEndpointTlsSecret?: string;
    /** Serve SPIRE's Prometheus telemetry, for the Observability component to scrape. @default false */
    telemetry?: boolean;
    /** Extra spire chart values, merged under the ones this component sets. @default {} */
    values?: Values;
    /** Helm wait timeout in seconds. @default 600 */
    timeoutSeconds?: number;
    /**
     * Protect the SPIRE namespace and the spire release (`protect`): the engine refuses to delete or replace them, so
     * neither a `pulumi destroy` nor a change that would recreate them takes the CA keys and datastore by accident.
     * Set false (and `pulumi up`) first to remove or move SPIRE on purpose. @default true
     */
    protect?: boolean;
    /** Take over an existing installation (runbook seed 003) instead of creating it. @default nothing adopted */
    adopt?: SpireAdoption;
    /**
     * Number of SPIRE servers, spread across nodes, with a PodDisruptionBudget that lets one go at a time. More than
     * one needs an SQL `dataStore`. @default 1
     */
    replicas?: number;
    /** Where SPIRE keeps its data. @default SQLite on the server's volume */
    dataStore?: SpireDataStore;
    /** The SQL datastore's password (a secret): it reaches SPIRE only through the Secret `spire-datastore-password`. */
    dataStorePassword?: pulumi.Input<string>;
    /** Where the trust domain's root comes from. @default none: the server's own self-signed CA */
    upstreamAuthority?: SpireUpstreamAuthority;
    /** With upstreamAuthority "disk": the root CA's certificate and private key, PEM (secrets). */
    upstreamCertificate?: pulumi.Input<string>;
    upstreamKey?: pulumi.Input<string>;
}

/** What the `spireServer` stack output records of the identity plane (no secret: the root certificate is public). */
export interface SpireServerRecord {
    replicas: number;
    dataStore: { type: "sqlite3" } | { type: "postgres" | "mysql"; host: string; port: number; database: string; user: string; tlsMode?: string };
    upstreamAuthority:
        | { type: "none" }
        | { type: "generated" | "disk"; rootCertificate: string }
        | { type: "certManager"; issuerName: string; issuerKind: string; issuerGroup: string };
}

/**
 * Checks the combinations of spire chart values, the program's and a library user's passed-through ones, that the
 * chart refuses (a failed `helm upgrade` half-way through a deployment) or silently ignores, so that they are refused
 * first, with the key named. Each is what the pinned chart does (charts/spire-server/templates/server-resource.yaml,
 * checked on real renders in test/spireProduction.test.ts):
 * - `kind: deployment` fails with SQLite, with `keyManager.disk` (on by default) and with a persistent volume
 *   (`persistence.type` pvc, the default, or hostPath); this program runs the server as a StatefulSet, whose
 *   per-server volume keeps each server's CA keys;
 * - `deploymentType`, which the chart's own examples/stateless-server sets, is no key of the chart: it is ignored and
 *   the server stays a StatefulSet;
 * - more than one replica with SQLite fails ("you can't scale up to more then one instance");
 * - more than one replica with the controller manager's static manifest mode: the chart writes no leader election
 *   then (templates/controller-manager-configmap.yaml: `leaderElection` only when staticManifestMode is "off"), so
 *   every server's controller manager would reconcile at once.
 */
export function spireValuesProblems(values: Values): string[] {
    // The chart's values as they may be passed through: any shape, read defensively.
    const at = (...path: string[]): unknown =>
        path.reduce<unknown>(
            (node, key) => (typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined),
            values["spire-server"],
        );
    const problems: string[] = [];
    const databaseType = at("dataStore", "sql", "databaseType") ?? "sqlite3";
    const replicas = Number(at("replicaCount") ?? 1);
    const kind = at("kind");
    if (at("deploymentType") !== undefined) {
        problems.push(
            `values["spire-server"].deploymentType: ${quote(at("deploymentType"))} is no setting of the spire chart, which would ignore it; the key is "kind"`,
        );
    }
    if (kind !== undefined && kind !== "statefulset") {
        const reasons = [
            databaseType === "sqlite3" ? "SQLite (the chart refuses it)" : undefined,
            at("keyManager", "disk", "enabled") !== false ? "keyManager.disk, on by default (the chart refuses it)" : undefined,
            ["pvc", "hostPath", undefined].includes(at("persistence", "type") as string | undefined)
                ? "a persistent volume, persistence.type pvc by default (the chart refuses it)"
                : undefined,
        ].filter((r) => r !== undefined);
        problems.push(
            `values["spire-server"].kind: ${quote(kind)} is not supported: this program runs the SPIRE server as a StatefulSet, whose volume keeps each server's CA keys` +
                (reasons.length > 0 ? `; the chart would also fail on ${reasons.join(", ")}` : ""),
        );
    }
    if (replicas > 1 && databaseType === "sqlite3") {
        problems.push(`values["spire-server"].replicaCount: ${replicas} needs an SQL datastore; the chart refuses more than one server on SQLite`);
    }
    const staticMode = at("controllerManager", "staticManifestMode") ?? "off";
    if (replicas > 1 && staticMode !== "off") {
        problems.push(
            `values["spire-server"].controllerManager.staticManifestMode: ${quote(staticMode)} turns the controller manager's leader election off, which ${replicas} servers need`,
        );
    }
    return problems;
}

/**
 * SPIRE server, agents, SPIFFE CSI driver and controller manager, from the pinned spire-crds and spire charts.
 * The spire release is awaited: once it is ready the controller manager's webhook serves and the agent socket
 * exists on every node.
 */
export class Spire extends pulumi.ComponentResource {
    /** Namespace of the SPIRE server, agents and controller manager. */
    public readonly namespace: pulumi.Output<string>;
    /** `metadata.uid` of that namespace: Kubernetes gives every object it creates a new one. */
    public readonly namespaceUid: pulumi.Output<string>;
    public readonly trustDomain: pulumi.Output<string>;
    /** The `className` custom resources must carry for this SPIRE's controller manager to act on them. */
    public readonly controllerClassName: pulumi.Output<string>;
    /** The socket path proxies use inside their pods. */
    public readonly workloadSocketPath: pulumi.Output<string>;
    public readonly crdsRelease: k8s.helm.v3.Release;
    public readonly release: k8s.helm.v3.Release;
    /** The exact values handed to the spire chart. */
    public readonly chartValues: Values;
    /** The Secret holding the SQL datastore's password (SQL datastores only). */
    public readonly dataStorePasswordSecret?: k8s.core.v1.Secret;
    /** The Secret holding the upstream CA for SPIRE's disk upstream authority (generated and disk only). */
    public readonly upstreamCaSecret?: k8s.core.v1.Secret;
    /** Lets one SPIRE server go at a time (more than one server only). */
    public readonly serverDisruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
    /** The `spireServer` stack output: servers, datastore (no password), upstream authority (public root). */
    public readonly serverRecord: pulumi.Output<SpireServerRecord>;

    constructor(name: string, args: SpireArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:spire:Spire", name, {}, opts);

        const namespaceName = args.namespace ?? "spire-server";
        const repository = args.repository ?? SPIRE_CHART_REPOSITORY;
        const timeout = args.timeoutSeconds ?? 600;
        const className = controllerClassNameFor(namespaceName);
        // The namespace holds the CA keys and the datastore (the server's PersistentVolumeClaim); deleting it, or the
        // spire release, ends this SPIRE installation and breaks every peer's federation with it.
        const protect = args.protect ?? true;
        // Adoption: the engine imports these, then updates them to the program; once they are in the stack's state
        // the option changes nothing (pulumi/pulumi pkg/resource/deploy/step_generator.go: an import only when the
        // resource has no state or its state's id differs from the import id).
        const importIds = spireImportIds(namespaceName);
        const adoptReleases = args.adopt?.releases === true;
        const replicas = args.replicas ?? 1;
        const dataStore = args.dataStore ?? { type: "sqlite3" };
        const upstreamAuthority = args.upstreamAuthority ?? { type: "none" };
        this.chartValues = spireChartValues(
            {
                trustDomain: args.trustDomain,
                clusterName: args.clusterName,
                caTTL: args.caTTL ?? "720h",
                caSubject: {
                    country: args.caSubject?.country ?? "US",
                    organization: args.caSubject?.organization ?? "SPIRE",
                    commonName: args.caSubject?.commonName || args.trustDomain,
                },
                controllerClassName: className,
                federationRefreshHint: args.federationRefreshHint ?? "5m",
                bundleEndpointTlsSecret: args.bundleEndpointTlsSecret,
                replicas,
                dataStore,
                upstreamAuthority,
                telemetry: args.telemetry,
            },
            args.values,
        );
        throwIfProblems(`Spire ${name}`, spireValuesProblems(this.chartValues));
        if (dataStore.type !== "sqlite3" && args.dataStorePassword === undefined) {
            throw new ValidationError(
                `Spire ${name}: dataStorePassword: is not set; the ${quote(dataStore.type)} datastore needs the password of user ${quote(dataStore.user)}`,
            );
        }
        if (upstreamAuthority.type === "disk" && (args.upstreamCertificate === undefined || args.upstreamKey === undefined)) {
            throw new ValidationError(
                `Spire ${name}: upstreamCertificate and upstreamKey: are not both set; the "disk" upstream authority needs the root CA's certificate and key`,
            );
        }

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: namespaceName,
                    labels: {
                        // The agent and CSI driver DaemonSets need host paths and privileges.
                        "pod-security.kubernetes.io/enforce": "privileged",
                    },
                    // Adopted: its updates take over kubectl's fields (adoptionAnnotations).
                    ...adoptionAnnotations(args.adopt?.namespace === true),
                },
            },
            { parent: this, protect, ...(args.adopt?.namespace ? { import: importIds.namespace } : {}) },
        );

        this.crdsRelease = new k8s.helm.v3.Release(
            `${name}-crds`,
            {
                name: SPIRE_CRDS_RELEASE_NAME,
                chart: "spire-crds",
                version: args.crdsChartVersion ?? SPIRE_CRDS_CHART_VERSION,
                repositoryOpts: { repo: repository },
                namespace: namespace.metadata.name,
                timeout,
            },
            { parent: this, ...(adoptReleases ? { import: importIds.crdsRelease } : {}) },
        );

        // What the spire release needs before it starts: the datastore password and the upstream CA, each in a Secret
        // that the chart's values only name, so that neither is in the release's values (Helm keeps those, in clear, in
        // its release Secret) nor anywhere but the stack's state, encrypted (pulumi-kubernetes marks a Secret's data
        // and stringData secret; the inputs are secret Outputs already).
        const prerequisites: pulumi.Resource[] = [this.crdsRelease];
        if (dataStore.type !== "sqlite3") {
            this.dataStorePasswordSecret = new k8s.core.v1.Secret(
                `${name}-datastore-password`,
                {
                    metadata: {
                        name: SPIRE_DATASTORE_PASSWORD_SECRET,
                        namespace: namespace.metadata.name,
                        labels: { "app.kubernetes.io/part-of": "istio-spire" },
                    },
                    type: "Opaque",
                    // What SPIRE's -expandEnv puts in place of ${DBPW} in server.conf (spireDataStore.ts).
                    stringData: {
                        [SPIRE_DATASTORE_PASSWORD_KEY]: pulumi.secret(
                            pulumi.output(args.dataStorePassword!).apply((p) => encodeDataStorePassword(dataStore.type, p)),
                        ),
                    },
                },
                { parent: this },
            );
            prerequisites.push(this.dataStorePasswordSecret);
        }
        let rootCertificate: pulumi.Output<string> | undefined;
        if (upstreamAuthority.type === "generated" || upstreamAuthority.type === "disk") {
            let certificatePem: pulumi.Input<string>;
            let keyPem: pulumi.Input<string>;
            if (upstreamAuthority.type === "generated") {
                // Made once and kept in the stack's state, encrypted by its secrets provider; protected like the
                // namespace, since a new key is a new root: every peer would have to re-bootstrap.
                const rootKey = new tls.PrivateKey(`${name}-upstream-root-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this, protect });
                const root = new tls.SelfSignedCert(
                    `${name}-upstream-root`,
                    {
                        privateKeyPem: rootKey.privateKeyPem,
                        isCaCertificate: true,
                        validityPeriodHours: Number(/^(\d+)h$/.exec(upstreamAuthority.validity ?? DEFAULT_GENERATED_ROOT_VALIDITY)?.[1] ?? 87600),
                        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                        subject: {
                            country: args.caSubject?.country ?? "US",
                            organization: args.caSubject?.organization ?? "SPIRE",
                            commonName: `${args.caSubject?.commonName || args.trustDomain} upstream root`.slice(0, 64),
                        },
                        // A SPIFFE signing certificate may carry its trust domain's ID (SPIFFE X.509-SVID 4.1).
                        uris: [`spiffe://${args.trustDomain}`],
                    },
                    { parent: this, protect },
                );
                certificatePem = root.certPem;
                keyPem = rootKey.privateKeyPem;
            } else {
                certificatePem = args.upstreamCertificate!;
                keyPem = args.upstreamKey!;
            }
            rootCertificate = pulumi.output(certificatePem);
            this.upstreamCaSecret = new k8s.core.v1.Secret(
                `${name}-upstream-ca`,
                {
                    metadata: { name: SPIRE_UPSTREAM_CA_SECRET, namespace: namespace.metadata.name, labels: { "app.kubernetes.io/part-of": "istio-spire" } },
                    type: "kubernetes.io/tls",
                    stringData: { "tls.crt": certificatePem, "tls.key": pulumi.secret(keyPem) },
                },
                { parent: this },
            );
            prerequisites.push(this.upstreamCaSecret);
        }

        this.release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: SPIRE_RELEASE_NAME,
                chart: "spire",
                version: args.chartVersion ?? SPIRE_CHART_VERSION,
                repositoryOpts: { repo: repository },
                namespace: namespace.metadata.name,
                values: this.chartValues,
                timeout,
            },
            { parent: this, dependsOn: prerequisites, protect, ...(adoptReleases ? { import: importIds.release } : {}) },
        );

        // Several servers: the chart has no PodDisruptionBudget, so a node drain could evict them all at once.
        if (replicas > 1) {
            this.serverDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
                `${name}-server-pdb`,
                {
                    metadata: { name: "spire-server", namespace: namespace.metadata.name, labels: { "app.kubernetes.io/part-of": "istio-spire" } },
                    spec: { maxUnavailable: 1, selector: { matchLabels: { ...SPIRE_SERVER_POD_LABELS } } },
                },
                { parent: this, dependsOn: [this.release] },
            );
        }
        const describedDataStore: SpireServerRecord["dataStore"] =
            dataStore.type === "sqlite3"
                ? { type: "sqlite3" }
                : {
                      type: dataStore.type,
                      host: dataStore.host,
                      port: dataStorePort(dataStore),
                      database: dataStore.database,
                      user: dataStore.user,
                      ...(dataStore.tls ? { tlsMode: dataStore.tls.mode } : {}),
                  };
        this.serverRecord = pulumi.output({
            replicas,
            dataStore: describedDataStore,
            upstreamAuthority:
                upstreamAuthority.type === "none"
                    ? { type: "none" as const }
                    : upstreamAuthority.type === "certManager"
                      ? {
                            type: "certManager" as const,
                            issuerName: upstreamAuthority.issuerName,
                            issuerKind: upstreamAuthority.issuerKind,
                            issuerGroup: upstreamAuthority.issuerGroup,
                        }
                      : { type: upstreamAuthority.type, rootCertificate: pulumi.unsecret(rootCertificate!) },
        }) as pulumi.Output<SpireServerRecord>;

        this.namespace = namespace.metadata.name;
        this.namespaceUid = namespace.metadata.uid;
        this.trustDomain = pulumi.output(args.trustDomain);
        this.controllerClassName = pulumi.output(className);
        this.workloadSocketPath = pulumi.output(WORKLOAD_SOCKET_PATH);
        this.registerOutputs({
            namespace: this.namespace,
            trustDomain: this.trustDomain,
            controllerClassName: this.controllerClassName,
            workloadSocketPath: this.workloadSocketPath,
        });
    }
}
