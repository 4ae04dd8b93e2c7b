// Observability for the mesh: Prometheus and Kiali (Grafana optional) from their official Helm charts, at the chart
// versions and with the values Istio's own `samples/addons` are generated with (istio/istio `manifests/addons/gen.sh`
// and `values-*.yaml` at tag 1.30.3), so Kiali's graph shows the sidecars' traffic and its mTLS padlocks as soon as
// workloads talk. Nothing is exposed outside the cluster: every Service is ClusterIP, reached with
// `kubectl port-forward`.
//
// Locked down, unlike Istio's addons: anonymous users of Kiali and Grafana can only look (`access: "view"`, the
// default; `"edit"` is an explicit opt-in), and NetworkPolicies let in-cluster clients reach the addons only where
// one addon needs another (Kiali and Grafana query Prometheus, Prometheus scrapes Kiali's metrics, Kiali reads
// Grafana). The addons run outside the mesh (not injected), so the mesh's STRICT mTLS and AuthorizationPolicies do
// not protect them: without these policies any pod of the cluster could use Kiali to edit Istio's security policy.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ISTIO_VERSION } from "../mesh/istioOperator";
import { Values, canonical, deepMerge } from "../values";
import { SpireMonitoringSettings, spireAlertRules, spireScrapeConfigs } from "./spireAlerts";
import { SPIRE_GRAFANA_DASHBOARD, SPIRE_GRAFANA_PROVIDER, spireDashboard } from "./spireDashboard";

/** The prometheus-community chart repository (chart `prometheus`). */
export const PROMETHEUS_CHART_REPOSITORY = "https://prometheus-community.github.io/helm-charts";
/** The Kiali chart repository (chart `kiali-server`). */
export const KIALI_CHART_REPOSITORY = "https://kiali.org/helm-charts";
/**
 * The Grafana chart repository (chart `grafana`). The chart moved to grafana-community/helm-charts after 2026-01-30;
 * the version pinned here is still served from this one.
 */
export const GRAFANA_CHART_REPOSITORY = "https://grafana.github.io/helm-charts";

/** Chart versions Istio 1.30.3's addons are rendered from (gen.sh); changing one means re-checking its values. */
export const PROMETHEUS_CHART_VERSION = "28.13.0"; // Prometheus v3.10.0
export const KIALI_CHART_VERSION = "2.26.0"; // Kiali v2.26.0
export const GRAFANA_CHART_VERSION = "9.2.2"; // Grafana 12.0.1

/** Helm release names; the objects are named by the services below (fullnameOverride / instance_name / release). */
export const PROMETHEUS_RELEASE_NAME = "prometheus";
export const KIALI_RELEASE_NAME = "kiali";
export const GRAFANA_RELEASE_NAME = "grafana";

/** Service names and ports of Istio's addons, which Kiali, Grafana and Istio's docs expect. */
export const PROMETHEUS_SERVICE = "prometheus";
export const PROMETHEUS_PORT = 9090;
export const KIALI_SERVICE = "kiali";
export const KIALI_PORT = 20001;
/** Kiali's web root off OpenShift (the chart's default, set explicitly so the documented URL holds). */
export const KIALI_WEB_ROOT = "/kiali";
export const GRAFANA_SERVICE = "grafana";
export const GRAFANA_PORT = 3000;

/**
 * Kiali's login-token signing key, as Istio's addon sets it. Kiali uses and checks it only for session-based
 * strategies, never with `anonymous` (kiali/kiali v2.26.0 config/config.go `validateSigningKey`); a fixed value keeps
 * the chart from generating a new random key (and restarting Kiali) on every upgrade.
 */
export const KIALI_UNUSED_SIGNING_KEY = "CHANGEME00000000";

/**
 * What anonymous users of Kiali and Grafana may do. Both are reached without a login (port-forward), so this is what
 * anyone who can port-forward in the Istio namespace gets.
 * - `view`: Kiali in view-only mode (its UI and API refuse every change, and the chart binds it the `kiali-viewer`
 *   ClusterRole, which reads and port-forwards to proxies to read their config), Grafana's anonymous users are
 *   `Viewer`s (dashboards, no editing);
 * - `edit`: Kiali may change Istio and Kubernetes objects (the chart's full `kiali` ClusterRole), Grafana's anonymous
 *   users are `Editor`s (edit dashboards, use Explore).
 * Grafana administration (data sources, users, settings) is never anonymous: log in as `admin` with the password the
 * chart keeps in Secret `grafana` (key `admin-password`).
 */
export type ObservabilityAccess = "view" | "edit";
export const OBSERVABILITY_ACCESS_LEVELS: readonly ObservabilityAccess[] = ["view", "edit"];

/** Grafana organization role of anonymous users for each access level (Grafana's roles: Viewer, Editor, Admin). */
export const GRAFANA_ANONYMOUS_ROLE: Readonly<Record<ObservabilityAccess, string>> = { view: "Viewer", edit: "Editor" };

/** Kiali's own metrics port (kiali-server chart `server.observability.metrics.port`), which Prometheus scrapes. */
export const KIALI_METRICS_PORT = 9090;

/**
 * Labels of each addon's pods, as the pinned charts set them: each Deployment's `spec.selector.matchLabels` (immutable,
 * so they always hold for its pods). The NetworkPolicies select pods with them; test/charts.test.ts checks each against
 * the rendered Deployments.
 */
export const PROMETHEUS_POD_LABELS: Readonly<Record<string, string>> = {
    "app.kubernetes.io/name": "prometheus",
    "app.kubernetes.io/instance": PROMETHEUS_RELEASE_NAME,
    "app.kubernetes.io/component": "server",
};
export const KIALI_POD_LABELS: Readonly<Record<string, string>> = {
    "app.kubernetes.io/name": "kiali",
    "app.kubernetes.io/instance": KIALI_RELEASE_NAME,
};
export const GRAFANA_POD_LABELS: Readonly<Record<string, string>> = {
    "app.kubernetes.io/name": "grafana",
    "app.kubernetes.io/instance": GRAFANA_RELEASE_NAME,
};

/** Keeps Istio's injector off a pod: the addons run outside the mesh, as Istio's do. */
const NOT_INJECTED = { "sidecar.istio.io/inject": "false" };

/**
 * Istio's Grafana dashboards by Grafana folder provider and file name in Grafana, each mapped to its file in istio/istio
 * `manifests/addons/dashboards/` (gen.sh puts the same files in the `istio-grafana-dashboards` and
 * `istio-services-grafana-dashboards` ConfigMaps of `samples/addons/grafana.yaml`).
 */
export const ISTIO_GRAFANA_DASHBOARDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
    istio: {
        "pilot-dashboard": "pilot-dashboard.gen.json",
        "ztunnel-dashboard": "ztunnel-dashboard.gen.json",
        "istio-performance-dashboard": "istio-performance-dashboard.json",
    },
    "istio-services": {
        "istio-workload-dashboard": "istio-workload-dashboard.json",
        "istio-service-dashboard": "istio-service-dashboard.json",
        "istio-mesh-dashboard": "istio-mesh-dashboard.gen.json",
        "istio-extension-dashboard": "istio-extension-dashboard.json",
    },
};

/** Where Istio's dashboards for an Istio version are downloaded from. */
export function istioDashboardsBaseUrl(istioVersion: string): string {
    return `https://raw.githubusercontent.com/istio/istio/${istioVersion}/manifests/addons/dashboards`;
}

/** The in-cluster URL of the Prometheus this component installs. */
export function prometheusUrl(namespace: string): string {
    return `http://${PROMETHEUS_SERVICE}.${namespace}:${PROMETHEUS_PORT}`;
}

/** The in-cluster URL of the Grafana this component installs. */
export function grafanaUrl(namespace: string): string {
    return `http://${GRAFANA_SERVICE}.${namespace}:${GRAFANA_PORT}`;
}

/** `kubectl port-forward` to a Service, same port on both ends. */
export function portForwardCommand(namespace: string, service: string, port: number): string {
    return `kubectl -n ${namespace} port-forward svc/${service} ${port}:${port}`;
}

/**
 * Kiali's graph of these namespaces with the Security badges on (the `badgeSecurity` URL parameter of Kiali's
 * Display menu), reached through `kubectl port-forward`.
 */
export function kialiGraphUrl(namespaces: readonly string[]): string {
    const selected = namespaces.length > 0 ? [`namespaces=${namespaces.map(encodeURIComponent).join(",")}`] : [];
    const query = [...selected, "badgeSecurity=true"];
    return `http://localhost:${KIALI_PORT}${KIALI_WEB_ROOT}/console/graph/namespaces?${query.join("&")}`;
}

/**
 * Values for the prometheus chart: Istio's `values-prometheus.yaml`. Istio's sidecars serve their standard metrics
 * (merged with the application's) in plaintext on the agent's status port 15020, outside the STRICT-mTLS inbound path,
 * and the injector annotates each pod `prometheus.io/scrape`, `port: 15020`, `path: /stats/prometheus`; the chart's
 * default `kubernetes-pods` job scrapes exactly such pods, so no scrape job is added for them.
 *
 * With `spire` (SPIRE's telemetry on, see spireAlerts.ts): two more scrape jobs, `spire-server` and `spire-agent`
 * (the chart's `scrapeConfigs` map, rendered into prometheus.yml in key order), and SPIRE's alerting rules as the
 * chart's `alerting_rules.yml` (already in the chart's `rule_files`). The SPIRE pods run outside the mesh and serve
 * plain HTTP; no NetworkPolicy restricts Prometheus' egress or the SPIRE namespace's ingress. No Alertmanager is
 * installed: the alerts show on Prometheus' Alerts page and as its `ALERTS` series.
 */
export function prometheusChartValues(passThrough: Values = {}, spire?: SpireMonitoringSettings): Values {
    const decided: Values = {
        // Only the Prometheus server, as Istio's addon.
        alertmanager: { enabled: false },
        "kube-state-metrics": { enabled: false },
        "prometheus-node-exporter": { enabled: false },
        "prometheus-pushgateway": { enabled: false },
        configmapReload: { prometheus: { image: { repository: "ghcr.io/prometheus-operator/prometheus-config-reloader" } } },
        server: {
            // Service and Deployment named `prometheus`, on port 9090: what Kiali and Istio's docs expect.
            fullnameOverride: PROMETHEUS_SERVICE,
            service: { type: "ClusterIP", servicePort: PROMETHEUS_PORT },
            ingress: { enabled: false },
            route: { main: { enabled: false } },
            // Outside the mesh, like Istio's addon: it scrapes the sidecars' plaintext port 15020 directly.
            podLabels: { ...NOT_INJECTED },
            persistentVolume: { enabled: false },
            readinessProbeInitialDelay: 0,
            // Kiali's graph rates need at least two samples in its shortest window (1m).
            global: { scrape_interval: "15s" },
            image: { repository: "docker.io/prom/prometheus" },
        },
        // The Observability component declares the addons' NetworkPolicies; policies add up, so a chart's own (which
        // would let more in) stays off.
        networkPolicy: { enabled: false },
        ...(spire !== undefined
            ? {
                  scrapeConfigs: spireScrapeConfigs(spire.spireNamespace),
                  serverFiles: { "alerting_rules.yml": spireAlertRules(spire) as unknown as Values },
              }
            : {}),
    };
    return canonical(deepMerge(passThrough, decided));
}

/** What this program decides about the kiali-server chart. */
export interface KialiChartSettings {
    /** The release namespace (Istio's namespace). */
    namespace: string;
    /** Whether the Grafana of this component is installed (Kiali links to its dashboards). */
    grafana: boolean;
    /** What anonymous users may do. @default "view" (view-only mode) */
    access?: ObservabilityAccess;
}

/**
 * Values for the kiali-server chart: Istio's `values-kiali.yaml`, with the Prometheus URL spelled out (Kiali's built-in
 * default only holds in `istio-system`) and Grafana wired when installed. Kiali 2.x finds istiod and its root namespace
 * (meshConfig) itself, so no Istio namespace setting is needed.
 */
export function kialiChartValues(settings: KialiChartSettings, passThrough: Values = {}): Values {
    const decided: Values = {
        // No login: Kiali is reachable only through `kubectl port-forward`, by whoever may port-forward here.
        auth: { strategy: "anonymous" },
        login_token: { signing_key: KIALI_UNUSED_SIGNING_KEY },
        deployment: {
            service_type: "ClusterIP",
            // The chart's switch (the addon's `ingress_enabled` is a stale key no template reads).
            ingress: { enabled: false },
            pod_labels: { ...NOT_INJECTED },
            image_pull_policy: "IfNotPresent",
            // The chart's policy admits every pod on 20001 and 9090; the component declares a narrower one.
            network_policy: { enabled: false },
            // kiali/kiali config/config.go DeploymentConfig.ViewOnlyMode (`view_only_mode`): the server refuses every
            // write. With the anonymous strategy the chart then binds the `kiali-viewer` ClusterRole (no write but the
            // port-forwards Kiali reads proxies' config through) instead of `kiali` (kiali-server templates/
            // role-viewer.yaml, role.yaml, rolebinding.yaml), so Kubernetes refuses Kiali's writes too.
            view_only_mode: (settings.access ?? "view") === "view",
        },
        server: { port: KIALI_PORT, web_root: KIALI_WEB_ROOT },
        external_services: {
            prometheus: { url: prometheusUrl(settings.namespace) },
            grafana: settings.grafana
                ? { enabled: true, internal_url: grafanaUrl(settings.namespace), external_url: `http://localhost:${GRAFANA_PORT}` }
                : { enabled: false },
            // No tracing backend is installed (the addon's setting; also Kiali 2.26's default).
            tracing: { enabled: false },
        },
    };
    return canonical(deepMerge(passThrough, decided));
}

/** What this program decides about the grafana chart. */
export interface GrafanaChartSettings {
    /** The release namespace (Istio's namespace). */
    namespace: string;
    /** Base URL Istio's dashboard files are downloaded from (see istioDashboardsBaseUrl). */
    dashboardsBaseUrl: string;
    /** What anonymous users may do. @default "view" (anonymous Viewer) */
    access?: ObservabilityAccess;
    /** Add the SPIRE dashboard (spireDashboard.ts) for these settings. @default no SPIRE dashboard */
    spire?: SpireMonitoringSettings;
}

/**
 * Values for the grafana chart: Istio's `values-grafana.yaml` with two changes. Istio's dashboards are downloaded
 * at pod start by the chart's `download-dashboards` init container (from `dashboardsBaseUrl`, TLS verified) into the
 * same folders, instead of ConfigMaps that gen.sh builds outside the chart; and there is no Loki data source (no Loki
 * is installed) nor the addon's fixed admin password (the chart keeps a random one in Secret `grafana`).
 */
export function grafanaChartValues(settings: GrafanaChartSettings, passThrough: Values = {}): Values {
    const provider = (name: string, folder: string) => ({
        name,
        orgId: 1,
        folder,
        type: "file",
        disableDeletion: false,
        options: { path: `/var/lib/grafana/dashboards/${name}` },
    });
    const providers = [
        ...Object.keys(ISTIO_GRAFANA_DASHBOARDS).map((name) => provider(name, "istio")),
        ...(settings.spire !== undefined ? [provider(SPIRE_GRAFANA_PROVIDER, SPIRE_GRAFANA_PROVIDER)] : []),
    ];
    const dashboards: Values = Object.fromEntries(
        // The dashboards pick their data source through a variable; no `datasource` rewrite is wanted.
        Object.entries(ISTIO_GRAFANA_DASHBOARDS).map(([provider, files]) => [
            provider,
            Object.fromEntries(
                // `-sSfL`: the chart's default curl options (`-skf`) skip TLS verification.
                Object.entries(files).map(([name, file]) => [name, { url: `${settings.dashboardsBaseUrl}/${file}`, curlOptions: "-sSfL" }]),
            ),
        ]),
    );
    if (settings.spire !== undefined) {
        // Inline JSON: the chart writes it into ConfigMap `grafana-dashboards-spire`, mounted into the provider's folder.
        dashboards[SPIRE_GRAFANA_PROVIDER] = { [SPIRE_GRAFANA_DASHBOARD]: { json: JSON.stringify(spireDashboard(settings.spire), null, 2) } };
    }
    const decided: Values = {
        // No dashboard sidecar, so no RBAC; no test pods.
        rbac: { create: false, pspEnabled: false },
        testFramework: { enabled: false },
        podLabels: { ...NOT_INJECTED },
        // Reachable only through `kubectl port-forward`. Anonymous users get Viewer (or Editor with access "edit"),
        // never the addon's Admin; the admin logs in with the chart's Secret `grafana`. Set as environment variables,
        // which override grafana.ini (Grafana docs, "Override configuration with environment variables"), so a
        // grafana.ini in pass-through values cannot raise the role.
        env: {
            GF_AUTH_ANONYMOUS_ENABLED: "true",
            GF_AUTH_ANONYMOUS_ORG_ROLE: GRAFANA_ANONYMOUS_ROLE[settings.access ?? "view"],
            GF_AUTH_BASIC_ENABLED: "false",
        },
        // The component declares Grafana's NetworkPolicy (policies add up; the chart's would let more in).
        networkPolicy: { enabled: false },
        service: { type: "ClusterIP", port: GRAFANA_PORT },
        ingress: { enabled: false },
        route: { main: { enabled: false } },
        dashboardProviders: { "dashboardproviders.yaml": { apiVersion: 1, providers } },
        dashboards,
        datasources: {
            "datasources.yaml": {
                apiVersion: 1,
                datasources: [
                    {
                        name: "Prometheus",
                        type: "prometheus",
                        orgId: 1,
                        url: prometheusUrl(settings.namespace),
                        access: "proxy",
                        isDefault: true,
                        jsonData: { timeInterval: "15s" },
                        editable: true,
                    },
                ],
            },
        },
    };
    return canonical(deepMerge(passThrough, decided));
}

/** A NetworkPolicy manifest (networking.k8s.io/v1), as declared. */
export interface NetworkPolicyManifest {
    apiVersion: "networking.k8s.io/v1";
    kind: "NetworkPolicy";
    metadata: { name: string; namespace: string };
    spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: ["Ingress"];
        ingress: {
            from: { podSelector: { matchLabels: Record<string, string> } }[];
            ports: { protocol: "TCP"; port: number }[];
        }[];
    };
}

/** Names of the NetworkPolicies, one per addon. */
export const PROMETHEUS_NETWORK_POLICY = "prometheus-access";
export const KIALI_NETWORK_POLICY = "kiali-access";
export const GRAFANA_NETWORK_POLICY = "grafana-access";

/**
 * The addons' NetworkPolicies: ingress to each addon's pods only from the addon pods that need it, on the one port
 * they use, and from nothing else in the cluster (`policyTypes: [Ingress]`; egress stays open, so Prometheus scrapes
 * every pod and Kiali reads the API server and istiod):
 * - Prometheus (9090) from Kiali and Grafana, their data source;
 * - Kiali from Prometheus on its metrics port only (the chart annotates Kiali's pods `prometheus.io/scrape`, and the
 *   prometheus chart's `kubernetes-pods` job scrapes them); its UI and API port 20001 from no pod at all;
 * - Grafana (3000) from Kiali, which finds Istio's dashboards through its API (`external_services.grafana`).
 *
 * `kubectl port-forward` keeps working: the container runtime dials the port on `localhost` inside the pod's network
 * namespace (containerd internal/cri/server/sandbox_portforward_linux.go), which never crosses the pod's interface
 * where policies apply; and NetworkPolicy cannot block a pod's loopback or its own node (kubernetes/website
 * content/en/docs/concepts/services-networking/network-policies.md, "What you can't do with network policies"), so the
 * kubelet's probes pass too. A CNI that enforces NetworkPolicy is needed; without one they are stored and do nothing.
 */
export function observabilityNetworkPolicies(namespace: string, grafana: boolean): NetworkPolicyManifest[] {
    type Labels = Readonly<Record<string, string>>;
    const pods = (labels: Labels) => ({ podSelector: { matchLabels: { ...labels } } });
    const policy = (name: string, target: Labels, from: Labels[], port: number): NetworkPolicyManifest => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace },
        spec: {
            podSelector: { matchLabels: { ...target } },
            policyTypes: ["Ingress"],
            ingress: [{ from: from.map(pods), ports: [{ protocol: "TCP", port }] }],
        },
    });
    const prometheusClients = grafana ? [KIALI_POD_LABELS, GRAFANA_POD_LABELS] : [KIALI_POD_LABELS];
    return [
        policy(PROMETHEUS_NETWORK_POLICY, PROMETHEUS_POD_LABELS, prometheusClients, PROMETHEUS_PORT),
        policy(KIALI_NETWORK_POLICY, KIALI_POD_LABELS, [PROMETHEUS_POD_LABELS], KIALI_METRICS_PORT),
        ...(grafana ? [policy(GRAFANA_NETWORK_POLICY, GRAFANA_POD_LABELS, [KIALI_POD_LABELS], GRAFANA_PORT)] : []),
    ];
}

/** One pinned chart, as a release of it is declared. */
interface HelmChart {
    chart: string;
    releaseName: string;
    version: string;
    repository: string;
}

export interface ObservabilityArgs {
    /** Istio's namespace (existing): the addons run there, as Istio's samples/addons do. @default "istio-system" */
    namespace?: string;
    /** The istiod release: Kiali needs Istio's CRDs and istiod; every release here waits for it. */
    istiodRelease: pulumi.Resource;
    /** Install Grafana with Istio's dashboards too. @default false */
    grafana?: boolean;
    /** What anonymous users of Kiali and Grafana may do (see ObservabilityAccess). @default "view" */
    access?: ObservabilityAccess;
    /** Istio version whose Grafana dashboards are installed. @default ISTIO_VERSION ("1.30.3") */
    istioVersion?: string;
    /**
     * Base URL of Istio's dashboard files, e.g. a mirror for a cluster without egress to GitHub.
     * @default istioDashboardsBaseUrl(istioVersion)
     */
    grafanaDashboardsBaseUrl?: string;
    /** Namespaces the `kialiGraphUrl` output opens. @default [] (Kiali asks) */
    graphNamespaces?: string[];
    /** Chart repositories (a mirror works). @default the official ones (PROMETHEUS_/KIALI_/GRAFANA_CHART_REPOSITORY) */
    repositories?: { prometheus?: string; kiali?: string; grafana?: string };
    /**
     * Extra values per chart, merged under the ones this component sets (so they cannot change the access level, the
     * Service types or the charts' own NetworkPolicies). @default {}
     */
    values?: { prometheus?: Values; kiali?: Values; grafana?: Values };
    /** Helm wait timeout in seconds. @default 600 */
    timeoutSeconds?: number;
    /**
     * Monitor SPIRE: scrape its server and agents (whose telemetry the Spire component's `telemetry` turns on), ship
     * SPIRE's alerting rules with Prometheus, and add the SPIRE dashboard to Grafana. @default SPIRE not monitored
     */
    spire?: SpireMonitoringSettings;
}

/**
 * Prometheus and Kiali (Grafana optional) in Istio's namespace, outside the mesh, reachable only by port-forward and
 * by each other (NetworkPolicies). Installed after istiod; each addon after the NetworkPolicy that selects its pods (no
 * pod ever runs unrestricted); Kiali after Prometheus, Grafana after Prometheus.
 */
export class Observability extends pulumi.ComponentResource {
    public readonly namespace: pulumi.Output<string>;
    /** In-cluster URL of Prometheus (Kiali's and Grafana's data source). */
    public readonly prometheusUrl: pulumi.Output<string>;
    public readonly prometheusPortForward: pulumi.Output<string>;
    public readonly kialiPortForward: pulumi.Output<string>;
    /** Kiali in the browser, once `kialiPortForward` runs. */
    public readonly kialiUrl: pulumi.Output<string>;
    /** Kiali's graph with the Security (mTLS padlock) badges on. */
    public readonly kialiGraphUrl: pulumi.Output<string>;
    /** Undefined without Grafana. */
    public readonly grafanaPortForward: pulumi.Output<string | undefined>;
    public readonly grafanaUrl: pulumi.Output<string | undefined>;
    public readonly prometheus: k8s.helm.v3.Release;
    public readonly kiali: k8s.helm.v3.Release;
    public readonly grafana?: k8s.helm.v3.Release;
    /** The NetworkPolicies restricting who reaches each addon, by addon. */
    public readonly networkPolicies: {
        prometheus: k8s.networking.v1.NetworkPolicy;
        kiali: k8s.networking.v1.NetworkPolicy;
        grafana?: k8s.networking.v1.NetworkPolicy;
    };
    /** The exact values handed to each chart. */
    public readonly chartValues: { prometheus: Values; kiali: Values; grafana?: Values };

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-spire:observability:Observability", name, {}, opts);
        const namespace = args.namespace ?? "istio-system";
        const withGrafana = args.grafana ?? false;
        const access = args.access ?? "view";
        const timeout = args.timeoutSeconds ?? 600;
        const dashboardsBaseUrl = args.grafanaDashboardsBaseUrl ?? istioDashboardsBaseUrl(args.istioVersion ?? ISTIO_VERSION);

        this.chartValues = {
            prometheus: prometheusChartValues(args.values?.prometheus, args.spire),
            kiali: kialiChartValues({ namespace, grafana: withGrafana, access }, args.values?.kiali),
            ...(withGrafana ? { grafana: grafanaChartValues({ namespace, dashboardsBaseUrl, access, spire: args.spire }, args.values?.grafana) } : {}),
        };

        // After istiod, whose release follows the creation of the namespace.
        const [prometheusPolicy, kialiPolicy, grafanaPolicy] = observabilityNetworkPolicies(namespace, withGrafana).map(
            (manifest) =>
                new k8s.networking.v1.NetworkPolicy(`${name}-${manifest.metadata.name}`, manifest, {
                    parent: this,
                    dependsOn: [args.istiodRelease],
                }),
        );
        this.networkPolicies = {
            prometheus: prometheusPolicy,
            kiali: kialiPolicy,
            ...(grafanaPolicy ? { grafana: grafanaPolicy } : {}),
        };

        const release = (suffix: string, chart: HelmChart, values: Values, dependsOn: pulumi.Resource[]) =>
            new k8s.helm.v3.Release(
                `${name}-${suffix}`,
                {
                    name: chart.releaseName,
                    chart: chart.chart,
                    version: chart.version,
                    repositoryOpts: { repo: chart.repository },
                    namespace,
                    values,
                    timeout,
                },
                { parent: this, dependsOn },
            );
        const repositories = args.repositories ?? {};

        this.prometheus = release(
            "prometheus",
            {
                chart: "prometheus",
                releaseName: PROMETHEUS_RELEASE_NAME,
                version: PROMETHEUS_CHART_VERSION,
                repository: repositories.prometheus ?? PROMETHEUS_CHART_REPOSITORY,
            },
            this.chartValues.prometheus,
            [args.istiodRelease, prometheusPolicy],
        );
        this.kiali = release(
            "kiali",
            {
                chart: "kiali-server",
                releaseName: KIALI_RELEASE_NAME,
                version: KIALI_CHART_VERSION,
                repository: repositories.kiali ?? KIALI_CHART_REPOSITORY,
            },
            this.chartValues.kiali,
            // Kiali reads Istio's CRDs and istiod, and Prometheus from its first graph on.
            [args.istiodRelease, this.prometheus, kialiPolicy],
        );
        if (this.chartValues.grafana !== undefined) {
            this.grafana = release(
                "grafana",
                {
                    chart: "grafana",
                    releaseName: GRAFANA_RELEASE_NAME,
                    version: GRAFANA_CHART_VERSION,
                    repository: repositories.grafana ?? GRAFANA_CHART_REPOSITORY,
                },
                this.chartValues.grafana,
                [args.istiodRelease, this.prometheus, grafanaPolicy],
            );
        }

        this.namespace = pulumi.output(namespace);
        this.prometheusUrl = pulumi.output(prometheusUrl(namespace));
        this.prometheusPortForward = pulumi.output(portForwardCommand(namespace, PROMETHEUS_SERVICE, PROMETHEUS_PORT));
        this.kialiPortForward = pulumi.output(portForwardCommand(namespace, KIALI_SERVICE, KIALI_PORT));
        this.kialiUrl = pulumi.output(`http://localhost:${KIALI_PORT}${KIALI_WEB_ROOT}`);
        this.kialiGraphUrl = pulumi.output(kialiGraphUrl(args.graphNamespaces ?? []));
        this.grafanaPortForward = pulumi.output(withGrafana ? portForwardCommand(namespace, GRAFANA_SERVICE, GRAFANA_PORT) : undefined);
        this.grafanaUrl = pulumi.output(withGrafana ? `http://localhost:${GRAFANA_PORT}` : undefined);
        this.registerOutputs({
            namespace: this.namespace,
            prometheusUrl: this.prometheusUrl,
            prometheusPortForward: this.prometheusPortForward,
            kialiPortForward: this.kialiPortForward,
            kialiUrl: this.kialiUrl,
            kialiGraphUrl: this.kialiGraphUrl,
            grafanaPortForward: this.grafanaPortForward,
            grafanaUrl: this.grafanaUrl,
        });
    }
}
