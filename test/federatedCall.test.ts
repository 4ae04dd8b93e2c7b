// The federated call of the runbook (seed 001, steps 4.5 and 4.6), declared by the two stacks' programs: curl-greeter
// in cluster1 calls Bookinfo in cluster2 through cluster2's ingress gateway, with addresses and identities passed
// between the stacks' outputs, never typed in.

import { expect } from "chai";
import { ProgramRun, named, ofType, runProgram } from "../tools/mock-engine/harness";
import { fixtureBundle } from "./testStacks";

const program: () => Promise<any> = require("../index");
const ORG = "organization/istio-spire";
const bundle = fixtureBundle;

const CLUSTER1 = {
    trustDomain: "cluster1.demo",
    clusterName: "cluster1",
    peers: [{ stack: `${ORG}/cluster2` }],
    samples: ["sleep-httpbin", "curl-greeter"],
};
const CLUSTER2 = { trustDomain: "cluster2.demo", clusterName: "cluster2", peers: [{ stack: `${ORG}/cluster1` }], samples: ["bookinfo"] };
const GATEWAY_ID_2 = "spiffe://cluster2.demo/ns/istio-system/sa/istio-ingressgateway-service-account";

function istioObjects(run: ProgramRun<any>): string[] {
    return run.declared
        .filter((d) => /^kubernetes:(networking|security)\.istio\.io\/v1:/.test(d.type) && d.inputs.kind !== "PeerAuthentication")
        .map((d) => `${d.inputs.kind} ${d.inputs.metadata.namespace}/${d.inputs.metadata.name}`)
        .sort();
}

describe("the federated call, through the three-step bootstrap", () => {
    let step1: ProgramRun<any>;
    let step2: ProgramRun<any>;
    let step3: ProgramRun<any>;
    before(async () => {
        // Every stack is created before the first `pulumi up`: cluster2 exists, with no outputs yet.
        step1 = await runProgram(program, CLUSTER1, { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: {} } }, "cluster1");
        step2 = await runProgram(
            program,
            CLUSTER2,
            { ownBundle: bundle("cluster2.demo"), gatewayIngress: [{ ip: "198.51.100.20" }], stackOutputs: { [`${ORG}/cluster1`]: step1.outputs } },
            "cluster2",
        );
        step3 = await runProgram(program, CLUSTER1, { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: step2.outputs } }, "cluster1");
    });

    it("step 1: cluster1 runs its samples, exports curl-greeter's identity, and calls nothing yet", () => {
        expect(step1.outputs.samples).to.deep.equal({ curlGreeter: { spiffeId: "spiffe://cluster1.demo/ns/default/sa/curl-greeter" } });
        expect(step1.outputs.federatedCalls).to.deep.equal([]);
        expect(istioObjects(step1)).to.deep.equal([]);
        expect(
            ofType(step1.declared, "kubernetes:apps/v1:Deployment")
                .map((d) => d.inputs.metadata.name)
                .sort(),
        ).to.deep.equal(["curl-greeter", "httpbin", "sleep"]);
    });

    it("step 2: cluster2 serves Bookinfo to cluster1's curl-greeter only, and exports its gateway", () => {
        expect(istioObjects(step2)).to.deep.equal([
            "AuthorizationPolicy istio-system/federated-bookinfo-cluster2-demo",
            "Gateway default/bookinfo-gateway",
            "Gateway istio-system/federated-bookinfo-cluster2-demo",
            "VirtualService default/bookinfo",
            "VirtualService istio-system/federated-bookinfo-cluster2-demo",
        ]);
        const policy = named(step2.declared, "bookinfo-federated-policy").inputs.spec;
        expect(policy.action).to.equal("DENY");
        expect(policy.rules).to.deep.equal([
            {
                from: [{ source: { notPrincipals: ["cluster1.demo/ns/default/sa/curl-greeter"] } }],
                to: [{ operation: { hosts: ["bookinfo.cluster2.demo", "bookinfo.cluster2.demo:*"] } }],
            },
        ]);
        expect(named(step2.declared, "bookinfo-federated-gateway").inputs.spec.servers).to.deep.equal([
            { port: { number: 443, name: "https-federated", protocol: "HTTPS" }, hosts: ["bookinfo.cluster2.demo"], tls: { mode: "ISTIO_MUTUAL" } },
        ]);
        expect(step2.outputs.samples).to.deep.equal({
            bookinfo: { host: "bookinfo.cluster2.demo", port: 443, gatewaySpiffeId: GATEWAY_ID_2, gatewayAddress: "198.51.100.20" },
        });
    });

    it("step 3: cluster1's sidecars reach cluster2's gateway at its exported address with mTLS, checking its SPIFFE ID", () => {
        expect(istioObjects(step3)).to.deep.equal([
            "DestinationRule default/federated-bookinfo-cluster2-demo",
            "ServiceEntry default/federated-bookinfo-cluster2-demo",
        ]);
        const entry = named(step3.declared, "bookinfo-cluster2.demo-service-entry").inputs.spec;
        expect([entry.hosts, entry.endpoints, entry.resolution, entry.location]).to.deep.equal([
            ["bookinfo.cluster2.demo"],
            [{ address: "198.51.100.20" }],
            "STATIC",
            "MESH_EXTERNAL",
        ]);
        expect(named(step3.declared, "bookinfo-cluster2.demo-destination-rule").inputs.spec.trafficPolicy.tls).to.deep.equal({
            mode: "ISTIO_MUTUAL",
            sni: "bookinfo.cluster2.demo",
            subjectAltNames: [GATEWAY_ID_2],
        });
        expect(step3.outputs.federatedCalls).to.deep.equal(["http://bookinfo.cluster2.demo/productpage"]);
    });

    it("opens nothing on cluster2's gateway while no peer runs a curl-greeter", async () => {
        const alone = await runProgram(
            program,
            CLUSTER2,
            { ownBundle: bundle("cluster2.demo"), stackOutputs: { [`${ORG}/cluster1`]: { ...step1.outputs, samples: {} } } },
            "cluster2",
        );
        expect(istioObjects(alone)).to.deep.equal(["Gateway default/bookinfo-gateway", "VirtualService default/bookinfo"]);
    });

    it("waits, with a warning, for a peer gateway that has no address yet", async () => {
        const { gatewayAddress, ...unaddressed } = step2.outputs.samples.bookinfo;
        expect(gatewayAddress).to.equal("198.51.100.20");
        const run = await runProgram(
            program,
            CLUSTER1,
            { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: { ...step2.outputs, samples: { bookinfo: unaddressed } } } },
            "cluster1",
        );
        expect(istioObjects(run)).to.deep.equal([]);
        expect(run.warnings).to.deep.equal([
            `Peer stack "${ORG}/cluster2": its Bookinfo ingress gateway has no load balancer address yet; run \`pulumi up -s ${ORG}/cluster2\` until it has one, then \`pulumi up\` here again.`,
        ]);
    });

    it("declares no sample unless config asks for it", async () => {
        const plain = await runProgram(program, { trustDomain: "cluster1.demo", clusterName: "cluster1" });
        expect(plain.declared.filter((d) => d.type.startsWith("istio-spire:samples:"))).to.deep.equal([]);
        expect(plain.outputs.samples).to.deep.equal({});
    });
});
