// Policies 5a and 5b: the SPIRE server API stays inside the cluster. Only the bundle endpoint may be published (other
// trust domains fetch bundles from it); the server API can mint and manage identities, so neither a Service of this
// stack nor the spire chart's own spire-server Service may expose it.

import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    BUNDLE_ENDPOINT_TARGETS,
    CheckedResource,
    INSTANCE_LABEL,
    NAME_LABEL,
    SERVICE,
    SPIRE_SERVER_NAME_LABEL_VALUE,
    StackViolation,
    describeResource,
    goTruthy,
    isObject,
    isSpireRelease,
    show,
    sortedJson,
} from "./common";

// ------------------------------------------------------------------------------------------------------------------
// 5a. No Service exposes the SPIRE server API outside the cluster

/**
 * The `app.kubernetes.io/instance` values of the stack's SPIRE server pods (the spire releases' names), or
 * undefined when any value may be SPIRE's: no spire release in this stack (SPIRE installed elsewhere) or one whose
 * name is not known.
 */
export function spireServerInstances(resources: CheckedResource[]): string[] | undefined {
    const names = resources.filter(isSpireRelease).map((r) => r.props.name);
    if (names.length === 0 || names.some((n) => typeof n !== "string" || n === "")) {
        return undefined;
    }
    return [...new Set(names as string[])].sort();
}

/**
 * True when a Service selector selects SPIRE server pods: it requires `app.kubernetes.io/name: server` and
 * nothing else than, optionally, `app.kubernetes.io/instance` of one of `instances` (undefined: any).
 */
export function selectsSpireServerPods(selector: unknown, instances: string[] | undefined): boolean {
    if (!isObject(selector) || selector[NAME_LABEL] !== SPIRE_SERVER_NAME_LABEL_VALUE) {
        return false;
    }
    return Object.entries(selector).every(
        ([key, value]) => key === NAME_LABEL || (key === INSTANCE_LABEL && (instances === undefined || instances.includes(value))),
    );
}

/** How a Service spec makes it reachable from outside the cluster, or undefined when it does not. */
export function externalExposure(spec: Record<string, any>): string | undefined {
    if (spec.type === "LoadBalancer" || spec.type === "NodePort") {
        return `type ${spec.type}`;
    }
    if (Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0) {
        return `externalIPs ${JSON.stringify(spec.externalIPs)}`;
    }
    return undefined;
}

/** True for a Service port that reaches the bundle endpoint: its target (targetPort, else port) is `federation` or 8443. */
export function isBundleEndpointPort(port: Record<string, any>): boolean {
    const target = port.targetPort ?? port.port;
    return BUNDLE_ENDPOINT_TARGETS.includes(target);
}

/** Violations of a Service that exposes more than the bundle endpoint of SPIRE server pods outside the cluster. */
export function checkServiceExposesOnlyBundleEndpoint(r: CheckedResource, instances: string[] | undefined): string[] {
    if (r.type !== SERVICE) {
        return [];
    }
    const spec = r.props.spec ?? {};
    const exposure = externalExposure(spec);
    if (exposure === undefined || !selectsSpireServerPods(spec.selector, instances)) {
        return [];
    }
    const ports: Record<string, any>[] = Array.isArray(spec.ports) ? spec.ports : [];
    return ports
        .filter((port) => !isBundleEndpointPort(port))
        .map(
            (port) =>
                `${describeResource(r)}: ${exposure} exposes port ${show(port.port)} (name ${show(port.name)}, targetPort ` +
                `${show(port.targetPort)}) of the SPIRE server pods (selector ${sortedJson(spec.selector)}) outside the ` +
                'cluster; expected only the bundle endpoint (targetPort "federation" or 8443): the server API (8081, ' +
                'targetPort "grpc") must stay inside the cluster',
        );
}

/** All violations of check 5a in a stack. */
export function checkSpireServerApiNotExposed(resources: CheckedResource[]): StackViolation[] {
    const instances = spireServerInstances(resources);
    return resources
        .filter((r) => r.type === SERVICE)
        .flatMap((r) => checkServiceExposesOnlyBundleEndpoint(r, instances).map((message) => ({ message, urn: r.urn })));
}

export const spireServerApiNotExposed: StackValidationPolicy = {
    name: "spire-server-api-not-exposed",
    description:
        "A LoadBalancer, NodePort or externalIPs Service selecting SPIRE server pods exposes only the bundle endpoint " +
        "(targetPort federation/8443), never the server API.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkSpireServerApiNotExposed(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 5b. The spire chart's own spire-server Service stays internal

/**
 * Violations of a spire release whose values expose the chart's spire-server Service outside the cluster. In chart
 * 0.30.0 that Service always carries the server API (port `grpc`, service.port → 8081); `service.type`,
 * `ingress.enabled` and `gatewayAPI.enabled` publish it. `federation.ingress` and `federation.gatewayAPI` route only
 * to the bundle endpoint port and are allowed.
 */
export function checkSpireChartServerServiceInternal(r: CheckedResource): string[] {
    if (!isSpireRelease(r)) {
        return [];
    }
    const server = r.props.values?.["spire-server"] ?? {};
    const violations: string[] = [];
    const type = server.service?.type;
    if (type !== undefined && type !== "ClusterIP") {
        violations.push(
            `${describeResource(r)}: values["spire-server"].service.type is ${show(type)}; expected "ClusterIP" or ` +
                'absent: the chart\'s spire-server Service carries the server API (port "grpc", 8081), so it must stay ' +
                "inside the cluster; publish only the bundle endpoint, with a Service of its own",
        );
    }
    for (const [key, what] of [
        ["ingress", "Ingress"],
        ["gatewayAPI", "Gateway API TLSRoute"],
    ] as const) {
        const enabled = server[key]?.enabled;
        if (goTruthy(enabled)) {
            violations.push(
                `${describeResource(r)}: values["spire-server"].${key}.enabled is ${show(enabled)}; expected false or ` +
                    `absent: the chart's ${what} routes to the spire-server Service's server API port (service.port); ` +
                    `to publish the bundle endpoint use values["spire-server"].federation.${key} instead`,
            );
        }
    }
    return violations;
}

export const spireChartServerServiceInternal: ResourceValidationPolicy = {
    name: "spire-chart-server-service-internal",
    description:
        "The spire chart's spire-server Service stays ClusterIP and is not published by its Ingress or Gateway API " + "route (they carry the server API).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkSpireChartServerServiceInternal(args)) {
            reportViolation(message);
        }
    },
};
