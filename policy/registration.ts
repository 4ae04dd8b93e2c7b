// Policies 1-4: what ClusterSPIFFEIDs may register. No admin SVIDs, always a selector, SPIFFE IDs inside this stack's
// trust domain, and federatesWith naming only declared ClusterFederatedTrustDomains, so that a registration hands out
// no more identity, privilege or trust than intended (and SPIRE does not refuse it).

import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    CLUSTER_FEDERATED_TRUST_DOMAIN,
    CLUSTER_SPIFFE_ID,
    CheckedResource,
    HELM_RELEASE,
    StackViolation,
    describeResource,
    isObject,
    isSpireRelease,
    show,
} from "./common";

// ------------------------------------------------------------------------------------------------------------------
// 1. ClusterSPIFFEIDs never register admin identities

/** Violations of a ClusterSPIFFEID that makes its workloads SPIRE admins. */
export function checkClusterSpiffeIdNotAdmin(r: CheckedResource): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const admin = r.props.spec?.admin;
    if (admin === undefined || admin === null || admin === false) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.admin is ${show(admin)}; expected false or absent: an admin SVID may call the ` +
            "SPIRE server's admin APIs (create, change and delete any registration entry), which no workload needs",
    ];
}

export const clusterSpiffeIdNotAdmin: ResourceValidationPolicy = {
    name: "cluster-spiffe-id-not-admin",
    description: "ClusterSPIFFEIDs never set spec.admin: true (admin SVIDs may manage every registration entry).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkClusterSpiffeIdNotAdmin(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 2. ClusterSPIFFEIDs always select

/** True for a label selector with at least one matchLabels entry or matchExpressions item. */
export function isNonEmptyLabelSelector(selector: unknown): boolean {
    if (!isObject(selector)) {
        return false;
    }
    const labels = selector.matchLabels;
    const expressions = selector.matchExpressions;
    return (isObject(labels) && Object.keys(labels).length > 0) || (Array.isArray(expressions) && expressions.length > 0);
}

/** Violations of a ClusterSPIFFEID whose selectors select every pod of every namespace. */
export function checkClusterSpiffeIdSelects(r: CheckedResource): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const spec = r.props.spec ?? {};
    if (isNonEmptyLabelSelector(spec.podSelector) || isNonEmptyLabelSelector(spec.namespaceSelector)) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.podSelector is ${show(spec.podSelector)} and spec.namespaceSelector is ` +
            `${show(spec.namespaceSelector)}; expected at least one of them with non-empty matchLabels or ` +
            "matchExpressions: without one, the ClusterSPIFFEID gives an identity to every pod in every namespace",
    ];
}

export const clusterSpiffeIdSelects: ResourceValidationPolicy = {
    name: "cluster-spiffe-id-has-selector",
    description: "ClusterSPIFFEIDs have a non-empty spec.podSelector or spec.namespaceSelector (an empty one selects every pod).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkClusterSpiffeIdSelects(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 3. ClusterSPIFFEIDs stay inside this stack's trust domain

/** Name of policy 3, whose config may set the trust domain. */
export const CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN = "cluster-spiffe-id-in-trust-domain";

/** The trust domain ClusterSPIFFEIDs must use, and where it was found; or why it could not be determined. */
export type TrustDomainResolution = { trustDomain: string; source: string } | { problem: string };

/**
 * This stack's trust domain: the policy config's `trustDomain` if set, else `values.global.spire.trustDomain` of
 * the stack's spire release(s).
 */
export function resolveStackTrustDomain(resources: CheckedResource[], configured?: unknown): TrustDomainResolution {
    if (typeof configured === "string" && configured !== "") {
        return { trustDomain: configured, source: 'policy config "trustDomain"' };
    }
    const declared = new Map<string, CheckedResource>();
    for (const release of resources.filter(isSpireRelease)) {
        const td = release.props.values?.global?.spire?.trustDomain;
        if (typeof td === "string" && td !== "" && !declared.has(td)) {
            declared.set(td, release);
        }
    }
    if (declared.size === 1) {
        const [[trustDomain, release]] = [...declared];
        return { trustDomain, source: `values.global.spire.trustDomain of ${describeResource(release)}` };
    }
    const configHint =
        `set the property "trustDomain" of policy "${CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN}" in the policy pack config ` +
        `(a JSON file given with --policy-pack-config, e.g. {"${CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN}": {"trustDomain": "cluster1.demo"}})`;
    if (declared.size > 1) {
        return {
            problem:
                `cannot tell this stack's trust domain: its ${HELM_RELEASE} resources of chart "spire" set ` +
                `values.global.spire.trustDomain to ${[...declared.keys()].map((td) => JSON.stringify(td)).join(" and ")}; ` +
                configHint,
        };
    }
    return {
        problem:
            `cannot tell this stack's trust domain: no ${HELM_RELEASE} of chart "spire" sets ` +
            `values.global.spire.trustDomain and the policy config has none; declare the spire release here or ${configHint}`,
    };
}

/** A SPIFFE ID template inside the controller manager's own trust domain: `spiffe://{{ .TrustDomain }}/...`. */
const TRUST_DOMAIN_TEMPLATE_PREFIX = /^spiffe:\/\/\{\{\s*\.TrustDomain\s*\}\}\//;

/** Violations of a ClusterSPIFFEID whose SPIFFE ID template is not inside `trustDomain`. */
export function checkSpiffeIdTemplateInTrustDomain(r: CheckedResource, trustDomain: string, source: string): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const template = r.props.spec?.spiffeIDTemplate;
    if (typeof template === "string" && (template.startsWith(`spiffe://${trustDomain}/`) || TRUST_DOMAIN_TEMPLATE_PREFIX.test(template))) {
        return [];
    }
    return [
        `${describeResource(r)}: spec.spiffeIDTemplate is ${show(template)}; expected a SPIFFE ID in this stack's trust ` +
            `domain ${JSON.stringify(trustDomain)} (${source}), starting with "spiffe://${trustDomain}/" or ` +
            '"spiffe://{{ .TrustDomain }}/"',
    ];
}

/** All violations of check 3 in a stack. */
export function checkClusterSpiffeIdsInTrustDomain(resources: CheckedResource[], configured?: unknown): StackViolation[] {
    const ids = resources.filter((r) => r.type === CLUSTER_SPIFFE_ID);
    if (ids.length === 0) {
        return [];
    }
    const resolution = resolveStackTrustDomain(resources, configured);
    if ("problem" in resolution) {
        return [{ message: resolution.problem }];
    }
    return ids.flatMap((r) => checkSpiffeIdTemplateInTrustDomain(r, resolution.trustDomain, resolution.source).map((message) => ({ message, urn: r.urn })));
}

export const clusterSpiffeIdInTrustDomain: StackValidationPolicy = {
    name: CLUSTER_SPIFFE_ID_IN_TRUST_DOMAIN,
    description:
        "ClusterSPIFFEID spec.spiffeIDTemplate is inside this stack's trust domain (the spire release's " +
        "values.global.spire.trustDomain, or the policy config's trustDomain).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            trustDomain: {
                type: "string",
                description: "This stack's SPIFFE trust domain; overrides the spire release's values.global.spire.trustDomain.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const { trustDomain } = args.getConfig<{ trustDomain?: string }>();
        for (const v of checkClusterSpiffeIdsInTrustDomain(args.resources, trustDomain)) {
            reportViolation(v.message, v.urn);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 4. federatesWith names only declared federation relationships

/** The trust domains the stack declares ClusterFederatedTrustDomains for. */
export function declaredFederatedTrustDomains(resources: CheckedResource[]): string[] {
    const tds = resources
        .filter((r) => r.type === CLUSTER_FEDERATED_TRUST_DOMAIN)
        .map((r) => r.props.spec?.trustDomain)
        .filter((td): td is string => typeof td === "string");
    return [...new Set(tds)].sort();
}

/** Violations of a ClusterSPIFFEID that federates with trust domains not in `declared`. */
export function checkFederatesWith(r: CheckedResource, declared: string[]): string[] {
    if (r.type !== CLUSTER_SPIFFE_ID) {
        return [];
    }
    const federatesWith: unknown = r.props.spec?.federatesWith;
    if (!Array.isArray(federatesWith)) {
        return [];
    }
    const known = declared.length > 0 ? declared.map((td) => JSON.stringify(td)).join(", ") : "none";
    return federatesWith
        .filter((td) => !declared.includes(td))
        .map(
            (td) =>
                `${describeResource(r)}: spec.federatesWith names ${show(td)}, for which the stack declares no ` +
                `${CLUSTER_FEDERATED_TRUST_DOMAIN} (declared: ${known}); expected only federated trust domains: ` +
                "SPIRE has no bundle for it and refuses the registration entry",
        );
}

/** All violations of check 4 in a stack. */
export function checkClusterSpiffeIdsFederateWithDeclared(resources: CheckedResource[]): StackViolation[] {
    const declared = declaredFederatedTrustDomains(resources);
    return resources.filter((r) => r.type === CLUSTER_SPIFFE_ID).flatMap((r) => checkFederatesWith(r, declared).map((message) => ({ message, urn: r.urn })));
}

export const clusterSpiffeIdFederatesWithDeclared: StackValidationPolicy = {
    name: "cluster-spiffe-id-federates-with-declared",
    description: "ClusterSPIFFEID spec.federatesWith only names trust domains the stack declares a ClusterFederatedTrustDomain for.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkClusterSpiffeIdsFederateWithDeclared(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
