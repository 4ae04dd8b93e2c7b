// The Istio installation modelled as one IstioOperator (install.istio.io/v1alpha1), as every runbook writes it,
// and the values for Istio's Helm charts (base, istiod, gateway) derived from that one spec. Pure functions: the
// stack exports the IstioOperator so reviewers see it in diffs and can feed it to `istioctl install -f`.

import { SPIFFE_CSI_DRIVER, WORKLOAD_SOCKET_DIR } from "./spire";
import { SPIRE_MANAGED_IDENTITY_LABEL } from "./registration";
import { Values, canonical } from "../values";
import { SUPPORTED_ISTIO_VERSIONS } from "../versions";

/** The official Helm repository of Istio's charts. */
export const ISTIO_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";
/** The pinned Istio release: the version of the base, istiod and gateway charts. */
export const ISTIO_VERSION = "1.30.3";

/** Name of the injection template that gives sidecars the SPIRE agent socket. */
export const SPIRE_TEMPLATE = "spire";
/**
 * The former gateway template's name, kept as a second name of the `spire` template (the same text): pods created
 * with `inject.istio.io/templates: gateway,spire-gateway` (the ingress gateway's pods before this program used
 * `gateway,spire`, and anyone's extra gateways) are still injected; Istio refuses a pod naming a template it does not
 * have ("requested template not found", inject.go RunTemplate).
 */
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
    /**
     * Istio's default proxy mode (istiod's ENABLE_NATIVE_SIDECARS): istio-proxy as a Kubernetes native sidecar (an init
     * container with restartPolicy Always). A pod overrides it with the `sidecar.istio.io/nativeSidecar` annotation.
     */
    nativeSidecars: boolean;
    gateway: {
        name: string;
        /** The gateway pods' `istio` label. */
        istioLabel: string;
        serviceType: string;
    };
}

/** The pod annotation that overrides the native sidecar mode per pod (Istio's `sidecar` template reads it). */
export const NATIVE_SIDECAR_ANNOTATION = "sidecar.istio.io/nativeSidecar";
/** The pod annotation naming the injection templates to apply instead of the default ones. */
export const INJECT_TEMPLATES_ANNOTATION = "inject.istio.io/templates";

/**
 * The `spire` injection template, a Go template Istio evaluates per pod (pkg/kube/inject/inject.go 1.30.3
 * `RunTemplate`, the same data for every template of the pod, each output merged onto the pod in turn as a
 * strategic merge patch, where containers merge by name). It swaps the source of the `workload-socket` volume every
 * stock template mounts to the SPIFFE CSI driver (the stock templates declare it with a null emptyDir, which a CSI
 * source replaces) and mounts it read-only at /run/secrets/workload-spiffe-uds in the proxy. Sidecar pods are also
 * labelled so the workload ClusterSPIFFEID selects them. The label goes under `metadata`: Istio merges a template
 * onto the Pod and decodes the result as a Pod (pkg/kube/inject/webhook.go applyOverlayYAML), so a top-level
 * `labels` key, as some runbooks write it, is dropped.
 *
 * The proxy is patched where the template that creates it puts it. Patching the other list adds a second, image-less
 * istio-proxy, which Kubernetes rejects ("init container istio-proxy already exists", istio/istio#56455); in a gateway
 * with native sidecars on, istiod also moves the gateway's proxy into initContainers first (inject.go RunTemplate),
 * where it is no native sidecar and the pod never starts (test/injection.test.ts shows both):
 * - with the `gateway` template (`inject.istio.io/templates: gateway,spire`, Istio's documented form for extra
 *   gateways; files/gateway-injection-template.yaml), the proxy is always a regular container;
 * - with the `sidecar` template, it is an init container when `$nativeSidecar` holds, a container otherwise. The
 *   condition is copied from Istio 1.30.3's own template (manifests/charts/istio-control/istio-discovery/files/
 *   injection-template.yaml): the pod's `sidecar.istio.io/nativeSidecar` annotation if set, else `.NativeSidecars`,
 *   which the webhook derives from istiod's ENABLE_NATIVE_SIDECARS (pinned through `pilot.env`, webhook.go
 *   DetectNativeSidecar); anything but "false" means native.
 * Istio's own tests use both forms: pkg/kube/inject/testdata/inject/gateway-spire.yaml (`gateway,spire`, the spire
 * template patching `containers`) and inject_test.go TestNativeSidecarAnnotationOverride (this condition in a custom
 * template choosing `initContainers` or `containers`).
 * Template names are read the way Istio selects them (inject.go selectTemplates: split at commas, spaces trimmed; no
 * template aliases are configured, so the names are the templates). Without the annotation the pod gets the default
 * templates, `sidecar` and `spire`.
 */
export function spireSidecarTemplate(version: string = ISTIO_VERSION): string {
    const mount = { name: WORKLOAD_SOCKET_VOLUME, mountPath: WORKLOAD_SOCKET_DIR, readOnly: true };
    return [
        `{{- ${nativeSidecarCondition(version)} }}`,
        "{{- $templates := list }}",
        '{{- range splitList "," (index .ObjectMeta.Annotations `' +
            INJECT_TEMPLATES_ANNOTATION +
            '` | default "") }}{{ $templates = append $templates (trim .) }}{{ end }}',
        '{{- $gateway := has "gateway" $templates }}',
        "{{- if not $gateway }}",
        "metadata:",
        "  labels:",
        `    ${SPIRE_MANAGED_IDENTITY_LABEL}: "true"`,
        "{{- end }}",
        "spec:",
        "  {{ if and $nativeSidecar (not $gateway) }}initContainers{{ else }}containers{{ end }}:",
        "  - name: istio-proxy",
        "    volumeMounts:",
        `    - mountPath: ${mount.mountPath}`,
        `      name: ${mount.name}`,
        "      readOnly: true",
        "  volumes:",
        "  - csi:",
        `      driver: ${SPIFFE_CSI_DRIVER}`,
        "      readOnly: true",
        `    name: ${WORKLOAD_SOCKET_VOLUME}`,
        "",
    ].join("\n");
}

/**
 * The native-sidecar condition of each supported Istio version's own `sidecar` template (istiod chart
 * files/injection-template.yaml, line 29 in both 1.29.6 and 1.30.3), which the `spire` template of that version's
 * control plane must repeat: the proxy is patched in the list that version's `sidecar` template puts it in. The two
 * versions' `sidecar` templates differ only in an OTEL_RESOURCE_ATTRIBUTES env entry (1.30), and their `gateway`
 * templates not at all (the proxy always a container), so both versions' SPIRE templates are the same text today;
 * test/injection.test.ts compares each entry with the rendered chart's template and injects pods with each version.
 */
export const NATIVE_SIDECAR_CONDITIONS: Readonly<Record<string, string>> = Object.fromEntries(
    SUPPORTED_ISTIO_VERSIONS.map((v) => [
        v,
        "$nativeSidecar := ne (index .ObjectMeta.Annotations `" + NATIVE_SIDECAR_ANNOTATION + '` | default (printf "%t" .NativeSidecars)) "false"',
    ]),
);

/** The native-sidecar condition of `version`'s sidecar template (an unsupported version, refused by config: the newest's). */
export function nativeSidecarCondition(version: string): string {
    return NATIVE_SIDECAR_CONDITIONS[version] ?? NATIVE_SIDECAR_CONDITIONS[SUPPORTED_ISTIO_VERSIONS[SUPPORTED_ISTIO_VERSIONS.length - 1]];
}

/** The SPIRE injection templates of one control plane (one revision) at `version`: `spire` and its second name. */
export function spireTemplates(version: string): Record<string, string> {
    return { [SPIRE_TEMPLATE]: spireSidecarTemplate(version), [SPIRE_GATEWAY_TEMPLATE]: spireSidecarTemplate(version) };
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
                    // Pinned rather than "auto" (on with kubelets >= 1.33): the mode does not change with the nodes.
                    // The spire template follows whatever mode the sidecar template picks for each pod.
                    env: { ENABLE_NATIVE_SIDECARS: String(settings.nativeSidecars) },
                },
                sidecarInjectorWebhook: {
                    // Every injected pod gets the SPIRE socket; no per-Deployment annotation needed.
                    defaultTemplates: ["sidecar", SPIRE_TEMPLATE],
                    templates: spireTemplates(settings.version),
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
                            // Istio's documented form for gateways; the spire template sees `gateway` and patches the container.
                            podAnnotations: { [INJECT_TEMPLATES_ANNOTATION]: `gateway,${SPIRE_TEMPLATE}` },
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
