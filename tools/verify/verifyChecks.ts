// The checks of `npm run verify`, as pure functions over plain data: Kubernetes objects as the API server returns them
// (only the fields read are typed) and the Envoy config dump text a proxy's admin API returns. No I/O here: the
// Kubernetes API is read by verifyCluster.ts, the run is wired in verify.ts, so every decision is tested on
// recorded data.

import { X509Certificate } from "crypto";
import { StackConfig } from "../../components/stack/config";
import { FEDERATION_OUTPUT } from "../../components/mesh/federation";
import { GATEWAY_CLUSTER_SPIFFE_ID, SPIRE_MANAGED_IDENTITY_LABEL, WORKLOAD_CLUSTER_SPIFFE_ID } from "../../components/mesh/registration";
import { SpiffeBundle, checkSpiffeBundle, spiffeBundleAuthorities } from "../../components/mesh/spiffeBundle";
import { SPIRE_RELEASE_NAME, SpireServerRecord, controllerClassNameFor } from "../../components/mesh/spire";
import { SPIRE_SERVER_OUTPUT } from "../../components/mesh/spireChange";
import { checkTrustDomain } from "../../components/validation";

// ---------------------------------------------------------------------------------------------------------------
// Results

export type Verdict = "pass" | "fail" | "warn";

/** One line of the checklist. */
export interface Check {
    /** What is checked, as a statement that holds when it passes. */
    what: string;
    verdict: Verdict;
    /** Why it failed (or the warning); on a pass, optional detail shown in parentheses. */
    why?: string;
}

const pass = (what: string, detail?: string): Check => ({ what, verdict: "pass", ...(detail ? { why: detail } : {}) });
const fail = (what: string, why: string): Check => ({ what, verdict: "fail", why });
const warn = (what: string, why: string): Check => ({ what, verdict: "warn", why });

/** Errors in the command line or the stack's configuration: exit code 2, one message. */
export class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// What the stack's configuration says the cluster must look like

/** The SPIRE server CA subject (`caSubject*` config); an empty commonName means the CA has no CN. */
export interface CaSubject {
    country: string;
    organization: string;
    commonName: string;
}

export interface Expectations {
    stack: string;
    /** The kubeconfig context of the stack's cluster. */
    kubeContext: string;
    trustDomain: string;
    spireNamespace: string;
    istioNamespace: string;
    /** The controller class the SPIRE custom resources must carry. */
    controllerClassName: string;
    enrolledNamespaces: string[];
    gateway: { name: string; serviceAccount: string };
    caSubject: CaSubject;
    /** Fully qualified peer stacks (`<org>/istio-spire/<stack>`). */
    peerStacks: string[];
}

/** Kubernetes names of the ClusterSPIFFEIDs WorkloadRegistration declares. */
export { GATEWAY_CLUSTER_SPIFFE_ID, WORKLOAD_CLUSTER_SPIFFE_ID };

/**
 * Workload names the spire chart gives its objects for this program's release: `<release>-<name>`, where the
 * umbrella chart's values set `nameOverride: server` and `nameOverride: agent`, and the CSI driver keeps its chart
 * name (helm-charts-hardened spire-0.30.0, `charts/spire/values.yaml` and each subchart's `fullname` helper). All live
 * in the release namespace: the chart's `recommendations.namespaceLayout` is off by default.
 */
export const SPIRE_SERVER_STATEFULSET = `${SPIRE_RELEASE_NAME}-server`;
export const SPIRE_AGENT_DAEMONSET = `${SPIRE_RELEASE_NAME}-agent`;
export const SPIFFE_CSI_DRIVER_DAEMONSET = `${SPIRE_RELEASE_NAME}-spiffe-csi-driver`;
/** istiod's Deployment (istio-discovery chart, no revision). */
export const ISTIOD_DEPLOYMENT = "istiod";
/** The container Istio injects, and the one `pilot-agent request` runs in. */
export const PROXY_CONTAINER = "istio-proxy";

/** The expectations of a validated stack configuration. */
export function expectationsFromConfig(stack: string, config: StackConfig, kubeContext: string): Expectations {
    return {
        stack,
        kubeContext,
        trustDomain: config.trustDomain,
        spireNamespace: config.spireNamespace,
        istioNamespace: config.istioNamespace,
        controllerClassName: controllerClassNameFor(config.spireNamespace),
        enrolledNamespaces: [...config.enrolledNamespaces].sort(),
        gateway: { name: config.ingressGatewayName, serviceAccount: config.ingressGatewayServiceAccount },
        caSubject: {
            country: config.caSubjectCountry,
            organization: config.caSubjectOrganization,
            // As the Spire component resolves it: an empty caSubjectCommonName means the trust domain.
            commonName: config.caSubjectCommonName || config.trustDomain,
        },
        peerStacks: config.peers.map((p) => p.stack).sort(),
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes objects (only the fields the checks read)

export interface ObjectMeta {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    generation?: number;
}

export interface LabelSelector {
    matchLabels?: Record<string, string>;
}

/** A StatefulSet, DaemonSet or Deployment. */
export interface WorkloadObject {
    metadata?: ObjectMeta;
    spec?: { replicas?: number; selector?: LabelSelector };
    status?: {
        observedGeneration?: number;
        replicas?: number;
        readyReplicas?: number;
        updatedReplicas?: number;
        availableReplicas?: number;
        desiredNumberScheduled?: number;
        numberReady?: number;
        updatedNumberScheduled?: number;
    };
}

export interface ContainerSpec {
    name: string;
    restartPolicy?: string;
}

export interface PodObject {
    metadata?: ObjectMeta;
    spec?: { serviceAccountName?: string; containers?: ContainerSpec[]; initContainers?: ContainerSpec[] };
    status?: { phase?: string };
}

/** `ClusterSPIFFEID.status.stats` (spire-crds 0.6.0). */
export interface ClusterSpiffeIdStats {
    namespacesSelected?: number;
    namespacesIgnored?: number;
    podsSelected?: number;
    podEntryRenderFailures?: number;
    entriesMasked?: number;
    entriesToSet?: number;
    entryFailures?: number;
}

export interface ClusterSpiffeIdObject {
    metadata?: ObjectMeta;
    spec?: { className?: string };
    status?: { stats?: ClusterSpiffeIdStats };
}

export interface ClusterFederatedTrustDomainObject {
    metadata?: ObjectMeta;
    spec?: { className?: string; trustDomain?: string; bundleEndpointURL?: string };
}

// ---------------------------------------------------------------------------------------------------------------
// Readiness

export type WorkloadKind = "StatefulSet" | "DaemonSet" | "Deployment";

function notObserved(object: WorkloadObject): string | undefined {
    const generation = object.metadata?.generation;
    const observed = object.status?.observedGeneration;
    return generation !== undefined && (observed ?? 0) < generation
        ? `its controller has not observed generation ${generation} yet (observed ${observed ?? "none"})`
        : undefined;
}

/**
 * A workload is ready when its controller has observed its current spec and every wanted pod is ready and updated
 * (what `kubectl rollout status` waits for). Wanted: `spec.replicas` (1 when unset) for StatefulSets and
 * Deployments, `status.desiredNumberScheduled` for DaemonSets, which must schedule at least one pod.
 */
export function checkWorkloadReady(label: string, kind: WorkloadKind, namespace: string, name: string, object: WorkloadObject | undefined): Check {
    const what = `${label}: ${kind} ${namespace}/${name} is ready`;
    if (object === undefined) {
        return fail(what, "not found");
    }
    const status = object.status ?? {};
    const daemon = kind === "DaemonSet";
    const wanted = daemon ? (status.desiredNumberScheduled ?? 0) : (object.spec?.replicas ?? 1);
    const ready = (daemon ? status.numberReady : status.readyReplicas) ?? 0;
    const updated = (daemon ? status.updatedNumberScheduled : status.updatedReplicas) ?? 0;
    const unit = daemon ? "pods" : "replicas";
    const problems: string[] = [];
    const stale = notObserved(object);
    if (stale) {
        problems.push(stale);
    }
    if (wanted === 0) {
        problems.push(daemon ? "it schedules no pod (desiredNumberScheduled is 0; check its nodeSelector and tolerations)" : "it is scaled to 0 replicas");
    } else {
        if (ready < wanted) {
            problems.push(`${ready}/${wanted} ${unit} ready`);
        }
        if (updated < wanted) {
            problems.push(`${updated}/${wanted} ${unit} updated (rollout in progress)`);
        }
    }
    return problems.length > 0 ? fail(what, problems.join("; ")) : pass(what, `${ready}/${wanted} ${unit}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Pods whose proxies are checked

export function hasProxyContainer(pod: PodObject): boolean {
    const named = (list: ContainerSpec[] | undefined) => (list ?? []).some((c) => c.name === PROXY_CONTAINER);
    // A native sidecar is an init container (restartPolicy Always); a classic one a regular container.
    return named(pod.spec?.containers) || named(pod.spec?.initContainers);
}

const isRunning = (pod: PodObject) => pod.status?.phase === "Running";

/** Pods sorted by name (the API server's order is not guaranteed). */
function byName(pods: PodObject[]): PodObject[] {
    return [...pods].sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
}

/** Enrolled pods: Running, with an istio-proxy container and the `spiffe.io/spire-managed-identity=true` label. */
export function enrolledPods(pods: PodObject[]): PodObject[] {
    return byName(pods.filter((p) => isRunning(p) && hasProxyContainer(p) && p.metadata?.labels?.[SPIRE_MANAGED_IDENTITY_LABEL] === "true"));
}

/**
 * Gateway pods: Running, with an istio-proxy container. They carry no identity label (the `spire` template adds none
 * to a pod injected with the `gateway` template); their ClusterSPIFFEID selects them by the `istio` label.
 */
export function gatewayPods(pods: PodObject[]): PodObject[] {
    return byName(pods.filter((p) => isRunning(p) && hasProxyContainer(p)));
}

/** The line for an enrolled namespace with nothing to check: a warning, since an empty namespace is no fault. */
export function emptyNamespaceWarning(namespace: string, pods: PodObject[]): Check {
    const candidates = pods.filter((p) => hasProxyContainer(p) && p.metadata?.labels?.[SPIRE_MANAGED_IDENTITY_LABEL] === "true");
    const notRunning = candidates.length > 0 ? ` (${candidates.length} such pod${candidates.length === 1 ? " is" : "s are"} not Running)` : "";
    return warn(
        `enrolled namespace ${namespace} has workloads to check`,
        `no Running pod with an ${PROXY_CONTAINER} container and label ${SPIRE_MANAGED_IDENTITY_LABEL}=true${notRunning}`,
    );
}

/** A label selector as the API's `labelSelector` query parameter, keys sorted. */
export function selectorString(labels: Record<string, string>): string {
    return Object.keys(labels)
        .sort()
        .map((key) => `${key}=${labels[key]}`)
        .join(",");
}

// ---------------------------------------------------------------------------------------------------------------
// Registration

/**
 * A ClusterSPIFFEID is healthy when this SPIRE's controller manager reconciled it (its class, a status) and its
 * last run had no failure: no entry the SPIRE server refused (`entryFailures`), no pod its templates could not render
 * (`podEntryRenderFailures`). When `expectedPods` Running pods should carry its identity it must select pods
 * (`podsSelected`) and set entries for them (`entriesToSet`). `entriesMasked` is reported, not failed: a masked entry
 * is an identical entry another ClusterSPIFFEID also declares.
 */
export function checkClusterSpiffeId(name: string, object: ClusterSpiffeIdObject | undefined, controllerClassName: string, expectedPods: number): Check {
    const what = `ClusterSPIFFEID ${name} registers its pods`;
    if (object === undefined) {
        return fail(what, "not found");
    }
    const className = object.spec?.className;
    if (className !== controllerClassName) {
        return fail(
            what,
            `its className is ${JSON.stringify(className ?? "")}; this SPIRE's controller manager only acts on ${JSON.stringify(controllerClassName)}`,
        );
    }
    const stats = object.status?.stats;
    if (stats === undefined) {
        return fail(what, "it has no status: the controller manager has not reconciled it yet (is spire-controller-manager running?)");
    }
    const n = (value: number | undefined) => value ?? 0;
    const problems: string[] = [];
    if (n(stats.entryFailures) > 0) {
        problems.push(`entryFailures is ${stats.entryFailures} (the SPIRE server refused entries; see the spire-controller-manager container's log)`);
    }
    if (n(stats.podEntryRenderFailures) > 0) {
        problems.push(`podEntryRenderFailures is ${stats.podEntryRenderFailures} (its templates did not render a valid entry for some pods)`);
    }
    if (expectedPods > 0 && n(stats.podsSelected) === 0) {
        problems.push(`podsSelected is 0, though ${expectedPods} Running pod${expectedPods === 1 ? " needs" : "s need"} its identity`);
    }
    if (n(stats.podsSelected) > 0 && n(stats.entriesToSet) === 0) {
        problems.push(`entriesToSet is 0 for ${stats.podsSelected} selected pod${stats.podsSelected === 1 ? "" : "s"}`);
    }
    if (problems.length > 0) {
        return fail(what, problems.join("; "));
    }
    const masked = n(stats.entriesMasked) > 0 ? `, entriesMasked ${stats.entriesMasked}` : "";
    return pass(what, `podsSelected ${n(stats.podsSelected)}, entriesToSet ${n(stats.entriesToSet)}${masked}, no failures`);
}

// ---------------------------------------------------------------------------------------------------------------
// Federation: objects and peers

/** The peer's ClusterFederatedTrustDomain exists, with this SPIRE's class. */
export function checkFederatedTrustDomain(
    peerTrustDomain: string,
    objects: ClusterFederatedTrustDomainObject[],
    controllerClassName: string,
    stack: string,
): Check {
    const what = `ClusterFederatedTrustDomain for ${peerTrustDomain} exists`;
    const found = objects.find((o) => o.spec?.trustDomain === peerTrustDomain);
    if (found === undefined) {
        const others = objects.map((o) => o.spec?.trustDomain ?? o.metadata?.name ?? "?").sort();
        return fail(
            what,
            `none has spec.trustDomain ${JSON.stringify(peerTrustDomain)} (found: ${others.length > 0 ? others.join(", ") : "none"}); ` +
                `run \`pulumi up -s ${stack}\` once the peer stack is deployed`,
        );
    }
    if (found.spec?.className !== controllerClassName) {
        return fail(
            what,
            `${found.metadata?.name} has className ${JSON.stringify(found.spec?.className ?? "")}; this SPIRE's controller manager only acts on ${JSON.stringify(controllerClassName)}`,
        );
    }
    return pass(what, `${found.metadata?.name}, bundle endpoint ${found.spec?.bundleEndpointURL ?? "not set"}`);
}

/** A peer trust domain to check, and where it came from. */
export interface PeerTrustDomain {
    trustDomain: string;
    /** The peer stack whose `federation` output named it, or "--peer-trust-domain". */
    source: string;
}

/** What reading a peer stack's `federation` output gave: its value (undefined when the stack has none), or the error. */
export type PeerOutput = { value: unknown } | { error: string };

/**
 * The peer stack's `federation` output names a usable trust domain: read (the Pulumi CLI could reach the stack),
 * present (the peer is deployed), a valid trust domain, not this stack's own.
 */
export function checkPeerOutput(stack: string, ownTrustDomain: string, output: PeerOutput): { check: Check; peer?: PeerTrustDomain } {
    const what = `peer stack ${stack} exports its trust domain`;
    if ("error" in output) {
        return {
            check: fail(
                what,
                `could not read its ${FEDERATION_OUTPUT} output (${output.error}); install the Pulumi CLI and log in to the peer's backend, ` +
                    "or pass --peer-trust-domain <trust domain>",
            ),
        };
    }
    if (output.value === undefined || output.value === null) {
        return { check: fail(what, `it has no ${FEDERATION_OUTPUT} output; run \`pulumi up -s ${stack}\` first`) };
    }
    const trustDomain = (output.value as { trustDomain?: unknown }).trustDomain;
    const problem = checkTrustDomain(trustDomain);
    if (problem !== undefined) {
        return { check: fail(what, `its ${FEDERATION_OUTPUT}.trustDomain ${JSON.stringify(trustDomain)} ${problem}`) };
    }
    if (trustDomain === ownTrustDomain) {
        return { check: fail(what, `its ${FEDERATION_OUTPUT}.trustDomain is this stack's own (${ownTrustDomain}); is the peer listed by mistake?`) };
    }
    return { check: pass(what, trustDomain as string), peer: { trustDomain: trustDomain as string, source: stack } };
}

// ---------------------------------------------------------------------------------------------------------------
// Envoy config dump: the SDS secrets, read as `istioctl proxy-config secret` reads them

/** The `default` and `ROOTCA` secrets of a proxy, as PEM text. */
export interface ProxySecrets {
    /** The `default` secret: active, active without a certificate chain, still warming (SDS did not deliver it), or absent. */
    svid: { state: "active"; chainPem: string } | { state: "empty" | "warming" | "missing" };
    /**
     * `ROOTCA`'s CA certificates by trust domain. SPIRE's agent serves them (to Envoy ≥ 1.18) as a SPIFFE certificate
     * validator config, one trust bundle per trust domain name; a plain `trusted_ca` has no trust domain, so its
     * certificates are filed under their `spiffe://` URI SAN's trust domain, or "" without one, as istioctl does.
     */
    rootCA: {
        present: boolean;
        bundles: Map<string, X509Certificate[]>;
        /** Subjects of `trusted_ca` certificates without a `spiffe://` URI SAN (filed under ""). */
        unnamedCaSubjects: string[];
    };
}

type Json = { [key: string]: unknown };
const isJson = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const get = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((node, key) => (isJson(node) ? node[key] : undefined), v);

const SECRETS_CONFIG_DUMP = "type.googleapis.com/envoy.admin.v3.SecretsConfigDump";
const SPIFFE_VALIDATOR_CONFIG = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig";

/** Decodes an Envoy DataSource's `inline_bytes` (base64 in the JSON dump). */
function inlineBytes(source: unknown): string | undefined {
    const bytes = get(source, "inline_bytes");
    return typeof bytes === "string" && bytes !== "" ? Buffer.from(bytes, "base64").toString("utf8") : undefined;
}

/** Every certificate of a PEM text. Throws on a malformed one. */
export function parsePemCertificates(pem: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
}

/** The `spiffe://` URI SANs of a certificate (Node quotes a SAN value holding special characters, JSON-style). */
export function spiffeUris(cert: X509Certificate): string[] {
    const uris: string[] = [];
    for (const match of (cert.subjectAltName ?? "").matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
        const value = match[1].startsWith('"') ? (JSON.parse(match[1]) as string) : match[1];
        if (value.startsWith("spiffe://")) {
            uris.push(value);
        }
    }
    return uris;
}

/** A subject or issuer as one line, e.g. `C=US, O=SPIRE, CN=cluster1.demo`. */
export function distinguishedName(name: string): string {
    return name.split("\n").filter(Boolean).join(", ");
}

/** The distinguished name SPIRE gives its CA for a `caSubject` (country, organization, then common name). */
export function caSubjectName(subject: CaSubject): string {
    return [`C=${subject.country}`, `O=${subject.organization}`, ...(subject.commonName ? [`CN=${subject.commonName}`] : [])].join(", ");
}

/**
 * Reads the SDS secrets from a config dump (`pilot-agent request GET config_dump`, the Envoy admin API's
 * `/config_dump`). Throws an Error saying what is wrong when the text is not a config dump with secrets.
 */
export function readProxySecrets(dumpText: string): ProxySecrets {
    let dump: unknown;
    try {
        dump = JSON.parse(dumpText);
    } catch (error) {
        throw new Error(`the config dump is not JSON (${(error as Error).message})`);
    }
    const configs = get(dump, "configs");
    const secretsDump = Array.isArray(configs) ? configs.find((c) => get(c, "@type") === SECRETS_CONFIG_DUMP) : undefined;
    if (secretsDump === undefined) {
        throw new Error("the config dump has no SecretsConfigDump");
    }
    const list = (key: string): unknown[] => {
        const value = get(secretsDump, key);
        return Array.isArray(value) ? value : [];
    };
    const named = (secrets: unknown[], name: string) => secrets.find((s) => get(s, "name") === name);

    const active = list("dynamic_active_secrets");
    const warming = list("dynamic_warming_secrets");
    const defaultSecret = named(active, "default");
    const chainPem = inlineBytes(get(defaultSecret, "secret", "tls_certificate", "certificate_chain"));
    const svid: ProxySecrets["svid"] =
        defaultSecret === undefined
            ? { state: named(warming, "default") !== undefined ? "warming" : "missing" }
            : chainPem === undefined
              ? { state: "empty" }
              : { state: "active", chainPem };

    const rootCASecret = named(active, "ROOTCA");
    const context = get(rootCASecret, "secret", "validation_context");
    const bundles = new Map<string, X509Certificate[]>();
    const unnamedCaSubjects: string[] = [];
    const add = (trustDomain: string, certs: X509Certificate[]) => bundles.set(trustDomain, [...(bundles.get(trustDomain) ?? []), ...certs]);
    const typed = get(context, "custom_validator_config", "typed_config");
    if (get(typed, "@type") === SPIFFE_VALIDATOR_CONFIG) {
        const trustDomains = get(typed, "trust_domains");
        for (const entry of Array.isArray(trustDomains) ? trustDomains : []) {
            const name = get(entry, "name");
            if (typeof name === "string") {
                add(name, parsePemCertificates(inlineBytes(get(entry, "trust_bundle")) ?? ""));
            }
        }
    }
    for (const cert of parsePemCertificates(inlineBytes(get(context, "trusted_ca")) ?? "")) {
        const id = spiffeUris(cert)[0];
        add(id ? new URL(id).host : "", [cert]);
        if (!id) {
            unnamedCaSubjects.push(distinguishedName(cert.subject));
        }
    }
    return { svid, rootCA: { present: rootCASecret !== undefined, bundles, unnamedCaSubjects } };
}

/** What a ROOTCA holds, for messages: the trust domains of its bundles, and CA certificates without one. */
function describeRootCA(rootCA: ProxySecrets["rootCA"]): string {
    if (!rootCA.present) {
        return "no ROOTCA secret";
    }
    const domains = [...rootCA.bundles.keys()].filter((td) => td !== "").sort();
    const held = [
        ...(domains.length > 0 ? [`bundles of ${domains.join(", ")}`] : []),
        ...(rootCA.bundles.has("") ? [`a trusted_ca ${rootCA.unnamedCaSubjects.join("; ")} of no trust domain`] : []),
    ];
    return held.length > 0 ? held.join(" and ") : "no CA certificate";
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** Whether `signer` issued `cert`: names and key identifiers match (X509Certificate.checkIssued) and its key verifies the signature. */
function signedBy(cert: X509Certificate, signer: X509Certificate): boolean {
    return cert.checkIssued(signer) && cert.verify(signer.publicKey);
}

/** Whose SVID is checked: a pod and the SPIFFE ID Istio expects for it. */
export interface SvidExpectation {
    /** `<namespace>/<pod>`. */
    pod: string;
    trustDomain: string;
    /** `spiffe://<td>/ns/<namespace>/sa/<service account>`. */
    spiffeId: string;
    caSubject: CaSubject;
}

/**
 * The proxy's SVID is the one SPIRE issued for its SPIFFE ID. In order, the first failure is reported:
 * 1. the dump has an active `default` secret with a PEM certificate chain (the leaf first);
 * 2. the leaf is not a CA and has exactly one URI SAN, equal to the expected `spiffe://<td>/ns/<ns>/sa/<sa>`;
 * 3. `now` is within the leaf's validity;
 * 4. `ROOTCA` holds the trust domain's bundle;
 * 5. the chain verifies signature by signature (X509Certificate.checkIssued and .verify) from the leaf to a CA
 *    certificate of that bundle;
 * 6. the CA that signed the leaf (the chain's second certificate, or the bundle CA for a one-certificate chain) is a
 *    SPIRE CA of this trust domain: SPIRE gives its X.509 CAs the URI SAN `spiffe://<td>` and the `caSubject*`
 *    subject (spiffe/spire pkg/server/credtemplate/builder.go), so its subject must be exactly that.
 */
export function checkSvid(expected: SvidExpectation, secrets: ProxySecrets, now: Date): Check {
    const what = `${expected.pod}: proxy SVID is ${expected.spiffeId}, issued by SPIRE`;
    if (secrets.svid.state !== "active") {
        const why = {
            warming: "its `default` secret is still warming: SDS has not delivered an SVID (is the SPIRE agent socket mounted, and is the pod registered?)",
            missing: "the proxy holds no `default` secret (no SVID from SDS)",
            empty: "its `default` secret has no certificate chain",
        };
        return fail(what, why[secrets.svid.state]);
    }
    let chain: X509Certificate[];
    try {
        chain = parsePemCertificates(secrets.svid.chainPem);
    } catch (error) {
        return fail(what, `its certificate chain does not parse (${(error as Error).message})`);
    }
    if (chain.length === 0) {
        return fail(what, "its `default` secret holds no PEM certificate");
    }
    const leaf = chain[0];
    const uris = spiffeUris(leaf);
    if (leaf.ca) {
        return fail(what, "the first certificate of its chain is a CA, not an SVID");
    }
    if (uris.length !== 1) {
        return fail(what, `the SVID has ${uris.length} spiffe:// URI SANs; an X509-SVID has exactly one`);
    }
    if (uris[0] !== expected.spiffeId) {
        return fail(what, `its URI SAN is ${uris[0]}`);
    }
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    if (now < notBefore) {
        return fail(what, `it is not valid before ${isoSeconds(notBefore)}`);
    }
    if (now > notAfter) {
        return fail(what, `it expired at ${isoSeconds(notAfter)} (SPIRE renews SVIDs before they expire: is the agent on the pod's node running?)`);
    }
    const bundle = secrets.rootCA.bundles.get(expected.trustDomain) ?? [];
    if (bundle.length === 0) {
        return fail(
            what,
            `not issued by SPIRE: the proxy's ROOTCA holds no ${expected.trustDomain} bundle to verify it with (it holds ${describeRootCA(secrets.rootCA)})`,
        );
    }
    for (let i = 0; i + 1 < chain.length; i++) {
        if (!signedBy(chain[i], chain[i + 1])) {
            return fail(what, `its chain is broken: certificate ${i + 2} (${distinguishedName(chain[i + 1].subject)}) did not sign certificate ${i + 1}`);
        }
    }
    const top = chain[chain.length - 1];
    const anchor = bundle.find((ca) => ca.fingerprint256 === top.fingerprint256 || signedBy(top, ca));
    if (anchor === undefined) {
        return fail(
            what,
            `not issued by SPIRE: its chain does not lead to a CA of the ${expected.trustDomain} bundle (the top of the chain was issued by ${distinguishedName(top.issuer)})`,
        );
    }
    const signer = chain.length > 1 ? chain[1] : anchor;
    const caId = `spiffe://${expected.trustDomain}`;
    const signerUris = spiffeUris(signer);
    if (!signerUris.includes(caId)) {
        return fail(what, `not issued by SPIRE: the CA that signed it (${distinguishedName(signer.subject)}) has no URI SAN ${caId}, which SPIRE's CAs carry`);
    }
    const subject = distinguishedName(signer.subject);
    const wanted = caSubjectName(expected.caSubject);
    if (subject !== wanted) {
        return fail(what, `the SPIRE CA that signed it has subject ${subject}, expected ${wanted} (caSubject* config)`);
    }
    return pass(what, `CA ${subject}, valid until ${isoSeconds(notAfter)}`);
}

/** The proxy's ROOTCA holds the peer trust domain's bundle: at least one CA certificate filed under that trust domain. */
export function checkPeerBundle(pod: string, peerTrustDomain: string, secrets: ProxySecrets): Check {
    const what = `${pod}: proxy ROOTCA holds the ${peerTrustDomain} bundle`;
    if (!secrets.rootCA.present) {
        return fail(what, "the proxy holds no ROOTCA secret");
    }
    const cas = (secrets.rootCA.bundles.get(peerTrustDomain) ?? []).filter((cert) => cert.ca);
    if (cas.length === 0) {
        return fail(
            what,
            `it holds only ${describeRootCA(secrets.rootCA)}; the SPIRE agent serves a peer's bundle once the pod's ClusterSPIFFEID federatesWith its trust domain and the SPIRE server has fetched it`,
        );
    }
    return pass(what, `${cas.length} CA certificate${cas.length === 1 ? "" : "s"}`);
}

// ---------------------------------------------------------------------------------------------------------------
// SPIRE servers: replicas, datastore, trust bundle, upstream root

// The stack output recording the identity plane (components/mesh/spireChange.ts SPIRE_SERVER_OUTPUT, the value of
// Spire.serverRecord): how many servers, their datastore (no password) and their upstream authority (with its public
// root certificate for `generated` and `disk`).
export { SPIRE_SERVER_OUTPUT };
export type SpireUpstreamAuthorityRecord = SpireServerRecord["upstreamAuthority"];
export type SpireDataStoreRecord = SpireServerRecord["dataStore"];

/** What a stack deployed before the `spireServer` output existed runs: one server on SQLite, no upstream authority. */
export const SPIRE_SERVER_DEFAULTS: SpireServerRecord = { replicas: 1, dataStore: { type: "sqlite3" }, upstreamAuthority: { type: "none" } };

/**
 * What the checks know of the stack's SPIRE servers: the record from its `spireServer` output (`fromOutput`), the
 * defaults of an older stack without one, or no record when the output could not be read (then the replica count and
 * the upstream root are not checked against it).
 */
export interface SpireServerExpectation {
    record?: SpireServerRecord;
    fromOutput: boolean;
}

/** What reading one output of a stack gave: its value (undefined when the stack has none), or the error. */
export type StackOutput = { value: unknown } | { error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === "string" && v !== "";

/** Checks the shape of a `spireServer` output value; returns the record, or what is wrong with it. */
export function parseSpireServerRecord(value: unknown): SpireServerRecord | string {
    if (!isRecord(value)) {
        return "is not an object";
    }
    const { replicas, dataStore, upstreamAuthority } = value;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 1) {
        return `has replicas ${JSON.stringify(replicas)}; expected an integer >= 1`;
    }
    if (!isRecord(dataStore) || !["sqlite3", "postgres", "mysql"].includes(dataStore.type as string)) {
        return `has dataStore ${JSON.stringify(dataStore)}; expected type "sqlite3", "postgres" or "mysql"`;
    }
    if (dataStore.type !== "sqlite3" && !(isName(dataStore.host) && Number.isInteger(dataStore.port) && isName(dataStore.database) && isName(dataStore.user))) {
        return `has dataStore ${JSON.stringify(dataStore)}; expected host, port, database and user for ${dataStore.type}`;
    }
    if (!isRecord(upstreamAuthority)) {
        return `has upstreamAuthority ${JSON.stringify(upstreamAuthority)}; expected an object with a type`;
    }
    const type = upstreamAuthority.type;
    if (type === "generated" || type === "disk") {
        let roots: X509Certificate[] = [];
        try {
            roots = typeof upstreamAuthority.rootCertificate === "string" ? parsePemCertificates(upstreamAuthority.rootCertificate) : [];
        } catch {
            roots = [];
        }
        if (roots.length !== 1) {
            return `has an upstreamAuthority of type ${type} whose rootCertificate is not one PEM certificate`;
        }
    } else if (type === "certManager") {
        if (!isName(upstreamAuthority.issuerName) || !isName(upstreamAuthority.issuerKind) || !isName(upstreamAuthority.issuerGroup)) {
            return "has an upstreamAuthority of type certManager without issuerName, issuerKind and issuerGroup";
        }
    } else if (type !== "none") {
        return `has upstreamAuthority type ${JSON.stringify(type)}; expected "none", "generated", "disk" or "certManager"`;
    }
    return value as unknown as SpireServerRecord;
}

/**
 * The expectation from the stack's own `spireServer` output, and a line when it cannot be used: a warning when it
 * could not be read (verify still checks the servers, without the replica count and upstream root), a failure when
 * it is malformed. An absent output is an older stack: the defaults, no line.
 */
export function spireServerExpectation(stack: string, output: StackOutput): { expectation: SpireServerExpectation; check?: Check } {
    const what = `stack ${stack} records its SPIRE servers (output ${SPIRE_SERVER_OUTPUT})`;
    if ("error" in output) {
        return {
            expectation: { fromOutput: false },
            check: warn(
                what,
                `could not read it (${output.error}); the replica count and the upstream root are not checked (install the Pulumi CLI and log in to the stack's backend)`,
            ),
        };
    }
    if (output.value === undefined || output.value === null) {
        return { expectation: { record: SPIRE_SERVER_DEFAULTS, fromOutput: false } };
    }
    const record = parseSpireServerRecord(output.value);
    if (typeof record === "string") {
        return { expectation: { fromOutput: false }, check: fail(what, `it ${record}`) };
    }
    return { expectation: { record, fromOutput: true } };
}

/**
 * Every SPIRE server replica is ready: the StatefulSet is ready (checkWorkloadReady: ready and updated replicas equal
 * spec.replicas) and spec.replicas is the stack's `spireServer.replicas` (1 for an older stack without the output).
 */
export function checkSpireServerReplicas(namespace: string, object: WorkloadObject | undefined, expected: SpireServerExpectation): Check {
    const ready = checkWorkloadReady("SPIRE server", "StatefulSet", namespace, SPIRE_SERVER_STATEFULSET, object);
    const wanted = expected.record?.replicas;
    const replicas = object?.spec?.replicas ?? 1;
    if (object === undefined || wanted === undefined || replicas === wanted) {
        return ready;
    }
    const source = expected.fromOutput
        ? `the stack's ${SPIRE_SERVER_OUTPUT}.replicas is ${wanted}`
        : `the stack, deployed before its ${SPIRE_SERVER_OUTPUT} output existed, runs ${wanted}`;
    const mismatch = `it wants ${replicas} replica${replicas === 1 ? "" : "s"} where ${source}; scaled outside Pulumi? run \`pulumi up\``;
    return fail(ready.what, ready.verdict === "fail" ? `${mismatch}; ${ready.why}` : mismatch);
}

/** SPIRE server pods, sorted by name. */
export function spireServerPods(pods: PodObject[]): PodObject[] {
    return byName(pods);
}

/** A datastore as messages name it. */
export function describeDataStore(dataStore: SpireDataStoreRecord): string {
    return dataStore.type === "sqlite3" ? "SQLite on the pod's volume" : `${dataStore.type} ${dataStore.host}:${dataStore.port}/${dataStore.database}`;
}

/** What running a command in a pod gave: its standard output, or why it failed. */
export type ExecResult = { output: string } | { error: string };

/**
 * The SPIRE server reaches its datastore: `spire-server healthcheck` calls the server API's gRPC Health service,
 * whose Check reads this trust domain's bundle straight from the datastore (`ds.FetchBundle` without the
 * one-second bundle cache that serves `bundle show`) and answers NOT_SERVING when that fails or finds no bundle
 * (spiffe/spire v1.15.2 pkg/server/api/health/v1/service.go, pkg/server/cache/dscache/cache.go). The HTTP
 * /ready endpoint also covers the datastore (its `catalog.datastore` check lists bundles), but it is what the
 * kubelet's readiness probe already reports, and it is not called fresh.
 */
export function checkDatastoreReachable(
    pod: string,
    phase: string | undefined,
    dataStore: SpireDataStoreRecord | undefined,
    result: ExecResult | undefined,
): Check {
    const what = `SPIRE server ${pod} reaches its datastore`;
    const which = dataStore === undefined ? "" : ` (${describeDataStore(dataStore)})`;
    if (phase !== "Running" || result === undefined) {
        return fail(what, `the pod is ${phase ?? "in no phase"}, not Running`);
    }
    if ("error" in result) {
        if (result.error.includes("NOT_SERVING")) {
            return fail(
                what,
                `\`spire-server healthcheck\` answered NOT_SERVING: the server could not read its trust bundle from its datastore${which}; ` +
                    'its spire-server container\'s log says why ("Health check failed")',
            );
        }
        return fail(what, result.error);
    }
    return pass(what, `${dataStore === undefined ? "" : `${describeDataStore(dataStore)}; `}spire-server healthcheck: ${result.output.trim()}`);
}

/** What a replica served for `spire-server bundle show -format spiffe`. */
export interface ServedBundle {
    /** The pod's name. */
    pod: string;
    result: ExecResult;
}

/** "1 X.509 authority, 2 JWT authorities" for authority ids of spiffeBundleAuthorities. */
function countAuthorities(ids: string[]): string {
    const x509 = ids.filter((id) => id.startsWith("x509:")).length;
    const jwt = ids.length - x509;
    return `${x509} X.509 ${x509 === 1 ? "authority" : "authorities"}, ${jwt} JWT ${jwt === 1 ? "authority" : "authorities"}`;
}

/** "1 X.509 authority and 1 JWT authority" of a set of ids, leaving out kinds it has none of. */
function someAuthorities(ids: string[]): string {
    const x509 = ids.filter((id) => id.startsWith("x509:")).length;
    const jwt = ids.length - x509;
    const parts = [
        ...(x509 > 0 ? [`${x509} X.509 ${x509 === 1 ? "authority" : "authorities"}`] : []),
        ...(jwt > 0 ? [`${jwt} JWT ${jwt === 1 ? "authority" : "authorities"}`] : []),
    ];
    return parts.join(" and ");
}

/**
 * Every replica serves the same trust bundle: the same X.509 and JWT authorities (spiffeBundleAuthorities: X.509
 * certificates by their DER, JWT keys by their key ID). SPIRE servers share one bundle through their datastore, each
 * adding its own CA's authorities (spiffe/spire pkg/server/ca/manager/manager.go, bundleUpdater.appendBundle); a
 * replica on a datastore of its own (SQLite) publishes a trust root of its own. The replicas that differ from the
 * most common bundle (ties: the one the first pod by name serves) are named.
 */
export function checkReplicaBundles(served: ServedBundle[]): Check {
    const what = "SPIRE server replicas serve one trust bundle";
    const problems: string[] = [];
    const groups = new Map<string, { pods: string[]; ids: string[] }>();
    for (const { pod, result } of served) {
        if ("error" in result) {
            problems.push(`${pod}: ${result.error}`);
            continue;
        }
        const ids = spiffeBundleAuthorities(result.output);
        if (ids === undefined) {
            problems.push(`${pod} served no valid SPIFFE bundle: it ${checkSpiffeBundle(result.output)}`);
            continue;
        }
        const key = ids.join(",");
        groups.set(key, { pods: [...(groups.get(key)?.pods ?? []), pod], ids });
    }
    const ranked = [...groups.values()].sort((a, b) => b.pods.length - a.pods.length);
    const [reference, ...others] = ranked;
    for (const other of others) {
        const own = other.ids.filter((id) => !reference.ids.includes(id));
        const missing = reference.ids.filter((id) => !other.ids.includes(id));
        const differences = [
            ...(own.length > 0 ? [`${someAuthorities(own)} of its own`] : []),
            ...(missing.length > 0 ? [`${someAuthorities(missing)} missing`] : []),
        ];
        problems.push(
            `${other.pods.join(", ")} ${other.pods.length === 1 ? "serves" : "serve"} another bundle than ${reference.pods.join(", ")} (${differences.join(", ")})`,
        );
    }
    if (others.length > 0) {
        problems.push("replicas share their bundle through one datastore: one on a datastore of its own publishes a trust root of its own");
    }
    if (reference === undefined && problems.length === 0) {
        problems.push("no replica to read it from");
    }
    if (problems.length > 0) {
        return fail(what, problems.join("; "));
    }
    return pass(what, `${reference.pods.join(", ")}: ${countAuthorities(reference.ids)}`);
}

/** The X.509 authorities of a SPIFFE bundle text (already checked by checkSpiffeBundle). */
function x509Authorities(bundleText: string): X509Certificate[] {
    return (JSON.parse(bundleText) as SpiffeBundle).keys.filter((k) => k.use === "x509-svid").map((k) => new X509Certificate(Buffer.from(k.x5c![0], "base64")));
}

/**
 * A CA SPIRE made for itself without an upstream authority: self-signed, with the URI SAN `spiffe://<td>`
 * (spiffe/spire pkg/server/credtemplate/builder.go, BuildSelfSignedX509CATemplate).
 */
export function isSpireSelfSignedCa(cert: X509Certificate, trustDomain: string): boolean {
    return cert.ca && cert.subject === cert.issuer && spiffeUris(cert).includes(`spiffe://${trustDomain}`) && cert.verify(cert.publicKey);
}

const spki = (cert: X509Certificate) => cert.publicKey.export({ type: "spki", format: "der" });

/** The bundles each replica served, parsed; replicas whose bundle failed are left to checkReplicaBundles. */
function validBundles(served: ServedBundle[]): { pod: string; cas: X509Certificate[] }[] {
    return served.flatMap(({ pod, result }) =>
        "output" in result && checkSpiffeBundle(result.output) === undefined ? [{ pod, cas: x509Authorities(result.output) }] : [],
    );
}

/** What a bundle's X.509 authorities are, for messages. */
function describeAuthorities(cas: X509Certificate[], trustDomain: string): string {
    const subjects = cas.map((c) => distinguishedName(c.subject)).join("; ");
    return cas.length > 0 && cas.every((c) => isSpireSelfSignedCa(c, trustDomain))
        ? `only SPIRE's self-signed CA ${subjects}: the server signs its CA itself, not through the upstream authority`
        : `the X.509 authorities ${subjects}`;
}

/**
 * With a `generated` or `disk` upstream authority, the bundle's X.509 root is the configured one. SPIRE's disk
 * upstream authority without a bundle_file_path (the chart sets none unless its secret has a bundle) takes the
 * self-signed certificate of cert_file_path as the only upstream root, and the server puts the upstream roots in
 * its trust bundle (spiffe/spire v1.15.2 pkg/server/plugin/upstreamauthority/disk/disk.go; pkg/server/ca/manager
 * SyncX509Roots). So every replica's bundle must hold `spireServer.upstreamAuthority.rootCertificate`: the same
 * certificate (DER), or one with its public key (the root re-issued). Other authorities may stay beside it until they
 * expire (an older CA from before the upstream authority).
 */
export function checkUpstreamRoot(trustDomain: string, upstream: { type: "generated" | "disk"; rootCertificate: string }, served: ServedBundle[]): Check {
    const what = `SPIRE trust bundle's X.509 root is the ${upstream.type} upstream authority's`;
    const [root] = parsePemCertificates(upstream.rootCertificate);
    const bundles = validBundles(served);
    if (bundles.length === 0) {
        return fail(what, "no replica served a trust bundle to compare");
    }
    const lacking = bundles.filter(({ cas }) => !cas.some((ca) => ca.fingerprint256 === root.fingerprint256 || spki(ca).equals(spki(root))));
    if (lacking.length > 0) {
        return fail(
            what,
            lacking
                .map(
                    ({ pod, cas }) =>
                        `the bundle of ${pod} does not hold ${SPIRE_SERVER_OUTPUT}.upstreamAuthority.rootCertificate (${distinguishedName(root.subject)}); ` +
                        `it holds ${describeAuthorities(cas, trustDomain)}`,
                )
                .join("; "),
        );
    }
    const reissued = bundles.some(({ cas }) => !cas.some((ca) => ca.fingerprint256 === root.fingerprint256));
    return pass(
        what,
        `${distinguishedName(root.subject)}${reissued ? " (its public key, in a re-issued certificate)" : ""}, in the bundle of ${bundles.map((b) => b.pod).join(", ")}`,
    );
}

/** A cert-manager Issuer or ClusterIssuer (only the fields the check reads). */
export interface CertManagerIssuerObject {
    metadata?: ObjectMeta;
    status?: { conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

/** cert-manager's own API group: verify reads its Issuers and ClusterIssuers; issuers of other groups are not read. */
export const CERT_MANAGER_GROUP = "cert-manager.io";

/**
 * With the `certManager` upstream authority, SPIRE's upstream root is the `status.ca` of the CertificateRequest the
 * issuer signed for the server's CA (spiffe/spire v1.15.2 pkg/server/plugin/upstreamauthority/certmanager:
 * MintX509CAAndSubscribe returns it as UpstreamX509Roots), and the plugin deletes its CertificateRequests once they
 * are Ready (cleanupStaleCertificateRequests). The issuer's CA itself is in the issuer's Secret, next to its private
 * key, which verify does not read. So verify checks what it can: the issuer (of group cert-manager.io) exists and is
 * Ready, so SPIRE can have its next CA signed; and every replica's bundle holds an X.509 authority that is not a
 * SPIRE self-signed CA, i.e. the server signs through an upstream authority.
 */
export function checkCertManagerRoot(
    trustDomain: string,
    spireNamespace: string,
    upstream: { issuerName: string; issuerKind: string; issuerGroup: string },
    issuer: { object?: CertManagerIssuerObject } | { error: string } | undefined,
    served: ServedBundle[],
): Check {
    const issuerRef = `${upstream.issuerKind} ${upstream.issuerKind === "ClusterIssuer" ? "" : `${spireNamespace}/`}${upstream.issuerName}`;
    const what = `SPIRE trust bundle's X.509 root comes from cert-manager ${issuerRef}`;
    const problems: string[] = [];
    let issuerNote = `issuer group ${upstream.issuerGroup} not read`;
    if (issuer !== undefined) {
        if ("error" in issuer) {
            problems.push(`could not read the ${upstream.issuerKind}: ${issuer.error}`);
        } else if (issuer.object === undefined) {
            problems.push(`the ${upstream.issuerKind} was not found`);
        } else {
            const ready = issuer.object.status?.conditions?.find((c) => c.type === "Ready");
            if (ready?.status !== "True") {
                problems.push(
                    `the ${upstream.issuerKind} is not Ready${ready ? ` (${ready.reason ?? "no reason"}: ${ready.message ?? "no message"})` : " (no Ready condition)"}: SPIRE cannot have its next CA signed`,
                );
            }
            issuerNote = `the ${upstream.issuerKind} is Ready`;
        }
    }
    const bundles = validBundles(served);
    if (bundles.length === 0) {
        problems.push("no replica served a trust bundle to compare");
    }
    for (const { pod, cas } of bundles) {
        if (cas.every((ca) => isSpireSelfSignedCa(ca, trustDomain))) {
            problems.push(`the bundle of ${pod} holds ${describeAuthorities(cas, trustDomain)}`);
        }
    }
    if (problems.length > 0) {
        return fail(what, problems.join("; "));
    }
    const roots = [
        ...new Set(bundles.flatMap(({ cas }) => cas.filter((ca) => !isSpireSelfSignedCa(ca, trustDomain)).map((ca) => distinguishedName(ca.subject)))),
    ];
    return pass(what, `${issuerNote}; roots ${roots.join("; ")}; not compared with the issuer's CA, which only its Secret holds`);
}

// ---------------------------------------------------------------------------------------------------------------
// Output

export const GROUPS = ["SPIRE is up", "SPIRE servers", "Workloads are registered", "Istio is up", "Proxies hold SPIRE-issued SVIDs", "Federation"] as const;
export type Group = (typeof GROUPS)[number];

export interface GroupedCheck extends Check {
    group: Group;
}

const MARKS = {
    unicode: { pass: "✔", fail: "✘", warn: "!" },
    ascii: { pass: "[ok]", fail: "[FAIL]", warn: "[warn]" },
};

/** One line per check under its group's heading, then the summary. */
export function formatReport(title: string, checks: GroupedCheck[], ascii = false): string {
    const marks = ascii ? MARKS.ascii : MARKS.unicode;
    const lines = [title];
    for (const group of GROUPS) {
        const inGroup = checks.filter((c) => c.group === group);
        if (inGroup.length === 0) {
            continue;
        }
        lines.push("", group);
        for (const c of inGroup) {
            const tail = c.why === undefined ? "" : c.verdict === "pass" ? ` (${c.why})` : `: ${c.why}`;
            lines.push(`  ${marks[c.verdict]} ${c.what}${tail}`);
        }
    }
    lines.push("", summaryLine(checks));
    return `${lines.join("\n")}\n`;
}

export function summaryLine(checks: Check[]): string {
    const failed = checks.filter((c) => c.verdict === "fail").length;
    const warnings = checks.filter((c) => c.verdict === "warn").length;
    return `${checks.length} checks, ${failed} failed${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : ""}`;
}

/** 1 when any check failed (warnings do not fail a run), else 0. */
export function exitCode(checks: Check[]): number {
    return checks.some((c) => c.verdict === "fail") ? 1 : 0;
}
