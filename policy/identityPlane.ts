// Policies 8 and 9: an identity plane that survives its servers. More than one SPIRE server needs a datastore they
// share (8), and a federated trust domain's root should not live only on its server (9).

import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    CLUSTER_FEDERATED_TRUST_DOMAIN,
    CLUSTER_SPIFFE_ID,
    CheckedResource,
    ROOT_STACK,
    StackViolation,
    UnknownValueError,
    describeResource,
    goTruthy,
    isObject,
    isSpireRelease,
    show,
} from "./common";

/** How messages name a spire release: the resource and its Helm release name. */
function describeRelease(r: CheckedResource): string {
    return `${describeResource(r)} (Helm release ${show(r.props.name)})`;
}

// ------------------------------------------------------------------------------------------------------------------
// 8. More than one SPIRE server needs an SQL datastore

/** A value as the chart's `int` reads it (sprig's toInt: a number, or a string of digits); undefined otherwise. */
function chartInt(value: unknown): number | undefined {
    if (typeof value === "number" && Number.isFinite(value)) {
        return Math.trunc(value);
    }
    return typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : undefined;
}

/**
 * Violations of a spire release running more than one SPIRE server on SQLite. Each server would keep its own SQLite
 * file on its own volume, so the servers would hold different registration entries and publish different trust
 * bundles. The pinned chart (spire-server 0.30.0) refuses it at install: templates/server-resource.yaml fails when
 * `dataStore.sql.databaseType` is "sqlite3" (its default) and `replicaCount` > 1 without autoscaling, templates/hpa.yaml
 * when autoscaling is enabled with `autoscaling.maxReplicas` > 1 (default 100). This refuses it in the preview, before
 * a Helm upgrade fails half-way.
 */
export function checkSpireServerReplicasNeedSql(r: CheckedResource): string[] {
    if (!isSpireRelease(r)) {
        return [];
    }
    const server = isObject(r.props.values?.["spire-server"]) ? r.props.values["spire-server"] : {};
    const databaseType = server.dataStore?.sql?.databaseType;
    if (databaseType !== undefined && databaseType !== "sqlite3") {
        return [];
    }
    const sqlite =
        databaseType === undefined
            ? 'values["spire-server"].dataStore.sql.databaseType absent (the chart\'s default "sqlite3")'
            : 'values["spire-server"].dataStore.sql.databaseType "sqlite3"';
    const autoscaling = goTruthy(server.autoscaling?.enabled);
    const key = autoscaling ? "autoscaling.maxReplicas" : "replicaCount";
    const value = autoscaling ? server.autoscaling?.maxReplicas : server.replicaCount;
    // Unset, the chart's defaults apply: replicaCount 1, autoscaling.maxReplicas 100.
    const servers = chartInt(value ?? (autoscaling ? 100 : 1));
    if (servers === undefined || servers <= 1) {
        return [];
    }
    return [
        `${describeRelease(r)}: values["spire-server"].${key} is ${value === undefined ? "absent (the chart's default 100)" : show(value)} with ${sqlite}; ` +
            "expected one SPIRE server on SQLite: each server would keep its own SQLite file on its own volume, with registration entries and a " +
            "trust bundle of its own (the chart refuses it too); give the servers one SQL datastore (config spireDataStore, " +
            '{"type":"postgres"} or {"type":"mysql"} with host, database and user, and the secret spireDataStorePassword) or run one server ' +
            "(config spireServerReplicas 1)",
    ];
}

export const spireServerReplicasNeedSql: ResourceValidationPolicy = {
    name: "spire-server-replicas-need-sql",
    description: "A spire release runs more than one SPIRE server (replicaCount, or autoscaling.maxReplicas) only with an SQL datastore, never SQLite.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkSpireServerReplicasNeedSql(args)) {
            reportViolation(message);
        }
    },
};

// ------------------------------------------------------------------------------------------------------------------
// 9. A federated trust domain has an upstream authority

/**
 * The upstream authority a spire release's values configure, as the key that enables it, or undefined when none: a
 * built-in plugin whose `upstreamAuthority.<plugin>.enabled` is true (the chart compares `.enabled | toString` with
 * "true": charts/spire-server/templates/configmap.yaml), or a plugin the chart merges in as it is
 * (`customPlugins.upstreamAuthority`, `unsupportedBuiltInPlugins.upstreamAuthority`: spire-lib's config_merge).
 */
export function spireUpstreamAuthority(values: unknown): string | undefined {
    const server: Record<string, any> = isObject(values) && isObject(values["spire-server"]) ? values["spire-server"] : {};
    const builtIn = isObject(server.upstreamAuthority) ? server.upstreamAuthority : {};
    const enabled = Object.keys(builtIn)
        .sort()
        .find((plugin) => isObject(builtIn[plugin]) && String(builtIn[plugin].enabled) === "true");
    if (enabled !== undefined) {
        return `upstreamAuthority.${enabled}`;
    }
    for (const key of ["customPlugins", "unsupportedBuiltInPlugins"]) {
        if (goTruthy(server[key]?.upstreamAuthority)) {
            return `${key}.upstreamAuthority`;
        }
    }
    return undefined;
}

/** Reads a value that may be unknown in a preview; undefined when it is. */
function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (error) {
        if (error instanceof UnknownValueError) {
            return undefined;
        }
        throw error;
    }
}

/**
 * What shows that the stack federates, in words, or undefined: the ClusterFederatedTrustDomains it declares, else
 * ClusterSPIFFEIDs whose `federatesWith` names trust domains, else the peer stacks this program's `pendingPeers`
 * output names (configured peers not deployed yet: the stack will federate once they are).
 */
export function federationEvidence(resources: CheckedResource[]): string | undefined {
    const quoted = (values: unknown[]) => [...new Set(values.map((v) => show(v)))].sort().join(", ");
    const cftds = resources.filter((r) => r.type === CLUSTER_FEDERATED_TRUST_DOMAIN);
    if (cftds.length > 0) {
        return `it declares ${cftds.length === 1 ? "a ClusterFederatedTrustDomain" : "ClusterFederatedTrustDomains"} for ${quoted(cftds.map((r) => known(() => r.props.spec?.trustDomain)))}`;
    }
    const federatesWith = resources
        .filter((r) => r.type === CLUSTER_SPIFFE_ID)
        .flatMap((r) => {
            const list = known(() => r.props.spec?.federatesWith);
            return Array.isArray(list) ? list : [];
        });
    if (federatesWith.length > 0) {
        return `its ClusterSPIFFEIDs federate with ${quoted(federatesWith)}`;
    }
    const root = resources.find((r) => r.type === ROOT_STACK);
    const pending = known(() => root?.props.pendingPeers);
    if (Array.isArray(pending) && pending.length > 0) {
        return `its pendingPeers output names ${quoted(pending)}, which it federates with once they are deployed`;
    }
    return undefined;
}

/**
 * Advisories for a stack that federates while a spire release has no upstream authority. Without one, the SPIRE
 * server's CA is self-signed: its private key lives only on the server's volume (the chart's keyManager disk) and the
 * bundle peers trust in its datastore. Losing them gives a new trust root, and every peer must re-bootstrap the
 * federation with the new bundle (spiffe/spire#3582; #1840 on the server's on-disk state). An upstream authority keeps
 * the root outside the server, so a rebuilt server chains to the same root.
 */
export function checkFederationHasUpstreamAuthority(resources: CheckedResource[]): StackViolation[] {
    const evidence = federationEvidence(resources);
    if (evidence === undefined) {
        return [];
    }
    return resources
        .filter(isSpireRelease)
        .filter((r) => spireUpstreamAuthority(r.props.values) === undefined)
        .map((r) => ({
            urn: r.urn,
            message:
                `${describeRelease(r)}: the stack federates (${evidence}) but values["spire-server"] enables no upstream authority ` +
                "(no upstreamAuthority.<plugin>.enabled true): the SPIRE CA is then self-signed, its private key lives only on the server's volume " +
                "and its bundle in the datastore; losing them makes a new trust root, and every peer must re-bootstrap the federation with the " +
                "new bundle (spiffe/spire#3582); configure one (config spireUpstreamAuthority: generated, disk or certManager) so the root outlives the server",
        }));
}

export const federationHasUpstreamAuthority: StackValidationPolicy = {
    name: "federation-has-upstream-authority",
    description:
        "Advisory: a stack that federates gives its spire release an upstream authority, so its trust root outlives the SPIRE server's " +
        "volume and datastore.",
    enforcementLevel: "advisory",
    validateStack: (args, reportViolation) => {
        for (const v of checkFederationHasUpstreamAuthority(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
