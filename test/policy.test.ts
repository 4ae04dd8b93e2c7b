import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
    CLUSTER_FEDERATED_TRUST_DOMAIN,
    CLUSTER_SPIFFE_ID,
    HELM_RELEASE,
    PEER_AUTHENTICATION,
    ROOT_STACK,
    SERVICE,
    chartName,
    clusterSpiffeIdFederatesWithDeclared,
    clusterSpiffeIdInTrustDomain,
    clusterSpiffeIdNotAdmin,
    clusterSpiffeIdSelects,
    findPrivateKeyMaterial,
    isBundleEndpointPort,
    istioRootNamespaces,
    meshMtlsStrict,
    noAmbientDataplane,
    noPrivateKeysInStackOutputs,
    policies,
    selectsSpireServerPods,
    spireChartServerServiceInternal,
    spireServerApiNotExposed,
    federationHasUpstreamAuthority,
    spireServerReplicasNeedSql,
} from "../policy/policies";
import { ProgramRun, UNKNOWN, World, named, runProgram } from "../tools/mock-engine/harness";
import {
    PolicyPackConfig,
    RunForPolicy,
    Violation,
    checkRun,
    fakeRun,
    runPolicyPack,
    toPolicyResources,
    withInputs,
    withOutputs,
    withResource,
} from "../tools/mock-engine/policyHarness";
import { testStackConfig, fixtureBundle } from "./testStacks";

const program: () => Promise<any> = require("../index");
type Policy = (typeof policies)[number];

const ORG = "organization/istio-spire";
const bundle = fixtureBundle;

/** The advisories of one (advisory) policy on hand-written resources (and stack outputs); it must report no violation. */
async function advisories(
    policy: Policy,
    resources: { type: string; name: string; inputs: Record<string, unknown> }[],
    outputs: unknown = {},
): Promise<Violation[]> {
    const report = await runPolicyPack([policy], toPolicyResources(fakeRun(resources, outputs)));
    expect([report.violations, report.notRunInPreview]).to.deep.equal([[], []]);
    return report.advisories;
}

/** The violations of one policy on hand-written resources (and stack outputs). */
async function violations(
    policy: Policy,
    resources: { type: string; name: string; inputs: Record<string, unknown> }[],
    outputs: unknown = {},
    config: PolicyPackConfig = {},
): Promise<Violation[]> {
    const report = await runPolicyPack([policy], toPolicyResources(fakeRun(resources, outputs)), config);
    expect(report.notRunInPreview).to.deep.equal([]);
    return report.violations;
}

const urn = (type: string, name: string) => `urn:pulumi:test::istio-spire::${type}::${name}`;

const SPIRE_RELEASE = {
    type: HELM_RELEASE,
    name: "spire-release",
    inputs: { name: "spire", chart: "spire", namespace: "spire-server", values: { global: { spire: { trustDomain: "cluster1.demo" } } } },
};
const ISTIOD_RELEASE = {
    type: HELM_RELEASE,
    name: "istio-istiod",
    inputs: { name: "istiod", chart: "istiod", namespace: "istio-system", values: { global: { istioNamespace: "istio-system" } } },
};

const clusterSpiffeId = (name: string, spec: Record<string, unknown>) => ({
    type: CLUSTER_SPIFFE_ID,
    name,
    inputs: { apiVersion: "spire.spiffe.io/v1alpha1", kind: "ClusterSPIFFEID", metadata: { name }, spec },
});
const WORKLOAD_SPEC = {
    spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}",
    podSelector: { matchLabels: { "spiffe.io/spire-managed-identity": "true" } },
};
const peerAuthentication = (name: string, namespace: string, spec: Record<string, unknown>) => ({
    type: PEER_AUTHENTICATION,
    name,
    inputs: { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "default", namespace }, spec },
});
const service = (name: string, spec: Record<string, unknown>) => ({
    type: SERVICE,
    name,
    inputs: { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "spire-server" }, spec },
});
const SPIRE_SERVER_SELECTOR = { "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": "spire" };
const BUNDLE_ENDPOINT_PORT = { name: "federation", port: 8443, targetPort: "federation", protocol: "TCP" };
const SERVER_API_PORT = { name: "grpc", port: 8081, targetPort: "grpc", protocol: "TCP" };
/** Why federation-has-upstream-authority advises an upstream authority (the end of its message). */
const UPSTREAM_WHY =
    'but values["spire-server"] enables no upstream authority (no upstreamAuthority.<plugin>.enabled true): the SPIRE CA is then self-signed, ' +
    "its private key lives only on the server's volume and its bundle in the datastore; losing them makes a new trust root, and every peer must " +
    "re-bootstrap the federation with the new bundle (spiffe/spire#3582); configure one (config spireUpstreamAuthority: generated, disk or certManager) " +
    "so the root outlives the server";

describe("the policy pack", () => {
    it("has the eleven policies, each with a unique kebab-case name and a description, all mandatory but the upstream authority advisory", () => {
        expect(policies.map((p) => p.name)).to.deep.equal([
            "cluster-spiffe-id-not-admin",
            "cluster-spiffe-id-has-selector",
            "cluster-spiffe-id-in-trust-domain",
            "cluster-spiffe-id-federates-with-declared",
            "spire-server-api-not-exposed",
            "spire-chart-server-service-internal",
            "mesh-mtls-strict",
            "no-private-keys-in-stack-outputs",
            "spire-server-replicas-need-sql",
            "federation-has-upstream-authority",
            "no-ambient-dataplane",
        ]);
        for (const p of policies) {
            expect(p.name, p.name).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
            expect(p.description.length, p.name).to.be.greaterThan(20);
            expect(p.enforcementLevel, p.name).to.equal(p.name === "federation-has-upstream-authority" ? "advisory" : "mandatory");
        }
    });

    it("is a Node.js policy pack named istio-spire whose package pins @pulumi/policy and @pulumi/pulumi exactly", () => {
        const dir = path.join(__dirname, "..", "policy");
        expect(parse(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8")).runtime).to.equal("nodejs");
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        expect(pkg.name).to.equal("istio-spire-policy");
        expect(pkg.version).to.match(/^\d+\.\d+\.\d+$/);
        expect(pkg.main).to.equal("index.ts");
        expect(pkg.dependencies).to.deep.equal({ "@pulumi/policy": "1.21.0", "@pulumi/pulumi": "3.248.0" });
        // index.ts starts the analyzer's gRPC server when loaded, so it is read, never imported.
        const index = fs.readFileSync(path.join(dir, "index.ts"), "utf8");
        expect(index).to.contain('new PolicyPack("istio-spire", { policies });');
    });

    it("reads chart names from plain names, repository-prefixed names and OCI references", () => {
        expect(chartName("spire")).to.equal("spire");
        expect(chartName("spiffe/spire")).to.equal("spire");
        expect(chartName("oci://ghcr.io/spiffe/helm-charts-hardened/spire")).to.equal("spire");
        expect(chartName("spire-crds")).to.equal("spire-crds");
        expect(chartName(undefined)).to.equal(undefined);
    });
});

describe("policy cluster-spiffe-id-not-admin", () => {
    it("accepts a ClusterSPIFFEID without admin or with admin false", async () => {
        expect(
            await violations(clusterSpiffeIdNotAdmin, [clusterSpiffeId("a", WORKLOAD_SPEC), clusterSpiffeId("b", { ...WORKLOAD_SPEC, admin: false })]),
        ).to.deep.equal([]);
    });

    it("refuses a ClusterSPIFFEID with admin true, naming it and the value", async () => {
        expect(await violations(clusterSpiffeIdNotAdmin, [clusterSpiffeId("admins", { ...WORKLOAD_SPEC, admin: true })])).to.deep.equal([
            {
                policy: "cluster-spiffe-id-not-admin",
                urn: urn(CLUSTER_SPIFFE_ID, "admins"),
                message:
                    'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "admins": spec.admin is true; expected false or absent: ' +
                    "an admin SVID may call the SPIRE server's admin APIs (create, change and delete any registration entry), which no workload needs",
            },
        ]);
    });

    it("ignores an admin field on other kinds of resources", async () => {
        expect(
            await violations(clusterSpiffeIdNotAdmin, [{ type: "kubernetes:core/v1:ConfigMap", name: "c", inputs: { spec: { admin: true } } }]),
        ).to.deep.equal([]);
    });
});

describe("policy cluster-spiffe-id-has-selector", () => {
    it("accepts a pod selector alone and a namespace selector with expressions alone", async () => {
        const namespaceOnly = {
            spiffeIDTemplate: WORKLOAD_SPEC.spiffeIDTemplate,
            namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["apps"] }] },
        };
        expect(await violations(clusterSpiffeIdSelects, [clusterSpiffeId("pods", WORKLOAD_SPEC), clusterSpiffeId("ns", namespaceOnly)])).to.deep.equal([]);
    });

    it("refuses a ClusterSPIFFEID without any selector", async () => {
        expect(await violations(clusterSpiffeIdSelects, [clusterSpiffeId("everyone", { spiffeIDTemplate: WORKLOAD_SPEC.spiffeIDTemplate })])).to.deep.equal([
            {
                policy: "cluster-spiffe-id-has-selector",
                urn: urn(CLUSTER_SPIFFE_ID, "everyone"),
                message:
                    'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "everyone": spec.podSelector is absent and spec.namespaceSelector is absent; ' +
                    "expected at least one of them with non-empty matchLabels or matchExpressions: without one, the ClusterSPIFFEID gives an identity to every pod in every namespace",
            },
        ]);
    });

    it("refuses selectors whose matchLabels and matchExpressions are empty, quoting them", async () => {
        const spec = { spiffeIDTemplate: WORKLOAD_SPEC.spiffeIDTemplate, podSelector: { matchLabels: {} }, namespaceSelector: { matchExpressions: [] } };
        const [v] = await violations(clusterSpiffeIdSelects, [clusterSpiffeId("empty", spec)]);
        expect(v.message).to.equal(
            'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "empty": spec.podSelector is {"matchLabels":{}} and spec.namespaceSelector is {"matchExpressions":[]}; ' +
                "expected at least one of them with non-empty matchLabels or matchExpressions: without one, the ClusterSPIFFEID gives an identity to every pod in every namespace",
        );
    });
});

describe("policy cluster-spiffe-id-in-trust-domain", () => {
    const expectedPrefix =
        'expected a SPIFFE ID in this stack\'s trust domain "cluster1.demo" (values.global.spire.trustDomain of kubernetes:helm.sh/v3:Release "spire-release"), starting with "spiffe://cluster1.demo/" or "spiffe://{{ .TrustDomain }}/"';

    it("accepts the controller manager's trust domain template with any spacing and literal IDs of the stack's trust domain", async () => {
        const ids = [
            clusterSpiffeId("a", WORKLOAD_SPEC),
            clusterSpiffeId("b", { ...WORKLOAD_SPEC, spiffeIDTemplate: "spiffe://{{.TrustDomain}}/sa/{{ .PodSpec.ServiceAccountName }}" }),
            clusterSpiffeId("c", { ...WORKLOAD_SPEC, spiffeIDTemplate: "spiffe://cluster1.demo/ns/apps/sa/web" }),
        ];
        expect(await violations(clusterSpiffeIdInTrustDomain, [SPIRE_RELEASE, ...ids])).to.deep.equal([]);
    });

    it("refuses a SPIFFE ID of another trust domain, and one whose trust domain only starts like the stack's", async () => {
        const ids = [
            clusterSpiffeId("foreign", { ...WORKLOAD_SPEC, spiffeIDTemplate: "spiffe://cluster2.demo/ns/apps/sa/web" }),
            clusterSpiffeId("lookalike", { ...WORKLOAD_SPEC, spiffeIDTemplate: "spiffe://cluster1.demo.evil/ns/apps/sa/web" }),
        ];
        expect(await violations(clusterSpiffeIdInTrustDomain, [SPIRE_RELEASE, ...ids])).to.deep.equal([
            {
                policy: "cluster-spiffe-id-in-trust-domain",
                urn: urn(CLUSTER_SPIFFE_ID, "foreign"),
                message: `kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "foreign": spec.spiffeIDTemplate is "spiffe://cluster2.demo/ns/apps/sa/web"; ${expectedPrefix}`,
            },
            {
                policy: "cluster-spiffe-id-in-trust-domain",
                urn: urn(CLUSTER_SPIFFE_ID, "lookalike"),
                message: `kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "lookalike": spec.spiffeIDTemplate is "spiffe://cluster1.demo.evil/ns/apps/sa/web"; ${expectedPrefix}`,
            },
        ]);
    });

    it("refuses a ClusterSPIFFEID without a SPIFFE ID template", async () => {
        const [v] = await violations(clusterSpiffeIdInTrustDomain, [SPIRE_RELEASE, clusterSpiffeId("none", { podSelector: WORKLOAD_SPEC.podSelector })]);
        expect(v.message).to.equal(`kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "none": spec.spiffeIDTemplate is absent; ${expectedPrefix}`);
    });

    it("takes the trust domain from the policy config over the spire release's", async () => {
        const id = clusterSpiffeId("literal", { ...WORKLOAD_SPEC, spiffeIDTemplate: "spiffe://cluster1.demo/ns/apps/sa/web" });
        const config = { "cluster-spiffe-id-in-trust-domain": { trustDomain: "prod.example" } };
        expect(await violations(clusterSpiffeIdInTrustDomain, [SPIRE_RELEASE, id], {}, config)).to.deep.equal([
            {
                policy: "cluster-spiffe-id-in-trust-domain",
                urn: urn(CLUSTER_SPIFFE_ID, "literal"),
                message:
                    'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "literal": spec.spiffeIDTemplate is "spiffe://cluster1.demo/ns/apps/sa/web"; ' +
                    'expected a SPIFFE ID in this stack\'s trust domain "prod.example" (policy config "trustDomain"), starting with "spiffe://prod.example/" or "spiffe://{{ .TrustDomain }}/"',
            },
        ]);
        expect(
            await violations(clusterSpiffeIdInTrustDomain, [id], {}, { "cluster-spiffe-id-in-trust-domain": { trustDomain: "cluster1.demo" } }),
        ).to.deep.equal([]);
    });

    it("reports once, for the whole stack, that it cannot tell the trust domain without spire release or config", async () => {
        expect(await violations(clusterSpiffeIdInTrustDomain, [clusterSpiffeId("a", WORKLOAD_SPEC)])).to.deep.equal([
            {
                policy: "cluster-spiffe-id-in-trust-domain",
                urn: undefined,
                message:
                    'cannot tell this stack\'s trust domain: no kubernetes:helm.sh/v3:Release of chart "spire" sets values.global.spire.trustDomain and the policy config has none; ' +
                    'declare the spire release here or set the property "trustDomain" of policy "cluster-spiffe-id-in-trust-domain" in the policy pack config ' +
                    '(a JSON file given with --policy-pack-config, e.g. {"cluster-spiffe-id-in-trust-domain": {"trustDomain": "cluster1.demo"}})',
            },
        ]);
    });

    it("reports spire releases that disagree on the trust domain, and nothing for a stack without ClusterSPIFFEIDs", async () => {
        const other = {
            ...SPIRE_RELEASE,
            name: "spire-other",
            inputs: { ...SPIRE_RELEASE.inputs, values: { global: { spire: { trustDomain: "other.demo" } } } },
        };
        const [v] = await violations(clusterSpiffeIdInTrustDomain, [SPIRE_RELEASE, other, clusterSpiffeId("a", WORKLOAD_SPEC)]);
        expect(v.message).to.match(
            /^cannot tell this stack's trust domain: its kubernetes:helm\.sh\/v3:Release resources of chart "spire" set values\.global\.spire\.trustDomain to "cluster1\.demo" and "other\.demo"; set the property "trustDomain"/,
        );
        expect(await violations(clusterSpiffeIdInTrustDomain, [])).to.deep.equal([]);
    });
});

describe("policy cluster-spiffe-id-federates-with-declared", () => {
    const cftd = (td: string) => ({
        type: CLUSTER_FEDERATED_TRUST_DOMAIN,
        name: `peer-${td}`,
        inputs: { metadata: { name: td }, spec: { trustDomain: td, bundleEndpointURL: "https://203.0.113.2:8443" } },
    });

    it("accepts federatesWith naming declared ClusterFederatedTrustDomains", async () => {
        const id = clusterSpiffeId("a", { ...WORKLOAD_SPEC, federatesWith: ["cluster2.demo", "cluster3.demo"] });
        expect(await violations(clusterSpiffeIdFederatesWithDeclared, [cftd("cluster2.demo"), cftd("cluster3.demo"), id])).to.deep.equal([]);
    });

    it("refuses each trust domain of federatesWith that has no ClusterFederatedTrustDomain", async () => {
        const id = clusterSpiffeId("a", { ...WORKLOAD_SPEC, federatesWith: ["cluster2.demo", "cluster9.demo"] });
        expect(await violations(clusterSpiffeIdFederatesWithDeclared, [cftd("cluster2.demo"), id])).to.deep.equal([
            {
                policy: "cluster-spiffe-id-federates-with-declared",
                urn: urn(CLUSTER_SPIFFE_ID, "a"),
                message:
                    'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "a": spec.federatesWith names "cluster9.demo", for which the stack declares no ' +
                    'kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain (declared: "cluster2.demo"); expected only federated trust domains: ' +
                    "SPIRE has no bundle for it and refuses the registration entry",
            },
        ]);
        const [none] = await violations(clusterSpiffeIdFederatesWithDeclared, [clusterSpiffeId("b", { ...WORKLOAD_SPEC, federatesWith: ["cluster2.demo"] })]);
        expect(none.message).to.contain("(declared: none)");
    });
});

describe("policy spire-server-api-not-exposed", () => {
    it("accepts a LoadBalancer exposing only the bundle endpoint, by port name or number", async () => {
        expect(
            await violations(spireServerApiNotExposed, [
                SPIRE_RELEASE,
                service("bundle", { type: "LoadBalancer", selector: SPIRE_SERVER_SELECTOR, ports: [BUNDLE_ENDPOINT_PORT] }),
                service("bundle-by-number", { type: "NodePort", selector: SPIRE_SERVER_SELECTOR, ports: [{ port: 8443 }] }),
            ]),
        ).to.deep.equal([]);
    });

    it("accepts the server API on internal Services and external Services of other pods", async () => {
        expect(
            await violations(spireServerApiNotExposed, [
                SPIRE_RELEASE,
                service("internal", { type: "ClusterIP", selector: SPIRE_SERVER_SELECTOR, ports: [SERVER_API_PORT] }),
                service("other-release", {
                    type: "LoadBalancer",
                    selector: { ...SPIRE_SERVER_SELECTOR, "app.kubernetes.io/instance": "other" },
                    ports: [SERVER_API_PORT],
                }),
                service("more-labels", { type: "LoadBalancer", selector: { ...SPIRE_SERVER_SELECTOR, tier: "x" }, ports: [SERVER_API_PORT] }),
                service("web", { type: "LoadBalancer", selector: { app: "web" }, ports: [SERVER_API_PORT] }),
            ]),
        ).to.deep.equal([]);
    });

    it("refuses a LoadBalancer that also exposes the server API, naming the port", async () => {
        const ports = [BUNDLE_ENDPOINT_PORT, SERVER_API_PORT];
        expect(
            await violations(spireServerApiNotExposed, [SPIRE_RELEASE, service("lb", { type: "LoadBalancer", selector: SPIRE_SERVER_SELECTOR, ports })]),
        ).to.deep.equal([
            {
                policy: "spire-server-api-not-exposed",
                urn: urn(SERVICE, "lb"),
                message:
                    'kubernetes:core/v1:Service "lb": type LoadBalancer exposes port 8081 (name "grpc", targetPort "grpc") of the SPIRE server pods ' +
                    '(selector {"app.kubernetes.io/instance":"spire","app.kubernetes.io/name":"server"}) outside the cluster; ' +
                    'expected only the bundle endpoint (targetPort "federation" or 8443): the server API (8081, targetPort "grpc") must stay inside the cluster',
            },
        ]);
    });

    it("refuses externalIPs, a name-only selector and a port named federation that targets the server API", async () => {
        const found = await violations(spireServerApiNotExposed, [
            SPIRE_RELEASE,
            service("external-ips", { type: "ClusterIP", externalIPs: ["198.51.100.7"], selector: SPIRE_SERVER_SELECTOR, ports: [SERVER_API_PORT] }),
            service("misnamed", {
                type: "NodePort",
                selector: { "app.kubernetes.io/name": "server" },
                ports: [{ name: "federation", port: 8443, targetPort: "grpc" }],
            }),
        ]);
        expect(found.map((v) => v.message.split(" of the SPIRE")[0])).to.deep.equal([
            'kubernetes:core/v1:Service "external-ips": externalIPs ["198.51.100.7"] exposes port 8081 (name "grpc", targetPort "grpc")',
            'kubernetes:core/v1:Service "misnamed": type NodePort exposes port 8443 (name "federation", targetPort "grpc")',
        ]);
    });

    it("treats any instance as SPIRE's when the stack declares no spire release", () => {
        expect(selectsSpireServerPods({ ...SPIRE_SERVER_SELECTOR, "app.kubernetes.io/instance": "elsewhere" }, undefined)).to.equal(true);
        expect(selectsSpireServerPods({ ...SPIRE_SERVER_SELECTOR, "app.kubernetes.io/instance": "elsewhere" }, ["spire"])).to.equal(false);
        expect(selectsSpireServerPods({ "app.kubernetes.io/instance": "spire" }, ["spire"])).to.equal(false);
        expect(isBundleEndpointPort({ port: 443, targetPort: 8443 })).to.equal(true);
        expect(isBundleEndpointPort({ port: 443 })).to.equal(false);
    });
});

describe("policy spire-chart-server-service-internal", () => {
    const spireWith = (server: Record<string, unknown>) => ({
        ...SPIRE_RELEASE,
        inputs: { ...SPIRE_RELEASE.inputs, values: { ...SPIRE_RELEASE.inputs.values, "spire-server": server } },
    });

    it("accepts the chart's ClusterIP server Service and a federation Ingress (it routes only to the bundle endpoint)", async () => {
        expect(
            await violations(spireChartServerServiceInternal, [
                spireWith({ service: { type: "ClusterIP" }, federation: { enabled: true, ingress: { enabled: true } } }),
                { ...SPIRE_RELEASE, name: "spire-defaults" },
                { type: HELM_RELEASE, name: "other", inputs: { chart: "web", values: { "spire-server": { service: { type: "LoadBalancer" } } } } },
            ]),
        ).to.deep.equal([]);
    });

    it("refuses a LoadBalancer server Service type", async () => {
        expect(await violations(spireChartServerServiceInternal, [spireWith({ service: { type: "LoadBalancer" } })])).to.deep.equal([
            {
                policy: "spire-chart-server-service-internal",
                urn: urn(HELM_RELEASE, "spire-release"),
                message:
                    'kubernetes:helm.sh/v3:Release "spire-release": values["spire-server"].service.type is "LoadBalancer"; expected "ClusterIP" or absent: ' +
                    'the chart\'s spire-server Service carries the server API (port "grpc", 8081), so it must stay inside the cluster; ' +
                    "publish only the bundle endpoint, with a Service of its own",
            },
        ]);
    });

    it('refuses the chart\'s server Ingress and Gateway API route, even enabled as the string "false"', async () => {
        const found = await violations(spireChartServerServiceInternal, [
            spireWith({ service: { type: "NodePort" }, ingress: { enabled: true }, gatewayAPI: { enabled: "false" } }),
        ]);
        expect(found.map((v) => v.message)).to.deep.equal([
            'kubernetes:helm.sh/v3:Release "spire-release": values["spire-server"].service.type is "NodePort"; expected "ClusterIP" or absent: ' +
                'the chart\'s spire-server Service carries the server API (port "grpc", 8081), so it must stay inside the cluster; publish only the bundle endpoint, with a Service of its own',
            'kubernetes:helm.sh/v3:Release "spire-release": values["spire-server"].ingress.enabled is true; expected false or absent: ' +
                "the chart's Ingress routes to the spire-server Service's server API port (service.port); to publish the bundle endpoint use values[\"spire-server\"].federation.ingress instead",
            'kubernetes:helm.sh/v3:Release "spire-release": values["spire-server"].gatewayAPI.enabled is "false"; expected false or absent: ' +
                "the chart's Gateway API TLSRoute routes to the spire-server Service's server API port (service.port); to publish the bundle endpoint use values[\"spire-server\"].federation.gatewayAPI instead",
        ]);
    });
});

describe("policy mesh-mtls-strict", () => {
    const meshStrict = peerAuthentication("istio-mtls", "istio-system", { mtls: { mode: "STRICT" } });
    const expected =
        'expected "STRICT" or "UNSET" (inherit): the mesh-wide kubernetes:security.istio.io/v1:PeerAuthentication "istio-mtls" requires STRICT mTLS';

    it("accepts namespace and workload policies that keep or inherit STRICT", async () => {
        expect(
            await violations(meshMtlsStrict, [
                ISTIOD_RELEASE,
                meshStrict,
                peerAuthentication("apps", "apps", { mtls: { mode: "STRICT" } }),
                peerAuthentication("web", "apps", {
                    selector: { matchLabels: { app: "web" } },
                    mtls: { mode: "UNSET" },
                    portLevelMtls: { "8080": { mode: "STRICT" } },
                }),
            ]),
        ).to.deep.equal([]);
    });

    it("refuses a PERMISSIVE namespace policy under a STRICT mesh", async () => {
        expect(
            await violations(meshMtlsStrict, [ISTIOD_RELEASE, meshStrict, peerAuthentication("legacy", "legacy", { mtls: { mode: "PERMISSIVE" } })]),
        ).to.deep.equal([
            {
                policy: "mesh-mtls-strict",
                urn: urn(PEER_AUTHENTICATION, "legacy"),
                message: `kubernetes:security.istio.io/v1:PeerAuthentication "legacy" (namespace "legacy"): spec.mtls.mode is "PERMISSIVE"; ${expected}`,
            },
        ]);
    });

    it("refuses DISABLE on a port and on a workload in the root namespace", async () => {
        const found = await violations(meshMtlsStrict, [
            meshStrict,
            peerAuthentication("metrics", "apps", {
                selector: { matchLabels: { app: "web" } },
                portLevelMtls: { "9090": { mode: "DISABLE" }, "8080": { mode: "STRICT" } },
            }),
            peerAuthentication("root-workload", "istio-system", { selector: { matchLabels: { app: "x" } }, mtls: { mode: "DISABLE" } }),
        ]);
        expect(found.map((v) => v.message)).to.deep.equal([
            `kubernetes:security.istio.io/v1:PeerAuthentication "metrics" (namespace "apps"): spec.portLevelMtls["9090"].mode is "DISABLE"; ${expected}`,
            `kubernetes:security.istio.io/v1:PeerAuthentication "root-workload" (namespace "istio-system"): spec.mtls.mode is "DISABLE"; ${expected}`,
        ]);
    });

    it("allows PERMISSIVE namespaces when the mesh itself is PERMISSIVE", async () => {
        const meshPermissive = peerAuthentication("istio-mtls", "istio-system", { mtls: { mode: "PERMISSIVE" } });
        expect(
            await violations(meshMtlsStrict, [ISTIOD_RELEASE, meshPermissive, peerAuthentication("legacy", "legacy", { mtls: { mode: "PERMISSIVE" } })]),
        ).to.deep.equal([]);
    });

    it("refuses a second mesh-wide PeerAuthentication", async () => {
        const second = peerAuthentication("second", "istio-system", { mtls: { mode: "STRICT" } });
        expect(await violations(meshMtlsStrict, [ISTIOD_RELEASE, meshStrict, second])).to.deep.equal([
            {
                policy: "mesh-mtls-strict",
                urn: urn(PEER_AUTHENTICATION, "second"),
                message:
                    'kubernetes:security.istio.io/v1:PeerAuthentication "second": is a second mesh-wide PeerAuthentication (namespace "istio-system", no selector) ' +
                    'besides kubernetes:security.istio.io/v1:PeerAuthentication "istio-mtls"; expected at most one: Istio applies only the oldest, so which mode holds would depend on creation order',
            },
        ]);
    });

    it("finds the root namespace in meshConfig.rootNamespace, else global.istioNamespace, else istio-system", async () => {
        const istiod = (values: Record<string, unknown>) => ({ ...ISTIOD_RELEASE, inputs: { ...ISTIOD_RELEASE.inputs, values } });
        const toResources = (rs: { type: string; name: string; inputs: Record<string, unknown> }[]) => toPolicyResources(fakeRun(rs));
        expect(
            istioRootNamespaces(toResources([istiod({ meshConfig: { rootNamespace: "mesh-root" }, global: { istioNamespace: "istio-system" } })])),
        ).to.deep.equal(["mesh-root"]);
        expect(istioRootNamespaces(toResources([istiod({ global: { istioNamespace: "istio-x" } })]))).to.deep.equal(["istio-x"]);
        expect(istioRootNamespaces(toResources([istiod({})]))).to.deep.equal(["istio-system"]);
        expect(istioRootNamespaces(toResources([]))).to.deep.equal(["istio-system"]);
        // With the root moved, a STRICT policy in istio-system is only a namespace policy: nothing is mesh-wide.
        const rootMoved = istiod({ meshConfig: { rootNamespace: "mesh-root" } });
        expect(
            await violations(meshMtlsStrict, [rootMoved, meshStrict, peerAuthentication("legacy", "legacy", { mtls: { mode: "PERMISSIVE" } })]),
        ).to.deep.equal([]);
    });
});

describe("policy spire-server-replicas-need-sql", () => {
    const spire = (server: Record<string, unknown>) => ({ ...SPIRE_RELEASE, inputs: { ...SPIRE_RELEASE.inputs, values: { "spire-server": server } } });
    const REFUSED =
        "expected one SPIRE server on SQLite: each server would keep its own SQLite file on its own volume, with registration entries and a " +
        "trust bundle of its own (the chart refuses it too); give the servers one SQL datastore (config spireDataStore, " +
        '{"type":"postgres"} or {"type":"mysql"} with host, database and user, and the secret spireDataStorePassword) or run one server ' +
        "(config spireServerReplicas 1)";

    it("accepts one server on SQLite (set or by default) and several on an SQL datastore", async () => {
        for (const server of [
            {},
            { replicaCount: 1 },
            { replicaCount: "1", dataStore: { sql: { databaseType: "sqlite3" } } },
            { replicaCount: 3, dataStore: { sql: { databaseType: "postgres" } } },
            { replicaCount: 2, dataStore: { sql: { databaseType: "mysql" } } },
            { autoscaling: { enabled: true, maxReplicas: 1 } },
            { autoscaling: { enabled: true }, dataStore: { sql: { databaseType: "postgres" } } },
        ]) {
            expect(await violations(spireServerReplicasNeedSql, [spire(server)]), JSON.stringify(server)).to.deep.equal([]);
        }
    });

    it("refuses more than one replica with databaseType unset (the chart's sqlite3) or sqlite3, naming the release, the values and what to do", async () => {
        expect(await violations(spireServerReplicasNeedSql, [spire({ replicaCount: 3 })])).to.deep.equal([
            {
                policy: "spire-server-replicas-need-sql",
                urn: urn(HELM_RELEASE, "spire-release"),
                message:
                    'kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): values["spire-server"].replicaCount is 3 with ' +
                    `values["spire-server"].dataStore.sql.databaseType absent (the chart's default "sqlite3"); ${REFUSED}`,
            },
        ]);
        const [explicit] = await violations(spireServerReplicasNeedSql, [spire({ replicaCount: "2", dataStore: { sql: { databaseType: "sqlite3" } } })]);
        expect(explicit.message).to.equal(
            'kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): values["spire-server"].replicaCount is "2" with ' +
                `values["spire-server"].dataStore.sql.databaseType "sqlite3"; ${REFUSED}`,
        );
    });

    it("refuses autoscaling on SQLite up to more than one server, the chart's default maxReplicas 100 included", async () => {
        const [v] = await violations(spireServerReplicasNeedSql, [spire({ replicaCount: 1, autoscaling: { enabled: true } })]);
        expect(v.message.split("; ")[0]).to.equal(
            'kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): values["spire-server"].autoscaling.maxReplicas is absent (the chart\'s default 100) with ' +
                'values["spire-server"].dataStore.sql.databaseType absent (the chart\'s default "sqlite3")',
        );
    });

    it("ignores releases of other charts", async () => {
        const other = { type: HELM_RELEASE, name: "other", inputs: { name: "x", chart: "postgresql", values: { "spire-server": { replicaCount: 3 } } } };
        expect(await violations(spireServerReplicasNeedSql, [other])).to.deep.equal([]);
    });
});

describe("policy federation-has-upstream-authority (advisory)", () => {
    const CFTD = {
        type: CLUSTER_FEDERATED_TRUST_DOMAIN,
        name: "peer-cluster2.demo-cftd",
        inputs: { apiVersion: "spire.spiffe.io/v1alpha1", kind: "ClusterFederatedTrustDomain", spec: { trustDomain: "cluster2.demo" } },
    };
    const withUpstream = (server: Record<string, unknown>) => ({ ...SPIRE_RELEASE, inputs: { ...SPIRE_RELEASE.inputs, values: { "spire-server": server } } });

    it("warns, without failing, about a federating stack's spire release without an upstream authority, saying why and what to configure", async () => {
        expect(await advisories(federationHasUpstreamAuthority, [SPIRE_RELEASE, CFTD])).to.deep.equal([
            {
                policy: "federation-has-upstream-authority",
                urn: urn(HELM_RELEASE, "spire-release"),
                message:
                    'kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): the stack federates (it declares a ClusterFederatedTrustDomain for "cluster2.demo") ' +
                    UPSTREAM_WHY,
            },
        ]);
    });

    it("sees federation in federatesWith, and in the pendingPeers output of peers not deployed yet", async () => {
        const federating = clusterSpiffeId("workloads", { ...WORKLOAD_SPEC, federatesWith: ["cluster3.demo", "cluster2.demo"] });
        const [byFederatesWith] = await advisories(federationHasUpstreamAuthority, [SPIRE_RELEASE, federating]);
        expect(byFederatesWith.message).to.include('the stack federates (its ClusterSPIFFEIDs federate with "cluster2.demo", "cluster3.demo") but');
        const [byPending] = await advisories(federationHasUpstreamAuthority, [SPIRE_RELEASE], { pendingPeers: ["organization/istio-spire/cluster2"] });
        expect(byPending.message).to.include(
            'the stack federates (its pendingPeers output names "organization/istio-spire/cluster2", which it federates with once they are deployed) but',
        );
    });

    it("is silent for a stack that does not federate, one with an upstream authority, and one without a spire release", async () => {
        expect(await advisories(federationHasUpstreamAuthority, [SPIRE_RELEASE, clusterSpiffeId("w", WORKLOAD_SPEC)], { pendingPeers: [] })).to.deep.equal([]);
        for (const server of [
            { upstreamAuthority: { disk: { enabled: true, secret: { create: false, name: "spire-upstream-ca" } } } },
            { upstreamAuthority: { certManager: { enabled: "true", issuerName: "ca" } } },
            { upstreamAuthority: { disk: { enabled: false } }, customPlugins: { upstreamAuthority: { mine: { plugin_cmd: "/x", plugin_checksum: "y" } } } },
            { unsupportedBuiltInPlugins: { upstreamAuthority: { gcp_cas: { plugin_data: {} } } } },
        ]) {
            expect(await advisories(federationHasUpstreamAuthority, [withUpstream(server), CFTD]), JSON.stringify(server)).to.deep.equal([]);
        }
        expect(await advisories(federationHasUpstreamAuthority, [CFTD])).to.deep.equal([]);
    });

    it('counts an upstream authority enabled as the chart compares it: true or "true", not "false"', async () => {
        const off = withUpstream({ upstreamAuthority: { disk: { enabled: "false" }, vault: { enabled: false } } });
        expect(await advisories(federationHasUpstreamAuthority, [off, CFTD])).to.have.length(1);
    });

    it("is reported as mandatory when the pack's config makes it so", async () => {
        const report = await runPolicyPack([federationHasUpstreamAuthority], toPolicyResources(fakeRun([SPIRE_RELEASE, CFTD])), {
            "federation-has-upstream-authority": { enforcementLevel: "mandatory" },
        });
        expect([report.violations.length, report.advisories.length]).to.deep.equal([1, 0]);
    });
});

describe("policy no-private-keys-in-stack-outputs", () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
    const certificate = pem("CERTIFICATE");

    it("finds every PEM private key variant and no certificate or public key", () => {
        for (const label of ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY"]) {
            expect(findPrivateKeyMaterial({ key: `${certificate}${pem(label)}` }), label).to.deep.equal([
                { path: "key", what: `a PEM private key block ("-----BEGIN ${label}-----")` },
            ]);
        }
        expect(findPrivateKeyMaterial({ cert: certificate, pub: pem("PUBLIC KEY") })).to.deep.equal([]);
    });

    it("finds private JWKs at any depth, also inside strings holding JSON, and passes public ones", () => {
        const publicJwk = { kty: "EC", crv: "P-256", x: "a", y: "b" };
        const privateJwk = { ...publicJwk, d: "secret" };
        const value = {
            bundles: [{ keys: [publicJwk] }, { keys: [publicJwk, privateJwk] }],
            "jwks-text": JSON.stringify({ keys: [{ kty: "RSA", n: "n", e: "AQAB", d: "secret" }] }),
            nested: JSON.stringify({ inner: JSON.stringify(privateJwk) }),
            notJson: "{ not json",
        };
        expect(findPrivateKeyMaterial(value)).to.deep.equal([
            { path: "bundles[1].keys[1]", what: 'a private JWK (kty "EC" with private member "d")' },
            { path: '["jwks-text"](json).keys[0]', what: 'a private JWK (kty "RSA" with private member "d")' },
            { path: "nested(json).inner(json)", what: 'a private JWK (kty "EC" with private member "d")' },
        ]);
    });

    it("accepts outputs with a real SPIFFE bundle and refuses a private key, naming the stack and the output path", async () => {
        const outputs = { federation: { trustBundle: bundle("cluster1.demo") }, caKey: pem("EC PRIVATE KEY") };
        expect(await violations(noPrivateKeysInStackOutputs, [], { federation: outputs.federation })).to.deep.equal([]);
        expect(await violations(noPrivateKeysInStackOutputs, [], outputs)).to.deep.equal([
            {
                policy: "no-private-keys-in-stack-outputs",
                urn: "urn:pulumi:test::istio-spire::pulumi:pulumi:Stack::istio-spire-test",
                message:
                    'pulumi:pulumi:Stack "istio-spire-test": output caKey contains a PEM private key block ("-----BEGIN EC PRIVATE KEY-----"); ' +
                    "expected only public key material (certificates, public JWKs) in stack outputs: they are kept in the stack's state and shown to everyone " +
                    "who can read the stack (secret ones with --show-secrets)",
            },
        ]);
    });

    it("looks only at the root stack's outputs and skips values unknown in a preview", async () => {
        const keyInResource = { type: "kubernetes:core/v1:Secret", name: "tls", inputs: { stringData: { "tls.key": pem("PRIVATE KEY") } } };
        expect(await violations(noPrivateKeysInStackOutputs, [keyInResource], { url: UNKNOWN, list: [UNKNOWN, "x"] })).to.deep.equal([]);
        expect(await violations(noPrivateKeysInStackOutputs, [], { url: UNKNOWN, key: pem("PRIVATE KEY") })).to.have.length(1);
    });
});

describe("policy no-ambient-dataplane", () => {
    const AMBIENT = { "istio.io/dataplane-mode": "ambient" };
    /** The end of every message: why, with the issue. */
    const WHY =
        'is "ambient"; Istio\'s ambient data plane does not support SPIRE (istio/istio#42339): its ztunnel gets certificates from istiod, ' +
        "not from the SPIRE agent, so these workloads would leave SPIRE's identities; remove the label and use sidecars";
    const podTemplate = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: "app", image: "app" }] } });

    it("refuses the label on a Namespace, a NamespacePatch, a Deployment's pod template and a CronJob's, naming where", async () => {
        const found = await violations(noAmbientDataplane, [
            { type: "kubernetes:core/v1:Namespace", name: "apps", inputs: { metadata: { name: "apps", labels: AMBIENT } } },
            { type: "kubernetes:core/v1:NamespacePatch", name: "enroll", inputs: { metadata: { name: "default", labels: AMBIENT } } },
            { type: "kubernetes:apps/v1:Deployment", name: "web", inputs: { metadata: { name: "web" }, spec: { template: podTemplate(AMBIENT) } } },
            {
                type: "kubernetes:batch/v1:CronJob",
                name: "nightly",
                inputs: { metadata: { name: "nightly" }, spec: { jobTemplate: { spec: { template: podTemplate(AMBIENT) } } } },
            },
        ]);
        expect(found.map((v) => [v.urn, v.message])).to.deep.equal([
            [urn("kubernetes:core/v1:Namespace", "apps"), `kubernetes:core/v1:Namespace "apps": metadata.labels["istio.io/dataplane-mode"] ${WHY}`],
            [
                urn("kubernetes:core/v1:NamespacePatch", "enroll"),
                `kubernetes:core/v1:NamespacePatch "enroll": metadata.labels["istio.io/dataplane-mode"] ${WHY}`,
            ],
            [
                urn("kubernetes:apps/v1:Deployment", "web"),
                `kubernetes:apps/v1:Deployment "web": spec.template.metadata.labels["istio.io/dataplane-mode"] ${WHY}`,
            ],
            [
                urn("kubernetes:batch/v1:CronJob", "nightly"),
                `kubernetes:batch/v1:CronJob "nightly": spec.jobTemplate.spec.template.metadata.labels["istio.io/dataplane-mode"] ${WHY}`,
            ],
        ]);
    });

    it("accepts sidecar namespaces, the label's other values and the label outside Kubernetes resources", async () => {
        expect(
            await violations(noAmbientDataplane, [
                { type: "kubernetes:core/v1:Namespace", name: "a", inputs: { metadata: { name: "a", labels: { "istio-injection": "enabled" } } } },
                { type: "kubernetes:core/v1:Namespace", name: "b", inputs: { metadata: { name: "b", labels: { "istio.io/dataplane-mode": "none" } } } },
                { type: "random:index/randomUuid:RandomUuid", name: "c", inputs: { metadata: { labels: AMBIENT } } },
            ]),
        ).to.deep.equal([]);
    });
});

describe("the policy harness", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runProgram(
            program,
            testStackConfig("cluster1"),
            { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: {} } },
            "cluster1",
        );
    });

    it("gives stack policies the root stack with the outputs, then every declared resource, parented and linked like the engine", () => {
        const resources = toPolicyResources(run);
        const [root] = resources;
        expect(resources).to.have.length(run.declared.length + 1);
        expect([root.type, root.name, root.urn]).to.deep.equal([
            ROOT_STACK,
            "istio-spire-cluster1",
            "urn:pulumi:cluster1::istio-spire::pulumi:pulumi:Stack::istio-spire-cluster1",
        ]);
        expect(root.parent).to.equal(undefined);
        expect(root.props.trustDomain).to.equal("cluster1.demo");
        const byName = (name: string) => resources.find((r) => r.name === name)!;
        expect(byName("spire").parent).to.equal(root);
        expect(byName("spire-release").parent).to.equal(byName("spire"));
        expect(byName("spire-release").opts.parent).to.equal(named(run.declared, "spire").urn);
        expect(byName("spire-release").dependencies).to.include(byName("spire-crds"));
        expect(byName("spire-release").props.values.global.spire.trustDomain).to.equal("cluster1.demo");
    });

    it("answers isType and asType like the analyzer, for SDK resource classes", () => {
        const service = toPolicyResources(run).find((r) => r.name === "federation-service")!;
        expect(service.isType(k8s.core.v1.Service)).to.equal(true);
        expect(service.isType(k8s.core.v1.ConfigMap)).to.equal(false);
        expect(service.asType(k8s.core.v1.Service)?.spec.type).to.equal("LoadBalancer");
    });
});

describe("the real program under the policy pack", () => {
    const runs: Record<string, ProgramRun<any>> = {};
    const peer = (n: number) => `${ORG}/cluster${n}`;
    const world = (n: number, extra: World = {}): World => ({
        ownBundle: bundle(`cluster${n}.demo`),
        bundleEndpointIngress: [{ ip: `203.0.113.${n}0` }],
        ...extra,
    });

    before(async () => {
        // Each stack alone (its peer not deployed yet), then each federated with the other's real outputs.
        runs.cluster1 = await runProgram(program, testStackConfig("cluster1"), world(1, { stackOutputs: { [peer(2)]: {} } }), "cluster1");
        runs.cluster2 = await runProgram(program, testStackConfig("cluster2"), world(2, { stackOutputs: { [peer(1)]: runs.cluster1.outputs } }), "cluster2");
        runs.federated1 = await runProgram(program, testStackConfig("cluster1"), world(1, { stackOutputs: { [peer(2)]: runs.cluster2.outputs } }), "cluster1");
        runs.preview = await runProgram(program, testStackConfig("cluster1"), world(1, { preview: true, stackOutputs: { [peer(2)]: {} } }), "cluster1");
    });

    /**
     * No violation, and only the advisory of a stack that federates (`evidence` says how the policy saw it) on the default
     * SPIRE without an upstream authority.
     */
    const expectClean = async (run: ProgramRun<any>, evidence: string) => {
        expect(await checkRun(policies, run)).to.deep.equal({
            violations: [],
            advisories: [
                {
                    policy: "federation-has-upstream-authority",
                    urn: named(run.declared, "spire-release").urn,
                    message: `kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): the stack federates (${evidence}) ${UPSTREAM_WHY}`,
                },
            ],
            notRunInPreview: [],
        });
    };
    const PENDING_CLUSTER2 = 'its pendingPeers output names "organization/istio-spire/cluster2", which it federates with once they are deployed';

    it("declares what the policies look at: both stacks federated, with ClusterFederatedTrustDomains and federatesWith", () => {
        expect(runs.cluster1.warnings).to.have.length(1);
        for (const name of ["cluster2", "federated1"]) {
            const cftds = runs[name].declared.filter((d) => d.type === CLUSTER_FEDERATED_TRUST_DOMAIN);
            expect(cftds, name).to.have.length(1);
            expect(named(runs[name].declared, "registration-workloads").inputs.spec.federatesWith, name).to.deep.equal([cftds[0].inputs.spec.trustDomain]);
        }
        expect(runs.federated1.outputs.federation.trustBundle).to.equal(bundle("cluster1.demo"));
    });

    it("has no violation for cluster1 alone, its peer not deployed yet", () => expectClean(runs.cluster1, PENDING_CLUSTER2));
    it("has no violation for cluster2, federated with cluster1", () =>
        expectClean(runs.cluster2, 'it declares a ClusterFederatedTrustDomain for "cluster1.demo"'));
    it("has no violation for cluster1 federated with cluster2", () =>
        expectClean(runs.federated1, 'it declares a ClusterFederatedTrustDomain for "cluster2.demo"'));
    it("has no violation in a preview of a first deployment, whose bundle endpoint and bundle are unknown", () => expectClean(runs.preview, PENDING_CLUSTER2));

    it("has no advisory either once the spire release has an upstream authority", async () => {
        const upstream = withInputs(runs.federated1, "spire-release", (i) => {
            i.values["spire-server"].upstreamAuthority = { disk: { enabled: true, secret: { create: false, name: "spire-upstream-ca" } } };
        });
        expect(await checkRun(policies, upstream)).to.deep.equal({ violations: [], advisories: [], notRunInPreview: [] });
    });

    describe("changed one resource at a time", () => {
        const only = async (run: RunForPolicy, expected: Violation) => {
            expect((await checkRun(policies, run)).violations).to.deep.equal([expected]);
        };

        it("reports three SPIRE servers on the spire release's default SQLite", () =>
            only(
                withInputs(runs.federated1, "spire-release", (i) => (i.values["spire-server"].replicaCount = 3)),
                {
                    policy: "spire-server-replicas-need-sql",
                    urn: urnOf("spire-release"),
                    message:
                        'kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): values["spire-server"].replicaCount is 3 with ' +
                        'values["spire-server"].dataStore.sql.databaseType absent (the chart\'s default "sqlite3"); expected one SPIRE server on SQLite: ' +
                        "each server would keep its own SQLite file on its own volume, with registration entries and a trust bundle of its own (the chart " +
                        'refuses it too); give the servers one SQL datastore (config spireDataStore, {"type":"postgres"} or {"type":"mysql"} with host, ' +
                        "database and user, and the secret spireDataStorePassword) or run one server (config spireServerReplicas 1)",
                },
            ));
        const urnOf = (name: string) => named(runs.federated1.declared, name).urn;

        it("reports an enrolled namespace moved to Istio's ambient data plane", async () => {
            const ambient = withInputs(runs.federated1, "registration-enroll-default", (i) => (i.metadata.labels["istio.io/dataplane-mode"] = "ambient"));
            expect((await checkRun(policies, ambient)).violations.map((v) => [v.policy, v.urn])).to.deep.equal([
                ["no-ambient-dataplane", urnOf("registration-enroll-default")],
            ]);
        });

        it("reports a workload registration made admin", () =>
            only(
                withInputs(runs.federated1, "registration-workloads", (i) => (i.spec.admin = true)),
                {
                    policy: "cluster-spiffe-id-not-admin",
                    urn: urnOf("registration-workloads"),
                    message:
                        'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "registration-workloads": spec.admin is true; expected false or absent: ' +
                        "an admin SVID may call the SPIRE server's admin APIs (create, change and delete any registration entry), which no workload needs",
                },
            ));

        it("reports the gateway registration without selectors", () =>
            only(
                withInputs(runs.federated1, "registration-gateway", (i) => {
                    delete i.spec.podSelector;
                    delete i.spec.namespaceSelector;
                }),
                {
                    policy: "cluster-spiffe-id-has-selector",
                    urn: urnOf("registration-gateway"),
                    message:
                        'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "registration-gateway": spec.podSelector is absent and spec.namespaceSelector is absent; ' +
                        "expected at least one of them with non-empty matchLabels or matchExpressions: without one, the ClusterSPIFFEID gives an identity to every pod in every namespace",
                },
            ));

        it("reports a registration issuing IDs of the peer's trust domain", () => {
            const foreign = "spiffe://cluster2.demo/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}";
            return only(
                withInputs(runs.federated1, "registration-workloads", (i) => (i.spec.spiffeIDTemplate = foreign)),
                {
                    policy: "cluster-spiffe-id-in-trust-domain",
                    urn: urnOf("registration-workloads"),
                    message:
                        `kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "registration-workloads": spec.spiffeIDTemplate is ${JSON.stringify(foreign)}; ` +
                        'expected a SPIFFE ID in this stack\'s trust domain "cluster1.demo" (values.global.spire.trustDomain of kubernetes:helm.sh/v3:Release "spire-release"), ' +
                        'starting with "spiffe://cluster1.demo/" or "spiffe://{{ .TrustDomain }}/"',
                },
            );
        });

        it("reports a registration federating with a trust domain the stack does not federate with", () =>
            only(
                withInputs(runs.federated1, "registration-gateway", (i) => i.spec.federatesWith.push("cluster9.demo")),
                {
                    policy: "cluster-spiffe-id-federates-with-declared",
                    urn: urnOf("registration-gateway"),
                    message:
                        'kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "registration-gateway": spec.federatesWith names "cluster9.demo", for which the stack declares no ' +
                        'kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain (declared: "cluster2.demo"); expected only federated trust domains: ' +
                        "SPIRE has no bundle for it and refuses the registration entry",
                },
            ));

        it("reports the bundle endpoint's LoadBalancer also exposing the server API on 8081", () =>
            only(
                withInputs(runs.federated1, "federation-service", (i) => i.spec.ports.push(SERVER_API_PORT)),
                {
                    policy: "spire-server-api-not-exposed",
                    urn: urnOf("federation-service"),
                    message:
                        'kubernetes:core/v1:Service "federation-service": type LoadBalancer exposes port 8081 (name "grpc", targetPort "grpc") of the SPIRE server pods ' +
                        '(selector {"app.kubernetes.io/instance":"spire","app.kubernetes.io/name":"server"}) outside the cluster; ' +
                        'expected only the bundle endpoint (targetPort "federation" or 8443): the server API (8081, targetPort "grpc") must stay inside the cluster',
                },
            ));

        it("reports the spire release making the chart's server Service a LoadBalancer", () =>
            only(
                withInputs(runs.federated1, "spire-release", (i) => (i.values["spire-server"].service = { type: "LoadBalancer" })),
                {
                    policy: "spire-chart-server-service-internal",
                    urn: urnOf("spire-release"),
                    message:
                        'kubernetes:helm.sh/v3:Release "spire-release": values["spire-server"].service.type is "LoadBalancer"; expected "ClusterIP" or absent: ' +
                        'the chart\'s spire-server Service carries the server API (port "grpc", 8081), so it must stay inside the cluster; ' +
                        "publish only the bundle endpoint, with a Service of its own",
                },
            ));

        it("reports a PERMISSIVE PeerAuthentication for the enrolled namespace under the STRICT mesh", () => {
            const permissive = withResource(runs.federated1, PEER_AUTHENTICATION, "default-permissive", {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "default", namespace: "default" },
                spec: { mtls: { mode: "PERMISSIVE" } },
            });
            return only(permissive, {
                policy: "mesh-mtls-strict",
                urn: "urn:pulumi:cluster1::istio-spire::kubernetes:security.istio.io/v1:PeerAuthentication::default-permissive",
                message:
                    'kubernetes:security.istio.io/v1:PeerAuthentication "default-permissive" (namespace "default"): spec.mtls.mode is "PERMISSIVE"; ' +
                    'expected "STRICT" or "UNSET" (inherit): the mesh-wide kubernetes:security.istio.io/v1:PeerAuthentication "istio-mtls" requires STRICT mTLS',
            });
        });

        it("reports a private JWK slipped into the exported trust bundle", () => {
            const leaked = withOutputs(runs.federated1, (o) => {
                const doc = JSON.parse(o.federation.trustBundle);
                doc.keys[1].d = "c2VjcmV0";
                o.federation.trustBundle = JSON.stringify(doc, null, 4);
            });
            return only(leaked, {
                policy: "no-private-keys-in-stack-outputs",
                urn: "urn:pulumi:cluster1::istio-spire::pulumi:pulumi:Stack::istio-spire-cluster1",
                message:
                    'pulumi:pulumi:Stack "istio-spire-cluster1": output federation.trustBundle(json).keys[1] contains a private JWK (kty "EC" with private member "d"); ' +
                    "expected only public key material (certificates, public JWKs) in stack outputs: they are kept in the stack's state and shown to everyone " +
                    "who can read the stack (secret ones with --show-secrets)",
            });
        });

        it("reports a PEM private key exported next to the federation output", async () => {
            const leaked = withOutputs(runs.federated1, (o) => (o.spireCaKey = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"));
            const [v] = (await checkRun(policies, leaked)).violations;
            expect([v.policy, v.message.split(";")[0]]).to.deep.equal([
                "no-private-keys-in-stack-outputs",
                'pulumi:pulumi:Stack "istio-spire-cluster1": output spireCaKey contains a PEM private key block ("-----BEGIN PRIVATE KEY-----")',
            ]);
        });
    });
});
