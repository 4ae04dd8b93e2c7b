import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { bootstrapOrder, loadProjectStacks, peerStackName } from "../tools/fleet/bootstrapOrder";
import { TEST_STACK_FILES } from "./testStacks";

const ORG = "organization/istio-spire";
const stack = (name: string, ...peers: string[]) => ({ name, peers: peers.map((peer) => `${ORG}/${peer}`) });

describe("the federation bootstrap order", () => {
    it("runs cluster1, cluster2, then cluster1 again for two clusters that federate with each other", () => {
        expect(bootstrapOrder([stack("cluster1", "cluster2"), stack("cluster2", "cluster1")])).to.deep.equal(["cluster1", "cluster2", "cluster1"]);
    });

    it("runs every stack once, then again each one that has a peer deployed after it, for three federated clusters", () => {
        const stacks = [stack("cluster1", "cluster2", "cluster3"), stack("cluster2", "cluster1", "cluster3"), stack("cluster3", "cluster1", "cluster2")];
        expect(bootstrapOrder(stacks)).to.deep.equal(["cluster1", "cluster2", "cluster3", "cluster1", "cluster2"]);
    });

    it("runs only the stacks whose later peers exist again, for a chain of three clusters", () => {
        const stacks = [stack("cluster1", "cluster2"), stack("cluster2", "cluster1", "cluster3"), stack("cluster3", "cluster2")];
        expect(bootstrapOrder(stacks)).to.deep.equal(["cluster1", "cluster2", "cluster3", "cluster1", "cluster2"]);
    });

    it("follows the given order rather than sorting", () => {
        expect(bootstrapOrder([stack("cluster2", "cluster1"), stack("cluster1", "cluster2")])).to.deep.equal(["cluster2", "cluster1", "cluster2"]);
    });

    it("runs each stack once when no stack has peers", () => {
        expect(bootstrapOrder([stack("cluster1"), stack("cluster2")])).to.deep.equal(["cluster1", "cluster2"]);
    });

    it("runs a stack once when its only peer is deployed before it", () => {
        expect(bootstrapOrder([stack("cluster1"), stack("cluster2", "cluster1")])).to.deep.equal(["cluster1", "cluster2"]);
    });

    it("ignores peers that are not among the stacks, of another project, or the stack itself", () => {
        const stacks = [
            { name: "cluster1", peers: [`${ORG}/cluster9`, "organization/other-project/cluster2", `${ORG}/cluster1`] },
            { name: "cluster2", peers: [] },
        ];
        expect(bootstrapOrder(stacks)).to.deep.equal(["cluster1", "cluster2"]);
    });

    it("returns no runs for no stacks and the same order on every call", () => {
        expect(bootstrapOrder([])).to.deep.equal([]);
        const stacks = [stack("cluster1", "cluster2"), stack("cluster2", "cluster1")];
        expect(bootstrapOrder(stacks)).to.deep.equal(bootstrapOrder(stacks));
    });

    it("refuses a stack listed twice", () => {
        expect(() => bootstrapOrder([stack("cluster1"), stack("cluster1")])).to.throw('Stack "cluster1" is listed twice');
    });

    it("names the stack of a peer by its last path segment when the project is istio-spire", () => {
        expect(peerStackName("organization/istio-spire/cluster2")).to.equal("cluster2");
        expect(peerStackName("acme/istio-spire/prod-eu")).to.equal("prod-eu");
        expect(peerStackName("acme/cluster2")).to.equal("cluster2");
        expect(peerStackName("cluster2")).to.equal("cluster2");
        expect(peerStackName("acme/other/cluster2")).to.equal(undefined);
        expect(peerStackName("a/istio-spire/b/c")).to.equal(undefined);
        expect(peerStackName("acme//cluster2")).to.equal(undefined);
    });
});

describe("loading the project's stacks", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-stacks-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: istio-spire\nruntime: nodejs\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads stack files like the federation seed's Pulumi.cluster1.yaml and Pulumi.cluster2.yaml, each naming the other as peer", () => {
        for (const [stack, config] of Object.entries(TEST_STACK_FILES)) {
            fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify({ config }));
        }
        expect(loadProjectStacks(dir)).to.deep.equal([
            { name: "cluster1", peers: ["organization/istio-spire/cluster2"] },
            { name: "cluster2", peers: ["organization/istio-spire/cluster1"] },
        ]);
    });

    it("reads the project's own stack files, whatever they are, and deploys each of them", () => {
        const stacks = loadProjectStacks(path.join(__dirname, ".."));
        expect(stacks).to.not.deep.equal([]);
        expect([...new Set(bootstrapOrder(stacks))].sort()).to.deep.equal(stacks.map((s) => s.name).sort());
    });

    it("sorts stacks by name, skips Pulumi.yaml and reads a stack without peers as having none", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.b.yaml"), "config:\n  istio-spire:peers:\n    - stack: organization/istio-spire/a\n");
        fs.writeFileSync(path.join(dir, "Pulumi.a.yaml"), "config:\n  istio-spire:trustDomain: a.demo\n");
        fs.writeFileSync(path.join(dir, "Pulumi.c.yaml"), "");
        fs.writeFileSync(path.join(dir, "notes.yaml"), "config: {}\n");
        expect(loadProjectStacks(dir)).to.deep.equal([
            { name: "a", peers: [] },
            { name: "b", peers: ["organization/istio-spire/a"] },
            { name: "c", peers: [] },
        ]);
    });

    it("refuses peers that are not a list of {stack}, naming the file", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.a.yaml"), "config:\n  istio-spire:peers: organization/istio-spire/b\n");
        expect(() => loadProjectStacks(dir)).to.throw('Pulumi.a.yaml: istio-spire:peers must be a list of {stack: "<org>/istio-spire/<stack>"}');
        fs.writeFileSync(path.join(dir, "Pulumi.a.yaml"), "config:\n  istio-spire:peers:\n    - name: b\n");
        expect(() => loadProjectStacks(dir)).to.throw('Pulumi.a.yaml: istio-spire:peers[0] has no stack name (expected {stack: "<org>/istio-spire/<stack>"})');
    });
});
