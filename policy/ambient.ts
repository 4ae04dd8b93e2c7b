// Policy 10: no ambient data plane. Istio's ambient mode (ztunnel, waypoints) does not support SPIRE
// (istio/istio#42339, open): ztunnel gets its workloads' certificates from istiod, not from a SPIRE agent over SDS, so
// a namespace or pod labelled istio.io/dataplane-mode=ambient leaves the identities SPIRE issues.

import { ResourceValidationPolicy } from "@pulumi/policy";
import { CheckedResource, describeResource, isObject } from "./common";

/** The label that puts a namespace or a pod in Istio's ambient data plane. */
export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";

/**
 * Where a Kubernetes object carries labels that decide a data plane: its own (a Namespace, a NamespacePatch, a Pod),
 * its pod template's (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) and a CronJob's job template's.
 */
const LABEL_PATHS: readonly string[][] = [
    ["metadata", "labels"],
    ["spec", "template", "metadata", "labels"],
    ["spec", "jobTemplate", "spec", "template", "metadata", "labels"],
];

/** Violations of a Kubernetes resource that sets istio.io/dataplane-mode=ambient. */
export function checkNoAmbientDataplane(r: CheckedResource): string[] {
    if (!r.type.startsWith("kubernetes:")) {
        return [];
    }
    const found: string[] = [];
    for (const path of LABEL_PATHS) {
        let at: unknown = r.props;
        for (const key of path) {
            at = isObject(at) ? at[key] : undefined;
        }
        if (isObject(at) && at[DATAPLANE_MODE_LABEL] === "ambient") {
            found.push(
                `${describeResource(r)}: ${path.join(".")}["${DATAPLANE_MODE_LABEL}"] is "ambient"; Istio's ambient data plane does not ` +
                    "support SPIRE (istio/istio#42339): its ztunnel gets certificates from istiod, not from the SPIRE agent, so these " +
                    "workloads would leave SPIRE's identities; remove the label and use sidecars",
            );
        }
    }
    return found;
}

export const noAmbientDataplane: ResourceValidationPolicy = {
    name: "no-ambient-dataplane",
    description: "No resource sets istio.io/dataplane-mode=ambient: Istio's ambient data plane does not support SPIRE (istio/istio#42339).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        for (const message of checkNoAmbientDataplane(args)) {
            reportViolation(message);
        }
    },
};
