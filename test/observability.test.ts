import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import {
    GRAFANA_CHART_REPOSITORY,
    GRAFANA_CHART_VERSION,
    KIALI_CHART_REPOSITORY,
    KIALI_CHART_VERSION,
    Observability,
    ObservabilityAccess,
    ObservabilityArgs,
    PROMETHEUS_CHART_REPOSITORY,
    PROMETHEUS_CHART_VERSION,
    grafanaChartValues,
    istioDashboardsBaseUrl,
    kialiChartValues,
    kialiGraphUrl,
    observabilityNetworkPolicies,
    portForwardCommand,
    prometheusChartValues,
} from "../components/addons/observability";
import { Values } from "../components/values";
import { Declared, ProgramRun, named, ofType, runProgram } from "../tools/mock-engine/harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const DASHBOARDS_1_30_3 = "https://raw.githubusercontent.com/istio/istio/1.30.3/manifests/addons/dashboards";

/** Istio's values-prometheus.yaml (1.30.3), plus the explicit ClusterIP / no-ingress settings of this program. */
const PROMETHEUS_VALUES = {
    alertmanager: { enabled: false },
    configmapReload: { prometheus: { image: { repository: "ghcr.io/prometheus-operator/prometheus-config-reloader" } } },
    "kube-state-metrics": { enabled: false },
    "prometheus-node-exporter": { enabled: false },
    "prometheus-pushgateway": { enabled: false },
    server: {
        fullnameOverride: "prometheus",
        global: { scrape_interval: "15s" },
        image: { repository: "docker.io/prom/prometheus" },
        ingress: { enabled: false },
        persistentVolume: { enabled: false },
        podLabels: { "sidecar.istio.io/inject": "false" },
        readinessProbeInitialDelay: 0,
        route: { main: { enabled: false } },
        service: { servicePort: 9090, type: "ClusterIP" },
    },
    networkPolicy: { enabled: false },
};

const kialiValues = (namespace: string, grafana: Values, viewOnly = true) => ({
    auth: { strategy: "anonymous" },
    deployment: {
        image_pull_policy: "IfNotPresent",
        ingress: { enabled: false },
        network_policy: { enabled: false },
        pod_labels: { "sidecar.istio.io/inject": "false" },
        service_type: "ClusterIP",
        view_only_mode: viewOnly,
    },
    external_services: {
        grafana,
        prometheus: { url: `http://prometheus.${namespace}:9090` },
        tracing: { enabled: false },
    },
    login_token: { signing_key: "CHANGEME00000000" },
    server: { port: 20001, web_root: "/kiali" },
});

const dashboard = (base: string, file: string) => ({ curlOptions: "-sSfL", url: `${base}/${file}` });

const grafanaValues = (namespace: string, base: string, anonymousRole = "Viewer") => ({
    dashboardProviders: {
        "dashboardproviders.yaml": {
            apiVersion: 1,
            providers: [
                {
                    disableDeletion: false,
                    folder: "istio",
                    name: "istio",
                    options: { path: "/var/lib/grafana/dashboards/istio" },
                    orgId: 1,
                    type: "file",
                },
                {
                    disableDeletion: false,
                    folder: "istio",
                    name: "istio-services",
                    options: { path: "/var/lib/grafana/dashboards/istio-services" },
                    orgId: 1,
                    type: "file",
                },
            ],
        },
    },
    dashboards: {
        istio: {
            "istio-performance-dashboard": dashboard(base, "istio-performance-dashboard.json"),
            "pilot-dashboard": dashboard(base, "pilot-dashboard.gen.json"),
            "ztunnel-dashboard": dashboard(base, "ztunnel-dashboard.gen.json"),
        },
        "istio-services": {
            "istio-extension-dashboard": dashboard(base, "istio-extension-dashboard.json"),
            "istio-mesh-dashboard": dashboard(base, "istio-mesh-dashboard.gen.json"),
            "istio-service-dashboard": dashboard(base, "istio-service-dashboard.json"),
            "istio-workload-dashboard": dashboard(base, "istio-workload-dashboard.json"),
        },
    },
    datasources: {
        "datasources.yaml": {
            apiVersion: 1,
            datasources: [
                {
                    access: "proxy",
                    editable: true,
                    isDefault: true,
                    jsonData: { timeInterval: "15s" },
                    name: "Prometheus",
                    orgId: 1,
                    type: "prometheus",
                    url: `http://prometheus.${namespace}:9090`,
                },
            ],
        },
    },
    env: { GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: anonymousRole, GF_AUTH_BASIC_ENABLED: "false" },
    ingress: { enabled: false },
    networkPolicy: { enabled: false },
    podLabels: { "sidecar.istio.io/inject": "false" },
    rbac: { create: false, pspEnabled: false },
    route: { main: { enabled: false } },
    service: { port: 3000, type: "ClusterIP" },
    testFramework: { enabled: false },
});

/** Runs a program holding a stand-in istiod release and the Observability component; returns its outputs. */
function runObservability(args: Omit<ObservabilityArgs, "istiodRelease"> = {}): Promise<ProgramRun<any>> {
    return runProgram(async () => {
        const istiod = new k8s.helm.v3.Release("istio-istiod", { name: "istiod", chart: "istiod", namespace: "istio-system" });
        const observability = new Observability("observability", { ...args, istiodRelease: istiod });
        return {
            namespace: observability.namespace,
            prometheusUrl: observability.prometheusUrl,
            prometheusPortForward: observability.prometheusPortForward,
            kialiPortForward: observability.kialiPortForward,
            kialiUrl: observability.kialiUrl,
            kialiGraphUrl: observability.kialiGraphUrl,
            grafanaPortForward: observability.grafanaPortForward,
            grafanaUrl: observability.grafanaUrl,
        };
    }, {});
}

/** Manifests sorted by name (registration order is not the declaration order). */
const byName = <T extends { metadata: { name: string } }>(manifests: T[]): T[] => [...manifests].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

/** The declared NetworkPolicies' manifests, by name. */
const policiesOf = (run: ProgramRun<any>) => byName(ofType(run.declared, NETWORK_POLICY).map((d) => d.inputs));

/** The component's releases, as [name, chart, version, repository, namespace] rows. */
function releaseRows(run: ProgramRun<any>): string[][] {
    return ofType(run.declared, RELEASE)
        .filter((r) => r.parent === "observability")
        .map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.repositoryOpts.repo, r.inputs.namespace])
        .sort();
}

describe("observability chart values", () => {
    it("reproduces Istio's Prometheus addon: server only, Service prometheus:9090, not injected, 15s scrapes", () => {
        expect(prometheusChartValues()).to.deep.equal(PROMETHEUS_VALUES);
    });

    it("keeps the chart's kubernetes-pods scrape job, which scrapes the sidecars' prometheus.io annotations (15020)", () => {
        expect(prometheusChartValues()).not.to.have.property("scrapeConfigs");
        expect(prometheusChartValues()).not.to.have.property("extraScrapeConfigs");
    });

    it("configures Kiali as Istio's addon, anonymous, with the Prometheus URL of the Istio namespace and Grafana off", () => {
        expect(kialiChartValues({ namespace: "istio-system", grafana: false })).to.deep.equal(kialiValues("istio-system", { enabled: false }));
    });

    it("points Kiali at the Prometheus of another Istio namespace (Kiali's built-in default only fits istio-system)", () => {
        expect(kialiChartValues({ namespace: "mesh-system", grafana: false })).to.deep.equal(kialiValues("mesh-system", { enabled: false }));
    });

    it("links Kiali to Grafana in the cluster and through Grafana's port-forward when Grafana is installed", () => {
        expect(kialiChartValues({ namespace: "istio-system", grafana: true })).to.deep.equal(
            kialiValues("istio-system", {
                enabled: true,
                external_url: "http://localhost:3000",
                internal_url: "http://grafana.istio-system:3000",
            }),
        );
    });

    it("configures Grafana as Istio's addon: Prometheus data source, Istio's seven dashboards in the istio folders", () => {
        expect(grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3 })).to.deep.equal(
            grafanaValues("istio-system", DASHBOARDS_1_30_3),
        );
    });

    it("downloads Istio's dashboards from the tag of the installed Istio version", () => {
        expect(istioDashboardsBaseUrl("1.30.3")).to.equal(DASHBOARDS_1_30_3);
    });

    it("sets neither Loki nor a fixed admin password in Grafana", () => {
        const values = grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3 }) as any;
        expect(values.datasources["datasources.yaml"].datasources.map((d: any) => d.name)).to.deep.equal(["Prometheus"]);
        expect(values.env).not.to.have.property("GF_SECURITY_ADMIN_PASSWORD");
        expect(values).not.to.have.property("admin");
    });

    it("merges pass-through values underneath: they add settings but never expose a Service or an ingress", () => {
        const exposing = {
            server: { service: { type: "LoadBalancer" }, ingress: { enabled: true }, retention: "7d" },
            deployment: { service_type: "NodePort", ingress: { enabled: true }, replicas: 2 },
            service: { type: "LoadBalancer" },
            ingress: { enabled: true },
            route: { main: { enabled: true } },
            persistence: { enabled: true },
        };
        const prometheus = prometheusChartValues(exposing) as any;
        const kiali = kialiChartValues({ namespace: "istio-system", grafana: false }, exposing) as any;
        const grafana = grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3 }, exposing) as any;

        expect(prometheus.server.service).to.deep.equal({ servicePort: 9090, type: "ClusterIP" });
        expect([prometheus.server.ingress, prometheus.server.route]).to.deep.equal([{ enabled: false }, { main: { enabled: false } }]);
        expect(prometheus.server.retention).to.equal("7d");
        expect([kiali.deployment.service_type, kiali.deployment.ingress]).to.deep.equal(["ClusterIP", { enabled: false }]);
        expect(kiali.deployment.replicas).to.equal(2);
        expect([grafana.service, grafana.ingress, grafana.route]).to.deep.equal([
            { port: 3000, type: "ClusterIP" },
            { enabled: false },
            { main: { enabled: false } },
        ]);
        expect(grafana.persistence).to.deep.equal({ enabled: true });
    });

    it("merges pass-through values underneath: they cannot raise anonymous access or turn on a chart's wider NetworkPolicy", () => {
        const raising = {
            deployment: { view_only_mode: false, network_policy: { enabled: true } },
            env: { GF_AUTH_ANONYMOUS_ORG_ROLE: "Admin", GF_AUTH_ANONYMOUS_ENABLED: "true" },
            networkPolicy: { enabled: true },
        };
        const kiali = kialiChartValues({ namespace: "istio-system", grafana: false }, raising) as any;
        const grafana = grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3 }, raising) as any;
        const prometheus = prometheusChartValues(raising) as any;
        expect([kiali.deployment.view_only_mode, kiali.deployment.network_policy]).to.deep.equal([true, { enabled: false }]);
        expect([grafana.env.GF_AUTH_ANONYMOUS_ORG_ROLE, grafana.networkPolicy]).to.deep.equal(["Viewer", { enabled: false }]);
        expect(prometheus.networkPolicy).to.deep.equal({ enabled: false });
    });

    it("serialises the same values identically whatever the key order of the pass-through values", () => {
        const a = prometheusChartValues({ server: { retention: "7d", extraFlags: ["web.enable-lifecycle"] }, rbac: { create: true } });
        const b = prometheusChartValues({ rbac: { create: true }, server: { extraFlags: ["web.enable-lifecycle"], retention: "7d" } });
        expect(JSON.stringify(a)).to.equal(JSON.stringify(b));
    });
});

describe("observability access levels", () => {
    const kiali = (access?: ObservabilityAccess) => (kialiChartValues({ namespace: "istio-system", grafana: true, access }) as any).deployment.view_only_mode;
    const grafanaRole = (access?: ObservabilityAccess) =>
        (grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3, access }) as any).env.GF_AUTH_ANONYMOUS_ORG_ROLE;

    it("defaults to view: Kiali in view-only mode, anonymous Grafana users are Viewers (never the addon's Admin)", () => {
        expect([kiali(), grafanaRole()]).to.deep.equal([true, "Viewer"]);
        expect([kiali("view"), grafanaRole("view")]).to.deep.equal([true, "Viewer"]);
    });

    it("edit, the explicit opt-in, turns Kiali's view-only mode off and makes anonymous Grafana users Editors", () => {
        expect([kiali("edit"), grafanaRole("edit")]).to.deep.equal([false, "Editor"]);
        expect(kialiChartValues({ namespace: "istio-system", grafana: false, access: "edit" })).to.deep.equal(
            kialiValues("istio-system", { enabled: false }, false),
        );
        expect(grafanaChartValues({ namespace: "istio-system", dashboardsBaseUrl: DASHBOARDS_1_30_3, access: "edit" })).to.deep.equal(
            grafanaValues("istio-system", DASHBOARDS_1_30_3, "Editor"),
        );
    });
});

describe("observability NetworkPolicies", () => {
    const KIALI = { "app.kubernetes.io/instance": "kiali", "app.kubernetes.io/name": "kiali" };
    const GRAFANA = { "app.kubernetes.io/instance": "grafana", "app.kubernetes.io/name": "grafana" };
    const PROMETHEUS = { "app.kubernetes.io/component": "server", "app.kubernetes.io/instance": "prometheus", "app.kubernetes.io/name": "prometheus" };
    const policy = (name: string, namespace: string, target: Record<string, string>, from: Record<string, string>[], port: number) => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace },
        spec: {
            podSelector: { matchLabels: target },
            policyTypes: ["Ingress"],
            ingress: [{ from: from.map((labels) => ({ podSelector: { matchLabels: labels } })), ports: [{ protocol: "TCP", port }] }],
        },
    });

    it("without Grafana: Prometheus (9090) admits only Kiali; Kiali admits only Prometheus, on its metrics port 9090", () => {
        expect(observabilityNetworkPolicies("istio-system", false)).to.deep.equal([
            policy("prometheus-access", "istio-system", PROMETHEUS, [KIALI], 9090),
            policy("kiali-access", "istio-system", KIALI, [PROMETHEUS], 9090),
        ]);
    });

    it("with Grafana: Prometheus admits Kiali and Grafana; Grafana (3000) admits only Kiali", () => {
        expect(observabilityNetworkPolicies("mesh-system", true)).to.deep.equal([
            policy("prometheus-access", "mesh-system", PROMETHEUS, [KIALI, GRAFANA], 9090),
            policy("kiali-access", "mesh-system", KIALI, [PROMETHEUS], 9090),
            policy("grafana-access", "mesh-system", GRAFANA, [KIALI], 3000),
        ]);
    });

    it("restricts ingress only (no egress rules: Prometheus scrapes every pod, Kiali reads the API server and istiod)", () => {
        for (const p of observabilityNetworkPolicies("istio-system", true)) {
            expect([p.spec.policyTypes, (p.spec as any).egress], p.metadata.name).to.deep.equal([["Ingress"], undefined]);
        }
    });
});

describe("observability access commands", () => {
    it("port-forwards a Service on the same port at both ends", () => {
        expect(portForwardCommand("istio-system", "kiali", 20001)).to.equal("kubectl -n istio-system port-forward svc/kiali 20001:20001");
    });

    it("opens Kiali's graph with the Security badges on, for the given namespaces", () => {
        expect(kialiGraphUrl(["default", "bookinfo"])).to.equal(
            "http://localhost:20001/kiali/console/graph/namespaces?namespaces=default,bookinfo&badgeSecurity=true",
        );
        expect(kialiGraphUrl([])).to.equal("http://localhost:20001/kiali/console/graph/namespaces?badgeSecurity=true");
    });
});

describe("the Observability component (Grafana off, the default)", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runObservability({ graphNamespaces: ["default"] });
    });

    it("declares the prometheus and kiali-server releases, pinned, from the official repositories, in istio-system", () => {
        expect(releaseRows(run)).to.deep.equal([
            ["kiali", "kiali-server", "2.26.0", "https://kiali.org/helm-charts", "istio-system"],
            ["prometheus", "prometheus", "28.13.0", "https://prometheus-community.github.io/helm-charts", "istio-system"],
        ]);
        expect([PROMETHEUS_CHART_VERSION, KIALI_CHART_VERSION, GRAFANA_CHART_VERSION]).to.deep.equal(["28.13.0", "2.26.0", "9.2.2"]);
    });

    it("declares the component, its two releases and their two NetworkPolicies and nothing else; no Grafana", () => {
        const summary = run.declared.filter((d) => d.name !== "istio-istiod").map((d) => `${d.type} ${d.name} <${d.parent}`);
        expect(summary.sort()).to.deep.equal([
            "istio-spire:observability:Observability observability <",
            `${RELEASE} observability-kiali <observability`,
            `${RELEASE} observability-prometheus <observability`,
            `${NETWORK_POLICY} observability-kiali-access <observability`,
            `${NETWORK_POLICY} observability-prometheus-access <observability`,
        ]);
        expect(ofType(run.declared, RELEASE).filter((r) => r.inputs.chart === "grafana")).to.deep.equal([]);
    });

    it("hands each chart exactly the values of its pure function", () => {
        expect(named(run.declared, "observability-prometheus").inputs.values).to.deep.equal(PROMETHEUS_VALUES);
        expect(named(run.declared, "observability-kiali").inputs.values).to.deep.equal(kialiValues("istio-system", { enabled: false }));
    });

    it("declares exactly the NetworkPolicies of its pure function, in the Istio namespace", () => {
        expect(policiesOf(run)).to.deep.equal(byName(observabilityNetworkPolicies("istio-system", false)));
    });

    it("declares the NetworkPolicies after istiod (its namespace exists), and each addon after the policy selecting its pods", () => {
        for (const p of ofType(run.declared, NETWORK_POLICY)) {
            expect(p.dependsOn, p.name).to.deep.equal(["istio-istiod"]);
        }
        expect([...named(run.declared, "observability-prometheus").dependsOn].sort()).to.deep.equal(["istio-istiod", "observability-prometheus-access"]);
        expect([...named(run.declared, "observability-kiali").dependsOn].sort()).to.deep.equal([
            "istio-istiod",
            "observability-kiali-access",
            "observability-prometheus",
        ]);
    });

    it("waits for every release (no skipAwait) with the project's 600 s timeout", () => {
        for (const r of ofType(run.declared, RELEASE).filter((d: Declared) => d.parent === "observability")) {
            expect([r.inputs.skipAwait, r.inputs.timeout], r.name).to.deep.equal([undefined, 600]);
        }
    });

    it("outputs the in-cluster Prometheus URL, the port-forward commands and the Kiali URLs; no Grafana ones", () => {
        expect(run.outputs).to.deep.equal({
            namespace: "istio-system",
            prometheusUrl: "http://prometheus.istio-system:9090",
            prometheusPortForward: "kubectl -n istio-system port-forward svc/prometheus 9090:9090",
            kialiPortForward: "kubectl -n istio-system port-forward svc/kiali 20001:20001",
            kialiUrl: "http://localhost:20001/kiali",
            kialiGraphUrl: "http://localhost:20001/kiali/console/graph/namespaces?namespaces=default&badgeSecurity=true",
        });
    });
});

describe("the Observability component with Grafana, another namespace and mirrored repositories", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runObservability({
            namespace: "mesh-system",
            grafana: true,
            istioVersion: "1.30.2",
            repositories: {
                prometheus: "https://mirror.example/prometheus",
                kiali: "https://mirror.example/kiali",
                grafana: "https://mirror.example/grafana",
            },
            values: { grafana: { persistence: { enabled: true } } },
        });
    });

    it("declares the grafana release too, pinned, each release from its configured repository", () => {
        expect(releaseRows(run)).to.deep.equal([
            ["grafana", "grafana", "9.2.2", "https://mirror.example/grafana", "mesh-system"],
            ["kiali", "kiali-server", "2.26.0", "https://mirror.example/kiali", "mesh-system"],
            ["prometheus", "prometheus", "28.13.0", "https://mirror.example/prometheus", "mesh-system"],
        ]);
    });

    it("installs Grafana after istiod, Prometheus and Grafana's NetworkPolicy", () => {
        expect([...named(run.declared, "observability-grafana").dependsOn].sort()).to.deep.equal([
            "istio-istiod",
            "observability-grafana-access",
            "observability-prometheus",
        ]);
    });

    it("declares Grafana's NetworkPolicy too, and lets Grafana reach Prometheus", () => {
        expect(policiesOf(run)).to.deep.equal(byName(observabilityNetworkPolicies("mesh-system", true)));
        expect(
            ofType(run.declared, NETWORK_POLICY)
                .map((d) => `${d.name} <${d.parent}`)
                .sort(),
        ).to.deep.equal([
            "observability-grafana-access <observability",
            "observability-kiali-access <observability",
            "observability-prometheus-access <observability",
        ]);
    });

    it("gives Grafana the dashboards of the configured Istio version, the namespace's Prometheus and the pass-through values", () => {
        const base = "https://raw.githubusercontent.com/istio/istio/1.30.2/manifests/addons/dashboards";
        expect(named(run.declared, "observability-grafana").inputs.values).to.deep.equal({
            ...grafanaValues("mesh-system", base),
            persistence: { enabled: true },
        });
    });

    it("links Kiali to that Grafana", () => {
        expect(named(run.declared, "observability-kiali").inputs.values.external_services.grafana).to.deep.equal({
            enabled: true,
            external_url: "http://localhost:3000",
            internal_url: "http://grafana.mesh-system:3000",
        });
    });

    it("outputs the commands for the namespace, Grafana's included", () => {
        expect(run.outputs).to.deep.equal({
            namespace: "mesh-system",
            prometheusUrl: "http://prometheus.mesh-system:9090",
            prometheusPortForward: "kubectl -n mesh-system port-forward svc/prometheus 9090:9090",
            kialiPortForward: "kubectl -n mesh-system port-forward svc/kiali 20001:20001",
            kialiUrl: "http://localhost:20001/kiali",
            kialiGraphUrl: "http://localhost:20001/kiali/console/graph/namespaces?badgeSecurity=true",
            grafanaPortForward: "kubectl -n mesh-system port-forward svc/grafana 3000:3000",
            grafanaUrl: "http://localhost:3000",
        });
    });

    it("uses the official repositories unless told otherwise", () => {
        expect([PROMETHEUS_CHART_REPOSITORY, KIALI_CHART_REPOSITORY, GRAFANA_CHART_REPOSITORY]).to.deep.equal([
            "https://prometheus-community.github.io/helm-charts",
            "https://kiali.org/helm-charts",
            "https://grafana.github.io/helm-charts",
        ]);
    });
});

describe("the Observability component with access edit (the explicit opt-in)", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runObservability({ grafana: true, access: "edit" });
    });

    it("hands Kiali view_only_mode false and Grafana the anonymous Editor role; the NetworkPolicies stay the same", () => {
        expect(named(run.declared, "observability-kiali").inputs.values.deployment.view_only_mode).to.equal(false);
        expect(named(run.declared, "observability-grafana").inputs.values.env.GF_AUTH_ANONYMOUS_ORG_ROLE).to.equal("Editor");
        expect(policiesOf(run)).to.deep.equal(byName(observabilityNetworkPolicies("istio-system", true)));
    });
});
