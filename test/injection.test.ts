// Sidecar injection evaluated for real against the rendered injector ConfigMap (see test/injection.ts for how, and
// what is emulated): the program's istiod values rendered by the pinned istiod chart, Istio's own `sidecar` and
// `gateway` templates and the program's `spire` templates executed by Helm's Go template engine with the injector's
// data, merged onto pods as istiod 1.30.3 merges them, and the pods checked. Both sidecar modes, the per-pod
// `sidecar.istio.io/nativeSidecar` override both ways, and gateways injected with `gateway,spire` (Istio's documented
// form) and the legacy `gateway,spire-gateway`.

import { expect } from "chai";
import { parse } from "yaml";
import { NATIVE_SIDECAR_ANNOTATION, SPIFFE_CSI_DRIVER, WORKLOAD_SOCKET_DIR } from "../components";
import { NATIVE_SIDECAR_CONDITIONS } from "../components/mesh/istioOperator";
import { SUPPORTED_ISTIO_VERSIONS } from "../components/versions";
import { requireUpstream } from "../tools/upstream/artifacts";
import { ChartRenderer, ReleaseRender, podTemplateOf, theObject, requireHelm } from "./chartRender";
import { runProgram } from "../tools/mock-engine/harness";
import { Injection, InjectorSetup, PROXY, Pod, injectPods, podProblems, proxyList, proxyOf, shimIstioTemplate } from "./injection";

const program: () => Promise<unknown> = require("../index");

/** The `spire` template as the program wrote it before injection followed the pod (nativeSidecars on). */
const OLD_SPIRE_NATIVE = `metadata:
  labels:
    spiffe.io/spire-managed-identity: "true"
spec:
  initContainers:
    - name: istio-proxy
      volumeMounts:
        - mountPath: /run/secrets/workload-spiffe-uds
          name: workload-socket
          readOnly: true
  volumes:
    - csi:
        driver: csi.spiffe.io
        readOnly: true
      name: workload-socket
`;

/** An application pod of a Deployment in an enrolled namespace. */
function appPod(annotations: Record<string, string> = {}): Pod {
    return {
        metadata: { namespace: "apps", labels: { app: "httpbin", version: "v1" }, annotations },
        spec: {
            serviceAccountName: "httpbin",
            containers: [{ name: "httpbin", image: "docker.io/mccutchen/go-httpbin:v2.15.0", ports: [{ containerPort: 8080 }] }],
        },
    };
}

interface Setup {
    injector: InjectorSetup;
    /** The ingress gateway's pod, as the gateway chart renders its Deployment's pod template. */
    gatewayPod: Pod;
    gatewayName: string;
    namespace: string;
}

/** The injector's configuration and the gateway pod from the rendered istiod and gateway releases. */
function setupFrom(renders: ReleaseRender[]): Setup {
    const istiod = renders.find((r) => r.chart === "istiod")!;
    const gateway = renders.find((r) => r.chart === "gateway")!;
    const ns = istiod.namespace;
    const injectorMap = theObject(istiod.objects, "ConfigMap", ns === "istio-system" ? "istio-sidecar-injector" : `istio-sidecar-injector-${ns}`, ns);
    const mesh = parse(theObject(istiod.objects, "ConfigMap", "istio", ns).data.mesh);
    // webhook.go DetectNativeSidecar: ENABLE_NATIVE_SIDECARS=true → on, false → off ("auto" reads the nodes).
    const deployment = theObject(istiod.objects, "Deployment", "istiod", ns);
    const env = podTemplateOf(deployment)!.spec.containers.find((c: { name: string }) => c.name === "discovery").env as { name: string; value?: string }[];
    const mode = env.find((v) => v.name === "ENABLE_NATIVE_SIDECARS")?.value;
    if (mode !== "true" && mode !== "false") {
        throw new Error(`istiod's ENABLE_NATIVE_SIDECARS is ${JSON.stringify(mode)}: the test needs a pinned mode`);
    }
    const gatewayDeployment = gateway.objects.find((o) => o.kind === "Deployment")!;
    const template = podTemplateOf(gatewayDeployment)!;
    return {
        injector: { config: parse(injectorMap.data.config), values: JSON.parse(injectorMap.data.values), mesh, nativeSidecars: mode === "true" },
        gatewayPod: { metadata: { namespace: ns, labels: template.metadata?.labels, annotations: template.metadata?.annotations }, spec: template.spec },
        gatewayName: gatewayDeployment.metadata.name,
        namespace: ns,
    };
}

function withAnnotations(pod: Pod, annotations: Record<string, string>): Pod {
    return { ...pod, metadata: { ...pod.metadata, annotations: { ...(pod.metadata.annotations ?? {}), ...annotations } } };
}

/** The SPIRE agent socket as the proxy gets it: the CSI volume, mounted read-only at the workload socket directory. */
function expectSpireSocket(injection: Injection): void {
    const proxy = proxyOf(injection.pod);
    expect(proxy.volumeMounts.filter((m: { name: string }) => m.name === "workload-socket")).to.deep.include({
        name: "workload-socket",
        mountPath: WORKLOAD_SOCKET_DIR,
        readOnly: true,
    });
    expect(injection.pod.spec.volumes.filter((v: { name: string }) => v.name === "workload-socket")).to.deep.equal([
        { name: "workload-socket", csi: { driver: SPIFFE_CSI_DRIVER, readOnly: true } },
    ]);
}

describe("injection: the rendered injector templates evaluated per pod (Helm's Go template engine, istiod's merge)", function () {
    let helm: string;
    let renderer: ChartRenderer;

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        helm = await requireHelm(this, "render the charts with");
        renderer = new ChartRenderer(helm);
    });

    async function setupFor(config: Record<string, unknown>): Promise<Setup> {
        const run = await runProgram(program as () => Promise<Record<string, unknown>>, config);
        return setupFrom(await renderer.renderAll(run.declared));
    }

    const inject = (setup: Setup, pods: Record<string, Pod>) =>
        injectPods(
            helm,
            setup.injector,
            Object.entries(pods).map(([id, pod]) => ({
                id,
                pod,
                deployment: id.startsWith("gateway") ? { name: setup.gatewayName, namespace: setup.namespace } : { name: "httpbin", namespace: "apps" },
            })),
        );

    describe("the emulation itself", () => {
        it("rewrites Istio's functions to Helm's and leaves the rest of the text alone", () => {
            expect(shimIstioTemplate("{{ annotation .ObjectMeta `a/b` .Values.x | quote }}")).to.equal(
                '{{ include "istio.annotation" (list .ObjectMeta `a/b` .Values.x) | quote }}',
            );
            expect(shimIstioTemplate('{{- if excludeInboundPort (annotation .ObjectMeta `p` .V.p) (annotation .ObjectMeta `e` "") }}x{{ end }}')).to.equal(
                '{{- if include "istio.excludeInboundPort" (list (include "istio.annotation" (list .ObjectMeta `p` .V.p)) (include "istio.annotation" (list .ObjectMeta `e` ""))) }}x{{ end }}',
            );
            expect(shimIstioTemplate("{{ toYaml (omitNil .Values.r) | indent 6 }}")).to.equal('{{ toYaml ((.Values.r)) | indent 6 | trimPrefix "      " }}');
            expect(shimIstioTemplate("{{ if isset .ObjectMeta.Annotations `k` }}{{ toLower .K }}{{ end }}")).to.equal(
                "{{ if hasKey .ObjectMeta.Annotations `k` }}{{ lower .K }}{{ end }}",
            );
            expect(() => shimIstioTemplate("{{ strdict `a` `b` }}")).to.throw("Istio template function strdict is not emulated");
        });

        it("Istio's own sidecar template alone gives a valid pod in both modes (the emulation agrees with Istio's template)", async () => {
            for (const native of [true, false]) {
                const setup = await setupFor({ trustDomain: "east.example", clusterName: "east", nativeSidecars: String(native) });
                const injector = { ...setup.injector, config: { ...setup.injector.config, defaultTemplates: ["sidecar"] } };
                const result = await injectPods(helm, injector, [{ id: "app", pod: appPod(), deployment: { name: "httpbin", namespace: "apps" } }]);
                const pod = result.app.pod;
                expect(podProblems(pod), `native ${native}`).to.deep.equal([]);
                expect(proxyList(pod)).to.equal(native ? "initContainers" : "containers");
                expect(proxyOf(pod).image).to.equal("docker.io/istio/proxyv2:1.30.3");
                // Istio's order (reorderPod): istio-init, then the native proxy; the proxy last among containers.
                expect((pod.spec.initContainers ?? []).map((c: { name: string }) => c.name)).to.deep.equal(native ? ["istio-init", PROXY] : ["istio-init"]);
                expect(pod.spec.containers.map((c: { name: string }) => c.name)).to.deep.equal(native ? ["httpbin"] : ["httpbin", PROXY]);
                // The stock template's workload-socket volume is an emptyDir: no SPIRE without the spire template.
                expect(pod.spec.volumes.find((v: { name: string }) => v.name === "workload-socket")).to.deep.equal({ name: "workload-socket" });
            }
        });

        it("finds what the former static spire template did to a gateway and to a pod that opts out of native sidecars", async () => {
            const setup = await setupFor({ trustDomain: "east.example", clusterName: "east" });
            const injector = {
                ...setup.injector,
                config: { ...setup.injector.config, templates: { ...setup.injector.config.templates, spire: OLD_SPIRE_NATIVE } },
            };
            const result = await injectPods(helm, injector, [
                { id: "app", pod: appPod({ [NATIVE_SIDECAR_ANNOTATION]: "false" }), deployment: { name: "httpbin", namespace: "apps" } },
                {
                    id: "gateway",
                    pod: withAnnotations(setup.gatewayPod, { "inject.istio.io/templates": "gateway,spire" }),
                    deployment: { name: setup.gatewayName, namespace: setup.namespace },
                },
            ]);
            // The opted-out pod: the sidecar template's proxy container plus the spire template's image-less init one.
            expect(podProblems(result.app.pod)).to.deep.equal([
                "initContainers[istio-proxy]: no image",
                "containers[istio-proxy]: name istio-proxy used twice",
                "2 istio-proxy containers",
                "initContainers[istio-proxy] is not a native sidecar (restartPolicy Always): the pod never starts",
            ]);
            // The gateway: istiod moves the gateway's proxy into initContainers (where it is no native sidecar), then
            // re-applies the chart's own istio-proxy (image "auto" dropped) as a container: a second, image-less proxy.
            expect(podProblems(result.gateway.pod)).to.deep.equal([
                "containers[istio-proxy]: name istio-proxy used twice",
                "containers[istio-proxy]: no image",
                "2 istio-proxy containers",
                "initContainers[istio-proxy] is not a native sidecar (restartPolicy Always): the pod never starts",
            ]);
            const names = (list: { name: string }[] | undefined) => (list ?? []).map((c) => c.name);
            expect([names(result.gateway.pod.spec.initContainers), names(result.gateway.pod.spec.containers)]).to.deep.equal([[PROXY], [PROXY]]);
        });
    });

    // Each supported Istio version's control plane, with that version's own sidecar and gateway templates (issue 17).
    for (const [version, native] of SUPPORTED_ISTIO_VERSIONS.flatMap((v) => [true, false].map((n) => [v, n] as const))) {
        describe(`Istio ${version}, nativeSidecars ${native} (istiod ENABLE_NATIVE_SIDECARS=${native})`, () => {
            let setup: Setup;
            let result: Record<string, Injection>;
            before(async () => {
                setup = await setupFor({ trustDomain: "east.example", clusterName: "east", nativeSidecars: String(native), istioChartVersion: version });
                expect(setup.injector.nativeSidecars).to.equal(native);
                expect(setup.injector.values.global.tag).to.equal(version);
                result = await inject(setup, {
                    app: appPod(),
                    appNative: appPod({ [NATIVE_SIDECAR_ANNOTATION]: "true" }),
                    appClassic: appPod({ [NATIVE_SIDECAR_ANNOTATION]: "false" }),
                    appExplicit: appPod({ "inject.istio.io/templates": "sidecar, spire" }),
                    gateway: setup.gatewayPod,
                    gatewayExtra: withAnnotations(setup.gatewayPod, { "inject.istio.io/templates": "gateway,spire" }),
                    gatewayLegacy: withAnnotations(setup.gatewayPod, { "inject.istio.io/templates": "gateway,spire-gateway" }),
                    gatewayNativeAnnotated: withAnnotations(setup.gatewayPod, { [NATIVE_SIDECAR_ANNOTATION]: "true" }),
                });
            });

            it("the gateway chart's pods name gateway,spire; the injector has sidecar and spire by default and both spire names", () => {
                expect(setup.gatewayPod.metadata.annotations!["inject.istio.io/templates"]).to.equal("gateway,spire");
                expect(setup.injector.config.defaultTemplates).to.deep.equal(["sidecar", "spire"]);
                expect(setup.injector.config.templates["spire-gateway"]).to.equal(setup.injector.config.templates.spire);
                expect(result.gateway.templates).to.deep.equal(["gateway", "spire"]);
                expect(result.app.templates).to.deep.equal(["sidecar", "spire"]);
            });

            it(`a pod without the annotation: one proxy, ${native ? "a native sidecar" : "a container"}, with the SPIRE socket`, () => {
                const pod = result.app.pod;
                expect(podProblems(pod)).to.deep.equal([]);
                expect(proxyList(pod)).to.equal(native ? "initContainers" : "containers");
                expect(proxyOf(pod).restartPolicy).to.equal(native ? "Always" : undefined);
                expect(proxyOf(pod).image).to.equal(`docker.io/istio/proxyv2:${version}`);
                expectSpireSocket(result.app);
                expect(pod.metadata.labels).to.include({ "spiffe.io/spire-managed-identity": "true" });
                // The spire template chose the list the sidecar template chose.
                expect(parse(result.app.outputs.spire).spec).to.have.all.keys(native ? "initContainers" : "containers", "volumes");
            });

            it('sidecar.istio.io/nativeSidecar: "true" gives a native sidecar with the SPIRE socket', () => {
                const pod = result.appNative.pod;
                expect(podProblems(pod)).to.deep.equal([]);
                expect(proxyList(pod)).to.equal("initContainers");
                expect(proxyOf(pod).restartPolicy).to.equal("Always");
                expectSpireSocket(result.appNative);
            });

            it('sidecar.istio.io/nativeSidecar: "false" gives a proxy container with the SPIRE socket', () => {
                const pod = result.appClassic.pod;
                expect(podProblems(pod)).to.deep.equal([]);
                expect(proxyList(pod)).to.equal("containers");
                expectSpireSocket(result.appClassic);
            });

            it('inject.istio.io/templates: "sidecar, spire" (spaces trimmed as Istio trims them) is the default injection', () => {
                expect(result.appExplicit.pod).to.deep.equal(withAnnotations(result.app.pod, { "inject.istio.io/templates": "sidecar, spire" }));
            });

            for (const [id, title] of [
                ["gateway", "the gateway chart's annotation"],
                ["gatewayExtra", "gateway,spire (Istio's documented form for extra gateways)"],
                ["gatewayLegacy", "gateway,spire-gateway (the former name)"],
                ["gatewayNativeAnnotated", 'gateway,spire with sidecar.istio.io/nativeSidecar: "true"'],
            ] as const) {
                it(`a gateway injected with ${title}: the gateway's one proxy container with the SPIRE socket`, () => {
                    const pod = result[id].pod;
                    expect(podProblems(pod)).to.deep.equal([]);
                    expect(proxyList(pod)).to.equal("containers");
                    expect(pod.spec.initContainers).to.equal(undefined);
                    expect(proxyOf(pod).image).to.equal(`docker.io/istio/proxyv2:${version}`);
                    expect(proxyOf(pod).args.slice(0, 2)).to.deep.equal(["proxy", "router"]);
                    expectSpireSocket(result[id]);
                    // Gateways are registered by their own ClusterSPIFFEID, not the workload label.
                    expect(pod.metadata.labels).to.not.have.property("spiffe.io/spire-managed-identity");
                });
            }
        });
    }

    for (const version of SUPPORTED_ISTIO_VERSIONS) {
        it(`Istio ${version}: the spire template's native-sidecar condition is, character for character, the one in that version's rendered sidecar template`, async () => {
            const setup = await setupFor({ trustDomain: "east.example", clusterName: "east", istioChartVersion: version });
            const condition = (text: string) => text.split("\n").filter((line) => line.includes("$nativeSidecar :="));
            const sidecar = condition(setup.injector.config.templates.sidecar);
            expect(sidecar).to.have.length(1);
            expect(sidecar.map((l) => l.replace(/^\{\{-? | \}\}$/g, ""))).to.deep.equal([NATIVE_SIDECAR_CONDITIONS[version]]);
            expect(condition(setup.injector.config.templates.spire).map((l) => l.replace(/^\{\{-? /, ""))).to.deep.equal(
                sidecar.map((l) => l.replace(/^\{\{-? /, "")),
            );
        });
    }
});
