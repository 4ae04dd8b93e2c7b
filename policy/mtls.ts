// Policy 6: STRICT mesh-wide mTLS is not weakened. At most one mesh-wide PeerAuthentication, and when it requires
// STRICT no other PeerAuthentication lets plaintext through, for a workload or a port: SPIRE-issued identities only
// mean something if every connection has to present one.

import { StackValidationPolicy } from "@pulumi/policy";
import {
    CheckedResource,
    DEFAULT_ISTIO_ROOT_NAMESPACE,
    PEER_AUTHENTICATION,
    PEER_AUTHENTICATION_V1BETA1,
    StackViolation,
    describeResource,
    isObject,
    isReleaseOf,
    show,
} from "./common";

// ------------------------------------------------------------------------------------------------------------------
// 6. STRICT mesh-wide mTLS is not weakened

function isPeerAuthentication(r: CheckedResource): boolean {
    return r.type === PEER_AUTHENTICATION || r.type === PEER_AUTHENTICATION_V1BETA1;
}

/**
 * Istio's root namespace(s): per istiod release, `values.meshConfig.rootNamespace`, else `values.global.istioNamespace`
 * (what the istiod chart's mesh ConfigMap template falls back to), else the chart default "istio-system".
 */
export function istioRootNamespaces(resources: CheckedResource[]): string[] {
    const namespaces = resources
        .filter((r) => isReleaseOf(r, "istiod"))
        .map((r) => r.props.values?.meshConfig?.rootNamespace || r.props.values?.global?.istioNamespace || DEFAULT_ISTIO_ROOT_NAMESPACE);
    return namespaces.length > 0 ? [...new Set<string>(namespaces)].sort() : [DEFAULT_ISTIO_ROOT_NAMESPACE];
}

function namespaceOf(r: CheckedResource): string {
    return r.props.metadata?.namespace || "default";
}

/** True for a PeerAuthentication that applies to the whole mesh: in a root namespace, without workload selector. */
function isMeshWide(r: CheckedResource, roots: string[]): boolean {
    const selector = r.props.spec?.selector;
    const selects = isObject(selector) && isObject(selector.matchLabels) && Object.keys(selector.matchLabels).length > 0;
    return roots.includes(namespaceOf(r)) && !selects;
}

/** mTLS modes that let plaintext (PERMISSIVE) or nothing but plaintext (DISABLE) through. UNSET inherits. */
const WEAKER_MODES = ["PERMISSIVE", "DISABLE"];

/** All violations of check 6 in a stack. */
export function checkMeshMtlsStrict(resources: CheckedResource[]): StackViolation[] {
    const roots = istioRootNamespaces(resources);
    const policies = resources.filter(isPeerAuthentication);
    const meshWide = policies.filter((r) => isMeshWide(r, roots));
    const violations: StackViolation[] = [];
    for (const extra of meshWide.slice(1)) {
        violations.push({
            urn: extra.urn,
            message:
                `${describeResource(extra)}: is a second mesh-wide PeerAuthentication (namespace ` +
                `${JSON.stringify(namespaceOf(extra))}, no selector) besides ${describeResource(meshWide[0])}; expected at ` +
                "most one: Istio applies only the oldest, so which mode holds would depend on creation order",
        });
    }
    const strict = meshWide.find((r) => r.props.spec?.mtls?.mode === "STRICT");
    if (strict === undefined) {
        return violations;
    }
    const expected = `expected "STRICT" or "UNSET" (inherit): the mesh-wide ${describeResource(strict)} requires STRICT mTLS`;
    for (const r of policies.filter((p) => p !== strict)) {
        const where = `${describeResource(r)} (namespace ${JSON.stringify(namespaceOf(r))})`;
        const mode = r.props.spec?.mtls?.mode;
        if (WEAKER_MODES.includes(mode)) {
            violations.push({ urn: r.urn, message: `${where}: spec.mtls.mode is ${show(mode)}; ${expected}` });
        }
        const portLevel = r.props.spec?.portLevelMtls;
        if (isObject(portLevel)) {
            for (const [port, setting] of Object.entries(portLevel)) {
                if (WEAKER_MODES.includes(setting?.mode)) {
                    violations.push({
                        urn: r.urn,
                        message: `${where}: spec.portLevelMtls[${JSON.stringify(port)}].mode is ${show(setting.mode)}; ${expected}`,
                    });
                }
            }
        }
    }
    return violations;
}

export const meshMtlsStrict: StackValidationPolicy = {
    name: "mesh-mtls-strict",
    description:
        "At most one mesh-wide PeerAuthentication; when it is STRICT, no other PeerAuthentication sets PERMISSIVE or " +
        "DISABLE, for the workload or any port.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkMeshMtlsStrict(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
