// Sample workloads that show the mesh working: the 2025 guide's sleep and httpbin, Istio's Bookinfo exposed through
// the ingress gateway, and the federation seed's curl-greeter client. Each runs in an enrolled namespace (sidecar
// injection on, see registration.ts), so its pods get a sidecar whose SVID SPIRE issues.
//
// The Istio resources the samples declare (Gateway, VirtualService) are typed in istioResources.ts.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Gateway, GatewaySpec, HTTPMatchRequest, VirtualService, VirtualServiceSpec } from "../mesh/istioResources";
import { ISTIO_VERSION } from "../mesh/istioOperator";
import { SPIRE_MANAGED_IDENTITY_LABEL, istioSpiffeId } from "../mesh/registration";
import {
    checkDnsLabel,
    checkPinnedImage,
    checkPinnedVersion,
    checkPort,
    checkTrustDomain,
    checkedInput,
    describeProblem,
    knownInputProblem,
    throwIfProblems,
} from "../validation";

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------------------------

/**
 * The curl image Istio 1.30.3's own samples pin (samples/curl/curl.yaml and samples/sleep/sleep.yaml at 1.30.3):
 * the client image Istio tests this release with. Used by sleep and curl-greeter.
 */
export const CURL_IMAGE = "docker.io/curlimages/curl:8.16.0";
/** httpbin's image as Istio 1.30.3's samples/httpbin/httpbin.yaml pins it. */
export const HTTPBIN_IMAGE = "docker.io/mccutchen/go-httpbin:v2.15.0";

/** Pod labels every sample adds: the workload ClusterSPIFFEID (registration.ts) selects pods by this label. */
export const SPIRE_MANAGED_POD_LABELS: Record<string, string> = { [SPIRE_MANAGED_IDENTITY_LABEL]: "true" };

/** `metadata` of the objects the builders below return: fixed name, explicit namespace (maybe an Output). */
export interface ObjectMeta {
    name: string;
    namespace: pulumi.Input<string>;
    labels?: Record<string, string>;
}

/** The `args` of a typed Kubernetes resource with a spec, as the builders below return them. */
export interface ObjectArgs<Spec> {
    metadata: ObjectMeta;
    spec: Spec;
}

type DeploymentSpec = k8s.types.input.apps.v1.DeploymentSpec;
type ServiceSpec = k8s.types.input.core.v1.ServiceSpec;

/** What every sample takes: where it runs, the trust domain for its SPIFFE IDs, and what must be ready first. */
export interface SampleArgs {
    /**
     * Namespace the sample runs in. It must be enrolled (labelled `istio-injection=enabled`, see
     * WorkloadRegistration's `enrolledNamespaces`): injection comes from that label, not from this component. May be
     * an Output, e.g. the name of a Namespace the caller creates (then pass that Namespace in `prerequisites`); a known
     * value is checked at construction, an Output when it resolves (see checkedInput).
     */
    namespace: pulumi.Input<string>;
    /** The cluster's SPIFFE trust domain (for the exported SPIFFE IDs), e.g. `Spire.trustDomain`. */
    trustDomain: pulumi.Input<string>;
    /**
     * Resources that must be ready before the sample's objects are created: the istiod release (sidecar injector
     * webhook, Istio's CRDs), the namespace's enrollment, the workload ClusterSPIFFEID. Without them pods start
     * without a sidecar or wait for an identity. @default []
     */
    prerequisites?: pulumi.Resource[];
}

/** The problems of a sample's namespace and trust domain, when they are known at construction. */
function sampleProblems(args: SampleArgs): string[] {
    return [knownInputProblem("namespace", args.namespace, checkDnsLabel), knownInputProblem("trustDomain", args.trustDomain, checkTrustDomain)].filter(
        (p): p is string => p !== undefined,
    );
}

/** A sample's namespace and trust domain as Outputs, checked when they resolve (Outputs given by the caller). */
function sampleInputs(title: string, args: SampleArgs): { namespace: pulumi.Output<string>; trustDomain: pulumi.Output<string> } {
    return {
        namespace: checkedInput(title, "namespace", args.namespace, checkDnsLabel),
        trustDomain: checkedInput(title, "trustDomain", args.trustDomain, checkTrustDomain),
    };
}

// ---------------------------------------------------------------------------------------------------------------
// sleep and httpbin (the 2025 guide, step 4.1)
// ---------------------------------------------------------------------------------------------------------------

/** A ServiceAccount's args. */
export function serviceAccountArgs(name: string, namespace: pulumi.Input<string>): { metadata: ObjectMeta } {
    return { metadata: { name, namespace } };
}

/** sleep's Service, as samples/sleep/sleep.yaml@1.30.3 declares it. */
export function sleepServiceArgs(namespace: pulumi.Input<string>): ObjectArgs<ServiceSpec> {
    return {
        metadata: { name: "sleep", namespace, labels: { app: "sleep", service: "sleep" } },
        spec: { ports: [{ port: 80, name: "http" }], selector: { app: "sleep" } },
    };
}

/** sleep's Deployment, as samples/sleep/sleep.yaml@1.30.3 declares it, its pods labelled for a SPIRE identity. */
export function sleepDeploymentArgs(namespace: pulumi.Input<string>): ObjectArgs<DeploymentSpec> {
    return {
        metadata: { name: "sleep", namespace },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: "sleep" } },
            template: {
                metadata: { labels: { app: "sleep", ...SPIRE_MANAGED_POD_LABELS } },
                spec: {
                    terminationGracePeriodSeconds: 0,
                    serviceAccountName: "sleep",
                    containers: [
                        {
                            name: "sleep",
                            image: CURL_IMAGE,
                            command: ["/bin/sleep", "infinity"],
                            imagePullPolicy: "IfNotPresent",
                            volumeMounts: [{ mountPath: "/etc/sleep/tls", name: "secret-volume" }],
                        },
                    ],
                    volumes: [{ name: "secret-volume", secret: { secretName: "sleep-secret", optional: true } }],
                },
            },
        },
    };
}

/** httpbin's Service, as samples/httpbin/httpbin.yaml@1.30.3 declares it: port 8000 to the container's 8080. */
export function httpbinServiceArgs(namespace: pulumi.Input<string>): ObjectArgs<ServiceSpec> {
    return {
        metadata: { name: "httpbin", namespace, labels: { app: "httpbin", service: "httpbin" } },
        spec: { ports: [{ name: "http", port: 8000, targetPort: 8080 }], selector: { app: "httpbin" } },
    };
}

/** httpbin's Deployment, as samples/httpbin/httpbin.yaml@1.30.3 declares it, its pods labelled for a SPIRE identity. */
export function httpbinDeploymentArgs(namespace: pulumi.Input<string>): ObjectArgs<DeploymentSpec> {
    return {
        metadata: { name: "httpbin", namespace },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: "httpbin", version: "v1" } },
            template: {
                metadata: { labels: { app: "httpbin", version: "v1", ...SPIRE_MANAGED_POD_LABELS } },
                spec: {
                    serviceAccountName: "httpbin",
                    containers: [
                        {
                            image: HTTPBIN_IMAGE,
                            imagePullPolicy: "IfNotPresent",
                            name: "httpbin",
                            ports: [{ containerPort: 8080 }],
                        },
                    ],
                },
            },
        },
    };
}

export type SleepHttpbinArgs = SampleArgs;

/**
 * The 2025 guide's test workloads: `sleep` (a curl client) and `httpbin`, each with its own service account, as
 * Istio 1.30.3's samples/sleep and samples/httpbin define them, their pods labelled for SPIRE identities
 * `spiffe://<td>/ns/<namespace>/sa/sleep` and `.../sa/httpbin`.
 */
export class SleepHttpbin extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly sleepSpiffeId: pulumi.Output<string>;
    public readonly httpbinSpiffeId: pulumi.Output<string>;
    /** In-cluster URL of httpbin, e.g. `http://httpbin.default.svc.cluster.local:8000`. */
    public readonly httpbinUrl: pulumi.Output<string>;

    constructor(name: string, args: SleepHttpbinArgs, opts?: pulumi.ComponentResourceOptions) {
        const title = `SleepHttpbin "${name}"`;
        throwIfProblems(title, sampleProblems(args));
        super("istio-spire:samples:SleepHttpbin", name, {}, opts);
        const { namespace: ns, trustDomain } = sampleInputs(title, args);
        const child = { parent: this, dependsOn: args.prerequisites ?? [] };

        // Each Deployment waits for its service account: pods naming a missing one are refused.
        const sleepSa = new k8s.core.v1.ServiceAccount(`${name}-sleep-sa`, serviceAccountArgs("sleep", ns), child);
        new k8s.core.v1.Service(`${name}-sleep-service`, sleepServiceArgs(ns), child);
        new k8s.apps.v1.Deployment(`${name}-sleep`, sleepDeploymentArgs(ns), {
            ...child,
            dependsOn: [...child.dependsOn, sleepSa],
        });
        const httpbinSa = new k8s.core.v1.ServiceAccount(`${name}-httpbin-sa`, serviceAccountArgs("httpbin", ns), child);
        new k8s.core.v1.Service(`${name}-httpbin-service`, httpbinServiceArgs(ns), child);
        new k8s.apps.v1.Deployment(`${name}-httpbin`, httpbinDeploymentArgs(ns), {
            ...child,
            dependsOn: [...child.dependsOn, httpbinSa],
        });

        this.namespace = ns;
        this.sleepSpiffeId = pulumi.all([trustDomain, ns]).apply(([td, n]) => istioSpiffeId(td, n, "sleep"));
        this.httpbinSpiffeId = pulumi.all([trustDomain, ns]).apply(([td, n]) => istioSpiffeId(td, n, "httpbin"));
        this.httpbinUrl = pulumi.interpolate`http://httpbin.${ns}.svc.cluster.local:8000`;
        this.registerOutputs({
            namespace: this.namespace,
            sleepSpiffeId: this.sleepSpiffeId,
            httpbinSpiffeId: this.httpbinSpiffeId,
            httpbinUrl: this.httpbinUrl,
        });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Bookinfo
// ---------------------------------------------------------------------------------------------------------------

/** Bookinfo's published manifest inside the istio/istio repository. */
export const BOOKINFO_MANIFEST_PATH = "samples/bookinfo/platform/kube/bookinfo.yaml";

/** The published Bookinfo manifest of an Istio release, fetched by the provider when the stack is deployed. */
export function bookinfoManifestUrl(istioVersion: string): string {
    return `https://raw.githubusercontent.com/istio/istio/${istioVersion}/${BOOKINFO_MANIFEST_PATH}`;
}

/** Bookinfo's product page Service (bookinfo.yaml): name, port, and the service account of its pods. */
export const PRODUCTPAGE = { service: "productpage", port: 9080, serviceAccount: "bookinfo-productpage" } as const;

/** The paths Bookinfo's ingress routes send to the product page (samples/bookinfo/networking/bookinfo-gateway.yaml). */
export const BOOKINFO_URI_MATCHES: HTTPMatchRequest[] = [
    { uri: { exact: "/productpage" } },
    { uri: { prefix: "/static" } },
    { uri: { exact: "/login" } },
    { uri: { exact: "/logout" } },
    { uri: { prefix: "/api/v1/products" } },
];

/** The selector of this program's ingress gateway pods with the default gateway name (`istio: ingressgateway`). */
export const DEFAULT_GATEWAY_SELECTOR: Record<string, string> = { istio: "ingressgateway" };

/**
 * The Gateway of samples/bookinfo/networking/bookinfo-gateway.yaml@1.30.3: one plain-HTTP server for `hosts`.
 *
 * Upstream listens on 8080, the container port behind port 80 of the istioctl-installed gateway Service. This
 * program's gateway comes from the `gateway` Helm chart, whose Service maps 80 to 80, and istiod binds a Gateway port
 * that matches a Service port to that port's targetPort (pilot/pkg/model/gateway.go `resolvePorts`@1.30.3). So the
 * equivalent here is 80; 8080 would bind a listener no Service port reaches.
 */
export function bookinfoGatewaySpec(selector: Record<string, string>, port: number, hosts: string[]): GatewaySpec {
    return {
        selector: { ...selector },
        servers: [{ port: { number: port, name: "http", protocol: "HTTP" }, hosts: [...hosts] }],
    };
}

/** The VirtualService of bookinfo-gateway.yaml@1.30.3: Bookinfo's paths to productpage:9080, through `gateway`. */
export function bookinfoVirtualServiceSpec(gateway: string, hosts: string[]): VirtualServiceSpec {
    return {
        hosts: [...hosts],
        gateways: [gateway],
        http: [
            {
                match: BOOKINFO_URI_MATCHES.map((m) => ({ ...m })),
                route: [{ destination: { host: PRODUCTPAGE.service, port: { number: PRODUCTPAGE.port } } }],
            },
        ],
    };
}

/**
 * The resource types of the objects in bookinfo.yaml@1.30.3 (4 Services, 4 ServiceAccounts, 6 Deployments), all
 * namespaced: the objects inNamespace may place.
 */
export const BOOKINFO_MANIFEST_TYPES: readonly string[] = ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:core/v1:ServiceAccount"];

/**
 * A `transforms` option putting every object of a manifest (a ConfigFile v2) in `namespace`.
 *
 * ConfigFile v2 is a multi-language component: pulumi-kubernetes registers its objects, after giving each namespaced
 * object without a namespace the provider's default namespace (provider/pkg/provider/yaml/v2/yaml.go Normalize). The
 * engine runs a component's transforms on every resource registered under it, its own first, then its ancestors'
 * (pulumi/pulumi pkg/resource/deploy/source_eval.go RegisterResource: a remote component's transforms are kept for its
 * construction and looked up along the parent chain), so this sets the namespace the provider chose. The resource name
 * pulumi-kubernetes gave the object (`<name>-manifest:<default namespace>/<object>`) keeps that default namespace, which
 * is the kube context's unless the provider has a `namespace`: the program gives it one (MANIFEST_DEFAULT_NAMESPACE),
 * so the names do not change with the context.
 *
 * Only objects of `namespacedTypes` are placed; an object of any other type fails the deployment with a message
 * naming it rather than land in the provider's default namespace or get a namespace it must not have. The component
 * itself (`kubernetes:yaml/v2:ConfigFile`) passes unchanged.
 */
export function inNamespace(namespace: string, namespacedTypes: readonly string[]): pulumi.ResourceTransform {
    return (args) => {
        if (!args.custom) {
            return undefined;
        }
        if (!namespacedTypes.includes(args.type)) {
            throw new Error(
                `${args.type} ${JSON.stringify(args.name)} is not one of the manifest's known namespaced types (${namespacedTypes.join(", ")}); ` +
                    `it cannot be placed in namespace ${JSON.stringify(namespace)}`,
            );
        }
        const metadata = (args.props.metadata ?? {}) as Record<string, unknown>;
        return { props: { ...args.props, metadata: { ...metadata, namespace } }, opts: args.opts };
    };
}

export interface BookinfoArgs extends SampleArgs {
    /**
     * Namespace Bookinfo runs in (enrolled, see SampleArgs). Known at construction, not an Output: the transform that
     * places the manifest's objects (inNamespace) and its error messages take the name as it is.
     */
    namespace: string;
    /** The cluster's SPIFFE trust domain (for the product page's SPIFFE ID). */
    trustDomain: string;
    /** Istio release whose published Bookinfo manifest is deployed (an exact version). @default ISTIO_VERSION */
    istioVersion?: string;
    /** Labels of the ingress gateway pods the Gateway binds to. @default DEFAULT_GATEWAY_SELECTOR */
    gatewaySelector?: Record<string, string>;
    /** Gateway server port: a port of the gateway Service (see bookinfoGatewaySpec). @default 80 */
    gatewayPort?: number;
    /** Hosts Bookinfo answers for on the gateway. @default ["*"] (as upstream) */
    hosts?: string[];
}

/** Checks Bookinfo's arguments; throws one ValidationError naming each bad argument and its value. */
export function validateBookinfoArgs(name: string, args: BookinfoArgs): void {
    const problems = sampleProblems(args);
    if (args.istioVersion !== undefined && checkPinnedVersion(args.istioVersion) !== undefined) {
        const expected = 'is not one exact Istio release; expected a release tag such as "1.30.3" (it pins the manifest URL)';
        problems.push(describeProblem("istioVersion", args.istioVersion, expected));
    }
    if (args.gatewayPort !== undefined) {
        const p = checkPort(args.gatewayPort);
        if (p !== undefined) {
            problems.push(describeProblem("gatewayPort", args.gatewayPort, p));
        }
    }
    if (args.gatewaySelector !== undefined && Object.keys(args.gatewaySelector).length === 0) {
        const expected = 'is empty; expected the gateway pods\' labels, e.g. {"istio":"ingressgateway"}';
        problems.push(describeProblem("gatewaySelector", args.gatewaySelector, expected));
    }
    if (args.hosts !== undefined && (args.hosts.length === 0 || args.hosts.some((h) => typeof h !== "string" || h === ""))) {
        const expected = 'is empty or has an empty host; expected e.g. ["*"] or ["bookinfo.example.com"]';
        problems.push(describeProblem("hosts", args.hosts, expected));
    }
    throwIfProblems(`Bookinfo "${name}"`, problems);
}

/**
 * Istio's Bookinfo at the pinned Istio release: its published manifest (not a copy in this repository), applied with
 * `kubernetes:yaml/v2:ConfigFile` and placed in `namespace` (inNamespace), plus the `bookinfo-gateway` Gateway and
 * `bookinfo` VirtualService exposing it through the ingress gateway. All three go through the Kubernetes provider
 * Bookinfo inherits (its `provider`/`providers` option, or its parent's): it declares none of its own. Give that
 * provider an explicit `namespace` (the program: MANIFEST_DEFAULT_NAMESPACE): the manifest objects' resource names
 * carry the provider's default namespace, otherwise the kube context's (see inNamespace).
 *
 * The manifest's pods carry no `spiffe.io/spire-managed-identity` label, which the workload ClusterSPIFFEID selects:
 * they get it from the `spire` injection template, one of the mesh's default templates, which must set it under
 * `metadata.labels` (Istio merges a template onto the Pod object; keys outside `metadata`/`spec` are dropped).
 */
export class Bookinfo extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    /** The exact manifest URL deployed. */
    public readonly manifestUrl: pulumi.Output<string>;
    /** `productpage.<namespace>.svc.cluster.local`. */
    public readonly productpageHost: pulumi.Output<string>;
    public readonly productpagePort: pulumi.Output<number>;
    /** The product page's SPIFFE ID, `spiffe://<td>/ns/<namespace>/sa/bookinfo-productpage`. */
    public readonly productpageSpiffeId: pulumi.Output<string>;
    /** The Gateway's Kubernetes name. */
    public readonly gatewayName: pulumi.Output<string>;
    public readonly manifest: k8s.yaml.v2.ConfigFile;

    constructor(name: string, args: BookinfoArgs, opts?: pulumi.ComponentResourceOptions) {
        validateBookinfoArgs(name, args);
        super("istio-spire:samples:Bookinfo", name, {}, opts);
        const ns = args.namespace;
        const version = args.istioVersion ?? ISTIO_VERSION;
        const hosts = args.hosts ?? ["*"];
        const prerequisites = args.prerequisites ?? [];
        const url = bookinfoManifestUrl(version);

        // The manifest goes through the provider Bookinfo inherits, like its Gateway and VirtualService: one cluster for
        // the whole sample. Its objects carry no namespace; ConfigFile v2 has no namespace argument and gives them the
        // provider's default namespace, so a transform places them in `namespace` (see inNamespace).
        this.manifest = new k8s.yaml.v2.ConfigFile(
            `${name}-manifest`,
            { file: url },
            { parent: this, dependsOn: prerequisites, transforms: [inNamespace(ns, BOOKINFO_MANIFEST_TYPES)] },
        );

        const gatewayName = "bookinfo-gateway";
        new Gateway(
            `${name}-gateway`,
            {
                name: gatewayName,
                namespace: ns,
                spec: bookinfoGatewaySpec(args.gatewaySelector ?? DEFAULT_GATEWAY_SELECTOR, args.gatewayPort ?? 80, hosts),
            },
            { parent: this, dependsOn: prerequisites },
        );
        new VirtualService(
            `${name}-routes`,
            { name: "bookinfo", namespace: ns, spec: bookinfoVirtualServiceSpec(gatewayName, hosts) },
            { parent: this, dependsOn: prerequisites },
        );

        this.namespace = pulumi.output(ns);
        this.manifestUrl = pulumi.output(url);
        this.productpageHost = pulumi.output(`${PRODUCTPAGE.service}.${ns}.svc.cluster.local`);
        this.productpagePort = pulumi.output<number>(PRODUCTPAGE.port);
        this.productpageSpiffeId = pulumi.output(istioSpiffeId(args.trustDomain, ns, PRODUCTPAGE.serviceAccount));
        this.gatewayName = pulumi.output(gatewayName);
        this.registerOutputs({
            namespace: this.namespace,
            manifestUrl: this.manifestUrl,
            productpageHost: this.productpageHost,
            productpagePort: this.productpagePort,
            productpageSpiffeId: this.productpageSpiffeId,
            gatewayName: this.gatewayName,
        });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// curl-greeter (the federation seed's client, step 4.1)
// ---------------------------------------------------------------------------------------------------------------

/** curl-greeter's Kubernetes name and service account. */
export const CURL_GREETER = "curl-greeter";

/**
 * `proxy.istio.io/config` turning on the sidecar's DNS proxy (`ISTIO_META_DNS_CAPTURE`) for one pod: names that only
 * exist as ServiceEntries (the federated host) then resolve, to the address istiod allocates for them
 * (PILOT_ENABLE_IP_AUTOALLOCATE, on by default in 1.30). JSON, which the annotation's YAML parser reads as is.
 */
export const DNS_CAPTURE_PROXY_CONFIG = JSON.stringify({ proxyMetadata: { ISTIO_META_DNS_CAPTURE: "true" } });

/**
 * curl-greeter's Deployment: the seed's `kubectl run curl-greeter` as a Deployment (restarted, rolled out and
 * awaited like any workload), running the curl image Istio's samples pin and sleeping forever, so `kubectl exec`
 * can run curl in it.
 *
 * The seed's `inject.istio.io/templates: sidecar,spire` annotation is left out: the mesh's default templates already
 * are exactly `sidecar,spire` (istioOperator.ts), and repeating them per pod would only break the pod if the
 * templates were renamed ("requested template not found").
 */
export function curlGreeterDeploymentArgs(namespace: pulumi.Input<string>, image: string, dnsCapture: boolean): ObjectArgs<DeploymentSpec> {
    return {
        metadata: { name: CURL_GREETER, namespace, labels: { app: CURL_GREETER } },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: CURL_GREETER } },
            template: {
                metadata: {
                    labels: { app: CURL_GREETER, ...SPIRE_MANAGED_POD_LABELS },
                    ...(dnsCapture ? { annotations: { "proxy.istio.io/config": DNS_CAPTURE_PROXY_CONFIG } } : {}),
                },
                spec: {
                    terminationGracePeriodSeconds: 0,
                    serviceAccountName: CURL_GREETER,
                    containers: [
                        {
                            name: CURL_GREETER,
                            image,
                            command: ["/bin/sleep", "infinity"],
                            imagePullPolicy: "IfNotPresent",
                        },
                    ],
                },
            },
        },
    };
}

export interface CurlGreeterArgs extends SampleArgs {
    /** The curl image, pinned. @default CURL_IMAGE (what Istio 1.30.3's samples use) */
    image?: string;
    /**
     * Turn on the sidecar's DNS proxy in this pod, so names declared only as ServiceEntries (the federated host)
     * resolve. @default true
     */
    dnsCapture?: boolean;
}

/** Checks CurlGreeter's arguments; throws one ValidationError naming each bad argument and its value. */
export function validateCurlGreeterArgs(name: string, args: CurlGreeterArgs): void {
    const problems = sampleProblems(args);
    if (args.image !== undefined) {
        const p = checkPinnedImage(args.image);
        if (p !== undefined) {
            problems.push(describeProblem("image", args.image, p));
        }
    }
    throwIfProblems(`CurlGreeter "${name}"`, problems);
}

/**
 * The federation seed's client in cluster1: service account `curl-greeter` and a Deployment whose pod gets SPIFFE ID
 * `spiffe://<td>/ns/<namespace>/sa/curl-greeter` from SPIRE, federated with the peers (the workload
 * ClusterSPIFFEID's `federatesWith`).
 */
export class CurlGreeter extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    public readonly serviceAccount: pulumi.Output<string>;
    /** `spiffe://<td>/ns/<namespace>/sa/curl-greeter`: the ID a peer's access policy admits. */
    public readonly spiffeId: pulumi.Output<string>;
    /** For `kubectl exec -n <namespace> deploy/<deploymentName> -c curl-greeter -- curl ...`. */
    public readonly deploymentName: pulumi.Output<string>;

    constructor(name: string, args: CurlGreeterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateCurlGreeterArgs(name, args);
        super("istio-spire:samples:CurlGreeter", name, {}, opts);
        const { namespace: ns, trustDomain } = sampleInputs(`CurlGreeter "${name}"`, args);
        const child = { parent: this, dependsOn: args.prerequisites ?? [] };

        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, serviceAccountArgs(CURL_GREETER, ns), child);
        new k8s.apps.v1.Deployment(`${name}-deployment`, curlGreeterDeploymentArgs(ns, args.image ?? CURL_IMAGE, args.dnsCapture ?? true), {
            ...child,
            dependsOn: [...child.dependsOn, sa],
        });

        this.namespace = ns;
        this.serviceAccount = pulumi.output(CURL_GREETER);
        this.spiffeId = pulumi.all([trustDomain, ns]).apply(([td, n]) => istioSpiffeId(td, n, CURL_GREETER));
        this.deploymentName = pulumi.output(CURL_GREETER);
        this.registerOutputs({
            namespace: this.namespace,
            serviceAccount: this.serviceAccount,
            spiffeId: this.spiffeId,
            deploymentName: this.deploymentName,
        });
    }
}
