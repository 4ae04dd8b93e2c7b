// SPIRE's monitoring: the telemetry the spire chart renders, the scrape jobs and alerting rules the prometheus chart
// renders from the program's values, the rules run by a real promtool on synthetic series (each alert fires when it
// should, with its labels, and stays silent otherwise), and the SPIRE Grafana dashboard.

import { spawnSync } from "child_process";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
    SPIRE_AGENT_SCRAPE_TARGET,
    SPIRE_DASHBOARD_QUERIES,
    SPIRE_SERVER_SCRAPE_TARGET,
    SPIRE_TELEMETRY_PORT,
    SPIRE_TELEMETRY_PORT_NAME,
    SPIRE_TELEMETRY_VALUES,
    caRotationThresholdSeconds,
    grafanaChartValues,
    prometheusChartValues,
    prometheusDuration,
    spireAlertRules,
    spireChartValues,
    spireDashboard,
    spireLabelValue,
    spireScrapeConfigs,
} from "../components";
import { Declared, ProgramRun, named, runProgram } from "../tools/mock-engine/harness";
import { requireArtifact, requireUpstream } from "../tools/upstream/artifacts";
import { RenderedObject } from "../tools/upstream/helm";
import { ChartRenderer, podTemplateOf, theObject, requireHelm } from "./chartRender";
import { webPeer } from "./testStacks";

const program: () => Promise<Record<string, any>> = require("../index");

const ORG = "acme";

/** The configurations run (this file's own): the defaults (caTTL 720h, hint 5m), and a small CA TTL and hint. */
const DEFAULTS = {
    stack: "east",
    config: {
        trustDomain: "east.example",
        clusterName: "east",
        observability: true,
        observabilityGrafana: true,
        peers: [{ stack: `${ORG}/istio-spire/south` }, { stack: `${ORG}/istio-spire/cluster2` }],
    },
    world: { stackOutputs: { [`${ORG}/istio-spire/south`]: webPeer("south.example"), [`${ORG}/istio-spire/cluster2`]: webPeer("cluster2.demo") } },
    settings: { spireNamespace: "spire-server", caTTL: "720h", federationRefreshHint: "5m", peerTrustDomains: ["cluster2.demo", "south.example"] },
};
const SMALL = {
    stack: "west",
    config: {
        trustDomain: "west.example",
        clusterName: "west",
        spireNamespace: "spire",
        caTTL: "6h",
        federationRefreshHint: "1m",
        observability: true,
        peers: [{ stack: `${ORG}/istio-spire/north` }],
    },
    world: { stackOutputs: { [`${ORG}/istio-spire/north`]: webPeer("north.example") } },
    settings: { spireNamespace: "spire", caTTL: "6h", federationRefreshHint: "1m", peerTrustDomains: ["north.example"] },
};

const release = (run: ProgramRun<unknown>, name: string): Declared => named(run.declared, name);

// ---------------------------------------------------------------------------------------------------------------

describe("SPIRE monitoring: metric labels, thresholds and rules as data", () => {
    it("writes a trust domain as SPIRE's sanitized label value", () => {
        expect(["cluster2.demo", "a-b.example", "x._y", "plain"].map(spireLabelValue)).to.deep.equal(["cluster2_demo", "a_b_example", "x_y", "plain"]);
    });

    it("derives the CA threshold from caTTL as SPIRE's activation threshold, min(caTTL / 6, 7 days)", () => {
        expect(["720h", "6h", "90m", "2160h", "1008h"].map(caRotationThresholdSeconds)).to.deep.equal([432000, 3600, 900, 604800, 604800]);
    });

    it("writes durations as Prometheus does", () => {
        expect([300_000, 900_000, 5_400_000, 90_000, 90_500, 432_000_000].map(prometheusDuration)).to.deep.equal([
            "5m",
            "15m",
            "1h30m",
            "1m30s",
            "1m30s500ms",
            "120h",
        ]);
    });

    it("has one group of rules: the CA, one federation rule per peer (sorted, once each), server and agent down and missing, datastore", () => {
        const rules = spireAlertRules({ ...DEFAULTS.settings, peerTrustDomains: ["south.example", "cluster2.demo", "south.example"] });
        expect(rules.groups.map((g) => g.name)).to.deep.equal(["spire"]);
        expect(rules.groups[0].rules.map((r) => [r.alert, r.for, r.labels])).to.deep.equal([
            ["SpireServerCANotRotated", "10m", { severity: "critical" }],
            ["SpireFederatedBundleRefreshFailing", "10m", { severity: "warning", peer_trust_domain: "cluster2.demo" }],
            ["SpireFederatedBundleRefreshFailing", "10m", { severity: "warning", peer_trust_domain: "south.example" }],
            ["SpireServerDown", "5m", { severity: "critical" }],
            ["SpireServerTargetMissing", "5m", { severity: "critical" }],
            ["SpireAgentDown", "5m", { severity: "critical" }],
            ["SpireAgentTargetMissing", "5m", { severity: "critical" }],
            ["SpireServerDatastoreErrors", "10m", { severity: "critical" }],
        ]);
        const [ca, cluster2] = rules.groups[0].rules;
        expect(ca.expr).to.equal('spire_server_manager_x509_ca_rotate_expiration{job="spire-server"} - time() < 432000');
        expect(cluster2.expr).to.equal(
            'sum by (trust_domain_id) (increase(spire_server_bundle_manager_fetch_federated_bundle{job="spire-server", trust_domain_id="cluster2_demo", status!="OK"}[5m])) > 0\n' +
                "unless on (trust_domain_id)\n" +
                'sum by (trust_domain_id) (increase(spire_server_bundle_manager_fetch_federated_bundle{job="spire-server", trust_domain_id="cluster2_demo", status="OK"}[5m])) > 0',
        );
        // The small settings: a 1h threshold, a 1m window held 2m.
        const small = spireAlertRules(SMALL.settings).groups[0].rules;
        expect(small[0].expr).to.match(/ < 3600$/);
        expect([small[1].for, small[1].expr.match(/\[(\w+)\]/g)]).to.deep.equal(["2m", ["[1m]", "[1m]"]]);
    });

    it("scrapes the server and agent telemetry ports of the spire release's pods in the SPIRE namespace", () => {
        const jobs = spireScrapeConfigs("spire");
        expect(Object.keys(jobs)).to.deep.equal(["spire-server", "spire-agent"]);
        expect(jobs["spire-agent"]).to.deep.equal({
            job_name: "spire-agent",
            kubernetes_sd_configs: [{ role: "pod", namespaces: { names: ["spire"] } }],
            relabel_configs: [
                {
                    action: "keep",
                    source_labels: [
                        "__meta_kubernetes_pod_label_app_kubernetes_io_name",
                        "__meta_kubernetes_pod_label_app_kubernetes_io_instance",
                        "__meta_kubernetes_pod_label_app_kubernetes_io_component",
                        "__meta_kubernetes_pod_container_name",
                        "__meta_kubernetes_pod_container_port_name",
                    ],
                    separator: ";",
                    regex: "agent;spire;default;spire-agent;prom",
                },
                { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "Pending|Succeeded|Failed|Completed" },
                { action: "replace", source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
                { action: "replace", source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
                { action: "replace", source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
            ],
        });
        expect((jobs["spire-server"].relabel_configs as { regex: string }[])[0].regex).to.equal("server;spire;server;spire-server;prom");
    });

    it("leaves the prometheus, grafana and spire chart values as they were without SPIRE monitoring", () => {
        const before = prometheusChartValues();
        expect(before).to.not.have.any.keys("scrapeConfigs", "serverFiles");
        expect(prometheusChartValues({}, DEFAULTS.settings)).to.deep.equal({
            ...before,
            scrapeConfigs: spireScrapeConfigs("spire-server"),
            serverFiles: { "alerting_rules.yml": spireAlertRules(DEFAULTS.settings) },
        });
        const grafana = { namespace: "istio-system", dashboardsBaseUrl: "https://example.com" };
        expect(grafanaChartValues(grafana).dashboards).to.have.all.keys("istio", "istio-services");
        const spireSettings = {
            trustDomain: "east.example",
            clusterName: "east",
            caTTL: "720h",
            caSubject: { country: "US", organization: "SPIRE", commonName: "east.example" },
            controllerClassName: "spire-server-spire",
            federationRefreshHint: "5m",
        };
        const off: Record<string, any> = spireChartValues(spireSettings);
        expect(spireChartValues({ ...spireSettings, telemetry: false })).to.deep.equal(off);
        expect(off["spire-server"]).to.not.have.property("telemetry");
        expect(off["spire-agent"]).to.not.have.property("telemetry");
        const on: Record<string, any> = spireChartValues({ ...spireSettings, telemetry: true });
        expect([on["spire-server"].telemetry, on["spire-agent"].telemetry]).to.deep.equal([
            { prometheus: { enabled: true } },
            { prometheus: { enabled: true } },
        ]);
        expect({
            ...on,
            "spire-server": { ...on["spire-server"], telemetry: undefined },
            "spire-agent": { ...on["spire-agent"], telemetry: undefined },
        }).to.deep.equal({
            ...off,
            "spire-server": { ...off["spire-server"], telemetry: undefined },
            "spire-agent": { ...off["spire-agent"], telemetry: undefined },
        });
        expect(SPIRE_TELEMETRY_VALUES).to.deep.equal({
            "spire-server": { telemetry: { prometheus: { enabled: true } } },
            "spire-agent": { telemetry: { prometheus: { enabled: true } } },
        });
    });
});

describe("SPIRE monitoring: the Grafana dashboard", () => {
    const dashboard = spireDashboard({ ...DEFAULTS.settings, peerTrustDomains: ["south.example", "cluster2.demo"] }) as { panels: any[]; uid: string };
    const rows = dashboard.panels.filter((p) => p.type === "row");

    it("has a health row, then one federation row per peer in sorted order, each with its refreshes, time since the last refresh and bundle changes", () => {
        expect(rows.map((r) => r.title)).to.deep.equal(["SPIRE server and agents", "Federation: cluster2.demo", "Federation: south.example"]);
        const under = (row: any) => {
            const next = rows[rows.indexOf(row) + 1];
            return dashboard.panels.filter((p) => p.type !== "row" && p.gridPos.y > row.gridPos.y && (next === undefined || p.gridPos.y < next.gridPos.y));
        };
        expect(under(rows[0]).map((p: any) => p.title)).to.deep.equal([
            "SPIRE servers up",
            "SPIRE agents up",
            "SPIRE agents down",
            "X.509 CA time left",
            "Datastore errors",
        ]);
        expect(under(rows[2]).map((p: any) => [p.title, p.targets[0].expr])).to.deep.equal([
            [
                "Bundle refreshes from south.example",
                'sum by (status) (increase(spire_server_bundle_manager_fetch_federated_bundle{job="spire-server", trust_domain_id="south_example"}[5m]))',
            ],
            [
                "Since the last refresh of south.example",
                'time() - max_over_time(timestamp(sum by (trust_domain_id) (increase(spire_server_bundle_manager_fetch_federated_bundle{job="spire-server", trust_domain_id="south_example", status="OK"}[2m])) > 0)[1d:1m])',
            ],
            [
                "Bundle changes from south.example (1 day)",
                'sum(increase(spire_server_bundle_manager_update_federated_bundle{job="spire-server", trust_domain_id="south_example"}[1d])) or vector(0)',
            ],
        ]);
        // Red from 3 x the hint (5m), as the alert; the CA panel red under the rotation threshold (120h).
        expect(under(rows[1])[1].fieldConfig.defaults.thresholds.steps).to.deep.equal([
            { color: "green", value: null },
            { color: "red", value: 900 },
        ]);
        expect(under(rows[0])[3].fieldConfig.defaults.thresholds.steps[1]).to.deep.equal({ color: "green", value: 432000 });
    });

    it("numbers panels in order, lays rows out top to bottom without overlap, and is the same JSON for the same peers in any order", () => {
        expect(dashboard.panels.map((p) => p.id)).to.deep.equal(dashboard.panels.map((_, i) => i + 1));
        expect(rows.map((r) => r.gridPos.y)).to.deep.equal([0, 6, 12]);
        for (const p of dashboard.panels.filter((p) => p.type !== "row")) {
            expect(p.gridPos.x + p.gridPos.w, p.title).to.be.at.most(24);
        }
        expect(JSON.stringify(spireDashboard({ ...DEFAULTS.settings, peerTrustDomains: ["cluster2.demo", "south.example"] }))).to.equal(
            JSON.stringify(dashboard),
        );
        expect(spireDashboard({ ...DEFAULTS.settings, peerTrustDomains: [] }).panels).to.have.length(6);
    });

    it("is provisioned as Istio's are: a file provider `spire` whose dashboard the chart writes from inline JSON", () => {
        const values: Record<string, any> = grafanaChartValues({
            namespace: "istio-system",
            dashboardsBaseUrl: "https://example.com",
            spire: DEFAULTS.settings,
        });
        const providers = values.dashboardProviders["dashboardproviders.yaml"].providers;
        expect(providers.map((p: any) => [p.name, p.folder, p.options.path])).to.deep.equal([
            ["istio", "istio", "/var/lib/grafana/dashboards/istio"],
            ["istio-services", "istio", "/var/lib/grafana/dashboards/istio-services"],
            ["spire", "spire", "/var/lib/grafana/dashboards/spire"],
        ]);
        expect(Object.keys(values.dashboards.spire)).to.deep.equal(["spire-dashboard"]);
        expect(JSON.parse(values.dashboards.spire["spire-dashboard"].json)).to.deep.equal(spireDashboard(DEFAULTS.settings));
    });
});

describe("SPIRE monitoring: the program", () => {
    it("with observability off declares no telemetry: the spire values are the ones without it", async () => {
        const run = await runProgram(program, { trustDomain: "east.example", clusterName: "east" }, {}, "east");
        const values = release(run, "spire-release").inputs.values;
        expect(values["spire-server"]).to.not.have.property("telemetry");
        expect(values["spire-agent"]).to.not.have.property("telemetry");
    });

    it("with observability on turns SPIRE's telemetry on and gives Observability the SPIRE namespace, caTTL, hint and ready peers", async () => {
        for (const c of [DEFAULTS, SMALL]) {
            const run = await runProgram(program, c.config, c.world, c.stack);
            const values = release(run, "spire-release").inputs.values;
            expect([values["spire-server"].telemetry, values["spire-agent"].telemetry]).to.deep.equal([
                { prometheus: { enabled: true } },
                { prometheus: { enabled: true } },
            ]);
            const prometheus = release(run, "observability-prometheus").inputs.values;
            expect(prometheus.scrapeConfigs).to.deep.equal(spireScrapeConfigs(c.settings.spireNamespace));
            expect(prometheus.serverFiles["alerting_rules.yml"]).to.deep.equal(spireAlertRules(c.settings));
            if (c === DEFAULTS) {
                const grafana = release(run, "observability-grafana").inputs.values;
                expect(JSON.parse(grafana.dashboards.spire["spire-dashboard"].json)).to.deep.equal(spireDashboard(c.settings));
            }
        }
    });

    it("declares no NetworkPolicy that stops Prometheus scraping SPIRE: ingress-only, all in the Istio namespace, none on Prometheus' egress", async () => {
        const run = await runProgram(program, SMALL.config, SMALL.world, SMALL.stack);
        const policies = run.declared.filter((d) => d.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        expect(policies.map((p) => [p.inputs.metadata.name, p.inputs.metadata.namespace, p.inputs.spec.policyTypes])).to.deep.equal([
            ["prometheus-access", "istio-system", ["Ingress"]],
            ["kiali-access", "istio-system", ["Ingress"]],
        ]);
    });
});

// ---------------------------------------------------------------------------------------------------------------
// Real renders, and promtool

/** promtool's version line, or undefined when there is none on PATH. */
function promtoolVersion(): string | undefined {
    const run = spawnSync("promtool", ["--version"], { encoding: "utf8", timeout: 20000 });
    return run.status === 0 ? run.stdout.split("\n")[0] : undefined;
}

function promtool(args: string[], cwd: string): { code: number | null; output: string } {
    const run = spawnSync("promtool", args, { cwd, encoding: "utf8", timeout: 120000 });
    return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

const configMapData = (objects: RenderedObject[], name: string, namespace: string): Record<string, string> =>
    theObject(objects, "ConfigMap", name, namespace).data as Record<string, string>;

interface Rendered {
    run: ProgramRun<Record<string, any>>;
    spire: RenderedObject[];
    prometheus: RenderedObject[];
    grafana?: RenderedObject[];
}

describe("SPIRE monitoring: what the charts render from the program's values", function () {
    this.timeout(180000);
    let renderer: ChartRenderer;
    const rendered = new Map<string, Rendered>();

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        const helm = await requireHelm(this, "render the charts with");
        renderer = new ChartRenderer(helm);
        for (const c of [DEFAULTS, SMALL]) {
            const run = await runProgram(program, c.config, c.world, c.stack);
            const grafana = c === DEFAULTS ? await renderer.render(release(run, "observability-grafana")) : undefined;
            rendered.set(c.stack, {
                run,
                spire: await renderer.render(release(run, "spire-release")),
                prometheus: await renderer.render(release(run, "observability-prometheus")),
                grafana,
            });
        }
    });

    describe("spire chart", () => {
        it("renders a Prometheus telemetry block into server.conf and agent.conf, on 0.0.0.0:9988", () => {
            const { spire } = rendered.get("east")!;
            const server = JSON.parse(configMapData(spire, "spire-server", "spire-server")["server.conf"]);
            const agent = JSON.parse(configMapData(spire, "spire-agent", "spire-server")["agent.conf"]);
            for (const conf of [server, agent]) {
                expect(conf.telemetry).to.deep.equal([{ Prometheus: [{ host: "0.0.0.0", port: SPIRE_TELEMETRY_PORT }] }]);
            }
        });

        it("exposes the telemetry port as `prom` on the spire-server and spire-agent containers of the pods the scrape jobs keep", () => {
            const { spire } = rendered.get("west")!;
            for (const [kind, name, target] of [
                ["StatefulSet", "spire-server", SPIRE_SERVER_SCRAPE_TARGET],
                ["DaemonSet", "spire-agent", SPIRE_AGENT_SCRAPE_TARGET],
            ] as const) {
                const workload = theObject(spire, kind, name, "spire");
                const template = podTemplateOf(workload)!;
                expect(workload.spec.selector.matchLabels, `${kind} ${name} selector`).to.deep.equal(target.labels);
                expect(template.metadata?.labels).to.include(target.labels);
                const ports = template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => [c.name, p.name, p.containerPort]));
                expect(ports.filter((p: any[]) => p[1] === SPIRE_TELEMETRY_PORT_NAME)).to.deep.equal([[target.container, "prom", SPIRE_TELEMETRY_PORT]]);
            }
        });

        it("renders no telemetry block nor port without observability", async () => {
            const run = await runProgram(program, { trustDomain: "east.example", clusterName: "east" }, {}, "east");
            const spire = await renderer.render(release(run, "spire-release"));
            expect(JSON.parse(configMapData(spire, "spire-server", "spire-server")["server.conf"])).to.not.have.property("telemetry");
            expect(JSON.parse(configMapData(spire, "spire-agent", "spire-server")["agent.conf"])).to.not.have.property("telemetry");
            const ports = spire.flatMap((o) =>
                (podTemplateOf(o)?.spec?.containers ?? []).flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort)),
            );
            expect(ports).to.not.include(SPIRE_TELEMETRY_PORT);
        });
    });

    describe("prometheus chart", () => {
        it("puts the spire-server and spire-agent jobs into prometheus.yml, beside the chart's own, and reads alerting_rules.yml", () => {
            for (const c of [DEFAULTS, SMALL]) {
                const config = parse(configMapData(rendered.get(c.stack)!.prometheus, "prometheus", "istio-system")["prometheus.yml"]);
                const jobs = Object.fromEntries(config.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]));
                expect(jobs["spire-server"]).to.deep.equal(spireScrapeConfigs(c.settings.spireNamespace)["spire-server"]);
                expect(jobs["spire-agent"]).to.deep.equal(spireScrapeConfigs(c.settings.spireNamespace)["spire-agent"]);
                expect(jobs).to.include.keys("kubernetes-pods", "prometheus");
                expect(config.rule_files).to.include("/etc/config/alerting_rules.yml");
            }
        });

        it("ships the rules as alerting_rules.yml, exactly the program's", () => {
            for (const c of [DEFAULTS, SMALL]) {
                const rules = parse(configMapData(rendered.get(c.stack)!.prometheus, "prometheus", "istio-system")["alerting_rules.yml"]);
                expect(rules).to.deep.equal(spireAlertRules(c.settings));
            }
        });
    });

    describe("grafana chart", () => {
        it("writes the SPIRE dashboard into ConfigMap grafana-dashboards-spire, mounted into the spire provider's folder", () => {
            const { grafana } = rendered.get("east")!;
            const json = configMapData(grafana!, "grafana-dashboards-spire", "istio-system")["spire-dashboard.json"];
            expect(JSON.parse(json)).to.deep.equal(spireDashboard(DEFAULTS.settings));
            const pod = podTemplateOf(theObject(grafana!, "Deployment", "grafana", "istio-system"))!.spec;
            const mount = pod.containers.find((c: any) => c.name === "grafana").volumeMounts.find((m: any) => m.name === "dashboards-spire");
            expect(mount).to.deep.equal({
                name: "dashboards-spire",
                mountPath: "/var/lib/grafana/dashboards/spire/spire-dashboard.json",
                subPath: "spire-dashboard.json",
            });
            expect(pod.volumes.find((v: any) => v.name === "dashboards-spire")).to.deep.equal({
                name: "dashboards-spire",
                configMap: { name: "grafana-dashboards-spire" },
            });
            const providers = parse(configMapData(grafana!, "grafana", "istio-system")["dashboardproviders.yaml"]).providers;
            expect(providers.find((p: any) => p.name === "spire").options.path).to.equal("/var/lib/grafana/dashboards/spire");
        });
    });

    describe("promtool", function () {
        let dir: string;

        before(function () {
            const version = promtoolVersion();
            requireArtifact(
                this,
                version !== undefined,
                () => "pending: no promtool to check and unit-test SPIRE's alerting rules with (apt-get install prometheus)",
            );
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-promtool-"));
            for (const c of [DEFAULTS, SMALL]) {
                const data = configMapData(rendered.get(c.stack)!.prometheus, "prometheus", "istio-system");
                fs.mkdirSync(path.join(dir, c.stack));
                // Byte for byte what the chart renders into the ConfigMap Prometheus reads its rules from.
                fs.writeFileSync(path.join(dir, c.stack, "alerting_rules.yml"), data["alerting_rules.yml"]);
            }
        });
        after(() => {
            if (dir) {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        // No `promtool check config` of the rendered prometheus.yml: Debian's promtool is built without Kubernetes
        // service discovery, and refuses every `kubernetes_sd_configs` (the chart's own jobs' too).
        it("`promtool check rules` accepts the rendered rules", () => {
            for (const [c, count] of [
                [DEFAULTS, 8],
                [SMALL, 7],
            ] as const) {
                const rules = promtool(["check", "rules", "alerting_rules.yml"], path.join(dir, c.stack));
                expect(rules, rules.output).to.deep.include({ code: 0 });
                expect(rules.output).to.contain(`SUCCESS: ${count} rules found`);
            }
        });

        it("`promtool check rules` accepts every query of the dashboard", () => {
            const queries = Object.values(SPIRE_DASHBOARD_QUERIES).map((q) => (typeof q === "string" ? q : q("cluster2.demo")));
            const file = path.join(dir, "dashboard_queries.yml");
            fs.writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: queries.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) }] }));
            const result = promtool(["check", "rules", file], dir);
            expect(result, result.output).to.deep.include({ code: 0 });
            expect(result.output).to.contain(`SUCCESS: ${queries.length} rules found`);
        });

        for (const c of [DEFAULTS, SMALL]) {
            it(`\`promtool test rules\`: each alert fires when it should and stays silent otherwise (caTTL ${c.settings.caTTL}, hint ${c.settings.federationRefreshHint})`, () => {
                const tests = c === DEFAULTS ? defaultsTests() : smallTests();
                fs.writeFileSync(path.join(dir, c.stack, "tests.yml"), stringify(tests));
                const result = promtool(["test", "rules", "tests.yml"], path.join(dir, c.stack));
                expect(result.output).to.contain("SUCCESS");
                expect(result.code, result.output).to.equal(0);
            });
        }

        it("`promtool test rules` fails when an alert is expected but does not fire (the tests can fail)", () => {
            const tests = defaultsTests();
            // Claim the CA alert fires with a healthy rotation.
            tests.tests[0].alert_rule_test.push({
                eval_time: "20m",
                alertname: "SpireServerCANotRotated",
                exp_alerts: [{ exp_labels: { severity: "critical" } }],
            });
            fs.writeFileSync(path.join(dir, "east", "wrong.yml"), stringify(tests));
            const result = promtool(["test", "rules", "wrong.yml"], path.join(dir, "east"));
            expect(result.code).to.equal(1);
            expect(result.output).to.contain("alertname: SpireServerCANotRotated, time: 20m");
        });
    });
});

// ---------------------------------------------------------------------------------------------------------------
// Synthetic series for promtool. Time starts at 0 (Unix epoch); samples every 15 s, the bundled Prometheus' scrape
// interval; rules evaluated every minute (the chart's evaluation_interval).

const STEP = 15;

/** A promtool values string of one sample per 15 s from 0 to `end` seconds: `value(t)` gives each (undefined: none). */
function samples(end: number, value: (t: number) => number | "stale" | undefined): string {
    const out: string[] = [];
    for (let t = 0; t <= end; t += STEP) {
        const v = value(t);
        out.push(v === undefined ? "_" : String(v));
    }
    return out.join(" ");
}

/**
 * A SPIRE call counter as scraped: absent until its first increment (go-metrics creates it then), then the number of
 * increments so far (it never expires: SPIRE's sink has no expiration).
 */
function counter(end: number, increments: number[]): string {
    return samples(end, (t) => {
        const n = increments.filter((at) => at <= t).length;
        return n === 0 ? undefined : n;
    });
}

/** Times from `from` (included) to `to` (included) every `every` seconds. */
function every(from: number, to: number, every: number): number[] {
    const out: number[] = [];
    for (let t = from; t <= to; t += every) {
        out.push(t);
    }
    return out;
}

const MIN = 60;
const HOUR = 3600;
const SERVER = { job: "spire-server", namespace: "spire-server", pod: "spire-server-0", node: "node-1", instance: "10.0.0.5:9988" };
const labelText = (labels: Record<string, string>) =>
    `{${Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(", ")}}`;
const series = (name: string, labels: Record<string, string>, values: string) => ({ series: `${name}${labelText(labels)}`, values });

const fetchSeries = (end: number, peer: string, status: string, attempts: number[]) =>
    series(
        "spire_server_bundle_manager_fetch_federated_bundle",
        { ...SERVER, host: "spire-server-0", trust_domain_id: spireLabelValue(peer), status },
        counter(end, attempts),
    );

interface PromtoolTests {
    rule_files: string[];
    evaluation_interval: string;
    tests: { interval: string; input_series: { series: string; values: string }[]; alert_rule_test: any[]; promql_expr_test?: any[] }[];
}

/** The CA description the rule renders for a remaining lifetime (Prometheus' humanizeDuration of whole days). */
const caDescription = (remaining: string, threshold: string, caTTL: string) =>
    `The active X.509 CA of SPIRE server spire-server-0 expires in ${remaining}; a healthy rotation activates the next CA with ${threshold} left ` +
    `(min(caTTL ${caTTL} / 6, 7 days)). Read the server's log for "X509 CA" errors.`;

const federationAlert = (peer: string, window: string, hint: string) => ({
    exp_labels: { severity: "warning", peer_trust_domain: peer, trust_domain_id: spireLabelValue(peer) },
    exp_annotations: {
        summary: `SPIRE cannot refresh the bundle of ${peer}`,
        description:
            `Every attempt of the SPIRE server to fetch the trust bundle of ${peer} from its bundle endpoint has failed for more than ${window} ` +
            `(3 x the refresh hint ${hint}). Workloads keep the last bundle fetched; once ${peer} rotates its CA, its workloads are refused. ` +
            `Read the server's log for "Error updating bundle".`,
    },
});

/** caTTL 720h (threshold 120h, 10 minutes of grace), hint 5m (attempts every 75 s; 15 minutes without success). */
function defaultsTests(): PromtoolTests {
    const end = 60 * MIN;
    const threshold = 120 * HOUR;
    // The CA gauge is the active CA's NotAfter. Healthy: the CA reaches 120h left at 30m; the rotator (every 10 s) and
    // a scrape later, at 31m15s, the gauge shows the next CA (720h from 31m); one evaluation (31m) sees it under.
    const rotationDue = 30 * MIN;
    const healthy = samples(end, (t) => (t <= rotationDue + MIN ? rotationDue + threshold : rotationDue + MIN + 720 * HOUR));
    // Failed: no next CA is activated, the gauge stays.
    const failed = samples(end, () => rotationDue + threshold);
    // Federation: attempts every 75 s (4 per 5m hint). cluster2.demo succeeds until 30m, then every attempt fails;
    // south.example fails from 30m and succeeds again from 41m15s (11m15s without success: under 3 x the hint).
    const attempts = every(0, end, 75);
    const cluster2Ok = attempts.filter((t) => t <= 30 * MIN);
    const southOk = attempts.filter((t) => t <= 30 * MIN || t >= 41 * MIN + 15);
    const failures = (ok: number[]) => attempts.filter((t) => !ok.includes(t));
    const up = (labels: Record<string, string>, value: (t: number) => number | "stale" | undefined) => series("up", labels, samples(end, value));
    const agent = (pod: string, node: string) => ({ job: "spire-agent", namespace: "spire-server", pod, node, instance: `${node}:9988` });
    return {
        rule_files: ["alerting_rules.yml"],
        evaluation_interval: "1m",
        tests: [
            {
                interval: "15s",
                input_series: [
                    series("spire_server_manager_x509_ca_rotate_expiration", { ...SERVER, host: "spire-server-0", trust_domain_id: "east_example" }, healthy),
                    fetchSeries(end, "cluster2.demo", "OK", cluster2Ok),
                    fetchSeries(end, "cluster2.demo", "Unknown", failures(cluster2Ok)),
                    fetchSeries(end, "south.example", "OK", southOk),
                    fetchSeries(end, "south.example", "Unknown", failures(southOk)),
                    // The server: a 3-minute scrape blip at 10m, then down from 40m.
                    up(SERVER, (t) => ((t >= 10 * MIN && t < 13 * MIN) || t >= 40 * MIN ? 0 : 1)),
                    // Agents: agent-1's pod goes away for 2 minutes at 10m (stale), then both go away for good at 30m.
                    up(agent("spire-agent-a", "node-1"), (t) =>
                        t === 10 * MIN || t === 30 * MIN ? "stale" : (t > 10 * MIN && t < 12 * MIN) || t > 30 * MIN ? undefined : 1,
                    ),
                    up(agent("spire-agent-b", "node-2"), (t) =>
                        t === 10 * MIN || t === 30 * MIN ? "stale" : (t > 10 * MIN && t < 12 * MIN) || t > 30 * MIN ? undefined : 1,
                    ),
                ],
                alert_rule_test: [
                    // A healthy rotation never fires: 31m is the one evaluation under the threshold.
                    { eval_time: "31m", alertname: "SpireServerCANotRotated", exp_alerts: [] },
                    { eval_time: "45m", alertname: "SpireServerCANotRotated", exp_alerts: [] },
                    // cluster2.demo: last success at 30m; 14 minutes later still silent, 15 minutes later firing.
                    { eval_time: "44m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [] },
                    { eval_time: "45m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [federationAlert("cluster2.demo", "15m", "5m")] },
                    // south.example recovered after 11m15s: never fires, cluster2.demo still does.
                    { eval_time: "55m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [federationAlert("cluster2.demo", "15m", "5m")] },
                    // The server's 3-minute blip stays silent; down from 40m, it fires at 45m.
                    { eval_time: "13m", alertname: "SpireServerDown", exp_alerts: [] },
                    { eval_time: "44m", alertname: "SpireServerDown", exp_alerts: [] },
                    {
                        eval_time: "45m",
                        alertname: "SpireServerDown",
                        exp_alerts: [
                            {
                                exp_labels: { ...SERVER, severity: "critical" },
                                exp_annotations: {
                                    summary: "A SPIRE server is down",
                                    description: "Prometheus has not scraped SPIRE server spire-server-0 (node node-1) for 5m.",
                                },
                            },
                        ],
                    },
                    { eval_time: "45m", alertname: "SpireServerTargetMissing", exp_alerts: [] },
                    // No agent for 2 minutes at 10m stays silent; none from 30m fires at 35m.
                    { eval_time: "12m", alertname: "SpireAgentTargetMissing", exp_alerts: [] },
                    { eval_time: "34m", alertname: "SpireAgentTargetMissing", exp_alerts: [] },
                    {
                        eval_time: "36m",
                        alertname: "SpireAgentTargetMissing",
                        exp_alerts: [
                            {
                                exp_labels: { job: "spire-agent", severity: "critical" },
                                exp_annotations: {
                                    summary: "No SPIRE agent to scrape",
                                    description: "Prometheus has found no SPIRE agent pod in namespace spire-server for 5m.",
                                },
                            },
                        ],
                    },
                    { eval_time: "36m", alertname: "SpireAgentDown", exp_alerts: [] },
                ],
                promql_expr_test: [
                    // The dashboard's "since the last refresh": cluster2.demo's last success (30m) seen at the 31m step.
                    {
                        expr: SPIRE_DASHBOARD_QUERIES.sinceLastRefresh("cluster2.demo"),
                        eval_time: "50m",
                        exp_samples: [{ labels: '{trust_domain_id="cluster2_demo"}', value: 19 * MIN }],
                    },
                    {
                        expr: SPIRE_DASHBOARD_QUERIES.sinceLastRefresh("south.example"),
                        eval_time: "50m",
                        exp_samples: [{ labels: '{trust_domain_id="south_example"}', value: 0 }],
                    },
                ],
            },
            {
                interval: "15s",
                input_series: [
                    series("spire_server_manager_x509_ca_rotate_expiration", { ...SERVER, host: "spire-server-0", trust_domain_id: "east_example" }, failed),
                    // Datastore: pod spire-server-0 fails every call from 10m (Unknown: the database is gone); pod
                    // spire-server-1 had one more Internal error at 5m (errors for 5 minutes, under the 10 required)
                    // and answers NotFound all along (the caller's business).
                    series(
                        "spire_server_datastore_bundle_fetch",
                        { ...SERVER, host: "spire-server-0", status: "Unknown" },
                        counter(end, every(10 * MIN, end, STEP)),
                    ),
                    series(
                        "spire_server_datastore_bundle_fetch",
                        { ...SERVER, pod: "spire-server-1", host: "spire-server-1", status: "Internal" },
                        counter(end, [0, 5 * MIN]),
                    ),
                    series(
                        "spire_server_datastore_registration_entry_fetch",
                        { ...SERVER, pod: "spire-server-1", host: "spire-server-1", status: "NotFound" },
                        counter(end, every(0, end, STEP)),
                    ),
                    // The timing summary's count of the same calls is not a second counter of errors.
                    series(
                        "spire_server_datastore_bundle_fetch_elapsed_time_count",
                        { ...SERVER, pod: "spire-server-1", host: "spire-server-1", status: "Unknown" },
                        counter(end, every(0, end, STEP)),
                    ),
                ],
                alert_rule_test: [
                    // Failed rotation: under the 120h threshold from 30m; silent for 10 minutes of grace, then firing.
                    { eval_time: "40m", alertname: "SpireServerCANotRotated", exp_alerts: [] },
                    {
                        eval_time: "42m",
                        alertname: "SpireServerCANotRotated",
                        exp_alerts: [
                            {
                                exp_labels: { ...SERVER, host: "spire-server-0", trust_domain_id: "east_example", severity: "critical" },
                                exp_annotations: {
                                    summary: "The SPIRE server's X.509 CA was not rotated",
                                    description: caDescription("4d 23h 48m 0s", "120h", "720h"),
                                },
                            },
                        ],
                    },
                    { eval_time: "20m", alertname: "SpireServerDatastoreErrors", exp_alerts: [] },
                    {
                        eval_time: "22m",
                        alertname: "SpireServerDatastoreErrors",
                        exp_alerts: [
                            {
                                exp_labels: { namespace: "spire-server", pod: "spire-server-0", severity: "critical" },
                                exp_annotations: {
                                    summary: "The SPIRE server's datastore calls fail",
                                    description:
                                        'SPIRE server spire-server-0 has had datastore errors for 10m (66.67m per second); read its log for "datastore-sql" errors.',
                                },
                            },
                        ],
                    },
                ],
            },
        ],
    };
}

/** caTTL 6h (threshold 1h), hint 1m (attempts every 15 s; 3 minutes without success). */
function smallTests(): PromtoolTests {
    const end = 30 * MIN;
    const server = { ...SERVER, namespace: "spire" };
    // Remaining lifetime 2h (over the 1h threshold: a 720h CA would fire, this one does not) vs 50 minutes.
    const ca = (remainingAtZero: number) =>
        series(
            "spire_server_manager_x509_ca_rotate_expiration",
            { ...server, host: "spire-server-0", trust_domain_id: "west_example" },
            samples(end, () => remainingAtZero),
        );
    const attempts = every(0, end, 15);
    // north.example: OK until 10m, then every attempt fails.
    const ok = attempts.filter((t) => t <= 10 * MIN);
    const fetch = (pod: string, status: string, at: number[]) =>
        series("spire_server_bundle_manager_fetch_federated_bundle", { ...server, pod, host: pod, trust_domain_id: "north_example", status }, counter(end, at));
    return {
        rule_files: ["alerting_rules.yml"],
        evaluation_interval: "1m",
        tests: [
            {
                interval: "15s",
                input_series: [
                    ca(2 * HOUR),
                    fetch("spire-server-0", "OK", ok),
                    fetch(
                        "spire-server-0",
                        "Unknown",
                        attempts.filter((t) => t > 10 * MIN),
                    ),
                ],
                alert_rule_test: [
                    { eval_time: "25m", alertname: "SpireServerCANotRotated", exp_alerts: [] },
                    { eval_time: "12m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [] },
                    { eval_time: "13m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [federationAlert("north.example", "3m", "1m")] },
                ],
            },
            {
                interval: "15s",
                input_series: [
                    ca(50 * MIN + 20 * MIN),
                    // Failing 10m to 12m, succeeding again from 12m15s: the pending alert resets.
                    fetch(
                        "spire-server-0",
                        "OK",
                        attempts.filter((t) => t <= 10 * MIN || t > 12 * MIN),
                    ),
                    fetch(
                        "spire-server-0",
                        "Unknown",
                        attempts.filter((t) => t > 10 * MIN && t <= 12 * MIN),
                    ),
                ],
                alert_rule_test: [
                    // 70 minutes left at 0: under 1h from 10m (pending from the 11m evaluation), firing 10 minutes later.
                    { eval_time: "20m", alertname: "SpireServerCANotRotated", exp_alerts: [] },
                    {
                        eval_time: "21m",
                        alertname: "SpireServerCANotRotated",
                        exp_alerts: [
                            {
                                exp_labels: { ...server, host: "spire-server-0", trust_domain_id: "west_example", severity: "critical" },
                                exp_annotations: { summary: "The SPIRE server's X.509 CA was not rotated", description: caDescription("49m 0s", "1h", "6h") },
                            },
                        ],
                    },
                    { eval_time: "13m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [] },
                    { eval_time: "20m", alertname: "SpireFederatedBundleRefreshFailing", exp_alerts: [] },
                ],
            },
        ],
    };
}
