// A deployed stack's next `pulumi up` with this version of the program: held against the declarations the previous
// release made for the same configuration (test/fixtures/previous-deployment, recorded by test/previousDeployment.ts),
// with the engine's step model (engineModel.ts). New settings must never replace or recreate what a deployed stack
// has, and with the defaults nothing changes at all.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { Declared, NO_OPTIONS, runProgram } from "../tools/mock-engine/harness";
import { RANDOM_REPLACES, manifestObjectNames, plannedStep, providerDefaultNamespace } from "./engineModel";
import { RecordedResource, bundleFixture, recordedWorld } from "./previousDeployment";

const program: () => Promise<any> = require("../index");
const FIXTURES = path.join(__dirname, "fixtures", "previous-deployment");

/**
 * The properties whose change the provider answers with a replacement: a Helm release's name and namespace
 * (pulumi-kubernetes provider/pkg/provider/helm_release.go Diff, forceNewFields), a Kubernetes object's name and
 * namespace (provider/pkg/provider/provider.go Diff: a new name or namespace is another object), a RandomUuid's keepers,
 * a StackReference's stack name, anything of a @pulumi/tls resource (every input of PrivateKey and SelfSignedCert
 * forces a new one in terraform-provider-tls), and a Kubernetes provider's cluster settings (pulumi-kubernetes
 * provider/pkg/provider/provider.go DiffConfig: a replacement only when kubeconfig, context or cluster change the
 * active cluster, or clusterIdentifier or renderYamlToDirectory change; `namespace` is an update in place).
 */
function providerReplaces(type: string): string[] {
    if (type === "pulumi:providers:kubernetes") {
        return ["kubeconfig", "context", "cluster", "clusterIdentifier", "renderYamlToDirectory"];
    }
    if (type === "kubernetes:helm.sh/v3:Release") {
        return ["name", "namespace"];
    }
    if (type.startsWith("kubernetes:")) {
        return ["metadata.name", "metadata.namespace"];
    }
    if (type === "random:index/randomUuid:RandomUuid") {
        return RANDOM_REPLACES;
    }
    if (type === "pulumi:pulumi:StackReference") {
        return ["name"];
    }
    return [""];
}

interface Previous {
    release: string;
    config: Record<string, unknown>;
    outputs: Record<string, unknown>;
    resources: RecordedResource[];
}

function loadPrevious(name: string): Previous {
    return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8"));
}

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

/** What the engine does to each resource of the previous deployment, and which resources the new run adds. */
async function upgrade(name: string, extraConfig: Record<string, unknown> = {}) {
    const previous = loadPrevious(name);
    const run = await runProgram(
        program,
        { ...previous.config, ...extraConfig },
        recordedWorld(bundleFixture("cluster1.demo"), bundleFixture("cluster2.demo"), previous.outputs),
    );
    const now = new Map(run.declared.filter((d) => !d.type.startsWith("istio-spire:")).map((d) => [key(d), d]));
    const steps = previous.resources.map((old) => {
        const goal = now.get(key(old));
        if (goal === undefined) {
            return { resource: key(old), op: "delete", changed: [] as string[] };
        }
        const step = plannedStep({ ...NO_OPTIONS, ...old } as unknown as Declared, goal, providerReplaces(old.type));
        return { resource: key(old), op: step.op, changed: step.changed };
    });
    const before = new Set(previous.resources.map(key));
    const added = [...now.keys()].filter((k) => !before.has(k));
    return { steps, added, run };
}

describe("a stack deployed with the previous release, upgraded to this one", () => {
    for (const name of ["defaults", "everything"]) {
        describe(`configuration "${name}"`, () => {
            it("was recorded from the previous release, with its outputs", () => {
                const previous = loadPrevious(name);
                expect(previous.release).to.equal("08c5330");
                expect(previous.resources.length).to.be.above(10);
                expect(previous.outputs).to.have.property("federation");
                expect(previous.outputs).to.not.have.property("spireServer");
            });

            it("replaces, recreates and deletes nothing", async () => {
                const { steps } = await upgrade(name);
                expect(steps.filter((s) => s.op === "replace" || s.op === "delete")).to.deep.equal([]);
            });
        });
    }

    it("with the default settings, changes nothing and adds nothing", async () => {
        const { steps, added, run } = await upgrade("defaults");
        expect(steps.filter((s) => s.op !== "same")).to.deep.equal([]);
        expect(added).to.deep.equal([]);
        // A deployment without the spireServer output ran SQLite and no upstream authority: no change to acknowledge.
        expect(run.warnings).to.deep.equal([]);
        expect(run.outputs.spireServer).to.deep.equal({ replicas: 1, dataStore: { type: "sqlite3" }, upstreamAuthority: { type: "none" } });
    });

    it("with every optional part on, changes exactly the releases that gain SPIRE telemetry and its alerts, and the provider's default namespace, in place", async () => {
        const { steps, added } = await upgrade("everything");
        expect(Object.fromEntries(steps.filter((s) => s.op === "update").map((s) => [s.resource, s.changed]))).to.deep.equal(EVERYTHING_UPDATES);
        expect(added).to.deep.equal([]);
    });

    it("with Bookinfo, fixes the provider's default namespace to the one the deployed manifest objects are named after", async () => {
        // The previous release's provider had no namespace: under a kube context without one (the recorded stack's),
        // ConfigFile v2 named Bookinfo's objects after "default", the namespace this release sets; no object is renamed,
        // so the engine neither creates nor deletes one (no aliases needed).
        const previous = loadPrevious("everything");
        const { run } = await upgrade("everything");
        const old = previous.resources.find((r) => r.type === "pulumi:providers:kubernetes") as { inputs: { namespace?: string } };
        const now = run.declared.find((d) => d.type === "pulumi:providers:kubernetes")!;
        expect([old.inputs, now.inputs]).to.deep.equal([{ context: "cluster1" }, { context: "cluster1", namespace: "default" }]);
        const before = manifestObjectNames("bookinfo-manifest", providerDefaultNamespace(old.inputs, undefined));
        expect(manifestObjectNames("bookinfo-manifest", providerDefaultNamespace(now.inputs, "team-a"))).to.deep.equal(before);
    });

    it("asks for an acknowledgement before it moves a deployed SPIRE to another datastore or upstream authority", async () => {
        const previous = loadPrevious("defaults");
        const error = await runProgram(
            program,
            { ...previous.config, spireUpstreamAuthority: { type: "generated" } },
            recordedWorld(bundleFixture("cluster1.demo"), bundleFixture("cluster2.demo"), previous.outputs),
        ).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error?.message).to.contain(
            'spireChangeAcknowledged: "" does not acknowledge the change of this deployed SPIRE\'s identity plane: upstreamAuthority none -> generated:',
        );
        expect(error?.message).to.contain("`pulumi config set spireChangeAcknowledged 'upstreamAuthority none -> generated'`");
    });
});

/**
 * What this release updates in place in configuration "everything" (observability and Grafana on): SPIRE's
 * telemetry in the spire release (a rolling restart of the server and agents, docs/observability.md), the scrape
 * jobs and alert rules in Prometheus' values, the SPIRE dashboard in Grafana's, and the provider's default namespace
 * (Bookinfo is deployed: MANIFEST_DEFAULT_NAMESPACE), which renames none of Bookinfo's objects (test below).
 */
const EVERYTHING_UPDATES: Record<string, string[]> = {
    "pulumi:providers:kubernetes::cluster": ["namespace"],
    "kubernetes:helm.sh/v3:Release::spire-release": ["values.spire-agent.telemetry", "values.spire-server.telemetry"],
    "kubernetes:helm.sh/v3:Release::observability-prometheus": ["values.scrapeConfigs", "values.serverFiles"],
    "kubernetes:helm.sh/v3:Release::observability-grafana": ["values.dashboardProviders.dashboardproviders.yaml.providers", "values.dashboards.spire"],
};
