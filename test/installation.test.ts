// A rebuilt peer does not break federation for good: each stack exports an identity of its SPIRE installation
// (`federation.installationId`), a peer's ClusterFederatedTrustDomain is re-bootstrapped with the peer's current bundle
// when that identity changes, and rotations within one installation stay ignored. What the engine does with the
// declared options is modelled by plannedStep below, after pulumi/pulumi's step generator.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import {
    CONFIG_DEFAULTS,
    INSTALLATION_ANNOTATION_PATHS,
    LOCAL_INSTALLATION_ANNOTATION,
    PEER_INSTALLATION_ANNOTATION,
    caLineageAfter,
    caLineageChangedMessage,
    checkInstallationId,
    parseStackConfig,
    recordedCaLineage,
    spiffeBundleAuthorities,
    validatePeerExports,
} from "../components";
import { Declared, ProgramRun, UNKNOWN, World, mockUuid, named, ofType, runProgram, runningStack } from "../tools/mock-engine/harness";
import { fixtureBundle } from "./testStacks";
import { RANDOM_REPLACES, plannedStep } from "./engineModel";

const program: () => Promise<any> = require("../index");

const STACK_REFERENCE = "pulumi:pulumi:StackReference";
const RANDOM_UUID = "random:index/randomUuid:RandomUuid";
const ORG = "organization/istio-spire";

/** The bundles of one trust domain: an installation's, the same CA lineage during a rotation, and another installation's. */
function bundles(trustDomain: string) {
    const original = fixtureBundle(trustDomain);
    const rebuilt = fs.readFileSync(path.join(__dirname, "fixtures", `${trustDomain}.rebuilt.bundle.json`), "utf8");
    // During a rotation SPIRE publishes the active and the prepared authorities side by side (X.509 and JWT).
    const rotated = JSON.stringify({
        keys: [...JSON.parse(original).keys, ...JSON.parse(rebuilt).keys],
        spiffe_refresh_hint: 300,
        spiffe_sequence: 2,
    });
    return { original, rotated, rebuilt };
}
const C1 = bundles("cluster1.demo");

const stackConfig = (n: number, peers: number[], extra: Record<string, unknown> = {}) => ({
    trustDomain: `cluster${n}.demo`,
    clusterName: `cluster${n}`,
    peers: peers.map((p) => ({ stack: `${ORG}/cluster${p}` })),
    ...extra,
});

/** cluster1's `federation` export as a peer reads it. */
const cluster1Export = (trustBundle: string, installationId?: string) => ({
    trustDomain: "cluster1.demo",
    bundleEndpointUrl: "https://203.0.113.10:8443",
    endpointSpiffeId: "spiffe://cluster1.demo/spire/server",
    trustBundle,
    bundleEndpointProfile: "https_spiffe",
    ...(installationId !== undefined ? { installationId } : {}),
});

describe("the engine model (plannedStep)", () => {
    const declared = (inputs: any, options: Partial<Declared> = {}): Declared =>
        ({ inputs, ignoreChanges: [], replaceOnChanges: [], deleteBeforeReplace: false, ...options }) as Declared;

    it("applies ignoreChanges before diffing, and carries the ignored old value into an update", () => {
        const step = plannedStep(declared({ a: 1, b: "old" }), declared({ a: 2, b: "new" }, { ignoreChanges: ["b"] }));
        expect(step).to.deep.equal({ op: "update", deleteBeforeReplace: false, inputs: { a: 2, b: "old" }, changed: ["a"] });
    });

    it("creates a replacement from the program's own inputs, ignored properties included", () => {
        const goal = declared(
            { metadata: { annotations: { x: "2" } }, spec: { b: "new" } },
            { ignoreChanges: ["spec.b"], replaceOnChanges: ['metadata.annotations["x"]'], deleteBeforeReplace: true },
        );
        const step = plannedStep(declared({ metadata: { annotations: { x: "1" } }, spec: { b: "old" } }), goal);
        expect(step).to.deep.equal({ op: "replace", deleteBeforeReplace: true, inputs: goal.inputs, changed: ["metadata.annotations.x"] });
    });

    it("matches replaceOnChanges against the changed path, not a parent map added as a whole", () => {
        const goal = declared({ metadata: { annotations: { x: "1" } } }, { replaceOnChanges: ['metadata.annotations["x"]'] });
        expect(plannedStep(declared({ metadata: {} }), goal).op).to.equal("update");
        expect(plannedStep(declared({ metadata: { annotations: {} } }), goal).op).to.equal("replace");
    });
});

// ---------------------------------------------------------------------------------------------------------------

describe("the installation id of a stack's SPIRE", () => {
    const self = runningStack("cluster1");
    const KEEPERS = { namespaceUid: "uid-spire-server", caLineage: "" };
    let first: ProgramRun<any>;
    before(async () => {
        first = await runProgram(program, stackConfig(1, []), { ownBundle: C1.original });
    });

    it("is a RandomUuid of the bundle endpoint whose keepers are the SPIRE namespace's uid and the CA lineage", () => {
        const uuid = named(first.declared, "federation-installation-id");
        expect(uuid.type).to.equal(RANDOM_UUID);
        expect(uuid.parent).to.equal("federation");
        expect(uuid.inputs).to.deep.equal({ keepers: KEEPERS });
        expect(uuid.dependsOn).to.include.members(["spire-namespace", "federation-bundle"]);
    });

    it("is exported in federation and, with its CA lineage, as spireInstallation", () => {
        const id = mockUuid("cluster1", "federation-installation-id", KEEPERS);
        expect(first.outputs.federation.installationId).to.equal(id);
        expect(first.outputs.spireInstallation).to.deep.equal({ id, caLineage: "" });
    });

    it("reads what the stack exported last time through a StackReference to the stack itself", async () => {
        const ref = named(first.declared, "previous-deployment");
        expect([ref.type, ref.inputs.name]).to.deep.equal([STACK_REFERENCE, self]);
        // A stack that was never deployed has no outputs: nothing to compare with, and no warning.
        expect(first.warnings).to.deep.equal([]);
    });

    it("stays the same across a CA rotation: the published bundle shares an authority with the exported one", async () => {
        const next = await runProgram(program, stackConfig(1, []), { ownBundle: C1.rotated, stackOutputs: { [self]: first.outputs } });
        const step = plannedStep(named(first.declared, "federation-installation-id"), named(next.declared, "federation-installation-id"), RANDOM_REPLACES);
        expect(step.op).to.equal("same");
        expect(next.outputs.federation.installationId).to.equal(first.outputs.federation.installationId);
        expect(next.outputs.federation.trustBundle).to.equal(C1.rotated);
        expect(next.warnings).to.deep.equal([]);
    });

    describe("when the SPIRE server lost its data (a bundle sharing no key with the exported one)", () => {
        let lost: ProgramRun<any>;
        const lineage = caLineageAfter({ federation: { trustBundle: C1.original } }, C1.rebuilt).caLineage;
        before(async () => {
            lost = await runProgram(program, stackConfig(1, []), { ownBundle: C1.rebuilt, stackOutputs: { [self]: first.outputs } });
        });

        it("starts a new CA lineage, which replaces the RandomUuid: a new installation id", () => {
            expect(lineage).to.match(/^ca-[0-9a-f]{16}$/);
            const uuid = named(lost.declared, "federation-installation-id");
            expect(uuid.inputs.keepers).to.deep.equal({ namespaceUid: "uid-spire-server", caLineage: lineage });
            const step = plannedStep(named(first.declared, "federation-installation-id"), uuid, RANDOM_REPLACES);
            expect([step.op, step.changed]).to.deep.equal(["replace", ["keepers.caLineage"]]);
            expect(lost.outputs.federation.installationId).to.not.equal(first.outputs.federation.installationId);
            expect(lost.outputs.spireInstallation).to.deep.equal({ id: lost.outputs.federation.installationId, caLineage: lineage });
        });

        it("warns, naming what happened and what the peers must do", () => {
            expect(lost.warnings).to.deep.equal([caLineageChangedMessage("spire-server/spire-bundle", "cluster1.demo")]);
            expect(lost.warnings[0]).to.equal(
                "SPIRE's trust bundle (ConfigMap spire-server/spire-bundle) shares no key with the bundle this stack exported in its last deployment: " +
                    "the SPIRE server lost its data (CA keys, datastore) or was reinstalled, or this stack was not deployed for longer than a CA rotation. " +
                    "`pulumi up` gives this installation a new federation.installationId and re-bootstraps this stack's ClusterFederatedTrustDomains; " +
                    "run `pulumi up` on every peer stack afterwards so that each re-bootstraps its ClusterFederatedTrustDomain for cluster1.demo with the new bundle.",
            );
        });

        it("keeps the new lineage in the next deployments (it is recorded in spireInstallation)", async () => {
            const after = await runProgram(program, stackConfig(1, []), { ownBundle: C1.rebuilt, stackOutputs: { [self]: lost.outputs } });
            const step = plannedStep(named(lost.declared, "federation-installation-id"), named(after.declared, "federation-installation-id"), RANDOM_REPLACES);
            expect(step.op).to.equal("same");
            expect(after.outputs.spireInstallation).to.deep.equal(lost.outputs.spireInstallation);
            expect(after.warnings).to.deep.equal([]);
        });

        it("re-bootstraps this stack's own ClusterFederatedTrustDomains, which its new SPIRE rebuilds from their bundles", async () => {
            const peer = bundles("cluster2.demo");
            const world = (ownBundle: string, previous: unknown, peerBundle: string): World => ({
                ownBundle,
                stackOutputs: {
                    ...(previous !== undefined ? { [self]: previous as Record<string, unknown> } : {}),
                    [`${ORG}/cluster2`]: {
                        federation: {
                            trustDomain: "cluster2.demo",
                            bundleEndpointUrl: "https://203.0.113.20:8443",
                            endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
                            trustBundle: peerBundle,
                            installationId: "cluster2-installation",
                        },
                    },
                },
            });
            const before = await runProgram(program, stackConfig(1, [2]), world(C1.original, undefined, peer.original));
            // cluster2 rotated since: the object holds the old bootstrap bundle, SPIRE had refreshed past it.
            const now = await runProgram(program, stackConfig(1, [2]), world(C1.rebuilt, before.outputs, peer.rotated));
            const step = plannedStep(named(before.declared, "peer-cluster2.demo-cftd"), named(now.declared, "peer-cluster2.demo-cftd"));
            expect([step.op, step.deleteBeforeReplace, step.changed]).to.deep.equal([
                "replace",
                true,
                [`metadata.annotations.${LOCAL_INSTALLATION_ANNOTATION}`],
            ]);
            expect(step.inputs.spec.trustDomainBundle).to.equal(peer.rotated);
        });
    });

    it("changes when the SPIRE namespace is recreated (Kubernetes gives the new namespace another uid)", async () => {
        const recreated = await runProgram(program, stackConfig(1, []), {
            ownBundle: C1.original,
            stackOutputs: { [self]: first.outputs },
            namespaceUids: { "spire-server": "uid-recreated" },
        });
        const step = plannedStep(named(first.declared, "federation-installation-id"), named(recreated.declared, "federation-installation-id"), RANDOM_REPLACES);
        expect([step.op, step.changed]).to.deep.equal(["replace", ["keepers.namespaceUid"]]);
        expect(recreated.outputs.federation.installationId).to.not.equal(first.outputs.federation.installationId);
    });

    it("in a preview keeps the recorded lineage: no unknown keeper, so no replacement the update would not make", async () => {
        // A preview that changes the spire release cannot read the bundle (the read waits for the release).
        const preview = await runProgram(program, stackConfig(1, []), {
            preview: true,
            stackOutputs: {
                [self]: { ...first.outputs, spireInstallation: { id: first.outputs.federation.installationId, caLineage: "ca-0123456789abcdef" } },
            },
        });
        expect(named(preview.declared, "federation-bundle").id).to.equal(UNKNOWN);
        expect(named(preview.declared, "federation-installation-id").inputs.keepers.caLineage).to.equal("ca-0123456789abcdef");
    });
});

describe("detecting a lost CA from two bundles", () => {
    it("names each authority by its certificate digest or JWT key id", () => {
        // sha256sum of the fixture certificate (x5c[0] decoded), computed outside the program.
        expect(spiffeBundleAuthorities(C1.original)).to.deep.equal([
            "jwt:f354b6b433e171ee3472103d3f46dd2e",
            "x509:a69bf387bf042fab61f930672190de4264a5f64d0db291f514bd8ddfd14a4f4a",
        ]);
        expect(spiffeBundleAuthorities(C1.rotated)).to.have.length(4);
        expect(spiffeBundleAuthorities("<deploy-time: cluster1 output federation.trustBundle>")).to.equal(undefined);
        expect(spiffeBundleAuthorities(undefined)).to.equal(undefined);
    });

    it("keeps the lineage across a rotation and starts a new one for a bundle sharing no authority", () => {
        const previous = { federation: { trustBundle: C1.rotated }, spireInstallation: { id: "x", caLineage: "ca-0123456789abcdef" } };
        expect(caLineageAfter(previous, C1.original)).to.deep.equal({ caLineage: "ca-0123456789abcdef", lostData: false });
        expect(caLineageAfter(previous, C1.rebuilt)).to.deep.equal({ caLineage: "ca-0123456789abcdef", lostData: false });
        const lost = caLineageAfter({ federation: { trustBundle: C1.original } }, C1.rebuilt);
        expect(lost.lostData).to.equal(true);
        expect(lost.caLineage).to.equal(
            `ca-${require("crypto").createHash("sha256").update(spiffeBundleAuthorities(C1.rebuilt)!.join("\n")).digest("hex").slice(0, 16)}`,
        );
    });

    it("cannot tell without both bundles: first deployment, bundle not published yet, an offline render's placeholder", () => {
        expect(caLineageAfter({}, C1.rebuilt)).to.deep.equal({ caLineage: "", lostData: false });
        expect(caLineageAfter({ federation: { trustBundle: C1.original } }, undefined)).to.deep.equal({ caLineage: "", lostData: false });
        expect(caLineageAfter({ federation: { trustBundle: "<deploy-time: x>" } }, C1.rebuilt)).to.deep.equal({ caLineage: "", lostData: false });
    });

    it("ignores a recorded lineage that is not this program's", () => {
        expect(recordedCaLineage({ spireInstallation: { caLineage: "ca-0123456789abcdef" } })).to.equal("ca-0123456789abcdef");
        expect(recordedCaLineage({ spireInstallation: { caLineage: "anything" } })).to.equal("");
        expect(recordedCaLineage({ spireInstallation: "x" })).to.equal("");
        expect(recordedCaLineage({})).to.equal("");
    });
});

// ---------------------------------------------------------------------------------------------------------------

describe("a peer's ClusterFederatedTrustDomain across the peer's installations", () => {
    const run = (federation: unknown) =>
        runProgram(
            program,
            stackConfig(2, [1]),
            { ownBundle: fixtureBundle("cluster2.demo"), stackOutputs: { [`${ORG}/cluster1`]: { federation } } },
            "cluster2",
        );
    let bootstrap: ProgramRun<any>;
    let cftd: Declared;
    before(async () => {
        bootstrap = await run(cluster1Export(C1.original, "installation-a"));
        cftd = named(bootstrap.declared, "peer-cluster1.demo-cftd");
    });

    it("records both installations in annotations, replaced on change, deleted before created, bundle changes ignored", () => {
        expect(cftd.inputs.metadata).to.deep.equal({
            name: "cluster1.demo",
            annotations: {
                [LOCAL_INSTALLATION_ANNOTATION]: bootstrap.outputs.federation.installationId,
                [PEER_INSTALLATION_ANNOTATION]: "installation-a",
            },
        });
        expect(cftd.replaceOnChanges).to.deep.equal([
            'metadata.annotations["istio-spire/peer-installation-id"]',
            'metadata.annotations["istio-spire/installation-id"]',
        ]);
        expect(INSTALLATION_ANNOTATION_PATHS).to.deep.equal(cftd.replaceOnChanges);
        expect(cftd.deleteBeforeReplace).to.equal(true);
        expect(cftd.ignoreChanges).to.deep.equal(["spec.trustDomainBundle"]);
        expect(cftd.dependsOn).to.include("federation-installation-id");
    });

    it("changes nothing when the peer rotates its CA (same installation, new bundle)", async () => {
        const rotated = await run(cluster1Export(C1.rotated, "installation-a"));
        const next = named(rotated.declared, "peer-cluster1.demo-cftd");
        expect(next.inputs.spec.trustDomainBundle).to.equal(C1.rotated);
        expect(plannedStep(cftd, next)).to.deep.equal({ op: "same", deleteBeforeReplace: false, inputs: cftd.inputs, changed: [] });
    });

    it("re-bootstraps when the peer is recreated: delete, then create with the peer's current bundle", async () => {
        const recreated = await run(cluster1Export(C1.rebuilt, "installation-b"));
        const step = plannedStep(cftd, named(recreated.declared, "peer-cluster1.demo-cftd"));
        expect([step.op, step.deleteBeforeReplace, step.changed]).to.deep.equal(["replace", true, [`metadata.annotations.${PEER_INSTALLATION_ANNOTATION}`]]);
        expect(step.inputs.spec.trustDomainBundle).to.equal(C1.rebuilt);
        expect(step.inputs.metadata.annotations[PEER_INSTALLATION_ANNOTATION]).to.equal("installation-b");
    });

    it("federates with a peer that exports no installation id yet (an older version), its identity unknown", async () => {
        const old = await run(cluster1Export(C1.original));
        const oldCftd = named(old.declared, "peer-cluster1.demo-cftd");
        expect(oldCftd.inputs.metadata.annotations).to.deep.equal({ [LOCAL_INSTALLATION_ANNOTATION]: old.outputs.federation.installationId });
        expect(oldCftd.inputs.spec.trustDomainBundle).to.equal(C1.original);
        // Once the peer exports one, the object is re-bootstrapped once, with the peer's bundle of that time.
        const step = plannedStep(oldCftd, cftd);
        expect([step.op, step.deleteBeforeReplace]).to.deep.equal(["replace", true]);
    });

    it("only adds the annotations to an object an older version of this program declared (no re-bootstrap)", () => {
        const { annotations, ...metadata } = cftd.inputs.metadata;
        const older = { ...cftd, inputs: { ...cftd.inputs, metadata }, replaceOnChanges: [], deleteBeforeReplace: false } as Declared;
        expect(annotations).to.not.equal(undefined);
        expect(plannedStep(older, cftd)).to.deep.include({ op: "update", changed: ["metadata.annotations"] });
    });
});

describe("a peer's installation id is untrusted input", () => {
    const peerStack = `${ORG}/cluster1`;
    const validate = (installationId: unknown, acceptPlaceholders = false) =>
        validatePeerExports("cluster2.demo", [{ stack: peerStack, federation: { ...cluster1Export(C1.original), installationId } }], { acceptPlaceholders });

    it("refuses what is not an opaque id, naming the peer stack and the field", () => {
        expect(() => validate("a b")).to.throw(
            `Invalid peer data: peer "${peerStack}" federation.installationId: "a b" is not an installation id; ` +
                'expected the opaque id the peer exports, of letters, digits, ".", "_" and "-", e.g. "2f1c7a9e-4b0d-4c6e-9a53-7d1e2b8c4f60"',
        );
        expect(checkInstallationId(42)).to.match(/^is not a non-empty string; /);
        expect(checkInstallationId("")).to.match(/^is not a non-empty string; /);
        expect(checkInstallationId("x".repeat(64))).to.equal("is 64 characters long; an installation id is at most 63 characters");
        expect(checkInstallationId("2f1c7a9e-4b0d-4c6e-9a53-7d1e2b8c4f60")).to.equal(undefined);
    });

    it("accepts an absent or null id (unknown identity), and an offline render's placeholder only in a preview", () => {
        expect(validate(undefined).ready[0].federation).to.not.have.property("installationId");
        expect(validate(null).ready[0].federation).to.not.have.property("installationId");
        const placeholder = "<deploy-time: cluster1 output federation.installationId>";
        expect(validate(placeholder, true).ready[0].federation.installationId).to.equal(placeholder);
        expect(() => validate(placeholder)).to.throw(
            `Invalid peer data: peer "${peerStack}" federation.installationId: "${placeholder}" is a placeholder from an offline render`,
        );
    });
});

// ---------------------------------------------------------------------------------------------------------------

describe("protection of the SPIRE namespace and release (CA keys, datastore)", () => {
    it("protects both by default, and nothing else", async () => {
        const run = await runProgram(program, stackConfig(1, []), { ownBundle: C1.original });
        expect(
            run.declared
                .filter((d) => d.protect)
                .map((d) => d.name)
                .sort(),
        ).to.deep.equal(["spire-namespace", "spire-release"]);
        expect(CONFIG_DEFAULTS.protectSpire).to.equal(true);
    });

    it("lets a user turn it off on purpose with protectSpire: false", async () => {
        const run = await runProgram(program, stackConfig(1, [], { protectSpire: false }), { ownBundle: C1.original });
        expect(run.declared.filter((d) => d.protect)).to.deep.equal([]);
    });

    it("refuses a protectSpire that is not a boolean", () => {
        const raw: Record<string, string> = { trustDomain: "cluster1.demo", clusterName: "cluster1", protectSpire: "yes" };
        expect(() => parseStackConfig((k) => raw[k], Object.keys(raw))).to.throw(
            'Invalid configuration: protectSpire: "yes" is not a boolean; expected "true" or "false"',
        );
    });

    it("declares no other random resource and no other reference to this stack", async () => {
        const run = await runProgram(program, stackConfig(1, []), { ownBundle: C1.original });
        expect(ofType(run.declared, RANDOM_UUID).map((d) => d.name)).to.deep.equal(["federation-installation-id"]);
        expect(ofType(run.declared, STACK_REFERENCE).map((d) => d.name)).to.deep.equal(["previous-deployment"]);
    });
});
