// `npm run render` writes the Kubernetes objects each Helm release installs (rendered by a real Helm from the pinned
// charts), so that a render diff shows which objects a change rewrites. Stacks here are the tests' own.

import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { requireArtifact, requireUpstream } from "../tools/upstream/artifacts";
import { HelmResolution, ensureHelm } from "../tools/upstream/helm";
import { REDACTED, ReleaseObjects, objectNamespace, redact, releaseObjectFileName, renderReleases } from "../tools/render/releaseObjects";
import { StackSource } from "../tools/stack-files/stackFiles";
import { ChartObjects, StackRender, declaredReleases, renderChartObjects, renderFiles, renderStacks } from "../tools/render/render";
import { buildComment, compareTrees } from "../tools/pr-diff/renderDiff";
import { removeTestProject, renderCommand, testProject } from "./testStacks";

const program: () => Promise<unknown> = require("../index");
type Rendered = Extract<StackRender, { ok: true }>;

const EAST: StackSource = {
    stack: "east",
    config: { trustDomain: "east.example", clusterName: "east", observability: true, observabilityGrafana: true },
};

function okRender(r: StackRender): Rendered {
    if (!r.ok) {
        throw new Error(`render of ${r.stack} failed: ${r.error}`);
    }
    return r;
}

/** Renders with Helm itself every time (no render cache), unless a cache directory is given. */
async function renderWithCharts(sources: StackSource[], cache?: string): Promise<Map<string, Map<string, string>>> {
    const results = await renderStacks(program, sources);
    const charts = await renderChartObjects(results, { cache });
    return new Map(results.map((r) => [r.stack, renderFiles(okRender(r), charts.get(r.stack))]));
}

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-render-charts-"));
}

describe("chart objects in a render, without Helm", () => {
    let east: Rendered;
    before(async () => {
        [east] = (await renderStacks(program, [EAST])).map(okRender);
    });

    it("says in the summary that a render made without Helm has each release's values only", () => {
        const summary = renderFiles(east).get("summary.md")!;
        expect(summary).to.include(
            "## Chart objects (helm/<release>/)\n\nNot rendered: this render was made without Helm (only each release's values are written).\n",
        );
        expect([...renderFiles(east).keys()].filter((f) => f.startsWith("helm/") && f.split("/").length > 2)).to.deep.equal([]);
    });

    it("names every release with the reason it was not rendered when Helm or a chart is missing", async () => {
        const releases = declaredReleases(east).map((d): [string, typeof d] => [d.name, d]);
        const charts: ChartObjects = await renderReleases({ available: false, reason: "no Helm 3: no helm on PATH" }, releases);
        const summary = renderFiles(east, charts).get("summary.md")!;
        expect(summary).to.include(
            [
                "## Chart objects (helm/<release>/)",
                "",
                "- grafana: not rendered: no Helm 3: no helm on PATH",
                "- istio-base: not rendered: no Helm 3: no helm on PATH",
                "- istio-ingressgateway: not rendered: no Helm 3: no helm on PATH",
                "- istiod: not rendered: no Helm 3: no helm on PATH",
                "- kiali: not rendered: no Helm 3: no helm on PATH",
                "- prometheus: not rendered: no Helm 3: no helm on PATH",
                "- spire: not rendered: no Helm 3: no helm on PATH",
                "- spire-crds: not rendered: no Helm 3: no helm on PATH",
                "",
            ].join("\n"),
        );
    });

    it("files namespaced objects under their namespace, or the release's when the chart leaves it out, and cluster-scoped ones under _cluster", () => {
        const object = (kind: string, namespace?: string) => ({
            apiVersion: "v1",
            kind,
            metadata: { name: "x", ...(namespace ? { namespace } : {}) },
            source: "",
        });
        expect(releaseObjectFileName("spire", object("ConfigMap"), "spire-server")).to.equal("helm/spire/spire-server/ConfigMap-x.yaml");
        expect(releaseObjectFileName("spire", object("ConfigMap", "other"), "spire-server")).to.equal("helm/spire/other/ConfigMap-x.yaml");
        expect(releaseObjectFileName("spire", object("ClusterRole"), "spire-server")).to.equal("helm/spire/_cluster/ClusterRole-x.yaml");
        expect(objectNamespace(object("ClusterSPIFFEID"), "spire-server")).to.equal(undefined);
    });

    it("redacts Secret data and the checksums computed from it, and keeps everything else", () => {
        const secret = {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "grafana" },
            data: { "admin-password": "cmFuZG9t", "admin-user": "YWRtaW4=" },
            source: "s",
        };
        expect(redact(secret)).to.deep.equal({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "grafana" },
            data: { "admin-password": REDACTED, "admin-user": REDACTED },
        });
        const deployment = {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "grafana" },
            spec: { template: { metadata: { annotations: { "checksum/secret": "abc", "checksum/config": "def" } } } },
            source: "d",
        };
        expect(redact(deployment).spec.template.metadata.annotations).to.deep.equal({ "checksum/secret": REDACTED, "checksum/config": "def" });
    });
});

describe("chart objects in a render, with Helm and the pinned charts", () => {
    let helm: HelmResolution;
    let files: Map<string, string>;

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        this.timeout(120000);
        helm = await ensureHelm();
        requireArtifact(this, helm.found, () => `pending: no Helm 3 to render the charts (${helm.found ? "" : helm.reason}); run \`npm run fetch-upstream\``);
        files = (await renderWithCharts([EAST])).get("east")!;
    });

    it("writes every object the spire-crds and spire releases install, under helm/<release>/<namespace>/", () => {
        const under = (prefix: string) => [...files.keys()].filter((f) => f.startsWith(prefix));
        expect(under("helm/spire-crds/")).to.deep.equal([
            "helm/spire-crds/_cluster/CustomResourceDefinition-clusterfederatedtrustdomains.spire.spiffe.io.yaml",
            "helm/spire-crds/_cluster/CustomResourceDefinition-clusterspiffeids.spire.spiffe.io.yaml",
            "helm/spire-crds/_cluster/CustomResourceDefinition-clusterstaticentries.spire.spiffe.io.yaml",
        ]);
        expect(under("helm/spire/spire-server/")).to.deep.equal([
            "helm/spire/spire-server/ConfigMap-spire-agent.yaml",
            "helm/spire/spire-server/ConfigMap-spire-controller-manager.yaml",
            "helm/spire/spire-server/ConfigMap-spire-server.yaml",
            "helm/spire/spire-server/DaemonSet-spire-agent.yaml",
            "helm/spire/spire-server/DaemonSet-spire-spiffe-csi-driver.yaml",
            "helm/spire/spire-server/Job-spire-server-post-install.yaml",
            "helm/spire/spire-server/Job-spire-server-post-upgrade.yaml",
            "helm/spire/spire-server/Job-spire-server-pre-upgrade.yaml",
            "helm/spire/spire-server/Role-spire-bundle.yaml",
            "helm/spire/spire-server/Role-spire-controller-manager-leader-election.yaml",
            "helm/spire/spire-server/RoleBinding-spire-bundle.yaml",
            "helm/spire/spire-server/RoleBinding-spire-controller-manager-leader-election.yaml",
            "helm/spire/spire-server/Service-spire-controller-manager-webhook.yaml",
            "helm/spire/spire-server/Service-spire-server.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-agent.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-server-post-install.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-server-post-upgrade.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-server-pre-upgrade.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-server.yaml",
            "helm/spire/spire-server/ServiceAccount-spire-spiffe-csi-driver.yaml",
            "helm/spire/spire-server/StatefulSet-spire-server.yaml",
        ]);
    });

    it("heads each object with the chart, version and template it came from", () => {
        const text = files.get("helm/spire/spire-server/ConfigMap-spire-server.yaml")!;
        expect(text.split("\n")[0]).to.equal(
            "# Rendered by helm template from chart spire 0.30.0, spire/charts/spire-server/templates/configmap.yaml, release spire",
        );
        const configMap = parse(text);
        expect(JSON.parse(configMap.data["server.conf"]).server.trust_domain).to.equal("east.example");
    });

    it("counts each release's objects in the summary, with the Helm that rendered them", () => {
        const summary = files.get("summary.md")!;
        const section = summary.slice(summary.indexOf("## Chart objects"), summary.indexOf("## Policy pack"));
        const counted = [...files.keys()]
            .filter((f) => /^helm\/[^/]+\/.+\/.+\.yaml$/.test(f))
            .reduce((n, f) => n.set(f.split("/")[1], (n.get(f.split("/")[1]) ?? 0) + 1), new Map<string, number>());
        for (const [release, count] of counted) {
            expect(section).to.match(new RegExp(`^- ${release}: ${count} objects, by helm template \\(Helm v3\\.\\d+\\.\\d+, Kubernetes 1\\.33\\.0\\)$`, "m"));
        }
        expect([...counted.keys()].sort()).to.deep.equal([
            "grafana",
            "istio-base",
            "istio-ingressgateway",
            "istiod",
            "kiali",
            "prometheus",
            "spire",
            "spire-crds",
        ]);
    });

    it("never writes Secret data, not even the admin password grafana generates at random, and renders byte-identical files twice", async () => {
        const secret = parse(files.get("helm/grafana/istio-system/Secret-grafana.yaml")!);
        expect(Object.values(secret.data)).to.deep.equal([REDACTED, REDACTED, REDACTED]);
        const again = (await renderWithCharts([EAST])).get("east")!;
        expect([...again]).to.deep.equal([...files]);
    });

    it("shows a caTTL change as the spire-server ConfigMap it rewrites and the StatefulSet it rolls, and the alert and dashboard thresholds, in the render diff", async () => {
        const changed = (await renderWithCharts([{ stack: "east", config: { ...EAST.config, caTTL: "1440h" } }])).get("east")!;
        const base = tempDir();
        const head = tempDir();
        for (const [dir, tree] of [
            [base, files],
            [head, changed],
        ] as const) {
            for (const [file, content] of tree) {
                fs.mkdirSync(path.dirname(path.join(dir, "east", file)), { recursive: true });
                fs.writeFileSync(path.join(dir, "east", file), content);
            }
        }
        const comparison = compareTrees(base, head);
        // With observability on, the CA TTL also sets the SPIRE CA alert's threshold (Prometheus' rules, reloaded in
        // place) and the dashboard's (Grafana's ConfigMap, and its Deployment's checksum): 1440h / 6 is over the 7-day cap, 604800 s.
        expect(comparison.changes.map((c) => [c.path, c.kind])).to.deep.equal([
            ["east/helm/grafana.yaml", "changed"],
            ["east/helm/grafana/istio-system/ConfigMap-grafana-dashboards-spire.yaml", "changed"],
            ["east/helm/grafana/istio-system/Deployment-grafana.yaml", "changed"],
            ["east/helm/prometheus.yaml", "changed"],
            ["east/helm/prometheus/istio-system/ConfigMap-prometheus.yaml", "changed"],
            ["east/helm/spire.yaml", "changed"],
            ["east/helm/spire/spire-server/ConfigMap-spire-server.yaml", "changed"],
            ["east/helm/spire/spire-server/StatefulSet-spire-server.yaml", "changed"],
        ]);
        expect(comparison.changes[4].patch).to.match(/\n-\s+< 432000\n\+\s+< 604800\n/);
        const configMapPatch = comparison.changes[6].patch;
        expect(configMapPatch).to.include('-        "ca_ttl": "720h",\n+        "ca_ttl": "1440h",');
        expect(comparison.changes[7].patch).to.match(/- {8}checksum\/config: [0-9a-f]{64}\n\+ {8}checksum\/config: [0-9a-f]{64}/);
        expect(buildComment(comparison)).to.include("east/helm/spire/spire-server/ConfigMap-spire-server.yaml");
    });

    it("keeps Helm's output in the render cache, reuses it for unchanged releases, and renders a changed one anew", async function () {
        this.timeout(120000);
        const cache = tempDir();
        const first = (await renderWithCharts([EAST], cache)).get("east")!;
        expect([...first]).to.deep.equal([...files]);
        const cached = fs.readdirSync(cache).sort();
        expect(cached.length).to.equal(8);
        expect(cached.every((f) => /^[0-9a-f]{64}\.yaml$/.test(f))).to.equal(true);
        // Mark every cached output: a render that reads the cache shows the mark, one that runs Helm does not.
        const mark = "---\n# Source: marker\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-cache\n  namespace: marked\n";
        for (const f of cached) {
            fs.appendFileSync(path.join(cache, f), mark);
        }
        const changed = (await renderWithCharts([{ stack: "east", config: { ...EAST.config, caTTL: "1440h" } }], cache)).get("east")!;
        const marked = [...changed.keys()].filter((f) => f.endsWith("/marked/ConfigMap-from-the-cache.yaml")).sort();
        // Every release but spire, prometheus and grafana (their values changed: SPIRE's CA TTL, the CA alert's and
        // the dashboard's thresholds) came from the cache.
        expect(marked).to.deep.equal(
            ["istio-base", "istio-ingressgateway", "istiod", "kiali", "spire-crds"].map((r) => `helm/${r}/marked/ConfigMap-from-the-cache.yaml`),
        );
        expect(fs.readdirSync(cache).length).to.equal(11);
    });

    it("reports a release whose chart version is not to be had, and still renders the others", async () => {
        // The program refuses a chart version it does not support (components/versions.ts): a declared release whose
        // chart is not to be had is made here, on the run's declarations.
        const [east] = (await renderStacks(program, [EAST])).map(okRender);
        const release = east.declared.find((d) => d.type === "kubernetes:helm.sh/v3:Release" && d.inputs.name === "spire")!;
        release.inputs = { ...release.inputs, version: "0.0.1" };
        const charts = (await renderChartObjects([east])).get("east")!;
        const spire = charts.get("spire") as Extract<ReleaseObjects, { rendered: false }>;
        expect(spire.rendered).to.equal(false);
        expect(spire.reason).to.match(
            /^chart spire-0\.0\.1 is not in \$ISTIO_SPIRE_UPSTREAM, \.\.\/shared\/upstream, the cache|^chart spire-0\.0\.1 is not in \.\.\/shared\/upstream, the cache/,
        );
        // `npm run fetch-upstream` does not fetch it: the fix names the chart's repository, from the release.
        expect(spire.fix).to.equal(
            "put the sources of chart spire-0.0.1 (`helm pull spire --repo https://spiffe.github.io/helm-charts-hardened/ --version 0.0.1 --untar`) in charts/spire-0.0.1/ under $ISTIO_SPIRE_UPSTREAM or the cache's upstream/ (`npm run fetch-upstream` fetches only the program's default versions)",
        );
        expect(charts.get("spire-crds")?.rendered).to.equal(true);
    });

    it("runs as `npm run render`: writes the chart objects beside each release's values", function () {
        this.timeout(120000);
        const project = testProject({ east: { "kubernetes:context": "east", "istio-spire:trustDomain": "east.example", "istio-spire:clusterName": "east" } });
        try {
            const run = renderCommand(project, []);
            expect(run.status, run.stderr).to.equal(0);
            // Every release rendered: the console says nothing about charts.
            expect(run.stdout).to.match(
                /^east: \d+ resources, \d+ files in rendered\/east\/\nFleet: 1 stack, 0 federated and 0 pending peer links, in rendered\/fleet\.md\.\nRendered 1 of 1 stacks in \d+\.\d s \(mock runtime; no cluster contacted\)\.\n$/,
            );
            const out = path.join(project, "rendered", "east");
            expect(fs.existsSync(path.join(out, "helm", "spire", "spire-server", "StatefulSet-spire-server.yaml"))).to.equal(true);
            expect(fs.readFileSync(path.join(out, "summary.md"), "utf8")).to.match(/^- spire: \d+ objects, by helm template/m);
        } finally {
            removeTestProject(project);
        }
    });
});
