// An example platform program of your own that composes istio-spire's components: one cluster, through this
// program's own Kubernetes provider. SPIRE issues every identity, ClusterSPIFFEIDs register the ingress gateway and
// the enrolled workloads, Istio takes its identities from SPIRE, and an application namespace this program creates
// runs the curl-greeter sample. It depends on the packed package (package.json: `istio-spire` from the tarball
// `npm pack` writes at the project root), as any program of yours would depend on a published version.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENROLLED_NAMESPACE_LABELS, ISTIO_VERSION, IstioMesh, Spire, WorkloadRegistration, buildIstioOperator } from "istio-spire";
import { CurlGreeter } from "istio-spire/samples";

const config = new pulumi.Config();
const trustDomain = config.get("trustDomain") ?? "platform.example";
const clusterName = config.get("clusterName") ?? "platform";
const istioNamespace = "istio-system";
const gateway = { name: "istio-ingressgateway", istioLabel: "ingressgateway", serviceAccount: "istio-ingressgateway-service-account" };

// The cluster, as this program reaches it. No component builds a provider or reads stack configuration: each takes
// this one through `providers`, and hands it to every resource, Helm release and read it declares.
const provider = new k8s.Provider("platform-cluster", { context: config.require("kubeContext") });
const onCluster: pulumi.ComponentResourceOptions = { providers: [provider] };

const spire = new Spire("spire", { trustDomain, clusterName }, onCluster);

const registration = new WorkloadRegistration(
    "registration",
    {
        trustDomain,
        controllerClassName: spire.controllerClassName,
        gateway: { namespace: istioNamespace, istioLabel: gateway.istioLabel, serviceAccount: gateway.serviceAccount },
        excludedNamespaces: [istioNamespace, "spire-server"],
        spireRelease: spire.release,
    },
    onCluster,
);

const mesh = new IstioMesh(
    "istio",
    {
        operator: buildIstioOperator({
            trustDomain,
            namespace: istioNamespace,
            version: ISTIO_VERSION,
            nativeSidecars: true,
            gateway: { name: gateway.name, istioLabel: gateway.istioLabel, serviceType: "LoadBalancer" },
        }),
        gatewayServiceAccount: gateway.serviceAccount,
        spireRelease: spire.release,
        gatewayRegistration: registration.gatewayRegistration,
    },
    onCluster,
);

// An application namespace of this program's own, enrolled by its labels (sidecar injection, SPIRE identities).
const apps = new k8s.core.v1.Namespace("apps", { metadata: { name: "apps", labels: ENROLLED_NAMESPACE_LABELS } }, { provider });

// The sample takes the namespace and the trust domain as Outputs of the resources above.
const curlGreeter = new CurlGreeter(
    "curl-greeter",
    {
        namespace: apps.metadata.name,
        trustDomain: spire.trustDomain,
        prerequisites: [mesh.istiod, registration.workloadRegistration, apps],
    },
    onCluster,
);

export const spireNamespace = spire.namespace;
export const ingressGatewaySpiffeId = registration.gatewaySpiffeId;
export const ingressGatewayAddress = mesh.gatewayAddress;
export const curlGreeterSpiffeId = curlGreeter.spiffeId;
