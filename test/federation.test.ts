import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    bundleNotPublishedMessage,
    checkSpiffeBundle,
    deployTimePlaceholder,
    federatedTrustDomainName,
    isDeployTimePlaceholder,
    validatePeerExports,
} from "../components";
import {
    Declared,
    ProgramRun,
    UNKNOWN,
    World,
    mockUuid,
    named,
    ofType,
    runProgram,
    runProgramExpectingError,
    runningStack,
} from "../tools/mock-engine/harness";
import { fixtureBundle } from "./testStacks";

const program: () => Promise<any> = require("../index");

const CFTD = "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain";
const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const ORG = "organization/istio-spire";

const bundle = fixtureBundle;
const BUNDLE1 = bundle("cluster1.demo");
const BUNDLE2 = bundle("cluster2.demo");
const BUNDLE3 = bundle("cluster3.demo");

const stackConfig = (n: number, peers: number[]) => ({
    trustDomain: `cluster${n}.demo`,
    clusterName: `cluster${n}`,
    peers: peers.map((p) => ({ stack: `${ORG}/cluster${p}` })),
});

/** A peer's valid `federation` export. */
const exportOf = (n: number, extra: Record<string, unknown> = {}) => ({
    trustDomain: `cluster${n}.demo`,
    bundleEndpointUrl: `https://203.0.113.${n}:8443`,
    endpointSpiffeId: `spiffe://cluster${n}.demo/spire/server`,
    trustBundle: bundle(`cluster${n}.demo`),
    bundleEndpointProfile: "https_spiffe",
    ...extra,
});

function cftds(run: ProgramRun<any>): Declared[] {
    return ofType(run.declared, CFTD);
}

/** Everything a run declared, as comparable strings: type, name, inputs, dependencies, ignoreChanges. */
function shape(run: ProgramRun<any>): string[] {
    return run.declared.map((d) => JSON.stringify([d.type, d.name, d.inputs, [...d.dependsOn].sort(), d.ignoreChanges, d.read, d.id])).sort();
}

describe("the bundle endpoint and the federation export", () => {
    let run: ProgramRun<any>;
    before(async () => {
        run = await runProgram(program, stackConfig(1, []), { ownBundle: BUNDLE1 });
    });

    it("exposes only the SPIFFE bundle endpoint port 8443 of the spire-server pods, never the server API", () => {
        const service = named(run.declared, "federation-service").inputs;
        expect(service.metadata.name).to.equal("spire-server-bundle-endpoint");
        expect(service.metadata.namespace).to.equal("spire-server");
        expect(service.spec).to.deep.equal({
            type: "LoadBalancer",
            selector: { "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": "spire" },
            ports: [{ name: "federation", port: 8443, targetPort: "federation", protocol: "TCP" }],
        });
    });

    it("declares no other Service, so nothing else of SPIRE leaves the cluster", () => {
        const declaredServices = ofType(run.declared, "kubernetes:core/v1:Service").filter((s) => !s.read);
        expect(declaredServices.map((s) => s.name)).to.deep.equal(["federation-service"]);
    });

    it("reads the spire-bundle ConfigMap of the SPIRE namespace after the SPIRE release", () => {
        const read = named(run.declared, "federation-bundle");
        expect(read.type).to.equal("kubernetes:core/v1:ConfigMap");
        expect(read.read).to.equal(true);
        expect(read.id).to.equal("spire-server/spire-bundle");
        expect(read.dependsOn).to.include("spire-release");
    });

    it("exports trust domain, endpoint URL from the load balancer, the server's SPIFFE ID and the published bundle", () => {
        expect(run.outputs.federation).to.deep.equal({
            trustDomain: "cluster1.demo",
            bundleEndpointUrl: "https://203.0.113.10:8443",
            endpointSpiffeId: "spiffe://cluster1.demo/spire/server",
            trustBundle: BUNDLE1,
            bundleEndpointProfile: "https_spiffe",
            installationId: mockUuid("cluster1", "federation-installation-id", { namespaceUid: "uid-spire-server", caLineage: "" }),
        });
    });

    it("defers the bundle read in a preview of a first deployment, when the release does not exist yet", async () => {
        const preview = await runProgram(program, stackConfig(1, []), { preview: true });
        expect(named(preview.declared, "federation-bundle").id).to.equal(UNKNOWN);
    });

    it("uses a load balancer's host name, or brackets an IPv6 address", async () => {
        const byName = await runProgram(program, stackConfig(1, []), {
            ownBundle: BUNDLE1,
            bundleEndpointIngress: [{ hostname: "a1b2.elb.example.com" }],
        });
        expect(byName.outputs.federation.bundleEndpointUrl).to.equal("https://a1b2.elb.example.com:8443");
        const v6 = await runProgram(program, stackConfig(1, []), { ownBundle: BUNDLE1, bundleEndpointIngress: [{ ip: "2001:db8::10" }] });
        expect(v6.outputs.federation.bundleEndpointUrl).to.equal("https://[2001:db8::10]:8443");
    });

    it("exports a configured URL and profile for an endpoint fronted by DNS or an ingress", async () => {
        const fronted = await runProgram(
            program,
            {
                ...stackConfig(1, []),
                bundleEndpointServiceType: "ClusterIP",
                bundleEndpointUrl: "https://spire.cluster1.example.com",
                bundleEndpointProfile: "https_web",
                bundleEndpointTlsSecret: "spire-federation-tls",
            },
            { ownBundle: BUNDLE1 },
        );
        expect(named(fronted.declared, "federation-service").inputs.spec.type).to.equal("ClusterIP");
        expect(fronted.outputs.federation).to.deep.include({
            bundleEndpointUrl: "https://spire.cluster1.example.com",
            bundleEndpointProfile: "https_web",
        });
    });

    it("leaves the bundle out of the export until SPIRE has published it", async () => {
        const early = await runProgram(program, stackConfig(1, []), {});
        expect(early.outputs.federation).to.not.have.property("trustBundle");
    });
});

describe("federating two stacks: the bootstrap sequence", () => {
    let step1: ProgramRun<any>;
    let step2: ProgramRun<any>;
    let step3: ProgramRun<any>;

    before(async () => {
        // 1. cluster1 first: cluster2 was created (every stack is, before the first `pulumi up`) but never deployed.
        step1 = await runProgram(program, stackConfig(1, [2]), { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: {} } }, "cluster1");
        // 2. cluster2 reads cluster1's export.
        step2 = await runProgram(
            program,
            stackConfig(2, [1]),
            { ownBundle: BUNDLE2, bundleEndpointIngress: [{ ip: "203.0.113.20" }], stackOutputs: { [`${ORG}/cluster1`]: step1.outputs } },
            "cluster2",
        );
        // 3. cluster1 again, now reading cluster2's export.
        step3 = await runProgram(program, stackConfig(1, [2]), { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: step2.outputs } }, "cluster1");
    });

    it("step 1: reads the peer through a StackReference, warns that it is pending and declares nothing for it", () => {
        const refs = ofType(step1.declared, STACK_REFERENCE);
        expect(refs.map((r) => [r.name, r.inputs.name])).to.deep.equal([
            ["peer-organization-istio-spire-cluster2", `${ORG}/cluster2`],
            // The stack itself, for what it exported in its last deployment (see installation.test.ts).
            ["previous-deployment", runningStack("cluster1")],
        ]);
        expect(step1.warnings).to.deep.equal([
            'Peer stack "organization/istio-spire/cluster2" has no "federation" output yet: nothing is declared for it in this run. ' +
                "Run `pulumi up -s organization/istio-spire/cluster2`, then `pulumi up` on this stack again to federate with it.",
        ]);
        expect(cftds(step1)).to.deep.equal([]);
        expect(step1.outputs.pendingPeers).to.deep.equal([`${ORG}/cluster2`]);
        for (const id of ofType(step1.declared, CLUSTER_SPIFFE_ID)) {
            expect(id.inputs.spec, id.name).to.not.have.property("federatesWith");
        }
        expect(step1.outputs.istioOperator.spec.meshConfig).to.deep.equal({ trustDomain: "cluster1.demo" });
    });

    it("step 2: cluster2 declares exactly one ClusterFederatedTrustDomain for cluster1, from cluster1's export", () => {
        expect(step2.warnings).to.deep.equal([]);
        const [cftd] = cftds(step2);
        expect(cftds(step2)).to.have.length(1);
        expect(cftd.name).to.equal("peer-cluster1.demo-cftd");
        expect(cftd.parent).to.equal("peer-cluster1.demo");
        expect(cftd.inputs).to.deep.equal({
            apiVersion: "spire.spiffe.io/v1alpha1",
            kind: "ClusterFederatedTrustDomain",
            metadata: {
                name: "cluster1.demo",
                annotations: {
                    "istio-spire/installation-id": step2.outputs.federation.installationId,
                    "istio-spire/peer-installation-id": step1.outputs.federation.installationId,
                },
            },
            spec: {
                className: "spire-server-spire",
                trustDomain: "cluster1.demo",
                bundleEndpointURL: "https://203.0.113.10:8443",
                bundleEndpointProfile: { type: "https_spiffe", endpointSPIFFEID: "spiffe://cluster1.demo/spire/server" },
                trustDomainBundle: BUNDLE1,
            },
        });
    });

    it("step 3: cluster1 declares exactly one ClusterFederatedTrustDomain for cluster2, with cluster2's URL and bundle", () => {
        expect(step3.warnings).to.deep.equal([]);
        expect(cftds(step3).map((c) => c.inputs.spec)).to.deep.equal([
            {
                className: "spire-server-spire",
                trustDomain: "cluster2.demo",
                bundleEndpointURL: "https://203.0.113.20:8443",
                bundleEndpointProfile: { type: "https_spiffe", endpointSPIFFEID: "spiffe://cluster2.demo/spire/server" },
                trustDomainBundle: BUNDLE2,
            },
        ]);
        expect(step3.outputs.federatedWith).to.deep.equal(["cluster2.demo"]);
        expect(step3.outputs.pendingPeers).to.deep.equal([]);
    });

    it("ignores later changes to the bootstrap bundle, which SPIRE refreshes from the peer itself", () => {
        for (const cftd of [...cftds(step2), ...cftds(step3)]) {
            expect(cftd.ignoreChanges).to.deep.equal(["spec.trustDomainBundle"]);
        }
    });

    it("creates the ClusterFederatedTrustDomain after the SPIRE release (the controller manager's webhook)", () => {
        expect(cftds(step3)[0].dependsOn).to.include("spire-release");
    });

    it("makes workload and gateway SVIDs carry the peer's bundle (federatesWith), after the relationship exists", () => {
        for (const id of ofType(step3.declared, CLUSTER_SPIFFE_ID)) {
            expect(id.inputs.spec.federatesWith, id.name).to.deep.equal(["cluster2.demo"]);
            expect(id.dependsOn, id.name).to.include("peer-cluster2.demo-cftd");
        }
    });

    it("makes Istio accept the peer's trust domain (trustDomainAliases) while SPIRE serves every bundle as ROOTCA", () => {
        const istiod = ofType(step3.declared, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "istiod")!;
        expect(istiod.inputs.values.meshConfig).to.deep.equal({ trustDomain: "cluster1.demo", trustDomainAliases: ["cluster2.demo"] });
        expect(step3.outputs.istioOperator.spec.meshConfig.trustDomainAliases).to.deep.equal(["cluster2.demo"]);
        const spire = ofType(step3.declared, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "spire")!;
        expect(spire.inputs.values["spire-agent"].sds).to.deep.include({ defaultBundleName: "null", defaultAllBundlesName: "ROOTCA" });
    });

    it("step 4: running either stack again declares exactly the same resources and inputs (no changes)", async () => {
        const again1 = await runProgram(program, stackConfig(1, [2]), { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: step2.outputs } }, "cluster1");
        expect(shape(again1)).to.deep.equal(shape(step3));
        expect(JSON.stringify(again1.outputs)).to.equal(JSON.stringify(step3.outputs));
        const again2 = await runProgram(
            program,
            stackConfig(2, [1]),
            { ownBundle: BUNDLE2, bundleEndpointIngress: [{ ip: "203.0.113.20" }], stackOutputs: { [`${ORG}/cluster1`]: step3.outputs } },
            "cluster2",
        );
        expect(shape(again2)).to.deep.equal(shape(step2));
    });

    it("keeps the ClusterFederatedTrustDomain's name when the peer rotates its bundle, so it is updated (ignored), not replaced", async () => {
        const rotated = { ...step2.outputs.federation, trustBundle: BUNDLE3.replace(/cluster3/g, "cluster3") };
        const run = await runProgram(
            program,
            stackConfig(1, [2]),
            { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: { federation: { ...rotated, trustBundle: bundleWithExtraKey(BUNDLE2) } } } },
            "cluster1",
        );
        const [before] = cftds(step3);
        const [after] = cftds(run);
        expect(after.name).to.equal(before.name);
        expect(after.inputs.metadata).to.deep.equal(before.inputs.metadata);
        expect(after.ignoreChanges).to.deep.equal(["spec.trustDomainBundle"]);
    });
});

/** The same bundle with one more JWT authority, as after a key rotation. */
function bundleWithExtraKey(text: string): string {
    const doc = JSON.parse(text);
    doc.keys.push({ ...doc.keys[1], kid: "rotated" });
    doc.spiffe_sequence = 2;
    return JSON.stringify(doc, null, 4);
}

describe("federating three stacks pairwise", () => {
    it("declares one ClusterFederatedTrustDomain per peer and federates workloads and Istio with all of them", async () => {
        const run = await runProgram(
            program,
            stackConfig(1, [3, 2]),
            {
                ownBundle: BUNDLE1,
                stackOutputs: { [`${ORG}/cluster2`]: { federation: exportOf(2) }, [`${ORG}/cluster3`]: { federation: exportOf(3) } },
            },
            "cluster1",
        );
        expect(
            ofType(run.declared, STACK_REFERENCE)
                .filter((r) => r.name.startsWith("peer-"))
                .map((r) => r.inputs.name)
                .sort(),
        ).to.deep.equal([`${ORG}/cluster2`, `${ORG}/cluster3`]);
        expect(
            cftds(run)
                .map((c) => [c.inputs.metadata.name, c.inputs.spec.bundleEndpointURL, c.inputs.spec.trustDomainBundle])
                .sort(),
        ).to.deep.equal([
            ["cluster2.demo", "https://203.0.113.2:8443", BUNDLE2],
            ["cluster3.demo", "https://203.0.113.3:8443", BUNDLE3],
        ]);
        for (const id of ofType(run.declared, CLUSTER_SPIFFE_ID)) {
            expect(id.inputs.spec.federatesWith, id.name).to.deep.equal(["cluster2.demo", "cluster3.demo"]);
        }
        expect(run.outputs.istioOperator.spec.meshConfig.trustDomainAliases).to.deep.equal(["cluster2.demo", "cluster3.demo"]);
        expect(run.outputs.federatedWith).to.deep.equal(["cluster2.demo", "cluster3.demo"]);
    });

    it("declares the same thing whatever order the peers are listed in", async () => {
        const world = (): World => ({
            ownBundle: BUNDLE1,
            stackOutputs: { [`${ORG}/cluster2`]: { federation: exportOf(2) }, [`${ORG}/cluster3`]: { federation: exportOf(3) } },
        });
        const a = await runProgram(program, stackConfig(1, [2, 3]), world(), "cluster1");
        const b = await runProgram(program, stackConfig(1, [3, 2]), world(), "cluster1");
        const specs = (r: ProgramRun<any>) =>
            ofType(r.declared, CLUSTER_SPIFFE_ID)
                .concat(cftds(r))
                .map((d) => JSON.stringify(d.inputs))
                .sort();
        expect(specs(a)).to.deep.equal(specs(b));
        expect(JSON.stringify(a.outputs.istioOperator)).to.equal(JSON.stringify(b.outputs.istioOperator));
    });

    it("federates with the ready peer and leaves the pending one for the next run", async () => {
        const run = await runProgram(
            program,
            stackConfig(1, [2, 3]),
            { ownBundle: BUNDLE1, stackOutputs: { [`${ORG}/cluster2`]: { federation: exportOf(2) }, [`${ORG}/cluster3`]: {} } },
            "cluster1",
        );
        expect(cftds(run).map((c) => c.inputs.metadata.name)).to.deep.equal(["cluster2.demo"]);
        expect(run.warnings).to.have.length(1);
        expect(run.warnings[0]).to.contain('Peer stack "organization/istio-spire/cluster3" has no "federation" output yet');
    });
});

describe("the https_web profile", () => {
    it("federates with a Web PKI endpoint without endpoint SPIFFE ID or bootstrap bundle", async () => {
        const run = await runProgram(
            program,
            stackConfig(1, [2]),
            {
                ownBundle: BUNDLE1,
                stackOutputs: {
                    [`${ORG}/cluster2`]: {
                        federation: {
                            trustDomain: "cluster2.demo",
                            bundleEndpointUrl: "https://spire.cluster2.example.com",
                            endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
                            bundleEndpointProfile: "https_web",
                        },
                    },
                },
            },
            "cluster1",
        );
        expect(cftds(run).map((c) => c.inputs.spec)).to.deep.equal([
            {
                className: "spire-server-spire",
                trustDomain: "cluster2.demo",
                bundleEndpointURL: "https://spire.cluster2.example.com",
                bundleEndpointProfile: { type: "https_web" },
            },
        ]);
    });
});

describe("peer data is untrusted input", () => {
    const peerStack = `${ORG}/cluster2`;
    const refuse = async (federation: unknown, expected: string) => {
        const { error, declared } = await runProgramExpectingError(program, stackConfig(1, [2]), {
            ownBundle: BUNDLE1,
            stackOutputs: { [peerStack]: { federation } },
        });
        expect(error.message).to.equal(expected);
        // Only the StackReference was read; no Kubernetes resource was declared.
        expect(declared.map((d) => d.type)).to.deep.equal([STACK_REFERENCE]);
    };
    const prefix = `Invalid peer data: peer "${peerStack}" federation.`;

    it("refuses a malformed trust domain (the seed's 'cluster 2.demo')", () =>
        refuse(
            exportOf(2, { trustDomain: "cluster 2.demo" }),
            `${prefix}trustDomain: "cluster 2.demo" contains whitespace; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"`,
        ));

    it("refuses a peer that claims this stack's own trust domain", () =>
        refuse(
            exportOf(2, { trustDomain: "cluster1.demo", endpointSpiffeId: "spiffe://cluster1.demo/spire/server" }),
            `${prefix}trustDomain: "cluster1.demo" is this stack's own trust domain; a peer must have its own (is the peer listed by mistake?)`,
        ));

    it("refuses a plain-http bundle endpoint", () =>
        refuse(
            exportOf(2, { bundleEndpointUrl: "http://203.0.113.2:8443" }),
            `${prefix}bundleEndpointUrl: "http://203.0.113.2:8443" uses "http"; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"`,
        ));

    it("refuses a bundle endpoint URL with user info", () =>
        refuse(
            exportOf(2, { bundleEndpointUrl: "https://u:p@203.0.113.2:8443" }),
            `${prefix}bundleEndpointUrl: "https://u:p@203.0.113.2:8443" contains user info; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"`,
        ));

    it("refuses a bundle endpoint URL without a host", () =>
        refuse(
            exportOf(2, { bundleEndpointUrl: "https://:8443/bundle" }),
            `${prefix}bundleEndpointUrl: "https://:8443/bundle" has no host; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"`,
        ));

    it("refuses an endpoint SPIFFE ID outside the peer's trust domain", () =>
        refuse(
            exportOf(2, { endpointSpiffeId: "spiffe://cluster9.demo/spire/server" }),
            `${prefix}endpointSpiffeId: "spiffe://cluster9.demo/spire/server" belongs to trust domain "cluster9.demo", not "cluster2.demo"; expected an ID inside "cluster2.demo"`,
        ));

    it("refuses an endpoint SPIFFE ID that is not a SPIFFE ID", () =>
        refuse(
            exportOf(2, { endpointSpiffeId: "cluster2.demo/spire/server" }),
            `${prefix}endpointSpiffeId: "cluster2.demo/spire/server" does not start with "spiffe://"; expected a SPIFFE ID such as "spiffe://cluster2.demo/spire/server"`,
        ));

    it("refuses a bundle that is not JSON", () =>
        refuse(
            exportOf(2, { trustBundle: "-----BEGIN CERTIFICATE-----" }),
            `${prefix}trustBundle: "-----BEGIN CERTIFICATE-----" is not JSON; expected the SPIFFE bundle JSON that \`spire-server bundle show -format spiffe\` prints`,
        ));

    it("refuses a bundle without an X.509 authority", () => {
        const jwtOnly = JSON.stringify({ keys: [JSON.parse(BUNDLE2).keys[1]] });
        return refuse(
            exportOf(2, { trustBundle: jwtOnly }),
            `${prefix}trustBundle: ${JSON.stringify(jwtOnly).slice(0, 100)}…(${JSON.stringify(jwtOnly).length} characters) has no "x509-svid" key; expected at least one X.509 authority`,
        );
    });

    it("refuses an x509-svid key carrying two certificates", () => {
        const doc = JSON.parse(BUNDLE2);
        doc.keys[0].x5c = [doc.keys[0].x5c[0], doc.keys[0].x5c[0]];
        const text = JSON.stringify(doc);
        return refuse(
            exportOf(2, { trustBundle: text }),
            `${prefix}trustBundle: ${JSON.stringify(text).slice(0, 100)}…(${JSON.stringify(text).length} characters) has an x509-svid key #0 with 2 certificates in "x5c"; expected exactly 1`,
        );
    });

    it("refuses a bundle whose authority belongs to another trust domain", () => {
        const text = BUNDLE3;
        return refuse(
            exportOf(2, { trustBundle: text }),
            `${prefix}trustBundle: ${JSON.stringify(text).slice(0, 100)}…(${JSON.stringify(text).length} characters) has an x509-svid key #0 whose certificate names spiffe://cluster3.demo, not trust domain "cluster2.demo"`,
        );
    });

    it("refuses an export that is not an object", async () => {
        await refuse(
            "cluster2.demo",
            `Invalid peer data: peer "${peerStack}" federation: "cluster2.demo" is not an object; expected {trustDomain, bundleEndpointUrl, endpointSpiffeId, trustBundle}`,
        );
    });

    it("refuses two peer stacks that export the same trust domain", async () => {
        const { error } = await runProgramExpectingError(program, stackConfig(1, [2, 3]), {
            stackOutputs: { [`${ORG}/cluster2`]: { federation: exportOf(2) }, [`${ORG}/cluster3`]: { federation: exportOf(2) } },
        });
        expect(error.message).to.equal(
            `Invalid peer data: peer "${ORG}/cluster3" federation.trustDomain: "cluster2.demo" is also the trust domain of peer "${ORG}/cluster2"; each trust domain is federated once`,
        );
    });

    it("reports every problem of every peer at once, each naming its peer stack", () => {
        expect(() =>
            validatePeerExports("cluster1.demo", [
                { stack: "o/istio-spire/a", federation: exportOf(2, { bundleEndpointUrl: "ftp://x" }) },
                { stack: "o/istio-spire/b", federation: exportOf(3, { trustDomain: "Cluster3.demo" }) },
            ]),
        ).to.throw(
            [
                "Invalid peer data (2 problems):",
                '  - peer "o/istio-spire/a" federation.bundleEndpointUrl: "ftp://x" uses "ftp"; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
                '  - peer "o/istio-spire/b" federation.trustDomain: "Cluster3.demo" contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster3.demo"',
            ].join("\n"),
        );
    });
});

describe("deploy-time placeholders from an offline render", () => {
    const peerStack = `${ORG}/cluster2`;
    const rendered = exportOf(2, {
        bundleEndpointUrl: deployTimePlaceholder("cluster2 output federation.bundleEndpointUrl"),
        trustBundle: deployTimePlaceholder("cluster2 output federation.trustBundle"),
    });

    it("recognises only the exact marker form", () => {
        expect(isDeployTimePlaceholder("<deploy-time: cluster2 output federation.trustBundle>")).to.equal(true);
        expect(isDeployTimePlaceholder("<deploy-time: >")).to.equal(false);
        expect(isDeployTimePlaceholder("x <deploy-time: a>")).to.equal(false);
        expect(isDeployTimePlaceholder(42)).to.equal(false);
    });

    it("lets a preview declare federation with a rendered peer, carrying the placeholders into the object", async () => {
        const run = await runProgram(program, stackConfig(1, [2]), { preview: true, stackOutputs: { [peerStack]: { federation: rendered } } });
        const [cftd] = cftds(run);
        expect(cftd.inputs.spec.bundleEndpointURL).to.equal("<deploy-time: cluster2 output federation.bundleEndpointUrl>");
        expect(cftd.inputs.spec.trustDomainBundle).to.equal("<deploy-time: cluster2 output federation.trustBundle>");
        expect(run.warnings).to.deep.equal([]);
    });

    it("never lets a deployment use them: pulumi up refuses the peer and declares nothing", async () => {
        const { error, declared } = await runProgramExpectingError(program, stackConfig(1, [2]), {
            ownBundle: BUNDLE1,
            stackOutputs: { [peerStack]: { federation: rendered } },
        });
        const because = "is a placeholder from an offline render, not a deployed stack's value; deploy the peer stack and export its real value";
        expect(error.message).to.equal(
            [
                "Invalid peer data (2 problems):",
                `  - peer "${peerStack}" federation.bundleEndpointUrl: "<deploy-time: cluster2 output federation.bundleEndpointUrl>" ${because}`,
                `  - peer "${peerStack}" federation.trustBundle: "<deploy-time: cluster2 output federation.trustBundle>" ${because}`,
            ].join("\n"),
        );
        expect(declared.map((d) => d.type)).to.deep.equal([STACK_REFERENCE]);
    });

    it("accepts no placeholder where a value is always known (trust domain, endpoint SPIFFE ID)", () => {
        expect(() =>
            validatePeerExports("cluster1.demo", [{ stack: peerStack, federation: { ...rendered, endpointSpiffeId: deployTimePlaceholder("x") } }], {
                acceptPlaceholders: true,
            }),
        ).to.throw(`Invalid peer data: peer "${peerStack}" federation.endpointSpiffeId: "<deploy-time: x>"`);
    });
});

describe("SPIFFE bundles and federated trust domain names", () => {
    it("accepts the bundles SPIRE prints and a rotated bundle with two authorities", () => {
        expect(checkSpiffeBundle(BUNDLE2, "cluster2.demo")).to.equal(undefined);
        const doc = JSON.parse(BUNDLE2);
        doc.keys.push({ ...doc.keys[0] });
        expect(checkSpiffeBundle(JSON.stringify(doc), "cluster2.demo")).to.equal(undefined);
    });

    it("refuses certificates that are not X.509 and keys of unknown use", () => {
        const doc = JSON.parse(BUNDLE2);
        doc.keys[0].x5c = ["bm90IGEgY2VydGlmaWNhdGU="];
        expect(checkSpiffeBundle(JSON.stringify(doc))).to.equal("has an x509-svid key #0 whose certificate does not parse as X.509");
        const other = JSON.parse(BUNDLE2);
        other.keys[1].use = "sig";
        expect(checkSpiffeBundle(JSON.stringify(other))).to.equal('has a key #1 with use "sig"; expected "x509-svid" or "jwt-svid"');
        const noKid = JSON.parse(BUNDLE2);
        delete noKid.keys[1].kid;
        expect(checkSpiffeBundle(JSON.stringify(noKid))).to.equal('has a jwt-svid key #1 without "kid"');
    });

    it("names the object after the trust domain, or a stable hash when the trust domain is not a valid object name", () => {
        expect(federatedTrustDomainName("cluster2.demo")).to.equal("cluster2.demo");
        expect(federatedTrustDomainName("team_a.demo")).to.equal(federatedTrustDomainName("team_a.demo"));
        expect(federatedTrustDomainName("team_a.demo")).to.match(/^federated-[0-9a-f]{16}$/);
        expect(federatedTrustDomainName("team_a.demo")).to.not.equal(federatedTrustDomainName("team_b.demo"));
    });
});

describe("the federation procedure of docs/federation.md", () => {
    it("documents the three-step sequence and the bundle recovery command", () => {
        const page = fs.readFileSync(path.join(__dirname, "..", "docs", "federation.md"), "utf8");
        expect(page).to.contain("pulumi up -s cluster1");
        expect(page).to.contain("pulumi up -s cluster2");
        expect(page).to.contain("spire-server federation refresh");
    });

    it("creates every stack before the first pulumi up, and says what the first run does without SPIRE's bundle", () => {
        const page = fs.readFileSync(path.join(__dirname, "..", "docs", "federation.md"), "utf8");
        const create = page.indexOf("pulumi stack select --create cluster1 && pulumi stack select --create cluster2");
        expect(create).to.be.at.least(0);
        expect(create).to.be.below(page.indexOf("pulumi up -s cluster1    # 1."));
        expect(page).to.contain('unknown stack "<org>/istio-spire/<stack>"');
        // The warning is quoted as the program prints it.
        expect(page.replace(/\n/g, " ")).to.contain(bundleNotPublishedMessage("spire-server/spire-bundle"));
    });
});
