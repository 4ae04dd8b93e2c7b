import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import {
    BOOKINFO_URI_MATCHES,
    Bookinfo,
    CURL_IMAGE,
    CurlGreeter,
    FederatedServiceAccess,
    FederatedServiceClient,
    SleepHttpbin,
    ValidationError,
    bookinfoGatewaySpec,
    bookinfoManifestUrl,
    bookinfoVirtualServiceSpec,
    checkGatewayAddress,
    checkHostname,
    checkPinnedImage,
    curlGreeterDeploymentArgs,
    deployTimePlaceholder,
    federatedAuthorizationPolicySpec,
    federatedDestinationRuleSpec,
    federatedGatewaySpec,
    federatedResourceName,
    federatedServiceEntrySpec,
    federatedVirtualServiceSpec,
    gatewayResolution,
    httpbinDeploymentArgs,
    httpbinServiceArgs,
    istioPrincipal,
    sleepDeploymentArgs,
    sleepServiceArgs,
    validateFederatedServiceAccessArgs,
    validateFederatedServiceClientArgs,
} from "../components";
import { Declared, ProgramRun, named, resolve, runProgram, transformedUnder } from "../tools/mock-engine/harness";

const GATEWAY = "kubernetes:networking.istio.io/v1:Gateway";
const VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService";
const SERVICE_ENTRY = "kubernetes:networking.istio.io/v1:ServiceEntry";
const DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule";
const AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const SPIRE_LABEL = "spiffe.io/spire-managed-identity";

const HOST = "bookinfo.cluster2.demo";
const GATEWAY_ID = "spiffe://cluster2.demo/ns/istio-system/sa/istio-ingressgateway-service-account";
const CURL_GREETER_ID = "spiffe://cluster1.demo/ns/default/sa/curl-greeter";
const PRODUCTPAGE = { host: "productpage.default.svc.cluster.local", port: 9080 };

/** A stand-in for the istiod release the samples wait for. */
class StandIn extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:index:Istiod", name, {});
    }
}

/** What a typed Kubernetes resource sends: its apiVersion and kind, then the args a builder made. */
const typed = (apiVersion: string, kind: string, args: object) => ({ apiVersion, kind, ...args });
const deployment = (args: object) => typed("apps/v1", "Deployment", args);
const service = (args: object) => typed("v1", "Service", args);
const serviceAccount = (name: string) => typed("v1", "ServiceAccount", { metadata: { name, namespace: "default" } });

/** Runs `declare` under the mock runtime with a stand-in istiod release as the one prerequisite. */
async function declare(build: (istiod: pulumi.Resource) => void): Promise<ProgramRun<Record<string, never>>> {
    return runProgram(async () => {
        const istiod = new StandIn("istiod");
        build(istiod);
        return {};
    }, {});
}

/** `type name` of everything declared but the stand-in prerequisite, sorted. */
function summary(run: ProgramRun<unknown>): string[] {
    return run.declared
        .filter((d) => d.type !== "test:index:Istiod")
        .map((d) => `${d.type} ${d.name}`)
        .sort();
}

/** The component's children: logical name → [parent, sorted dependencies]. */
function graph(run: ProgramRun<unknown>, component: string): Record<string, [string, string[]]> {
    return Object.fromEntries(run.declared.filter((d: Declared) => d.parent === component).map((d) => [d.name, [d.parent, [...d.dependsOn].sort()]]));
}

function thrown(f: () => unknown): Error {
    try {
        f();
    } catch (error) {
        return error as Error;
    }
    throw new Error("expected an error");
}

describe("the sleep and httpbin samples", () => {
    let run: ProgramRun<Record<string, never>>;
    let sample: SleepHttpbin;
    before(async () => {
        run = await declare((istiod) => {
            sample = new SleepHttpbin("sleep-httpbin", { namespace: "default", trustDomain: "cluster1.demo", prerequisites: [istiod] });
        });
    });

    it("declares each app's service account, Service and Deployment, as typed resources under the component", () => {
        expect(summary(run)).to.deep.equal([
            "istio-spire:samples:SleepHttpbin sleep-httpbin",
            "kubernetes:apps/v1:Deployment sleep-httpbin-httpbin",
            "kubernetes:apps/v1:Deployment sleep-httpbin-sleep",
            "kubernetes:core/v1:Service sleep-httpbin-httpbin-service",
            "kubernetes:core/v1:Service sleep-httpbin-sleep-service",
            "kubernetes:core/v1:ServiceAccount sleep-httpbin-httpbin-sa",
            "kubernetes:core/v1:ServiceAccount sleep-httpbin-sleep-sa",
        ]);
    });

    it("creates everything after the prerequisites, and each Deployment after its service account", () => {
        expect(graph(run, "sleep-httpbin")).to.deep.equal({
            "sleep-httpbin-sleep-sa": ["sleep-httpbin", ["istiod"]],
            "sleep-httpbin-sleep-service": ["sleep-httpbin", ["istiod"]],
            "sleep-httpbin-sleep": ["sleep-httpbin", ["istiod", "sleep-httpbin-sleep-sa"]],
            "sleep-httpbin-httpbin-sa": ["sleep-httpbin", ["istiod"]],
            "sleep-httpbin-httpbin-service": ["sleep-httpbin", ["istiod"]],
            "sleep-httpbin-httpbin": ["sleep-httpbin", ["istiod", "sleep-httpbin-httpbin-sa"]],
        });
    });

    it("declares sleep as Istio 1.30.3's samples/sleep/sleep.yaml does, its pods labelled for a SPIRE identity", () => {
        expect(sleepDeploymentArgs("default")).to.deep.equal({
            metadata: { name: "sleep", namespace: "default" },
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: "sleep" } },
                template: {
                    metadata: { labels: { app: "sleep", [SPIRE_LABEL]: "true" } },
                    spec: {
                        terminationGracePeriodSeconds: 0,
                        serviceAccountName: "sleep",
                        containers: [
                            {
                                name: "sleep",
                                image: "docker.io/curlimages/curl:8.16.0",
                                command: ["/bin/sleep", "infinity"],
                                imagePullPolicy: "IfNotPresent",
                                volumeMounts: [{ mountPath: "/etc/sleep/tls", name: "secret-volume" }],
                            },
                        ],
                        volumes: [{ name: "secret-volume", secret: { secretName: "sleep-secret", optional: true } }],
                    },
                },
            },
        });
        expect(sleepServiceArgs("default")).to.deep.equal({
            metadata: { name: "sleep", namespace: "default", labels: { app: "sleep", service: "sleep" } },
            spec: { ports: [{ port: 80, name: "http" }], selector: { app: "sleep" } },
        });
        expect(named(run.declared, "sleep-httpbin-sleep").inputs).to.deep.equal(deployment(sleepDeploymentArgs("default")));
        expect(named(run.declared, "sleep-httpbin-sleep-service").inputs).to.deep.equal(service(sleepServiceArgs("default")));
        expect(named(run.declared, "sleep-httpbin-sleep-sa").inputs).to.deep.equal(serviceAccount("sleep"));
    });

    it("declares httpbin as Istio 1.30.3's samples/httpbin/httpbin.yaml does: port 8000 to 8080, version v1", () => {
        expect(httpbinDeploymentArgs("default")).to.deep.equal({
            metadata: { name: "httpbin", namespace: "default" },
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: "httpbin", version: "v1" } },
                template: {
                    metadata: { labels: { app: "httpbin", version: "v1", [SPIRE_LABEL]: "true" } },
                    spec: {
                        serviceAccountName: "httpbin",
                        containers: [
                            {
                                image: "docker.io/mccutchen/go-httpbin:v2.15.0",
                                imagePullPolicy: "IfNotPresent",
                                name: "httpbin",
                                ports: [{ containerPort: 8080 }],
                            },
                        ],
                    },
                },
            },
        });
        expect(httpbinServiceArgs("default")).to.deep.equal({
            metadata: { name: "httpbin", namespace: "default", labels: { app: "httpbin", service: "httpbin" } },
            spec: { ports: [{ name: "http", port: 8000, targetPort: 8080 }], selector: { app: "httpbin" } },
        });
        expect(named(run.declared, "sleep-httpbin-httpbin").inputs).to.deep.equal(deployment(httpbinDeploymentArgs("default")));
        expect(named(run.declared, "sleep-httpbin-httpbin-service").inputs).to.deep.equal(service(httpbinServiceArgs("default")));
        expect(named(run.declared, "sleep-httpbin-httpbin-sa").inputs).to.deep.equal(serviceAccount("httpbin"));
    });

    it("exports the SPIFFE IDs SPIRE issues to sleep and httpbin, and httpbin's URL", async () => {
        const outputs = await runProgram(
            async () => ({
                sleep: sample.sleepSpiffeId,
                httpbin: sample.httpbinSpiffeId,
                url: sample.httpbinUrl,
                namespace: sample.namespace,
            }),
            {},
        );
        expect(outputs.outputs).to.deep.equal({
            sleep: "spiffe://cluster1.demo/ns/default/sa/sleep",
            httpbin: "spiffe://cluster1.demo/ns/default/sa/httpbin",
            url: "http://httpbin.default.svc.cluster.local:8000",
            namespace: "default",
        });
    });

    it("refuses a namespace that is not an RFC 1123 label, naming it, before declaring anything", async () => {
        let error: Error | undefined;
        const bad = await declare(() => {
            error = thrown(() => new SleepHttpbin("s", { namespace: "Default", trustDomain: "cluster1.demo" }));
        });
        expect(error).to.be.instanceOf(ValidationError);
        expect(error!.message).to.equal(
            'SleepHttpbin "s": namespace: "Default" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
        );
        expect(summary(bad)).to.deep.equal([]);
    });

    it("takes its namespace and trust domain as Outputs (a Namespace the program creates, Spire.trustDomain)", async () => {
        let fromOutputs: SleepHttpbin | undefined;
        const outputsRun = await declare((istiod) => {
            fromOutputs = new SleepHttpbin("s", { namespace: pulumi.output("apps"), trustDomain: pulumi.output("platform.example"), prerequisites: [istiod] });
        });
        expect(named(outputsRun.declared, "s-sleep").inputs).to.deep.equal(deployment(sleepDeploymentArgs("apps")));
        expect(named(outputsRun.declared, "s-httpbin-service").inputs).to.deep.equal(service(httpbinServiceArgs("apps")));
        expect(named(outputsRun.declared, "s-httpbin-sa").inputs.metadata).to.deep.equal({ name: "httpbin", namespace: "apps" });
        const { outputs } = await runProgram(
            async () => ({
                sleep: fromOutputs!.sleepSpiffeId,
                url: fromOutputs!.httpbinUrl,
                namespace: fromOutputs!.namespace,
            }),
            {},
        );
        expect(outputs).to.deep.equal({
            sleep: "spiffe://platform.example/ns/apps/sa/sleep",
            url: "http://httpbin.apps.svc.cluster.local:8000",
            namespace: "apps",
        });
    });

    it("checks a namespace given as an Output when it resolves: nothing is created in it, and the error names it", async () => {
        let fromOutputs: SleepHttpbin | undefined;
        const outputsRun = await declare(() => {
            fromOutputs = new SleepHttpbin("s", { namespace: pulumi.output("Apps"), trustDomain: "cluster1.demo" });
        });
        expect(summary(outputsRun)).to.deep.equal(["istio-spire:samples:SleepHttpbin s"]);
        const error = await resolve(fromOutputs!.namespace).then(
            () => undefined,
            (e: Error) => e,
        );
        // The SDK prefixes the error of each resource input it could not resolve ("error serializing property ...:"), and
        // the deployment fails with it: the component's message ends it.
        expect(error).to.be.instanceOf(ValidationError);
        const expected =
            'SleepHttpbin "s": namespace: "Apps" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"';
        expect(error!.message.endsWith(` ${expected}`) || error!.message === expected, error!.message).to.equal(true);
    });
});

describe("the Bookinfo sample", () => {
    let run: ProgramRun<Record<string, never>>;
    let bookinfo: Bookinfo;
    before(async () => {
        run = await declare((istiod) => {
            bookinfo = new Bookinfo("bookinfo", { namespace: "default", trustDomain: "cluster2.demo", prerequisites: [istiod] });
        });
    });

    it("applies Istio's published manifest pinned to 1.30.3 as one yaml/v2 ConfigFile, not a copy in this repository", () => {
        expect(bookinfoManifestUrl("1.30.3")).to.equal("https://raw.githubusercontent.com/istio/istio/1.30.3/samples/bookinfo/platform/kube/bookinfo.yaml");
        const manifest = named(run.declared, "bookinfo-manifest");
        expect(manifest.type).to.equal("kubernetes:yaml/v2:ConfigFile");
        expect(manifest.inputs).to.deep.equal({
            file: "https://raw.githubusercontent.com/istio/istio/1.30.3/samples/bookinfo/platform/kube/bookinfo.yaml",
        });
    });

    it("puts the manifest's objects in its namespace with a transform, whatever namespace the provider gave them", async () => {
        const inApps = await declare(() => new Bookinfo("b", { namespace: "apps", trustDomain: "cluster2.demo" }));
        const manifest = named(inApps.declared, "b-manifest");
        // As pulumi-kubernetes registers bookinfo.yaml's objects under the ConfigFile: a namespaced object without a
        // namespace has the provider's default one (yaml/v2 Normalize), here the kubeconfig's "default".
        const deployment = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" } },
            spec: { replicas: 1 },
        };
        const placed = await transformedUnder(inApps.declared, manifest, {
            type: "kubernetes:apps/v1:Deployment",
            name: "b-manifest:default/productpage-v1",
            props: deployment,
        });
        expect(placed).to.deep.equal({ props: { ...deployment, metadata: { ...deployment.metadata, namespace: "apps" } }, ran: 1 });
        for (const [type, kind] of [
            ["kubernetes:core/v1:Service", "Service"],
            ["kubernetes:core/v1:ServiceAccount", "ServiceAccount"],
        ]) {
            const object = { apiVersion: "v1", kind, metadata: { name: "details" } };
            const { props } = await transformedUnder(inApps.declared, manifest, { type, name: "b-manifest:details", props: object });
            expect(props, kind).to.deep.equal({ ...object, metadata: { name: "details", namespace: "apps" } });
        }
        // The Gateway and VirtualService name their namespace themselves: no transform on them.
        expect([named(inApps.declared, "b-gateway").transforms, named(inApps.declared, "b-routes").transforms]).to.deep.equal([[], []]);
    });

    it("refuses, naming it, a manifest object of a type it does not know to be namespaced", async () => {
        const manifest = named(run.declared, "bookinfo-manifest");
        const role = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "reader" } };
        let error: Error | undefined;
        try {
            await transformedUnder(run.declared, manifest, {
                type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                name: "bookinfo-manifest:reader",
                props: role,
            });
        } catch (e) {
            error = e as Error;
        }
        expect(error?.message).to.equal(
            'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole "bookinfo-manifest:reader" is not one of the manifest\'s known namespaced types ' +
                '(kubernetes:apps/v1:Deployment, kubernetes:core/v1:Service, kubernetes:core/v1:ServiceAccount); it cannot be placed in namespace "default"',
        );
    });

    it("declares the manifest, the Gateway and the VirtualService, and nothing else (no provider of its own)", () => {
        expect(summary(run)).to.deep.equal([
            "istio-spire:samples:Bookinfo bookinfo",
            `${GATEWAY} bookinfo-gateway`,
            `${VIRTUAL_SERVICE} bookinfo-routes`,
            "kubernetes:yaml/v2:ConfigFile bookinfo-manifest",
        ]);
        expect(graph(run, "bookinfo")).to.deep.equal({
            "bookinfo-manifest": ["bookinfo", ["istiod"]],
            "bookinfo-gateway": ["bookinfo", ["istiod"]],
            "bookinfo-routes": ["bookinfo", ["istiod"]],
        });
    });

    it("exposes Bookinfo like samples/bookinfo/networking/bookinfo-gateway.yaml, on this program's gateway and port 80", () => {
        expect(named(run.declared, "bookinfo-gateway").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: "bookinfo-gateway", namespace: "default" },
            spec: {
                selector: { istio: "ingressgateway" },
                servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
            },
        });
        expect(named(run.declared, "bookinfo-routes").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "bookinfo", namespace: "default" },
            spec: {
                hosts: ["*"],
                gateways: ["bookinfo-gateway"],
                http: [
                    {
                        match: [
                            { uri: { exact: "/productpage" } },
                            { uri: { prefix: "/static" } },
                            { uri: { exact: "/login" } },
                            { uri: { exact: "/logout" } },
                            { uri: { prefix: "/api/v1/products" } },
                        ],
                        route: [{ destination: { host: "productpage", port: { number: 9080 } } }],
                    },
                ],
            },
        });
    });

    it("builds the Gateway and routes for another gateway selector, port and hosts", () => {
        expect(bookinfoGatewaySpec({ istio: "ingress" }, 8080, ["bookinfo.example.com"])).to.deep.equal({
            selector: { istio: "ingress" },
            servers: [{ port: { number: 8080, name: "http", protocol: "HTTP" }, hosts: ["bookinfo.example.com"] }],
        });
        expect(bookinfoVirtualServiceSpec("gw", ["bookinfo.example.com"]).hosts).to.deep.equal(["bookinfo.example.com"]);
        expect(bookinfoVirtualServiceSpec("gw", ["*"]).gateways).to.deep.equal(["gw"]);
    });

    it("exports the manifest URL, the product page's address and its SPIFFE ID", async () => {
        const { outputs } = await runProgram(
            async () => ({
                manifestUrl: bookinfo.manifestUrl,
                host: bookinfo.productpageHost,
                port: bookinfo.productpagePort,
                id: bookinfo.productpageSpiffeId,
                gateway: bookinfo.gatewayName,
            }),
            {},
        );
        expect(outputs).to.deep.equal({
            manifestUrl: "https://raw.githubusercontent.com/istio/istio/1.30.3/samples/bookinfo/platform/kube/bookinfo.yaml",
            host: "productpage.default.svc.cluster.local",
            port: 9080,
            id: "spiffe://cluster2.demo/ns/default/sa/bookinfo-productpage",
            gateway: "bookinfo-gateway",
        });
    });

    it("puts the manifest, the Gateway and the VirtualService on the provider it inherits from the component it is composed in", async () => {
        let given: Bookinfo | undefined;
        let provider: pulumi.ProviderResource | undefined;
        const composed = await declare(() => {
            const { Provider } = require("@pulumi/kubernetes") as typeof import("@pulumi/kubernetes");
            provider = new Provider("apps-cluster", { context: "apps" });
            const platform = new pulumi.ComponentResource("test:index:Platform", "platform", {}, { providers: [provider] });
            given = new Bookinfo("b", { namespace: "apps", trustDomain: "cluster2.demo", istioVersion: "1.30.2" }, { parent: platform });
        });
        const providerRef = `${named(composed.declared, "apps-cluster").urn}::apps-cluster-id`;
        const children = composed.declared.filter((d) => d.parent === "b").map((d) => [d.name, d.provider]);
        expect(children).to.have.deep.members([
            ["b-manifest", providerRef],
            ["b-gateway", providerRef],
            ["b-routes", providerRef],
        ]);
        expect(composed.declared.filter((d) => d.type.startsWith("pulumi:providers:")).map((d) => d.name)).to.deep.equal(["apps-cluster"]);
        expect(given!.manifest.getProvider("kubernetes:yaml/v2:ConfigFile")).to.equal(provider);
        expect(named(composed.declared, "b-manifest").inputs.file).to.equal(
            "https://raw.githubusercontent.com/istio/istio/1.30.2/samples/bookinfo/platform/kube/bookinfo.yaml",
        );
    });

    it("refuses an Istio release that is not one exact version, and an empty gateway selector", () => {
        const error = thrown(() => new Bookinfo("b", { namespace: "default", trustDomain: "cluster2.demo", istioVersion: "1.30", gatewaySelector: {} }));
        expect(error.message).to.equal(
            [
                'Bookinfo "b" (2 problems):',
                '  - istioVersion: "1.30" is not one exact Istio release; expected a release tag such as "1.30.3" (it pins the manifest URL)',
                '  - gatewaySelector: {} is empty; expected the gateway pods\' labels, e.g. {"istio":"ingressgateway"}',
            ].join("\n"),
        );
    });
});

describe("the curl-greeter sample", () => {
    let run: ProgramRun<Record<string, never>>;
    let greeter: CurlGreeter;
    before(async () => {
        run = await declare((istiod) => {
            greeter = new CurlGreeter("curl-greeter", { namespace: "default", trustDomain: "cluster1.demo", prerequisites: [istiod] });
        });
    });

    it("declares the curl-greeter service account and a Deployment after it, nothing else", () => {
        expect(summary(run)).to.deep.equal([
            "istio-spire:samples:CurlGreeter curl-greeter",
            "kubernetes:apps/v1:Deployment curl-greeter-deployment",
            "kubernetes:core/v1:ServiceAccount curl-greeter-sa",
        ]);
        expect(graph(run, "curl-greeter")).to.deep.equal({
            "curl-greeter-sa": ["curl-greeter", ["istiod"]],
            "curl-greeter-deployment": ["curl-greeter", ["curl-greeter-sa", "istiod"]],
        });
        expect(named(run.declared, "curl-greeter-sa").inputs).to.deep.equal(serviceAccount("curl-greeter"));
    });

    it("runs the pinned curl image sleeping forever, labelled for SPIRE, with the sidecar DNS proxy and no template annotation", () => {
        expect(CURL_IMAGE).to.equal("docker.io/curlimages/curl:8.16.0");
        expect(named(run.declared, "curl-greeter-deployment").inputs).to.deep.equal({
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "curl-greeter", namespace: "default", labels: { app: "curl-greeter" } },
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: "curl-greeter" } },
                template: {
                    metadata: {
                        labels: { app: "curl-greeter", [SPIRE_LABEL]: "true" },
                        annotations: { "proxy.istio.io/config": '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}' },
                    },
                    spec: {
                        terminationGracePeriodSeconds: 0,
                        serviceAccountName: "curl-greeter",
                        containers: [
                            {
                                name: "curl-greeter",
                                image: "docker.io/curlimages/curl:8.16.0",
                                command: ["/bin/sleep", "infinity"],
                                imagePullPolicy: "IfNotPresent",
                            },
                        ],
                    },
                },
            },
        });
    });

    it("leaves the DNS proxy annotation out when dnsCapture is false", () => {
        const args = curlGreeterDeploymentArgs("default", CURL_IMAGE, false);
        expect(args.spec.template).to.deep.equal({
            metadata: { labels: { app: "curl-greeter", [SPIRE_LABEL]: "true" } },
            spec: (curlGreeterDeploymentArgs("default", CURL_IMAGE, true).spec.template as { spec: unknown }).spec,
        });
    });

    it("exports the SPIFFE ID a peer admits", async () => {
        const { outputs } = await runProgram(async () => ({ id: greeter.spiffeId, sa: greeter.serviceAccount, deployment: greeter.deploymentName }), {});
        expect(outputs).to.deep.equal({ id: "spiffe://cluster1.demo/ns/default/sa/curl-greeter", sa: "curl-greeter", deployment: "curl-greeter" });
    });

    it("checks a trust domain given as an Output when it resolves, and takes a good one", async () => {
        let bad: CurlGreeter | undefined;
        let good: CurlGreeter | undefined;
        const outputsRun = await declare(() => {
            bad = new CurlGreeter("bad", { namespace: "default", trustDomain: pulumi.output("Cluster1.demo") });
            good = new CurlGreeter("good", { namespace: pulumi.output("apps"), trustDomain: pulumi.output("cluster1.demo") });
        });
        expect(named(outputsRun.declared, "good-deployment").inputs.metadata.namespace).to.equal("apps");
        const error = await resolve(bad!.spiffeId).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error).to.be.instanceOf(ValidationError);
        const expected = 'CurlGreeter "bad": trustDomain: "Cluster1.demo" contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster1.demo"';
        expect(error!.message.endsWith(` ${expected}`) || error!.message === expected, error!.message).to.equal(true);
        expect(await resolve(good!.spiffeId)).to.equal("spiffe://cluster1.demo/ns/apps/sa/curl-greeter");
    });

    it("refuses an image that floats, naming it", () => {
        expect(checkPinnedImage("curlimages/curl@sha256:" + "a".repeat(64))).to.equal(undefined);
        expect(checkPinnedImage("registry:5000/curl:8.16.0")).to.equal(undefined);
        expect(checkPinnedImage("registry:5000/curl")).to.equal(
            'has no tag, so it floats with "latest"; expected an image pinned by tag or digest, e.g. "docker.io/curlimages/curl:8.16.0"',
        );
        const floating = { namespace: "default", trustDomain: "cluster1.demo", image: "curlimages/curl:latest" };
        expect(thrown(() => new CurlGreeter("c", floating)).message).to.equal(
            'CurlGreeter "c": image: "curlimages/curl:latest" uses the floating tag "latest"; expected an image pinned by tag or digest, e.g. "docker.io/curlimages/curl:8.16.0"',
        );
    });
});

describe("the client side of the federated call", () => {
    const clientArgs = (gatewayAddress: pulumi.Input<string>) => ({
        host: HOST,
        gatewayAddress,
        serverSpiffeId: GATEWAY_ID,
        namespace: "default",
    });

    it("sends the host's port 80 to a gateway IP's port 443 with a STATIC ServiceEntry, visible in its namespace only", async () => {
        const run = await declare((istiod) => new FederatedServiceClient("bookinfo-client", { ...clientArgs("203.0.113.20"), prerequisites: [istiod] }));
        expect(summary(run)).to.deep.equal([
            "istio-spire:samples:FederatedServiceClient bookinfo-client",
            `${DESTINATION_RULE} bookinfo-client-destination-rule`,
            `${SERVICE_ENTRY} bookinfo-client-service-entry`,
        ]);
        expect(graph(run, "bookinfo-client")).to.deep.equal({
            "bookinfo-client-service-entry": ["bookinfo-client", ["istiod"]],
            "bookinfo-client-destination-rule": ["bookinfo-client", ["istiod"]],
        });
        expect(named(run.declared, "bookinfo-client-service-entry").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "ServiceEntry",
            metadata: { name: "federated-bookinfo-cluster2-demo", namespace: "default" },
            spec: {
                hosts: ["bookinfo.cluster2.demo"],
                location: "MESH_EXTERNAL",
                resolution: "STATIC",
                ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 443 }],
                endpoints: [{ address: "203.0.113.20" }],
                exportTo: ["."],
            },
        });
    });

    it("originates Istio mTLS with SNI = the host and accepts only the peer gateway's SPIFFE ID", async () => {
        const run = await declare(() => new FederatedServiceClient("c", clientArgs("203.0.113.20")));
        expect(named(run.declared, "c-destination-rule").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "DestinationRule",
            metadata: { name: "federated-bookinfo-cluster2-demo", namespace: "default" },
            spec: {
                host: "bookinfo.cluster2.demo",
                trafficPolicy: {
                    tls: {
                        mode: "ISTIO_MUTUAL",
                        sni: "bookinfo.cluster2.demo",
                        subjectAltNames: ["spiffe://cluster2.demo/ns/istio-system/sa/istio-ingressgateway-service-account"],
                    },
                },
                exportTo: ["."],
            },
        });
    });

    it("resolves a gateway host name with DNS, also when the address comes from a peer's stack outputs as an Output", async () => {
        let client: FederatedServiceClient | undefined;
        const run = await declare(() => {
            client = new FederatedServiceClient("c", clientArgs(pulumi.output("a1b2.elb.us-east-1.amazonaws.com")));
        });
        expect(named(run.declared, "c-service-entry").inputs.spec).to.deep.equal({
            hosts: ["bookinfo.cluster2.demo"],
            location: "MESH_EXTERNAL",
            resolution: "DNS",
            ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 443 }],
            endpoints: [{ address: "a1b2.elb.us-east-1.amazonaws.com" }],
            exportTo: ["."],
        });
        const { outputs } = await runProgram(async () => ({ url: client!.url, resolution: client!.resolution, name: client!.resourceName }), {});
        expect(outputs).to.deep.equal({ url: "http://bookinfo.cluster2.demo", resolution: "DNS", name: "federated-bookinfo-cluster2-demo" });
    });

    it("never declares a ServiceEntry for an address from the outputs that is neither an IP address nor a DNS name", async () => {
        const run = await declare(() => new FederatedServiceClient("c", clientArgs(pulumi.output("not an address"))));
        expect(summary(run)).to.deep.equal(["istio-spire:samples:FederatedServiceClient c", `${DESTINATION_RULE} c-destination-rule`]);
    });

    it("takes its namespace as an Output, and creates nothing in one that fails the check", async () => {
        const outputsRun = await declare(() => {
            new FederatedServiceClient("good", { ...clientArgs("203.0.113.20"), namespace: pulumi.output("apps") });
            new FederatedServiceClient("bad", { ...clientArgs("203.0.113.20"), namespace: pulumi.output("-apps") });
        });
        expect(
            outputsRun.declared
                .filter((d) => [SERVICE_ENTRY, DESTINATION_RULE].includes(d.type))
                .map((d) => `${d.name} ${d.inputs.metadata.namespace}`)
                .sort(),
        ).to.deep.equal(["good-destination-rule apps", "good-service-entry apps"]);
    });

    it("chooses STATIC for IPv4 and IPv6 addresses and DNS for names and render placeholders", () => {
        expect(gatewayResolution("203.0.113.20")).to.equal("STATIC");
        expect(gatewayResolution("2001:db8::20")).to.equal("STATIC");
        expect(gatewayResolution("gw.cluster2.example.com")).to.equal("DNS");
        const placeholder = deployTimePlaceholder("cluster2 output samples.bookinfo.gatewayAddress");
        expect(checkGatewayAddress(placeholder)).to.equal(undefined);
        expect(gatewayResolution(placeholder)).to.equal("DNS");
    });

    it("builds the ServiceEntry for other ports", () => {
        expect(federatedServiceEntrySpec(HOST, "203.0.113.20", 8443, 8080).ports).to.deep.equal([
            { number: 8080, name: "http", protocol: "HTTP", targetPort: 8443 },
        ]);
        expect(federatedDestinationRuleSpec(HOST, GATEWAY_ID).trafficPolicy.tls.subjectAltNames).to.deep.equal([GATEWAY_ID]);
    });

    it("refuses a host that is not a fully qualified DNS name, an address that is neither IP nor name, and a bad SPIFFE ID", () => {
        expect(
            thrown(() =>
                validateFederatedServiceClientArgs("c", {
                    host: "bookinfo",
                    gatewayAddress: "http://203.0.113.20",
                    serverSpiffeId: "cluster2.demo/ns/istio-system/sa/gw",
                    namespace: "default",
                    port: 0,
                }),
            ).message,
        ).to.equal(
            [
                'FederatedServiceClient "c" (4 problems):',
                '  - host: "bookinfo" is a single label, which the pod\'s DNS search path would resolve inside the cluster; expected a fully qualified name, e.g. "bookinfo.cluster2.demo"',
                "  - port: 0 is not a port; expected an integer from 1 to 65535",
                '  - gatewayAddress: "http://203.0.113.20" is neither an IP address nor a DNS name; expected a load balancer address such as "203.0.113.20" or "gw.example.com"',
                '  - serverSpiffeId: "cluster2.demo/ns/istio-system/sa/gw" does not start with "spiffe://"; expected a SPIFFE ID such as "spiffe://cluster2.demo/spire/server"',
            ].join("\n"),
        );
    });

    it("refuses wildcards, ports, URLs and capitals in the host, and a trust domain ID as the server's identity", () => {
        expect(checkHostname("*.cluster2.demo")).to.equal('is a wildcard; expected one exact DNS name, e.g. "bookinfo.cluster2.demo"');
        expect(checkHostname("bookinfo.cluster2.demo:443")).to.equal('contains a port; expected only the host name, e.g. "bookinfo.cluster2.demo"');
        expect(checkHostname("https://bookinfo.cluster2.demo")).to.equal('is a URL; expected only the host name, e.g. "bookinfo.cluster2.demo"');
        expect(checkHostname("Bookinfo.cluster2.demo")).to.equal('contains uppercase letters; expected a lowercase DNS name, e.g. "bookinfo.cluster2.demo"');
        expect(checkHostname("bookinfo.-cluster2.demo")).to.equal(
            'has the label "-cluster2"; each label is 1 to 63 lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "bookinfo.cluster2.demo"',
        );
        const trustDomainId = { ...clientArgs("203.0.113.20"), serverSpiffeId: "spiffe://cluster2.demo" };
        expect(thrown(() => new FederatedServiceClient("c", trustDomainId)).message).to.equal(
            'FederatedServiceClient "c": serverSpiffeId: "spiffe://cluster2.demo" has no path, so it names a whole trust domain; expected a workload\'s ID such as "spiffe://cluster1.demo/ns/default/sa/curl-greeter"',
        );
    });
});

describe("the server side of the federated call", () => {
    const accessArgs = (allowedSpiffeIds: string[]) => ({
        host: HOST,
        allowedSpiffeIds,
        gatewaySelector: { istio: "ingressgateway" },
        gatewayNamespace: "istio-system",
        destination: PRODUCTPAGE,
        uriMatches: BOOKINFO_URI_MATCHES,
    });

    let run: ProgramRun<Record<string, never>>;
    let access: FederatedServiceAccess;
    before(async () => {
        run = await declare((istiod) => {
            access = new FederatedServiceAccess("bookinfo-access", { ...accessArgs([CURL_GREETER_ID]), prerequisites: [istiod] });
        });
    });

    it("admits only the allowed SPIFFE IDs, as Istio principals without spiffe://, for the host with or without a port", () => {
        expect(istioPrincipal(CURL_GREETER_ID)).to.equal("cluster1.demo/ns/default/sa/curl-greeter");
        expect(named(run.declared, "bookinfo-access-policy").inputs).to.deep.equal({
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: "federated-bookinfo-cluster2-demo", namespace: "istio-system" },
            spec: {
                selector: { matchLabels: { istio: "ingressgateway" } },
                action: "DENY",
                rules: [
                    {
                        from: [{ source: { notPrincipals: ["cluster1.demo/ns/default/sa/curl-greeter"] } }],
                        to: [{ operation: { hosts: ["bookinfo.cluster2.demo", "bookinfo.cluster2.demo:*"] } }],
                    },
                ],
            },
        });
    });

    it("serves the host on the gateway's 443 with ISTIO_MUTUAL and routes Bookinfo's paths to the product page", () => {
        expect(named(run.declared, "bookinfo-access-gateway").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: "federated-bookinfo-cluster2-demo", namespace: "istio-system" },
            spec: {
                selector: { istio: "ingressgateway" },
                servers: [
                    {
                        port: { number: 443, name: "https-federated", protocol: "HTTPS" },
                        hosts: ["bookinfo.cluster2.demo"],
                        tls: { mode: "ISTIO_MUTUAL" },
                    },
                ],
            },
        });
        expect(named(run.declared, "bookinfo-access-routes").inputs).to.deep.equal({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "federated-bookinfo-cluster2-demo", namespace: "istio-system" },
            spec: {
                hosts: ["bookinfo.cluster2.demo"],
                gateways: ["federated-bookinfo-cluster2-demo"],
                http: [
                    {
                        match: [
                            { uri: { exact: "/productpage" } },
                            { uri: { prefix: "/static" } },
                            { uri: { exact: "/login" } },
                            { uri: { exact: "/logout" } },
                            { uri: { prefix: "/api/v1/products" } },
                        ],
                        route: [{ destination: { host: "productpage.default.svc.cluster.local", port: { number: 9080 } } }],
                    },
                ],
            },
        });
    });

    it("creates the policy first and opens the host only after it", () => {
        expect(summary(run)).to.deep.equal([
            "istio-spire:samples:FederatedServiceAccess bookinfo-access",
            `${GATEWAY} bookinfo-access-gateway`,
            `${VIRTUAL_SERVICE} bookinfo-access-routes`,
            `${AUTHORIZATION_POLICY} bookinfo-access-policy`,
        ]);
        expect(graph(run, "bookinfo-access")).to.deep.equal({
            "bookinfo-access-policy": ["bookinfo-access", ["istiod"]],
            "bookinfo-access-gateway": ["bookinfo-access", ["bookinfo-access-policy", "istiod"]],
            "bookinfo-access-routes": ["bookinfo-access", ["bookinfo-access-policy", "istiod"]],
        });
    });

    it("exports the admitted principals, sorted", async () => {
        const { outputs } = await runProgram(async () => ({ principals: access.allowedPrincipals, enabled: access.enabled, host: access.host }), {});
        expect(outputs).to.deep.equal({ principals: ["cluster1.demo/ns/default/sa/curl-greeter"], enabled: true, host: HOST });
        expect(
            federatedAuthorizationPolicySpec(HOST, { istio: "ingressgateway" }, ["spiffe://cluster3.demo/ns/default/sa/curl-greeter", CURL_GREETER_ID]).rules[0]
                .from,
        ).to.deep.equal([{ source: { notPrincipals: ["cluster1.demo/ns/default/sa/curl-greeter", "cluster3.demo/ns/default/sa/curl-greeter"] } }]);
    });

    it("declares no Gateway, route or policy at all when no SPIFFE ID is allowed", async () => {
        let closed: FederatedServiceAccess | undefined;
        const none = await declare(() => {
            closed = new FederatedServiceAccess("bookinfo-access", accessArgs([]));
        });
        expect(summary(none)).to.deep.equal(["istio-spire:samples:FederatedServiceAccess bookinfo-access"]);
        const { outputs } = await runProgram(async () => ({ principals: closed!.allowedPrincipals, enabled: closed!.enabled }), {});
        expect(outputs).to.deep.equal({ principals: [], enabled: false });
    });

    it("takes the gateway namespace as an Output (IstioMesh.namespace), and checks it when it resolves", async () => {
        const outputsRun = await declare(() => {
            new FederatedServiceAccess("from-mesh", { ...accessArgs([CURL_GREETER_ID]), gatewayNamespace: pulumi.output("mesh-gateways") });
            new FederatedServiceAccess("bad", { ...accessArgs([CURL_GREETER_ID]), gatewayNamespace: pulumi.output("Mesh") });
        });
        const namespaces = outputsRun.declared
            .filter((d) => [GATEWAY, VIRTUAL_SERVICE, AUTHORIZATION_POLICY].includes(d.type))
            .map((d) => `${d.name} ${d.inputs.metadata.namespace}`)
            .sort();
        // Nothing of "bad": its namespace fails the check, so none of its objects is created.
        expect(namespaces).to.deep.equal(["from-mesh-gateway mesh-gateways", "from-mesh-policy mesh-gateways", "from-mesh-routes mesh-gateways"]);
    });

    it("routes every path by default", () => {
        const { uriMatches, ...args } = accessArgs([CURL_GREETER_ID]);
        expect(uriMatches).to.have.length(5);
        expect(federatedVirtualServiceSpec(args.host, "gw", PRODUCTPAGE, [{ uri: { prefix: "/" } }]).http[0].match).to.deep.equal([{ uri: { prefix: "/" } }]);
        expect(federatedGatewaySpec(HOST, { app: "gw" }, 8443).servers[0].port).to.deep.equal({
            number: 8443,
            name: "https-federated",
            protocol: "HTTPS",
        });
        expect(federatedResourceName("a.b.c")).to.equal("federated-a-b-c");
    });

    it("refuses bad and duplicate SPIFFE IDs, an empty gateway selector and a short destination host, naming each", () => {
        expect(
            thrown(() =>
                validateFederatedServiceAccessArgs("a", {
                    ...accessArgs(["spiffe://cluster1.demo/ns/default/sa/curl greeter", CURL_GREETER_ID, CURL_GREETER_ID]),
                    gatewaySelector: {},
                    destination: { host: "productpage", port: 9080 },
                }),
            ).message,
        ).to.equal(
            [
                'FederatedServiceAccess "a" (4 problems):',
                '  - gatewaySelector: {} is empty; expected the ingress gateway pods\' labels, e.g. {"istio":"ingressgateway"}',
                '  - destination.host: "productpage" is a single label, which the pod\'s DNS search path would resolve inside the cluster; expected a fully qualified name, e.g. "bookinfo.cluster2.demo"',
                '  - allowedSpiffeIds[0]: "spiffe://cluster1.demo/ns/default/sa/curl greeter" has the path segment "curl greeter"; SPIFFE ID path segments contain only letters, digits, ".", "-" and "_"',
                '  - allowedSpiffeIds: "spiffe://cluster1.demo/ns/default/sa/curl-greeter" is listed twice; list each ID once',
            ].join("\n"),
        );
    });

    it("declares nothing when its arguments are refused", async () => {
        let error: Error | undefined;
        const refused = await declare(() => {
            error = thrown(() => new FederatedServiceAccess("a", { ...accessArgs([CURL_GREETER_ID]), host: "*.cluster2.demo" }));
        });
        expect(error).to.be.instanceOf(ValidationError);
        expect(error!.message).to.equal(
            'FederatedServiceAccess "a": host: "*.cluster2.demo" is a wildcard; expected one exact DNS name, e.g. "bookinfo.cluster2.demo"',
        );
        expect(summary(refused)).to.deep.equal([]);
    });
});
