// Workload registration: the ClusterSPIFFEIDs that make the SPIRE controller manager register the ingress gateway
// and every enrolled workload, and the namespace labels that enroll application namespaces. This replaces the
// seeds' `spire-server entry create` and `kubectl label namespace` steps.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { adoptionAnnotations } from "../kubernetes";
import { ClusterSPIFFEID, ClusterSPIFFEIDSpec } from "./crds";

/** Istio's SPIFFE ID pattern, `spiffe://<td>/ns/<namespace>/sa/<service account>`, as a controller-manager template. */
export const ISTIO_SPIFFE_ID_TEMPLATE = "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}";

/** The pod and namespace label that marks workloads whose identity SPIRE issues (the seeds' label). */
export const SPIRE_MANAGED_IDENTITY_LABEL = "spiffe.io/spire-managed-identity";

/** Labels an enrolled namespace carries: sidecar injection on, SPIRE-managed identities. */
export const ENROLLED_NAMESPACE_LABELS: Record<string, string> = {
    "istio-injection": "enabled",
    [SPIRE_MANAGED_IDENTITY_LABEL]: "true",
};

/** The labels of an enrolled namespace: on the default tag (no revision), or on a revision or tag. */
export function enrollmentLabels(revision: string | undefined): Record<string, string> {
    return revision === undefined ? ENROLLED_NAMESPACE_LABELS : { "istio.io/rev": revision, [SPIRE_MANAGED_IDENTITY_LABEL]: "true" };
}

/** The SPIFFE ID Istio expects for a service account. */
export function istioSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
    return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface GatewayIdentity {
    /** Namespace the gateway runs in. */
    namespace: string;
    /** The gateway pods' `istio` label value. */
    istioLabel: string;
    /** The gateway's service account. */
    serviceAccount: string;
}

/** The ClusterSPIFFEID for the ingress gateway: its namespace and service account, nothing else. */
export function gatewaySpiffeIdSpec(className: string, gateway: GatewayIdentity, federatesWith: string[]): ClusterSPIFFEIDSpec {
    return {
        className,
        spiffeIDTemplate: ISTIO_SPIFFE_ID_TEMPLATE,
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": gateway.namespace } },
        podSelector: { matchLabels: { istio: gateway.istioLabel } },
        workloadSelectorTemplates: [`k8s:ns:${gateway.namespace}`, `k8s:sa:${gateway.serviceAccount}`],
        ...(federatesWith.length > 0 ? { federatesWith: [...federatesWith] } : {}),
    };
}

/**
 * The ClusterSPIFFEID for mesh workloads: pods labelled `spiffe.io/spire-managed-identity: "true"` (the spire
 * injection template adds the label to every injected pod), each getting the ID of its own namespace and service
 * account, bound to both by workload selectors.
 */
export function workloadSpiffeIdSpec(className: string, excludedNamespaces: string[], federatesWith: string[]): ClusterSPIFFEIDSpec {
    return {
        className,
        spiffeIDTemplate: ISTIO_SPIFFE_ID_TEMPLATE,
        podSelector: { matchLabels: { [SPIRE_MANAGED_IDENTITY_LABEL]: "true" } },
        // The gateway and SPIRE's own namespaces have their own registrations (or none).
        namespaceSelector: {
            matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...excludedNamespaces].sort() }],
        },
        workloadSelectorTemplates: ["k8s:ns:{{ .PodMeta.Namespace }}", "k8s:sa:{{ .PodSpec.ServiceAccountName }}"],
        ...(federatesWith.length > 0 ? { federatesWith: [...federatesWith] } : {}),
    };
}

export interface WorkloadRegistrationArgs {
    /** SPIFFE trust domain (for the exported IDs). */
    trustDomain: string;
    /** The SPIRE controller class that must act on these resources. */
    controllerClassName: pulumi.Input<string>;
    /** The ingress gateway to register. */
    gateway: GatewayIdentity;
    /** Namespaces the workload registration never applies to (SPIRE's, Istio's). */
    excludedNamespaces: string[];
    /** Existing application namespaces to enroll: injection on and SPIRE label set. @default [] */
    enrolledNamespaces?: string[];
    /**
     * Enrolled namespaces on a revision or tag: labelled `istio.io/rev=<value>` and not `istio-injection`, which
     * would take precedence (istiod chart mutatingwebhook.yaml: the legacy selector wins). @default {}
     */
    namespaceRevisions?: Record<string, string>;
    /** Trust domains enrolled workloads and the gateway federate with. @default [] */
    federatesWith?: string[];
    /** The SPIRE release: its controller manager's validating webhook must serve before these objects are created. */
    spireRelease: pulumi.Resource;
    /** The federation relationships `federatesWith` refers to: created first. @default [] */
    federatedTrustDomainResources?: pulumi.Resource[];
    /**
     * Import the runbook's existing ClusterSPIFFEID `istio-ingressgateway-reg` (seed 003 step 2.1; cluster-scoped, id:
     * its name) instead of creating it; it is then updated to this program's spec, with force (adoptionAnnotations).
     * @default false
     */
    adoptGatewayRegistration?: boolean;
}

/**
 * Kubernetes names of the two ClusterSPIFFEIDs (the 2025 guide's, so `kubectl get clusterspiffeid`
 * reads like the runbook).
 */
export const GATEWAY_CLUSTER_SPIFFE_ID = "istio-ingressgateway-reg";
export const WORKLOAD_CLUSTER_SPIFFE_ID = "istio-workloads";

/**
 * Declares the ClusterSPIFFEIDs for the gateway and the workloads, and labels enrolled namespaces.
 *
 * Everything here waits for the SPIRE release (its controller manager's webhook validates these objects) and for
 * nothing of Istio's: sidecars and the gateway stay unready until their registration exists.
 */
export class WorkloadRegistration extends pulumi.ComponentResource {
    public readonly gatewaySpiffeId: pulumi.Output<string>;
    /** SPIFFE ID template of enrolled workloads. */
    public readonly workloadSpiffeIdPattern: pulumi.Output<string>;
    public readonly gatewayRegistration: ClusterSPIFFEID;
    public readonly workloadRegistration: ClusterSPIFFEID;
    public readonly enrolledNamespaces: pulumi.Output<string[]>;
    /** The enrollment patch of each enrolled namespace: what runs there waits for its labels. */
    public readonly enrollments: Record<string, k8s.core.v1.NamespacePatch> = {};

    constructor(name: string, args: WorkloadRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:registration:WorkloadRegistration", name, {}, opts);
        const federatesWith = [...(args.federatesWith ?? [])].sort();
        const enrolled = args.enrolledNamespaces ?? [];

        const className = pulumi.output(args.controllerClassName);
        const afterSpire = { parent: this, dependsOn: [args.spireRelease, ...(args.federatedTrustDomainResources ?? [])] };

        this.gatewayRegistration = new ClusterSPIFFEID(
            `${name}-gateway`,
            {
                name: GATEWAY_CLUSTER_SPIFFE_ID,
                // Adopted: its updates take over kubectl's fields (adoptionAnnotations).
                ...adoptionAnnotations(args.adoptGatewayRegistration === true),
                spec: className.apply((c) => gatewaySpiffeIdSpec(c, args.gateway, federatesWith)),
            },
            { ...afterSpire, ...(args.adoptGatewayRegistration ? { import: GATEWAY_CLUSTER_SPIFFE_ID } : {}) },
        );
        this.workloadRegistration = new ClusterSPIFFEID(
            `${name}-workloads`,
            {
                name: WORKLOAD_CLUSTER_SPIFFE_ID,
                spec: className.apply((c) => workloadSpiffeIdSpec(c, args.excludedNamespaces, federatesWith)),
            },
            afterSpire,
        );

        for (const namespace of enrolled) {
            // A server-side-apply patch: adds our labels to an existing namespace and removes only those on destroy.
            this.enrollments[namespace] = new k8s.core.v1.NamespacePatch(
                `${name}-enroll-${namespace}`,
                { metadata: { name: namespace, labels: enrollmentLabels(args.namespaceRevisions?.[namespace]) } },
                { parent: this },
            );
        }

        this.gatewaySpiffeId = pulumi.output(istioSpiffeId(args.trustDomain, args.gateway.namespace, args.gateway.serviceAccount));
        this.workloadSpiffeIdPattern = pulumi.output(istioSpiffeId(args.trustDomain, "<namespace>", "<service-account>"));
        this.enrolledNamespaces = pulumi.output([...enrolled]);
        this.registerOutputs({
            gatewaySpiffeId: this.gatewaySpiffeId,
            workloadSpiffeIdPattern: this.workloadSpiffeIdPattern,
            enrolledNamespaces: this.enrolledNamespaces,
        });
    }
}
