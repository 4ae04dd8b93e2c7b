// Conformance: what the program declares must fit what the pinned upstream artifacts accept. The spire-controller-
// manager CRDs (spire-crds 0.6.0), the spire chart 0.30.0 and Istio's 1.30.3 charts are read from the
// pinned upstream artifacts (see tools/upstream/artifacts.ts), and Istio's own SPIRE test data pins the SDS names a proxy asks for.

import { ValidateFunction } from "ajv";
import { expect } from "chai";
import { requireHelm } from "./chartRender";
import { X509Certificate } from "crypto";
import * as path from "path";
import { parse } from "yaml";
import { AGENT_SDS, ClusterFederatedTrustDomainSpec, WORKLOAD_SOCKET_PATH, deepMerge } from "../components";
import { Declared, ProgramRun, ofType, runProgram } from "../tools/mock-engine/harness";
import {
    JsonObject,
    compile,
    crdSpecValidator,
    gatewayValuesSchema,
    validationProblems,
    isObject,
    istioChartDefaults,
    spireAgentValuesSchema,
    spireChartDefaults,
    spireConfigDump,
    spireProxyConfigSecretText,
    valuePathProblems,
} from "../tools/upstream/upstream";
import { requireUpstream } from "../tools/upstream/artifacts";
import { runTemplates } from "./injection";
import { fixtureBundle } from "./testStacks";

const program: () => Promise<unknown> = require("../index");

const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";
const CLUSTER_FEDERATED_TRUST_DOMAIN = "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain";
const RELEASE = "kubernetes:helm.sh/v3:Release";

interface Outputs {
    workloadSocketPath: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Program helpers

/** The one Helm Release of a chart; fails loudly if there is none or more than one. */
function releaseOf(declared: Declared[], chart: string): Declared {
    const found = ofType(declared, RELEASE).filter((d) => d.inputs.chart === chart);
    if (found.length !== 1) {
        throw new Error(`expected one Release of chart ${chart}, found ${found.length}`);
    }
    return found[0];
}

function valuesOf(declared: Declared[], chart: string): JsonObject {
    const values: unknown = releaseOf(declared, chart).inputs.values;
    if (!isObject(values)) {
        throw new Error(`the ${chart} Release has no values`);
    }
    return values;
}

function objectAt(tree: JsonObject, dotted: string): JsonObject {
    let node: unknown = tree;
    for (const key of dotted.split(".")) {
        node = isObject(node) ? node[key] : undefined;
    }
    if (!isObject(node)) {
        throw new Error(`${dotted} is not a mapping`);
    }
    return node;
}

interface Container {
    name: string;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface InjectionTemplate {
    metadata?: { labels?: Record<string, string> };
    spec: {
        containers?: Container[];
        initContainers?: Container[];
        volumes?: { name: string; csi?: { driver: string; readOnly?: boolean } }[];
    };
}

// ---------------------------------------------------------------------------------------------------------------

describe("conformance with the pinned upstream charts, CRDs and Istio's SPIRE test data", () => {
    let run: ProgramRun<Outputs>;

    before(function () {
        requireUpstream(this);
    });
    before(async () => {
        run = await runProgram(program as () => Promise<Outputs>, { trustDomain: "cluster1.demo", clusterName: "cluster1" });
    });

    describe("SPIRE custom resources against the spire-crds 0.6.0 schemas", () => {
        it("validates every declared ClusterSPIFFEID and ClusterFederatedTrustDomain spec, and finds at least two ClusterSPIFFEIDs", () => {
            const validators: Record<string, ValidateFunction> = {
                [CLUSTER_SPIFFE_ID]: crdSpecValidator("ClusterSPIFFEID"),
                [CLUSTER_FEDERATED_TRUST_DOMAIN]: crdSpecValidator("ClusterFederatedTrustDomain"),
            };
            const resources = run.declared.filter((d) => d.type in validators);
            expect(ofType(resources, CLUSTER_SPIFFE_ID).length).to.be.at.least(2);
            for (const resource of resources) {
                const kind = resource.type.split(":")[2];
                expect(resource.inputs.apiVersion, resource.name).to.equal("spire.spiffe.io/v1alpha1");
                expect(resource.inputs.kind, resource.name).to.equal(kind);
                expect(validationProblems(validators[resource.type], resource.inputs.spec), `${kind} ${resource.name}`).to.deep.equal([]);
            }
        });

        it("rejects a ClusterSPIFFEID spec with a misspelled field, as Kubernetes pruning would drop it", () => {
            const validate = crdSpecValidator("ClusterSPIFFEID");
            expect(validationProblems(validate, { spiffeIDTemplate: "spiffe://cluster1.demo/x", federatesWIth: ["cluster2.demo"] })).to.deep.equal([
                '/: additionalProperties {"additionalProperty":"federatesWIth"} must NOT have additional properties',
            ]);
            // Nested objects are closed too.
            expect(validationProblems(validate, { spiffeIDTemplate: "spiffe://cluster1.demo/x", podSelector: { matchLabel: { app: "x" } } })).to.deep.equal([
                '/podSelector: additionalProperties {"additionalProperty":"matchLabel"} must NOT have additional properties',
            ]);
        });

        it("rejects a ClusterSPIFFEID spec with a wrong type or without its required template", () => {
            const validate = crdSpecValidator("ClusterSPIFFEID");
            expect(validationProblems(validate, { spiffeIDTemplate: 42 })).to.deep.equal(['/spiffeIDTemplate: type {"type":"string"} must be string']);
            expect(validationProblems(validate, { spiffeIDTemplate: "spiffe://x/y", federatesWith: "cluster2.demo" })).to.deep.equal([
                '/federatesWith: type {"type":"array"} must be array',
            ]);
            expect(validationProblems(validate, { className: "spire-server-spire" })).to.deep.equal([
                '/: required {"missingProperty":"spiffeIDTemplate"} must have required property \'spiffeIDTemplate\'',
            ]);
        });

        it("accepts a ClusterFederatedTrustDomain spec written to the program's typed interface, and rejects a bad profile type and misspellings", () => {
            // The program declares no ClusterFederatedTrustDomain in this run; this pins its typed spec to the CRD.
            const validate = crdSpecValidator("ClusterFederatedTrustDomain");
            const spec: ClusterFederatedTrustDomainSpec = {
                className: "spire-server-spire",
                trustDomain: "cluster2.demo",
                bundleEndpointURL: "https://203.0.113.20:8443",
                bundleEndpointProfile: { type: "https_spiffe", endpointSPIFFEID: "spiffe://cluster2.demo/spire/server" },
                trustDomainBundle: '{"keys":[]}',
            };
            expect(validationProblems(validate, spec)).to.deep.equal([]);
            expect(validationProblems(validate, { ...spec, bundleEndpointProfile: { type: "https" } })).to.deep.equal([
                '/bundleEndpointProfile/type: enum {"allowedValues":["https_spiffe","https_web"]} must be equal to one of the allowed values',
            ]);
            expect(validationProblems(validate, { ...spec, bundleEndpointUrl: spec.bundleEndpointURL })).to.deep.equal([
                '/: additionalProperties {"additionalProperty":"bundleEndpointUrl"} must NOT have additional properties',
            ]);
        });
    });

    describe("spire chart values against the spire 0.30.0 chart", () => {
        it("sets only value paths that exist in the umbrella values.yaml (global, subchart switches) or the subcharts' values.yaml", () => {
            const values = valuesOf(run.declared, "spire");
            expect(Object.keys(values).sort()).to.deep.equal(["global", "spiffe-csi-driver", "spiffe-oidc-discovery-provider", "spire-agent", "spire-server"]);
            // No open maps: every key the program sets is declared in the pinned chart.
            expect(valuePathProblems(values, spireChartDefaults().merged, [])).to.deep.equal([]);
        });

        it("resolves global.* against the umbrella values.yaml alone", () => {
            const values = valuesOf(run.declared, "spire");
            expect(valuePathProblems({ global: values.global as JsonObject }, spireChartDefaults().umbrella, [])).to.deep.equal([]);
        });

        it("gives the spire-agent subchart values its values.schema.json accepts, alone and coalesced over its defaults", () => {
            const values = valuesOf(run.declared, "spire");
            const agent = objectAt(values, "spire-agent");
            const validate = compile(spireAgentValuesSchema());
            expect(validationProblems(validate, agent)).to.deep.equal([]);
            expect(validationProblems(validate, deepMerge(spireChartDefaults().subcharts["spire-agent"], agent))).to.deep.equal([]);
            // The schema is live: it rejects what it constrains.
            expect(validationProblems(validate, { healthChecks: { port: 0 } })).to.deep.equal([
                '/healthChecks/port: minimum {"comparison":">=","limit":1} must be >= 1',
            ]);
        });

        it("reports a misspelled spire value path exactly, down to its leaves", () => {
            const defaults = spireChartDefaults().merged;
            expect(valuePathProblems({ "spire-server": { caTtl: "720h" } }, defaults, [])).to.deep.equal(["spire-server.caTtl"]);
            expect(valuePathProblems({ global: { spire: { trustdomain: "cluster1.demo" } } }, defaults, [])).to.deep.equal(["global.spire.trustdomain"]);
            expect(
                valuePathProblems({ "spire-agent": { sdss: { enabled: true, defaultSVIDName: "default" }, sds: { enabled: true } } }, defaults, []),
            ).to.deep.equal(["spire-agent.sdss.enabled", "spire-agent.sdss.defaultSVIDName"]);
            // A subchart key is not an umbrella-global key.
            expect(valuePathProblems({ global: { caTTL: "720h" } }, spireChartDefaults().umbrella, [])).to.deep.equal(["global.caTTL"]);
        });
    });

    describe("Istio chart values against the istio 1.30.3 charts", () => {
        it("sets only value paths that exist in the base chart's defaults", () => {
            expect(valuePathProblems(valuesOf(run.declared, "base"), istioChartDefaults("base"), [])).to.deep.equal([]);
        });

        it("sets only value paths that exist in the istiod chart's defaults, with meshConfig keys from an explicit allowlist", () => {
            const values = valuesOf(run.declared, "istiod");
            const openMaps = [
                // MeshConfig API (istio.mesh.v1alpha1): values.yaml links to its reference instead of listing its
                // fields; its keys are checked against the allowlist below.
                "meshConfig",
                // istiod's environment variables: a name -> value map.
                "env",
                // Named injection templates: the names are the user's.
                "sidecarInjectorWebhook.templates",
            ];
            expect(valuePathProblems(values, istioChartDefaults("istiod"), openMaps)).to.deep.equal([]);
            const meshConfig = objectAt(values, "meshConfig");
            expect(Object.keys(meshConfig).filter((k) => !["trustDomain", "trustDomainAliases"].includes(k))).to.deep.equal([]);
            expect(meshConfig.trustDomain).to.equal("cluster1.demo");
        });

        it("lifts the IstioOperator's pilot block to the top level of the istiod values", () => {
            const values = valuesOf(run.declared, "istiod");
            expect(values).to.not.have.property("pilot");
            expect(objectAt(values, "env")).to.deep.equal({ ENABLE_NATIVE_SIDECARS: "true" });
        });

        it("sets only value paths that exist in the gateway chart's defaults", () => {
            const openMaps = [
                // Labels applied to every gateway resource; the defaults pre-fill one, the keys are the user's.
                "labels",
                // Pod annotations; the defaults pre-fill prometheus and injection ones, the keys are the user's.
                "podAnnotations",
            ];
            expect(valuePathProblems(valuesOf(run.declared, "gateway"), istioChartDefaults("gateway"), openMaps)).to.deep.equal([]);
        });

        it("gives the gateway chart values its values.schema.json accepts, alone and as Helm validates them with the chart's values.yaml", () => {
            const values = valuesOf(run.declared, "gateway");
            const validate = compile(gatewayValuesSchema());
            expect(validationProblems(validate, values)).to.deep.equal([]);
            expect(validationProblems(validate, { _internal_defaults_do_not_set: istioChartDefaults("gateway"), ...values })).to.deep.equal([]);
            // The schema is live: it is closed at the top and typed below.
            expect(validationProblems(validate, { ...values, serviceAcount: { create: true } })).to.deep.equal([
                '/: additionalProperties {"additionalProperty":"serviceAcount"} must NOT have additional properties',
            ]);
            expect(validationProblems(validate, { ...values, serviceAccount: { create: "yes" } })).to.deep.equal([
                '/serviceAccount/create: type {"type":"boolean"} must be boolean',
            ]);
        });
    });

    describe("injection templates against the SPIRE agent and the SPIFFE CSI driver", () => {
        // The templates are Go templates Istio evaluates per pod: each is executed here by Helm's Go template engine
        // (test/injection.ts) for the pod it is meant for, with native sidecars on as istiod's env pins them: `spire`
        // for an application pod, `spire-gateway` for a gateway pod naming it (test/injection.test.ts covers every mode).
        let evaluated: Record<string, InjectionTemplate>;
        before(async function () {
            const helm = await requireHelm(this, "evaluate the injection templates with");
            const raw = objectAt(valuesOf(run.declared, "istiod"), "sidecarInjectorWebhook.templates") as Record<string, string>;
            const data = (annotations: Record<string, string>) => ({ ObjectMeta: { Annotations: annotations, Labels: {} }, NativeSidecars: true });
            const out = await runTemplates(helm, raw, [
                { id: "spire", template: "spire", data: data({}) },
                { id: "spire-gateway", template: "spire-gateway", data: data({ "inject.istio.io/templates": "gateway,spire-gateway" }) },
            ]);
            evaluated = { spire: parse(out.spire) as InjectionTemplate, "spire-gateway": parse(out["spire-gateway"]) as InjectionTemplate };
        });
        const templates = (): Record<string, InjectionTemplate> => evaluated;
        const csiPluginName = (): string => {
            const name = spireChartDefaults().subcharts["spiffe-csi-driver"].pluginName;
            if (typeof name !== "string") {
                throw new Error("spiffe-csi-driver values.yaml has no pluginName");
            }
            return name;
        };

        it("mounts a workload-socket volume from the spiffe-csi-driver chart's CSI driver in both templates", () => {
            const pluginName = csiPluginName();
            expect(pluginName).to.equal("csi.spiffe.io");
            for (const [name, template] of Object.entries(templates())) {
                expect(template.spec.volumes, name).to.deep.equal([{ name: "workload-socket", csi: { driver: pluginName, readOnly: true } }]);
            }
        });

        it("writes only Pod fields, since Istio decodes a merged template as a Pod and drops anything else", () => {
            // pkg/kube/inject/webhook.go (1.30.3) applyOverlayYAML: strategic merge onto the Pod, then json.Unmarshal
            // into corev1.Pod. A top-level `labels` (as some runbooks write it) silently disappears.
            const podFields = ["apiVersion", "kind", "metadata", "spec"];
            for (const [name, template] of Object.entries(templates())) {
                expect(
                    Object.keys(template).filter((k) => !podFields.includes(k)),
                    name,
                ).to.deep.equal([]);
            }
            expect(templates().spire.metadata?.labels).to.deep.equal({ "spiffe.io/spire-managed-identity": "true" });
        });

        it("puts the agent socket at the program's WORKLOAD_SOCKET_PATH, a name the spire-agent chart serves", () => {
            expect(WORKLOAD_SOCKET_PATH).to.equal("/run/secrets/workload-spiffe-uds/socket");
            expect(run.outputs.workloadSocketPath).to.equal(WORKLOAD_SOCKET_PATH);
            const parsed = templates();
            const proxies: [string, Container[] | undefined][] = [
                ["spire", parsed.spire.spec.initContainers],
                ["spire-gateway", parsed["spire-gateway"].spec.containers],
            ];
            for (const [name, containers] of proxies) {
                const proxy = (containers ?? []).find((c) => c.name === "istio-proxy");
                const mounts = (proxy?.volumeMounts ?? []).filter((m) => m.name === "workload-socket");
                expect(mounts.length, name).to.equal(1);
                expect(`${mounts[0].mountPath}/socket`, name).to.equal(WORKLOAD_SOCKET_PATH);
            }
            const names = objectAt(valuesOf(run.declared, "spire"), "spire-agent.socketAlternate").names;
            expect(names).to.be.an("array").that.includes(path.posix.basename(WORKLOAD_SOCKET_PATH)).and.includes("socket");
        });

        it("patches initContainers in the sidecar template (native sidecars, pinned on in istiod's env) and containers in the gateway template", () => {
            expect(objectAt(valuesOf(run.declared, "istiod"), "env").ENABLE_NATIVE_SIDECARS).to.equal("true");
            const parsed = templates();
            expect(Object.keys(parsed.spire.spec).sort()).to.deep.equal(["initContainers", "volumes"]);
            expect(parsed.spire.spec.initContainers?.map((c) => c.name)).to.deep.equal(["istio-proxy"]);
            expect(Object.keys(parsed["spire-gateway"].spec).sort()).to.deep.equal(["containers", "volumes"]);
            expect(parsed["spire-gateway"].spec.containers?.map((c) => c.name)).to.deep.equal(["istio-proxy"]);
        });

        it("applies the templates: spire by default to sidecars, and through the gateway's pod annotation to the gateway", () => {
            expect(objectAt(valuesOf(run.declared, "istiod"), "sidecarInjectorWebhook").defaultTemplates).to.deep.equal(["sidecar", "spire"]);
            expect(objectAt(valuesOf(run.declared, "gateway"), "podAnnotations")["inject.istio.io/templates"]).to.equal("gateway,spire");
        });
    });

    describe("SPIRE agent SDS names against a real SPIRE-federated Envoy (istio 1.30.3 testdata)", () => {
        const secretsDump = (): JsonObject[] => {
            const configs = spireConfigDump().configs;
            if (!Array.isArray(configs)) {
                throw new Error("config dump has no configs");
            }
            const dumps = (configs as unknown[]).filter(
                (c): c is JsonObject => isObject(c) && c["@type"] === "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
            );
            expect(dumps.length).to.equal(1);
            const secrets = dumps[0].dynamic_active_secrets;
            if (!Array.isArray(secrets)) {
                throw new Error("SecretsConfigDump has no dynamic_active_secrets");
            }
            return (secrets as unknown[]).filter(isObject);
        };

        it("serves exactly the SDS secret names the proxy holds: the SVID as default, every bundle as ROOTCA", () => {
            const names = secretsDump().map((s) => s.name);
            expect([...names].sort()).to.deep.equal([AGENT_SDS.defaultAllBundlesName, AGENT_SDS.defaultSVIDName].sort());
            expect(AGENT_SDS.defaultSVIDName).to.equal("default");
            expect(AGENT_SDS.defaultAllBundlesName).to.equal("ROOTCA");
            expect(AGENT_SDS.defaultBundleName).to.equal("null");
            // And these are the names deployed to the spire-agent chart.
            expect(objectAt(valuesOf(run.declared, "spire"), "spire-agent.sds")).to.deep.equal({ ...AGENT_SDS });
        });

        it("sees both federated trust domains' bundles in the proxy's ROOTCA secret, the shape the all-bundles name serves", () => {
            const rootca = secretsDump().find((s) => s.name === AGENT_SDS.defaultAllBundlesName);
            const validator = objectAt(rootca ?? {}, "secret.validation_context.custom_validator_config");
            expect(validator.name).to.equal("envoy.tls.cert_validator.spiffe");
            const trustDomains = objectAt(validator, "typed_config").trust_domains;
            expect(Array.isArray(trustDomains)).to.equal(true);
            expect((trustDomains as JsonObject[]).map((t) => t.name)).to.deep.equal(["east.local", "west.local"]);
            const svid = secretsDump().find((s) => s.name === AGENT_SDS.defaultSVIDName);
            expect(Object.keys(objectAt(svid ?? {}, "secret.tls_certificate")).sort()).to.deep.equal(["certificate_chain", "private_key"]);
        });

        it("matches istioctl proxy-config secret: one default cert chain, and ROOTCA CA entries for east.local and west.local", () => {
            const lines = spireProxyConfigSecretText()
                .split("\n")
                .map((l) => l.trim())
                .filter((l) => l !== "");
            const rows = lines.map((l) => l.split(/\s{2,}/));
            const header = rows[0];
            expect(header).to.deep.equal(["RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE", "TRUST DOMAIN"]);
            const col = (name: string) => header.indexOf(name);
            const entries = rows.slice(1).map((r) => [r[col("RESOURCE NAME")], r[col("TYPE")], r[col("STATUS")], r[col("TRUST DOMAIN")]]);
            expect(entries).to.deep.equal([
                [AGENT_SDS.defaultSVIDName, "Cert Chain", "ACTIVE", "east.local"],
                [AGENT_SDS.defaultAllBundlesName, "CA", "ACTIVE", "east.local"],
                [AGENT_SDS.defaultAllBundlesName, "CA", "ACTIVE", "west.local"],
            ]);
        });
    });
});

// ---------------------------------------------------------------------------------------------------------------
// The rules the spire-controller-manager's admission webhook applies to a ClusterFederatedTrustDomain
// (ParseClusterFederatedTrustDomainSpec), written out independently of the program's own validation.

function webhookProblems(spec: ClusterFederatedTrustDomainSpec): string[] {
    const problems: string[] = [];
    const isTrustDomain = (td: string) => /^[a-z0-9._-]+$/.test(td) && td.length <= 255;
    const isSpiffeId = (id: string) => {
        const match = /^spiffe:\/\/([^/]+)((\/[A-Za-z0-9._-]+)*)$/.exec(id);
        return match !== null && isTrustDomain(match[1]) && !/\/\.\.?(\/|$)/.test(match[2]);
    };
    if (!isTrustDomain(spec.trustDomain)) {
        problems.push("invalid trustDomain");
    }
    let url: URL | undefined;
    try {
        url = new URL(spec.bundleEndpointURL);
    } catch {
        problems.push("invalid bundleEndpointURL");
    }
    if (url !== undefined) {
        if (url.protocol !== "https:") problems.push("bundleEndpointURL: scheme must be https");
        if (url.host === "") problems.push("bundleEndpointURL: host is not specified");
        if (url.username !== "" || url.password !== "") problems.push("bundleEndpointURL: cannot contain userinfo");
    }
    const profile = spec.bundleEndpointProfile as { type: string; endpointSPIFFEID?: string };
    if (profile.type === "https_spiffe") {
        if (profile.endpointSPIFFEID === undefined || !isSpiffeId(profile.endpointSPIFFEID)) problems.push("invalid endpointSPIFFEID");
    } else if (profile.type === "https_web") {
        if (profile.endpointSPIFFEID !== undefined && profile.endpointSPIFFEID !== "") problems.push("endpointSPIFFEID is not allowed for https_web");
    } else {
        problems.push(`unsupported bundle endpoint profile type "${profile.type}"`);
    }
    if (spec.trustDomainBundle !== undefined && spec.trustDomainBundle !== "") {
        try {
            const doc = JSON.parse(spec.trustDomainBundle) as { keys?: { use?: string; kid?: string; x5c?: string[] }[] };
            if (!Array.isArray(doc.keys)) throw new Error("no keys");
            for (const key of doc.keys) {
                if (key.use === "x509-svid") {
                    if (!Array.isArray(key.x5c) || key.x5c.length !== 1) throw new Error("x509-svid key needs exactly one certificate");
                    new X509Certificate(Buffer.from(key.x5c[0], "base64"));
                } else if (key.use === "jwt-svid") {
                    if (!key.kid) throw new Error("jwt-svid key without kid");
                } else {
                    throw new Error(`unknown key use ${key.use}`);
                }
            }
        } catch (error) {
            problems.push(`invalid trustDomainBundle: ${(error as Error).message}`);
        }
    }
    return problems;
}

describe("ClusterFederatedTrustDomains against the CRD and the controller manager's webhook rules", () => {
    const ORG = "organization/istio-spire";
    const fixture = fixtureBundle;
    let run: ProgramRun<Outputs>;

    before(async () => {
        run = await runProgram(
            program as () => Promise<Outputs>,
            {
                trustDomain: "cluster1.demo",
                clusterName: "cluster1",
                peers: [{ stack: `${ORG}/cluster2` }, { stack: `${ORG}/cluster3` }],
            },
            {
                ownBundle: fixture("cluster1.demo"),
                stackOutputs: {
                    [`${ORG}/cluster2`]: {
                        federation: {
                            trustDomain: "cluster2.demo",
                            bundleEndpointUrl: "https://203.0.113.2:8443",
                            endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
                            trustBundle: fixture("cluster2.demo"),
                            bundleEndpointProfile: "https_spiffe",
                        },
                    },
                    [`${ORG}/cluster3`]: {
                        federation: {
                            trustDomain: "cluster3.demo",
                            bundleEndpointUrl: "https://spire.cluster3.example.com",
                            endpointSpiffeId: "spiffe://cluster3.demo/spire/server",
                            bundleEndpointProfile: "https_web",
                        },
                    },
                },
            },
        );
    });

    it("declares one ClusterFederatedTrustDomain per profile, each valid against the CRD schema", function () {
        requireUpstream(this);
        const cftds = ofType(run.declared, CLUSTER_FEDERATED_TRUST_DOMAIN);
        expect(cftds.map((c) => c.inputs.spec.bundleEndpointProfile.type).sort()).to.deep.equal(["https_spiffe", "https_web"]);
        const validate = crdSpecValidator("ClusterFederatedTrustDomain");
        for (const cftd of cftds) {
            expect(cftd.inputs.apiVersion).to.equal("spire.spiffe.io/v1alpha1");
            expect(validationProblems(validate, cftd.inputs.spec), cftd.name).to.deep.equal([]);
        }
    });

    it("passes every rule of the controller manager's webhook", () => {
        for (const cftd of ofType(run.declared, CLUSTER_FEDERATED_TRUST_DOMAIN)) {
            expect(webhookProblems(cftd.inputs.spec), cftd.name).to.deep.equal([]);
        }
    });

    it("keeps ClusterSPIFFEIDs with federatesWith valid against their CRD", function () {
        requireUpstream(this);
        const validate = crdSpecValidator("ClusterSPIFFEID");
        for (const id of ofType(run.declared, CLUSTER_SPIFFE_ID)) {
            expect(id.inputs.spec.federatesWith, id.name).to.deep.equal(["cluster2.demo", "cluster3.demo"]);
            expect(validationProblems(validate, id.inputs.spec), id.name).to.deep.equal([]);
        }
    });

    it("the webhook rules themselves refuse what the controller manager refuses", () => {
        const good: ClusterFederatedTrustDomainSpec = {
            trustDomain: "cluster2.demo",
            bundleEndpointURL: "https://203.0.113.2:8443",
            bundleEndpointProfile: { type: "https_spiffe", endpointSPIFFEID: "spiffe://cluster2.demo/spire/server" },
            trustDomainBundle: fixture("cluster2.demo"),
        };
        expect(webhookProblems(good)).to.deep.equal([]);
        expect(webhookProblems({ ...good, trustDomain: "Cluster2" })).to.deep.equal(["invalid trustDomain"]);
        expect(webhookProblems({ ...good, bundleEndpointURL: "http://x:8443" })).to.deep.equal(["bundleEndpointURL: scheme must be https"]);
        expect(webhookProblems({ ...good, bundleEndpointURL: "https://u:p@x" })).to.deep.equal(["bundleEndpointURL: cannot contain userinfo"]);
        expect(webhookProblems({ ...good, bundleEndpointProfile: { type: "https_spiffe", endpointSPIFFEID: "" } })).to.deep.equal(["invalid endpointSPIFFEID"]);
        expect(webhookProblems({ ...good, bundleEndpointProfile: { type: "https_web", endpointSPIFFEID: "spiffe://cluster2.demo/x" } as never })).to.deep.equal(
            ["endpointSPIFFEID is not allowed for https_web"],
        );
        expect(webhookProblems({ ...good, trustDomainBundle: "{}" })).to.deep.equal(["invalid trustDomainBundle: no keys"]);
    });
});
