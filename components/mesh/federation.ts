// SPIRE federation between stacks. Each stack exports `federation` (what a peer needs to federate with it); each
// stack reads its peers' exports through StackReferences, validates them as untrusted input, and declares one
// ClusterFederatedTrustDomain per peer. This replaces the runbook's copy-pasted `bundle show -format spiffe`.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { createHash } from "crypto";
import { ServiceType } from "../kubernetes";
import { ClusterFederatedTrustDomain, ClusterFederatedTrustDomainSpec } from "./crds";
import { SPIRE_SERVER_OUTPUT } from "./spireChange";
import { VERSIONS_OUTPUT } from "../versions";
import { INSTALLATION_OUTPUT, InstallationRecord, PreviousDeployment, caLineageAfter, caLineageChangedMessage, recordedCaLineage } from "./installation";
import { checkSpiffeBundle } from "./spiffeBundle";
import { BUNDLE_CONFIGMAP, SPIRE_RELEASE_NAME } from "./spire";
import { checkBundleEndpointUrl, checkInstallationId, checkSpiffeId, checkTrustDomain, describeProblem, quote, throwIfProblems } from "../validation";

/** The stack output a peer reads. */
export const FEDERATION_OUTPUT = "federation";
/** How peers authenticate a bundle endpoint: with SPIRE's own SVID (https_spiffe) or a Web PKI certificate (https_web). */
export type BundleEndpointProfile = "https_spiffe" | "https_web";

/** A peer stack this stack federates with. */
export interface PeerStackRef {
    /** Fully qualified stack name, `<org>/istio-spire/<stack>`. */
    stack: string;
}

/** The SPIFFE bundle endpoint port of the SPIRE server (the chart's `federation.bundleEndpoint.port`). */
export const BUNDLE_ENDPOINT_PORT = 8443;
/** Key of the SPIFFE-format bundle in the bundle ConfigMap. */
export const BUNDLE_CONFIGMAP_KEY = "bundle.spiffe";

/** The contract between stacks: everything a peer needs to federate with this stack's trust domain. */
export interface FederationExport {
    /** This stack's SPIFFE trust domain. */
    trustDomain: string;
    /** https URL of this stack's SPIFFE bundle endpoint. */
    bundleEndpointUrl: string;
    /** SPIFFE ID the endpoint presents with the https_spiffe profile: `spiffe://<td>/spire/server`. */
    endpointSpiffeId: string;
    /** The current trust bundle, SPIFFE format; absent until SPIRE has published it. */
    trustBundle?: string;
    /** How peers authenticate the endpoint. Absent means "https_spiffe". */
    bundleEndpointProfile?: BundleEndpointProfile;
    /**
     * The identity of this stack's SPIRE installation (components/mesh/installation.ts): it changes exactly when the CA
     * lineage peers bootstrapped from is gone, and a peer then re-bootstraps its ClusterFederatedTrustDomain. Absent
     * from stacks deployed with an older version of this program: their identity is unknown.
     */
    installationId?: string;
}

/** The SPIFFE ID a SPIRE server's bundle endpoint presents under the https_spiffe profile. */
export function spireServerSpiffeId(trustDomain: string): string {
    return `spiffe://${trustDomain}/spire/server`;
}

/**
 * Offline renders (`npm run render`) resolve federation between stacks that were never deployed. A value that only
 * exists once a peer is deployed (its load balancer address, its live trust bundle) is passed on as this marker,
 * never as made-up data. Only previews accept it: a deployment refuses it like any other invalid peer value.
 */
export function deployTimePlaceholder(description: string): string {
    return `<deploy-time: ${description}>`;
}

/** Whether a value is a marker made by deployTimePlaceholder. */
export function isDeployTimePlaceholder(value: unknown): value is string {
    return typeof value === "string" && /^<deploy-time: [^<>]+>$/.test(value);
}

/** The peer fields that may be deploy-time placeholders; the others are known before anything is deployed. */
const DEPLOY_TIME_FIELDS = ["bundleEndpointUrl", "trustBundle", "installationId"] as const;

/** How a check of what a peer exports treats an offline render's deploy-time placeholders. */
export interface DeployTimePlaceholders {
    /** Recognises a placeholder (isDeployTimePlaceholder). */
    isPlaceholder: (v: unknown) => boolean;
    /** Whether one is accepted: in a preview only. */
    accept: boolean;
    /** The reason a placeholder is refused with. */
    refusal: string;
}

/**
 * What peers tell about their sample applications beside their federation: the stack output it is read from and its
 * check, which gets the peer's validated trust domain. The samples area's is PEER_SAMPLES (samples/peerSamples.ts),
 * handed in by the stack program: the mesh judges federation and knows no sample. A problem in it refuses the peer as
 * a federation problem does; a part not usable yet leaves the peer ready and reported in `partial`.
 */
export interface PeerSamplesCheck<S> {
    output: string;
    validate(stack: string, trustDomain: string, value: unknown, placeholders: DeployTimePlaceholders): { samples: S; problems: string[]; notReady: string[] };
}

/** A peer whose export was read and validated. */
export interface ValidatedPeer<S = unknown> {
    stack: string;
    federation: FederationExport & { bundleEndpointProfile: BundleEndpointProfile };
    /** What it tells about its sample applications, as the PeerSamplesCheck read it (undefined without one). */
    samples: S;
}

/** What reading the peers found: peers to federate with, and peers not deployed yet. */
export interface PeerReadResult<S = unknown> {
    ready: ValidatedPeer<S>[];
    pending: { stack: string; reason: string }[];
    /** Ready peers of which a part (a sample) is not usable yet, with the reason. */
    partial: { stack: string; reason: string }[];
}

/**
 * Validates what peer stacks export. Peer data is untrusted input: every problem is reported naming the peer stack,
 * the field and the value. Peers without an export (or, for https_spiffe, without a bundle yet) are pending, not
 * errors. With `options.samples` (PEER_SAMPLES) each peer's `samples` export is checked with its federation, in the same
 * error. Throws one ValidationError listing every problem.
 */
export function validatePeerExports<S = undefined>(
    ownTrustDomain: string,
    peerExports: { stack: string; federation: unknown; samples?: unknown }[],
    options: { acceptPlaceholders?: boolean; samples?: PeerSamplesCheck<S> } = {},
): PeerReadResult<S> {
    const problems: string[] = [];
    const result: PeerReadResult<S> = { ready: [], pending: [], partial: [] };
    const placeholderRefusal = "is a placeholder from an offline render, not a deployed stack's value; deploy the peer stack and export its real value";
    const seen = new Map<string, string>();

    for (const { stack, federation, samples } of peerExports) {
        const at = (field: string) => `peer ${quote(stack)} ${FEDERATION_OUTPUT}.${field}`;
        const problemsBefore = problems.length;
        if (federation === undefined || federation === null) {
            result.pending.push({ stack, reason: `has no "${FEDERATION_OUTPUT}" output yet` });
            continue;
        }
        if (typeof federation !== "object" || Array.isArray(federation)) {
            problems.push(
                `peer ${quote(stack)} ${FEDERATION_OUTPUT}: ${quote(federation)} is not an object; expected {trustDomain, bundleEndpointUrl, endpointSpiffeId, trustBundle}`,
            );
            continue;
        }
        const f = federation as Record<string, unknown>;
        const td = f.trustDomain;
        const syntaxProblem = checkTrustDomain(td);
        // Only a usable peer trust domain is checked against the endpoint ID and bundle.
        let tdUsable = syntaxProblem === undefined;
        if (syntaxProblem !== undefined) {
            problems.push(describeProblem(at("trustDomain"), td, syntaxProblem));
        } else if (td === ownTrustDomain) {
            tdUsable = false;
            problems.push(
                describeProblem(at("trustDomain"), td, "is this stack's own trust domain; a peer must have its own (is the peer listed by mistake?)"),
            );
        } else if (seen.has(td as string)) {
            tdUsable = false;
            problems.push(
                describeProblem(
                    at("trustDomain"),
                    td,
                    `is also the trust domain of peer ${quote(seen.get(td as string))}; each trust domain is federated once`,
                ),
            );
        } else {
            seen.set(td as string, stack);
        }

        // Deploy-time placeholders stand for values checked when they exist; a deployment never accepts them.
        const placeholders = new Set(DEPLOY_TIME_FIELDS.filter((field) => isDeployTimePlaceholder(f[field])));
        for (const field of placeholders) {
            if (!options.acceptPlaceholders) {
                problems.push(describeProblem(at(field), f[field], placeholderRefusal));
            }
        }

        const profile = f.bundleEndpointProfile ?? "https_spiffe";
        if (profile !== "https_spiffe" && profile !== "https_web") {
            problems.push(describeProblem(at("bundleEndpointProfile"), profile, 'is not "https_spiffe" or "https_web"'));
        }
        const urlProblem = placeholders.has("bundleEndpointUrl") ? undefined : checkBundleEndpointUrl(f.bundleEndpointUrl);
        if (urlProblem !== undefined) {
            problems.push(describeProblem(at("bundleEndpointUrl"), f.bundleEndpointUrl, urlProblem));
        }
        if (profile === "https_spiffe" && tdUsable) {
            const idProblem = checkSpiffeId(f.endpointSpiffeId, td as string);
            if (idProblem !== undefined) {
                problems.push(describeProblem(at("endpointSpiffeId"), f.endpointSpiffeId, idProblem));
            }
        }
        // Absent (or null): a peer deployed with an older version of this program, whose identity is unknown.
        if (f.installationId !== undefined && f.installationId !== null && !placeholders.has("installationId")) {
            const idProblem = checkInstallationId(f.installationId);
            if (idProblem !== undefined) {
                problems.push(describeProblem(at("installationId"), f.installationId, idProblem));
            }
        }
        if (f.trustBundle !== undefined && f.trustBundle !== null && tdUsable && !placeholders.has("trustBundle")) {
            const bundleProblem = checkSpiffeBundle(f.trustBundle, td as string);
            if (bundleProblem !== undefined) {
                problems.push(describeProblem(at("trustBundle"), f.trustBundle, bundleProblem));
            }
        }
        // A peer whose trust domain is not usable has a problem already, and is never ready.
        const peerSamples =
            tdUsable && options.samples !== undefined
                ? options.samples.validate(stack, td as string, samples, {
                      isPlaceholder: isDeployTimePlaceholder,
                      accept: options.acceptPlaceholders ?? false,
                      refusal: placeholderRefusal,
                  })
                : { samples: undefined as S, problems: [], notReady: [] };
        problems.push(...peerSamples.problems);
        if (problems.length > problemsBefore) {
            continue;
        }
        if (profile === "https_spiffe" && (f.trustBundle === undefined || f.trustBundle === null)) {
            result.pending.push({ stack, reason: "has not published its trust bundle yet (needed to authenticate its https_spiffe endpoint)" });
            continue;
        }
        result.ready.push({
            stack,
            federation: {
                trustDomain: td as string,
                bundleEndpointUrl: f.bundleEndpointUrl as string,
                endpointSpiffeId: f.endpointSpiffeId as string,
                ...(typeof f.trustBundle === "string" ? { trustBundle: f.trustBundle } : {}),
                bundleEndpointProfile: profile as BundleEndpointProfile,
                ...(typeof f.installationId === "string" ? { installationId: f.installationId } : {}),
            },
            samples: peerSamples.samples,
        });
        result.partial.push(...peerSamples.notReady.map((reason) => ({ stack, reason })));
    }
    throwIfProblems("Invalid peer data", problems);
    return result;
}

/** The message for a peer that cannot be federated with yet, naming the command that fixes it. */
export function pendingPeerMessage(stack: string, reason: string): string {
    return (
        `Peer stack ${quote(stack)} ${reason}: nothing is declared for it in this run. ` +
        `Run \`pulumi up -s ${stack}\`, then \`pulumi up\` on this stack again to federate with it.`
    );
}

/**
 * Reads every peer's `federation` output through a StackReference and validates it, and with `samples` (the samples
 * area's PEER_SAMPLES) the peer's samples output through the same reference. Peers not deployed yet are reported with
 * pulumi.log.warn and left out. Uses getOutputDetails, so the program branches in plain code and every resource it
 * declares shows in previews.
 */
export async function readPeers<S = undefined>(ownTrustDomain: string, peers: PeerStackRef[], samples?: PeerSamplesCheck<S>): Promise<PeerReadResult<S>> {
    const peerExports = await Promise.all(
        peers.map(async ({ stack }) => {
            const ref = new pulumi.StackReference(`peer-${stack.replace(/\//g, "-")}`, { name: stack });
            const [federation, peerSamples] = await Promise.all([
                ref.getOutputDetails(FEDERATION_OUTPUT),
                samples === undefined ? undefined : ref.getOutputDetails(samples.output),
            ]);
            return {
                stack,
                federation: federation.value ?? federation.secretValue,
                samples: peerSamples === undefined ? undefined : (peerSamples.value ?? peerSamples.secretValue),
            };
        }),
    );
    // A preview changes nothing, so it may show federation with a peer that exists only in an offline render.
    const result = validatePeerExports(ownTrustDomain, peerExports, { acceptPlaceholders: pulumi.runtime.isDryRun(), samples });
    for (const { stack, reason } of result.pending) {
        pulumi.log.warn(pendingPeerMessage(stack, reason));
    }
    for (const { stack, reason } of result.partial) {
        pulumi.log.warn(`Peer stack ${quote(stack)}: ${reason}; run \`pulumi up -s ${stack}\` until it has one, then \`pulumi up\` here again.`);
    }
    return result;
}

/** The logical name of the StackReference through which a stack reads what it exported in its last deployment. */
export const PREVIOUS_DEPLOYMENT_REFERENCE = "previous-deployment";

/**
 * Reads what this stack exported in its last deployment, through a StackReference to the stack itself. The engine
 * answers it like any other: the builtin provider's readStackReference asks the backend for the stack's outputs
 * (pulumi/pulumi pkg/resource/deploy/builtins.go, pkg/backend/backend.go backendClient.GetStackOutputs), which are
 * those of the last checkpoint: during an update the root stack resource keeps its old outputs until the program
 * has finished (a SameStep retains them, pkg/resource/deploy/step.go SameStep.Apply), and a stack that was never
 * deployed has none. The stack running always exists, so this read never fails the way a missing peer's does.
 */
export async function readPreviousDeployment(): Promise<PreviousDeployment> {
    const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const ref = new pulumi.StackReference(PREVIOUS_DEPLOYMENT_REFERENCE, { name });
    const [federation, installation, server, versions] = await Promise.all([
        ref.getOutputDetails(FEDERATION_OUTPUT),
        ref.getOutputDetails(INSTALLATION_OUTPUT),
        ref.getOutputDetails(SPIRE_SERVER_OUTPUT),
        ref.getOutputDetails(VERSIONS_OUTPUT),
    ]);
    return {
        federation: federation.value ?? federation.secretValue,
        spireInstallation: installation.value ?? installation.secretValue,
        spireServer: server.value ?? server.secretValue,
        versions: versions.value ?? versions.secretValue,
    };
}

/**
 * The Kubernetes name of a peer's ClusterFederatedTrustDomain: the trust domain itself when it is a valid object
 * name, otherwise a stable hash of it. Never random, so a re-run never replaces the object (a replacement makes the
 * controller manager push the bootstrap bundle again over the refreshed one): only a new installation on either side
 * does (FederatedTrustDomain).
 */
export function federatedTrustDomainName(trustDomain: string): string {
    const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    if (trustDomain.length <= 253 && dnsSubdomain.test(trustDomain)) {
        return trustDomain;
    }
    return `federated-${createHash("sha256").update(trustDomain).digest("hex").slice(0, 16)}`;
}

/** The ClusterFederatedTrustDomain spec for a validated peer. */
export function federatedTrustDomainSpec(className: string, peer: ValidatedPeer["federation"]): ClusterFederatedTrustDomainSpec {
    const https_spiffe = peer.bundleEndpointProfile === "https_spiffe";
    return {
        className,
        trustDomain: peer.trustDomain,
        bundleEndpointURL: peer.bundleEndpointUrl,
        bundleEndpointProfile: https_spiffe ? { type: "https_spiffe", endpointSPIFFEID: peer.endpointSpiffeId } : { type: "https_web" },
        // The bootstrap bundle: SPIRE needs it to authenticate an https_spiffe endpoint the first time.
        ...(peer.trustBundle !== undefined ? { trustDomainBundle: peer.trustBundle } : {}),
    };
}

/** Annotation of a ClusterFederatedTrustDomain: the installation id of the peer whose bundle bootstrapped it. */
export const PEER_INSTALLATION_ANNOTATION = "istio-spire/peer-installation-id";
/** Annotation of a ClusterFederatedTrustDomain: the installation id of this stack's SPIRE, which holds the relationship. */
export const LOCAL_INSTALLATION_ANNOTATION = "istio-spire/installation-id";
/** Property paths (pulumi/pulumi resource.ParsePropertyPath syntax) of those annotations, for `replaceOnChanges`. */
export const INSTALLATION_ANNOTATION_PATHS = [PEER_INSTALLATION_ANNOTATION, LOCAL_INSTALLATION_ANNOTATION].map(
    (key) => `metadata.annotations[${JSON.stringify(key)}]`,
);

/** The annotations of a peer's ClusterFederatedTrustDomain: both installations, the peer's only when it exports one. */
export function federatedTrustDomainAnnotations<Id>(localInstallationId: Id, peer: ValidatedPeer["federation"]): Record<string, Id | string> {
    return {
        [LOCAL_INSTALLATION_ANNOTATION]: localInstallationId,
        ...(peer.installationId !== undefined ? { [PEER_INSTALLATION_ANNOTATION]: peer.installationId } : {}),
    };
}

export interface FederatedTrustDomainArgs {
    /** The validated peer export. */
    peer: ValidatedPeer;
    /** The controller class of this stack's SPIRE. */
    controllerClassName: pulumi.Input<string>;
    /** The SPIRE release: its controller manager's webhook validates the object. */
    spireRelease: pulumi.Resource;
    /** This stack's installation id (BundleEndpoint.installationId). */
    localInstallationId: pulumi.Input<string>;
}

/**
 * Federation with one peer trust domain: a ClusterFederatedTrustDomain bootstrapped with the peer's bundle.
 *
 * The bootstrap bundle is set once and then ignored: SPIRE refreshes the peer's bundle from its endpoint and follows
 * rotations, and re-applying the peer stack's (possibly older) snapshot could roll a rotation back. When either
 * SPIRE installation is recreated (a new CA lineage), that bundle is useless: the object is replaced, deleted before
 * it is created again (its name is fixed), which makes the controller manager create the federation relationship
 * anew with the bundle the replacement carries. It carries the peer's current bundle although changes to it are
 * ignored: pulumi/pulumi's step generator copies ignored properties from the old inputs only for the diff
 * (pkg/resource/deploy/step_generator.go processIgnoreChanges), and once the diff asks for a replacement it checks
 * the program's own inputs again and creates the replacement from them ("If we are going to perform a replacement,
 * we need to recompute the default values": prov.Check with News: goal.Properties and no olds).
 */
export class FederatedTrustDomain extends pulumi.ComponentResource {
    public readonly trustDomain: pulumi.Output<string>;
    public readonly bundleEndpointUrl: pulumi.Output<string>;
    public readonly resource: ClusterFederatedTrustDomain;

    constructor(name: string, args: FederatedTrustDomainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:federation:FederatedTrustDomain", name, {}, opts);
        const peer = args.peer.federation;
        this.resource = new ClusterFederatedTrustDomain(
            `${name}-cftd`,
            {
                name: federatedTrustDomainName(peer.trustDomain),
                annotations: federatedTrustDomainAnnotations(args.localInstallationId, peer),
                spec: pulumi.output(args.controllerClassName).apply((c) => federatedTrustDomainSpec(c, peer)),
            },
            {
                parent: this,
                dependsOn: [args.spireRelease],
                // The bundle is only a bootstrap: SPIRE refreshes it from the peer's endpoint every refresh hint and
                // rotates it on its own. Re-applying the (possibly older) snapshot the peer stack exported could
                // roll back a rotated bundle, so changes to it after creation are ignored.
                ignoreChanges: ["spec.trustDomainBundle"],
                // A new installation on either side: bootstrap again, with the peer's current bundle (see above).
                // The engine matches these paths against the provider's detailed diff (applyReplaceOnChanges:
                // PropertyPath.Contains), which pulumi-kubernetes reports per annotation key (provider.go
                // addPatchValueToDiff). A first annotation map (an object declared by an older version of this
                // program) is reported at `metadata.annotations` as a whole and only updates the object.
                replaceOnChanges: INSTALLATION_ANNOTATION_PATHS,
                // The controller manager compares relationships without their bundle (spire-controller-manager
                // pkg/spireapi FederationRelationship.Equal: trust domain, URL, profile) and pushes the bundle only
                // when it creates one: the old object must be gone for it to do so, and the name cannot be taken twice.
                deleteBeforeReplace: true,
            },
        );
        this.trustDomain = pulumi.output(peer.trustDomain);
        this.bundleEndpointUrl = pulumi.output(peer.bundleEndpointUrl);
        this.registerOutputs({ trustDomain: this.trustDomain, bundleEndpointUrl: this.bundleEndpointUrl });
    }
}

/**
 * The warning of a run in which SPIRE has not published this cluster's trust bundle yet (usually the first `pulumi up`
 * of a stack: the server publishes right after it starts). The federation output goes out without `trustBundle`,
 * which peers treat as pending; the next `pulumi up` exports it.
 */
export function bundleNotPublishedMessage(configMap: string): string {
    return (
        `SPIRE has not published this cluster's trust bundle yet (ConfigMap ${configMap} has no "${BUNDLE_CONFIGMAP_KEY}"): ` +
        `the "${FEDERATION_OUTPUT}" output is exported without trustBundle, so peers see this stack as pending. ` +
        "Run `pulumi up` on this stack again once the SPIRE server is running to export it."
    );
}

export interface BundleEndpointArgs {
    /** This stack's trust domain. */
    trustDomain: string;
    /** The SPIRE server namespace. */
    namespace: pulumi.Input<string>;
    /** The spire release (bundle endpoint port and bundle publisher). */
    spireRelease: k8s.helm.v3.Release;
    /** Type of the Service that exposes only the bundle endpoint. @default "LoadBalancer" */
    serviceType?: ServiceType;
    /** URL peers use, when the endpoint is fronted by DNS or an ingress. @default the load balancer address */
    url?: string;
    /** How peers authenticate the endpoint. @default "https_spiffe" */
    profile?: BundleEndpointProfile;
    /** `metadata.uid` of the SPIRE namespace (Spire.namespaceUid): a new namespace is a new installation. */
    namespaceUid: pulumi.Input<string>;
    /** What this stack exported last time (readPreviousDeployment). @default {} (nothing to compare with) */
    previousDeployment?: PreviousDeployment;
}

/**
 * This stack's side of federation: a Service exposing only the SPIRE server's bundle endpoint (8443, never the
 * server API), a read of the trust bundle SPIRE publishes and the installation id (components/mesh/installation.ts),
 * combined into the `federation` export. The id is declared here, not in Spire, because one of its keepers is
 * derived from the bundle this component reads.
 */
export class BundleEndpoint extends pulumi.ComponentResource {
    /** https URL of the bundle endpoint. */
    public readonly url: pulumi.Output<string>;
    /** SPIFFE ID the endpoint presents. */
    public readonly endpointSpiffeId: pulumi.Output<string>;
    /** Current trust bundle (SPIFFE format); undefined until SPIRE has published it. */
    public readonly trustBundle: pulumi.Output<string | undefined>;
    /** The `federation` stack output. */
    public readonly federation: pulumi.Output<FederationExport>;
    public readonly service: k8s.core.v1.Service;
    /** Makes sure the ConfigMap SPIRE publishes the bundle into exists (metadata only; SPIRE owns its data). */
    public readonly bundleConfigMap: k8s.core.v1.ConfigMapPatch;
    /** The identity of this SPIRE installation: a UUID replaced when a keeper (namespace uid, CA lineage) changes. */
    public readonly installationUuid: random.RandomUuid;
    /** `federation.installationId`. */
    public readonly installationId: pulumi.Output<string>;
    /** The `spireInstallation` stack output, read back by the next deployment. */
    public readonly installation: pulumi.Output<InstallationRecord>;

    constructor(name: string, args: BundleEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:federation:BundleEndpoint", name, {}, opts);
        const profile = args.profile ?? "https_spiffe";

        this.service = new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: {
                    // The name the federation runbook gives it.
                    name: "spire-server-bundle-endpoint",
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/name": "spire-server-bundle-endpoint", "app.kubernetes.io/part-of": "istio-spire" },
                },
                spec: {
                    type: args.serviceType ?? "LoadBalancer",
                    // The spire-server pods of the `spire` release.
                    selector: { "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": SPIRE_RELEASE_NAME },
                    // Only the bundle endpoint: the server API (8081) stays inside the cluster.
                    ports: [{ name: "federation", port: BUNDLE_ENDPOINT_PORT, targetPort: "federation", protocol: "TCP" }],
                },
            },
            { parent: this, dependsOn: [args.spireRelease] },
        );

        // SPIRE's k8s_configmap bundle publisher writes the trust bundle into this ConfigMap at run time; the chart
        // does not render it (bundlePublisher.k8sConfigMap; the chart's Role only lets the server get, patch and
        // create it), so it may not exist yet when Helm reports the release ready (Helm's wait even counts the
        // agent DaemonSet ready with maxUnavailable pods missing, helm/helm pkg/kube/ready.go), and reading a missing object
        // fails the whole run (the engine's "resource '<id>' does not exist"). The program makes sure it exists:
        // a server-side apply of metadata only, as a Patch resource, so that
        //  - it upserts: an apply PATCH creates the object when SPIRE has not, and never fails because SPIRE already
        //    has (plain resources are created client-side since pulumi-kubernetes 4.29.0 and fail with AlreadyExists,
        //    pulumi/pulumi-kubernetes#2926; Patch resources always apply, provider/pkg/await/await.go Creation);
        //  - it never touches `data`: SPIRE applies `data.bundle.spiffe` with its own field manager
        //    (spiffe/spire pkg/server/plugin/bundlepublisher/k8sconfigmap/client.go ApplyConfigMap: a server-side
        //    apply, not Get/Update/Create, since spiffe/spire#6139 in 1.12.4; field manager
        //    "spire-bundlepublisher-k8s_configmap", not forced), so neither manager's apply conflicts with or removes
        //    the other's fields, and Pulumi's diff (provider Diff: live state pruned to the declared inputs) shows no
        //    change on re-runs, refreshed or not (Read prunes the live object to the old inputs too);
        //    `ignoreChanges: ["data"]` keeps it so should `data` ever be declared (provider handleSSAIgnoreFields
        //    drops an ignored field another manager owns from the apply, pulumi/pulumi-kubernetes#2566, #2012);
        //  - a destroy only relinquishes our fields (await.go Deletion: ssa.Relinquish), the namespace goes with it.
        // It runs after the release so that the spire-agent DaemonSet, which mounts this ConfigMap, starts as the
        // chart intends (it waits for the server's first publication); it only creates the object when Helm
        // reported the release ready before SPIRE published, and then SPIRE fills it within seconds.
        this.bundleConfigMap = new k8s.core.v1.ConfigMapPatch(
            `${name}-bundle-configmap`,
            {
                metadata: {
                    name: BUNDLE_CONFIGMAP,
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/part-of": "istio-spire" },
                },
            },
            { parent: this, dependsOn: [args.spireRelease], ignoreChanges: ["data"] },
        );

        // Read after the release is ready and the ConfigMap exists; the id depends on the release's outputs so that
        // a preview of a first deployment (release not installed yet) defers the read.
        const bundleConfigMap = k8s.core.v1.ConfigMap.get(`${name}-bundle`, pulumi.interpolate`${args.spireRelease.status.namespace}/${BUNDLE_CONFIGMAP}`, {
            parent: this,
            dependsOn: [args.spireRelease, this.bundleConfigMap],
        });

        this.url = args.url
            ? pulumi.output(args.url)
            : this.service.status.apply((status) => {
                  const ingress = status?.loadBalancer?.ingress?.[0];
                  const host = ingress?.hostname || ingress?.ip;
                  if (!host) {
                      throw new pulumi.ResourceError(
                          "The bundle endpoint Service has no load balancer address; set bundleEndpointUrl or use a cluster that provisions LoadBalancer Services",
                          this,
                      );
                  }
                  return `https://${host.includes(":") ? `[${host}]` : host}:${BUNDLE_ENDPOINT_PORT}`;
              });
        this.endpointSpiffeId = pulumi.output(spireServerSpiffeId(args.trustDomain));
        this.trustBundle = pulumi.all([bundleConfigMap.metadata, bundleConfigMap.data]).apply(([metadata, data]) => {
            const bundle = data?.[BUNDLE_CONFIGMAP_KEY];
            if (bundle === undefined || bundle === "") {
                pulumi.log.warn(bundleNotPublishedMessage(`${metadata?.namespace}/${BUNDLE_CONFIGMAP}`), this);
                return undefined;
            }
            return bundle;
        });

        // The CA lineage: the one recorded last time, or a new one when the published bundle shares no authority with
        // the bundle exported last time (the server lost its data). A preview keeps the recorded lineage whatever it
        // finds: a preview that changes the spire release cannot read the bundle (the read waits for the release),
        // and an unknown keeper would show a replacement of the id, and of every ClusterFederatedTrustDomain, that the
        // update does not make. So only `pulumi up` renews the lineage; a preview that can read the bundle warns.
        const previous = args.previousDeployment ?? {};
        const decided = pulumi.all([bundleConfigMap.metadata, this.trustBundle]).apply(([metadata, bundle]) => {
            const decision = caLineageAfter(previous, bundle);
            if (decision.lostData) {
                pulumi.log.warn(caLineageChangedMessage(`${metadata?.namespace}/${BUNDLE_CONFIGMAP}`, args.trustDomain), this);
            }
            return decision.caLineage;
        });
        const caLineage = pulumi.runtime.isDryRun() ? pulumi.output(recordedCaLineage(previous)) : decided;
        this.installationUuid = new random.RandomUuid(`${name}-installation-id`, { keepers: { namespaceUid: args.namespaceUid, caLineage } }, { parent: this });
        this.installationId = this.installationUuid.result;
        this.installation = pulumi.output({ id: this.installationId, caLineage });

        // Built field by field (not in one apply) so that a preview shows the known fields and marks only the
        // deploy-time ones (URL, bundle, a new installation's id) as unknown. An undefined bundle is dropped from
        // the stack output.
        this.federation = pulumi.output({
            trustDomain: args.trustDomain,
            bundleEndpointUrl: this.url,
            endpointSpiffeId: this.endpointSpiffeId,
            trustBundle: this.trustBundle,
            bundleEndpointProfile: profile,
            installationId: this.installationId,
        });
        this.registerOutputs({
            url: this.url,
            endpointSpiffeId: this.endpointSpiffeId,
            trustBundle: this.trustBundle,
            federation: this.federation,
            installation: this.installation,
        });
    }
}
