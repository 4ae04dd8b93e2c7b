// Typed wrappers for the spire-controller-manager custom resources this program declares (spire-crds 0.6.0,
// `spire.spiffe.io/v1alpha1`). The spec interfaces follow the CRDs' OpenAPI schemas; a conformance test validates
// every declared object against the real schemas.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const SPIRE_API_VERSION = "spire.spiffe.io/v1alpha1";

/** A Kubernetes label selector. */
export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** `ClusterSPIFFEID.spec`: which pods get which SPIFFE ID, registered by the controller manager. */
export interface ClusterSPIFFEIDSpec {
    /** The controller class that acts on this object. */
    className?: string;
    /** Go template of the SPIFFE ID, e.g. `spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/...`. */
    spiffeIDTemplate: string;
    namespaceSelector?: LabelSelector;
    podSelector?: LabelSelector;
    /** Extra SPIRE selectors a workload must match, e.g. `k8s:ns:istio-system`. */
    workloadSelectorTemplates?: string[];
    /** Trust domains whose bundles SVIDs for this ID carry. */
    federatesWith?: string[];
    dnsNameTemplates?: string[];
    autoPopulateDNSNames?: boolean;
    ttl?: string;
    jwtTtl?: string;
    hint?: string;
    admin?: boolean;
    downstream?: boolean;
    fallback?: boolean;
}

/** `ClusterFederatedTrustDomain.spec`: a trust domain this SPIRE server federates with. */
export interface ClusterFederatedTrustDomainSpec {
    className?: string;
    trustDomain: string;
    bundleEndpointURL: string;
    bundleEndpointProfile: { type: "https_spiffe"; endpointSPIFFEID: string } | { type: "https_web" };
    /** Bootstrap bundle in SPIFFE format; SPIRE refreshes it from the endpoint afterwards. */
    trustDomainBundle?: string;
}

/** Arguments of a cluster-scoped SPIRE custom resource: its fixed Kubernetes name and its spec. */
export interface SpireResourceArgs<Spec> {
    /** `metadata.name`: fixed, never auto-named, so a re-run never replaces the object. */
    name: string;
    /** `metadata.annotations`. @default none */
    annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    spec: pulumi.Input<Spec>;
}

/** A ClusterSPIFFEID custom resource. */
export class ClusterSPIFFEID extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: SpireResourceArgs<ClusterSPIFFEIDSpec>, opts?: pulumi.CustomResourceOptions) {
        super(
            name,
            {
                apiVersion: SPIRE_API_VERSION,
                kind: "ClusterSPIFFEID",
                metadata: { name: args.name, ...(args.annotations !== undefined ? { annotations: args.annotations } : {}) },
                spec: args.spec,
            },
            opts,
        );
    }
}

/** A ClusterFederatedTrustDomain custom resource. */
export class ClusterFederatedTrustDomain extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: SpireResourceArgs<ClusterFederatedTrustDomainSpec>, opts?: pulumi.CustomResourceOptions) {
        super(
            name,
            {
                apiVersion: SPIRE_API_VERSION,
                kind: "ClusterFederatedTrustDomain",
                metadata: { name: args.name, ...(args.annotations !== undefined ? { annotations: args.annotations } : {}) },
                spec: args.spec,
            },
            opts,
        );
    }
}
