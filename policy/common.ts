// Shared by every module of the pack: the resource types and labels the checks look for, the shapes they read
// (CheckedResource) and report (StackViolation), and small helpers for messages and Helm releases. Imports nothing
// from the other modules, so each of them can import from here without a cycle.

import { UnknownValueError as untypedUnknownValueError, unknownCheckingProxy as untypedUnknownCheckingProxy } from "@pulumi/policy";

/**
 * The error the analyzer's property proxy throws when a policy reads a value that is unknown during a preview.
 * @pulumi/policy exports it at runtime (index.js) but its published typings leave it out (marked internal).
 */
export const UnknownValueError: new (...args: any[]) => Error = untypedUnknownValueError;

/**
 * The analyzer's property proxy, which throws UnknownValueError (also internal to @pulumi/policy's typings). Exported
 * for the tests' analyzer: taken from here, it comes from the same copy of @pulumi/policy as UnknownValueError even
 * when policy/ has its own node_modules (`npm ci --prefix policy`), so `instanceof` holds.
 */
export const unknownCheckingProxy: <T extends object>(props: T) => T = untypedUnknownCheckingProxy;

export const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";
export const CLUSTER_FEDERATED_TRUST_DOMAIN = "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain";
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
export const SERVICE = "kubernetes:core/v1:Service";
export const PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication";
/** The older API version of PeerAuthentication; Istio serves both. */
export const PEER_AUTHENTICATION_V1BETA1 = "kubernetes:security.istio.io/v1beta1:PeerAuthentication";
export const ROOT_STACK = "pulumi:pulumi:Stack";

/** The spire chart's server pod labels: `app.kubernetes.io/name: server`, `app.kubernetes.io/instance: <release>`. */
export const NAME_LABEL = "app.kubernetes.io/name";
export const INSTANCE_LABEL = "app.kubernetes.io/instance";
export const SPIRE_SERVER_NAME_LABEL_VALUE = "server";
/** The SPIRE server's bundle endpoint: the container port named `federation` (chart default 8443). */
export const BUNDLE_ENDPOINT_TARGETS: readonly (string | number)[] = ["federation", 8443];
/** Istio's root namespace when the istiod chart is given none (its `global.istioNamespace` default). */
export const DEFAULT_ISTIO_ROOT_NAMESPACE = "istio-system";

/** What the checks read of a resource: `ResourceValidationArgs` and `PolicyResource` both have it. */
export interface CheckedResource {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
}

/** A violation found by a stack-wide check: the message and the resource it belongs to (none: the whole stack). */
export interface StackViolation {
    message: string;
    urn?: string;
}

// ------------------------------------------------------------------------------------------------------------------
// Small helpers

/** JSON-quotes a value for a message; `absent` for undefined. */
export function show(value: unknown): string {
    return value === undefined ? "absent" : JSON.stringify(value);
}

/** `<type> "<name>"`: how every message names a resource. */
export function describeResource(r: { type: string; name: string }): string {
    return `${r.type} ${JSON.stringify(r.name)}`;
}

/** JSON with object keys sorted, so a message reads the same whatever order the engine delivered the keys in. */
export function sortedJson(value: Record<string, unknown>): string {
    return JSON.stringify(
        Object.fromEntries(
            Object.keys(value)
                .sort()
                .map((key) => [key, value[key]]),
        ),
    );
}

export function isObject(value: unknown): value is Record<string, any> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The chart name of a Helm release's `chart` ("spire", "spiffe/spire", "oci://ghcr.io/.../spire" all give "spire"). */
export function chartName(chart: unknown): string | undefined {
    if (typeof chart !== "string") {
        return undefined;
    }
    const segments = chart.replace(/\/+$/, "").split("/");
    return segments[segments.length - 1];
}

export function isReleaseOf(r: CheckedResource, chart: string): boolean {
    return r.type === HELM_RELEASE && chartName(r.props.chart) === chart;
}

/** A Helm release of the spire chart (SPIRE server, agents, controller manager). */
export function isSpireRelease(r: CheckedResource): boolean {
    return isReleaseOf(r, "spire");
}

/** Go template truthiness, as the charts' `{{ if .Values.x }}` sees a value: the string "false" is true. */
export function goTruthy(value: unknown): boolean {
    if (value === undefined || value === null || value === false || value === 0 || value === "") {
        return false;
    }
    if (Array.isArray(value)) {
        return value.length > 0;
    }
    return isObject(value) ? Object.keys(value).length > 0 : true;
}
