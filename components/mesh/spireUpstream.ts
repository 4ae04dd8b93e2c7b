// SPIRE's upstream authority: where the root of this trust domain comes from. Without one (the chart's default and
// this program's), the SPIRE server signs its own CA and keeps the key only in its key manager (the server's volume):
// a lost volume or datastore means a new self-signed root, and every peer must re-bootstrap (spiffe/spire#3582). With
// one, the server's CA is an intermediate under a root that outlives the server, so a rebuilt server publishes a
// bundle under the same root and peers keep federating.

import { X509Certificate, createPrivateKey } from "crypto";
import { Values } from "../values";
import { checkDnsName, describeProblem, parseDuration, quote } from "../validation";

/** The Secret (in the SPIRE namespace, type kubernetes.io/tls) the `disk` upstream authority reads its root from. */
export const SPIRE_UPSTREAM_CA_SECRET = "spire-upstream-ca";

/** The root CA's validity for `generated` when none is set: ten years. */
export const DEFAULT_GENERATED_ROOT_VALIDITY = "87600h";

/**
 * The shortest root validity accepted, as a multiple of caTTL: a CA signed under the root is of no use past the root's
 * expiry (a chain verifies only while every certificate in it is valid), and SPIRE asks for a CA of caTTL at each
 * rotation (the disk plugin signs with the server's preferred TTL, spiffe/spire
 * pkg/server/plugin/upstreamauthority/disk/disk.go MintX509CAAndSubscribe), so a root shorter than two CA lifetimes
 * leaves SPIRE's CAs cut short for half of its life.
 */
export const MIN_ROOT_VALIDITY_TO_CA_TTL_RATIO = 2;

export type SpireUpstreamAuthority =
    | { type: "none" }
    /** A root CA made once by this program (@pulumi/tls), kept as a secret in the stack's state. */
    | { type: "generated"; validity: string }
    /** The root (or intermediate) CA of secret config keys spireUpstreamCertificate and spireUpstreamKey. */
    | { type: "disk" }
    /** A cert-manager issuer signs SPIRE's CA (spiffe/spire pkg/server/plugin/upstreamauthority/certmanager). */
    | { type: "certManager"; issuerName: string; issuerKind: "Issuer" | "ClusterIssuer"; issuerGroup: string };

export const UPSTREAM_AUTHORITY_TYPES = ["none", "generated", "disk", "certManager"] as const;

const EXPECTED =
    'expected {"type": "none"}, {"type": "generated", "validity": "87600h"}, {"type": "disk"} (with the secret keys spireUpstreamCertificate and ' +
    'spireUpstreamKey) or {"type": "certManager", "issuerName": "<issuer>", "issuerKind": "Issuer" | "ClusterIssuer", "issuerGroup": "cert-manager.io"}';

const FIELDS: Record<SpireUpstreamAuthority["type"], string[]> = {
    none: ["type"],
    generated: ["type", "validity"],
    disk: ["type"],
    certManager: ["type", "issuerName", "issuerKind", "issuerGroup"],
};

/**
 * Parses config `spireUpstreamAuthority` (its JSON value; undefined: `{type: "none"}`). Each problem names the field,
 * quotes the value and says what is expected. `caTTL` (a valid Go duration, or undefined when it is not) bounds the
 * generated root's validity.
 */
export function parseSpireUpstreamAuthority(value: unknown, caTTL: string | undefined, problems: string[]): SpireUpstreamAuthority {
    const key = "spireUpstreamAuthority";
    if (value === undefined || value === null) {
        return { type: "none" }; // unset, or a JSON problem already reported
    }
    if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(describeProblem(key, value, `is not an object; ${EXPECTED}`));
        return { type: "none" };
    }
    const fields = value as Record<string, unknown>;
    const type = fields.type;
    if (!(UPSTREAM_AUTHORITY_TYPES as readonly unknown[]).includes(type)) {
        problems.push(describeProblem(`${key}.type`, type, `is not one of ${UPSTREAM_AUTHORITY_TYPES.map((t) => quote(t)).join(", ")}; ${EXPECTED}`));
        return { type: "none" };
    }
    const kind = type as SpireUpstreamAuthority["type"];
    const unknown = Object.keys(fields).filter((field) => !FIELDS[kind].includes(field));
    if (unknown.length > 0) {
        problems.push(
            describeProblem(
                `${key}.${unknown[0]}`,
                fields[unknown[0]],
                `is not a field of the ${quote(kind)} upstream authority; it takes ${FIELDS[kind].map((f) => quote(f)).join(", ")}`,
            ),
        );
    }
    switch (kind) {
        case "none":
        case "disk":
            return { type: kind };
        case "generated": {
            const validity = fields.validity === undefined ? DEFAULT_GENERATED_ROOT_VALIDITY : fields.validity;
            const validityMs = typeof validity === "string" ? parseDuration(validity) : undefined;
            if (validityMs === undefined || validityMs <= 0 || !/^\d+h$/.test(validity as string)) {
                problems.push(
                    describeProblem(
                        `${key}.validity`,
                        validity,
                        'is not a whole number of hours; expected a duration like "87600h" (@pulumi/tls takes the validity in hours)',
                    ),
                );
            } else {
                const caMs = caTTL === undefined ? undefined : parseDuration(caTTL);
                if (caMs !== undefined && validityMs < MIN_ROOT_VALIDITY_TO_CA_TTL_RATIO * caMs) {
                    problems.push(
                        describeProblem(
                            `${key}.validity`,
                            validity,
                            `is shorter than ${MIN_ROOT_VALIDITY_TO_CA_TTL_RATIO} times caTTL (${quote(caTTL)}); SPIRE cuts every CA it signs under this root short at the root's expiry`,
                        ),
                    );
                }
            }
            return { type: "generated", validity: typeof validity === "string" ? validity : DEFAULT_GENERATED_ROOT_VALIDITY };
        }
        case "certManager": {
            const issuerName = fields.issuerName;
            const nameProblem = checkDnsName(issuerName);
            if (nameProblem !== undefined) {
                problems.push(describeProblem(`${key}.issuerName`, issuerName, `is not an issuer name: it ${nameProblem}`));
            }
            const issuerKind = fields.issuerKind ?? "Issuer";
            if (issuerKind !== "Issuer" && issuerKind !== "ClusterIssuer") {
                problems.push(describeProblem(`${key}.issuerKind`, issuerKind, 'is not one of "Issuer", "ClusterIssuer"'));
            }
            const issuerGroup = fields.issuerGroup ?? "cert-manager.io";
            const groupProblem = checkDnsName(issuerGroup);
            if (groupProblem !== undefined) {
                problems.push(describeProblem(`${key}.issuerGroup`, issuerGroup, `is not an API group: it ${groupProblem}`));
            }
            return {
                type: "certManager",
                issuerName: String(issuerName),
                issuerKind: issuerKind === "ClusterIssuer" ? "ClusterIssuer" : "Issuer",
                issuerGroup: String(issuerGroup),
            };
        }
    }
}

/**
 * Checks the root CA of the `disk` upstream authority (config spireUpstreamCertificate, spireUpstreamKey) as SPIRE's
 * disk plugin loads it without a bundle file (the chart sets none: templates/configmap.yaml writes
 * bundle_file_path only for `secret.data.bundle`): exactly one certificate, self-signed ("with no bundle_file_path
 * configured only self-signed CAs are supported"), whose private key is the key given ("certificate and private key
 * does not match"; spiffe/spire pkg/server/plugin/upstreamauthority/disk/disk.go loadUpstreamCAAndCerts); a CA
 * certificate (BasicConstraints CA:TRUE), since it signs SPIRE's CA; valid at `now`. The messages never quote the key.
 */
export function upstreamCertificateProblems(certificatePem: string, keyPem: string, now: Date): string[] {
    const count = (certificatePem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
    let certificate: X509Certificate;
    try {
        certificate = new X509Certificate(certificatePem);
    } catch {
        return ["spireUpstreamCertificate: is not a PEM certificate; expected the upstream CA's certificate (-----BEGIN CERTIFICATE-----)"];
    }
    const problems: string[] = [];
    if (count !== 1) {
        problems.push(`spireUpstreamCertificate: holds ${count} certificates; SPIRE's disk upstream authority takes exactly one, a self-signed root`);
    } else if (certificate.issuer !== certificate.subject || !certificate.verify(certificate.publicKey)) {
        problems.push(
            `spireUpstreamCertificate: ${quote(certificate.subject)} is not self-signed (issuer ${quote(certificate.issuer)}); SPIRE's disk upstream authority takes a root CA`,
        );
    }
    if (!certificate.ca) {
        problems.push(
            `spireUpstreamCertificate: ${quote(certificate.subject)} is not a CA certificate (BasicConstraints CA:TRUE); SPIRE signs its own CA under it`,
        );
    }
    if (Date.parse(certificate.validTo) <= now.getTime()) {
        problems.push(
            `spireUpstreamCertificate: ${quote(certificate.subject)} expired at ${certificate.validTo}; a root that expired breaks every identity under it`,
        );
    } else if (Date.parse(certificate.validFrom) > now.getTime()) {
        problems.push(`spireUpstreamCertificate: ${quote(certificate.subject)} is not valid before ${certificate.validFrom}`);
    }
    let key;
    try {
        key = createPrivateKey(keyPem);
    } catch {
        problems.push("spireUpstreamKey: is not a PEM private key; expected the upstream CA's private key (PKCS#8, PKCS#1 or SEC1 PEM)");
        return problems;
    }
    if (!certificate.checkPrivateKey(key)) {
        problems.push(`spireUpstreamKey: is not the private key of spireUpstreamCertificate (${quote(certificate.subject)})`);
    }
    return problems;
}

/** The spire-server chart values of an upstream authority (the `spire-server` subtree); none: nothing. */
export function spireUpstreamAuthorityValues(upstream: SpireUpstreamAuthority): Values {
    switch (upstream.type) {
        case "none":
            return {};
        case "generated":
        case "disk":
            // The chart mounts the Secret at /run/spire/upstream_ca and points the disk plugin at tls.crt and tls.key
            // (charts/spire-server/templates/configmap.yaml UpstreamAuthority.disk, server-resource.yaml volume
            // upstream-ca); `create: false` keeps the key out of the chart's values: the program declares the Secret.
            return { upstreamAuthority: { disk: { enabled: true, secret: { create: false, name: SPIRE_UPSTREAM_CA_SECRET } } } };
        case "certManager":
            // templates/configmap.yaml UpstreamAuthority.cert-manager: issuer_name, issuer_kind, issuer_group and
            // the namespace of the CertificateRequests (the release namespace); the chart's Role lets the server
            // create them there (rbac.create).
            return {
                upstreamAuthority: {
                    certManager: { enabled: true, issuerName: upstream.issuerName, issuerKind: upstream.issuerKind, issuerGroup: upstream.issuerGroup },
                },
            };
    }
}

/** One line naming an upstream authority, as the identity-plane change messages name it (spireChange.ts). */
export function describeUpstreamAuthority(upstream: SpireUpstreamAuthority): string {
    switch (upstream.type) {
        case "certManager":
            return `certManager ${upstream.issuerKind}/${upstream.issuerName} (${upstream.issuerGroup})`;
        default:
            return upstream.type;
    }
}
