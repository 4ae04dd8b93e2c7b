// The stack's configuration contract: the keys, their defaults (the same as Pulumi.yaml's `config:` block, which a
// test keeps in step) and the validation that runs before any resource is declared.

import * as pulumi from "@pulumi/pulumi";
import { ISTIO_CHART_REPOSITORY, ISTIO_VERSION } from "./istioOperator";
import { kubernetesConfigProblems } from "./kubernetes";
import { OBSERVABILITY_ACCESS_LEVELS, ObservabilityAccess } from "./observability";
import { SPIRE_CHART_REPOSITORY, SPIRE_CHART_VERSION, SPIRE_CRDS_CHART_VERSION } from "./spire";
import {
    checkBundleEndpointUrl,
    checkChartRepository,
    checkDnsLabel,
    checkDnsName,
    checkDuration,
    checkPinnedVersion,
    checkTrustDomain,
    describeProblem,
    firstDuplicate,
    parseDuration,
    quote,
    throwIfProblems,
} from "./validation";

/** The Pulumi project name; config keys live in its namespace and peer stacks are `<org>/istio-spire/<stack>`. */
export const PROJECT_NAME = "istio-spire";

export type ServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";
export type MtlsMode = "STRICT" | "PERMISSIVE";
export type BundleEndpointProfile = "https_spiffe" | "https_web";

/** The sample applications a stack can deploy (the runbooks' demos). */
export const SAMPLE_NAMES = ["sleep-httpbin", "bookinfo", "curl-greeter"] as const;
export type SampleName = (typeof SAMPLE_NAMES)[number];

/** A peer stack this stack federates with. */
export interface PeerStackRef {
    /** Fully qualified stack name, `<org>/istio-spire/<stack>`. */
    stack: string;
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
    enrolledNamespaces: string[];
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
    enrolledNamespaces: ["default"],
    mtlsMode: "STRICT" as MtlsMode,
    nativeSidecars: true,
    samples: [] as SampleName[],
    samplesNamespace: "default",
    observability: false,
    observabilityGrafana: false,
    observabilityAccess: "view" as ObservabilityAccess,
};

/** Every key this program reads; anything else set in the project namespace is reported as a likely typo. */
export const CONFIG_KEYS: readonly string[] = ["trustDomain", "clusterName", ...Object.keys(CONFIG_DEFAULTS)];

/**
 * The CA TTL must stay several times the federation refresh hint, so that federated servers fetch a new CA's
 * public key before the old one stops signing (the spire-server chart asks for 3-5x).
 */
export const MIN_CA_TTL_TO_REFRESH_HINT_RATIO = 3;

const SERVICE_TYPES: ServiceType[] = ["LoadBalancer", "NodePort", "ClusterIP"];
const STACK_NAME_PART = /^[A-Za-z0-9_.-]+$/;

/** Namespaces that must never be enrolled into the mesh. */
const RESERVED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"];

/** Reads a raw config value by key (unset: undefined); arrays and objects arrive as JSON text, like Pulumi's. */
export type RawConfigReader = (key: string) => string | undefined;

/**
 * Validates raw configuration and applies defaults. Collects every problem and throws one ValidationError whose
 * message lists them, one line each, each naming the key, quoting the value and saying what is expected.
 * `setKeys` (the project keys the stack sets) lets it report unknown keys, usually typos such as `trustdomain`.
 * `otherProblems` (of keys outside the project namespace, such as `kubernetes:context`) are reported first, in the
 * same error.
 */
export function parseStackConfig(read: RawConfigReader, setKeys: string[] = [], otherProblems: string[] = []): StackConfig {
    const problems: string[] = [...otherProblems];
    const report = (key: string, value: unknown, reason: string) => problems.push(describeProblem(key, value, reason));
    for (const key of [...setKeys].sort()) {
        if (!CONFIG_KEYS.includes(key)) {
            const hint = CONFIG_KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
            report(key, read(key), `is not a setting of this program${hint ? `; did you mean ${quote(hint)}?` : " (see README, \"Configuration\")"}`);
        }
    }

    const requiredString = (key: string, check: (v: unknown) => string | undefined): string => {
        const value = read(key);
        if (value === undefined) {
            problems.push(`${key}: is not set; run \`pulumi config set ${key} <value>\` (see README, "Configuration")`);
            return "";
        }
        const reason = check(value);
        if (reason !== undefined) {
            report(key, value, reason);
        }
        return value;
    };
    const optionalString = <K extends keyof typeof CONFIG_DEFAULTS>(
        key: K,
        check?: (v: string) => string | undefined,
    ): string => {
        const value = read(key) ?? (CONFIG_DEFAULTS[key] as unknown as string);
        const reason = check?.(value);
        if (reason !== undefined) {
            report(key, value, reason);
        }
        return value;
    };
    const oneOf = <T extends string>(allowed: readonly T[]) => (v: string) =>
        allowed.includes(v as T) ? undefined : `is not one of ${allowed.map((a) => quote(a)).join(", ")}`;
    const json = (key: string): unknown => {
        const text = read(key);
        if (text === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(text);
        } catch {
            report(key, text, "is not valid JSON; set it with `pulumi config set --path` or edit the stack file");
            return null;
        }
    };

    const trustDomain = requiredString("trustDomain", checkTrustDomain);
    const clusterName = requiredString("clusterName", checkDnsLabel);
    if (clusterName === "example-cluster") {
        report("clusterName", clusterName, "is the chart's placeholder; set the cluster's real name");
    }

    const spireNamespace = optionalString("spireNamespace", checkDnsLabel);
    const istioNamespace = optionalString("istioNamespace", checkDnsLabel);
    if (spireNamespace === istioNamespace) {
        report("istioNamespace", istioNamespace, `must differ from spireNamespace (${quote(spireNamespace)})`);
    }

    const spireChartRepository = optionalString("spireChartRepository", checkChartRepository);
    const spireChartVersion = optionalString("spireChartVersion", checkPinnedVersion);
    const spireCrdsChartVersion = optionalString("spireCrdsChartVersion", checkPinnedVersion);
    const istioChartRepository = optionalString("istioChartRepository", checkChartRepository);
    const istioChartVersion = optionalString("istioChartVersion", checkPinnedVersion);

    const caTTL = optionalString("caTTL", checkDuration);
    const federationRefreshHint = optionalString("federationRefreshHint", checkDuration);
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
    const caSubjectOrganization = optionalString("caSubjectOrganization", (v) =>
        v.trim().length > 0 ? undefined : 'is empty; expected an organization name, e.g. "SPIRE"',
    );
    const caSubjectCommonName = optionalString("caSubjectCommonName");

    const bundleEndpointServiceType = optionalString("bundleEndpointServiceType", oneOf(SERVICE_TYPES)) as ServiceType;
    const bundleEndpointUrl = optionalString("bundleEndpointUrl", (v) =>
        v === "" ? undefined : checkBundleEndpointUrl(v),
    );
    const bundleEndpointProfile = optionalString(
        "bundleEndpointProfile",
        oneOf(["https_spiffe", "https_web"] as const),
    ) as BundleEndpointProfile;
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

    const optionalBoolean = (key: "nativeSidecars" | "observability" | "observabilityGrafana"): boolean => {
        const text = read(key);
        if (text === undefined || text === "true" || text === "false") {
            return text === undefined ? CONFIG_DEFAULTS[key] : text === "true";
        }
        report(key, text, 'is not a boolean; expected "true" or "false"');
        return CONFIG_DEFAULTS[key];
    };
    const nativeSidecars = optionalBoolean("nativeSidecars");
    const observability = optionalBoolean("observability");
    const observabilityGrafana = optionalBoolean("observabilityGrafana");
    if (observabilityGrafana && !observability) {
        report("observabilityGrafana", "true", "needs observability (Grafana reads the Prometheus it installs); set observability to true");
    }
    const observabilityAccess = optionalString("observabilityAccess", oneOf(OBSERVABILITY_ACCESS_LEVELS)) as ObservabilityAccess;
    if (observabilityAccess === "edit" && !observability) {
        report("observabilityAccess", observabilityAccess, "needs observability (it is the access to Kiali and Grafana); set observability to true");
    }

    const enrolledNamespaces = parseEnrolledNamespaces(json("enrolledNamespaces"), [spireNamespace, istioNamespace], problems);
    const peers = parsePeers(json("peers"), problems);
    const samples = parseSamples(json("samples"), problems);
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
        mtlsMode,
        nativeSidecars,
        samples,
        samplesNamespace,
        observability,
        observabilityGrafana,
        observabilityAccess,
    };
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

function parseEnrolledNamespaces(value: unknown, systemNamespaces: string[], problems: string[]): string[] {
    const key = "enrolledNamespaces";
    if (value === undefined) {
        return [...CONFIG_DEFAULTS.enrolledNamespaces];
    }
    if (value === null) {
        return []; // JSON problem already reported
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, 'is not a list; expected a list of namespace names, e.g. ["default"]'));
        return [];
    }
    const names: string[] = [];
    value.forEach((name, i) => {
        const reason = checkDnsLabel(name);
        if (reason !== undefined) {
            problems.push(describeProblem(`${key}[${i}]`, name, reason));
        } else if (RESERVED_NAMESPACES.includes(name) || systemNamespaces.includes(name)) {
            problems.push(describeProblem(`${key}[${i}]`, name, "is a system namespace; enroll application namespaces only"));
        } else {
            names.push(name);
        }
    });
    const dup = firstDuplicate(names);
    if (dup !== undefined) {
        problems.push(describeProblem(key, value, `lists ${quote(dup)} more than once`));
    }
    return names;
}

function parsePeers(value: unknown, problems: string[]): PeerStackRef[] {
    const key = "peers";
    const expected = `expected a list like [{"stack": "<org>/${PROJECT_NAME}/cluster2"}]`;
    if (value === undefined || value === null) {
        return []; // unset, or a JSON problem already reported
    }
    if (!Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not a list; ${expected}`));
        return [];
    }
    const peers: PeerStackRef[] = [];
    value.forEach((entry, i) => {
        const at = `${key}[${i}]`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            problems.push(describeProblem(at, entry, `is not an object; ${expected}`));
            return;
        }
        const extra = Object.keys(entry).filter((k) => k !== "stack");
        if (extra.length > 0) {
            problems.push(describeProblem(at, entry, `has unknown field ${quote(extra[0])}; ${expected}`));
            return;
        }
        const stack = (entry as { stack?: unknown }).stack;
        const parts = typeof stack === "string" ? stack.split("/") : [];
        if (parts.length !== 3 || !parts.every((p) => STACK_NAME_PART.test(p))) {
            problems.push(
                describeProblem(`${at}.stack`, stack, `is not a fully qualified stack name; expected "<org>/${PROJECT_NAME}/<stack>"`),
            );
            return;
        }
        if (parts[1] !== PROJECT_NAME) {
            problems.push(
                describeProblem(`${at}.stack`, stack, `names project ${quote(parts[1])}; peers are stacks of project ${quote(PROJECT_NAME)}`),
            );
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
 * Reads this stack's configuration from Pulumi config (project namespace) and validates it, with the stack's
 * Kubernetes settings (`kubernetes:context`, see kubernetes.ts) in the same error.
 */
export function loadStackConfig(config: pulumi.Config = new pulumi.Config(PROJECT_NAME)): StackConfig {
    const prefix = `${PROJECT_NAME}:`;
    const setKeys = Object.keys(pulumi.runtime.allConfig())
        .filter((key) => key.startsWith(prefix))
        .map((key) => key.slice(prefix.length));
    const kubernetes = new pulumi.Config("kubernetes");
    return parseStackConfig((key) => config.get(key), setKeys, kubernetesConfigProblems((key) => kubernetes.get(key)));
}
