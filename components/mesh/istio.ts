// The Istio mesh: Istio's official base, istiod and gateway charts, installed from one IstioOperator spec, plus the
// mesh-wide mTLS policy.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ISTIO_CHART_REPOSITORY, IstioOperator, baseChartValues, gatewayChartValues, istiodChartValues } from "./istioOperator";
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
     * README, "Adopting a cluster built from the runbooks", migrates their objects to them. @default false
     */
    adoptNamespace?: boolean;
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
    public readonly istiod: k8s.helm.v3.Release;
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
        const release = (suffix: string, chart: string, releaseName: string, values: Values, dependsOn: pulumi.Resource[]) =>
            new k8s.helm.v3.Release(
                `${name}-${suffix}`,
                {
                    name: releaseName,
                    chart,
                    version,
                    repositoryOpts: { repo: repository },
                    namespace: namespace.metadata.name,
                    values: canonical(values),
                    timeout,
                },
                { parent: this, dependsOn },
            );

        this.base = release("base", "base", "istio-base", deepMerge(args.values?.base ?? {}, baseChartValues(iop)), []);
        this.istiod = release("istiod", "istiod", "istiod", deepMerge(args.values?.istiod ?? {}, istiodChartValues(iop)), [this.base, args.spireRelease]);
        this.gateway = release("gateway", "gateway", ingress.name, deepMerge(args.values?.gateway ?? {}, gatewayChartValues(iop, args.gatewayServiceAccount)), [
            this.istiod,
            args.gatewayRegistration,
        ]);

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
