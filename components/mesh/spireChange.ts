// Never silent: changing where a deployed SPIRE keeps its data, or where its trust domain's root comes from, changes
// what every workload and every peer trusts. The program compares the identity plane it is asked for with the one
// the stack's last deployment recorded (the `spireServer` output), says in the preview what the change does to the
// CA and to the registrations, and refuses it until the operator acknowledges that exact change
// (config spireChangeAcknowledged).

import { X509Certificate, createHash } from "crypto";
import { ValidationError } from "../validation";
import { PreviousDeployment } from "./installation";
import { SQL_DEFAULT_PORTS, SpireDataStore } from "./spireDataStore";
import { SpireUpstreamAuthority, describeUpstreamAuthority } from "./spireUpstream";

/** The stack output that records the identity plane (Spire.serverRecord), read back by the next deployment. */
export const SPIRE_SERVER_OUTPUT = "spireServer";

/** A change of the identity plane of a deployed stack. */
export interface SpireIdentityChange {
    /** What the operator acknowledges, e.g. `dataStore sqlite3 -> postgres://db.internal:5432/spire`. */
    token: string;
    /** What happens to the CA and to the registrations. */
    effects: string;
}

/** What the identity plane is made of, as far as a change matters. */
export interface IdentityPlane {
    dataStore: SpireDataStore;
    upstreamAuthority: SpireUpstreamAuthority;
    /** The disk upstream authority's root certificate (PEM), to tell a new root from the same one. */
    upstreamCertificate?: string;
}

/** The datastore as an address: a new address is a new, empty, datastore. */
function dataStoreAddress(dataStore: { type: string; host?: unknown; port?: unknown; database?: unknown }): string {
    if (dataStore.type === "sqlite3") {
        return "sqlite3";
    }
    const port = typeof dataStore.port === "number" ? dataStore.port : SQL_DEFAULT_PORTS[dataStore.type as keyof typeof SQL_DEFAULT_PORTS];
    return `${dataStore.type}://${String(dataStore.host)}:${port}/${String(dataStore.database)}`;
}

/** A short fingerprint of a PEM certificate (SHA-256 of its DER), or "unreadable". */
function rootFingerprint(pem: unknown): string {
    try {
        return createHash("sha256")
            .update(new X509Certificate(String(pem)).raw)
            .digest("hex")
            .slice(0, 16);
    } catch {
        return "unreadable";
    }
}

/** The recorded upstream authority as the same one-line description describeUpstreamAuthority gives. */
function recordedUpstream(record: Record<string, unknown> | undefined): { description: string; root?: string } {
    const type = typeof record?.type === "string" ? record.type : "none";
    const upstream = { ...record, type } as unknown as SpireUpstreamAuthority;
    return {
        description: describeUpstreamAuthority(upstream),
        root: record?.rootCertificate === undefined ? undefined : rootFingerprint(record.rootCertificate),
    };
}

/**
 * The identity plane a deployment recorded. A stack deployed before the `spireServer` output existed (it exported
 * `federation`) ran the defaults: SQLite, no upstream authority. A stack never deployed has none: nothing changes.
 */
function recordedPlane(previous: PreviousDeployment): { dataStore: Record<string, unknown>; upstream: Record<string, unknown> } | undefined {
    const record = previous.spireServer;
    if (typeof record === "object" && record !== null) {
        const { dataStore, upstreamAuthority } = record as Record<string, unknown>;
        return {
            dataStore: typeof dataStore === "object" && dataStore !== null ? (dataStore as Record<string, unknown>) : { type: "sqlite3" },
            upstream: typeof upstreamAuthority === "object" && upstreamAuthority !== null ? (upstreamAuthority as Record<string, unknown>) : { type: "none" },
        };
    }
    return previous.federation === undefined && previous.spireInstallation === undefined
        ? undefined
        : { dataStore: { type: "sqlite3" }, upstream: { type: "none" } };
}

/**
 * The changes of the identity plane from the last deployment to this one, in a fixed order (datastore, then upstream
 * authority). What each does rests on where SPIRE keeps what:
 * - the datastore holds the registration entries, the attested agents, the federated bundles and relationships and
 *   the CA journal (spiffe/spire pkg/server/datastore/datastore.go: entries, attested nodes, bundles, federation
 *   relationships, CA journals), so a new datastore starts empty;
 * - without an upstream authority the CA is self-signed, so new CA keys are a new root (spiffe/spire#3582); with one,
 *   SPIRE publishes the upstream's root in its bundle (the disk plugin returns it as UpstreamX509Roots, spiffe/spire
 *   pkg/server/plugin/upstreamauthority/disk/disk.go) and signs its CA under it.
 */
export function identityPlaneChanges(previous: PreviousDeployment, now: IdentityPlane, trustDomain: string): SpireIdentityChange[] {
    const before = recordedPlane(previous);
    if (before === undefined) {
        return [];
    }
    const changes: SpireIdentityChange[] = [];
    const upstreamNow = describeUpstreamAuthority(now.upstreamAuthority);
    const keepsRoot = now.upstreamAuthority.type !== "none";
    const oldAddress = dataStoreAddress(before.dataStore as { type: string });
    const newAddress = dataStoreAddress(now.dataStore);
    if (oldAddress !== newAddress) {
        changes.push({
            token: `dataStore ${oldAddress} -> ${newAddress}`,
            effects:
                `the SPIRE server starts on ${newAddress}, which holds none of the registration entries, attested agents, federated bundles or CA journal of ${oldAddress} ` +
                "(SPIRE does not copy them). The controller manager re-creates the entries from the ClusterSPIFFEIDs and the federation relationships from the " +
                "ClusterFederatedTrustDomains; every agent must attest again (restart the spire-agent DaemonSet if agents report their node entry missing); " +
                (keepsRoot
                    ? `the server prepares a new CA under the upstream authority's root (${upstreamNow}), so peers keep trusting ${trustDomain}.`
                    : `without an upstream authority the server makes a new self-signed root: every workload gets a new identity chain and every peer must re-bootstrap its trust in ${trustDomain} (run \`pulumi up\` on each peer afterwards).`),
        });
    }
    const old = recordedUpstream(before.upstream);
    const newRoot = now.upstreamAuthority.type === "disk" && now.upstreamCertificate !== undefined ? rootFingerprint(now.upstreamCertificate) : undefined;
    if (old.description !== upstreamNow) {
        changes.push({
            token: `upstreamAuthority ${old.description} -> ${upstreamNow}`,
            effects:
                now.upstreamAuthority.type === "none"
                    ? `SPIRE's next CA is self-signed, a new root that peers learn only from the bundle endpoint while they still trust the current one; ${trustDomain}'s root then lives only on the server's volume and datastore.`
                    : `SPIRE signs its next CA under ${upstreamNow} and adds that root to its bundle; peers fetch the bundle with the new root at their next refresh, while the current root still authenticates the bundle endpoint, and SPIRE keeps the old root in the bundle until it expires.`,
        });
    } else if (newRoot !== undefined && old.root !== undefined && newRoot !== old.root) {
        changes.push({
            token: `upstreamAuthority disk root ${old.root} -> ${newRoot}`,
            effects:
                "SPIRE's disk upstream authority reloads the root at its next CA rotation (it reads the files on every signing request) and adds the new root to the bundle; " +
                "peers fetch it at their next refresh, while the current root still authenticates the bundle endpoint.",
        });
    }
    return changes;
}

/** The acknowledgement text for a set of changes: their tokens, in order, joined by "; ". */
export function acknowledgementFor(changes: SpireIdentityChange[]): string {
    return changes.map((c) => c.token).join("; ");
}

/** The refusal of an unacknowledged change, with what it does and the exact command that acknowledges it. */
export function unacknowledgedChangeMessage(changes: SpireIdentityChange[], acknowledged: string): string {
    const wanted = acknowledgementFor(changes);
    const lines = changes.map((c) => `${c.token}: ${c.effects}`);
    return (
        `spireChangeAcknowledged: ${JSON.stringify(acknowledged)} does not acknowledge the change of this deployed SPIRE's identity plane: ${lines.join(" ")} ` +
        `To go ahead, run \`pulumi config set spireChangeAcknowledged '${wanted}'\`; remove the key after the deployment.`
    );
}

/** The preview's warning of an acknowledged change: what it does. */
export function acknowledgedChangeMessage(changes: SpireIdentityChange[]): string {
    return `This deployment changes SPIRE's identity plane (acknowledged): ${changes.map((c) => `${c.token}: ${c.effects}`).join(" ")}`;
}

/** The warning of an acknowledgement that matches no change (left over from an earlier deployment). */
export function staleAcknowledgementMessage(acknowledged: string): string {
    return `spireChangeAcknowledged: ${JSON.stringify(acknowledged)} acknowledges a change this deployment does not make; remove the key, so that it cannot acknowledge a later change by accident.`;
}

/**
 * The check the program runs before it declares anything: refuses (ValidationError) a change of the identity plane
 * that `acknowledged` (config spireChangeAcknowledged) does not name exactly; otherwise returns the warning the
 * preview shows, of an acknowledged change or of an acknowledgement left over, or undefined.
 */
export function checkIdentityPlaneChange(previous: PreviousDeployment, now: IdentityPlane, trustDomain: string, acknowledged: string): string | undefined {
    const changes = identityPlaneChanges(previous, now, trustDomain);
    if (changes.length > 0 && acknowledged !== acknowledgementFor(changes)) {
        throw new ValidationError(unacknowledgedChangeMessage(changes, acknowledged));
    }
    if (changes.length > 0) {
        return acknowledgedChangeMessage(changes);
    }
    return acknowledged !== "" ? staleAcknowledgementMessage(acknowledged) : undefined;
}
