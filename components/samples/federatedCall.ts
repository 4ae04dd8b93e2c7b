// A call across federated trust domains, declared (seed 001 steps 4.5 and 4.6 without `spire-server x509 mint`):
// a client workload in one cluster calls a service of a peer cluster through the peer's ingress gateway, over mTLS
// with SPIRE-issued SVIDs on both sides, each side validating the other against the federated bundle.
//
//   cluster1                                           cluster2
//   curl-greeter ── http://<host>/productpage ──►      ingress gateway :443 (Gateway: HTTPS, ISTIO_MUTUAL, <host>)
//   sidecar: ServiceEntry <host>:80 → <gateway>:443      AuthorizationPolicy: DENY <host> unless the caller's SVID
//            DestinationRule ISTIO_MUTUAL, sni <host>,     is one of allowedSpiffeIds
//            SAN = the peer gateway's SPIFFE ID          VirtualService <host> → productpage.<ns>:9080
//
// FederatedServiceClient is the client side, FederatedServiceAccess the server side.

import * as pulumi from "@pulumi/pulumi";
import { isIP } from "net";
import {
    AuthorizationPolicy,
    AuthorizationPolicySpec,
    DestinationRule,
    DestinationRuleSpec,
    Gateway,
    GatewaySpec,
    HTTPMatchRequest,
    ServiceEntry,
    ServiceEntrySpec,
    VirtualService,
    VirtualServiceSpec,
} from "../mesh/istioResources";
import { isDeployTimePlaceholder } from "../mesh/federation";
import {
    ValidationError,
    checkDnsLabel,
    checkHostname,
    checkNetworkAddress,
    checkPort,
    checkWorkloadSpiffeId,
    checkedInput,
    describeProblem,
    firstDuplicate,
    knownInputProblem,
    throwIfProblems,
} from "../validation";

// ---------------------------------------------------------------------------------------------------------------
// Values and checks
// ---------------------------------------------------------------------------------------------------------------

/** The port the peer's ingress gateway Service serves TLS on (the `gateway` chart's `https` port). */
export const FEDERATED_GATEWAY_PORT = 443;
/** The port the client calls in plain HTTP; its sidecar originates the mTLS. */
export const FEDERATED_SERVICE_PORT = 80;

/**
 * The Kubernetes name of the objects declared for a federated host: `federated-` and the host with dots as dashes,
 * e.g. `federated-bookinfo-cluster2-demo`.
 */
export function federatedResourceName(host: string): string {
    return `federated-${host.replace(/\./g, "-")}`;
}

/**
 * The Istio principal of a SPIFFE ID: the ID without `spiffe://` (`cluster1.demo/ns/default/sa/curl-greeter`), the
 * form AuthorizationPolicy `principals` take (istiod prepends `spiffe://` when it builds Envoy's RBAC matchers).
 */
export function istioPrincipal(spiffeId: string): string {
    return spiffeId.replace(/^spiffe:\/\//, "");
}

/**
 * Checks the peer gateway's load balancer address: an IPv4 or IPv6 address or a DNS name (checkNetworkAddress), or an
 * offline render's deploy-time placeholder, which is carried through so a render shows where the address goes (peer
 * outputs are validated where they are read, and a deployment refuses placeholders there).
 */
export function checkGatewayAddress(value: unknown): string | undefined {
    return isDeployTimePlaceholder(value) ? undefined : checkNetworkAddress(value);
}

/** How the client's sidecar finds the gateway: STATIC for an IP address, DNS for a host name (or a placeholder). */
export function gatewayResolution(gatewayAddress: string): "STATIC" | "DNS" {
    return isIP(gatewayAddress) !== 0 ? "STATIC" : "DNS";
}

function push(problems: string[], key: string, value: unknown, problem: string | undefined): void {
    if (problem !== undefined) {
        problems.push(describeProblem(key, value, problem));
    }
}

/** Adds a problem already described (knownInputProblem), if there is one. */
function pushKnown(problems: string[], described: string | undefined): void {
    if (described !== undefined) {
        problems.push(described);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------------------------------------------

/**
 * The ServiceEntry that makes `host` a mesh-external service reached through the peer's ingress gateway: the client
 * calls `host:servicePort` in plain HTTP and its sidecar sends it to `gatewayAddress:gatewayPort` (the port's
 * `targetPort` applies to every endpoint). STATIC resolution for an IP address, DNS for a host name (an AWS-style
 * load balancer), resolved by the sidecar. Visible to the client's namespace only.
 */
export function federatedServiceEntrySpec(host: string, gatewayAddress: string, gatewayPort: number, servicePort: number): ServiceEntrySpec {
    return {
        hosts: [host],
        location: "MESH_EXTERNAL",
        resolution: gatewayResolution(gatewayAddress),
        ports: [{ number: servicePort, name: "http", protocol: "HTTP", targetPort: gatewayPort }],
        endpoints: [{ address: gatewayAddress }],
        exportTo: ["."],
    };
}

/**
 * The DestinationRule that makes the client's sidecar originate Istio mTLS to the peer's gateway: it presents its
 * SPIRE SVID, sends SNI `host` (which selects the gateway's server for that host), and accepts only a server
 * certificate whose SAN is the peer gateway's SPIFFE ID, chained to the peer's federated bundle.
 */
export function federatedDestinationRuleSpec(host: string, serverSpiffeId: string): DestinationRuleSpec {
    return {
        host,
        trafficPolicy: { tls: { mode: "ISTIO_MUTUAL", sni: host, subjectAltNames: [serverSpiffeId] } },
        exportTo: ["."],
    };
}

export interface FederatedServiceClientArgs {
    /**
     * The name the client calls, e.g. "bookinfo.cluster2.demo": a name under the peer's trust domain, so it says
     * whose service it is, cannot collide with a cluster.local Service, and is the SNI and Host the peer's gateway
     * serves. It exists only as this ServiceEntry (the client pod needs the sidecar DNS proxy; see CurlGreeter).
     */
    host: string;
    /** The peer ingress gateway's load balancer IP or host name, from the peer's stack outputs. */
    gatewayAddress: pulumi.Input<string>;
    /** The peer gateway's TLS port. @default FEDERATED_GATEWAY_PORT (443) */
    port?: number;
    /** The port the client calls in plain HTTP. @default FEDERATED_SERVICE_PORT (80) */
    servicePort?: number;
    /** The peer gateway's SPIFFE ID (its SVID's URI SAN), from the peer's stack outputs. */
    serverSpiffeId: pulumi.Input<string>;
    /**
     * The client's namespace: the ServiceEntry and DestinationRule are visible there only. May be an Output (checked
     * when it resolves, see checkedInput).
     */
    namespace: pulumi.Input<string>;
    /** Resources that must exist first: the istiod release (Istio's CRDs and validating webhook). @default [] */
    prerequisites?: pulumi.Resource[];
}

/** Checks the client's arguments (Outputs are checked when they resolve); throws one ValidationError. */
export function validateFederatedServiceClientArgs(name: string, args: FederatedServiceClientArgs): void {
    const problems: string[] = [];
    push(problems, "host", args.host, checkHostname(args.host));
    pushKnown(problems, knownInputProblem("namespace", args.namespace, checkDnsLabel));
    if (args.port !== undefined) {
        push(problems, "port", args.port, checkPort(args.port));
    }
    if (args.servicePort !== undefined) {
        push(problems, "servicePort", args.servicePort, checkPort(args.servicePort));
    }
    if (typeof args.gatewayAddress === "string") {
        push(problems, "gatewayAddress", args.gatewayAddress, checkGatewayAddress(args.gatewayAddress));
    }
    if (typeof args.serverSpiffeId === "string") {
        push(problems, "serverSpiffeId", args.serverSpiffeId, checkWorkloadSpiffeId(args.serverSpiffeId));
    }
    throwIfProblems(`FederatedServiceClient "${name}"`, problems);
}

/** Throws a ValidationError for a value known only once an Output resolves. */
function checkResolved(name: string, key: string, value: unknown, check: (v: unknown) => string | undefined): void {
    const problem = check(value);
    if (problem !== undefined) {
        throw new ValidationError(`FederatedServiceClient "${name}": ${describeProblem(key, value, problem)}`);
    }
}

/**
 * Client side of a federated call (cluster1): `http://<host>/...` from any sidecar in `namespace` goes to the peer's
 * ingress gateway over mTLS with this cluster's SPIRE SVID, verifying the gateway's SVID against the peer's
 * federated bundle. No keys are minted or copied: both certificates come from SPIRE through SDS.
 */
export class FederatedServiceClient extends pulumi.ComponentResource {
    public readonly host: pulumi.Output<string>;
    /** What the client calls, e.g. `http://bookinfo.cluster2.demo`. */
    public readonly url: pulumi.Output<string>;
    /** STATIC (the gateway address is an IP) or DNS (a host name). */
    public readonly resolution: pulumi.Output<"STATIC" | "DNS">;
    /** The Kubernetes name of the ServiceEntry and the DestinationRule. */
    public readonly resourceName: pulumi.Output<string>;
    public readonly serverSpiffeId: pulumi.Output<string>;

    constructor(name: string, args: FederatedServiceClientArgs, opts?: pulumi.ComponentResourceOptions) {
        validateFederatedServiceClientArgs(name, args);
        super("istio-spire:samples:FederatedServiceClient", name, {}, opts);
        const gatewayPort = args.port ?? FEDERATED_GATEWAY_PORT;
        const servicePort = args.servicePort ?? FEDERATED_SERVICE_PORT;
        const resourceName = federatedResourceName(args.host);
        const child = { parent: this, dependsOn: args.prerequisites ?? [] };

        const address = pulumi.output(args.gatewayAddress).apply((a) => {
            checkResolved(name, "gatewayAddress", a, checkGatewayAddress);
            return a;
        });
        const serverSpiffeId = pulumi.output(args.serverSpiffeId).apply((id) => {
            checkResolved(name, "serverSpiffeId", id, checkWorkloadSpiffeId);
            return id;
        });
        const namespace = checkedInput(`FederatedServiceClient "${name}"`, "namespace", args.namespace, checkDnsLabel);

        new ServiceEntry(
            `${name}-service-entry`,
            {
                name: resourceName,
                namespace,
                spec: address.apply((a) => federatedServiceEntrySpec(args.host, a, gatewayPort, servicePort)),
            },
            child,
        );
        new DestinationRule(
            `${name}-destination-rule`,
            {
                name: resourceName,
                namespace,
                spec: serverSpiffeId.apply((id) => federatedDestinationRuleSpec(args.host, id)),
            },
            child,
        );

        this.host = pulumi.output(args.host);
        this.url = pulumi.output(`http://${args.host}${servicePort === 80 ? "" : `:${servicePort}`}`);
        this.resolution = address.apply(gatewayResolution);
        this.resourceName = pulumi.output(resourceName);
        this.serverSpiffeId = serverSpiffeId;
        this.registerOutputs({
            host: this.host,
            url: this.url,
            resolution: this.resolution,
            resourceName: this.resourceName,
            serverSpiffeId: this.serverSpiffeId,
        });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------------------------------------------

/**
 * The Gateway server that accepts federated callers: HTTPS on `port` for `host` only, ISTIO_MUTUAL, so the gateway
 * presents its SPIRE SVID and requires a client SVID that chains to one of the bundles it holds (its own trust
 * domain's and the federated ones').
 */
export function federatedGatewaySpec(host: string, selector: Record<string, string>, port: number): GatewaySpec {
    return {
        selector: { ...selector },
        servers: [
            {
                port: { number: port, name: "https-federated", protocol: "HTTPS" },
                hosts: [host],
                tls: { mode: "ISTIO_MUTUAL" },
            },
        ],
    };
}

/** The routes of the federated host on that Gateway: `matches` to the destination Service. */
export function federatedVirtualServiceSpec(
    host: string,
    gateway: string,
    destination: { host: string; port: number },
    matches: HTTPMatchRequest[],
): VirtualServiceSpec {
    return {
        hosts: [host],
        gateways: [gateway],
        http: [
            {
                match: matches.map((m) => ({ ...m })),
                route: [{ destination: { host: destination.host, port: { number: destination.port } } }],
            },
        ],
    };
}

/**
 * The policy on the gateway pods: DENY every request for `host` (with or without a port in the Host header: Envoy
 * routes both, and policy hosts match exactly) whose peer identity is not one of `allowedSpiffeIds`. A request with
 * no identity (plain HTTP, or another gateway port) has no principal and is denied too. A DENY policy constrains only
 * what it matches: the gateway's other hosts are untouched, which an ALLOW policy on the gateway would not leave
 * them. Principals are sorted: the same IDs give the same object.
 */
export function federatedAuthorizationPolicySpec(host: string, selector: Record<string, string>, allowedSpiffeIds: string[]): AuthorizationPolicySpec {
    return {
        selector: { matchLabels: { ...selector } },
        action: "DENY",
        rules: [
            {
                from: [{ source: { notPrincipals: allowedSpiffeIds.map(istioPrincipal).sort() } }],
                to: [{ operation: { hosts: [host, `${host}:*`] } }],
            },
        ],
    };
}

/** The catch-all route match: every path of the federated host. */
export const ALL_PATHS: HTTPMatchRequest[] = [{ uri: { prefix: "/" } }];

export interface FederatedServiceAccessArgs {
    /** The host federated clients call (their FederatedServiceClient's `host`). */
    host: string;
    /**
     * SPIFFE IDs admitted, e.g. ["spiffe://cluster1.demo/ns/default/sa/curl-greeter"]. Empty: nothing is declared,
     * the host is not served at all.
     */
    allowedSpiffeIds: string[];
    /** Labels of the ingress gateway pods, e.g. { istio: "ingressgateway" }. */
    gatewaySelector: Record<string, string>;
    /**
     * The ingress gateway's namespace: the Gateway, routes and policy live there, next to the gateway. May be an
     * Output, e.g. `IstioMesh.namespace` (checked when it resolves, see checkedInput).
     */
    gatewayNamespace: pulumi.Input<string>;
    /** The Service requests go to, fully qualified, e.g. { host: "productpage.default.svc.cluster.local", port: 9080 }. */
    destination: { host: string; port: number };
    /** The gateway's TLS port (a port of its Service). @default FEDERATED_GATEWAY_PORT (443) */
    port?: number;
    /** Which requests are routed. @default ALL_PATHS; for Bookinfo pass BOOKINFO_URI_MATCHES */
    uriMatches?: HTTPMatchRequest[];
    /** Resources that must exist first: the istiod release (Istio's CRDs and validating webhook). @default [] */
    prerequisites?: pulumi.Resource[];
}

/** Checks the server side's arguments; throws one ValidationError naming each bad argument and its value. */
export function validateFederatedServiceAccessArgs(name: string, args: FederatedServiceAccessArgs): void {
    const problems: string[] = [];
    push(problems, "host", args.host, checkHostname(args.host));
    pushKnown(problems, knownInputProblem("gatewayNamespace", args.gatewayNamespace, checkDnsLabel));
    if (args.gatewaySelector === undefined || Object.keys(args.gatewaySelector).length === 0) {
        // An empty selector on a policy in the root namespace would apply to every workload of the mesh.
        const expected = 'is empty; expected the ingress gateway pods\' labels, e.g. {"istio":"ingressgateway"}';
        problems.push(describeProblem("gatewaySelector", args.gatewaySelector, expected));
    }
    push(problems, "destination.host", args.destination?.host, checkHostname(args.destination?.host));
    push(problems, "destination.port", args.destination?.port, checkPort(args.destination?.port));
    if (args.port !== undefined) {
        push(problems, "port", args.port, checkPort(args.port));
    }
    if (!Array.isArray(args.allowedSpiffeIds)) {
        problems.push(describeProblem("allowedSpiffeIds", args.allowedSpiffeIds, "is not a list; expected SPIFFE IDs"));
    } else {
        args.allowedSpiffeIds.forEach((id, i) => push(problems, `allowedSpiffeIds[${i}]`, id, checkWorkloadSpiffeId(id)));
        const duplicate = firstDuplicate(args.allowedSpiffeIds);
        if (duplicate !== undefined) {
            problems.push(describeProblem("allowedSpiffeIds", duplicate, "is listed twice; list each ID once"));
        }
    }
    if (args.uriMatches !== undefined && args.uriMatches.length === 0) {
        const expected = "is empty, which would route nothing; leave it unset to route every path";
        problems.push(describeProblem("uriMatches", args.uriMatches, expected));
    }
    throwIfProblems(`FederatedServiceAccess "${name}"`, problems);
}

/**
 * Server side of a federated call (cluster2): the ingress gateway serves `host` on 443 with Istio mTLS (its SPIRE
 * SVID, the caller's SVID checked against the federated bundles), routes it to the destination Service, and admits
 * only the allowed SPIFFE IDs. The policy is created before the Gateway and routes open the host, and removed after
 * them. With no allowed IDs nothing is declared.
 */
export class FederatedServiceAccess extends pulumi.ComponentResource {
    public readonly host: pulumi.Output<string>;
    /** The admitted Istio principals (SPIFFE IDs without `spiffe://`), sorted. */
    public readonly allowedPrincipals: pulumi.Output<string[]>;
    /** Whether the host is served (at least one allowed ID). */
    public readonly enabled: pulumi.Output<boolean>;
    /** The Kubernetes name of the Gateway, VirtualService and AuthorizationPolicy. */
    public readonly resourceName: pulumi.Output<string>;

    constructor(name: string, args: FederatedServiceAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        validateFederatedServiceAccessArgs(name, args);
        super("istio-spire:samples:FederatedServiceAccess", name, {}, opts);
        const port = args.port ?? FEDERATED_GATEWAY_PORT;
        const resourceName = federatedResourceName(args.host);
        const enabled = args.allowedSpiffeIds.length > 0;
        const gatewayNamespace = checkedInput(`FederatedServiceAccess "${name}"`, "gatewayNamespace", args.gatewayNamespace, checkDnsLabel);

        if (enabled) {
            const policy = new AuthorizationPolicy(
                `${name}-policy`,
                {
                    name: resourceName,
                    namespace: gatewayNamespace,
                    spec: federatedAuthorizationPolicySpec(args.host, args.gatewaySelector, args.allowedSpiffeIds),
                },
                { parent: this, dependsOn: args.prerequisites ?? [] },
            );
            // The host opens only once the policy guards it.
            const afterPolicy = { parent: this, dependsOn: [...(args.prerequisites ?? []), policy] };
            new Gateway(
                `${name}-gateway`,
                {
                    name: resourceName,
                    namespace: gatewayNamespace,
                    spec: federatedGatewaySpec(args.host, args.gatewaySelector, port),
                },
                afterPolicy,
            );
            new VirtualService(
                `${name}-routes`,
                {
                    name: resourceName,
                    namespace: gatewayNamespace,
                    spec: federatedVirtualServiceSpec(args.host, resourceName, args.destination, args.uriMatches ?? ALL_PATHS),
                },
                afterPolicy,
            );
        }

        this.host = pulumi.output(args.host);
        this.allowedPrincipals = pulumi.output(args.allowedSpiffeIds.map(istioPrincipal).sort());
        this.enabled = pulumi.output(enabled);
        this.resourceName = pulumi.output(resourceName);
        this.registerOutputs({
            host: this.host,
            allowedPrincipals: this.allowedPrincipals,
            enabled: this.enabled,
            resourceName: this.resourceName,
        });
    }
}
