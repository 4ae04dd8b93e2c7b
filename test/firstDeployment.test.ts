// The world of a first deployment, as the engine and the cluster really are: peer stacks that were created but never
// deployed, peer stacks that were never created (an engine error), a SPIRE that has not published its trust bundle
// yet, and reads of objects that nothing created (an engine error).

import * as k8s from "@pulumi/kubernetes";
import { expect } from "chai";
import { bundleNotPublishedMessage, pendingPeerMessage } from "../components";
import {
    ProgramRun,
    UNKNOWN,
    chartObjectsRead,
    missingResourceError,
    mockUuid,
    named,
    objectKey,
    ofType,
    runProgram,
    runProgramExpectingError,
    unknownStackError,
} from "../tools/mock-engine/harness";
import { fixtureBundle } from "./testStacks";

const program: () => Promise<any> = require("../index");

const ORG = "organization/istio-spire";
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const WITH_PEER = { ...CLUSTER1, peers: [{ stack: `${ORG}/cluster2` }] };
const BUNDLE1 = fixtureBundle("cluster1.demo");
const NOT_PUBLISHED = bundleNotPublishedMessage("spire-server/spire-bundle");

describe("the first pulumi up of a stack, before SPIRE has published its bundle", () => {
    let run: ProgramRun<any>;
    before(async () => {
        // No ownBundle: SPIRE's bundle publisher has not written spire-bundle yet, and the chart does not render it.
        run = await runProgram(program, CLUSTER1, {});
    });

    it("does not fail: it exports federation without trustBundle", () => {
        expect(run.outputs.federation).to.deep.equal({
            trustDomain: "cluster1.demo",
            bundleEndpointUrl: "https://203.0.113.10:8443",
            endpointSpiffeId: "spiffe://cluster1.demo/spire/server",
            bundleEndpointProfile: "https_spiffe",
            installationId: mockUuid("cluster1", "federation-installation-id", { namespaceUid: "uid-spire-server", caLineage: "" }),
        });
    });

    it("warns, naming the ConfigMap and key that are missing and that the next pulumi up exports the bundle", () => {
        expect(run.warnings).to.deep.equal([NOT_PUBLISHED]);
        expect(NOT_PUBLISHED).to.equal(
            'SPIRE has not published this cluster\'s trust bundle yet (ConfigMap spire-server/spire-bundle has no "bundle.spiffe"): ' +
                'the "federation" output is exported without trustBundle, so peers see this stack as pending. ' +
                "Run `pulumi up` on this stack again once the SPIRE server is running to export it.",
        );
    });

    it("makes sure the ConfigMap exists with a metadata-only server-side apply after the spire release, never touching data", () => {
        const patch = named(run.declared, "federation-bundle-configmap");
        expect(patch.type).to.equal("kubernetes:core/v1:ConfigMapPatch");
        expect(patch.inputs).to.deep.equal({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "spire-bundle", namespace: "spire-server", labels: { "app.kubernetes.io/part-of": "istio-spire" } },
        });
        expect(patch.dependsOn).to.include("spire-release");
        expect(patch.ignoreChanges).to.deep.equal(["data"]);
        const read = named(run.declared, "federation-bundle");
        expect([read.read, read.id]).to.deep.equal([true, "spire-server/spire-bundle"]);
        expect(read.dependsOn).to.include.members(["spire-release", "federation-bundle-configmap"]);
    });

    it("exports the bundle on the next pulumi up, once SPIRE has published it, without a warning", async () => {
        const next = await runProgram(program, CLUSTER1, { ownBundle: BUNDLE1 });
        expect(next.outputs.federation.trustBundle).to.equal(BUNDLE1);
        expect(next.warnings).to.deep.equal([]);
    });

    it("warns nothing in a preview of a first deployment, where the read is deferred", async () => {
        const preview = await runProgram(program, CLUSTER1, { preview: true });
        expect(named(preview.declared, "federation-bundle").id).to.equal(UNKNOWN);
        expect(preview.warnings).to.deep.equal([]);
    });

    it("is what a peer then sees as pending, not as an error", async () => {
        const peer = await runProgram(
            program,
            { trustDomain: "cluster2.demo", clusterName: "cluster2", peers: [{ stack: `${ORG}/cluster1` }] },
            { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster1`]: run.outputs } },
            "cluster2",
        );
        expect(peer.outputs.pendingPeers).to.deep.equal([`${ORG}/cluster1`]);
        expect(peer.warnings).to.deep.equal([
            pendingPeerMessage(`${ORG}/cluster1`, "has not published its trust bundle yet (needed to authenticate its https_spiffe endpoint)"),
        ]);
    });
});

describe("peer stacks in the engine's terms", () => {
    it("leaves a peer stack that exists but has no outputs yet pending, with a warning", async () => {
        const run = await runProgram(program, WITH_PEER, { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: {} } });
        expect(run.outputs.pendingPeers).to.deep.equal([`${ORG}/cluster2`]);
        expect(run.outputs.federatedWith).to.deep.equal([]);
        expect(run.warnings).to.deep.equal([pendingPeerMessage(`${ORG}/cluster2`, 'has no "federation" output yet')]);
    });

    it("fails on a peer stack that was never created, with the engine's error, before declaring any Kubernetes resource", async () => {
        const { error, declared } = await runProgramExpectingError(program, WITH_PEER, { ownBundle: BUNDLE1 });
        // What the user sees: the SDK's "failed to read resource" naming the StackReference, then the backend's text.
        expect(error.message).to.equal(
            `failed to read resource #${ORG}/cluster2 'peer-organization-istio-spire-cluster2' [pulumi:pulumi:StackReference]: ` +
                `unknown stack "${ORG}/cluster2"`,
        );
        expect(unknownStackError(`${ORG}/cluster2`)).to.equal(`unknown stack "${ORG}/cluster2"`);
        expect(declared.filter((d) => d.type.startsWith("kubernetes:"))).to.deep.equal([]);
    });

    it("fails a preview the same way: the engine reads stack references in previews too", async () => {
        const { error } = await runProgramExpectingError(program, WITH_PEER, { preview: true });
        expect(error.message).to.contain(`unknown stack "${ORG}/cluster2"`);
    });
});

describe("reads of objects in the simulated cluster", () => {
    const readOf = (kind: "ConfigMap" | "Service", id: string) => async () => {
        const resource = kind === "ConfigMap" ? k8s.core.v1.ConfigMap.get("read", id) : k8s.core.v1.Service.get("read", id);
        return { metadata: resource.metadata };
    };

    it("fails a read of an object nothing created, with the engine's error", async () => {
        const { error } = await runProgramExpectingError(readOf("ConfigMap", "spire-server/spire-bundle"), {});
        expect(error.message).to.equal(
            `failed to read resource #spire-server/spire-bundle 'read' [kubernetes:core/v1:ConfigMap]: ${missingResourceError("spire-server/spire-bundle")}`,
        );
        expect(missingResourceError("spire-server/spire-bundle")).to.equal("resource 'spire-server/spire-bundle' does not exist");
    });

    it("reads the bundle ConfigMap once SPIRE has published it, and an object the world places in the cluster", async () => {
        const published = await runProgram(readOf("ConfigMap", "spire-server/spire-bundle"), {}, { ownBundle: BUNDLE1 });
        expect(published.outputs.metadata).to.deep.equal({ name: "spire-bundle", namespace: "spire-server" });
        const placed = await runProgram(readOf("Service", "ns/svc"), {}, { cluster: { [objectKey("Service", "ns", "svc")]: { spec: { type: "ClusterIP" } } } });
        expect(placed.outputs.metadata).to.deep.equal({ name: "svc", namespace: "ns" });
    });

    it("reads an object the program declared, and an object a declared Helm release's chart creates", async () => {
        const declared = await runProgram(async () => {
            const cm = new k8s.core.v1.ConfigMap("cm", { metadata: { name: "x", namespace: "ns" }, data: { a: "b" } });
            return { data: k8s.core.v1.ConfigMap.get("read", "ns/x", { dependsOn: [cm] }).data };
        }, {});
        expect(declared.outputs.data).to.deep.equal({ a: "b" });
        const values = { name: "istio-ingressgateway", service: { type: "LoadBalancer" } };
        expect(chartObjectsRead({ chart: "gateway", name: "istio-ingressgateway", namespace: "istio-system", values })).to.deep.equal([
            { kind: "Service", namespace: "istio-system", name: "istio-ingressgateway" },
        ]);
        const gateway = await runProgram(
            async () => {
                const release = new k8s.helm.v3.Release("gw", { name: "istio-ingressgateway", chart: "gateway", namespace: "istio-system", values });
                const service = k8s.core.v1.Service.get("read", "istio-system/istio-ingressgateway", { dependsOn: [release] });
                return { ingress: service.status.loadBalancer.ingress };
            },
            {},
            { gatewayIngress: [{ ip: "198.51.100.7" }] },
        );
        expect(gateway.outputs.ingress).to.deep.equal([{ ip: "198.51.100.7" }]);
    });

    it("creates nothing in a preview: a read with a known id of a declared object fails there", async () => {
        const { error } = await runProgramExpectingError(
            async () => {
                const cm = new k8s.core.v1.ConfigMap("cm", { metadata: { name: "x", namespace: "ns" } });
                return { data: k8s.core.v1.ConfigMap.get("read", "ns/x", { dependsOn: [cm] }).data };
            },
            {},
            { preview: true },
        );
        expect(error.message).to.contain(missingResourceError("ns/x"));
    });

    it("reads the gateway Service the mesh's gateway release creates", async () => {
        const run = await runProgram(program, CLUSTER1, { ownBundle: BUNDLE1 });
        const read = named(run.declared, "istio-gateway-service");
        expect([read.read, read.id]).to.deep.equal([true, "istio-system/istio-ingressgateway"]);
        const gateway = ofType(run.declared, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "gateway")!;
        expect(chartObjectsRead(gateway.inputs).map((o) => `${o.namespace}/${o.name}`)).to.deep.equal([read.id]);
    });
});
