// The istio-spire policy pack: what the mesh relies on, checked on every resource a stack declares, whether it comes
// from this program or from anyone composing its components.
//
// Resource policies see a resource's inputs before it is created or changed. Stack policies see every resource's
// outputs at the end of a preview or update (the root `pulumi:pulumi:Stack` resource's outputs are the stack
// outputs); they are used where a check needs more than one resource (the spire release's trust domain, the declared
// federated trust domains, the mesh-wide PeerAuthentication).
//
// Each check is a plain exported function returning its violations, so tests call it directly.
//
// The checks live in one module per concern, all built on common.ts: registration.ts (1-4), exposure.ts (5a, 5b),
// mtls.ts (6), outputs.ts (7), identityPlane.ts (8, 9), ambient.ts (10). This file re-exports them and lists the pack's policies. All
// are mandatory but 9, an advisory: the engine reports it without failing the preview or update.

import { Policies } from "@pulumi/policy";
import { clusterSpiffeIdFederatesWithDeclared, clusterSpiffeIdInTrustDomain, clusterSpiffeIdNotAdmin, clusterSpiffeIdSelects } from "./registration";
import { spireChartServerServiceInternal, spireServerApiNotExposed } from "./exposure";
import { meshMtlsStrict } from "./mtls";
import { noPrivateKeysInStackOutputs } from "./outputs";
import { federationHasUpstreamAuthority, spireServerReplicasNeedSql } from "./identityPlane";
import { noAmbientDataplane } from "./ambient";

export * from "./common";
export * from "./registration";
export * from "./exposure";
export * from "./mtls";
export * from "./outputs";
export * from "./identityPlane";
export * from "./ambient";

/** Every policy of the pack, in the order above. */
export const policies: Policies = [
    clusterSpiffeIdNotAdmin,
    clusterSpiffeIdSelects,
    clusterSpiffeIdInTrustDomain,
    clusterSpiffeIdFederatesWithDeclared,
    spireServerApiNotExposed,
    spireChartServerServiceInternal,
    meshMtlsStrict,
    noPrivateKeysInStackOutputs,
    spireServerReplicasNeedSql,
    federationHasUpstreamAuthority,
    noAmbientDataplane,
];
