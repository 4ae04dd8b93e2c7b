// The istio-spire policy pack: what the mesh relies on, checked on every resource a stack declares, whether it comes
// from this program or from anyone composing its components.
//
// Resource policies see a resource's inputs before it is created or changed. Stack policies see every resource's
// outputs at the end of a preview or update (the root `pulumi:pulumi:Stack` resource's outputs are the stack
// outputs); they are used where a check needs more than one resource (the spire release's trust domain, the declared
// federated trust domains, the mesh-wide PeerAuthentication).
//
// Each check is a plain exported function returning its violations, so tests call it directly.

import {
    Policies,
    ResourceValidationPolicy,
    StackValidationPolicy,
    UnknownValueError as untypedUnknownValueError,
} from "@pulumi/policy";

/**
 * The error the analyzer's property proxy throws when a policy reads a value that is unknown during a preview.
 * @pulumi/policy exports it at runtime (index.js) but its published typings leave it out (marked internal).
 */
export const UnknownValueError: new (...args: any[]) => Error = untypedUnknownValueError;

export const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";
export const CLUSTER_FEDERATED_TRUST_DOMAIN = "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain";
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
export const SERVICE = "kubernetes:core/v1:Service";
export const PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication";
/** The older API version of PeerAuthentication; Istio serves both. */
export const PEER_AUTHENTICATION_V1BETA1 = "kubernetes:security.istio.io/v1beta1:PeerAuthentication";
export const ROOT_STACK = "pulumi:pulumi:Stack";

/** The spire chart's server pod labels: `app.kubernetes.io/name: server`, `app.kubernetes.io/instance: <release>`. */
export const NAME_LABEL = "app.kubernetes.io/name";
export const INSTANCE_LABEL = "app.kubernetes.io/instance";
export const SPIRE_SERVER_NAME_LABEL_VALUE = "server";
/** The SPIRE server's bundle endpoint: the container port named `federation` (chart default 8443). */
export const BUNDLE_ENDPOINT_TARGETS: readonly (string | number)[] = ["federation", 8443];
/** Istio's root namespace when the istiod chart is given none (its `global.istioNamespace` default). */
export const DEFAULT_ISTIO_ROOT_NAMESPACE = "istio-system";

/** What the checks read of a resource: `ResourceValidationArgs` and `PolicyResource` both have it. */
export interface CheckedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
}

/** A violation found by a stack-wide check: the message and the resource it belongs to (none: the whole stack). */
export interface StackViolation {
    message: string;
    urn?: string;
}

// ------------------------------------------------------------------------------------------------------------------
// Small helpers

/** JSON-quotes a value for a message; `absent` for undefined. */
export function show(value: unknown): string {
    return value === undefined ? "absent" : JSON.stringify(value);
}

/** `<type> "<name>"`: how every message names a resource. */
export function describeResource(r: { type: string; name: string }): string {
    return `${r.type} ${JSON.stringify(r.name)}`;
}

/** JSON with object keys sorted, so a message reads the same whatever order the engine delivered the keys in. */
function sortedJson(value: Record<string, unknown>): string {
    return JSON.stringify(Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]])));
}

function isObject(value: unknown): value is Record<string, any> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The chart name of a Helm release's `chart` ("spire", "spiffe/spire", "oci://ghcr.io/.../spire" all give "spire"). */
export function chartName(chart: unknown): string | undefined {
    if (typeof chart !== "string") {
        return undefined;
    }
    const segments = chart.replace(/\/+$/, "").split("/");
    return segments[segments.length - 1];
}

function isReleaseOf(r: CheckedResource, chart: string): boolean {
    return r.type === HELM_RELEASE && chartName(r.props.chart) === chart;
}

/** A Helm release of the spire chart (SPIRE server, agents, controller manager). */
export function isSpireRelease(r: CheckedResource): boolean {
    return isReleaseOf(r, "spire");
}

/** Go template truthiness, as the charts' `{{ if .Values.x }}` sees a value: the string "false" is true. */
function goTruthy(value: unknown): boolean {
    if (value === undefined || value === null || value === false || value === 0 || value === "") {
        return false;
    }
    if (Array.isArray(value)) {
        return value.length > 0;
    }
    return isObject(value) ? Object.keys(value).length > 0 : true;
}

// ------------------------------------------------------------------------------------------------------------------
// 1. ClusterSPIFFEIDs never register admin identities

/** Violations of a ClusterSPIFFEID that makes its workloads SPIRE admins. */
export function checkClusterSpiffeIdNotAdmin(r: CheckedResource): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const admin = r.props.spec?.admin;
    if (admin === undefined || admin === null || admin === false) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.admin is ${show(admin)}; expected false or absent: an admin SVID may call the ` +
            "SPIRE server's admin APIs (create, change and delete any registration entry), which no workload needs",
    ];
}

export const clusterSpiffeIdNotAdmin: ResourceValidationPolicy = {
    name: "cluster-spiffe-id-not-admin",
    description: "ClusterSPIFFEIDs never set spec.admin: true (admin SVIDs may manage every registration entry).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkClusterSpiffeIdNotAdmin(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 2. ClusterSPIFFEIDs always select

/** True for a label selector with at least one matchLabels entry or matchExpressions item. */
export function isNonEmptyLabelSelector(selector: unknown): boolean {
    if (!isObject(selector)) {
        return false;
    }
    const labels = selector.matchLabels;
    const expressions = selector.matchExpressions;
    return (isObject(labels) && Object.keys(labels).length > 0) || (Array.isArray(expressions) && expressions.length > 0);
}

/** Violations of a ClusterSPIFFEID whose selectors select every pod of every namespace. */
export function checkClusterSpiffeIdSelects(r: CheckedResource): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const spec = r.props.spec ?? {};
    if (isNonEmptyLabelSelector(spec.podSelector) || isNonEmptyLabelSelector(spec.namespaceSelector)) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.podSelector is ${show(spec.podSelector)} and spec.namespaceSelector is ` +
            `${show(spec.namespaceSelector)}; expected at least one of them with non-empty matchLabels or ` +
            "matchExpressions: without one, the ClusterSPIFFEID gives an identity to every pod in every namespace",
    ];
}

export const clusterSpiffeIdSelects: ResourceValidationPolicy = {
    name: "cluster-spiffe-id-has-selector",
    description:
        "ClusterSPIFFEIDs have a non-empty spec.podSelector or spec.namespaceSelector (an empty one selects every pod).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkClusterSpiffeIdSelects(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 3. ClusterSPIFFEIDs stay inside this stack's trust domain

/** Name of policy 3, whose config may set the trust domain. */
export const CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN = "cluster-spiffe-id-in-trust-domain";

/** The trust domain ClusterSPIFFEIDs must use, and where it was found; or why it could not be determined. */
export type TrustDomainResolution = { trustDomain: string; source: string } | { problem: string };

/**
 * This stack's trust domain: the policy config's `trustDomain` if set, else `values.global.spire.trustDomain` of
 * the stack's spire release(s).
 */
export function resolveStackTrustDomain(resources: CheckedResource[], configured?: unknown): TrustDomainResolution {
    if (typeof configured === "string" && configured !== "") {
        return { trustDomain: configured, source: 'policy config "trustDomain"' };
    }
    const declared = new Map<string, CheckedResource>();
    for (const release of resources.filter(isSpireRelease)) {
        const td = release.props.values?.global?.spire?.trustDomain;
        if (typeof td === "string" && td !== "" && !declared.has(td)) {
            declared.set(td, release);
        }
    }
    if (declared.size === 1) {
        const [[trustDomain, release]] = [...declared];
        return { trustDomain, source: `values.global.spire.trustDomain of ${describeResource(release)}` };
    }
    const configHint =
        `set the property "trustDomain" of policy "${CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN}" in the policy pack config ` +
        `(a JSON file given with --policy-pack-config, e.g. {"${CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN}": {"trustDomain": "cluster1.demo"}})`;
    if (declared.size > 1) {
        return {
            problem:
                `cannot tell this stack's trust domain: its ${HELM_RELEASE} resources of chart "spire" set ` +
                `values.global.spire.trustDomain to ${[...declared.keys()].map((td) => JSON.stringify(td)).join(" and ")}; ` +
                configHint,
        };
    }
    return {
        problem:
            `cannot tell this stack's trust domain: no ${HELM_RELEASE} of chart "spire" sets ` +
            `values.global.spire.trustDomain and the policy config has none; declare the spire release here or ${configHint}`,
    };
}

/** A SPIFFE ID template inside the controller manager's own trust domain: `spiffe://{{ .TrustDomain }}/...`. */
const TRUST_DOMAIN_TEMPLATE_PREFIX = /^spiffe:\/\/\{\{\s*\.TrustDomain\s*\}\}\//;

/** Violations of a ClusterSPIFFEID whose SPIFFE ID template is not inside `trustDomain`. */
export function checkSpiffeIdTemplateInTrustDomain(r: CheckedResource, trustDomain: string, source: string): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const template = r.props.spec?.spiffeIDTemplate;
    if (typeof template === "string" && (template.startsWith(`spiffe://${trustDomain}/`) || TRUST_DOMAIN_TEMPLATE_PREFIX.test(template))) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.spiffeIDTemplate is ${show(template)}; expected a SPIFFE ID in this stack's trust ` +
            `domain ${JSON.stringify(trustDomain)} (${source}), starting with "spiffe://${trustDomain}/" or ` +
            '"spiffe://{{ .TrustDomain }}/"',
    ];
}

/** All violations of check 3 in a stack. */
export function checkClusterSpiffeIdsInTrustDomain(resources: CheckedResource[], configured?: unknown): StackViolation[] {
    const ids = resources.filter((r) => r.type === CLUSTER_SPIFFE_ID);
    if (ids.length === 0) {
        return [];
    }
    const resolution = resolveStackTrustDomain(resources, configured);
    if ("problem" in resolution) {
        return [{ message: resolution.problem }];
    }
    return ids.flatMap((r) =>
        checkSpiffeIdTemplateInTrustDomain(r, resolution.trustDomain, resolution.source).map((message) => ({ message, urn: r.urn })),
    );
}

export const clusterSpiffeIdInTrustDomain: StackValidationPolicy = {
    name: CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN,
    description:
        "ClusterSPIFFEID spec.spiffeIDTemplate is inside this stack's trust domain (the spire release's " +
        "values.global.spire.trustDomain, or the policy config's trustDomain).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            trustDomain: {
                type: "string",
                description: "This stack's SPIFFE trust domain; overrides the spire release's values.global.spire.trustDomain.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const { trustDomain } = args.getConfig<{ trustDomain?: string }>();
        for (const v of checkClusterSpiffeIdsInTrustDomain(args.resources, trustDomain)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 4. federatesWith names only declared federation relationships

/** The trust domains the stack declares ClusterFederatedTrustDomains for. */
export function declaredFederatedTrustDomains(resources: CheckedResource[]): string[] {
    const tds = resources
        .filter((r) => r.type === CLUSTER_FEDERATED_TRUST_DOMAIN)
        .map((r) => r.props.spec?.trustDomain)
        .filter((td): td is string => typeof td === "string");
    return [...new Set(tds)].sort();
}

/** Violations of a ClusterSPIFFEID that federates with trust domains not in `declared`. */
export function checkFederatesWith(r: CheckedResource, declared: string[]): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const federatesWith: unknown = r.props.spec?.federatesWith;
    if (!Array.isArray(federatesWith)) {
        return [];
    }
    const known = declared.length > 0 ? declared.map((td) => JSON.stringify(td)).join(", ") : "none";
    return federatesWith
        .filter((td) => !declared.includes(td))
        .map(
            (td) =>
                `${describeResource(r)}: spec.federatesWith names ${show(td)}, for which the stack declares no ` +
                `${CLUSTER_FEDERATED_TRUST_DOMAIN} (declared: ${known}); expected only federated trust domains: ` +
                "SPIRE has no bundle for it and refuses the registration entry",
        );
}

/** All violations of check 4 in a stack. */
export function checkClusterSpiffeIdsFederateWithDeclared(resources: CheckedResource[]): StackViolation[] {
    const declared = declaredFederatedTrustDomains(resources);
    return resources
        .filter((r) => r.type === CLUSTER_SPIFFE_ID)
        .flatMap((r) => checkFederatesWith(r, declared).map((message) => ({ message, urn: r.urn })));
}

export const clusterSpiffeIdFederatesWithDeclared: StackValidationPolicy = {
    name: "cluster-spiffe-id-federates-with-declared",
    description:
        "ClusterSPIFFEID spec.federatesWith only names trust domains the stack declares a ClusterFederatedTrustDomain for.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkClusterSpiffeIdsFederateWithDeclared(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 5a. No Service exposes the SPIRE server API outside the cluster

/**
 * The `app.kubernetes.io/instance` values of the stack's SPIRE server pods (the spire releases' names), or
 * undefined when any value may be SPIRE's: no spire release in this stack (SPIRE installed elsewhere) or one whose
 * name is not known.
 */
export function spireServerInstances(resources: CheckedResource[]): string[] | undefined {
    const names = resources.filter(isSpireRelease).map((r) => r.props.name);
    if (names.length === 0 || names.some((n) => typeof n !== "string" || n === "")) {
        return undefined;
    }
    return [...new Set(names as string[])].sort();
}

/**
 * True when a Service selector selects SPIRE server pods: it requires `app.kubernetes.io/name: server` and
 * nothing else than, optionally, `app.kubernetes.io/instance` of one of `instances` (undefined: any).
 */
export function selectsSpireServerPods(selector: unknown, instances: string[] | undefined): boolean {
    if (!isObject(selector) || selector[NAME_LABEL] !== SPIRE_SERVER_NAME_LABEL_VALUE) {
        return false;
    }
    return Object.entries(selector).every(
        ([key, value]) =>
            key === NAME_LABEL || (key === INSTANCE_LABEL && (instances === undefined || instances.includes(value))),
    );
}

/** How a Service spec makes it reachable from outside the cluster, or undefined when it does not. */
export function externalExposure(spec: Record<string, any>): string | undefined {
    if (spec.type === "LoadBalancer" || spec.type === "NodePort") {
        return `type ${spec.type}`;
    }
    if (Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0) {
        return `externalIPs ${JSON.stringify(spec.externalIPs)}`;
    }
    return undefined;
}

/** True for a Service port that reaches the bundle endpoint: its target (targetPort, else port) is `federation` or 8443. */
export function isBundleEndpointPort(port: Record<string, any>): boolean {
    const target = port.targetPort ?? port.port;
    return BUNDLE_ENDPOINT_TARGETS.includes(target);
}

/** Violations of a Service that exposes more than the bundle endpoint of SPIRE server pods outside the cluster. */
export function checkServiceExposesOnlyBundleEndpoint(r: CheckedResource, instances: string[] | undefined): string[] {
    if (r.type !== SERVICE) {
        return [];
    }
    const spec = r.props.spec ?? {};
    const exposure = externalExposure(spec);
    if (exposure === undefined || !selectsSpireServerPods(spec.selector, instances)) {
        return [];
    }
    const ports: Record<string, any>[] = Array.isArray(spec.ports) ? spec.ports : [];
    return ports
        .filter((port) => !isBundleEndpointPort(port))
        .map(
            (port) =>
                `${describeResource(r)}: ${exposure} exposes port ${show(port.port)} (name ${show(port.name)}, targetPort ` +
                `${show(port.targetPort)}) of the SPIRE server pods (selector ${sortedJson(spec.selector)}) outside the ` +
                'cluster; expected only the bundle endpoint (targetPort "federation" or 8443): the server API (8081, ' +
                'targetPort "grpc") must stay inside the cluster',
        );
}

/** All violations of check 5a in a stack. */
export function checkSpireServerApiNotExposed(resources: CheckedResource[]): StackViolation[] {
    const instances = spireServerInstances(resources);
    return resources
        .filter((r) => r.type === SERVICE)
        .flatMap((r) => checkServiceExposesOnlyBundleEndpoint(r, instances).map((message) => ({ message, urn: r.urn })));
}

export const spireServerApiNotExposed: StackValidationPolicy = {
    name: "spire-server-api-not-exposed",
    description:
        "A LoadBalancer, NodePort or externalIPs Service selecting SPIRE server pods exposes only the bundle endpoint " +
        "(targetPort federation/8443), never the server API.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkSpireServerApiNotExposed(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 5b. The spire chart's own spire-server Service stays internal

/**
 * Violations of a spire release whose values expose the chart's spire-server Service outside the cluster. In chart
 * 0.30.0 that Service always carries the server API (port `grpc`, service.port → 8081); `service.type`,
 * `ingress.enabled` and `gatewayAPI.enabled` publish it. `federation.ingress` and `federation.gatewayAPI` route only
 * to the bundle endpoint port and are allowed.
 */
export function checkSpireChartServerServiceInternal(r: CheckedResource): string[] {
    if (!isSpireRelease(r)) {
        return [];
    }
    const server = r.props.values?.["spire-server"] ?? {};
    const violations: string[] = [];
    const type = server.service?.type;
    if (type !== undefined && type !== "ClusterIP") {
        violations.push(
            `${describeResource(r)}: values["spire-server"].service.type is ${show(type)}; expected "ClusterIP" or ` +
                'absent: the chart\'s spire-server Service carries the server API (port "grpc", 8081), so it must stay ' +
                "inside the cluster; publish only the bundle endpoint, with a Service of its own",
        );
    }
    for (const [key, what] of [
        ["ingress", "Ingress"],
        ["gatewayAPI", "Gateway API TLSRoute"],
    ] as const) {
        const enabled = server[key]?.enabled;
        if (goTruthy(enabled)) {
            violations.push(
                `${describeResource(r)}: values["spire-server"].${key}.enabled is ${show(enabled)}; expected false or ` +
                    `absent: the chart's ${what} routes to the spire-server Service's server API port (service.port); ` +
                    `to publish the bundle endpoint use values["spire-server"].federation.${key} instead`,
            );
        }
    }
    return violations;
}

export const spireChartServerServiceInternal: ResourceValidationPolicy = {
    name: "spire-chart-server-service-internal",
    description:
        'The spire chart\'s spire-server Service stays ClusterIP and is not published by its Ingress or Gateway API ' +
        "route (they carry the server API).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkSpireChartServerServiceInternal(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 6. STRICT mesh-wide mTLS is not weakened

function isPeerAuthentication(r: CheckedResource): boolean {
    return r.type === PEER_AUTHENTICATION || r.type === PEER_AUTHENTICATION_V1BETA1;
}

/**
 * Istio's root namespace(s): per istiod release, `values.meshConfig.rootNamespace`, else `values.global.istioNamespace`
 * (what the istiod chart's mesh ConfigMap template falls back to), else the chart default "istio-system".
 */
export function istioRootNamespaces(resources: CheckedResource[]): string[] {
    const namespaces = resources
        .filter((r) => isReleaseOf(r, "istiod"))
        .map((r) => r.props.values?.meshConfig?.rootNamespace || r.props.values?.global?.istioNamespace || DEFAULT_ISTIO_ROOT_NAMESPACE);
    return namespaces.length > 0 ? [...new Set<string>(namespaces)].sort() : [DEFAULT_ISTIO_ROOT_NAMESPACE];
}

function namespaceOf(r: CheckedResource): string {
    return r.props.metadata?.namespace || "default";
}

/** True for a PeerAuthentication that applies to the whole mesh: in a root namespace, without workload selector. */
function isMeshWide(r: CheckedResource, roots: string[]): boolean {
    const selector = r.props.spec?.selector;
    const selects = isObject(selector) && isObject(selector.matchLabels) && Object.keys(selector.matchLabels).length > 0;
    return roots.includes(namespaceOf(r)) && !selects;
}

/** mTLS modes that let plaintext (PERMISSIVE) or nothing but plaintext (DISABLE) through. UNSET inherits. */
const WEAKER_MODES = ["PERMISSIVE", "DISABLE"];

/** All violations of check 6 in a stack. */
export function checkMeshMtlsStrict(resources: CheckedResource[]): StackViolation[] {
    const roots = istioRootNamespaces(resources);
    const policies = resources.filter(isPeerAuthentication);
    const meshWide = policies.filter((r) => isMeshWide(r, roots));
    const violations: StackViolation[] = [];
    for (const extra of meshWide.slice(1)) {
        violations.push({
            urn: extra.urn,
            message:
                `${describeResource(extra)}: is a second mesh-wide PeerAuthentication (namespace ` +
                `${JSON.stringify(namespaceOf(extra))}, no selector) besides ${describeResource(meshWide[0])}; expected at ` +
                "most one: Istio applies only the oldest, so which mode holds would depend on creation order",
        });
    }
    const strict = meshWide.find((r) => r.props.spec?.mtls?.mode === "STRICT");
    if (strict === undefined) {
        return violations;
    }
    const expected = `expected "STRICT" or "UNSET" (inherit): the mesh-wide ${describeResource(strict)} requires STRICT mTLS`;
    for (const r of policies.filter((p) => p !== strict)) {
        const where = `${describeResource(r)} (namespace ${JSON.stringify(namespaceOf(r))})`;
        const mode = r.props.spec?.mtls?.mode;
        if (WEAKER_MODES.includes(mode)) {
            violations.push({ urn: r.urn, message: `${where}: spec.mtls.mode is ${show(mode)}; ${expected}` });
        }
        const portLevel = r.props.spec?.portLevelMtls;
        if (isObject(portLevel)) {
            for (const [port, setting] of Object.entries(portLevel)) {
                if (WEAKER_MODES.includes(setting?.mode)) {
                    violations.push({
                        urn: r.urn,
                        message: `${where}: spec.portLevelMtls[${JSON.stringify(port)}].mode is ${show(setting.mode)}; ${expected}`,
                    });
                }
            }
        }
    }
    return violations;
}

export const meshMtlsStrict: StackValidationPolicy = {
    name: "mesh-mtls-strict",
    description:
        "At most one mesh-wide PeerAuthentication; when it is STRICT, no other PeerAuthentication sets PERMISSIVE or " +
        "DISABLE, for the workload or any port.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkMeshMtlsStrict(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 7. No private key material in stack outputs

/** A private key found in a value: where (a path such as `federation.trustBundle(json).keys[0]`) and what. */
export interface PrivateKeyFinding {
    path: string;
    what: string;
}

/** A PEM private key block header of any kind: PKCS#8, RSA, EC, DSA, ENCRYPTED, OPENSSH, PGP ... */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----/;
const MAX_DEPTH = 64;

function childPath(path: string, key: string | number): string {
    if (typeof key === "number") {
        return `${path}[${key}]`;
    }
    if (/^[A-Za-z_$][\w$]*$/.test(key)) {
        return path === "" ? key : `${path}.${key}`;
    }
    return `${path}[${JSON.stringify(key)}]`;
}

/** Reads a member; undefined for a value unknown during a preview (it is checked when it is known, on update). */
function readKnown(container: any, key: string | number): { value: unknown } | undefined {
    try {
        return { value: container[key] };
    } catch (error) {
        if (error instanceof UnknownValueError) {
            return undefined;
        }
        throw error;
    }
}

/** Parses a string that holds a JSON object or array; undefined for anything else. */
function parseJsonDocument(text: string): unknown {
    const trimmed = text.trim();
    if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) {
        return undefined;
    }
    try {
        return JSON.parse(trimmed);
    } catch {
        return undefined;
    }
}

/**
 * Finds private key material at any depth of a value: PEM private key blocks in strings, and private JWKs (an object
 * with `kty` and the private member `d`), also inside strings that hold JSON (`(json)` in the path marks one).
 */
export function findPrivateKeyMaterial(value: unknown, path = "", depth = 0): PrivateKeyFinding[] {
    if (depth > MAX_DEPTH) {
        return [];
    }
    if (typeof value === "string") {
        const findings: PrivateKeyFinding[] = [];
        const pem = PEM_PRIVATE_KEY.exec(value);
        if (pem !== null) {
            findings.push({ path, what: `a PEM private key block (${JSON.stringify(pem[0])})` });
        }
        const document = parseJsonDocument(value);
        if (document !== undefined) {
            findings.push(...findPrivateKeyMaterial(document, `${path}(json)`, depth + 1));
        }
        return findings;
    }
    if (typeof value !== "object" || value === null) {
        return [];
    }
    // Indexes, not value.map: reading an element that is unknown in a preview throws.
    const keys: (string | number)[] = Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => i) : Object.keys(value);
    if (!Array.isArray(value) && keys.includes("kty") && keys.includes("d")) {
        const kty = readKnown(value, "kty");
        return [{ path, what: `a private JWK (kty ${show(kty?.value)} with private member "d")` }];
    }
    return keys.flatMap((key) => {
        const member = readKnown(value, key);
        return member === undefined ? [] : findPrivateKeyMaterial(member.value, childPath(path, key), depth + 1);
    });
}

/** Violations of the root stack resource (its properties are the stack outputs) carrying private keys. */
export function checkStackOutputsHaveNoPrivateKeys(resources: CheckedResource[]): StackViolation[] {
    return resources
        .filter((r) => r.type === ROOT_STACK)
        .flatMap((stack) =>
            findPrivateKeyMaterial(stack.props).map((finding) => ({
                urn: stack.urn,
                message:
                    `${describeResource(stack)}: output ${finding.path} contains ${finding.what}; expected only public ` +
                    "key material (certificates, public JWKs) in stack outputs: they are kept in the stack's state " +
                    "and shown to everyone who can read the stack (secret ones with --show-secrets)",
            })),
        );
}

export const noPrivateKeysInStackOutputs: StackValidationPolicy = {
    name: "no-private-keys-in-stack-outputs",
    description: "Stack outputs contain no PEM private key block and no private JWK, at any depth, JSON strings included.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkStackOutputsHaveNoPrivateKeys(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------

/** Every policy of the pack, in the order above. */
export const policies: Policies = [
    clusterSpiffeIdNotAdmin,
    clusterSpiffeIdSelects,
    clusterSpiffeIdInTrustDomain,
    clusterSpiffeIdFederatesWithDeclared,
    spireServerApiNotExposed,
    spireChartServerServiceInternal,
    meshMtlsStrict,
    noPrivateKeysInStackOutputs,
];
