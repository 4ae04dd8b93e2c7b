// Judge by what the charts render, not by the values we send: every Helm release the program declares is rendered
// with the real pinned chart (`helm template`, the release's own name, namespace and values), for configurations that
// are this file's own, and the assertions read the rendered objects: SPIRE's server.conf and agent.conf, the
// controller manager's config, istiod's injector and mesh ConfigMaps, the gateway's Deployment and Service, the
// observability Services; and they check that what the program declares beside the charts (the bundle endpoint
// Service, ClusterSPIFFEIDs, Istio Gateways, port-forward commands, `npm run verify`'s object names) fits them.

import { expect } from "chai";
import * as path from "path";
import { parse } from "yaml";
import {
    AGENT_SDS,
    BUNDLE_CONFIGMAP,
    BUNDLE_CONFIGMAP_KEY,
    BUNDLE_ENDPOINT_PORT,
    GRAFANA_PORT,
    GRAFANA_SERVICE,
    KIALI_METRICS_PORT,
    KIALI_PORT,
    KIALI_SERVICE,
    KIALI_WEB_ROOT,
    PROMETHEUS_PORT,
    PROMETHEUS_SERVICE,
    SPIFFE_CSI_DRIVER,
    SPIRE_GATEWAY_TEMPLATE,
    SPIRE_RELEASE_NAME,
    SPIRE_TEMPLATE,
    WORKLOAD_SOCKET_DIR,
    WORKLOAD_SOCKET_NAME,
    controllerClassNameFor,
    deepMerge,
    parseStackConfig,
    spireSidecarTemplate,
} from "../components";
import { requireUpstream } from "../tools/upstream/artifacts";
import {
    ChartRenderer,
    ReleaseRender,
    describeObject,
    isHelmHook,
    objectsOf,
    parsePortForward,
    podTemplateOf,
    releasesOf,
    resolvePortForward,
    selects,
    theObject,
    requireHelm,
} from "./chartRender";
import { webPeer } from "./testStacks";
import { Declared, ProgramRun, World, chartObjectsRead, runProgram } from "../tools/mock-engine/harness";
import { RenderedObject, helmTemplate, helmTemplateAsync } from "../tools/upstream/helm";
import { chartDir } from "../tools/upstream/upstream";
import {
    GATEWAY_CLUSTER_SPIFFE_ID,
    ISTIOD_DEPLOYMENT,
    PROXY_CONTAINER,
    SPIFFE_CSI_DRIVER_DAEMONSET,
    SPIRE_AGENT_DAEMONSET,
    SPIRE_SERVER_STATEFULSET,
    WORKLOAD_CLUSTER_SPIFFE_ID,
    expectationsFromConfig,
} from "../tools/verify/verifyChecks";

const program: () => Promise<unknown> = require("../index");

// ---------------------------------------------------------------------------------------------------------------
// The configurations (this file's own; the stack files are never read) and what each must render

interface Expected {
    trustDomain: string;
    clusterName: string;
    spireNamespace: string;
    istioNamespace: string;
    /** The controller class the chart's controller manager must watch (`<spire namespace>-spire`). */
    className: string;
    caTTL: string;
    caSubject: { country: string; organization: string; commonName: string };
    refreshHint: string;
    nativeSidecars: boolean;
    /** meshConfig.trustDomainAliases in the rendered mesh config (absent when empty). */
    trustDomainAliases: string[];
    gateway: { name: string; serviceAccount: string; istioLabel: string; serviceType: string };
    /** The Istio Gateways the program declares (by name) that must select the ingress gateway pods. */
    istioGateways: string[];
    grafana: boolean;
    /** observabilityAccess: what anonymous users of Kiali and Grafana may do. */
    access: "view" | "edit";
}

interface Case {
    title: string;
    stack: string;
    config: Record<string, unknown>;
    world?: World;
    expected: Expected;
}

const ORG = "acme";

const CASES: Case[] = [
    {
        title: "default-ish stack (east.example, observability on)",
        stack: "east",
        config: { trustDomain: "east.example", clusterName: "east", observability: true },
        expected: {
            trustDomain: "east.example",
            clusterName: "east",
            spireNamespace: "spire-server",
            istioNamespace: "istio-system",
            className: "spire-server-spire",
            caTTL: "720h",
            caSubject: { country: "US", organization: "SPIRE", commonName: "east.example" },
            refreshHint: "5m",
            nativeSidecars: true,
            trustDomainAliases: [],
            gateway: {
                name: "istio-ingressgateway",
                serviceAccount: "istio-ingressgateway-service-account",
                istioLabel: "ingressgateway",
                serviceType: "LoadBalancer",
            },
            istioGateways: [],
            grafana: false,
            access: "view",
        },
    },
    {
        title: "non-default stack (classic sidecars, own namespaces and gateway, Grafana, edit access, own CA, peers, samples)",
        stack: "west",
        config: {
            trustDomain: "west.example",
            clusterName: "west-1",
            spireNamespace: "spire",
            istioNamespace: "mesh-system",
            nativeSidecars: false,
            ingressGatewayName: "istio-edge-gateway",
            ingressGatewayServiceAccount: "edge-gateway-sa",
            ingressGatewayServiceType: "NodePort",
            observability: true,
            observabilityGrafana: true,
            observabilityAccess: "edit",
            caTTL: "96h",
            caSubjectCountry: "DE",
            caSubjectOrganization: "Example Org",
            caSubjectCommonName: "West Example CA",
            federationRefreshHint: "10m",
            bundleEndpointServiceType: "ClusterIP",
            bundleEndpointUrl: "https://spire-bundle.west.example:8443",
            enrolledNamespaces: ["apps"],
            samples: ["bookinfo", "curl-greeter"],
            samplesNamespace: "apps",
            peers: [{ stack: `${ORG}/istio-spire/south` }, { stack: `${ORG}/istio-spire/north` }],
        },
        world: {
            stackOutputs: {
                [`${ORG}/istio-spire/south`]: webPeer("south.example"),
                [`${ORG}/istio-spire/north`]: webPeer("north.example"),
            },
        },
        expected: {
            trustDomain: "west.example",
            clusterName: "west-1",
            spireNamespace: "spire",
            istioNamespace: "mesh-system",
            className: "spire-spire",
            caTTL: "96h",
            caSubject: { country: "DE", organization: "Example Org", commonName: "West Example CA" },
            refreshHint: "10m",
            nativeSidecars: false,
            trustDomainAliases: ["north.example", "south.example"],
            gateway: { name: "istio-edge-gateway", serviceAccount: "edge-gateway-sa", istioLabel: "edge-gateway", serviceType: "NodePort" },
            istioGateways: ["bookinfo-gateway"],
            grafana: true,
            access: "edit",
        },
    },
];

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** The `helm.sh/hook`-free objects of a render: what stays installed. */
const installed = (objects: RenderedObject[]) => objects.filter((o) => !isHelmHook(o));

/** Declared (not read) Kubernetes objects of a type token. */
const declaredOfType = (declared: Declared[], type: string) => declared.filter((d) => d.type === type && !d.read);

/** The rendered objects of one chart's release; fails if the program declares none or several. */
function renderOf(renders: ReleaseRender[], chart: string): ReleaseRender {
    const found = renders.filter((r) => r.chart === chart);
    if (found.length !== 1) {
        throw new Error(`expected one release of chart ${chart}, found ${found.length} (releases: ${renders.map((r) => `${r.name} (${r.chart})`).join(", ")})`);
    }
    return found[0];
}

interface Container {
    name: string;
    args?: string[];
    env?: { name: string; value?: string }[];
    ports?: { name?: string; containerPort: number }[];
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

function containerOf(o: RenderedObject, name: string, init = false): Container {
    const spec = podTemplateOf(o)!.spec;
    const list: Container[] = (init ? spec.initContainers : spec.containers) ?? [];
    const found = list.find((c) => c.name === name);
    if (found === undefined) {
        throw new Error(`${describeObject(o)} has no ${init ? "init " : ""}container ${name} (it has ${list.map((c) => c.name).join(", ")})`);
    }
    return found;
}

function volumeOf(o: RenderedObject, name: string): Record<string, any> {
    const found = (podTemplateOf(o)!.spec.volumes ?? []).find((v: { name: string }) => v.name === name);
    if (found === undefined) {
        throw new Error(`${describeObject(o)} has no volume ${name}`);
    }
    return found;
}

/** The value following a flag in a container's args (`-workload-api-socket-dir /x` → `/x`). */
function argAfter(c: Container, flag: string): string | undefined {
    const i = (c.args ?? []).indexOf(flag);
    return i >= 0 ? c.args![i + 1] : undefined;
}

interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether a Kubernetes label selector matches labels (an absent selector matches everything). */
function matchesSelector(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
    if (selector === undefined) {
        return true;
    }
    return (
        selects(selector.matchLabels ?? {}, labels) &&
        (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
            switch (operator) {
                case "In":
                    return key in labels && values.includes(labels[key]);
                case "NotIn":
                    return !(key in labels) || !values.includes(labels[key]);
                case "Exists":
                    return key in labels;
                case "DoesNotExist":
                    return !(key in labels);
                default:
                    throw new Error(`unknown selector operator ${operator}`);
            }
        })
    );
}

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``): objects are the same across versions of a group. */
const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");

// ---------------------------------------------------------------------------------------------------------------

describe("charts: what the pinned charts render from the program's values", function () {
    let helmBinary: string;
    /** Shared by every configuration: a release rendered for one is not rendered again for another. */
    let shared: ChartRenderer;
    /** The first configuration's run, reused by tests that only need some declared release. */
    let firstRun: ProgramRun<Record<string, any>> | undefined;

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        helmBinary = await requireHelm(this, "render the charts with");
        shared = new ChartRenderer(helmBinary);
    });

    for (const c of CASES) {
        describe(c.title, () => {
            const e = c.expected;
            let run: ProgramRun<Record<string, any>>;
            let renders: ReleaseRender[];
            /** Every object every release renders. */
            let all: RenderedObject[];
            let spire: RenderedObject[];
            let istiod: RenderedObject[];
            let gateway: RenderedObject[];

            before(async () => {
                run = await runProgram(program as () => Promise<Record<string, any>>, c.config, c.world ?? {}, c.stack);
                firstRun ??= run;
                renders = await shared.renderAll(run.declared);
                all = renders.flatMap((r) => r.objects);
                spire = renderOf(renders, "spire").objects;
                istiod = renderOf(renders, "istiod").objects;
                gateway = renderOf(renders, "gateway").objects;
            });

            it("declares exactly the releases expected, each rendered by its chart into the namespace the program gives it", () => {
                const observability = [
                    `prometheus prometheus ${e.istioNamespace}`,
                    `kiali kiali-server ${e.istioNamespace}`,
                    ...(e.grafana ? [`grafana grafana ${e.istioNamespace}`] : []),
                ];
                expect(renders.map((r) => `${r.name} ${r.chart} ${r.namespace}`).sort()).to.deep.equal(
                    [
                        `spire-crds spire-crds ${e.spireNamespace}`,
                        `spire spire ${e.spireNamespace}`,
                        `istio-base base ${e.istioNamespace}`,
                        `istiod istiod ${e.istioNamespace}`,
                        `${e.gateway.name} gateway ${e.istioNamespace}`,
                        ...observability,
                    ].sort(),
                );
                for (const r of renders) {
                    expect(r.objects.length, `${r.name} renders objects`).to.be.greaterThan(0);
                    // Every namespaced object lands in the release namespace (no chart option moves one elsewhere).
                    const elsewhere = r.objects.filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== r.namespace);
                    expect(elsewhere.map(describeObject), `${r.name}: objects outside ${r.namespace}`).to.deep.equal([]);
                }
            });

            it("renders into namespaces the program creates", () => {
                const created = declaredOfType(run.declared, "kubernetes:core/v1:Namespace").map((d) => d.inputs.metadata.name);
                expect(created.sort()).to.deep.equal([e.istioNamespace, e.spireNamespace].sort());
                const used = new Set(renders.map((r) => r.namespace));
                for (const o of all) {
                    if (o.metadata.namespace !== undefined) {
                        used.add(o.metadata.namespace);
                    }
                }
                expect([...used].sort()).to.deep.equal(created.sort());
            });

            describe("spire chart", () => {
                it("server.conf: trust domain, CA subject and TTL, bundle endpoint (port, refresh hint, https_spiffe profile)", () => {
                    // charts/spire-server/templates/configmap.yaml: server.conf is JSON in the spire-server ConfigMap.
                    const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-server", e.spireNamespace).data["server.conf"]);
                    expect(conf.server.trust_domain).to.equal(e.trustDomain);
                    expect(conf.server.ca_subject).to.deep.equal([
                        { country: [e.caSubject.country], organization: [e.caSubject.organization], common_name: e.caSubject.commonName },
                    ]);
                    expect(conf.server.ca_ttl).to.equal(e.caTTL);
                    expect(conf.server.federation).to.deep.equal({
                        bundle_endpoint: { address: "0.0.0.0", port: BUNDLE_ENDPOINT_PORT, refresh_hint: e.refreshHint, profile: [{ https_spiffe: {} }] },
                    });
                    expect(conf.server.federation.bundle_endpoint.port).to.equal(8443);
                    // k8s_psat attests agents of this cluster name only.
                    expect(conf.plugins.NodeAttestor.map((p: any) => Object.keys(p.k8s_psat.plugin_data.clusters[0]))).to.deep.equal([[e.clusterName]]);
                });

                it("runs SPIRE 1.15.2 and spire-controller-manager 0.7.0 (the versions the docs name for chart 0.30.0)", () => {
                    const server = theObject(spire, "StatefulSet", SPIRE_SERVER_STATEFULSET, e.spireNamespace);
                    const agent = theObject(spire, "DaemonSet", SPIRE_AGENT_DAEMONSET, e.spireNamespace);
                    expect(
                        [containerOf(server, "spire-server"), containerOf(server, "spire-controller-manager"), containerOf(agent, "spire-agent")].map(
                            (c) => (c as Container & { image: string }).image,
                        ),
                    ).to.deep.equal([
                        "ghcr.io/spiffe/spire-server:1.15.2",
                        "ghcr.io/spiffe/spire-controller-manager:0.7.0",
                        "ghcr.io/spiffe/spire-agent:1.15.2",
                    ]);
                });

                it("publishes the bundle to ConfigMap spire-bundle key bundle.spiffe in the SPIRE namespace, which the chart does not render", () => {
                    const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-server", e.spireNamespace).data["server.conf"]);
                    // charts/spire-server/templates/configmap.yaml: the k8s_configmap BundlePublisher ("chart-internal" cluster).
                    expect(conf.plugins.BundlePublisher).to.deep.equal([
                        {
                            k8s_configmap: {
                                plugin_data: {
                                    clusters: [
                                        {
                                            "chart-internal": {
                                                configmap_key: BUNDLE_CONFIGMAP_KEY,
                                                configmap_name: BUNDLE_CONFIGMAP,
                                                format: "spiffe",
                                                namespace: e.spireNamespace,
                                            },
                                        },
                                    ],
                                },
                            },
                        },
                    ]);
                    expect([BUNDLE_CONFIGMAP, BUNDLE_CONFIGMAP_KEY]).to.deep.equal(["spire-bundle", "bundle.spiffe"]);
                    // SPIRE creates it at run time: no chart renders it, so the program reads it (never declares it)...
                    expect(objectsOf(all, "ConfigMap", BUNDLE_CONFIGMAP).map(describeObject)).to.deep.equal([]);
                    // ...while the agents mount it (charts/spire-agent/templates/daemonset.yaml, volume spire-bundle).
                    const agent = theObject(spire, "DaemonSet", SPIRE_AGENT_DAEMONSET, e.spireNamespace);
                    expect(volumeOf(agent, "spire-bundle").configMap).to.deep.equal({ name: BUNDLE_CONFIGMAP });
                    // The program's read of it names exactly where the publisher writes.
                    const reads = run.declared.filter((d) => d.read && d.type === "kubernetes:core/v1:ConfigMap");
                    expect(reads.map((d) => d.id)).to.deep.equal([`${e.spireNamespace}/${BUNDLE_CONFIGMAP}`]);
                    expect(declaredOfType(run.declared, "kubernetes:core/v1:ConfigMap").map((d) => d.inputs.metadata?.name)).to.not.include(BUNDLE_CONFIGMAP);
                    // The program's server-side apply patch of it owns metadata only; SPIRE applies data (charts/spire-server/
                    // templates/roles.yaml lets the server get, patch and create it).
                    const patch = declaredOfType(run.declared, "kubernetes:core/v1:ConfigMapPatch").filter((d) => d.inputs.metadata?.name === BUNDLE_CONFIGMAP);
                    expect(patch.map((d) => [d.inputs.metadata.namespace, d.inputs.data, d.ignoreChanges])).to.deep.equal([
                        [e.spireNamespace, undefined, ["data"]],
                    ]);
                    expect(theObject(spire, "Role", BUNDLE_CONFIGMAP, e.spireNamespace).rules).to.deep.equal([
                        { apiGroups: [""], resources: ["configmaps"], resourceNames: [BUNDLE_CONFIGMAP], verbs: ["get", "patch", "create"] },
                    ]);
                });

                it("agent.conf: the SDS resource names Istio asks for", () => {
                    // charts/spire-agent/templates/configmap.yaml: agent.conf is JSON in the spire-agent ConfigMap.
                    const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-agent", e.spireNamespace).data["agent.conf"]);
                    expect(conf.agent.trust_domain).to.equal(e.trustDomain);
                    expect(conf.agent.sds).to.deep.equal({
                        default_svid_name: AGENT_SDS.defaultSVIDName,
                        default_bundle_name: AGENT_SDS.defaultBundleName,
                        default_all_bundles_name: AGENT_SDS.defaultAllBundlesName,
                        disable_spiffe_cert_validation: false,
                    });
                    // What Istio's proxies request (Istio's SPIRE docs): their SVID as `default`, every bundle as `ROOTCA`.
                    expect(conf.agent.sds).to.include({ default_svid_name: "default", default_all_bundles_name: "ROOTCA", default_bundle_name: "null" });
                });

                it("the agent serves its socket as `socket` in the directory the CSI driver shares with pods", () => {
                    const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-agent", e.spireNamespace).data["agent.conf"]);
                    const socketPath: string = conf.agent.socket_path;
                    const agent = theObject(spire, "DaemonSet", SPIRE_AGENT_DAEMONSET, e.spireNamespace);
                    const csi = theObject(spire, "DaemonSet", SPIFFE_CSI_DRIVER_DAEMONSET, e.spireNamespace);

                    // The agent writes its socket into a host directory...
                    const agentMount = containerOf(agent, "spire-agent").volumeMounts!.find((m) => m.mountPath === path.posix.dirname(socketPath));
                    expect(agentMount, `a volume mounted at ${path.posix.dirname(socketPath)}`).to.not.equal(undefined);
                    const hostDir = volumeOf(agent, agentMount!.name).hostPath?.path;
                    expect(hostDir).to.be.a("string");
                    // ...which the CSI driver mounts and serves to pods (-workload-api-socket-dir).
                    const driver = containerOf(csi, "spiffe-csi-driver");
                    const csiVolume = (podTemplateOf(csi)!.spec.volumes as any[]).find((v) => v.hostPath?.path === hostDir);
                    expect(csiVolume, `CSI driver volume of host path ${hostDir}`).to.not.equal(undefined);
                    const csiMount = driver.volumeMounts!.find((m) => m.name === csiVolume.name);
                    expect(argAfter(driver, "-workload-api-socket-dir")).to.equal(csiMount!.mountPath);
                    // The driver's name is the one the injection templates' CSI volumes use.
                    expect(argAfter(driver, "-plugin-name")).to.equal(SPIFFE_CSI_DRIVER);
                    expect(objectsOf(spire, "CSIDriver").map((o) => o.metadata.name)).to.deep.equal([SPIFFE_CSI_DRIVER]);

                    // charts/spire-agent/templates/daemonset.yaml: the ensure-alternate-names init container links each
                    // socketAlternate name (except the socket's own) to the socket, in the same host directory.
                    const init = containerOf(agent, "ensure-alternate-names", true);
                    const initMount = init.volumeMounts!.find((m) => volumeOf(agent, m.name).hostPath?.path === hostDir);
                    expect(initMount, "the init container mounts the agent socket directory").to.not.equal(undefined);
                    const script = (init.args ?? []).join("\n");
                    expect(script).to.match(new RegExp(`^cd ${initMount!.mountPath}$`, "m"));
                    const socketName = path.posix.basename(socketPath);
                    const links = [...script.matchAll(/^\[ ! -L (\S+) \] && ln -s (\S+) \1$/gm)].map((m) => ({ name: m[1], target: m[2] }));
                    expect(links.map((l) => l.target)).to.deep.equal(links.map(() => socketName));
                    const served = [socketName, ...links.map((l) => l.name)].sort();
                    expect(served).to.deep.equal(["api.sock", "socket", "spire-agent.sock"]);
                    expect(served).to.include(WORKLOAD_SOCKET_NAME);
                });

                it("controller manager: watches the program's class only, and the chart renders only its test-keys ClusterSPIFFEID", () => {
                    // charts/spire-server/templates/controller-manager-configmap.yaml
                    const cm = theObject(spire, "ConfigMap", "spire-controller-manager", e.spireNamespace);
                    const config = parse(cm.data["controller-manager-config.yaml"]);
                    expect(config.className).to.equal(e.className);
                    expect(config.className).to.equal(controllerClassNameFor(e.spireNamespace));
                    expect(config.watchClassless).to.equal(false);
                    expect(config.trustDomain).to.equal(e.trustDomain);
                    expect(config.clusterName).to.equal(e.clusterName);
                    expect(config.reconcile).to.deep.equal({ clusterSPIFFEIDs: true, clusterStaticEntries: true, clusterFederatedTrustDomains: true });

                    // charts/spire-server/templates/controller-manager-cluster-ids.yaml names them <namespace>-<release>-<key>.
                    const rendered = objectsOf(all, "ClusterSPIFFEID");
                    expect(rendered.map((o) => o.metadata.name)).to.deep.equal([`${e.spireNamespace}-${SPIRE_RELEASE_NAME}-test-keys`]);
                    expect(rendered.map((o) => o.metadata.name)).to.not.include(`${e.spireNamespace}-${SPIRE_RELEASE_NAME}-default`);
                    expect(rendered.map((o) => o.spec.className)).to.deep.equal([e.className]);

                    // Every SPIRE custom resource the program declares carries the class this controller manager watches.
                    const declaredSpire = run.declared.filter((d) => d.type.startsWith("kubernetes:spire.spiffe.io/"));
                    expect(declaredSpire.length).to.be.at.least(2);
                    for (const d of declaredSpire) {
                        expect(d.inputs.spec.className, `${d.inputs.kind} ${d.inputs.metadata.name}`).to.equal(config.className);
                    }
                });

                it("the bundle endpoint Service selects the spire-server pods and targets their federation port", () => {
                    const [service] = declaredOfType(run.declared, "kubernetes:core/v1:Service").filter(
                        (d) => d.inputs.metadata.name === "spire-server-bundle-endpoint",
                    );
                    expect(service, "the declared spire-server-bundle-endpoint Service").to.not.equal(undefined);
                    expect(service.inputs.metadata.namespace).to.equal(e.spireNamespace);
                    const server = theObject(spire, "StatefulSet", SPIRE_SERVER_STATEFULSET, e.spireNamespace);
                    const selector: Record<string, string> = service.inputs.spec.selector;
                    expect(Object.keys(selector).length).to.be.greaterThan(0);
                    expect(selects(selector, podTemplateOf(server)!.metadata!.labels), "selector ⊆ spire-server pod labels").to.equal(true);
                    // It selects no other installed workload of any chart.
                    const selected = installed(all).filter(
                        (o) => ["Deployment", "StatefulSet", "DaemonSet", "Pod"].includes(o.kind) && selects(selector, podTemplateOf(o)?.metadata?.labels),
                    );
                    expect(selected.map(describeObject)).to.deep.equal([`StatefulSet ${e.spireNamespace}/${SPIRE_SERVER_STATEFULSET}`]);

                    expect(service.inputs.spec.ports).to.deep.equal([
                        { name: "federation", port: BUNDLE_ENDPOINT_PORT, targetPort: "federation", protocol: "TCP" },
                    ]);
                    // charts/spire-server/templates/server-resource.yaml: the `federation` port of the spire-server container.
                    const ports = containerOf(server, "spire-server").ports ?? [];
                    expect(ports.filter((p) => p.name === "federation").map((p) => p.containerPort)).to.deep.equal([BUNDLE_ENDPOINT_PORT]);
                });
            });

            describe("istiod chart", () => {
                it("the injector config has the spire templates, and spire injected by default", () => {
                    // istiod/templates/istiod-injector-configmap.yaml: key `config` (YAML).
                    const config = parse(theObject(istiod, "ConfigMap", "istio-sidecar-injector", e.istioNamespace).data.config);
                    expect(config.defaultTemplates).to.deep.equal(["sidecar", SPIRE_TEMPLATE]);
                    expect([SPIRE_TEMPLATE, SPIRE_GATEWAY_TEMPLATE]).to.deep.equal(["spire", "spire-gateway"]);
                    expect(Object.keys(config.templates).sort()).to.deep.equal(
                        ["agentgateway", "gateway", "grpc-agent", "grpc-simple", "kube-gateway", "sidecar", "spire", "spire-gateway", "waypoint"].sort(),
                    );
                    // The chart passes the templates through as the program wrote them: Go templates Istio evaluates per
                    // pod (evaluated for real in test/injection.test.ts), the same text under both names.
                    expect(config.templates[SPIRE_TEMPLATE]).to.equal(spireSidecarTemplate());
                    expect(config.templates[SPIRE_GATEWAY_TEMPLATE]).to.equal(spireSidecarTemplate());
                    // The CSI driver the templates mount is the one the spire chart registers.
                    expect(config.templates[SPIRE_TEMPLATE]).to.include(`\n      driver: ${SPIFFE_CSI_DRIVER}\n`);
                    expect(objectsOf(spire, "CSIDriver").map((o) => o.metadata.name)).to.deep.equal([SPIFFE_CSI_DRIVER]);
                    expect(WORKLOAD_SOCKET_DIR).to.equal("/run/secrets/workload-spiffe-uds");
                });

                it("the injector webhooks inject the gateway pods and no other workload the charts install", () => {
                    // istiod/templates/mutatingwebhook.yaml: which pods (by their labels and their namespace's) get a proxy.
                    // Named istio-sidecar-injector, with a `-<namespace>` suffix outside istio-system.
                    const configurations = objectsOf(istiod, "MutatingWebhookConfiguration");
                    expect(configurations.map((o) => o.metadata.name)).to.deep.equal([
                        e.istioNamespace === "istio-system" ? "istio-sidecar-injector" : `istio-sidecar-injector-${e.istioNamespace}`,
                    ]);
                    const webhooks = configurations[0].webhooks as { namespaceSelector?: LabelSelector; objectSelector?: LabelSelector }[];
                    expect(webhooks.length).to.be.greaterThan(0);
                    const namespaceLabels = new Map<string, Record<string, string>>(
                        declaredOfType(run.declared, "kubernetes:core/v1:Namespace").map((d) => [
                            d.inputs.metadata.name,
                            { ...(d.inputs.metadata.labels ?? {}), "kubernetes.io/metadata.name": d.inputs.metadata.name },
                        ]),
                    );
                    const injected = installed(all).filter((o) => {
                        const template = ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) ? podTemplateOf(o) : undefined;
                        const nsLabels = namespaceLabels.get(o.metadata.namespace ?? "");
                        return (
                            template !== undefined &&
                            webhooks.some(
                                (w) =>
                                    matchesSelector(w.namespaceSelector, nsLabels ?? {}) && matchesSelector(w.objectSelector, template.metadata?.labels ?? {}),
                            )
                        );
                    });
                    expect(injected.map(describeObject)).to.deep.equal([`Deployment ${e.istioNamespace}/${e.gateway.name}`]);
                });

                it("the mesh config has the trust domain and the peers' trust domains as aliases", () => {
                    // istiod/templates/configmap.yaml: ConfigMap `istio`, key `mesh`.
                    const mesh = parse(theObject(istiod, "ConfigMap", "istio", e.istioNamespace).data.mesh);
                    expect(mesh.trustDomain).to.equal(e.trustDomain);
                    expect(mesh.trustDomainAliases).to.deep.equal(e.trustDomainAliases.length > 0 ? e.trustDomainAliases : undefined);
                    expect(mesh.rootNamespace).to.equal(e.istioNamespace);
                });

                it(`istiod runs with ENABLE_NATIVE_SIDECARS=${e.nativeSidecars}`, () => {
                    const deployment = theObject(istiod, "Deployment", ISTIOD_DEPLOYMENT, e.istioNamespace);
                    const env = (containerOf(deployment, "discovery").env ?? []).filter((v) => v.name === "ENABLE_NATIVE_SIDECARS");
                    expect(env).to.deep.equal([{ name: "ENABLE_NATIVE_SIDECARS", value: String(e.nativeSidecars) }]);
                });
            });

            describe("gateway chart", () => {
                let deployment: RenderedObject;
                let labels: Record<string, string>;
                before(() => {
                    deployment = theObject(gateway, "Deployment", e.gateway.name, e.istioNamespace);
                    labels = podTemplateOf(deployment)!.metadata!.labels!;
                });

                it("the gateway pods carry the labels its ClusterSPIFFEID and the Istio Gateways select", () => {
                    expect(labels).to.include({ app: e.gateway.name, istio: e.gateway.istioLabel });
                    expect(selects(deployment.spec.selector.matchLabels, labels)).to.equal(true);
                    const [registration] = declaredOfType(run.declared, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID").filter(
                        (d) => d.inputs.metadata.name === GATEWAY_CLUSTER_SPIFFE_ID,
                    );
                    expect(registration.inputs.spec.podSelector).to.deep.equal({ matchLabels: { istio: e.gateway.istioLabel } });
                    expect(selects(registration.inputs.spec.podSelector.matchLabels, labels)).to.equal(true);
                    expect(registration.inputs.spec.namespaceSelector).to.deep.equal({
                        matchLabels: { "kubernetes.io/metadata.name": deployment.metadata.namespace },
                    });
                    expect(registration.inputs.spec.workloadSelectorTemplates).to.deep.equal([
                        `k8s:ns:${deployment.metadata.namespace}`,
                        `k8s:sa:${podTemplateOf(deployment)!.spec.serviceAccountName}`,
                    ]);

                    const gateways = declaredOfType(run.declared, "kubernetes:networking.istio.io/v1:Gateway");
                    expect(gateways.map((g) => g.inputs.metadata.name).sort()).to.deep.equal(e.istioGateways);
                    for (const g of gateways) {
                        expect(g.inputs.spec.selector, `Gateway ${g.inputs.metadata.name}`).to.deep.equal({ istio: e.gateway.istioLabel });
                        expect(selects(g.inputs.spec.selector, labels), `Gateway ${g.inputs.metadata.name} selects the gateway pods`).to.equal(true);
                    }
                });

                it("the gateway runs as the configured service account, which the chart creates", () => {
                    expect(podTemplateOf(deployment)!.spec.serviceAccountName).to.equal(e.gateway.serviceAccount);
                    expect(theObject(gateway, "ServiceAccount", e.gateway.serviceAccount, e.istioNamespace).metadata.name).to.equal(e.gateway.serviceAccount);
                });

                it("the gateway pods are injected with the gateway and spire templates, both in the injector", () => {
                    const annotation = podTemplateOf(deployment)!.metadata!.annotations!["inject.istio.io/templates"];
                    expect(annotation).to.equal("gateway,spire");
                    expect(annotation).to.equal(`gateway,${SPIRE_TEMPLATE}`);
                    const config = parse(theObject(istiod, "ConfigMap", "istio-sidecar-injector", e.istioNamespace).data.config);
                    expect(annotation.split(",").filter((t: string) => config.templates[t] === undefined)).to.deep.equal([]);
                    // The chart's own pod template has the proxy container the spire template patches in a gateway.
                    expect(containerOf(deployment, PROXY_CONTAINER).name).to.equal(PROXY_CONTAINER);
                });

                it("the gateway Service has the configured type, selects the gateway pods, and is the one the program reads back", () => {
                    const service = theObject(gateway, "Service", e.gateway.name, e.istioNamespace);
                    expect(service.spec.type).to.equal(e.gateway.serviceType);
                    expect(selects(service.spec.selector, labels)).to.equal(true);
                    const reads = run.declared.filter((d) => d.read && d.type === "kubernetes:core/v1:Service");
                    expect(reads.map((d) => d.id)).to.deep.equal([`${e.istioNamespace}/${e.gateway.name}`]);
                    // The harness's model of what a release creates and the program reads back is this rendered Service.
                    const release = releasesOf(run.declared).find((d) => d.inputs.chart === "gateway")!;
                    expect(chartObjectsRead(release.inputs)).to.deep.equal([{ kind: "Service", namespace: e.istioNamespace, name: e.gateway.name }]);
                });
            });

            describe("observability charts", () => {
                it("Prometheus, Kiali (and Grafana when on) are ClusterIP Services with the names and ports the program exports", () => {
                    const services = renders
                        .filter((r) => ["prometheus", "kiali-server", "grafana"].includes(r.chart))
                        .flatMap((r) => objectsOf(r.objects, "Service"))
                        .map((s) => ({ name: s.metadata.name, type: s.spec.type, ports: s.spec.ports.map((p: { port: number }) => p.port) }));
                    expect(services).to.deep.equal([
                        { name: PROMETHEUS_SERVICE, type: "ClusterIP", ports: [PROMETHEUS_PORT] },
                        // Kiali's second port is its own metrics endpoint.
                        { name: KIALI_SERVICE, type: "ClusterIP", ports: [KIALI_PORT, 9090] },
                        ...(e.grafana ? [{ name: GRAFANA_SERVICE, type: "ClusterIP", ports: [GRAFANA_PORT] }] : []),
                    ]);
                    expect([PROMETHEUS_SERVICE, PROMETHEUS_PORT, KIALI_SERVICE, KIALI_PORT, GRAFANA_SERVICE, GRAFANA_PORT]).to.deep.equal([
                        "prometheus",
                        9090,
                        "kiali",
                        20001,
                        "grafana",
                        3000,
                    ]);
                    // kiali-server/templates/configmap.yaml: Kiali serves under the web root the graph URL uses.
                    const kiali = parse(theObject(renderOf(renders, "kiali-server").objects, "ConfigMap", "kiali", e.istioNamespace).data["config.yaml"]);
                    expect({ port: kiali.server.port, web_root: kiali.server.web_root }).to.deep.equal({ port: KIALI_PORT, web_root: KIALI_WEB_ROOT });
                    expect(kiali.external_services.prometheus.url).to.equal(`http://${PROMETHEUS_SERVICE}.${e.istioNamespace}:${PROMETHEUS_PORT}`);
                });

                it("every port-forward command the stack outputs reaches a container port of a rendered pod", () => {
                    const outputs = run.outputs.observability as Record<string, string | undefined>;
                    const commands = {
                        prometheusPortForward: `kubectl -n ${e.istioNamespace} port-forward svc/prometheus 9090:9090`,
                        kialiPortForward: `kubectl -n ${e.istioNamespace} port-forward svc/kiali 20001:20001`,
                        ...(e.grafana ? { grafanaPortForward: `kubectl -n ${e.istioNamespace} port-forward svc/grafana 3000:3000` } : {}),
                    };
                    expect(Object.fromEntries(Object.entries(outputs).filter(([k]) => k.endsWith("PortForward")))).to.deep.equal(commands);
                    const reached = Object.values(commands).map((command) => {
                        const r = resolvePortForward(all, parsePortForward(command));
                        return `${describeObject(r.workload)} ${r.container}:${r.containerPort}`;
                    });
                    expect(reached).to.deep.equal([
                        `Deployment ${e.istioNamespace}/prometheus prometheus-server:9090`,
                        `Deployment ${e.istioNamespace}/kiali kiali:20001`,
                        ...(e.grafana ? [`Deployment ${e.istioNamespace}/grafana grafana:3000`] : []),
                    ]);
                });
            });

            describe("observability access and NetworkPolicies", () => {
                /** The rendered (non-hook) workloads whose pod template labels a selector matches, in a namespace. */
                const workloadsSelectedBy = (selector: LabelSelector, namespace: string) =>
                    all.filter(
                        (o) =>
                            !isHelmHook(o) &&
                            ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) &&
                            o.metadata.namespace === namespace &&
                            matchesSelector(selector, podTemplateOf(o)!.metadata?.labels ?? {}),
                    );
                const policies = () => declaredOfType(run.declared, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((d) => d.inputs);

                it("Kiali's ConfigMap has view_only_mode on for view access (off for edit), and the chart binds the matching ClusterRole", () => {
                    const kiali = renderOf(renders, "kiali-server").objects;
                    // kiali-server templates/configmap.yaml: the server reads config.yaml (kiali config.go DeploymentConfig.ViewOnlyMode).
                    const config = parse(theObject(kiali, "ConfigMap", KIALI_SERVICE, e.istioNamespace).data["config.yaml"]);
                    expect(config.deployment.view_only_mode).to.equal(e.access === "view");
                    expect(config.auth.strategy).to.equal("anonymous");
                    const role = e.access === "view" ? "kiali-viewer" : "kiali";
                    expect(
                        objectsOf(kiali, "ClusterRoleBinding").map((b) => [b.metadata.name, b.roleRef.name, b.subjects.map((x: any) => x.name)]),
                    ).to.deep.equal([[role, role, [KIALI_SERVICE]]]);
                    // What the bound role lets Kiali's service account change in the cluster.
                    const writes = theObject(kiali, "ClusterRole", role)
                        .rules.filter((r: any) => r.verbs.some((v: string) => ["create", "update", "patch", "delete", "deletecollection"].includes(v)))
                        .flatMap((r: any) => r.apiGroups.flatMap((g: string) => r.resources.map((res: string) => `${g === "" ? "core" : g}/${res}`)));
                    if (e.access === "view") {
                        // Only what reading needs: port-forwarding to proxies (Envoy config dumps) and token reviews.
                        expect(writes.sort()).to.deep.equal(["authentication.k8s.io/tokenreviews", "core/pods/portforward"]);
                    } else {
                        // Istio's security and traffic policy, and namespaces' labels (injection) included.
                        expect(writes).to.include.members(["security.istio.io/*", "networking.istio.io/*", "core/namespaces"]);
                    }
                });

                it("Grafana's anonymous users get Viewer (Editor for edit access), never Admin, in the rendered pod and no grafana.ini says otherwise", () => {
                    if (!e.grafana) {
                        expect(renders.filter((r) => r.chart === "grafana")).to.deep.equal([]);
                        return;
                    }
                    const grafana = renderOf(renders, "grafana").objects;
                    const env = Object.fromEntries(
                        (containerOf(theObject(grafana, "Deployment", GRAFANA_SERVICE, e.istioNamespace), "grafana").env ?? [])
                            .filter((v) => v.name.startsWith("GF_AUTH_"))
                            .map((v) => [v.name, v.value]),
                    );
                    expect(env).to.deep.equal({
                        GF_AUTH_ANONYMOUS_ENABLED: "true",
                        GF_AUTH_ANONYMOUS_ORG_ROLE: e.access === "view" ? "Viewer" : "Editor",
                        GF_AUTH_BASIC_ENABLED: "false",
                    });
                    // grafana chart templates/_config.tpl renders grafana.ini into ConfigMap grafana; the environment overrides
                    // it, and it sets nothing about authentication anyway.
                    const ini: string = theObject(grafana, "ConfigMap", GRAFANA_SERVICE, e.istioNamespace).data["grafana.ini"];
                    expect(ini).to.include("[paths]");
                    expect(ini).not.to.match(/\[auth/);
                    // The admin password docs/observability.md points to: the chart's Secret grafana, key admin-password.
                    expect(Object.keys(theObject(grafana, "Secret", GRAFANA_SERVICE, e.istioNamespace).data)).to.include.members([
                        "admin-user",
                        "admin-password",
                    ]);
                });

                it("no chart renders a NetworkPolicy of its own (policies add up: a chart's would let more in)", () => {
                    expect(all.filter((o) => o.kind === "NetworkPolicy").map(describeObject)).to.deep.equal([]);
                });

                it("each NetworkPolicy selects exactly its addon's rendered pods, and no other workload of the Istio namespace", () => {
                    const selected = policies().map((p) => {
                        expect(p.metadata.namespace, p.metadata.name).to.equal(e.istioNamespace);
                        return `${p.metadata.name}: ${workloadsSelectedBy(p.spec.podSelector, e.istioNamespace).map(describeObject).join(", ")}`;
                    });
                    expect(selected.sort()).to.deep.equal(
                        [
                            `kiali-access: Deployment ${e.istioNamespace}/kiali`,
                            `prometheus-access: Deployment ${e.istioNamespace}/prometheus`,
                            ...(e.grafana ? [`grafana-access: Deployment ${e.istioNamespace}/grafana`] : []),
                        ].sort(),
                    );
                });

                it("admits exactly Kiali and Grafana to Prometheus, Prometheus to Kiali's metrics, Kiali to Grafana, on container ports", () => {
                    const admitted: string[] = [];
                    for (const p of policies()) {
                        expect(p.spec.policyTypes, p.metadata.name).to.deep.equal(["Ingress"]);
                        const [target] = workloadsSelectedBy(p.spec.podSelector, e.istioNamespace);
                        for (const rule of p.spec.ingress) {
                            for (const port of rule.ports) {
                                // The policy port is the pod's container port (a Service's port is translated before policies apply).
                                const container = (podTemplateOf(target)!.spec.containers as Container[]).find((c) =>
                                    (c.ports ?? []).some((cp) => cp.containerPort === port.port),
                                );
                                expect(container, `${p.metadata.name}: port ${port.port} of ${describeObject(target)}`).not.to.equal(undefined);
                                for (const peer of rule.from) {
                                    // Only pods of this namespace: no namespaceSelector, no ipBlock.
                                    expect(Object.keys(peer), p.metadata.name).to.deep.equal(["podSelector"]);
                                    for (const source of workloadsSelectedBy(peer.podSelector, e.istioNamespace)) {
                                        admitted.push(`${source.metadata.name} -> ${target.metadata.name} ${container!.name}:${port.protocol}/${port.port}`);
                                    }
                                }
                            }
                        }
                    }
                    expect(admitted.sort()).to.deep.equal(
                        [
                            "kiali -> prometheus prometheus-server:TCP/9090",
                            "prometheus -> kiali kiali:TCP/9090",
                            ...(e.grafana ? ["grafana -> prometheus prometheus-server:TCP/9090", "kiali -> grafana grafana:TCP/3000"] : []),
                        ].sort(),
                    );
                });

                it("the ports admitted are the ones used: Kiali's and Grafana's data source URL, Kiali's scrape annotation, Kiali's Grafana URL", () => {
                    const kiali = renderOf(renders, "kiali-server").objects;
                    const kialiPod = podTemplateOf(theObject(kiali, "Deployment", KIALI_SERVICE, e.istioNamespace))!;
                    // The prometheus chart's kubernetes-pods job scrapes pods annotated prometheus.io/scrape at prometheus.io/port.
                    expect([
                        kialiPod.metadata!.annotations!["prometheus.io/scrape"],
                        Number(kialiPod.metadata!.annotations!["prometheus.io/port"]),
                    ]).to.deep.equal(["true", KIALI_METRICS_PORT]);
                    const config = parse(theObject(kiali, "ConfigMap", KIALI_SERVICE, e.istioNamespace).data["config.yaml"]);
                    const prometheus = resolvePortForward(all, {
                        namespace: e.istioNamespace,
                        service: PROMETHEUS_SERVICE,
                        localPort: 0,
                        servicePort: PROMETHEUS_PORT,
                    });
                    expect(config.external_services.prometheus.url).to.equal(`http://${PROMETHEUS_SERVICE}.${e.istioNamespace}:${PROMETHEUS_PORT}`);
                    expect(prometheus.containerPort).to.equal(PROMETHEUS_PORT);
                    if (e.grafana) {
                        const grafana = resolvePortForward(all, {
                            namespace: e.istioNamespace,
                            service: GRAFANA_SERVICE,
                            localPort: 0,
                            servicePort: GRAFANA_PORT,
                        });
                        expect(config.external_services.grafana.internal_url).to.equal(`http://${GRAFANA_SERVICE}.${e.istioNamespace}:${GRAFANA_PORT}`);
                        expect(grafana.containerPort).to.equal(GRAFANA_PORT);
                        const datasources = parse(
                            theObject(renderOf(renders, "grafana").objects, "ConfigMap", GRAFANA_SERVICE, e.istioNamespace).data["datasources.yaml"],
                        );
                        expect(datasources.datasources.map((d: { url: string }) => d.url)).to.deep.equal([
                            `http://${PROMETHEUS_SERVICE}.${e.istioNamespace}:${PROMETHEUS_PORT}`,
                        ]);
                    }
                });
            });

            it("every object `npm run verify` looks up by name is rendered", () => {
                const stackConfig = parseStackConfig(
                    (key) =>
                        c.config[key] === undefined ? undefined : typeof c.config[key] === "string" ? (c.config[key] as string) : JSON.stringify(c.config[key]),
                    Object.keys(c.config),
                );
                const v = expectationsFromConfig(c.stack, stackConfig, "ctx");
                expect({ spire: v.spireNamespace, istio: v.istioNamespace, gateway: v.gateway, className: v.controllerClassName }).to.deep.equal({
                    spire: e.spireNamespace,
                    istio: e.istioNamespace,
                    gateway: { name: e.gateway.name, serviceAccount: e.gateway.serviceAccount },
                    className: e.className,
                });
                const workloads: [string, string, string][] = [
                    ["StatefulSet", v.spireNamespace, SPIRE_SERVER_STATEFULSET],
                    ["DaemonSet", v.spireNamespace, SPIRE_AGENT_DAEMONSET],
                    ["DaemonSet", v.spireNamespace, SPIFFE_CSI_DRIVER_DAEMONSET],
                    ["Deployment", v.istioNamespace, ISTIOD_DEPLOYMENT],
                    ["Deployment", v.istioNamespace, v.gateway.name],
                ];
                for (const [kind, namespace, name] of workloads) {
                    const o = theObject(all, kind, name, namespace);
                    // verify lists the gateway's pods with its Deployment's selector: it must select its pod template.
                    expect(selects(o.spec.selector.matchLabels, podTemplateOf(o)!.metadata!.labels), `${kind} ${name} selector`).to.equal(true);
                }
                // The proxy container verify execs into is the gateway's.
                expect(containerOf(theObject(all, "Deployment", v.gateway.name, v.istioNamespace), PROXY_CONTAINER).name).to.equal(PROXY_CONTAINER);
                // The ClusterSPIFFEIDs verify reads are the program's (never the chart's), with the class verify expects.
                const registrations = declaredOfType(run.declared, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID");
                expect(registrations.map((d) => [d.inputs.metadata.name, d.inputs.spec.className]).sort()).to.deep.equal(
                    [
                        [GATEWAY_CLUSTER_SPIFFE_ID, v.controllerClassName],
                        [WORKLOAD_CLUSTER_SPIFFE_ID, v.controllerClassName],
                    ].sort(),
                );
            });

            it("no object is both rendered by a chart and declared by the program", () => {
                const declared = run.declared.filter(
                    (d) =>
                        d.type.startsWith("kubernetes:") &&
                        d.type !== "kubernetes:helm.sh/v3:Release" &&
                        !d.type.startsWith("kubernetes:yaml/") &&
                        !d.type.endsWith("Patch") &&
                        !d.read,
                );
                const kinds = [...new Set(declared.map((d) => `${d.inputs.apiVersion} ${d.inputs.kind}`))].sort();
                // The comparison covers every kind the program declares (not an empty list).
                expect(kinds).to.include.members([
                    "spire.spiffe.io/v1alpha1 ClusterSPIFFEID",
                    "v1 Namespace",
                    "v1 Service",
                    "security.istio.io/v1 PeerAuthentication",
                ]);
                const collisions: string[] = [];
                for (const d of declared) {
                    const m = d.inputs.metadata ?? {};
                    for (const o of all) {
                        if (
                            groupOf(o.apiVersion) === groupOf(d.inputs.apiVersion) &&
                            o.kind === d.inputs.kind &&
                            o.metadata.name === m.name &&
                            // A namespace missing on either side (cluster-scoped, or left to the release) counts as the same.
                            (o.metadata.namespace === undefined || m.namespace === undefined || o.metadata.namespace === m.namespace)
                        ) {
                            collisions.push(`${d.name}: ${describeObject(o)} from ${o.source}`);
                        }
                    }
                }
                expect(collisions).to.deep.equal([]);
            });
        });
    }

    describe("https_web bundle endpoint profile", () => {
        it("renders the https_web profile with the serving certificate of the configured kubernetes.io/tls Secret", async () => {
            const secret = "spire-bundle-endpoint-tls";
            const run = await runProgram(program, {
                trustDomain: "east.example",
                clusterName: "east",
                bundleEndpointProfile: "https_web",
                bundleEndpointUrl: "https://spire-bundle.east.example",
                bundleEndpointTlsSecret: secret,
            });
            const spire = renderOf(await shared.renderAll(run.declared), "spire").objects;
            const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-server", "spire-server").data["server.conf"]);
            // charts/spire-server/templates/configmap.yaml: the https_web profile with the serving certificate files.
            expect(conf.server.federation.bundle_endpoint).to.deep.equal({
                address: "0.0.0.0",
                port: BUNDLE_ENDPOINT_PORT,
                refresh_hint: "5m",
                profile: [
                    {
                        https_web: {
                            serving_cert_file: {
                                file_sync_interval: "1h",
                                cert_file_path: "/bundle-endpoint-tls/tls.crt",
                                key_file_path: "/bundle-endpoint-tls/tls.key",
                            },
                        },
                    },
                ],
            });
            // charts/spire-server/templates/server-resource.yaml: the Secret mounted where those paths point.
            const server = theObject(spire, "StatefulSet", SPIRE_SERVER_STATEFULSET, "spire-server");
            expect(volumeOf(server, "bundle-endpoint-tls").secret).to.deep.equal({ secretName: secret });
            expect(
                containerOf(server, "spire-server")
                    .volumeMounts!.filter((m) => m.name === "bundle-endpoint-tls")
                    .map((m) => m.mountPath),
            ).to.deep.equal(["/bundle-endpoint-tls"]);
            // The program's export tells peers to use https_web.
            expect((run.outputs as any).federation.bundleEndpointProfile).to.equal("https_web");
        });
    });

    describe("Helm's own checks surface as failures", () => {
        it("a value the gateway chart's values.schema.json rejects makes helmTemplate throw with Helm's message", async () => {
            const run = firstRun ?? (await runProgram(program, CASES[0].config, CASES[0].world ?? {}, CASES[0].stack));
            const release = run.declared.find((d) => d.type === "kubernetes:helm.sh/v3:Release" && d.inputs.chart === "gateway")!;
            const options = {
                helm: helmBinary,
                chartDir: chartDir("gateway", release.inputs.version),
                release: release.inputs.name,
                namespace: release.inputs.namespace,
                values: deepMerge(release.inputs.values, { service: { type: 42 } }),
            };
            const schemaMessage =
                /values don't meet the specifications of the schema\(s\)[\s\S]*service\.type: Invalid type\. Expected: string, given: integer/;
            expect(() => helmTemplate(options)).to.throw(schemaMessage);
            let rejected: unknown;
            await helmTemplateAsync(options).catch((error: unknown) => {
                rejected = error;
            });
            expect(rejected).to.be.instanceOf(Error);
            expect((rejected as Error).message).to.match(schemaMessage);
            // The same values without the bad one render.
            expect(objectsOf(helmTemplate({ ...options, values: release.inputs.values }), "Deployment").length).to.equal(1);
        });
    });
});
