// Samples across clusters: what a stack tells its peers about its sample applications, so that curl-greeter in one
// cluster calls Bookinfo in another through that cluster's ingress gateway, and Bookinfo's cluster admits exactly
// that caller by SPIFFE ID. Read through the same stack references as federation; peer data is untrusted input.

import { DeployTimePlaceholders, PeerSamplesCheck } from "../mesh/federation";
import { checkDnsName, checkNetworkAddress, checkSpiffeId, describeProblem } from "../validation";

/** The stack output a peer reads. */
export const SAMPLES_OUTPUT = "samples";

/** How a federated client reaches this stack's Bookinfo product page. */
export interface BookinfoExport {
    /** The name clients call; the ingress gateway serves it with ISTIO_MUTUAL on `port`. */
    host: string;
    /** The ingress gateway port of that server. */
    port: number;
    /** The SPIFFE ID the ingress gateway presents: clients check it. */
    gatewaySpiffeId: string;
    /** The ingress gateway's load balancer IP or host name; absent until the load balancer has one. */
    gatewayAddress?: string;
}

/** The contract between stacks for the samples. Each part is present only when that sample runs. */
export interface SamplesExport {
    bookinfo?: BookinfoExport;
    /** The identity of this stack's curl-greeter, which peers running Bookinfo admit. */
    curlGreeter?: { spiffeId: string };
}

/** What validating one peer's samples export found. */
export interface PeerSamplesResult {
    samples: SamplesExport;
    problems: string[];
    /** Parts left out for now, each with the reason (not errors: the peer is not fully deployed yet). */
    notReady: string[];
}

/**
 * Validates a peer's `samples` output. `trustDomain` is the peer's validated trust domain: the identities it exports
 * must be inside it. `isPlaceholder` recognises deploy-time placeholders from an offline render, accepted for the
 * gateway address when `acceptPlaceholders` (a preview) and refused otherwise.
 */
export function validatePeerSamples(stack: string, trustDomain: string, value: unknown, placeholders: DeployTimePlaceholders): PeerSamplesResult {
    const result: PeerSamplesResult = { samples: {}, problems: [], notReady: [] };
    const at = (field: string) => `peer "${stack}" ${SAMPLES_OUTPUT}${field ? `.${field}` : ""}`;
    const problem = (field: string, v: unknown, reason: string) => result.problems.push(describeProblem(at(field), v, reason));
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (value === undefined || value === null) {
        return result; // the peer runs no samples, or predates them
    }
    if (!isObject(value)) {
        problem("", value, "is not an object; expected {bookinfo?, curlGreeter?}");
        return result;
    }

    if (value.bookinfo !== undefined) {
        const b = value.bookinfo;
        if (!isObject(b)) {
            problem("bookinfo", b, "is not an object; expected {host, port, gatewaySpiffeId, gatewayAddress}");
        } else {
            const before = result.problems.length;
            const hostProblem = checkDnsName(b.host);
            if (hostProblem) {
                problem("bookinfo.host", b.host, hostProblem);
            }
            if (!Number.isInteger(b.port) || (b.port as number) < 1 || (b.port as number) > 65535) {
                problem("bookinfo.port", b.port, "is not a port number; expected an integer from 1 to 65535");
            }
            const idProblem = checkSpiffeId(b.gatewaySpiffeId, trustDomain);
            if (idProblem) {
                problem("bookinfo.gatewaySpiffeId", b.gatewaySpiffeId, idProblem);
            }
            const address = b.gatewayAddress;
            if (placeholders.isPlaceholder(address)) {
                if (!placeholders.accept) {
                    problem("bookinfo.gatewayAddress", address, placeholders.refusal);
                }
            } else if (address !== undefined && address !== null) {
                const addressProblem = checkNetworkAddress(address);
                if (addressProblem) {
                    problem("bookinfo.gatewayAddress", address, addressProblem);
                }
            }
            if (result.problems.length === before) {
                if (address === undefined || address === null) {
                    result.notReady.push("its Bookinfo ingress gateway has no load balancer address yet");
                } else {
                    result.samples.bookinfo = {
                        host: b.host as string,
                        port: b.port as number,
                        gatewaySpiffeId: b.gatewaySpiffeId as string,
                        gatewayAddress: address as string,
                    };
                }
            }
        }
    }

    if (value.curlGreeter !== undefined) {
        const c = value.curlGreeter;
        const idProblem = isObject(c) ? checkSpiffeId(c.spiffeId, trustDomain) : undefined;
        if (!isObject(c)) {
            problem("curlGreeter", c, "is not an object; expected {spiffeId}");
        } else if (idProblem) {
            problem("curlGreeter.spiffeId", c.spiffeId, idProblem);
        } else {
            result.samples.curlGreeter = { spiffeId: c.spiffeId as string };
        }
    }
    return result;
}

/**
 * The samples part of reading peers (mesh/federation.ts readPeers and validatePeerExports take it): the `samples`
 * output, checked with validatePeerSamples.
 */
export const PEER_SAMPLES: PeerSamplesCheck<SamplesExport> = { output: SAMPLES_OUTPUT, validate: validatePeerSamples };
