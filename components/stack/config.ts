// The stack's configuration contract: the keys, their defaults (the same as Pulumi.yaml's `config:` block, which a
// test keeps in step) and the validation that runs before any resource is declared.
//
// It stands above the areas (docs/architecture.md): it reads the settings of all of them, with the defaults and checks
// each area declares (chart pins, datastore, upstream authority, observability access), and no area imports it.

import * as pulumi from "@pulumi/pulumi";
import { ISTIO_CHART_REPOSITORY, ISTIO_VERSION } from "../mesh/istioOperator";
import { ServiceType, kubernetesConfigProblems } from "../kubernetes";
import { OBSERVABILITY_ACCESS_LEVELS, ObservabilityAccess } from "../addons/observability";
import { BundleEndpointProfile, PeerStackRef } from "../mesh/federation";
import { SPIRE_CHART_REPOSITORY, SPIRE_CHART_VERSION, SPIRE_CRDS_CHART_VERSION } from "../mesh/spire";
import { SpireDataStore, dataStorePasswordProblem, parseSpireDataStore } from "../mesh/spireDataStore";
import { SpireUpstreamAuthority, parseSpireUpstreamAuthority, upstreamCertificateProblems } from "../mesh/spireUpstream";
import {
    checkBundleEndpointUrl,
    checkChartRepository,
    checkConfigNamespace,
    checkDnsLabel,
    checkDnsName,
    checkDuration,
    checkHostname,
    checkOwnedNamespace,
    checkPinnedVersion,
    checkRefreshHint,
    checkTrustDomain,
    checkX509SubjectAttribute,
    describeProblem,
    firstDuplicate,
    parseDuration,
    quote,
    throwIfProblems,
} from "../validation";
import { SUPPORTED_ISTIO_VERSIONS, istioVersionProblem, spireChartPairProblem } from "../versions";

/** The Pulumi project name; config keys live in its namespace and peer stacks are `<org>/istio-spire/<stack>`. */
export const PROJECT_NAME = "istio-spire";

export type MtlsMode = "STRICT" | "PERMISSIVE";

/** The sample applications a stack can deploy (the runbooks' demos). */
export const SAMPLE_NAMES = ["sleep-httpbin", "bookinfo", "curl-greeter"] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

/**
 * What a stack can take over from a cluster built from the runbooks instead of creating it (config `adopt`), each
 * with Pulumi's `import` resource option: the engine reads the existing object into the stack, then diffs it against
 * the program like any other resource (an update, never a re-creation; docs/adoption.md). Runbook seed 003 (Helm
 * releases spire-crds and spire in spire-server, an istioctl Istio in istio-system, ClusterSPIFFEID
 * istio-ingressgateway-reg) needs all four.
 */
export const ADOPTABLE = ["spire-namespace", "spire-releases", "istio-namespace", "gateway-registration"] as const;
export type Adoptable = (typeof ADOPTABLE)[number];

/** An Istio control plane revision (config `istioRevisions`): its own istiod release at `version`. */
export interface IstioRevision {
    /** The revision name, a DNS-1123 label (`istio.io/rev=<name>`). */
    name: string;
    /** The Istio version of its istiod chart (one of SUPPORTED_ISTIO_VERSIONS). */
    version: string;
}

/** The validated configuration of one stack (one cluster). */
export interface StackConfig {
    /** SPIFFE trust domain shared by SPIRE and Istio's `meshConfig.trustDomain`. */
    trustDomain: string;
    /** Cluster name SPIRE's k8s_psat node attestation uses. */
    clusterName: string;
    /** Stacks to federate with. */
    peers: PeerStackRef[];
    spireNamespace: string;
    istioNamespace: string;
    spireChartRepository: string;
    spireChartVersion: string;
    spireCrdsChartVersion: string;
    istioChartRepository: string;
    istioChartVersion: string;
    caTTL: string;
    caSubjectCountry: string;
    caSubjectOrganization: string;
    /** Empty means: the trust domain. */
    caSubjectCommonName: string;
    federationRefreshHint: string;
    bundleEndpointServiceType: ServiceType;
    /** Empty means: derived from the bundle endpoint Service's load balancer status. */
    bundleEndpointUrl: string;
    bundleEndpointProfile: BundleEndpointProfile;
    /** https_web only: existing kubernetes.io/tls Secret (SPIRE namespace) with the endpoint's Web PKI certificate. */
    bundleEndpointTlsSecret: string;
    ingressGatewayName: string;
    ingressGatewayServiceAccount: string;
    ingressGatewayServiceType: ServiceType;
    /** The enrolled namespaces' names (config entries are names or {name, revision}). */
    enrolledNamespaces: string[];
    /** Enrolled namespaces on a revision or tag (`istio.io/rev=<value>`); the others are on the default tag. */
    namespaceRevisions: Record<string, string>;
    /** Istio control plane revisions; empty: the single control plane at istioChartVersion, no revision. */
    istioRevisions: IstioRevision[];
    /** Revision tags: tag → revision name (istiod's revisionTags). */
    istioRevisionTags: Record<string, string>;
    /** The revision or tag that injects the ingress gateway; empty: the default. */
    ingressGatewayRevision: string;
    mtlsMode: MtlsMode;
    nativeSidecars: boolean;
    /** Sample applications to deploy, in samplesNamespace. */
    samples: SampleName[];
    /** Namespace of the samples; must be enrolled. */
    samplesNamespace: string;
    /** Prometheus and Kiali in the Istio namespace. */
    observability: boolean;
    /** Grafana too (needs observability). */
    observabilityGrafana: boolean;
    /** What anonymous users of Kiali and Grafana may do: "view" (default) or "edit" (explicit opt-in). */
    observabilityAccess: ObservabilityAccess;
    /** `protect` the SPIRE namespace and spire release (CA keys, datastore) against deletion and replacement. */
    protectSpire: boolean;
    /** Existing objects to import rather than create (see ADOPTABLE). */
    adopt: Adoptable[];
    /** Number of SPIRE servers; more than one needs an SQL datastore. */
    spireServerReplicas: number;
    /** Where SPIRE keeps registrations, attested nodes and bundles (the password is the secret key spireDataStorePassword). */
    spireDataStore: SpireDataStore;
    /** Where the trust domain's root comes from (the disk root is in the secret keys spireUpstreamCertificate/Key). */
    spireUpstreamAuthority: SpireUpstreamAuthority;
    /**
     * The operator's acknowledgement of a change of the datastore or upstream authority of a deployed stack: the
     * exact text the refusal names (see spireChange.ts). Empty: none.
     */
    spireChangeAcknowledged: string;
}

/** Defaults of every optional key; Pulumi.yaml declares the same values (checked by a test). */
export const CONFIG_DEFAULTS = {
    peers: [] as PeerStackRef[],
    spireNamespace: "spire-server",
    istioNamespace: "istio-system",
    spireChartRepository: SPIRE_CHART_REPOSITORY,
    spireChartVersion: SPIRE_CHART_VERSION,
    spireCrdsChartVersion: SPIRE_CRDS_CHART_VERSION,
    istioChartRepository: ISTIO_CHART_REPOSITORY,
    istioChartVersion: ISTIO_VERSION,
    caTTL: "720h",
    caSubjectCountry: "US",
    caSubjectOrganization: "SPIRE",
    caSubjectCommonName: "",
    federationRefreshHint: "5m",
    bundleEndpointServiceType: "LoadBalancer" as ServiceType,
    bundleEndpointUrl: "",
    bundleEndpointProfile: "https_spiffe" as BundleEndpointProfile,
    bundleEndpointTlsSecret: "",
    ingressGatewayName: "istio-ingressgateway",
    ingressGatewayServiceAccount: "istio-ingressgateway-service-account",
    ingressGatewayServiceType: "LoadBalancer" as ServiceType,
    ingressGatewayRevision: "",
    enrolledNamespaces: ["default"] as (string | { name: string; revision: string })[],
    istioRevisions: [] as IstioRevision[],
    istioRevisionTags: {} as Record<string, string>,
    mtlsMode: "STRICT" as MtlsMode,
    nativeSidecars: true,
    samples: [] as SampleName[],
    samplesNamespace: "default",
    observability: false,
    observabilityGrafana: false,
    observabilityAccess: "view" as ObservabilityAccess,
    protectSpire: true,
    adopt: [] as Adoptable[],
    spireServerReplicas: 1,
    spireDataStore: { type: "sqlite3" } as SpireDataStore,
    spireUpstreamAuthority: { type: "none" } as SpireUpstreamAuthority,
    spireChangeAcknowledged: "",
};

/**
 * Keys whose value must be a Pulumi secret (`pulumi config set --secret`); the program refuses a plain value. They are
 * optional and have no default, so Pulumi.yaml cannot declare them: a declared key without a default is required of
 * every stack (pulumi/pulumi sdk/go/common/workspace ValidateStackConfigAndApplyProjectConfig, "is missing
 * configuration value"), and `secret: true` forbids a plain default ("must be encrypted as it's secret",
 * validateStackConfigValue). They are not part of StackConfig: the program reads them as secret Outputs.
 */
export const SECRET_CONFIG_KEYS = ["spireDataStorePassword", "spireUpstreamCertificate", "spireUpstreamKey"] as const;
export type SecretConfigKey = (typeof SECRET_CONFIG_KEYS)[number];

/** Keys whose value is a JSON object, which Pulumi's project config types cannot declare (see Pulumi.yaml). */
export const OBJECT_CONFIG_KEYS = ["spireDataStore", "spireUpstreamAuthority", "istioRevisionTags"] as const;

/** Every key this program reads; anything else set in the project namespace is reported as a likely typo. */
export const CONFIG_KEYS: readonly string[] = ["trustDomain", "clusterName", ...Object.keys(CONFIG_DEFAULTS), ...SECRET_CONFIG_KEYS];

/**
 * The CA TTL must stay several times the federation refresh hint, so that federated servers fetch a new CA's
 * public key before the old one stops signing (the spire-server chart asks for 3-5x).
 */
export const MIN_CA_TTL_TO_REFRESH_HINT_RATIO = 3;

const SERVICE_TYPES: ServiceType[] = ["LoadBalancer", "NodePort", "ClusterIP"];
const STACK_NAME_PART = /^[A-Za-z0-9_.-]+$/;

/** Namespaces that must never be enrolled into the mesh. */
const RESERVED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

/**
 * What each key expects, for the messages about values of the wrong kind (empty, null, a list or mapping where a
 * string is expected). The checks of each key say more once the value is of the right kind.
 */
const EXPECTED: Record<string, string> = {
    trustDomain: 'a SPIFFE trust domain name, e.g. "cluster1.demo"',
    clusterName: 'the cluster\'s name, an RFC 1123 label, e.g. "cluster1"',
    peers: `a list like [{"stack": "<org>/${PROJECT_NAME}/cluster2"}]`,
    spireNamespace: 'a namespace name, e.g. "spire-server"',
    istioNamespace: 'a namespace name, e.g. "istio-system"',
    spireChartRepository: 'an "https://" chart repository URL or an "oci://" registry reference',
    spireChartVersion: 'an exact chart version, e.g. "0.30.0"',
    spireCrdsChartVersion: 'an exact chart version, e.g. "0.6.0"',
    istioChartRepository: 'an "https://" chart repository URL or an "oci://" registry reference',
    istioChartVersion: 'an exact chart version, e.g. "1.30.3"',
    caTTL: 'a duration, e.g. "720h"',
    caSubjectCountry: 'a two-letter ISO 3166 country code, e.g. "US"',
    caSubjectOrganization: 'an organization name, e.g. "SPIRE"',
    caSubjectCommonName: "a common name (empty: the trust domain)",
    federationRefreshHint: 'a duration, e.g. "5m"',
    bundleEndpointServiceType: 'one of "LoadBalancer", "NodePort", "ClusterIP"',
    bundleEndpointUrl: 'an "https://" URL (empty: the load balancer address)',
    bundleEndpointProfile: 'one of "https_spiffe", "https_web"',
    bundleEndpointTlsSecret: "the name of a kubernetes.io/tls Secret (empty: none)",
    ingressGatewayName: 'a name, e.g. "istio-ingressgateway"',
    ingressGatewayServiceAccount: 'a service account name, e.g. "istio-ingressgateway-service-account"',
    ingressGatewayServiceType: 'one of "LoadBalancer", "NodePort", "ClusterIP"',
    enrolledNamespaces: 'a list of namespace names, e.g. ["default"]',
    istioRevisions: 'a list like [{"name": "1-30-3", "version": "1.30.3"}]',
    istioRevisionTags: 'a mapping from tag to revision name, e.g. {"default": "1-30-3"}',
    ingressGatewayRevision: "a revision or tag of istioRevisions / istioRevisionTags (empty: the default)",
    mtlsMode: 'one of "STRICT", "PERMISSIVE"',
    nativeSidecars: '"true" or "false"',
    samples: `a list of ${SAMPLE_NAMES.map((n) => quote(n)).join(", ")}`,
    samplesNamespace: 'a namespace name, e.g. "default"',
    observability: '"true" or "false"',
    observabilityGrafana: '"true" or "false"',
    adopt: `a list of ${ADOPTABLE.map((n) => quote(n)).join(", ")}`,
    spireServerReplicas: 'a whole number of SPIRE servers, at least 1, e.g. "3"',
    spireDataStore: '{"type": "sqlite3"} or {"type": "postgres", "host": "...", "database": "spire", "user": "spire"}',
    spireUpstreamAuthority: '{"type": "none"}, {"type": "generated"}, {"type": "disk"} or {"type": "certManager", "issuerName": "..."}',
    spireChangeAcknowledged: "the change text a refused preview names (empty: none)",
};

/** Keys whose empty value is their default and means something (see the table in docs/configuration.md). */
const EMPTY_IS_DEFAULT = ["caSubjectCommonName", "bundleEndpointUrl", "bundleEndpointTlsSecret", "spireChangeAcknowledged", "ingressGatewayRevision"];

/**
 * Checks the kind of a raw config value before its key's own checks: what Pulumi hands a program is text (config
 * values are strings; lists and mappings arrive as their JSON), so
 * - a YAML null reaches the program as "" from a stack file (pulumi/pulumi sdk/go/common/workspace/loaders.go
 *   checkForEmptyConfig: "No value for configuration key ... is currently treated as an empty string") and as the
 *   text "null" from an ESC environment (pkg/workspace/config.go toPlaintext: nil → config.Plaintext{}, marshalled
 *   as JSON `null`);
 * - a list or mapping given for a string key arrives as its JSON text (sdk/go/common/resource/config/object.go
 *   MarshalString), which no string key of this program can validly start with.
 * `kind` is what the key takes. Returns the problem, or undefined when the key's own checks apply.
 */
export function checkConfigValueKind(key: string, text: string, kind: "string" | "boolean" | "list"): string | undefined {
    const expected = EXPECTED[key] ?? "a value";
    const fallback = key in CONFIG_DEFAULTS ? `, or remove the key for the default ${quote((CONFIG_DEFAULTS as Record<string, unknown>)[key])}` : "";
    if (text === "null") {
        return describeProblem(key, text, `is a YAML null (a key written without a value); expected ${expected}${fallback}`);
    }
    if (text === "" && !EMPTY_IS_DEFAULT.includes(key)) {
        return describeProblem(key, text, `is empty; expected ${expected}${fallback}`);
    }
    if (kind !== "list" && /^[[{]/.test(text)) {
        try {
            const value: unknown = JSON.parse(text);
            if (typeof value === "object" && value !== null) {
                return describeProblem(key, value, `is ${Array.isArray(value) ? "a list" : "a mapping"}, not a ${kind}; expected ${expected}`);
            }
        } catch {
            // Not JSON: a string like any other, left to the key's checks.
        }
    }
    return undefined;
}

/** Where the program runs: the stack's fully qualified name and its config keys in other namespaces. */
export interface ConfigContext {
    /** This stack, `<org>/<project>/<stack>` (pulumi.getOrganization(), getProject(), getStack()). */
    stack?: string;
    /** Every config key set for the stack outside the project namespace, `<namespace>:<key>`. */
    otherKeys?: string[];
    /** Problems of keys outside the project namespace (kubernetes.ts kubernetesConfigProblems), reported first. */
    otherProblems?: string[];
    /** The project keys whose values are Pulumi secrets (`pulumi config set --secret`). */
    secretKeys?: string[];
    /** The time the upstream certificate must be valid at. @default now */
    now?: Date;
}

/** The host under which this stack's Bookinfo is served to peers (`bookinfo.<trust domain>`). */
export function bookinfoHost(trustDomain: string): string {
    return `bookinfo.${trustDomain}`;
}

/** Reads a raw config value by key (unset: undefined); arrays and objects arrive as JSON text, like Pulumi's. */
export type RawConfigReader = (key: string) => string | undefined;

/**
 * Validates raw configuration and applies defaults. Collects every problem and throws one ValidationError whose
 * message lists them, one line each, each naming the key, quoting the value and saying what is expected.
 * `setKeys` (the project keys the stack sets) lets it report unknown keys, usually typos such as `trustdomain`;
 * `context` lets it refuse keys in a misspelt namespace and a peer that is this stack itself, and carries the problems
 * of keys outside the project namespace (such as `kubernetes:context`), reported first, in the same error.
 */
export function parseStackConfig(read: RawConfigReader, setKeys: string[] = [], context: ConfigContext = {}): StackConfig {
    const problems: string[] = [...(context.otherProblems ?? [])];
    const report = (key: string, value: unknown, reason: string) => problems.push(describeProblem(key, value, reason));
    for (const key of [...(context.otherKeys ?? [])].sort()) {
        const colon = key.indexOf(":");
        const reason = checkConfigNamespace(key.slice(0, colon), PROJECT_NAME);
        if (colon > 0 && reason !== undefined) {
            const name = key.slice(colon + 1);
            const known = CONFIG_KEYS.includes(name) ? `; did you mean ${quote(`${PROJECT_NAME}:${name}`)}?` : ` (see docs/configuration.md)`;
            problems.push(`${key}: ${reason}${known}`);
        }
    }
    for (const key of [...setKeys].sort()) {
        if (!CONFIG_KEYS.includes(key)) {
            const hint = CONFIG_KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
            report(key, read(key), `is not a setting of this program${hint ? `; did you mean ${quote(hint)}?` : " (see docs/configuration.md)"}`);
        }
    }
    /** The raw text of a key, or undefined when unset or of the wrong kind (then reported). */
    const text = (key: string, kind: "string" | "boolean" | "list" = "string"): string | undefined => {
        const value = read(key);
        const kindProblem = value === undefined ? undefined : checkConfigValueKind(key, value, kind);
        if (kindProblem !== undefined) {
            problems.push(kindProblem);
            return undefined;
        }
        return value;
    };

    const requiredString = (key: string, check: (v: unknown) => string | undefined): string => {
        if (read(key) === undefined) {
            problems.push(`${key}: is not set; run \`pulumi config set ${key} <value>\` (see docs/configuration.md)`);
            return "";
        }
        const value = text(key);
        if (value === undefined) {
            return "";
        }
        const reason = check(value);
        if (reason !== undefined) {
            report(key, value, reason);
        }
        return value;
    };
    /** An optional string; a value of the wrong kind is reported and the default used in its place. */
    const optionalString = <K extends keyof typeof CONFIG_DEFAULTS>(key: K, check?: (v: string) => string | undefined): string => {
        const value = text(key) ?? (CONFIG_DEFAULTS[key] as unknown as string);
        const reason = check?.(value);
        if (reason !== undefined) {
            report(key, value, reason);
        }
        return value;
    };
    const oneOf =
        <T extends string>(allowed: readonly T[]) =>
        (v: string) =>
            allowed.includes(v as T) ? undefined : `is not one of ${allowed.map((a) => quote(a)).join(", ")}`;
    /** A list key: its JSON value; a text that is not JSON is a string, which the key's parser refuses as no list. */
    const json = (key: string): unknown => {
        if (read(key) === undefined) {
            return undefined;
        }
        const value = text(key, "list");
        if (value === undefined) {
            return null; // of the wrong kind, reported
        }
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    };

    const trustDomain = requiredString("trustDomain", checkTrustDomain);
    const clusterName = requiredString("clusterName", checkDnsLabel);
    if (clusterName === "example-cluster") {
        report("clusterName", clusterName, "is the chart's placeholder; set the cluster's real name");
    }

    // The program creates (and on destroy deletes) these two namespaces: never one Kubernetes owns.
    const spireNamespace = optionalString("spireNamespace", checkOwnedNamespace);
    const istioNamespace = optionalString("istioNamespace", checkOwnedNamespace);
    if (spireNamespace === istioNamespace) {
        report("istioNamespace", istioNamespace, `must differ from spireNamespace (${quote(spireNamespace)})`);
    }

    const spireChartRepository = optionalString("spireChartRepository", checkChartRepository);
    const spireChartVersion = optionalString("spireChartVersion", checkPinnedVersion);
    const spireCrdsChartVersion = optionalString("spireCrdsChartVersion", checkPinnedVersion);
    const istioChartRepository = optionalString("istioChartRepository", checkChartRepository);
    const istioChartVersion = optionalString("istioChartVersion", checkPinnedVersion);
    // Pinned, and then one the program was built and tested against (components/versions.ts): the malformed ones are
    // reported above, once.
    if (checkPinnedVersion(istioChartVersion) === undefined) {
        const reason = istioVersionProblem(istioChartVersion);
        if (reason !== undefined) {
            report("istioChartVersion", istioChartVersion, reason);
        }
    }
    if (checkPinnedVersion(spireChartVersion) === undefined && checkPinnedVersion(spireCrdsChartVersion) === undefined) {
        const pairProblem = spireChartPairProblem(spireChartVersion, spireCrdsChartVersion);
        if (pairProblem !== undefined) {
            report(pairProblem.key, pairProblem.value, pairProblem.reason);
        }
    }

    const caTTL = optionalString("caTTL", checkDuration);
    const federationRefreshHint = optionalString("federationRefreshHint", checkRefreshHint);
    const caMs = parseDuration(caTTL);
    const hintMs = parseDuration(federationRefreshHint);
    if (caMs !== undefined && hintMs !== undefined && caMs > 0 && hintMs > 0) {
        if (caMs < MIN_CA_TTL_TO_REFRESH_HINT_RATIO * hintMs) {
            report(
                "caTTL",
                caTTL,
                `must be at least ${MIN_CA_TTL_TO_REFRESH_HINT_RATIO} times federationRefreshHint (${quote(federationRefreshHint)}), ` +
                    "so federated servers load new CA keys before the old ones rotate out",
            );
        }
    }

    const caSubjectCountry = optionalString("caSubjectCountry", (v) =>
        /^[A-Z]{2}$/.test(v) ? undefined : 'is not a two-letter ISO 3166 country code, e.g. "US"',
    );
    const caSubjectOrganization = optionalString("caSubjectOrganization", (v) => checkX509SubjectAttribute(v, "organization"));
    const caSubjectCommonName = optionalString("caSubjectCommonName", (v) => (v === "" ? undefined : checkX509SubjectAttribute(v, "commonName")));
    // An empty common name is the trust domain (components/mesh/spire.ts), which may be longer than X.509 allows.
    if (caSubjectCommonName === "" && checkTrustDomain(trustDomain) === undefined) {
        const defaultProblem = checkX509SubjectAttribute(trustDomain, "commonName");
        if (defaultProblem !== undefined) {
            report(
                "caSubjectCommonName",
                caSubjectCommonName,
                `means the trust domain (${quote(trustDomain)}), which ${defaultProblem}; set caSubjectCommonName to a shorter name`,
            );
        }
    }

    const bundleEndpointServiceType = optionalString("bundleEndpointServiceType", oneOf(SERVICE_TYPES)) as ServiceType;
    const bundleEndpointUrl = optionalString("bundleEndpointUrl", (v) => (v === "" ? undefined : checkBundleEndpointUrl(v)));
    const bundleEndpointProfile = optionalString("bundleEndpointProfile", oneOf(["https_spiffe", "https_web"] as const)) as BundleEndpointProfile;
    if (bundleEndpointProfile === "https_web" && bundleEndpointUrl === "") {
        report(
            "bundleEndpointProfile",
            bundleEndpointProfile,
            "needs bundleEndpointUrl: an https_web endpoint is reached through the DNS name its Web PKI certificate is issued for",
        );
    }
    // The profile is applied to SPIRE itself, never only announced to peers: https_web makes the server serve the
    // bundle endpoint with this Secret's certificate (spire chart: federation.tls.externalSecret), https_spiffe with
    // its own SVID, which leaves no use for a Secret.
    const bundleEndpointTlsSecret = optionalString("bundleEndpointTlsSecret");
    if (bundleEndpointProfile === "https_web") {
        const nameProblem = checkDnsName(bundleEndpointTlsSecret);
        if (bundleEndpointTlsSecret === "") {
            problems.push(
                `bundleEndpointTlsSecret: is not set; bundleEndpointProfile "https_web" needs the name of an existing kubernetes.io/tls Secret ` +
                    `in spireNamespace (${quote(spireNamespace)}) holding a Web PKI certificate (tls.crt, tls.key) for bundleEndpointUrl's host; ` +
                    "run `pulumi config set bundleEndpointTlsSecret <secret>`",
            );
        } else if (nameProblem !== undefined) {
            report("bundleEndpointTlsSecret", bundleEndpointTlsSecret, `is not a Secret name: it ${nameProblem}`);
        }
    } else if (bundleEndpointTlsSecret !== "") {
        report(
            "bundleEndpointTlsSecret",
            bundleEndpointTlsSecret,
            `is set, but bundleEndpointProfile is ${quote(bundleEndpointProfile)}, whose endpoint serves SPIRE's own certificate; leave it empty, or set bundleEndpointProfile to "https_web"`,
        );
    }
    if (bundleEndpointServiceType !== "LoadBalancer" && bundleEndpointUrl === "") {
        report(
            "bundleEndpointServiceType",
            bundleEndpointServiceType,
            "gives peers no address of its own; set bundleEndpointUrl to the https URL that reaches it (ingress, DNS or node address)",
        );
    }

    const ingressGatewayName = optionalString("ingressGatewayName", checkDnsLabel);
    const ingressGatewayServiceAccount = optionalString("ingressGatewayServiceAccount", checkDnsLabel);
    const ingressGatewayServiceType = optionalString("ingressGatewayServiceType", oneOf(SERVICE_TYPES)) as ServiceType;
    const mtlsMode = optionalString("mtlsMode", oneOf(["STRICT", "PERMISSIVE"] as const)) as MtlsMode;

    const optionalBoolean = (key: "nativeSidecars" | "observability" | "observabilityGrafana" | "protectSpire"): boolean => {
        const value = read(key) === undefined ? undefined : text(key, "boolean");
        if (value === undefined || value === "true" || value === "false") {
            return value === undefined ? CONFIG_DEFAULTS[key] : value === "true";
        }
        report(key, value, 'is not a boolean; expected "true" or "false"');
        return CONFIG_DEFAULTS[key];
    };
    const nativeSidecars = optionalBoolean("nativeSidecars");
    const observability = optionalBoolean("observability");
    const observabilityGrafana = optionalBoolean("observabilityGrafana");
    const protectSpire = optionalBoolean("protectSpire");
    if (observabilityGrafana && !observability) {
        report("observabilityGrafana", "true", "needs observability (Grafana reads the Prometheus it installs); set observability to true");
    }
    const observabilityAccess = optionalString("observabilityAccess", oneOf(OBSERVABILITY_ACCESS_LEVELS)) as ObservabilityAccess;
    if (observabilityAccess === "edit" && !observability) {
        report("observabilityAccess", observabilityAccess, "needs observability (it is the access to Kiali and Grafana); set observability to true");
    }

    const enrolled = parseEnrolledNamespaces(json("enrolledNamespaces"), [spireNamespace, istioNamespace], problems);
    const enrolledNamespaces = enrolled.map((e) => e.name);
    const istioRevisions = parseIstioRevisions(json("istioRevisions"), problems);
    const istioRevisionTags = parseIstioRevisionTags(json("istioRevisionTags"), istioRevisions, problems);
    const ingressGatewayRevision = optionalString("ingressGatewayRevision");
    const namespaceRevisions = Object.fromEntries(enrolled.flatMap((e) => (e.revision !== undefined ? [[e.name, e.revision]] : [])));
    if (istioRevisions.length > 0 && setKeys.includes("istioChartVersion")) {
        report("istioChartVersion", istioChartVersion, "is replaced by the versions of istioRevisions; remove it");
    }
    // What runs on a revision: a revision or a tag that exists. Removing a revision or tag still in use is refused here.
    const targets = [...new Set([...istioRevisions.map((r) => r.name), ...Object.keys(istioRevisionTags)])];
    const onRevision = (key: string, value: string) => {
        if (istioRevisions.length === 0) {
            report(key, value, "names a revision, but istioRevisions is not set; list the control plane revisions first");
        } else if (!targets.includes(value)) {
            report(
                key,
                value,
                `is no revision of istioRevisions nor tag of istioRevisionTags (${targets.map((t) => quote(t)).join(", ")}); move it to one before removing its revision`,
            );
        }
    };
    enrolled.forEach((e, i) => e.revision !== undefined && onRevision(`enrolledNamespaces[${i}].revision`, e.revision));
    if (ingressGatewayRevision !== "") {
        onRevision("ingressGatewayRevision", ingressGatewayRevision);
    }
    // Without revisions the one control plane serves istio-injection=enabled; with them, only the `default` tag does.
    if (istioRevisions.length > 0 && istioRevisionTags.default === undefined) {
        enrolled.forEach((e, i) => {
            if (e.revision === undefined) {
                report(
                    `enrolledNamespaces[${i}]`,
                    e.name,
                    'is on the default tag, which istioRevisionTags does not set; set "default" to a revision or give the namespace a revision',
                );
            }
        });
        if (ingressGatewayRevision === "") {
            report(
                "ingressGatewayRevision",
                "",
                'is empty (the default tag), which istioRevisionTags does not set; set "default" to a revision or name the gateway\'s revision',
            );
        }
    }
    const peers = parsePeers(json("peers"), problems);
    peers.forEach(({ stack }, i) => {
        // A stack federating with itself: found here, before its own outputs come back through the reference.
        if (context.stack !== undefined && stack === context.stack) {
            report(`peers[${i}].stack`, stack, "is this stack itself; list the other stacks to federate with, not this one");
        }
    });
    const samples = parseSamples(json("samples"), problems);
    const adopt = parseAdopt(json("adopt"), problems);

    // The production identity plane (docs/production-spire.md): servers, datastore, upstream authority.
    const replicasText = text("spireServerReplicas");
    let spireServerReplicas = CONFIG_DEFAULTS.spireServerReplicas;
    if (replicasText !== undefined) {
        if (/^[1-9][0-9]{0,2}$/.test(replicasText)) {
            spireServerReplicas = Number(replicasText);
        } else {
            report("spireServerReplicas", replicasText, "is not a whole number from 1 to 999; expected the number of SPIRE servers, e.g. 3");
        }
    }
    const spireDataStore = parseSpireDataStore(json("spireDataStore"), problems);
    const spireUpstreamAuthority = parseSpireUpstreamAuthority(
        json("spireUpstreamAuthority"),
        parseDuration(caTTL) === undefined ? undefined : caTTL,
        problems,
    );
    if (spireServerReplicas > 1 && spireDataStore.type === "sqlite3") {
        // The chart refuses it too (charts/spire-server/templates/server-resource.yaml: "When running with sqlite3
        // database, you can't scale up to more then one instance"): SQLite is a file on one server's volume.
        report(
            "spireServerReplicas",
            replicasText,
            'needs an SQL datastore: SQLite is a file on one server\'s volume, which other servers cannot share; set spireDataStore to {"type": "postgres", ...} or {"type": "mysql", ...}, or spireServerReplicas to 1',
        );
    }
    const secretKeys = context.secretKeys ?? [];
    /** A secret key's value: undefined when unset; a plain-text value is reported without quoting it. */
    const secretValue = (key: string): string | undefined => {
        const value = read(key);
        if (value !== undefined && !secretKeys.includes(key)) {
            problems.push(`${key}: is set in plain text; it must be a secret: run \`pulumi config set --secret ${key} <value>\` (the value is not shown here)`);
            return undefined;
        }
        return value;
    };
    const password = secretValue("spireDataStorePassword");
    if (spireDataStore.type === "sqlite3") {
        if (read("spireDataStorePassword") !== undefined) {
            problems.push(
                "spireDataStorePassword: is set, but spireDataStore is SQLite, which takes no password; remove it, or set spireDataStore to an SQL database",
            );
        }
    } else if (read("spireDataStorePassword") === undefined) {
        problems.push(
            `spireDataStorePassword: is not set; the ${quote(spireDataStore.type)} datastore needs the password of user ${quote(spireDataStore.user)}: ` +
                "run `pulumi config set --secret spireDataStorePassword <password>`",
        );
    } else if (password !== undefined) {
        const passwordProblem = password === "" ? "is empty" : dataStorePasswordProblem(spireDataStore.type, password);
        if (passwordProblem !== undefined) {
            problems.push(`spireDataStorePassword: ${passwordProblem} (the value is not shown here)`);
        }
    }
    const certificate = secretValue("spireUpstreamCertificate");
    const key = secretValue("spireUpstreamKey");
    if (spireUpstreamAuthority.type === "disk") {
        for (const [name, value] of [
            ["spireUpstreamCertificate", certificate],
            ["spireUpstreamKey", key],
        ] as const) {
            if (read(name) === undefined) {
                problems.push(
                    `${name}: is not set; spireUpstreamAuthority "disk" needs the root CA's certificate and private key (PEM): ` +
                        `run \`pulumi config set --secret ${name} < <file>\``,
                );
            } else if (value === "") {
                problems.push(`${name}: is empty; expected a PEM ${name === "spireUpstreamKey" ? "private key" : "certificate"}`);
            }
        }
        if (certificate && key) {
            problems.push(...upstreamCertificateProblems(certificate, key, context.now ?? new Date()));
        }
    } else {
        for (const name of ["spireUpstreamCertificate", "spireUpstreamKey"]) {
            if (read(name) !== undefined) {
                problems.push(
                    `${name}: is set, but spireUpstreamAuthority is ${quote(spireUpstreamAuthority.type)}; it is read only with {"type": "disk"}: remove it, or set that type`,
                );
            }
        }
    }
    const spireChangeAcknowledged = optionalString("spireChangeAcknowledged");
    if (samples.includes("bookinfo") && checkTrustDomain(trustDomain) === undefined) {
        // Peers reach this stack's Bookinfo as bookinfo.<trust domain>, a host Istio's Gateway, VirtualService and
        // ServiceEntry validation takes (checkHostname): a long trust domain or an all-numeric last label fails there.
        const hostProblem = checkHostname(bookinfoHost(trustDomain));
        if (hostProblem !== undefined) {
            report("trustDomain", trustDomain, `makes the Bookinfo host ${quote(bookinfoHost(trustDomain))} (samples: "bookinfo"), which ${hostProblem}`);
        }
    }
    const samplesNamespace = optionalString("samplesNamespace", checkDnsLabel);
    if (samples.length > 0 && !enrolledNamespaces.includes(samplesNamespace)) {
        report(
            "samplesNamespace",
            samplesNamespace,
            `is not in enrolledNamespaces (${JSON.stringify(enrolledNamespaces)}); samples need sidecars and SPIRE identities, so enroll it`,
        );
    }

    throwIfProblems("Invalid configuration", problems);
    return {
        trustDomain,
        clusterName,
        peers,
        spireNamespace,
        istioNamespace,
        spireChartRepository,
        spireChartVersion,
        spireCrdsChartVersion,
        istioChartRepository,
        istioChartVersion,
        caTTL,
        caSubjectCountry,
        caSubjectOrganization,
        caSubjectCommonName,
        federationRefreshHint,
        bundleEndpointServiceType,
        bundleEndpointUrl,
        bundleEndpointProfile,
        bundleEndpointTlsSecret,
        ingressGatewayName,
        ingressGatewayServiceAccount,
        ingressGatewayServiceType,
        enrolledNamespaces,
        namespaceRevisions,
        istioRevisions,
        istioRevisionTags,
        ingressGatewayRevision,
        mtlsMode,
        nativeSidecars,
        samples,
        samplesNamespace,
        observability,
        observabilityGrafana,
        observabilityAccess,
        protectSpire,
        adopt,
        spireServerReplicas,
        spireDataStore,
        spireUpstreamAuthority,
        spireChangeAcknowledged,
    };
}

/**
 * `adopt`: known names, once each, and the SPIRE releases only with their namespace: a release lives in its
 * namespace, so that namespace exists, and creating it would fail (pulumi-kubernetes >= 4.29 creates objects with a
 * client-side create, which the API server answers AlreadyExists; CHANGELOG 4.29.0, pulumi/pulumi-kubernetes#4278).
 */
function parseAdopt(value: unknown, problems: string[]): Adoptable[] {
    const key = "adopt";
    const expected = `expected a list of ${ADOPTABLE.map((n) => quote(n)).join(", ")}`;
    if (value === undefined || value === null) {
        return [...CONFIG_DEFAULTS.adopt]; // unset, or a JSON problem already reported
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a list; ${expected}`));
        return [];
    }
    const adopt: Adoptable[] = [];
    value.forEach((name, i) => {
        if ((ADOPTABLE as readonly unknown[]).includes(name)) {
            adopt.push(name);
        } else {
            problems.push(describeProblem(`${key}[${i}]`, name, `is not something this program adopts; ${expected}`));
        }
    });
    const dup = firstDuplicate(adopt);
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists ${quote(dup)} more than once`));
    }
    if (adopt.includes("spire-releases") && !adopt.includes("spire-namespace")) {
        problems.push(
            describeProblem(
                key,
                value,
                'adopts "spire-releases" but not "spire-namespace": the releases\' namespace exists, and creating it would fail (AlreadyExists); add "spire-namespace"',
            ),
        );
    }
    return adopt;
}

function parseSamples(value: unknown, problems: string[]): SampleName[] {
    const key = "samples";
    const expected = `expected a list of ${SAMPLE_NAMES.map((n) => quote(n)).join(", ")}`;
    if (value === undefined || value === null) {
        return [...CONFIG_DEFAULTS.samples]; // unset, or a JSON problem already reported
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a list; ${expected}`));
        return [];
    }
    const samples: SampleName[] = [];
    value.forEach((name, i) => {
        if (SAMPLE_NAMES.includes(name)) {
            samples.push(name);
        } else {
            problems.push(describeProblem(`${key}[${i}]`, name, `is not a sample of this program; ${expected}`));
        }
    });
    const dup = firstDuplicate(samples);
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists ${quote(dup)} more than once`));
    }
    return samples;
}

/** The label that puts a namespace in Istio's ambient data plane (ztunnel and waypoints instead of sidecars). */
export const AMBIENT_DATAPLANE_LABEL = "istio.io/dataplane-mode";

/**
 * Why an enrolledNamespaces entry that asks for the ambient data plane (`{"name": ..., "dataplaneMode": "ambient"}`,
 * i.e. the label istio.io/dataplane-mode=ambient) is refused, or undefined for any other entry. Istio's ambient data
 * plane does not support SPIRE (istio/istio#42339, open): ztunnel fetches its workloads' certificates from istiod,
 * not over SDS from a SPIRE agent, so an ambient namespace would leave SPIRE's identities. Policy
 * `no-ambient-dataplane` flags the label on any resource.
 */
export function ambientEnrollmentProblem(entry: unknown): string | undefined {
    if (typeof entry !== "object" || entry === null || (entry as Record<string, unknown>).dataplaneMode !== "ambient") {
        return undefined;
    }
    return (
        `asks for Istio's ambient data plane (${AMBIENT_DATAPLANE_LABEL}=ambient), which does not support SPIRE (istio/istio#42339, open); ` +
        'enrolled namespaces run sidecars with SPIRE identities: remove "dataplaneMode"'
    );
}

/** An enrolled namespace: on the default tag (istio-injection=enabled), or on a revision or tag (istio.io/rev). */
interface Enrollment {
    name: string;
    revision?: string;
}

function parseEnrolledNamespaces(value: unknown, systemNamespaces: string[], problems: string[]): Enrollment[] {
    const key = "enrolledNamespaces";
    const expected = `expected ${EXPECTED[key]}`;
    const expectedEntry = 'expected a namespace name or {"name": "<namespace>", "revision": "<revision or tag>"}';
    if (value === undefined) {
        return CONFIG_DEFAULTS.enrolledNamespaces.map((name) => ({ name: name as string }));
    }
    if (value === null) {
        return []; // JSON problem already reported
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a list; ${expected}`));
        return [];
    }
    const entries: Enrollment[] = [];
    value.forEach((entry, i) => {
        const ambient = ambientEnrollmentProblem(entry);
        if (ambient !== undefined) {
            problems.push(describeProblem(`${key}[${i}]`, entry, ambient));
            return;
        }
        let name: unknown = entry;
        let revision: string | undefined;
        if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
            const extra = Object.keys(entry).filter((k) => k !== "name" && k !== "revision");
            if (extra.length > 0) {
                problems.push(describeProblem(`${key}[${i}]`, entry, `has unknown field ${quote(extra[0])}; ${expectedEntry}`));
                return;
            }
            name = (entry as { name?: unknown }).name;
            const rev = (entry as { revision?: unknown }).revision;
            const reason = checkDnsLabel(rev);
            if (reason !== undefined) {
                problems.push(describeProblem(`${key}[${i}].revision`, rev, reason));
                return;
            }
            revision = rev as string;
        }
        const at = revision === undefined ? `${key}[${i}]` : `${key}[${i}].name`;
        const reason = checkDnsLabel(name);
        if (reason !== undefined) {
            problems.push(describeProblem(at, name, reason));
        } else if (RESERVED_NAMESPACES.includes(name as string) || systemNamespaces.includes(name as string)) {
            problems.push(describeProblem(at, name, "is a system namespace; enroll application namespaces only"));
        } else {
            entries.push({ name: name as string, ...(revision !== undefined ? { revision } : {}) });
        }
    });
    const dup = firstDuplicate(entries.map((e) => e.name));
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists ${quote(dup)} more than once`));
    }
    return entries;
}

/**
 * Walks a list key whose entries are objects of known fields: unset or null is nothing (a JSON problem was already
 * reported); a value that is no list, an entry that is no object and an entry with an unknown field are reported with
 * `expected`; `visit` gets every other entry with its key path (`peers[0]`).
 */
function forEachObjectEntry(
    key: string,
    value: unknown,
    fields: readonly string[],
    expected: string,
    problems: string[],
    visit: (entry: Record<string, unknown>, at: string) => void,
): void {
    if (value === undefined || value === null) {
        return;
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a list; ${expected}`));
        return;
    }
    value.forEach((entry, i) => {
        const at = `${key}[${i}]`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            problems.push(describeProblem(at, entry, `is not an object; ${expected}`));
            return;
        }
        const extra = Object.keys(entry).filter((k) => !fields.includes(k));
        if (extra.length > 0) {
            problems.push(describeProblem(at, entry, `has unknown field ${quote(extra[0])}; ${expected}`));
            return;
        }
        visit(entry as Record<string, unknown>, at);
    });
}

/** `istioRevisions`: {name, version} objects, names DNS-1123 labels once each, versions from the supported table. */
function parseIstioRevisions(value: unknown, problems: string[]): IstioRevision[] {
    const key = "istioRevisions";
    const revisions: IstioRevision[] = [];
    forEachObjectEntry(key, value, ["name", "version"], `expected ${EXPECTED[key]}`, problems, ({ name, version }, at) => {
        const reason = checkDnsLabel(name);
        if (reason !== undefined) {
            problems.push(describeProblem(`${at}.name`, name, reason));
        } else if (name === "default") {
            // istio.io/rev=default is the default tag's (or the revision-less control plane's) label.
            problems.push(describeProblem(`${at}.name`, name, 'is the default tag\'s name; name revisions after their version, e.g. "1-30-3"'));
        }
        if (typeof version !== "string" || !SUPPORTED_ISTIO_VERSIONS.includes(version)) {
            problems.push(
                describeProblem(
                    `${at}.version`,
                    version,
                    `is not a supported Istio version; supported: ${SUPPORTED_ISTIO_VERSIONS.map((v) => quote(v)).join(", ")}`,
                ),
            );
        }
        if (reason === undefined && name !== "default" && typeof version === "string" && SUPPORTED_ISTIO_VERSIONS.includes(version)) {
            revisions.push({ name: name as string, version });
        }
    });
    const dup = firstDuplicate(revisions.map((r) => r.name));
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists revision ${quote(dup)} more than once`));
    }
    return revisions;
}

/** `istioRevisionTags`: tag → revision name; tags are DNS-1123 labels other than the revisions' names. */
function parseIstioRevisionTags(value: unknown, revisions: IstioRevision[], problems: string[]): Record<string, string> {
    const key = "istioRevisionTags";
    if (value === undefined || value === null) {
        return {}; // unset, or a JSON problem already reported
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a mapping; expected ${EXPECTED[key]}`));
        return {};
    }
    if (revisions.length === 0 && Object.keys(value).length > 0) {
        problems.push(describeProblem(key, value, "tags revisions, but istioRevisions is not set; list the control plane revisions first"));
        return {};
    }
    const names = [...new Set(revisions.map((r) => r.name))];
    const tags: Record<string, string> = {};
    for (const [tag, revision] of Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) {
        const at = `${key}.${tag}`;
        const reason = checkDnsLabel(tag);
        if (reason !== undefined) {
            problems.push(describeProblem(at, tag, `(the tag) ${reason}`));
        } else if (names.includes(tag)) {
            problems.push(describeProblem(at, tag, "is a revision's name; a tag needs a name of its own"));
        } else if (typeof revision !== "string" || !names.includes(revision)) {
            problems.push(
                describeProblem(
                    at,
                    revision,
                    `is no revision of istioRevisions (${names.map((n) => quote(n)).join(", ")}); move the tag to one before removing its revision`,
                ),
            );
        } else {
            tags[tag] = revision;
        }
    }
    return tags;
}

function parsePeers(value: unknown, problems: string[]): PeerStackRef[] {
    const key = "peers";
    const expected = `expected a list like [{"stack": "<org>/${PROJECT_NAME}/cluster2"}]`;
    const peers: PeerStackRef[] = [];
    forEachObjectEntry(key, value, ["stack"], expected, problems, ({ stack }, at) => {
        const parts = typeof stack === "string" ? stack.split("/") : [];
        if (parts.length !== 3 || !parts.every((p) => STACK_NAME_PART.test(p))) {
            problems.push(describeProblem(`${at}.stack`, stack, `is not a fully qualified stack name; expected "<org>/${PROJECT_NAME}/<stack>"`));
            return;
        }
        if (parts[1] !== PROJECT_NAME) {
            problems.push(describeProblem(`${at}.stack`, stack, `names project ${quote(parts[1])}; peers are stacks of project ${quote(PROJECT_NAME)}`));
            return;
        }
        peers.push({ stack: stack as string });
    });
    const dup = firstDuplicate(peers.map((p) => p.stack));
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists stack ${quote(dup)} more than once`));
    }
    return peers;
}

/**
 * Whether a config key's value is a Pulumi secret. The language host hands the program the secret keys' names in
 * PULUMI_CONFIG_SECRET_KEYS (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs, like every language host), and the
 * SDK answers from them (sdk/nodejs/runtime/config.ts isConfigSecret, which its typings do not export).
 */
const isConfigSecret: (key: string) => boolean = require("@pulumi/pulumi/runtime/config").isConfigSecret;

/**
 * Reads this stack's secret config keys as secret Outputs (undefined when unset). parseStackConfig has refused
 * plain-text values already; `getSecret` keeps them secret wherever they flow (state, outputs).
 */
export function loadSecretConfig(config: pulumi.Config = new pulumi.Config(PROJECT_NAME)): Partial<Record<SecretConfigKey, pulumi.Output<string>>> {
    const secrets: Partial<Record<SecretConfigKey, pulumi.Output<string>>> = {};
    for (const key of SECRET_CONFIG_KEYS) {
        const value = config.getSecret(key);
        if (value !== undefined) {
            secrets[key] = value;
        }
    }
    return secrets;
}

/**
 * Reads this stack's configuration from Pulumi config (project namespace) and validates it, with every key the stack
 * sets (Pulumi hands the program all of them, `<namespace>:<key>`; keys a stack file writes without a namespace are
 * already in the project's, pulumi/pulumi sdk/go/common/workspace/loaders.go stackConfigNamespacedWithProject) and the
 * stack's own fully qualified name; the stack's Kubernetes settings (`kubernetes:context`, see kubernetes.ts) are
 * checked in the same error.
 */
export function loadStackConfig(config: pulumi.Config = new pulumi.Config(PROJECT_NAME)): StackConfig {
    const prefix = `${PROJECT_NAME}:`;
    const keys = Object.keys(pulumi.runtime.allConfig());
    const setKeys = keys.filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
    const otherKeys = keys.filter((key) => !key.startsWith(prefix));
    const stack = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const kubernetes = new pulumi.Config("kubernetes");
    const otherProblems = kubernetesConfigProblems((key) => kubernetes.get(key));
    const secretKeys = setKeys.filter((key) => isConfigSecret(`${prefix}${key}`));
    return parseStackConfig((key) => config.get(key), setKeys, { stack, otherKeys, otherProblems, secretKeys });
}
