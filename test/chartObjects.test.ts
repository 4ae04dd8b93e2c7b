// What the pinned charts really render with the values the program hands them (`helm template`, test/helm.ts): the
// objects the harness models as chart-created (chartObjectsRead), the objects the program declares itself (never also
// rendered by a chart), and the bundle endpoint profile SPIRE serves. Plain mock tests of the same values come first;
// the Helm ones are pending without the upstream charts or a Helm 3 (failing under CI=true).

import { expect } from "chai";
import * as path from "path";
import { ISTIO_VERSION, SPIRE_CHART_VERSION, federationTlsValues } from "../components";
import { chartDirName, requireArtifact, requireUpstream, upstreamDir } from "./artifacts";
import { Declared, ProgramRun, chartObjectsRead, named, ofType, runProgram, runProgramExpectingError } from "./harness";
import { RenderedObject, ensureHelm, helmTemplate } from "./helm";

const program: () => Promise<any> = require("../index");

const RELEASE = "kubernetes:helm.sh/v3:Release";
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const HTTPS_WEB = {
    ...CLUSTER1,
    bundleEndpointProfile: "https_web",
    bundleEndpointUrl: "https://spire.cluster1.example.com",
    bundleEndpointTlsSecret: "spire-federation-tls",
};

const spireServerValues = (run: ProgramRun<any>) => named(run.declared, "spire-release").inputs.values["spire-server"];

describe("the bundle endpoint profile, applied to SPIRE", () => {
    let spiffe: ProgramRun<any>;
    let web: ProgramRun<any>;
    before(async () => {
        spiffe = await runProgram(program, CLUSTER1);
        web = await runProgram(program, HTTPS_WEB);
    });

    it("keeps the chart's https_spiffe (the server's own SVID) by default", () => {
        expect(spireServerValues(spiffe).federation).to.deep.equal({ enabled: true, bundleEndpoint: { refreshHint: "5m" } });
        expect(federationTlsValues()).to.deep.equal({ spire: { enabled: true } });
    });

    it("with https_web, makes the server serve the configured Secret's certificate instead", () => {
        expect(spireServerValues(web).federation).to.deep.equal({
            enabled: true,
            bundleEndpoint: { refreshHint: "5m" },
            tls: { spire: { enabled: false }, externalSecret: { enabled: true, secretName: "spire-federation-tls" } },
        });
        expect(web.outputs.federation).to.deep.include({ bundleEndpointUrl: "https://spire.cluster1.example.com", bundleEndpointProfile: "https_web" });
    });

    it("refuses https_web without the Secret before declaring any resource", async () => {
        const { error, declared } = await runProgramExpectingError(program, { ...HTTPS_WEB, bundleEndpointTlsSecret: "" });
        expect(error.message).to.equal(
            'Invalid configuration: bundleEndpointTlsSecret: is not set; bundleEndpointProfile "https_web" needs the name of an existing ' +
                'kubernetes.io/tls Secret in spireNamespace ("spire-server") holding a Web PKI certificate (tls.crt, tls.key) for ' +
                "bundleEndpointUrl's host; run `pulumi config set bundleEndpointTlsSecret <secret>`",
        );
        expect(declared).to.deep.equal([]);
    });
});

/** `helm template` of a declared release with exactly its inputs (name, namespace, values), from the pinned chart. */
function renderRelease(helm: string, release: Declared): RenderedObject[] {
    const version = release.inputs.chart.startsWith("spire") ? SPIRE_CHART_VERSION : ISTIO_VERSION;
    const chartDir = path.join(upstreamDir(), "charts", chartDirName({ chart: release.inputs.chart, version }));
    return helmTemplate({ helm, chartDir, release: release.inputs.name, namespace: release.inputs.namespace, values: release.inputs.values ?? {} });
}

const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind} ${namespace ?? "-"}/${name}`;

describe("the pinned charts, rendered with the program's values", () => {
    let helm: string;
    let run: ProgramRun<any>;
    before(async function () {
        requireUpstream(this);
        const found = await ensureHelm();
        requireArtifact(this, found.found, () => `pending: no Helm 3 to run \`helm template\` (${found.found ? "" : found.reason})`);
        helm = (found as { binary: string }).binary;
        run = await runProgram(program, CLUSTER1);
    });

    const release = (chart: string) => ofType(run.declared, RELEASE).find((r) => r.inputs.chart === chart)!;
    const server = (objects: RenderedObject[]) => objects.find((o) => o.kind === "StatefulSet" && o.metadata.name === "spire-server")!;
    const serverConf = (objects: RenderedObject[]) =>
        JSON.parse(objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "spire-server")!.data["server.conf"]);

    it("renders every object the harness models as created by a release and read back (the gateway's Service)", () => {
        for (const chart of ["gateway", "spire"]) {
            const r = release(chart);
            const rendered = new Set(renderRelease(helm, r).map((o) => keyOf(o.kind, o.metadata.namespace ?? r.inputs.namespace, o.metadata.name)));
            for (const o of chartObjectsRead(r.inputs)) {
                expect(rendered, `${chart}: ${keyOf(o.kind, o.namespace, o.name)}`).to.include(keyOf(o.kind, o.namespace, o.name));
            }
        }
        expect(chartObjectsRead(release("gateway").inputs)).to.deep.equal([{ kind: "Service", namespace: "istio-system", name: "istio-ingressgateway" }]);
        expect(named(run.declared, "istio-gateway-service").id).to.equal("istio-system/istio-ingressgateway");
    });

    it("renders no object the program declares itself: spire-bundle is SPIRE's (published at run time) and the program's patch", () => {
        const spire = renderRelease(helm, release("spire"));
        const gateway = renderRelease(helm, release("gateway"));
        const rendered = new Set([...spire, ...gateway].map((o) => `${o.kind} ${o.metadata.name}`));
        const declared = run.declared.filter((d) => d.type.startsWith("kubernetes:") && d.type !== RELEASE && !d.read && d.inputs.metadata?.name);
        expect(declared.map((d) => d.name)).to.include("federation-bundle-configmap");
        for (const d of declared) {
            expect(rendered, d.name).to.not.include(`${d.inputs.kind} ${d.inputs.metadata.name}`);
        }
        // What the chart does render around it: the agents mount it, the server may get, patch and create it.
        const agent = spire.find((o) => o.kind === "DaemonSet" && o.metadata.name === "spire-agent")!;
        expect(agent.spec.template.spec.volumes).to.deep.include({ name: "spire-bundle", configMap: { name: "spire-bundle" } });
        const role = spire.find((o) => o.kind === "Role" && o.metadata.name === "spire-bundle")!;
        expect(role.rules).to.deep.equal([{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["spire-bundle"], verbs: ["get", "patch", "create"] }]);
        expect(serverConf(spire).plugins.BundlePublisher).to.deep.equal([
            {
                k8s_configmap: {
                    plugin_data: {
                        clusters: [{ "chart-internal": { format: "spiffe", namespace: "spire-server", configmap_name: "spire-bundle", configmap_key: "bundle.spiffe" } }],
                    },
                },
            },
        ]);
    });

    it("serves the https_spiffe profile by default", () => {
        const spire = renderRelease(helm, release("spire"));
        expect(serverConf(spire).server.federation.bundle_endpoint.profile).to.deep.equal([{ https_spiffe: {} }]);
        expect(server(spire).spec.template.spec.volumes.map((v: { name: string }) => v.name)).to.not.include("bundle-endpoint-tls");
    });

    it("serves the https_web profile from the configured Secret's certificate when asked", async () => {
        const web = await runProgram(program, HTTPS_WEB);
        const spire = renderRelease(helm, named(web.declared, "spire-release"));
        expect(serverConf(spire).server.federation.bundle_endpoint.profile).to.deep.equal([
            {
                https_web: {
                    serving_cert_file: {
                        cert_file_path: "/bundle-endpoint-tls/tls.crt",
                        key_file_path: "/bundle-endpoint-tls/tls.key",
                        file_sync_interval: "1h",
                    },
                },
            },
        ]);
        const pod = server(spire).spec.template.spec;
        expect(pod.volumes).to.deep.include({ name: "bundle-endpoint-tls", secret: { secretName: "spire-federation-tls" } });
        const container = pod.containers.find((c: { name: string }) => c.name === "spire-server");
        expect(container.volumeMounts).to.deep.include({ name: "bundle-endpoint-tls", mountPath: "/bundle-endpoint-tls" });
    });
});
