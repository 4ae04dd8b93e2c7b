import { expect } from "chai";
import { Declared, ProgramRun, UNKNOWN, named, ofType, runProgram } from "../tools/mock-engine/harness";

const program: () => Promise<any> = require("../index");

const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";

function release(run: ProgramRun<any>, chart: string): Declared {
    const found = ofType(run.declared, RELEASE).filter((r) => r.inputs.chart === chart);
    expect(found, `releases of chart ${chart}`).to.have.length(1);
    return found[0];
}

describe("the cluster1 program (no peers)", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runProgram(program, CLUSTER1);
    });

    describe("resource graph", () => {
        it("declares exactly the two SPIRE releases and the three Istio releases, pinned, from the official repositories", () => {
            const releases = ofType(run.declared, RELEASE)
                .map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.repositoryOpts.repo, r.inputs.namespace])
                .sort();
            expect(releases).to.deep.equal([
                ["istio-base", "base", "1.30.3", "https://istio-release.storage.googleapis.com/charts", "istio-system"],
                ["istio-ingressgateway", "gateway", "1.30.3", "https://istio-release.storage.googleapis.com/charts", "istio-system"],
                ["istiod", "istiod", "1.30.3", "https://istio-release.storage.googleapis.com/charts", "istio-system"],
                ["spire", "spire", "0.30.0", "https://spiffe.github.io/helm-charts-hardened/", "spire-server"],
                ["spire-crds", "spire-crds", "0.6.0", "https://spiffe.github.io/helm-charts-hardened/", "spire-server"],
            ]);
        });

        it("declares the components, namespaces, registrations, enrollment, mTLS policy and bundle endpoint, and nothing else", () => {
            const summary = run.declared.map((d) => `${d.type} ${d.name}`).sort();
            expect(summary).to.deep.equal(
                [
                    "istio-spire:federation:BundleEndpoint federation",
                    "kubernetes:core/v1:Service federation-service",
                    "kubernetes:core/v1:ConfigMap federation-bundle",
                    "kubernetes:core/v1:ConfigMapPatch federation-bundle-configmap",
                    "istio-spire:istio:IstioMesh istio",
                    "kubernetes:core/v1:Service istio-gateway-service",
                    "istio-spire:registration:WorkloadRegistration registration",
                    "istio-spire:spire:Spire spire",
                    "kubernetes:core/v1:Namespace istio-namespace",
                    "kubernetes:core/v1:Namespace spire-namespace",
                    "kubernetes:core/v1:NamespacePatch registration-enroll-default",
                    `${RELEASE} istio-base`,
                    `${RELEASE} istio-gateway`,
                    `${RELEASE} istio-istiod`,
                    `${RELEASE} spire-crds`,
                    `${RELEASE} spire-release`,
                    `${CLUSTER_SPIFFE_ID} registration-gateway`,
                    `${CLUSTER_SPIFFE_ID} registration-workloads`,
                    "kubernetes:security.istio.io/v1:PeerAuthentication istio-mtls",
                    "pulumi:providers:kubernetes cluster",
                    // The stack's own outputs of its last deployment, and the id of its SPIRE installation.
                    "pulumi:pulumi:StackReference previous-deployment",
                    "random:index/randomUuid:RandomUuid federation-installation-id",
                ].sort(),
            );
        });

        it("parents every Kubernetes resource under the component of its concern", () => {
            const parents = Object.fromEntries(run.declared.filter((d) => d.type.startsWith("kubernetes:")).map((d) => [d.name, d.parent]));
            expect(parents).to.deep.equal({
                "spire-namespace": "spire",
                "spire-crds": "spire",
                "spire-release": "spire",
                "registration-gateway": "registration",
                "registration-workloads": "registration",
                "registration-enroll-default": "registration",
                "istio-namespace": "istio",
                "istio-base": "istio",
                "istio-istiod": "istio",
                "istio-gateway": "istio",
                "istio-mtls": "istio",
                "istio-gateway-service": "istio",
                "federation-service": "federation",
                "federation-bundle": "federation",
                "federation-bundle-configmap": "federation",
            });
        });

        it("gives every Helm release a fixed name and waits for its resources (no skipAwait)", () => {
            for (const r of ofType(run.declared, RELEASE)) {
                expect(r.inputs.name, r.name).to.be.a("string").and.not.equal("");
                expect(r.inputs.skipAwait, r.name).to.equal(undefined);
                expect(r.inputs.timeout, r.name).to.equal(600);
            }
        });
    });

    describe("ordering", () => {
        it("installs the spire chart after the SPIRE CRDs", () => {
            expect(named(run.declared, "spire-release").dependsOn).to.include("spire-crds");
        });

        it("creates ClusterSPIFFEIDs only after the SPIRE release (its controller manager webhook) is ready", () => {
            expect(named(run.declared, "registration-gateway").dependsOn).to.include("spire-release");
            expect(named(run.declared, "registration-workloads").dependsOn).to.include("spire-release");
        });

        it("never makes registrations wait on Istio, whose proxies stay unready until they exist", () => {
            for (const name of ["registration-gateway", "registration-workloads"]) {
                expect(named(run.declared, name).dependsOn.filter((d) => d.startsWith("istio"))).to.deep.equal([]);
            }
        });

        it("installs istiod after SPIRE (deploy SPIRE before Istio) and after the Istio base chart", () => {
            expect(named(run.declared, "istio-istiod").dependsOn).to.include.members(["spire-release", "istio-base"]);
        });

        it("installs the ingress gateway after istiod and after the gateway's ClusterSPIFFEID", () => {
            expect(named(run.declared, "istio-gateway").dependsOn).to.include.members(["istio-istiod", "registration-gateway"]);
        });

        it("creates the PeerAuthentication after istiod (its CRD and validating webhook)", () => {
            expect(named(run.declared, "istio-mtls").dependsOn).to.include("istio-istiod");
        });
    });

    describe("values handed to the spire chart", () => {
        let values: any;
        before(() => {
            values = release(run, "spire").inputs.values;
        });

        it("sets the trust domain, cluster name and CA subject globally", () => {
            expect(values.global).to.deep.equal({
                spire: {
                    trustDomain: "cluster1.demo",
                    clusterName: "cluster1",
                    caSubject: { country: "US", organization: "SPIRE", commonName: "cluster1.demo" },
                },
            });
        });

        it("sets the CA TTL and turns on federation with the refresh hint", () => {
            expect(values["spire-server"].caTTL).to.equal("720h");
            expect(values["spire-server"].federation).to.deep.equal({ enabled: true, bundleEndpoint: { refreshHint: "5m" } });
        });

        it("runs the controller manager with an explicit class and without the chart's catch-all ClusterSPIFFEID", () => {
            expect(values["spire-server"].controllerManager).to.deep.equal({
                enabled: true,
                className: "spire-server-spire",
                watchClassless: false,
                identities: {
                    clusterSPIFFEIDs: { default: { enabled: false }, "oidc-discovery-provider": { enabled: false } },
                },
            });
        });

        it("turns agent SDS on with Istio's resource names, all bundles under ROOTCA", () => {
            expect(values["spire-agent"].sds).to.deep.equal({
                enabled: true,
                defaultSVIDName: "default",
                defaultBundleName: "null",
                defaultAllBundlesName: "ROOTCA",
            });
        });

        it("exposes the agent socket under the name Istio looks for", () => {
            expect(values["spire-agent"].socketAlternate).to.deep.equal({ names: ["socket", "spire-agent.sock", "api.sock"] });
        });

        it("keeps the SPIFFE CSI driver on and the OIDC discovery provider off", () => {
            expect(values["spiffe-csi-driver"]).to.deep.equal({ enabled: true });
            expect(values["spiffe-oidc-discovery-provider"]).to.deep.equal({ enabled: false });
        });

        it("never uses the chart's example trust domain or cluster name", () => {
            const text = JSON.stringify(values);
            expect(text).not.to.contain("example.org");
            expect(text).not.to.contain("example-cluster");
        });
    });

    describe("the IstioOperator and the Istio chart values derived from it", () => {
        let iop: any;
        let istiod: any;
        before(() => {
            iop = run.outputs.istioOperator;
            istiod = release(run, "istiod").inputs.values;
        });

        it("exports an IstioOperator with the default profile and SPIRE's trust domain", () => {
            expect(iop.apiVersion).to.equal("install.istio.io/v1alpha1");
            expect(iop.kind).to.equal("IstioOperator");
            expect(iop.metadata).to.deep.equal({ name: "istio-spire", namespace: "istio-system" });
            expect(iop.spec.profile).to.equal("default");
            expect(iop.spec.tag).to.equal("1.30.3");
            expect(iop.spec.meshConfig).to.deep.equal({ trustDomain: "cluster1.demo" });
        });

        it("uses one trust domain everywhere: SPIRE, meshConfig, istiod values and the exported IDs", () => {
            const spire = release(run, "spire").inputs.values;
            expect(
                new Set([spire.global.spire.trustDomain, iop.spec.meshConfig.trustDomain, istiod.meshConfig.trustDomain, run.outputs.trustDomain]),
            ).to.deep.equal(new Set(["cluster1.demo"]));
            expect(run.outputs.ingressGatewaySpiffeId).to.equal("spiffe://cluster1.demo/ns/istio-system/sa/istio-ingressgateway-service-account");
        });

        it("hands istiod the operator's values with the pilot block lifted and its meshConfig", () => {
            expect(istiod).to.deep.equal({
                env: { ENABLE_NATIVE_SIDECARS: "true" },
                global: { istioNamespace: "istio-system" },
                meshConfig: { trustDomain: "cluster1.demo" },
                sidecarInjectorWebhook: iop.spec.values.sidecarInjectorWebhook,
            });
        });

        it("applies the spire template to every injected pod by default", () => {
            expect(istiod.sidecarInjectorWebhook.defaultTemplates).to.deep.equal(["sidecar", "spire"]);
        });

        it("writes the spire template as a Go template that picks the proxy's list per pod, as Istio's sidecar template does", () => {
            // Evaluated for real, per pod, in test/injection.test.ts; here the exact text the chart receives.
            expect(istiod.sidecarInjectorWebhook.templates.spire).to.equal(
                [
                    '{{- $nativeSidecar := ne (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false" }}',
                    "{{- $templates := list }}",
                    '{{- range splitList "," (index .ObjectMeta.Annotations `inject.istio.io/templates` | default "") }}{{ $templates = append $templates (trim .) }}{{ end }}',
                    '{{- $gateway := has "gateway" $templates }}',
                    "{{- if not $gateway }}",
                    "metadata:",
                    "  labels:",
                    '    spiffe.io/spire-managed-identity: "true"',
                    "{{- end }}",
                    "spec:",
                    "  {{ if and $nativeSidecar (not $gateway) }}initContainers{{ else }}containers{{ end }}:",
                    "  - name: istio-proxy",
                    "    volumeMounts:",
                    "    - mountPath: /run/secrets/workload-spiffe-uds",
                    "      name: workload-socket",
                    "      readOnly: true",
                    "  volumes:",
                    "  - csi:",
                    "      driver: csi.spiffe.io",
                    "      readOnly: true",
                    "    name: workload-socket",
                    "",
                ].join("\n"),
            );
        });

        it("keeps spire-gateway, the former gateway template's name, as the same template for pods that still name it", () => {
            expect(Object.keys(istiod.sidecarInjectorWebhook.templates).sort()).to.deep.equal(["spire", "spire-gateway"]);
            expect(istiod.sidecarInjectorWebhook.templates["spire-gateway"]).to.equal(istiod.sidecarInjectorWebhook.templates.spire);
        });

        it("installs the gateway with the gateway and spire templates, its service account and a LoadBalancer Service", () => {
            expect(release(run, "gateway").inputs.values).to.deep.equal({
                name: "istio-ingressgateway",
                labels: { app: "istio-ingressgateway", istio: "ingressgateway" },
                podAnnotations: { "inject.istio.io/templates": "gateway,spire" },
                service: { type: "LoadBalancer" },
                serviceAccount: { create: true, name: "istio-ingressgateway-service-account" },
            });
        });

        it('maps the operator\'s default profile to no chart profile (the charts refuse "unknown profile default")', () => {
            for (const chart of ["base", "istiod", "gateway"]) {
                expect(release(run, chart).inputs.values, chart).to.not.have.property("profile");
            }
        });

        it("hands the base chart Istio's namespace", () => {
            expect(release(run, "base").inputs.values).to.deep.equal({ global: { istioNamespace: "istio-system" } });
        });

        it("enforces STRICT mTLS mesh-wide from the root namespace", () => {
            const pa = named(run.declared, "istio-mtls").inputs;
            expect(pa.apiVersion).to.equal("security.istio.io/v1");
            expect(pa.metadata).to.deep.equal({ name: "default", namespace: "istio-system" });
            expect(pa.spec).to.deep.equal({ mtls: { mode: "STRICT" } });
        });
    });

    describe("workload registration", () => {
        it("registers the ingress gateway by namespace and service account, scoped to its pods", () => {
            const gateway = named(run.declared, "registration-gateway").inputs;
            expect(gateway.metadata).to.deep.equal({ name: "istio-ingressgateway-reg" });
            expect(gateway.spec).to.deep.equal({
                className: "spire-server-spire",
                spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}",
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
                podSelector: { matchLabels: { istio: "ingressgateway" } },
                workloadSelectorTemplates: ["k8s:ns:istio-system", "k8s:sa:istio-ingressgateway-service-account"],
            });
        });

        it("registers labelled workloads with Istio's SPIFFE ID pattern, bound to their namespace and service account", () => {
            const workloads = named(run.declared, "registration-workloads").inputs;
            expect(workloads.metadata).to.deep.equal({ name: "istio-workloads" });
            expect(workloads.spec).to.deep.equal({
                className: "spire-server-spire",
                spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}",
                podSelector: { matchLabels: { "spiffe.io/spire-managed-identity": "true" } },
                namespaceSelector: {
                    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["istio-system", "spire-server"] }],
                },
                workloadSelectorTemplates: ["k8s:ns:{{ .PodMeta.Namespace }}", "k8s:sa:{{ .PodSpec.ServiceAccountName }}"],
            });
        });

        it("carries the class name the controller manager is configured with", () => {
            const className = release(run, "spire").inputs.values["spire-server"].controllerManager.className;
            for (const r of ofType(run.declared, CLUSTER_SPIFFE_ID)) {
                expect(r.inputs.spec.className, r.name).to.equal(className);
            }
        });

        it("enrolls the default namespace with injection and the SPIRE label, as a patch of the existing namespace", () => {
            const patch = named(run.declared, "registration-enroll-default").inputs;
            expect(patch.metadata).to.deep.equal({
                name: "default",
                labels: { "istio-injection": "enabled", "spiffe.io/spire-managed-identity": "true" },
            });
        });

        it("labels the SPIRE namespace for the privileged agent and CSI driver", () => {
            expect(named(run.declared, "spire-namespace").inputs.metadata).to.deep.equal({
                name: "spire-server",
                labels: { "pod-security.kubernetes.io/enforce": "privileged" },
            });
        });
    });

    describe("outputs", () => {
        it("exports the plain facts of the installation", () => {
            const { istioOperator, ...plain } = run.outputs;
            expect(istioOperator).to.be.an("object");
            expect(plain).to.deep.include({
                trustDomain: "cluster1.demo",
                clusterName: "cluster1",
                spireNamespace: "spire-server",
                istioNamespace: "istio-system",
                controllerClassName: "spire-server-spire",
                workloadSocketPath: "/run/secrets/workload-spiffe-uds/socket",
                ingressGatewaySpiffeId: "spiffe://cluster1.demo/ns/istio-system/sa/istio-ingressgateway-service-account",
                workloadSpiffeIdPattern: "spiffe://cluster1.demo/ns/<namespace>/sa/<service-account>",
                enrolledNamespaces: ["default"],
                mtlsMode: "STRICT",
                ingressGatewayAddress: "203.0.113.20",
            });
        });

        it("reads the ingress gateway's Service back after its release, for the address peers call", async () => {
            const read = named(run.declared, "istio-gateway-service");
            expect([read.type, read.read, read.id, read.dependsOn]).to.deep.equal([
                "kubernetes:core/v1:Service",
                true,
                "istio-system/istio-ingressgateway",
                ["istio-gateway"],
            ]);
            const byName = await runProgram(program, CLUSTER1, { gatewayIngress: [{ hostname: "gw.example.com", ip: "198.51.100.7" }] });
            expect(byName.outputs.ingressGatewayAddress).to.equal("gw.example.com");
            const none = await runProgram(program, CLUSTER1, { gatewayIngress: [] });
            expect(none.outputs).to.not.have.property("ingressGatewayAddress");
            const preview = await runProgram(program, CLUSTER1, { preview: true });
            expect(named(preview.declared, "istio-gateway-service").id).to.equal(UNKNOWN);
        });
    });

    describe("determinism", () => {
        it("declares the same resources with the same inputs when run again with the same config", async () => {
            const again = await runProgram(program, CLUSTER1);
            const shape = (r: ProgramRun<any>) => r.declared.map((d) => JSON.stringify([d.type, d.name, d.inputs, d.dependsOn.sort()])).sort();
            expect(shape(again)).to.deep.equal(shape(run));
            expect(JSON.stringify(again.outputs)).to.equal(JSON.stringify(run.outputs));
        });
    });
});

describe("observability", () => {
    it("installs nothing of it unless observability is set", async () => {
        const run = await runProgram(program, CLUSTER1);
        expect(run.declared.filter((d) => d.name.startsWith("observability"))).to.deep.equal([]);
        expect(run.outputs).to.not.have.property("observability");
    });

    it("installs Prometheus and Kiali after istiod in the Istio namespace, and exports how to reach them", async () => {
        const run = await runProgram(program, { ...CLUSTER1, observability: "true" });
        const releases = ofType(run.declared, RELEASE).filter((r) => r.parent === "observability");
        expect(releases.map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.namespace, [...r.dependsOn].sort()])).to.deep.equal([
            ["prometheus", "prometheus", "28.13.0", "istio-system", ["istio-istiod", "observability-prometheus-access"]],
            ["kiali", "kiali-server", "2.26.0", "istio-system", ["istio-istiod", "observability-kiali-access", "observability-prometheus"]],
        ]);
        expect(run.outputs.observability).to.deep.equal({
            kialiPortForward: "kubectl -n istio-system port-forward svc/kiali 20001:20001",
            kialiGraphUrl: "http://localhost:20001/kiali/console/graph/namespaces?namespaces=default&badgeSecurity=true",
            prometheusPortForward: "kubectl -n istio-system port-forward svc/prometheus 9090:9090",
        });
    });

    it("adds Grafana when observabilityGrafana is set", async () => {
        const run = await runProgram(program, { ...CLUSTER1, observability: "true", observabilityGrafana: "true" });
        const charts = ofType(run.declared, RELEASE)
            .filter((r) => r.parent === "observability")
            .map((r) => r.inputs.chart);
        expect(charts).to.deep.equal(["prometheus", "kiali-server", "grafana"]);
        expect(run.outputs.observability.grafanaPortForward).to.equal("kubectl -n istio-system port-forward svc/grafana 3000:3000");
    });

    it("locks Kiali and Grafana to view access unless observabilityAccess is edit", async () => {
        const access = async (config: Record<string, string>) => {
            const run = await runProgram(program, { ...CLUSTER1, observability: "true", observabilityGrafana: "true", ...config });
            return [
                named(run.declared, "observability-kiali").inputs.values.deployment.view_only_mode,
                named(run.declared, "observability-grafana").inputs.values.env.GF_AUTH_ANONYMOUS_ORG_ROLE,
                ofType(run.declared, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
                    .map((d) => d.inputs.metadata.name)
                    .sort(),
            ];
        };
        const policies = ["grafana-access", "kiali-access", "prometheus-access"];
        expect(await access({})).to.deep.equal([true, "Viewer", policies]);
        expect(await access({ observabilityAccess: "edit" })).to.deep.equal([false, "Editor", policies]);
    });
});

describe("configuration choices", () => {
    it("turns native sidecars off in istiod only: the spire templates are the same, the mode is picked per pod", async () => {
        const off = release(await runProgram(program, { ...CLUSTER1, nativeSidecars: "false" }), "istiod").inputs.values;
        const on = release(await runProgram(program, CLUSTER1), "istiod").inputs.values;
        expect([off.env, on.env]).to.deep.equal([{ ENABLE_NATIVE_SIDECARS: "false" }, { ENABLE_NATIVE_SIDECARS: "true" }]);
        expect(off.sidecarInjectorWebhook).to.deep.equal(on.sidecarInjectorWebhook);
    });

    it("passes namespaces, CA settings, versions and gateway settings through to every place that uses them", async () => {
        const run = await runProgram(program, {
            ...CLUSTER1,
            spireNamespace: "spire",
            istioNamespace: "mesh-system",
            caTTL: "1440h",
            caSubjectCountry: "DE",
            caSubjectOrganization: "Acme",
            caSubjectCommonName: "Acme SPIRE CA",
            ingressGatewayName: "istio-edge",
            ingressGatewayServiceAccount: "edge",
            ingressGatewayServiceType: "NodePort",
            enrolledNamespaces: ["shop", "payments"],
            mtlsMode: "PERMISSIVE",
        });
        const spire = release(run, "spire").inputs.values;
        expect(spire.global.spire.caSubject).to.deep.equal({ country: "DE", organization: "Acme", commonName: "Acme SPIRE CA" });
        expect(spire["spire-server"].caTTL).to.equal("1440h");
        expect(spire["spire-server"].controllerManager.className).to.equal("spire-spire");
        expect(release(run, "spire").inputs.namespace).to.equal("spire");
        expect(release(run, "istiod").inputs.namespace).to.equal("mesh-system");
        const gateway = release(run, "gateway");
        expect(gateway.inputs.name).to.equal("istio-edge");
        expect(gateway.inputs.values.labels).to.deep.equal({ app: "istio-edge", istio: "edge" });
        expect(gateway.inputs.values.service).to.deep.equal({ type: "NodePort" });
        expect(gateway.inputs.values.serviceAccount).to.deep.equal({ create: true, name: "edge" });
        const reg = named(run.declared, "registration-gateway").inputs.spec;
        expect(reg.workloadSelectorTemplates).to.deep.equal(["k8s:ns:mesh-system", "k8s:sa:edge"]);
        expect(reg.podSelector).to.deep.equal({ matchLabels: { istio: "edge" } });
        expect(ofType(run.declared, "kubernetes:core/v1:NamespacePatch").map((p) => p.inputs.metadata.name)).to.deep.equal(["shop", "payments"]);
        expect(named(run.declared, "istio-mtls").inputs.spec).to.deep.equal({ mtls: { mode: "PERMISSIVE" } });
        expect(run.outputs.ingressGatewaySpiffeId).to.equal("spiffe://cluster1.demo/ns/mesh-system/sa/edge");
    });

    it("enrolls no namespace when the list is empty", async () => {
        const run = await runProgram(program, { ...CLUSTER1, enrolledNamespaces: [] });
        expect(ofType(run.declared, "kubernetes:core/v1:NamespacePatch")).to.deep.equal([]);
    });
});
