// Typed wrappers of the Istio custom resources this program declares: Gateway, VirtualService, ServiceEntry and
// DestinationRule (networking.istio.io/v1), AuthorizationPolicy (security.istio.io/v1). Spec fields as in Istio 1.30's
// networking/security v1 APIs (Istio 1.30.3's CRDs), limited to the subset this program writes.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1";
export const ISTIO_SECURITY_API_VERSION = "security.istio.io/v1";

// ---------------------------------------------------------------------------------------------------------------
// networking.istio.io/v1 specs: Gateway, VirtualService
// ---------------------------------------------------------------------------------------------------------------

/** `Port` of a Gateway server. */
export interface GatewayPort {
    number: number;
    /** Unique within the Gateway. */
    name: string;
    protocol: "HTTP" | "HTTPS" | "GRPC" | "HTTP2" | "MONGO" | "TCP" | "TLS";
}

/** `ServerTLSSettings` of a Gateway server (the subset this program writes). */
export interface ServerTLSSettings {
    /**
     * ISTIO_MUTUAL: the gateway presents its own workload certificate (here its SPIRE SVID) and requires a client
     * certificate, validated against the proxy's root bundle (here SPIRE's, federated bundles included).
     */
    mode: "PASSTHROUGH" | "SIMPLE" | "MUTUAL" | "AUTO_PASSTHROUGH" | "ISTIO_MUTUAL" | "OPTIONAL_MUTUAL";
    credentialName?: string;
    subjectAltNames?: string[];
}

/** A Gateway `Server`. */
export interface GatewayServer {
    port: GatewayPort;
    hosts: string[];
    tls?: ServerTLSSettings;
}

/** `Gateway.spec`: which gateway pods listen, and on which ports and hosts. */
export interface GatewaySpec {
    /** Labels of the gateway pods this configuration applies to. */
    selector: Record<string, string>;
    servers: GatewayServer[];
}

/** `StringMatch`: exactly one of the three. */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

/** `HTTPMatchRequest` (the subset this program writes). */
export interface HTTPMatchRequest {
    uri?: StringMatch;
}

/** `Destination` of a route. */
export interface Destination {
    host: string;
    port?: { number: number };
    subset?: string;
}

/** An `HTTPRoute`: requests matching any of `match` go to `route`. */
export interface HTTPRoute {
    name?: string;
    match?: HTTPMatchRequest[];
    route: { destination: Destination; weight?: number }[];
}

/** `VirtualService.spec` (HTTP routes only). */
export interface VirtualServiceSpec {
    hosts: string[];
    /** Gateways (`<name>` in the same namespace, or `<namespace>/<name>`) the routes apply to. */
    gateways?: string[];
    http: HTTPRoute[];
    exportTo?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// networking.istio.io/v1 specs: ServiceEntry, DestinationRule
// ---------------------------------------------------------------------------------------------------------------

/** A ServiceEntry `ServicePort`. */
export interface ServicePort {
    number: number;
    protocol: "HTTP" | "HTTPS" | "GRPC" | "HTTP2" | "MONGO" | "TCP" | "TLS";
    name: string;
    /** The port on the endpoints traffic is sent to. @default number */
    targetPort?: number;
}

/** `ServiceEntry.spec` (the subset this program writes). */
export interface ServiceEntrySpec {
    hosts: string[];
    location: "MESH_EXTERNAL" | "MESH_INTERNAL";
    /** STATIC: endpoints are IP addresses; DNS: endpoints are names, resolved by the proxy. */
    resolution: "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN" | "DYNAMIC_DNS";
    ports: ServicePort[];
    endpoints?: { address: string }[];
    exportTo?: string[];
}

/** `ClientTLSSettings` of a DestinationRule (the subset this program writes). */
export interface ClientTLSSettings {
    /**
     * ISTIO_MUTUAL: the proxy presents its workload certificate (here its SPIRE SVID, from SDS `default`) and
     * validates the server's against its root bundle (SDS `ROOTCA`, SPIRE's: federated bundles included).
     */
    mode: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
    /** SNI sent in the TLS handshake. */
    sni?: string;
    /** The server certificate must carry one of these SANs (exact match). */
    subjectAltNames?: string[];
}

/** `DestinationRule.spec` (the subset this program writes). */
export interface DestinationRuleSpec {
    host: string;
    trafficPolicy: { tls: ClientTLSSettings };
    exportTo?: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// security.istio.io/v1 specs: AuthorizationPolicy
// ---------------------------------------------------------------------------------------------------------------

/** An AuthorizationPolicy `Source` (the subset this program writes). */
export interface AuthorizationSource {
    /** Peer identities, `<trust domain>/ns/<namespace>/sa/<service account>` (no `spiffe://`). */
    principals?: string[];
    notPrincipals?: string[];
}

/** An AuthorizationPolicy `Operation` (the subset this program writes). */
export interface AuthorizationOperation {
    /** HTTP Host (authority) values, matched exactly (case-insensitive); `*` as prefix or suffix is a wildcard. */
    hosts?: string[];
    ports?: string[];
    paths?: string[];
}

/** `AuthorizationPolicy.spec` (the subset this program writes). */
export interface AuthorizationPolicySpec {
    selector: { matchLabels: Record<string, string> };
    action: "ALLOW" | "DENY" | "AUDIT" | "CUSTOM";
    rules: { from?: { source: AuthorizationSource }[]; to?: { operation: AuthorizationOperation }[] }[];
}

// ---------------------------------------------------------------------------------------------------------------
// The resources
// ---------------------------------------------------------------------------------------------------------------

/** Arguments of a namespaced Istio custom resource: its fixed Kubernetes name and namespace, and its spec. */
export interface IstioResourceArgs<Spec> {
    /** `metadata.name`: fixed, never auto-named, so a re-run never replaces the object. */
    name: string;
    namespace: pulumi.Input<string>;
    spec: pulumi.Input<Spec>;
}

function istioObject<Spec>(apiVersion: string, kind: string, args: IstioResourceArgs<Spec>) {
    return { apiVersion, kind, metadata: { name: args.name, namespace: args.namespace }, spec: args.spec };
}

/** An Istio Gateway (networking.istio.io/v1). */
export class Gateway extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: IstioResourceArgs<GatewaySpec>, opts?: pulumi.CustomResourceOptions) {
        super(name, istioObject(ISTIO_NETWORKING_API_VERSION, "Gateway", args), opts);
    }
}

/** An Istio VirtualService (networking.istio.io/v1). */
export class VirtualService extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: IstioResourceArgs<VirtualServiceSpec>, opts?: pulumi.CustomResourceOptions) {
        super(name, istioObject(ISTIO_NETWORKING_API_VERSION, "VirtualService", args), opts);
    }
}

/** An Istio ServiceEntry (networking.istio.io/v1). */
export class ServiceEntry extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: IstioResourceArgs<ServiceEntrySpec>, opts?: pulumi.CustomResourceOptions) {
        super(name, istioObject(ISTIO_NETWORKING_API_VERSION, "ServiceEntry", args), opts);
    }
}

/** An Istio DestinationRule (networking.istio.io/v1). */
export class DestinationRule extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: IstioResourceArgs<DestinationRuleSpec>, opts?: pulumi.CustomResourceOptions) {
        super(name, istioObject(ISTIO_NETWORKING_API_VERSION, "DestinationRule", args), opts);
    }
}

/** An Istio AuthorizationPolicy (security.istio.io/v1). */
export class AuthorizationPolicy extends k8s.apiextensions.CustomResource {
    constructor(name: string, args: IstioResourceArgs<AuthorizationPolicySpec>, opts?: pulumi.CustomResourceOptions) {
        super(name, istioObject(ISTIO_SECURITY_API_VERSION, "AuthorizationPolicy", args), opts);
    }
}
