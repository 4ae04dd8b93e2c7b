// The Istio installation modelled as one IstioOperator (install.istio.io/v1alpha1), as every runbook writes it,
// and the values for Istio's Helm charts (base, istiod, gateway) derived from that one spec. Pure functions: the
// stack exports the IstioOperator so reviewers see it in diffs and can feed it to `istioctl install -f`.

import { stringify } from "yaml";
import { SPIFFE_CSI_DRIVER, WORKLOAD_SOCKET_DIR } from "./spire";
import { SPIRE_MANAGED_IDENTITY_LABEL } from "./registration";
import { Values, canonical } from "./values";

/** The official Helm repository of Istio's charts. */
export const ISTIO_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";
/** The pinned Istio release: the version of the base, istiod and gateway charts. */
export const ISTIO_VERSION = "1.30.3";

/** Name of the injection template that gives sidecars the SPIRE agent socket. */
export const SPIRE_TEMPLATE = "spire";
/** Name of the injection template that gives gateways the SPIRE agent socket (gateway proxies are never native). */
export const SPIRE_GATEWAY_TEMPLATE = "spire-gateway";
/** The pod volume every stock Istio template mounts for the Workload API socket. */
export const WORKLOAD_SOCKET_VOLUME = "workload-socket";

export interface IngressGatewaySpec {
    name: string;
    namespace: string;
    enabled: boolean;
    label: Record<string, string>;
    k8s: {
        podAnnotations: Record<string, string>;
        service: { type: string };
    };
}

/** The subset of the IstioOperator API this program writes. */
export interface IstioOperator {
    apiVersion: "install.istio.io/v1alpha1";
    kind: "IstioOperator";
    metadata: { name: string; namespace: string };
    spec: {
        profile: "default";
        namespace: string;
        tag: string;
        meshConfig: {
            trustDomain: string;
            trustDomainAliases?: string[];
        };
        values: {
            global: { istioNamespace: string };
            pilot: { env: Record<string, string> };
            sidecarInjectorWebhook: {
                defaultTemplates: string[];
                templates: Record<string, string>;
            };
        };
        components: {
            base: { enabled: true };
            pilot: { enabled: true };
            ingressGateways: IngressGatewaySpec[];
        };
    };
}

export interface IstioOperatorSettings {
    /** SPIFFE trust domain, the same value SPIRE is given. */
    trustDomain: string;
    /** Peer trust domains Istio must accept certificates from (federation). @default [] */
    federatedTrustDomains?: string[];
    /** Istio's namespace. */
    namespace: string;
    /** Istio version (the charts' version). */
    version: string;
    /** Run istio-proxy as a Kubernetes native sidecar (an init container with restartPolicy Always). */
    nativeSidecars: boolean;
    gateway: {
        name: string;
        /** The gateway pods' `istio` label. */
        istioLabel: string;
        serviceType: string;
    };
}

/**
 * The `spire` injection template: swaps the source of the `workload-socket` volume every stock template mounts to
 * the SPIFFE CSI driver (the stock templates declare it with a null emptyDir, which a CSI source replaces), mounts
 * it read-only at /run/secrets/workload-spiffe-uds, and labels the pod so the workload ClusterSPIFFEID selects it.
 * The label goes under `metadata`: Istio merges a template onto the Pod and decodes the result as a Pod
 * (pkg/kube/inject/webhook.go applyOverlayYAML), so a top-level `labels` key, as some runbooks write it, is dropped.
 *
 * The proxy container is patched where the stock sidecar template puts it: `initContainers` for native sidecars,
 * `containers` otherwise. Patching the other list would add a second, image-less istio-proxy and the pod is
 * rejected ("init container istio-proxy already exists", istio/istio#56455).
 */
export function spireSidecarTemplate(nativeSidecars: boolean): string {
    const proxyList = nativeSidecars ? "initContainers" : "containers";
    return templateYaml({
        metadata: { labels: { [SPIRE_MANAGED_IDENTITY_LABEL]: "true" } },
        spec: {
            [proxyList]: [proxyPatch()],
            volumes: [csiSocketVolume()],
        },
    });
}

/**
 * The `spire-gateway` injection template. Gateway proxies are always regular containers, so the patch targets
 * `containers`; the CSI source replaces the stock gateway template's emptyDir (istio/istio#46988).
 */
export function spireGatewayTemplate(): string {
    return templateYaml({
        spec: {
            containers: [proxyPatch()],
            volumes: [csiSocketVolume()],
        },
    });
}

function proxyPatch() {
    return {
        name: "istio-proxy",
        volumeMounts: [{ name: WORKLOAD_SOCKET_VOLUME, mountPath: WORKLOAD_SOCKET_DIR, readOnly: true }],
    };
}

function csiSocketVolume() {
    return { name: WORKLOAD_SOCKET_VOLUME, csi: { driver: SPIFFE_CSI_DRIVER, readOnly: true } };
}

function templateYaml(template: object): string {
    return stringify(canonical(template), { lineWidth: 0 });
}

/** Builds the IstioOperator for a SPIRE-backed mesh. Deterministic: the same settings give the same object. */
export function buildIstioOperator(settings: IstioOperatorSettings): IstioOperator {
    const aliases = [...new Set(settings.federatedTrustDomains ?? [])].sort();
    return canonical({
        apiVersion: "install.istio.io/v1alpha1",
        kind: "IstioOperator",
        metadata: { name: "istio-spire", namespace: settings.namespace },
        spec: {
            profile: "default",
            namespace: settings.namespace,
            tag: settings.version,
            meshConfig: {
                trustDomain: settings.trustDomain,
                // Peer trust domains: Envoy validates peer SANs against trustDomain + aliases, and authorization
                // policies and service-account SANs expand over the aliases (istio/istio#57399).
                ...(aliases.length > 0 ? { trustDomainAliases: aliases } : {}),
            },
            values: {
                global: { istioNamespace: settings.namespace },
                pilot: {
                    // Pinned rather than "auto" (on with kubelets >= 1.33), so the spire template matches the mode.
                    env: { ENABLE_NATIVE_SIDECARS: String(settings.nativeSidecars) },
                },
                sidecarInjectorWebhook: {
                    // Every injected pod gets the SPIRE socket; no per-Deployment annotation needed.
                    defaultTemplates: ["sidecar", SPIRE_TEMPLATE],
                    templates: {
                        [SPIRE_TEMPLATE]: spireSidecarTemplate(settings.nativeSidecars),
                        [SPIRE_GATEWAY_TEMPLATE]: spireGatewayTemplate(),
                    },
                },
            },
            components: {
                base: { enabled: true },
                pilot: { enabled: true },
                ingressGateways: [
                    {
                        name: settings.gateway.name,
                        namespace: settings.namespace,
                        enabled: true,
                        label: { app: settings.gateway.name, istio: settings.gateway.istioLabel },
                        k8s: {
                            podAnnotations: { "inject.istio.io/templates": `gateway,${SPIRE_GATEWAY_TEMPLATE}` },
                            service: { type: settings.gateway.serviceType },
                        },
                    },
                ],
            },
        },
    }) as IstioOperator;
}

/**
 * The Helm charts' `profile` value for the operator's profile. The charts' baseline already is the `default` profile
 * and they fail on "unknown profile default" (there is no files/profile-default.yaml), so it maps to no value.
 */
export function chartProfile(iop: IstioOperator): Values {
    return iop.spec.profile === "default" ? {} : { profile: iop.spec.profile };
}

/** Values for the `base` chart (CRDs and cluster roles). */
export function baseChartValues(iop: IstioOperator): Values {
    return canonical({ ...chartProfile(iop), global: { istioNamespace: iop.spec.values.global.istioNamespace } });
}

/**
 * Values for the `istiod` chart: the IstioOperator's `values` with its `pilot` block lifted to the top level (the
 * chart's current API; it still merges a legacy `pilot:` block the same way) and its `meshConfig`.
 */
export function istiodChartValues(iop: IstioOperator): Values {
    const { pilot, ...rest } = iop.spec.values;
    return canonical({ ...chartProfile(iop), ...rest, ...pilot, meshConfig: iop.spec.meshConfig });
}

/** Values for the `gateway` chart, from the IstioOperator's first ingress gateway and the service account to use. */
export function gatewayChartValues(iop: IstioOperator, serviceAccount: string): Values {
    const [gateway] = iop.spec.components.ingressGateways;
    return canonical({
        ...chartProfile(iop),
        name: gateway.name,
        labels: { ...gateway.label },
        podAnnotations: { ...gateway.k8s.podAnnotations },
        service: { type: gateway.k8s.service.type },
        serviceAccount: { create: true, name: serviceAccount },
    });
}
