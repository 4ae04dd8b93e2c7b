// `npm run render`: the real program for every stack of the project, offline, with federation resolved between the
// rendered stacks, written as deterministic files.

import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { ClusterSPIFFEID, deployTimePlaceholder } from "../components";
import { Declared, NO_OPTIONS, runProgramExpectingError } from "../tools/mock-engine/harness";
import {
    ChartObjects,
    FLEET_FILE,
    NO_CHARTS_LINE,
    StackRender,
    declaredReleases,
    failedStacks,
    fleetStacks,
    objectFileName,
    parseArguments,
    renderCommandLine,
    renderFiles,
    renderStacks,
    renderedPeers,
    unrenderedLines,
    withPlaceholders,
    writeStack,
} from "../tools/render/render";
import { FleetStack, dependencySection, fleetFile, fleetGraph, mermaidId } from "../tools/render/graphs";
import { ParsedFlowchart, mermaidBlocks, parseFlowchart } from "./mermaid";
import { FLEET_FILE as COMMENT_FLEET_FILE } from "../tools/pr-diff/renderDiff";
import { FETCH_FIX, HELM_FIX, ReleaseRenderer, chartFix, helmReleaseRenderer } from "../tools/render/releaseObjects";
import { ISTIO_VERSION } from "../components/mesh/istioOperator";
import { StackSource, loadStackSources, readStackFile } from "../tools/stack-files/stackFiles";
import { crdSpecValidator, isObject, validationProblems } from "../tools/upstream/upstream";
import { CHART_PINS, chartDirName, requireUpstream } from "../tools/upstream/artifacts";
import { TEST_STACK_FILES, removeTestProject, renderCommand, testProject } from "./testStacks";

/** The real project: only what holds for any stack file users write is asserted on it (it renders). */
const PROJECT_DIR = path.join(__dirname, "..");
const program: () => Promise<unknown> = require("../index");
type Rendered = Extract<StackRender, { ok: true }>;

function okRender(r: StackRender): Rendered {
    if (!r.ok) {
        throw new Error(`render of ${r.stack} failed: ${r.error}`);
    }
    return r;
}

/** Every rendered file of a project's stacks, by `<stack>/<path>`, and the fleet (`fleet.md`), as the command writes them. */
async function renderProject(projectDir: string): Promise<{ results: Rendered[]; files: Map<string, string> }> {
    const all = new Map<string, string>();
    const results = (await renderStacks(program, loadStackSources(projectDir))).map(okRender);
    for (const r of results) {
        for (const [file, content] of renderFiles(r)) {
            all.set(`${r.stack}/${file}`, content);
        }
    }
    all.set(FLEET_FILE, fleetFile(fleetStacks(results)));
    return { results, files: all };
}

/** `npm run render -- <argv>` in this process (tools/render/render.ts main is this function): exit code and output. */
async function renderInProcess(
    projectDir: string,
    argv: string[],
    options: { renderer?: ReleaseRenderer } = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
    const run = { status: -1, stdout: "", stderr: "" };
    run.status = await renderCommandLine(
        projectDir,
        argv,
        { stdout: (line) => (run.stdout += `${line}\n`), stderr: (line) => (run.stderr += `${line}\n`) },
        options,
    );
    return run;
}

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-render-"));
}

/** Every file under a directory, relative path → content. */
function readTree(dir: string): Map<string, string> {
    const files = new Map<string, string>();
    const walk = (sub: string) => {
        for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
            const rel = path.join(sub, entry.name);
            if (entry.isDirectory()) {
                walk(rel);
            } else {
                files.set(rel, fs.readFileSync(path.join(dir, rel), "utf8"));
            }
        }
    };
    walk("");
    return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

/** The YAML document of a rendered object file (its comment header is not part of the object). */
function objectIn(files: Map<string, string>, file: string): any {
    const content = files.get(file);
    if (content === undefined) {
        throw new Error(`no rendered file ${file}; have ${[...files.keys()].join(", ")}`);
    }
    return parse(content);
}

// The tests' own project: the stack files of test/testStacks.ts, in a temporary directory next to the real program.
const project = testProject();
after(() => removeTestProject(project));
/** Its render (cluster1, cluster2), made once and shared by the suites that read it. */
let shared: ReturnType<typeof renderProject> | undefined;
const projectRender = () => (shared ??= renderProject(project));

describe("npm run render", () => {
    let files: Map<string, string>;
    before(async () => {
        ({ files } = await projectRender());
    });

    it("renders every Pulumi.<stack>.yaml of the project, in stack order, with the project's config keys apart from the others", () => {
        const dir = testProject({ b: TEST_STACK_FILES.cluster2, a: TEST_STACK_FILES.cluster1 });
        try {
            fs.writeFileSync(path.join(dir, "notes.yaml"), "config: {}\n");
            expect(loadStackSources(dir)).to.deep.equal([
                {
                    stack: "a",
                    config: {
                        trustDomain: "cluster1.demo",
                        clusterName: "cluster1",
                        peers: [{ stack: "organization/istio-spire/cluster2" }],
                        samples: ["sleep-httpbin", "curl-greeter"],
                        observability: true,
                    },
                    otherConfig: { "kubernetes:context": "cluster1" },
                },
                {
                    stack: "b",
                    config: {
                        trustDomain: "cluster2.demo",
                        clusterName: "cluster2",
                        peers: [{ stack: "organization/istio-spire/cluster1" }],
                        samples: ["bookinfo"],
                        observability: true,
                    },
                    otherConfig: { "kubernetes:context": "cluster2" },
                },
            ]);
        } finally {
            removeTestProject(dir);
        }
        expect(loadStackSources(project).map((s) => s.stack)).to.deep.equal(["cluster1", "cluster2"]);
        expect(files.has("cluster1/summary.md")).to.equal(true);
        expect(files.has("cluster2/summary.md")).to.equal(true);
    });

    it("reads a key written without a namespace as the project's, as Pulumi does, and keeps other namespaces apart", () => {
        // pulumi/pulumi sdk/go/common/workspace/loaders.go stackConfigNamespacedWithProject; the null is "" once the
        // program gets it (harness configText).
        const dir = testProject({
            a: "config:\n  trustDomain: cluster1.demo\n  istio-spire:clusterName: cluster1\n  mtlsMode: PERMISSIVE\n  istio-spyre:caTTL: 24h\n  samples:\n",
        });
        try {
            expect(loadStackSources(dir)).to.deep.equal([
                {
                    stack: "a",
                    config: { trustDomain: "cluster1.demo", clusterName: "cluster1", mtlsMode: "PERMISSIVE", samples: null },
                    otherConfig: { "istio-spyre:caTTL": "24h" },
                },
            ]);
        } finally {
            removeTestProject(dir);
        }
    });

    it("writes one file per Kubernetes object, per Helm release, the IstioOperator, the outputs and a summary", () => {
        expect([...files.keys()].filter((f) => f.startsWith("cluster1/"))).to.deep.equal([
            "cluster1/helm/istio-base.yaml",
            "cluster1/helm/istio-ingressgateway.yaml",
            "cluster1/helm/istiod.yaml",
            "cluster1/helm/kiali.yaml",
            "cluster1/helm/prometheus.yaml",
            "cluster1/helm/spire-crds.yaml",
            "cluster1/helm/spire.yaml",
            "cluster1/istio-operator.yaml",
            "cluster1/objects/_cluster/ClusterFederatedTrustDomain-cluster2.demo.yaml",
            "cluster1/objects/_cluster/ClusterSPIFFEID-istio-ingressgateway-reg.yaml",
            "cluster1/objects/_cluster/ClusterSPIFFEID-istio-workloads.yaml",
            "cluster1/objects/_cluster/Namespace-default.patch.yaml",
            "cluster1/objects/_cluster/Namespace-istio-system.yaml",
            "cluster1/objects/_cluster/Namespace-spire-server.yaml",
            "cluster1/objects/default/Deployment-curl-greeter.yaml",
            "cluster1/objects/default/Deployment-httpbin.yaml",
            "cluster1/objects/default/Deployment-sleep.yaml",
            "cluster1/objects/default/DestinationRule-federated-bookinfo-cluster2-demo.yaml",
            "cluster1/objects/default/Service-httpbin.yaml",
            "cluster1/objects/default/Service-sleep.yaml",
            "cluster1/objects/default/ServiceAccount-curl-greeter.yaml",
            "cluster1/objects/default/ServiceAccount-httpbin.yaml",
            "cluster1/objects/default/ServiceAccount-sleep.yaml",
            "cluster1/objects/default/ServiceEntry-federated-bookinfo-cluster2-demo.yaml",
            "cluster1/objects/istio-system/NetworkPolicy-kiali-access.yaml",
            "cluster1/objects/istio-system/NetworkPolicy-prometheus-access.yaml",
            "cluster1/objects/istio-system/PeerAuthentication-default.yaml",
            "cluster1/objects/spire-server/ConfigMap-spire-bundle.patch.yaml",
            "cluster1/objects/spire-server/Service-spire-server-bundle-endpoint.yaml",
            "cluster1/outputs.json",
            "cluster1/summary.md",
        ]);
        expect([...files.keys()].filter((f) => f.startsWith("cluster2/") && !f.includes("/helm/"))).to.deep.equal([
            "cluster2/istio-operator.yaml",
            "cluster2/manifests/bookinfo-manifest.yaml",
            "cluster2/objects/_cluster/ClusterFederatedTrustDomain-cluster1.demo.yaml",
            "cluster2/objects/_cluster/ClusterSPIFFEID-istio-ingressgateway-reg.yaml",
            "cluster2/objects/_cluster/ClusterSPIFFEID-istio-workloads.yaml",
            "cluster2/objects/_cluster/Namespace-default.patch.yaml",
            "cluster2/objects/_cluster/Namespace-istio-system.yaml",
            "cluster2/objects/_cluster/Namespace-spire-server.yaml",
            "cluster2/objects/default/Gateway-bookinfo-gateway.yaml",
            "cluster2/objects/default/VirtualService-bookinfo.yaml",
            "cluster2/objects/istio-system/AuthorizationPolicy-federated-bookinfo-cluster2-demo.yaml",
            "cluster2/objects/istio-system/Gateway-federated-bookinfo-cluster2-demo.yaml",
            "cluster2/objects/istio-system/NetworkPolicy-kiali-access.yaml",
            "cluster2/objects/istio-system/NetworkPolicy-prometheus-access.yaml",
            "cluster2/objects/istio-system/PeerAuthentication-default.yaml",
            "cluster2/objects/istio-system/VirtualService-federated-bookinfo-cluster2-demo.yaml",
            "cluster2/objects/spire-server/ConfigMap-spire-bundle.patch.yaml",
            "cluster2/objects/spire-server/Service-spire-server-bundle-endpoint.yaml",
            "cluster2/outputs.json",
            "cluster2/summary.md",
        ]);
    });

    it("writes complete objects: apiVersion, kind, metadata and spec", () => {
        const service = objectIn(files, "cluster1/objects/spire-server/Service-spire-server-bundle-endpoint.yaml");
        expect(service).to.deep.equal({
            apiVersion: "v1",
            kind: "Service",
            metadata: {
                labels: { "app.kubernetes.io/name": "spire-server-bundle-endpoint", "app.kubernetes.io/part-of": "istio-spire" },
                name: "spire-server-bundle-endpoint",
                namespace: "spire-server",
            },
            spec: {
                ports: [{ name: "federation", port: 8443, protocol: "TCP", targetPort: "federation" }],
                selector: { "app.kubernetes.io/instance": "spire", "app.kubernetes.io/name": "server" },
                type: "LoadBalancer",
            },
        });
        const mtls = objectIn(files, "cluster2/objects/istio-system/PeerAuthentication-default.yaml");
        expect(mtls).to.deep.equal({
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: "default", namespace: "istio-system" },
            spec: { mtls: { mode: "STRICT" } },
        });
    });

    it("says in each object's header what it waits for and what it ignores after creation", () => {
        expect(files.get("cluster2/objects/_cluster/ClusterFederatedTrustDomain-cluster1.demo.yaml")!.split("\n").slice(0, 3)).to.deep.equal([
            "# Pulumi resource peer-cluster1.demo-cftd (kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain), in component peer-cluster1.demo",
            "# Created after: Helm release spire (spire-release), federation-installation-id",
            "# Changes ignored after creation: spec.trustDomainBundle",
        ]);
        expect(files.get("cluster1/objects/_cluster/Namespace-default.patch.yaml")!.split("\n")[1]).to.equal(
            "# A server-side apply patch: only the fields below are managed on an existing object.",
        );
    });

    it("writes each Helm release with its repository, chart, exact version, namespace and full values", () => {
        const spire = objectIn(files, "cluster1/helm/spire.yaml");
        expect(Object.keys(spire)).to.deep.equal(["name", "namespace", "repository", "chart", "version", "settings", "values"]);
        expect([spire.name, spire.namespace, spire.repository, spire.chart, spire.version]).to.deep.equal([
            "spire",
            "spire-server",
            "https://spiffe.github.io/helm-charts-hardened/",
            "spire",
            "0.30.0",
        ]);
        expect(spire.values.global.spire).to.deep.equal({
            caSubject: { commonName: "cluster1.demo", country: "US", organization: "SPIRE" },
            clusterName: "cluster1",
            trustDomain: "cluster1.demo",
        });
        expect(spire.values["spire-agent"].sds).to.deep.equal({
            defaultAllBundlesName: "ROOTCA",
            defaultBundleName: "null",
            defaultSVIDName: "default",
            enabled: true,
        });
        const istiod = objectIn(files, "cluster2/helm/istiod.yaml");
        expect([istiod.name, istiod.namespace, istiod.repository, istiod.chart, istiod.version]).to.deep.equal([
            "istiod",
            "istio-system",
            "https://istio-release.storage.googleapis.com/charts",
            "istiod",
            "1.30.3",
        ]);
        expect(istiod.values.meshConfig.trustDomain).to.equal("cluster2.demo");
        expect(istiod.values.meshConfig.trustDomainAliases).to.deep.equal(["cluster1.demo"]);
    });

    it("federates each side with the other, as after the three-step bootstrap", () => {
        for (const [own, peer] of [
            ["cluster1", "cluster2"],
            ["cluster2", "cluster1"],
        ]) {
            const cftd = objectIn(files, `${own}/objects/_cluster/ClusterFederatedTrustDomain-${peer}.demo.yaml`);
            expect(cftd).to.deep.equal({
                apiVersion: "spire.spiffe.io/v1alpha1",
                kind: "ClusterFederatedTrustDomain",
                metadata: {
                    name: `${peer}.demo`,
                    // Both installation ids exist only once the stacks are deployed.
                    annotations: {
                        "istio-spire/installation-id": `<deploy-time: ${own} peer-${peer}.demo-cftd.metadata.annotations.istio-spire/installation-id>`,
                        "istio-spire/peer-installation-id": `<deploy-time: ${peer} output federation.installationId>`,
                    },
                },
                spec: {
                    bundleEndpointProfile: { endpointSPIFFEID: `spiffe://${peer}.demo/spire/server`, type: "https_spiffe" },
                    bundleEndpointURL: `<deploy-time: ${peer} output federation.bundleEndpointUrl>`,
                    className: "spire-server-spire",
                    trustDomain: `${peer}.demo`,
                    trustDomainBundle: `<deploy-time: ${peer} output federation.trustBundle>`,
                },
            });
            for (const csid of ["istio-ingressgateway-reg", "istio-workloads"]) {
                expect(objectIn(files, `${own}/objects/_cluster/ClusterSPIFFEID-${csid}.yaml`).spec.federatesWith).to.deep.equal([`${peer}.demo`]);
            }
            const outputs = JSON.parse(files.get(`${own}/outputs.json`)!);
            expect(outputs.federatedWith).to.deep.equal([`${peer}.demo`]);
            expect(outputs.pendingPeers).to.deep.equal([]);
            expect(outputs.istioOperator.spec.meshConfig.trustDomainAliases).to.deep.equal([`${peer}.demo`]);
        }
    });

    it("marks deploy-time values as placeholders and invents none", () => {
        const placeholders = (stack: string) =>
            [
                ...new Set(
                    [...files]
                        .filter(([f]) => f.startsWith(`${stack}/`) && !f.endsWith("summary.md"))
                        .flatMap(([, c]) => c.match(/<deploy-time: [^<>]+>/g) ?? []),
                ),
            ].sort();
        expect(placeholders("cluster1")).to.deep.equal([
            "<deploy-time: cluster1 output federation.bundleEndpointUrl>",
            "<deploy-time: cluster1 output federation.installationId>",
            "<deploy-time: cluster1 output federation.trustBundle>",
            "<deploy-time: cluster1 output ingressGatewayAddress>",
            "<deploy-time: cluster1 output spireInstallation.id>",
            "<deploy-time: cluster1 peer-cluster2.demo-cftd.metadata.annotations.istio-spire/installation-id>",
            "<deploy-time: cluster2 output federation.bundleEndpointUrl>",
            "<deploy-time: cluster2 output federation.installationId>",
            "<deploy-time: cluster2 output federation.trustBundle>",
            "<deploy-time: cluster2 output samples.bookinfo.gatewayAddress>",
        ]);
        const text = [...files.values()].join("\n");
        // The test harness's world (a documentation IP, fixture bundles) never leaks into a render.
        expect(text).to.not.include("203.0.113.");
        expect(text).to.not.include("BEGIN CERTIFICATE");
        expect(text).to.not.include('"keys"');
    });

    it("keeps every SPIRE custom resource valid against the upstream spire-crds 0.6.0 schemas", function () {
        requireUpstream(this);
        const validators = {
            ClusterSPIFFEID: crdSpecValidator("ClusterSPIFFEID"),
            ClusterFederatedTrustDomain: crdSpecValidator("ClusterFederatedTrustDomain"),
        };
        let checked = 0;
        for (const [file, content] of files) {
            const object: unknown = file.endsWith(".yaml") ? parse(content) : undefined;
            if (!isObject(object) || object.apiVersion !== "spire.spiffe.io/v1alpha1") {
                continue;
            }
            const validate = validators[object.kind as keyof typeof validators];
            expect(validate, `${file}: no CRD for kind ${String(object.kind)}`).to.not.equal(undefined);
            expect(validationProblems(validate, object.spec), file).to.deep.equal([]);
            checked++;
        }
        expect(checked).to.equal(6);
    });

    it("writes one YAML document per file, each parseable without errors", () => {
        for (const [file, content] of files) {
            if (file.endsWith(".yaml")) {
                const documents = parseAllDocuments(content);
                expect(documents.length, file).to.equal(1);
                expect(
                    documents.flatMap((d) => d.errors.map((e) => e.message)),
                    file,
                ).to.deep.equal([]);
            }
        }
    });

    it("summarises resources by type and what waits for what", () => {
        const summary = files.get("cluster1/summary.md")!;
        expect(summary).to.include(
            "- Trust domain: cluster1.demo\n- Federated with: cluster2.demo\n- Peer stacks read: organization/istio-spire/cluster2\n- Pending peers: none\n",
        );
        expect(summary).to.include("| `kubernetes:helm.sh/v3:Release` | 7 |\n");
        expect(summary).to.include("| `kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID` | 2 |\n");
        expect(summary).to.include("- `istio-gateway` after `istio-istiod`, `istio-namespace`, `registration-gateway`\n");
        expect(summary).to.include("- `registration-workloads` after `peer-cluster2.demo-cftd`, `spire-release`\n");
        expect(summary).to.not.include("## Warnings");
    });

    it("runs the policy pack on each stack and reports no violation for these stacks, and the advisory of a federation without upstream authority", () => {
        for (const [stack, peer] of [
            ["cluster1", "cluster2"],
            ["cluster2", "cluster1"],
        ]) {
            expect(files.get(`${stack}/summary.md`)).to.include(
                "## Policy pack (policy/)\n\n11 policies, no violations.\n" +
                    '- advisory: federation-has-upstream-authority: kubernetes:helm.sh/v3:Release "spire-release" (Helm release "spire"): the stack federates ' +
                    `(it declares a ClusterFederatedTrustDomain for "${peer}.demo") but values["spire-server"] enables no upstream authority`,
            );
        }
    });

    it("renders byte-identical files from the same inputs", async () => {
        // Every file, the fleet's and each summary's Mermaid graphs included.
        expect([...(await renderProject(project)).files]).to.deep.equal([...files]);
    });
});

describe("the render command", () => {
    it("writes both stacks, byte-identical to a render of the same stacks in another process", async function () {
        this.timeout(60000);
        const first = tempDir();
        const second = tempDir();
        // Without chart objects (test/renderCharts.test.ts renders them with Helm).
        const run1 = renderCommand(project, ["--no-charts", "--out", first]);
        expect(run1.status, run1.stderr).to.equal(0);
        // Both stacks federate without an upstream authority: the pack's advisory is printed under each, without failing the render.
        expect(run1.stdout).to.match(
            /^cluster1: 43 resources, 31 files in .*\n {2}policy advisory: federation-has-upstream-authority: .*\ncluster2: 38 resources, 27 files in .*\n {2}policy advisory: federation-has-upstream-authority: .*\nChart objects skipped \(--no-charts\): helm\/<release>\.yaml holds each release's values only\.\nFleet: 2 stacks, 2 federated and 0 pending peer links, in .*\/fleet\.md\.\nRendered 2 of 2 stacks in \d+\.\d s/,
        );
        // The command is renderStacks + writeStack + the fleet: the same files from this process, byte for byte.
        const sources = loadStackSources(project);
        const results = await renderStacks(program, sources);
        expect(results.map((r) => writeStack(second, r))).to.deep.equal([31, 27]);
        fs.writeFileSync(path.join(second, FLEET_FILE), fleetFile(fleetStacks(results)));
        const tree = readTree(first);
        expect(tree.size).to.equal(59);
        expect([...readTree(second)]).to.deep.equal([...tree]);
    });

    it("renders the project's own stack files, whatever they are, without a failure or policy violation", function () {
        this.timeout(60000);
        const stacks = loadStackSources(PROJECT_DIR).map((s) => s.stack);
        const out = tempDir();
        const run = renderCommand(PROJECT_DIR, ["--out", out]);
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stderr).to.equal("");
        expect(run.stdout).to.include(`Rendered ${stacks.length} of ${stacks.length} stacks in `);
        expect(fs.readdirSync(out).sort()).to.deep.equal([...stacks, FLEET_FILE].sort());
        for (const stack of stacks) {
            expect(run.stdout).to.match(new RegExp(`^${stack}: \\d+ resources, \\d+ files in `, "m"));
            expect(fs.readFileSync(path.join(out, stack, "summary.md"), "utf8")).to.include("policies, no violations.\n");
        }
    });

    it("fails on bad config with the program's own message and leaves no stale render of that stack", function () {
        this.timeout(60000);
        const badProject = testProject({
            bad: "config:\n  kubernetes:context: bad\n  istio-spire:trustDomain: Not_A_Domain\n  istio-spire:clusterName: bad\n",
        });
        const out = path.join(badProject, "rendered");
        fs.mkdirSync(path.join(out, "bad", "objects"), { recursive: true });
        fs.writeFileSync(path.join(out, "bad", "outputs.json"), "{}\n");
        try {
            const run = renderCommand(badProject, []);
            expect(run.status).to.equal(1);
            expect(fs.existsSync(path.join(out, "bad"))).to.equal(false);
            expect(run.stderr).to.equal(
                'bad: error: Invalid configuration: trustDomain: "Not_A_Domain" contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "not_a_domain"\n',
            );
            expect(run.stdout).to.match(
                /^Fleet: 1 stack, 0 federated and 0 pending peer links, in rendered\/fleet\.md\.\nRendered 0 of 1 stacks in \d+\.\d s \(mock runtime; no cluster contacted\)\.\n$/,
            );
        } finally {
            removeTestProject(badProject);
        }
    });

    it("refuses an unknown option or stack with usage", () => {
        expect(() => parseArguments(["--output", "x"], PROJECT_DIR)).to.throw(
            "Unknown option --output; usage: npm run render -- [--out <dir>] [--no-charts] [stack ...]",
        );
        expect(() => parseArguments(["--out"], PROJECT_DIR)).to.throw("--out needs a directory");
        expect(parseArguments(["--out", "/tmp/r", "cluster2"], PROJECT_DIR)).to.deep.equal({ outDir: "/tmp/r", stacks: ["cluster2"], charts: true });
        expect(parseArguments(["--no-charts"], PROJECT_DIR)).to.deep.equal({ outDir: path.join(PROJECT_DIR, "rendered"), stacks: [], charts: false });
        expect(() => loadStackSources(project, ["cluster9"])).to.throw(
            `No stack "cluster9": there is no Pulumi.cluster9.yaml in ${project} (stacks: cluster1, cluster2)`,
        );
    });
});

describe("rendering one stack, or stacks with bad config", () => {
    const sources = () => loadStackSources(project);

    it("leaves a peer that is not rendered pending, with the program's warning, and declares nothing for it", async () => {
        // cluster2 exists (every stack is created before the first `pulumi up`) but is not rendered.
        const [cluster1] = await renderStacks(program, loadStackSources(project, ["cluster1"]), ["cluster1", "cluster2"]);
        const r = okRender(cluster1);
        const rendered = renderFiles(r);
        expect([...rendered.keys()].filter((f) => f.includes("ClusterFederatedTrustDomain"))).to.deep.equal([]);
        expect(JSON.parse(rendered.get("outputs.json")!).pendingPeers).to.deep.equal(["organization/istio-spire/cluster2"]);
        expect(rendered.get("summary.md")).to.include(
            '## Warnings\n\n- Peer stack "organization/istio-spire/cluster2" has no "federation" output yet: nothing is declared for it in this run.',
        );
    });

    it("fails a stack with bad config exactly as a preview of it fails, and still renders the others", async () => {
        const bad: StackSource = { stack: "bad", config: { trustDomain: "cluster1.demo", clusterName: "Bad_Name" } };
        const expected = await runProgramExpectingError(program, bad.config, { preview: true }, "bad");
        const results = await renderStacks(program, [...sources(), bad]);
        expect(results.map((r) => [r.stack, r.ok])).to.deep.equal([
            ["cluster1", true],
            ["cluster2", true],
            ["bad", false],
        ]);
        expect(results[2]).to.deep.equal({ stack: "bad", ok: false, error: expected.error.message });
        expect(expected.error.message).to.match(/^Invalid configuration: clusterName: "Bad_Name" /);
    });

    it("refuses peer data that a deployment would refuse, naming the peer stack", async () => {
        // A rendered peer whose config is valid but which names this stack's own trust domain.
        const twin: StackSource = { stack: "twin", config: { trustDomain: "cluster1.demo", clusterName: "twin" } };
        const one: StackSource = {
            stack: "one",
            config: { trustDomain: "cluster1.demo", clusterName: "one", peers: [{ stack: "organization/istio-spire/twin" }] },
        };
        const [, result] = await renderStacks(program, [twin, one]);
        expect(result.ok).to.equal(false);
        expect(!result.ok && result.error).to.equal(
            'Invalid peer data: peer "organization/istio-spire/twin" federation.trustDomain: "cluster1.demo" is this stack\'s own trust domain; a peer must have its own (is the peer listed by mistake?)',
        );
    });

    it("writes nothing for a failed stack and removes what an earlier render left", () => {
        const out = tempDir();
        fs.mkdirSync(path.join(out, "bad"));
        fs.writeFileSync(path.join(out, "bad", "outputs.json"), "{}\n");
        expect(writeStack(out, { stack: "bad", ok: false, error: "x" })).to.equal(0);
        expect(fs.existsSync(path.join(out, "bad"))).to.equal(false);
    });
});

describe("rendering named stacks: `npm run render -- cluster2`", () => {
    it("renders a named stack with its peers, so its federation resolves as in a render of every stack", async () => {
        const all = await renderStacks(program, loadStackSources(project));
        const named = await renderStacks(program, loadStackSources(project), undefined, ["cluster2"]);
        expect(named.map((r) => r.stack)).to.deep.equal(["cluster2"]);
        const files = renderFiles(okRender(named[0]));
        expect(files.has("objects/_cluster/ClusterFederatedTrustDomain-cluster1.demo.yaml")).to.equal(true);
        expect(JSON.parse(files.get("outputs.json")!).pendingPeers).to.deep.equal([]);
        expect([...files]).to.deep.equal([...renderFiles(okRender(all[1]))]);
        let refused = "";
        await renderStacks(program, loadStackSources(project), undefined, ["cluster9"]).catch((e: Error) => (refused = e.message));
        expect(refused).to.equal('No stack "cluster9" among the stacks to render (cluster1, cluster2)');
    });

    it("writes only the named stack, byte-identical to a full render's, and leaves the other stacks' renders alone", async () => {
        const full = tempDir();
        for (const r of await renderStacks(program, loadStackSources(project))) {
            writeStack(full, r);
        }
        const out = tempDir();
        fs.mkdirSync(path.join(out, "cluster1"));
        fs.writeFileSync(path.join(out, "cluster1", "outputs.json"), "an earlier render\n");
        const run = await renderInProcess(project, ["--no-charts", "--out", out, "cluster2"]);
        expect([run.status, run.stderr]).to.deep.equal([0, ""]);
        expect(run.stdout).to.match(
            /^cluster2: 38 resources, 27 files in .*\n {2}policy advisory: federation-has-upstream-authority: .*\nChart objects skipped \(--no-charts\): .*\nFleet: 2 stacks, 1 federated and 0 pending peer links, in .*\nRendered 1 of 1 stacks in \d+\.\d s \(mock runtime; no cluster contacted\)\.\n$/,
        );
        expect([...readTree(path.join(out, "cluster2"))]).to.deep.equal([...readTree(path.join(full, "cluster2"))]);
        expect([...readTree(path.join(out, "cluster1"))]).to.deep.equal([["outputs.json", "an earlier render\n"]]);
    });
});

describe("malformed stack files", () => {
    /** A project with the test stacks and one more stack file, written as given. */
    const projectWithFile = (stack: string, text: string) => testProject({ ...TEST_STACK_FILES, [stack]: text });

    it("are refused as the Pulumi CLI refuses them, naming the file", () => {
        const cases: [string, string][] = [
            [
                "config:\n  istio-spire:trustDomain: [unclosed\n",
                "Pulumi.bad.yaml: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1",
            ],
            [
                "config:\n  istio-spire:trustDomain: a.demo\n  istio-spire:trustDomain: b.demo\n",
                "Pulumi.bad.yaml: not valid YAML: Map keys must be unique at line 3, column 3",
            ],
            ["config:\n\tistio-spire:trustDomain: a.demo\n", "Pulumi.bad.yaml: not valid YAML: Tabs are not allowed as indentation at line 2, column 1"],
            ["- config\n", 'Pulumi.bad.yaml: the file holds a list; expected a mapping (a stack file is "config:" and other settings)'],
            ["just text\n", 'Pulumi.bad.yaml: the file holds a string; expected a mapping (a stack file is "config:" and other settings)'],
            ["config: cluster1\n", 'Pulumi.bad.yaml: "config" is a string; expected a mapping of "<namespace>:<key>" to values'],
            ["config:\n  - istio-spire:trustDomain: a.demo\n", 'Pulumi.bad.yaml: "config" is a list; expected a mapping of "<namespace>:<key>" to values'],
            [
                "config:\n  istio-spire:x:trustDomain: a.demo\n",
                'Pulumi.bad.yaml: config key "istio-spire:x:trustDomain" is not of the form "<namespace>:<name>", which Pulumi refuses; expected e.g. "istio-spire:trustDomain"',
            ],
        ];
        for (const [text, message] of cases) {
            const dir = testProject({ bad: text });
            try {
                expect(() => readStackFile(dir, "bad"), text).to.throw(message);
                expect(loadStackSources(dir), text).to.deep.equal([{ stack: "bad", config: {}, error: message }]);
            } finally {
                removeTestProject(dir);
            }
        }
    });

    it("accepts what Pulumi accepts: an empty file or config, the old <namespace>:config:<name> keys, other namespaces", () => {
        const dir = testProject({ empty: "", bare: "config:\n", old: "config:\n  istio-spire:config:trustDomain: a.demo\n  kubernetes:context: k\n" });
        try {
            expect(loadStackSources(dir)).to.deep.equal([
                { stack: "bare", config: {}, otherConfig: {} },
                { stack: "empty", config: {}, otherConfig: {} },
                { stack: "old", config: { trustDomain: "a.demo" }, otherConfig: { "kubernetes:context": "k" } },
            ]);
        } finally {
            removeTestProject(dir);
        }
    });

    it("fail only their stack's render, which names the file, remove its old render and exit 1", async () => {
        const dir = projectWithFile("broken", "config:\n  istio-spire:trustDomain: [unclosed\n");
        const out = path.join(dir, "rendered");
        fs.mkdirSync(path.join(out, "broken", "objects"), { recursive: true });
        fs.writeFileSync(path.join(out, "broken", "outputs.json"), "{}\n");
        try {
            const run = await renderInProcess(dir, ["--no-charts"]);
            expect(run.status).to.equal(1);
            expect(run.stderr).to.equal(
                "broken: error: Pulumi.broken.yaml: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 3, column 1\n",
            );
            expect(run.stdout).to.match(
                /^cluster1: 43 resources, 31 files in rendered\/cluster1\/\n {2}policy advisory: .*\ncluster2: 38 resources, 27 files in rendered\/cluster2\/\n {2}policy advisory: .*\nChart objects skipped \(--no-charts\): .*\nFleet: 3 stacks, 2 federated and 0 pending peer links, in rendered\/fleet\.md\.\nRendered 2 of 3 stacks in /,
            );
            expect(fs.readdirSync(out).sort()).to.deep.equal(["cluster1", "cluster2", FLEET_FILE]);
        } finally {
            removeTestProject(dir);
        }
    });

    it("fail a named stack's render when its peer's file is malformed: the peer is named, pending, and its old render removed", async () => {
        const dir = testProject({ cluster1: "config: [\n", cluster2: TEST_STACK_FILES.cluster2 });
        const out = path.join(dir, "rendered");
        fs.mkdirSync(path.join(out, "cluster1"), { recursive: true });
        fs.writeFileSync(path.join(out, "cluster1", "outputs.json"), "{}\n");
        try {
            const run = await renderInProcess(dir, ["--no-charts", "cluster2"]);
            expect(run.status).to.equal(1);
            expect(run.stderr).to.match(/^cluster1: error \(rendered as a peer of cluster2\): Pulumi\.cluster1\.yaml: not valid YAML: /);
            expect(run.stdout).to.include('  warning: Peer stack "organization/istio-spire/cluster1" has no "federation" output yet');
            expect(run.stdout).to.match(/Rendered 1 of 2 stacks in /);
            expect(fs.readdirSync(out).sort()).to.deep.equal(["cluster2", FLEET_FILE]);
            expect(JSON.parse(fs.readFileSync(path.join(out, "cluster2", "outputs.json"), "utf8")).pendingPeers).to.deep.equal([
                "organization/istio-spire/cluster1",
            ]);
        } finally {
            removeTestProject(dir);
        }
    });

    it("fails the stack whose config the program refuses, and only that stack (a stack listing itself as a peer)", async () => {
        const self: StackSource = {
            stack: "self",
            config: { trustDomain: "self.demo", clusterName: "self", peers: [{ stack: "organization/istio-spire/self" }] },
        };
        const results = await renderStacks(program, [...loadStackSources(project), self]);
        expect(results.map((r) => [r.stack, r.ok])).to.deep.equal([
            ["cluster1", true],
            ["cluster2", true],
            ["self", false],
        ]);
        // Refused by the program, in the first pass (config validation) or the second (peer data): either way this
        // stack's render fails, with a message naming the stack it lists.
        expect(!results[2].ok && results[2].error).to.include('"organization/istio-spire/self"');
        expect(failedStacks(results)).to.deep.equal(["self"]);
    });
});

describe("the policy pack in a render", () => {
    it("reports each violation in the summary and fails the render, as a preview with the pack fails", async () => {
        const adminIdentity = async () => {
            new ClusterSPIFFEID("admin-id", {
                name: "admin",
                spec: { className: "x", spiffeIDTemplate: "spiffe://cluster1.demo/x", admin: true, podSelector: { matchLabels: { app: "x" } } },
            });
            return {};
        };
        const results = await renderStacks(adminIdentity, [{ stack: "one", config: {} }]);
        const r = okRender(results[0]);
        expect(r.policy.violations.map((v) => v.policy)).to.deep.equal(["cluster-spiffe-id-not-admin", "cluster-spiffe-id-in-trust-domain"]);
        const summary = renderFiles(r).get("summary.md")!;
        expect(summary).to.include("- Trust domain: none\n");
        expect(summary).to.include(
            '## Policy pack (policy/)\n\n- cluster-spiffe-id-not-admin: kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID "admin-id": spec.admin is true; expected false or absent',
        );
        expect(failedStacks(results)).to.deep.equal(["one"]);
    });

    it("fails a render only for stacks with a program error or a violation", () => {
        const clean = {
            stack: "a",
            ok: true,
            declared: [],
            outputs: {},
            warnings: [],
            peers: [],
            policy: { violations: [], advisories: [], notRunInPreview: [] },
        } as StackRender;
        expect(failedStacks([clean, { stack: "b", ok: false, error: "x" }])).to.deep.equal(["b"]);
        expect(failedStacks([clean])).to.deep.equal([]);
        // An advisory policy's violation is printed, not failed, as the engine does.
        const advised = {
            ...clean,
            stack: "c",
            policy: { violations: [], advisories: [{ policy: "federation-has-upstream-authority", message: "m" }], notRunInPreview: [] },
        };
        expect(failedStacks([clean, advised as StackRender])).to.deep.equal([]);
    });
});

describe("render helpers", () => {
    it("matches peers to rendered stacks by project and stack, in any organization", () => {
        const source: StackSource = {
            stack: "cluster1",
            config: {
                peers: [
                    { stack: "acme/istio-spire/cluster2" },
                    { stack: "acme/other-project/cluster3" },
                    { stack: "cluster4" },
                    { stack: "organization/istio-spire/cluster5" },
                    "junk",
                ],
            },
        };
        expect([...renderedPeers(source, ["cluster2", "cluster3", "cluster4"])]).to.deep.equal([["acme/istio-spire/cluster2", "cluster2"]]);
    });

    it("replaces unknowns with placeholders that say where each value comes from", () => {
        const unknown = require("@pulumi/pulumi").unknown;
        expect(withPlaceholders({ a: { b: unknown }, list: [1, unknown], c: "kept" }, "cluster1 output x")).to.deep.equal({
            a: { b: deployTimePlaceholder("cluster1 output x.a.b") },
            list: [1, deployTimePlaceholder("cluster1 output x.list[1]")],
            c: "kept",
        });
    });

    it("refuses to render an object without a name, which a deployment would auto-name at random", () => {
        const unnamed = {
            type: "kubernetes:core/v1:ConfigMap",
            name: "cm",
            urn: "",
            inputs: { kind: "ConfigMap", metadata: {} },
            parent: "",
            dependsOn: [],
            ...NO_OPTIONS,
            read: false,
            id: "",
        };
        expect(() => objectFileName(unnamed)).to.throw(
            "kubernetes:core/v1:ConfigMap cm has no metadata.name; every object this program declares is named explicitly",
        );
        expect(objectFileName({ ...unnamed, inputs: { kind: "ConfigMap", metadata: { name: "x", namespace: "ns" } } })).to.equal("objects/ns/ConfigMap-x.yaml");
    });
});

describe("the console when chart objects are not rendered", () => {
    let rendered: Rendered[];
    before(async () => {
        ({ results: rendered } = await projectRender());
    });

    /** A chart renderer that looks for charts only where nothing is: no $ISTIO_SPIRE_UPSTREAM, empty cache and ../shared. */
    const nowhere = (dir: string) =>
        helmReleaseRenderer({ cache: undefined, env: { ISTIO_SPIRE_CACHE: path.join(dir, "cache") }, projectDir: path.join(dir, "project") });
    const chartOf: Record<string, string> = {
        "istio-base": "base",
        "istio-ingressgateway": "gateway",
        istiod: "istiod",
        kiali: "kiali-server",
        prometheus: "prometheus",
        spire: "spire",
        "spire-crds": "spire-crds",
    };
    /** The pinned chart directory of a release of the test stacks (`base-1.30.3`). */
    const pinned = (release: string) => chartDirName(CHART_PINS.find((pin) => pin.chart === chartOf[release])!);

    it("names each release it could not render, with the reason, and once the command that fixes it", async () => {
        const dir = tempDir();
        const out = path.join(dir, "rendered");
        const run = await renderInProcess(project, ["--out", out, "cluster1"], { renderer: nowhere(dir) });
        const [cluster1] = rendered;
        const releases = Object.keys(chartOf).sort();
        expect(run.stderr).to.equal("");
        expect(run.status).to.equal(0);
        expect(run.stdout.replace(/ in \d+\.\d s /, " in N s ")).to.equal(
            [
                `cluster1: 43 resources, 31 files in ${path.relative(project, out)}/cluster1/`,
                ...cluster1.policy.advisories.map((v) => `  policy advisory: ${v.policy}: ${v.message}`),
                "  chart objects not rendered for 7 of 7 Helm releases:",
                ...releases.map((release) => `    ${release}: chart ${pinned(release)} is not in ../shared/upstream, the cache`),
                "To render the chart objects: run `npm run fetch-upstream` (it puts Helm and the pinned charts in the cache); then `npm run render` again (`--no-charts` skips them).",
                `Fleet: 2 stacks, 1 federated and 0 pending peer links, in ${path.relative(project, out)}/fleet.md.`,
                "Rendered 1 of 1 stacks in N s (mock runtime; no cluster contacted).",
                "",
            ].join("\n"),
        );
        expect(fs.readFileSync(path.join(out, "cluster1", "summary.md"), "utf8")).to.include(
            [
                "## Chart objects (helm/<release>/)",
                "",
                ...releases.map((release) => `- ${release}: not rendered: chart ${pinned(release)} is not in ../shared/upstream, the cache`),
                "",
                "To render them: run `npm run fetch-upstream` (it puts Helm and the pinned charts in the cache); then `npm run render` again.",
                "",
                "## Policy pack",
            ].join("\n"),
        );
    });

    it("prints nothing about charts when every release rendered, and a reason without a fix for a chart Helm refused", () => {
        const [cluster1] = rendered;
        const all: ChartObjects = new Map(declaredReleases(cluster1).map((d) => [d.name, { rendered: true, objects: [], by: "helm template" }]));
        expect(unrenderedLines(cluster1, all)).to.deep.equal([]);
        expect(renderFiles(cluster1, all).get("summary.md")).to.not.include("To render them");
        const some: ChartObjects = new Map([
            ...all,
            ["spire", { rendered: false, reason: "helm template failed: boom" }],
            ["istiod", { rendered: false, reason: "no Helm 3: no helm on PATH", fix: HELM_FIX }],
        ]);
        expect(unrenderedLines(cluster1, some)).to.deep.equal([
            "  chart objects not rendered for 2 of 7 Helm releases:",
            "    istiod: no Helm 3: no helm on PATH",
            "    spire: helm template failed: boom",
        ]);
        expect(renderFiles(cluster1, some).get("summary.md")).to.include(
            "- spire: not rendered: helm template failed: boom\n- spire-crds: 0 objects, by helm template\n\nTo render them: put a Helm 3 on PATH or name one in $ISTIO_SPIRE_HELM; then `npm run render` again.\n",
        );
    });

    it("says how to get a supported chart version that `npm run fetch-upstream` does not fetch", () => {
        expect(chartFix({ chart: "base", version: ISTIO_VERSION })).to.equal(FETCH_FIX);
        expect(chartFix({ chart: "base", version: "1.29.6", repository: "https://istio-release.storage.googleapis.com/charts" })).to.equal(
            "put the sources of chart base-1.29.6 (`helm pull base --repo https://istio-release.storage.googleapis.com/charts --version 1.29.6 --untar`) in charts/base-1.29.6/ under $ISTIO_SPIRE_UPSTREAM or the cache's upstream/ (`npm run fetch-upstream` fetches only the program's default versions)",
        );
    });

    it("says once, without naming releases, that --no-charts skipped the chart objects", () => {
        expect(NO_CHARTS_LINE).to.equal("Chart objects skipped (--no-charts): helm/<release>.yaml holds each release's values only.");
        // The command's whole output with --no-charts is asserted by the tests of `npm run render -- --no-charts` above.
    });
});

describe("the fleet graph (rendered/fleet.md), read back by Mermaid", () => {
    let rendered: Rendered[];
    let files: Map<string, string>;
    before(async () => {
        ({ results: rendered, files } = await projectRender());
    });

    /** The one Mermaid graph of a fleet.md, parsed by Mermaid. */
    async function parsedFleet(markdown: string): Promise<ParsedFlowchart> {
        const blocks = mermaidBlocks(markdown);
        expect(blocks.length).to.equal(1);
        return parseFlowchart(blocks[0]);
    }
    const node = (id: string, lines: string[], classes: string[] = []) => ({ id, lines, type: "square", classes });
    const edge = (start: string, end: string, kind: "federated" | "pending") => ({
        start,
        end,
        stroke: kind === "federated" ? "normal" : "dotted",
        text: kind,
    });

    /**
     * Checks a parsed fleet graph against the run: each rendered stack is a node labelled with its name and its
     * trustDomain output; its federated edges lead to the stacks whose trust domains are its federatedWith output, its
     * pending edges to the stacks of its pendingPeers output.
     */
    function expectMatchesRun(graph: ParsedFlowchart, run: StackRender[]) {
        const label = new Map(graph.vertices.map((v) => [v.id, v.lines]));
        for (const r of run) {
            const id = mermaidId("s", r.stack);
            if (!r.ok) {
                expect(label.get(id), r.stack).to.deep.equal([r.stack, "render failed"]);
                continue;
            }
            expect(label.get(id), r.stack).to.deep.equal([r.stack, r.outputs.trustDomain]);
            const out = graph.edges.filter((e) => e.start === id);
            const targets = (stroke: string) =>
                out
                    .filter((e) => e.stroke === stroke)
                    .map((e) => label.get(e.end)!)
                    .sort();
            const trustDomainOf = (stack: string) => {
                const peer = run.find((p) => p.stack === stack);
                return peer?.ok ? peer.outputs.trustDomain : undefined;
            };
            expect(
                targets("normal")
                    .map(([stack]) => trustDomainOf(stack))
                    .sort(),
                r.stack,
            ).to.deep.equal(r.outputs.federatedWith);
            expect(
                targets("dotted").map(([stack]) => stack),
                r.stack,
            ).to.deep.equal((r.outputs.pendingPeers as string[]).map((p) => p.split("/")[2]).sort());
        }
    }

    it("draws two stacks federated with each other: their nodes, trust domains and one federated edge each way", async () => {
        const graph = await parsedFleet(files.get(FLEET_FILE)!);
        expect(graph.vertices).to.deep.equal([node("s_cluster1", ["cluster1", "cluster1.demo"]), node("s_cluster2", ["cluster2", "cluster2.demo"])]);
        expect(graph.edges).to.deep.equal([edge("s_cluster1", "s_cluster2", "federated"), edge("s_cluster2", "s_cluster1", "federated")]);
        expectMatchesRun(graph, rendered);
        expect(files.get(FLEET_FILE)).to.include(
            "| stack | trust domain | federated with | pending peers |\n|---|---|---|---|\n| cluster1 | cluster1.demo | cluster2.demo | none |\n| cluster2 | cluster2.demo | cluster1.demo | none |\n",
        );
    });

    it("marks pending peers with dotted edges, a failed stack as failed and a peer the render did not write as absent", async () => {
        // cluster1 names cluster2, which exists but is not rendered (pending); east-1.prod names cluster1 (federated,
        // one way) and west.v2, whose render fails (pending).
        const east: StackSource = {
            stack: "east-1.prod",
            config: {
                trustDomain: "east.example",
                clusterName: "east-1",
                peers: [{ stack: "organization/istio-spire/cluster1" }, { stack: "organization/istio-spire/west.v2" }],
            },
        };
        const west: StackSource = { stack: "west.v2", config: {}, error: "Pulumi.west.v2.yaml: not valid YAML" };
        const sources = [...loadStackSources(project, ["cluster1"]), east, west];
        const run = await renderStacks(program, sources, [...sources.map((s) => s.stack), "cluster2"]);
        expect(run.map((r) => [r.stack, r.ok])).to.deep.equal([
            ["cluster1", true],
            ["east-1.prod", true],
            ["west.v2", false],
        ]);
        const text = fleetFile(fleetStacks(run));
        const graph = await parsedFleet(text);
        const [c1, c2, e1, w2] = ["cluster1", "cluster2", "east-1.prod", "west.v2"].map((s) => mermaidId("s", s));
        expect([c1, c2, e1, w2]).to.deep.equal(["s_cluster1", "s_cluster2", "s_east_h1_dprod", "s_west_dv2"]);
        expect(graph.vertices).to.deep.equal([
            node(c1, ["cluster1", "cluster1.demo"]),
            node(c2, ["cluster2", "not in this render"], ["absent"]),
            node(e1, ["east-1.prod", "east.example"]),
            node(w2, ["west.v2", "render failed"], ["failed"]),
        ]);
        expect(graph.edges).to.deep.equal([edge(c1, c2, "pending"), edge(e1, c1, "federated"), edge(e1, w2, "pending")]);
        expect([...graph.classes.keys()]).to.deep.equal(["failed", "absent"]);
        expectMatchesRun(graph, run);
        // The same whatever order the stacks come in.
        expect(fleetFile(fleetStacks([...run].reverse()))).to.equal(text);
    });

    it("marks a stack with a policy violation as failed, with the count", async () => {
        const graph = await parsedFleet(
            fleetFile([{ stack: "a", ok: true, outputs: { trustDomain: "a.demo", federatedWith: [], pendingPeers: [] }, peers: [], violations: 2 }]),
        );
        expect(graph.vertices).to.deep.equal([node("s_a", ["a", "a.demo", "2 policy violations"], ["failed"])]);
    });

    it("gives every stack name a distinct id Mermaid accepts, and shows labels exactly, whatever characters they hold", async () => {
        const names = ["a-b", "a_b", "a.b", "a__b", "end", "o", "x", "subgraph", 'q"uo#te<&>`'];
        const stacks: FleetStack[] = names.map((stack) => ({
            stack,
            ok: true,
            outputs: { trustDomain: `${stack}.example`, federatedWith: [], pendingPeers: [] },
            peers: [],
            violations: 0,
        }));
        const graph = await parsedFleet(fleetFile(stacks));
        expect(new Set(graph.vertices.map((v) => v.id)).size).to.equal(names.length);
        expect(graph.vertices.map((v) => v.lines)).to.deep.equal([...names].sort().map((name) => [name, `${name}.example`]));
        expect(graph.edges).to.deep.equal([]);
    });

    it("is the file the pull-request comment takes the graph from", () => {
        expect(FLEET_FILE).to.equal(COMMENT_FLEET_FILE);
    });

    it("refuses outputs that contradict the peers the stack read", () => {
        const a = (outputs: Record<string, unknown>): FleetStack => ({ stack: "a", ok: true, outputs, peers: ["organization/istio-spire/b"], violations: 0 });
        const b: FleetStack = { stack: "b", ok: true, outputs: { trustDomain: "b.demo" }, peers: [], violations: 0 };
        expect(() => fleetGraph([a({ trustDomain: "a.demo", federatedWith: [], pendingPeers: [] }), b])).to.throw(
            "a read peer organization/istio-spire/b (trust domain b.demo), which is neither in its federatedWith nor its pendingPeers",
        );
        expect(() => fleetGraph([a({ trustDomain: "a.demo", federatedWith: ["b.demo", "c.demo"], pendingPeers: [] }), b])).to.throw(
            "a federates with 2 trust domains (b.demo, c.demo) but read 1 ready peers",
        );
    });
});

describe("each stack's dependency chain (summary.md), read back by Mermaid", () => {
    let rendered: Rendered[];
    let files: Map<string, string>;
    before(async () => {
        ({ results: rendered, files } = await projectRender());
    });

    /** The summary's graph, parsed by Mermaid, with its node ids read back as the Pulumi names they were made from. */
    async function chain(r: Rendered) {
        const blocks = mermaidBlocks(files.get(`${r.stack}/summary.md`)!);
        expect(blocks.length).to.equal(1);
        const graph = await parseFlowchart(blocks[0]);
        const nameOf = new Map(r.declared.flatMap((d) => ["r", "c", "g"].map((prefix): [string, string] => [mermaidId(prefix, d.name), d.name])));
        const name = (id: string) => nameOf.get(id) ?? `unknown id ${id}`;
        return {
            graph,
            nodes: graph.vertices.map((v) => name(v.id)),
            edges: graph.edges.map((e) => `${name(e.start)} -> ${name(e.end)}`),
            groups: graph.subgraphs.map((s) => [name(s.id), s.title, s.nodes.map(name).sort()]),
            label: (pulumiName: string) => graph.vertices.find((v) => name(v.id) === pulumiName)?.lines,
        };
    }

    it("draws cluster1's chain: namespaces, SPIRE CRDs, SPIRE, the federation, registrations, Istio, the gateway and what runs on it", async () => {
        const { nodes, edges, groups, label, graph } = await chain(rendered[0]);
        // In the order the graph lists them: each subgraph's (by name), then the others, each by name.
        expect(nodes).to.deep.equal([
            "istio-base",
            "istio-gateway",
            "istio-istiod",
            "istio-namespace",
            "observability-kiali",
            "observability-prometheus",
            "peer-cluster2.demo-cftd",
            "registration-gateway",
            "registration-workloads",
            "spire-crds",
            "spire-namespace",
            "spire-release",
            "bookinfo-cluster2.demo",
            "curl-greeter",
            "federation",
            "sleep-httpbin",
        ]);
        expect(edges).to.deep.equal([
            "federation -> peer-cluster2.demo-cftd",
            "istio-base -> istio-istiod",
            "istio-istiod -> bookinfo-cluster2.demo",
            "istio-istiod -> curl-greeter",
            "istio-istiod -> istio-gateway",
            "istio-istiod -> observability-prometheus",
            "istio-istiod -> sleep-httpbin",
            "istio-namespace -> istio-base",
            "observability-prometheus -> observability-kiali",
            "peer-cluster2.demo-cftd -> registration-gateway",
            "peer-cluster2.demo-cftd -> registration-workloads",
            "registration-gateway -> istio-gateway",
            "registration-workloads -> curl-greeter",
            "registration-workloads -> sleep-httpbin",
            "spire-crds -> spire-release",
            "spire-namespace -> spire-crds",
            "spire-release -> federation",
            "spire-release -> istio-istiod",
        ]);
        expect(graph.edges.every((e) => e.stroke === "normal" && e.text === "")).to.equal(true);
        expect(groups).to.deep.equal([
            ["istio", "istio (IstioMesh)", ["istio-base", "istio-gateway", "istio-istiod", "istio-namespace"]],
            ["observability", "observability (Observability)", ["observability-kiali", "observability-prometheus"]],
            ["peer-cluster2.demo", "peer-cluster2.demo (FederatedTrustDomain)", ["peer-cluster2.demo-cftd"]],
            ["registration", "registration (WorkloadRegistration)", ["registration-gateway", "registration-workloads"]],
            ["spire", "spire (Spire)", ["spire-crds", "spire-namespace", "spire-release"]],
        ]);
        expect(label("spire-release")).to.deep.equal(["Helm release spire"]);
        expect(label("spire-namespace")).to.deep.equal(["Namespace spire-server"]);
        expect(label("peer-cluster2.demo-cftd")).to.deep.equal(["ClusterFederatedTrustDomain cluster2.demo"]);
        expect(label("registration-workloads")).to.deep.equal(["ClusterSPIFFEID istio-workloads"]);
        expect(label("sleep-httpbin")).to.deep.equal(["sleep-httpbin", "SleepHttpbin: 6 resources"]);
    });

    it("draws each stack's edges from the declared dependsOn: every edge is one, every dependency is a path, no edge a shortcut", async () => {
        for (const r of rendered) {
            const { nodes, edges } = await chain(r);
            const declared = new Map(r.declared.map((d) => [d.name, d]));
            // What a node stands for: itself, or every resource a component holds.
            const holds = (name: string): string[] => [name, ...r.declared.filter((d) => d.parent === name).flatMap((d) => holds(d.name))];
            const dependsOnPath = (from: string, to: string[]): boolean => {
                const seen = new Set<string>();
                const queue = [...declared.get(from)!.dependsOn];
                while (queue.length > 0) {
                    const next = queue.shift()!;
                    if (to.includes(next)) {
                        return true;
                    }
                    if (!seen.has(next)) {
                        seen.add(next);
                        queue.push(...(declared.get(next)?.dependsOn ?? []));
                    }
                }
                return false;
            };
            /** `later` waits for `earlier` in the declarations. */
            const waits = (later: string, earlier: string) => holds(later).some((resource) => dependsOnPath(resource, holds(earlier)));
            const pairs = edges.map((e) => e.split(" -> "));
            for (const [from, to] of pairs) {
                expect(waits(to, from), `${r.stack}: ${from} -> ${to}`).to.equal(true);
            }
            const drawnPath = (from: string, to: string, without?: string[]): boolean => {
                const queue = pairs.filter(([a, b]) => a === from && [a, b].join() !== without?.join()).map(([, b]) => b);
                const seen = new Set<string>();
                while (queue.length > 0) {
                    const next = queue.shift()!;
                    if (next === to) {
                        return true;
                    }
                    if (!seen.has(next)) {
                        seen.add(next);
                        queue.push(...pairs.filter(([a]) => a === next).map(([, b]) => b));
                    }
                }
                return false;
            };
            for (const later of nodes) {
                for (const earlier of nodes) {
                    if (later !== earlier && waits(later, earlier)) {
                        expect(drawnPath(earlier, later), `${r.stack}: ${later} waits for ${earlier}`).to.equal(true);
                    }
                }
            }
            for (const pair of pairs) {
                expect(drawnPath(pair[0], pair[1], pair), `${r.stack}: ${pair.join(" -> ")} is implied by other edges`).to.equal(false);
            }
        }
    });

    it("follows dependencies through resources it does not draw, takes a component as all its resources, and nests groups", async () => {
        const declare = (type: string, name: string, parent: string, dependsOn: string[], inputs: any = {}): Declared => ({
            type,
            name,
            urn: "",
            inputs,
            parent,
            dependsOn,
            ...NO_OPTIONS,
            read: false,
            id: "",
        });
        const release = "kubernetes:helm.sh/v3:Release";
        const declared = [
            declare("istio-spire:x:App", "app", "", []),
            declare("kubernetes:core/v1:Namespace", "app-ns", "app", [], { metadata: { name: "app" } }),
            declare("kubernetes:core/v1:ConfigMap", "app-config", "app", ["app-ns"], { metadata: { name: "c" } }),
            declare(release, "app-release", "app", ["app-config", "crd"], { name: "app" }),
            declare(release, "crd", "", [], { name: "crds" }),
            declare("istio-spire:x:Demo", "demo", "", []),
            declare("kubernetes:core/v1:ServiceAccount", "demo-sa", "demo", ["app"], { metadata: { name: "sa" } }),
            declare("kubernetes:apps/v1:Deployment", "demo-deploy", "demo", ["demo-sa"], { metadata: { name: "d" } }),
            declare("istio-spire:x:Outer", "outer", "", []),
            declare("istio-spire:x:Inner", "inner", "outer", []),
            declare(release, "inner-release", "inner", ["demo"], { name: "inner" }),
        ];
        const graph = await parseFlowchart(
            dependencySection(declared)
                .slice(dependencySection(declared).indexOf("```mermaid") + 1, -1)
                .join("\n"),
        );
        const nameOf = new Map(declared.flatMap((d) => ["r", "c", "g"].map((prefix): [string, string] => [mermaidId(prefix, d.name), d.name])));
        expect(graph.vertices.map((v) => [nameOf.get(v.id), v.lines, v.type])).to.deep.equal([
            ["app-ns", ["Namespace app"], "stadium"],
            ["app-release", ["Helm release app"], "square"],
            ["inner-release", ["Helm release inner"], "square"],
            ["crd", ["Helm release crds"], "square"],
            ["demo", ["demo", "Demo: 2 resources"], "square"],
        ]);
        expect(graph.edges.map((e) => `${nameOf.get(e.start)} -> ${nameOf.get(e.end)}`)).to.deep.equal([
            // Through app-config, a ConfigMap inside app (not drawn: app has drawn resources).
            "app-ns -> app-release",
            // demo-sa waits for the component app, so for each of its resources: app-release last.
            "app-release -> demo",
            "crd -> app-release",
            "demo -> inner-release",
        ]);
        expect(graph.subgraphs.map((g) => [nameOf.get(g.id), g.title, g.nodes.map((n) => nameOf.get(n))])).to.deep.equal([
            ["app", "app (App)", ["app-ns", "app-release"]],
            ["inner", "inner (Inner)", ["inner-release"]],
            ["outer", "outer (Outer)", ["inner"]],
        ]);
    });

    it("is the same whatever order the resources were declared in", () => {
        for (const r of rendered) {
            expect(dependencySection([...r.declared].reverse())).to.deep.equal(dependencySection(r.declared));
        }
    });
});
