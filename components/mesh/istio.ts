// The Istio mesh: Istio's official base, istiod and gateway charts, installed from one IstioOperator spec, plus the
// mesh-wide mTLS policy.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ISTIO_CHART_REPOSITORY, IstioOperator, baseChartValues, gatewayChartValues, istiodChartValues, spireTemplates } from "./istioOperator";
import { adoptionAnnotations } from "../kubernetes";
import { Values, canonical, deepMerge } from "../values";

export interface IstioMeshArgs {
    /** The installation, as an IstioOperator (see buildIstioOperator). */
    operator: IstioOperator;
    /** Chart repository. @default ISTIO_CHART_REPOSITORY */
    repository?: string;
    /** Exact chart version of base, istiod and gateway. @default the operator's `spec.tag` */
    chartVersion?: string;
    /** Service account of the ingress gateway (its ClusterSPIFFEID selects it). */
    gatewayServiceAccount: string;
    /** Mesh-wide PeerAuthentication mode. @default "STRICT" */
    mtlsMode?: "STRICT" | "PERMISSIVE";
    /**
     * The SPIRE release: istiod waits for it, so the agent socket and CSI driver exist before anything is injected
     * (the runbooks' "deploy SPIRE before Istio").
     */
    spireRelease: pulumi.Resource;
    /** The gateway's ClusterSPIFFEID: the gateway cannot become ready before it exists. */
    gatewayRegistration: pulumi.Resource;
    /** Extra values per chart, merged under the ones derived from the operator. @default {} */
    values?: { base?: Values; istiod?: Values; gateway?: Values };
    /** Helm wait timeout in seconds. @default 600 */
    timeoutSeconds?: number;
    /**
     * Import the existing Istio namespace (an istioctl install's, id: its name) instead of creating it, applied with
     * force (adoptionAnnotations). The Istio releases themselves cannot be imported (istioctl makes no Helm release):
     * docs/adoption.md, step 2, migrates their objects to them. @default false
     */
    adoptNamespace?: boolean;
    /**
     * Control plane revisions (config istioRevisions), each its own istiod release `istiod-<name>` with `revision`
     * set and its version's SPIRE templates, and one base release at the newest version in use. Empty: the single
     * control plane at chartVersion, no revision (today's install). @default []
     */
    revisions?: { name: string; version: string }[];
    /** Revision tags: tag → revision name, rendered by the tagged revision's istiod release (its `revisionTags`). @default {} */
    revisionTags?: Record<string, string>;
    /** The revision or tag injecting the gateway (the gateway chart's `revision`); empty: the default. @default "" */
    gatewayRevision?: string;
}

/** Compares two Istio versions numerically (1.29.6 < 1.30.3). */
export function compareIstioVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        if ((pa[i] ?? 0) !== (pb[i] ?? 0)) {
            return (pa[i] ?? 0) - (pb[i] ?? 0);
        }
    }
    return 0;
}

/**
 * The revision a revision name or tag resolves to ("" is the `default` tag); undefined when neither exists (config
 * refuses that before any resource).
 */
export function resolveRevision(
    value: string,
    revisions: { name: string; version: string }[],
    tags: Record<string, string>,
): { name: string; version: string } | undefined {
    const name = tags[value === "" ? "default" : value] ?? value;
    return revisions.find((r) => r.name === name);
}

/**
 * Istio installed from its Helm charts with values derived from one IstioOperator: the CRDs (base), the control
 * plane with the SPIRE injection templates (istiod), the ingress gateway, and a mesh-wide PeerAuthentication.
 */
export class IstioMesh extends pulumi.ComponentResource {
    /** The IstioOperator this installation is derived from (also usable with `istioctl install -f`). */
    public readonly operator: pulumi.Output<IstioOperator>;
    public readonly namespace: pulumi.Output<string>;
    public readonly gatewayServiceAccount: pulumi.Output<string>;
    public readonly mtlsMode: pulumi.Output<string>;
    /** The ingress gateway's load balancer IP or host name; undefined until it has one (or without a load balancer). */
    public readonly gatewayAddress: pulumi.Output<string | undefined>;
    public readonly base: k8s.helm.v3.Release;
    /** The istiod release serving the default (the revision the `default` tag names, else the newest revision). */
    public readonly istiod: k8s.helm.v3.Release;
    /** Every istiod release by revision name ("" for the single control plane without revisions). */
    public readonly istiods: Record<string, k8s.helm.v3.Release> = {};
    public readonly gateway: k8s.helm.v3.Release;

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:istio:IstioMesh", name, {}, opts);
        const iop = args.operator;
        const repository = args.repository ?? ISTIO_CHART_REPOSITORY;
        const version = args.chartVersion ?? iop.spec.tag;
        const timeout = args.timeoutSeconds ?? 600;
        const mtlsMode = args.mtlsMode ?? "STRICT";
        const [ingress] = iop.spec.components.ingressGateways;

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            // Adopted: its updates take over kubectl's fields (adoptionAnnotations).
            { metadata: { name: iop.spec.namespace, ...adoptionAnnotations(args.adoptNamespace === true) } },
            { parent: this, ...(args.adoptNamespace ? { import: iop.spec.namespace } : {}) },
        );
        const release = (suffix: string, chart: string, releaseName: string, values: Values, dependsOn: pulumi.Resource[], chartVersion = version) =>
            new k8s.helm.v3.Release(
                `${name}-${suffix}`,
                {
                    name: releaseName,
                    chart,
                    version: chartVersion,
                    repositoryOpts: { repo: repository },
                    namespace: namespace.metadata.name,
                    values: canonical(values),
                    timeout,
                },
                { parent: this, dependsOn },
            );

        const revisions = [...(args.revisions ?? [])];
        const tags = args.revisionTags ?? {};
        if (revisions.length === 0) {
            // Today's install, unchanged: one control plane without a revision, all three charts at `version`.
            this.base = release("base", "base", "istio-base", deepMerge(args.values?.base ?? {}, baseChartValues(iop)), []);
            this.istiod = release("istiod", "istiod", "istiod", deepMerge(args.values?.istiod ?? {}, istiodChartValues(iop)), [this.base, args.spireRelease]);
            this.istiods[""] = this.istiod;
            this.gateway = release(
                "gateway",
                "gateway",
                ingress.name,
                deepMerge(args.values?.gateway ?? {}, gatewayChartValues(iop, args.gatewayServiceAccount)),
                [this.istiod, args.gatewayRegistration],
            );
        } else {
            // Canary revisions (https://istio.io/latest/docs/setup/upgrade/helm/#canary-upgrade-recommended): the CRDs
            // once, at the newest version in use; base's defaultRevision points the default validating webhook at the
            // revision the `default` tag serves.
            const newest = revisions.reduce((a, b) => (compareIstioVersions(b.version, a.version) > 0 ? b : a));
            const defaultRevision = resolveRevision("", revisions, tags) ?? newest;
            this.base = release(
                "base",
                "base",
                "istio-base",
                deepMerge(args.values?.base ?? {}, { ...baseChartValues(iop), defaultRevision: defaultRevision.name }),
                [],
                newest.version,
            );
            for (const revision of revisions) {
                // The tags pointing at this revision are rendered by its release (istiod chart revision-tags-mwc.yaml).
                const revisionTags = Object.keys(tags)
                    .filter((tag) => tags[tag] === revision.name)
                    .sort();
                const values = istiodChartValues(iop);
                const ownValues = {
                    ...values,
                    revision: revision.name,
                    ...(revisionTags.length > 0 ? { revisionTags } : {}),
                    sidecarInjectorWebhook: { ...(values.sidecarInjectorWebhook as Values), templates: spireTemplates(revision.version) },
                };
                this.istiods[revision.name] = release(
                    `istiod-${revision.name}`,
                    "istiod",
                    `istiod-${revision.name}`,
                    deepMerge(args.values?.istiod ?? {}, ownValues),
                    [this.base, args.spireRelease],
                    revision.version,
                );
            }
            this.istiod = this.istiods[defaultRevision.name];
            // The gateway runs the version of the revision that injects it, and carries that revision's label.
            const gatewayRevision = resolveRevision(args.gatewayRevision ?? "", revisions, tags) ?? defaultRevision;
            const gatewayValues = gatewayChartValues(iop, args.gatewayServiceAccount);
            this.gateway = release(
                "gateway",
                "gateway",
                ingress.name,
                deepMerge(args.values?.gateway ?? {}, args.gatewayRevision ? { ...gatewayValues, revision: args.gatewayRevision } : gatewayValues),
                [...Object.values(this.istiods), args.gatewayRegistration],
                gatewayRevision.version,
            );
        }

        // Mesh-wide policy in the root namespace: sidecars accept only mTLS with SPIRE-issued certificates.
        new k8s.apiextensions.CustomResource(
            `${name}-mtls`,
            {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "default", namespace: namespace.metadata.name },
                spec: { mtls: { mode: mtlsMode } },
            },
            { parent: this, dependsOn: [this.istiod] },
        );

        // The gateway chart names its Service after the release. Read back after the release is ready (the id depends
        // on its status, so a preview of a first deployment defers the read) for the address peers call.
        const gatewayService = k8s.core.v1.Service.get(
            `${name}-gateway-service`,
            pulumi.interpolate`${this.gateway.status.namespace}/${this.gateway.status.name}`,
            { parent: this, dependsOn: [this.gateway] },
        );
        this.gatewayAddress = gatewayService.status.apply((status) => {
            const ingress = status?.loadBalancer?.ingress?.[0];
            return ingress?.hostname || ingress?.ip || undefined;
        });

        this.operator = pulumi.output(iop);
        this.namespace = namespace.metadata.name;
        this.gatewayServiceAccount = pulumi.output(args.gatewayServiceAccount);
        this.mtlsMode = pulumi.output(mtlsMode);
        this.registerOutputs({
            operator: this.operator,
            namespace: this.namespace,
            gatewayServiceAccount: this.gatewayServiceAccount,
            mtlsMode: this.mtlsMode,
            gatewayAddress: this.gatewayAddress,
        });
    }
}
