// istio-spire: one stack per Kubernetes cluster. SPIRE issues every workload identity, Istio consumes them through
// Envoy SDS, workloads are registered declaratively, and SPIRE federates with the peer stacks named in config.
//
//   config ──► Spire ──► WorkloadRegistration ──► IstioMesh
//                 (charts)     (ClusterSPIFFEIDs)      (base, istiod, gateway from one IstioOperator)

import * as pulumi from "@pulumi/pulumi";
import {
    IstioMesh,
    Spire,
    ValidationError,
    WorkloadRegistration,
    buildIstioOperator,
    loadStackConfig,
} from "./components";

export = async () => {
    // 1. Configuration, validated before anything is declared.
    const config = loadOrFail(loadStackConfig);
    const gatewayIstioLabel = config.ingressGatewayName.replace(/^istio-/, "");

    // 2. SPIRE: server, agents, CSI driver, controller manager.
    const spire = new Spire("spire", {
        trustDomain: config.trustDomain,
        clusterName: config.clusterName,
        namespace: config.spireNamespace,
        repository: config.spireChartRepository,
        chartVersion: config.spireChartVersion,
        crdsChartVersion: config.spireCrdsChartVersion,
        caTTL: config.caTTL,
        caSubject: {
            country: config.caSubjectCountry,
            organization: config.caSubjectOrganization,
            commonName: config.caSubjectCommonName,
        },
        federationRefreshHint: config.federationRefreshHint,
    });

    // 3. Registration: the ClusterSPIFFEIDs for the gateway and enrolled workloads.
    const registration = new WorkloadRegistration("registration", {
        trustDomain: config.trustDomain,
        controllerClassName: spire.controllerClassName,
        gateway: {
            namespace: config.istioNamespace,
            istioLabel: gatewayIstioLabel,
            serviceAccount: config.ingressGatewayServiceAccount,
        },
        excludedNamespaces: [config.spireNamespace, config.istioNamespace],
        enrolledNamespaces: config.enrolledNamespaces,
        spireRelease: spire.release,
    });

    // 4. Istio, from one IstioOperator whose trust domain is SPIRE's.
    const operator = buildIstioOperator({
        trustDomain: config.trustDomain,
        namespace: config.istioNamespace,
        version: config.istioChartVersion,
        nativeSidecars: config.nativeSidecars,
        gateway: {
            name: config.ingressGatewayName,
            istioLabel: gatewayIstioLabel,
            serviceType: config.ingressGatewayServiceType,
        },
    });
    const mesh = new IstioMesh("istio", {
        operator,
        repository: config.istioChartRepository,
        chartVersion: config.istioChartVersion,
        gatewayServiceAccount: config.ingressGatewayServiceAccount,
        mtlsMode: config.mtlsMode,
        spireRelease: spire.release,
        gatewayRegistration: registration.gatewayRegistration,
    });

    return {
        trustDomain: spire.trustDomain,
        clusterName: config.clusterName,
        spireNamespace: spire.namespace,
        istioNamespace: mesh.namespace,
        controllerClassName: spire.controllerClassName,
        workloadSocketPath: spire.workloadSocketPath,
        ingressGatewaySpiffeId: registration.gatewaySpiffeId,
        workloadSpiffeIdPattern: registration.workloadSpiffeIdPattern,
        enrolledNamespaces: registration.enrolledNamespaces,
        mtlsMode: mesh.mtlsMode,
        istioOperator: mesh.operator,
    };
};

/** Runs a validation step; a ValidationError stops the program with its message alone (no stack trace). */
function loadOrFail<T>(load: () => T): T {
    try {
        return load();
    } catch (error) {
        if (error instanceof ValidationError) {
            throw new pulumi.RunError(error.message);
        }
        throw error;
    }
}
