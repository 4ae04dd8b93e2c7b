// The identity of this stack's SPIRE installation, exported as `federation.installationId`. A peer records it on the
// ClusterFederatedTrustDomain it declares for this stack and re-bootstraps that object when it changes (see
// FederatedTrustDomain in federation.ts). It changes exactly when the CA lineage peers bootstrapped from is gone:
//  - the SPIRE namespace was recreated, and with it the server's CA keys and datastore (its PersistentVolumeClaim):
//    keeper `namespaceUid`, the namespace's metadata.uid, which Kubernetes assigns anew to every object it creates;
//  - the server lost its data in place (its volume lost or wiped, the release reinstalled without it): keeper
//    `caLineage`, which changes when the trust bundle SPIRE publishes shares no authority with the bundle this stack
//    exported in its last deployment (caLineageAfter).
// The id itself is a random.RandomUuid whose keepers are those two values: the random provider replaces the resource,
// and so draws a new UUID, whenever a keeper value changes (terraform-provider-random, which @pulumi/random bridges:
// internal/provider/resource_uuid.go gives `keepers` the RequiresReplaceIfValuesNotNull plan modifier), and keeps it
// otherwise (`result` has UseStateForUnknown).

import { createHash } from "crypto";
import { spiffeBundleAuthorities } from "./spiffeBundle";

/** The stack output that records this stack's installation for its own next deployment. */
export const INSTALLATION_OUTPUT = "spireInstallation";

/** The `spireInstallation` stack output. */
export interface InstallationRecord {
    /** The installation id (also exported as `federation.installationId`). */
    id: string;
    /** "" until a loss of the server's data was detected; then an id of the first bundle of the new CA lineage. */
    caLineage: string;
}

/** What this stack exported in its last deployment (read through a StackReference to itself), unvalidated. */
export interface PreviousDeployment {
    /** The `federation` output: its `trustBundle` is the bundle peers were last given. */
    federation?: unknown;
    /** The `spireInstallation` output (InstallationRecord); absent before this program exported it. */
    spireInstallation?: unknown;
    /** The `spireServer` output (SpireServerRecord); absent before this program exported it (one server, SQLite, no upstream). */
    spireServer?: unknown;
    /** The `versions` output (DeployedVersions); absent before this program exported it (chart versions unknown). */
    versions?: unknown;
}

/** The CA lineage recorded by the last deployment ("" when none, or when the record is not this program's). */
export function recordedCaLineage(previous: PreviousDeployment): string {
    const record = previous.spireInstallation;
    const lineage = typeof record === "object" && record !== null ? (record as Record<string, unknown>).caLineage : undefined;
    return typeof lineage === "string" && /^(ca-[0-9a-f]{16})?$/.test(lineage) ? lineage : "";
}

/** The CA lineage of this deployment, and whether it changed because the server lost its data. */
export interface CaLineageDecision {
    caLineage: string;
    lostData: boolean;
}

/**
 * Decides the CA lineage from the bundle exported last time and the bundle SPIRE publishes now. SPIRE keeps every
 * authority in its bundle from when it is prepared (half-way through the active CA's life) until it expires, so a
 * rotation always leaves the bundle sharing an authority with the one exported before, as long as the stack is
 * deployed at least once per CA TTL. A bundle that shares none comes from another CA lineage: new lineage
 * `ca-<digest of its authorities>`. Without both bundles (first deployment, SPIRE not published yet, an offline
 * render's placeholder) nothing can be compared and the recorded lineage stays.
 */
export function caLineageAfter(previous: PreviousDeployment, currentBundle: string | undefined): CaLineageDecision {
    const recorded = recordedCaLineage(previous);
    const federation = previous.federation;
    const previousBundle = typeof federation === "object" && federation !== null ? (federation as Record<string, unknown>).trustBundle : undefined;
    const before = spiffeBundleAuthorities(previousBundle);
    const now = spiffeBundleAuthorities(currentBundle);
    if (before === undefined || now === undefined || now.some((authority) => before.includes(authority))) {
        return { caLineage: recorded, lostData: false };
    }
    return { caLineage: `ca-${createHash("sha256").update(now.join("\n")).digest("hex").slice(0, 16)}`, lostData: true };
}

/** The warning of a run that finds SPIRE publishing a bundle of another CA lineage than the one exported last time. */
export function caLineageChangedMessage(configMap: string, trustDomain: string): string {
    return (
        `SPIRE's trust bundle (ConfigMap ${configMap}) shares no key with the bundle this stack exported in its last deployment: ` +
        "the SPIRE server lost its data (CA keys, datastore) or was reinstalled, or this stack was not deployed for longer than a CA rotation. " +
        "`pulumi up` gives this installation a new federation.installationId and re-bootstraps this stack's ClusterFederatedTrustDomains; " +
        `run \`pulumi up\` on every peer stack afterwards so that each re-bootstraps its ClusterFederatedTrustDomain for ${trustDomain} with the new bundle.`
    );
}
