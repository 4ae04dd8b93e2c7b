// The supported versions (components/versions.ts), enforced before any resource; the `versions` output a deployment
// records and the next one reads back; the SPIRE chart upgrade path (one minor at a time, CRDs first); and the
// 0.29.0 -> 0.30.0 upgrade itself, held against the engine's step model and against real renders of both charts.

import { expect } from "chai";
import { SUPPORTED_SPIRE_CHARTS, spireChartUpgradeProblem } from "../components";
import { Declared, NO_OPTIONS, ProgramRun, World, runProgram, runProgramExpectingError, runningStack } from "../tools/mock-engine/harness";
import { RenderedObject } from "../tools/upstream/helm";
import { requireUpstream } from "../tools/upstream/artifacts";
import { ChartRenderer, HELM_RELEASE, describeObject, isHelmHook, requireHelm } from "./chartRender";
import { plannedStep } from "./engineModel";

const program: () => Promise<Record<string, any>> = require("../index");
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const AT_0_29 = { ...CLUSTER1, spireChartVersion: "0.29.0", spireCrdsChartVersion: "0.5.0" };
const AT_0_30 = { ...CLUSTER1, spireChartVersion: "0.30.0", spireCrdsChartVersion: "0.6.0" };
const SUPPORTED_PAIRS = 'supported: spire "0.29.0" with spire-crds "0.5.0", spire "0.30.0" with spire-crds "0.6.0" (docs/upgrades.md#supported-versions)';

/** A world where this stack (cluster1) was deployed before and exported `outputs`. */
function deployedWith(outputs: Record<string, unknown>): World {
    return { stackOutputs: { [runningStack("cluster1")]: outputs } };
}

describe("supported versions", () => {
    const refusals: [string, Record<string, unknown>, string][] = [
        [
            "an Istio version the program has not seen",
            { ...CLUSTER1, istioChartVersion: "1.28.0" },
            'Invalid configuration: istioChartVersion: "1.28.0" is not a supported Istio version; supported: "1.29.6", "1.30.3" (docs/upgrades.md#supported-versions)',
        ],
        [
            "a spire chart outside the table",
            { ...CLUSTER1, spireChartVersion: "0.31.0" },
            `Invalid configuration: spireChartVersion: "0.31.0" is not a supported spire chart; ${SUPPORTED_PAIRS}`,
        ],
        [
            "spire 0.30.0 with the CRDs of 0.29.0",
            { ...CLUSTER1, spireCrdsChartVersion: "0.5.0" },
            `Invalid configuration: spireCrdsChartVersion: "0.5.0" does not go with spireChartVersion "0.30.0", whose CRDs are spire-crds "0.6.0"; ${SUPPORTED_PAIRS}`,
        ],
        [
            "spire 0.29.0 with the CRDs of 0.30.0",
            { ...CLUSTER1, spireChartVersion: "0.29.0" },
            `Invalid configuration: spireCrdsChartVersion: "0.6.0" does not go with spireChartVersion "0.29.0", whose CRDs are spire-crds "0.5.0"; ${SUPPORTED_PAIRS}`,
        ],
        [
            // A malformed version keeps its own message, and is not reported a second time as unsupported.
            "a malformed version",
            { ...CLUSTER1, spireChartVersion: "0.30" },
            'Invalid configuration: spireChartVersion: "0.30" is not pinned; expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned',
        ],
    ];
    for (const [title, config, message] of refusals) {
        it(`refuses ${title} before any resource`, async () => {
            const { error, declared } = await runProgramExpectingError(program, config);
            expect(error.message).to.equal(message);
            expect(declared).to.deep.equal([]);
        });
    }

    it("accepts every pair of the table and every Istio version of it", async () => {
        for (const [spire, istio] of [
            [AT_0_29, "1.29.6"],
            [AT_0_30, "1.30.3"],
        ] as const) {
            const run = await runProgram(program, { ...spire, istioChartVersion: istio });
            expect(run.outputs.versions).to.deep.equal({
                spireChart: spire.spireChartVersion,
                spireCrdsChart: spire.spireCrdsChartVersion,
                istio: { default: istio },
            });
        }
    });
});

describe("the versions output and the SPIRE chart upgrade path", () => {
    it("exports the chart versions the deployment runs, Istio's under the default control plane", async () => {
        const run = await runProgram(program, CLUSTER1);
        expect(run.outputs.versions).to.deep.equal({ spireChart: "0.30.0", spireCrdsChart: "0.6.0", istio: { default: "1.30.3" } });
    });

    it("refuses a spire chart change that skips a minor, before any resource, saying the next step", async () => {
        const { error, declared } = await runProgramExpectingError(
            program,
            AT_0_30,
            deployedWith({ versions: { spireChart: "0.28.1", spireCrdsChart: "0.5.0", istio: { default: "1.30.3" } } }),
        );
        expect(error.message).to.equal(
            'Refused SPIRE chart upgrade: spireChartVersion: "0.30.0" skips a chart minor: this stack runs spire "0.28.1" (its last deployment\'s `versions` output); the spire charts are upgraded one minor at a time, spire-crds first (docs/upgrades.md#spire-chart-upgrades): deploy spire "0.29.0" with spire-crds "0.5.0" first',
        );
        // Only the read of the stack's own last outputs, no Kubernetes resource.
        expect(declared.map((d) => d.type)).to.deep.equal(["pulumi:pulumi:StackReference"]);
    });

    it("refuses a spire chart change that goes down", async () => {
        const { error, declared } = await runProgramExpectingError(
            program,
            AT_0_29,
            deployedWith({ versions: { spireChart: "0.30.0", spireCrdsChart: "0.6.0", istio: { default: "1.30.3" } } }),
        );
        expect(error.message).to.equal(
            'Refused SPIRE chart upgrade: spireChartVersion: "0.29.0" goes down: this stack runs spire "0.30.0" (its last deployment\'s `versions` output); the spire charts are upgraded one minor at a time, spire-crds first (docs/upgrades.md#spire-chart-upgrades), never down',
        );
        expect(declared.map((d) => d.type)).to.deep.equal(["pulumi:pulumi:StackReference"]);
    });

    it("judges each move by chart minor: the same or the next minor passes, a skip, a new major or a step down does not", () => {
        const at = (spireChart: string) => ({ spireChart });
        const verdict = (from: string, to: string) => /(skips a chart minor|goes down)/.exec(spireChartUpgradeProblem(at(from), to) ?? "")?.[1];
        expect({
            same: spireChartUpgradeProblem(at("0.30.0"), "0.30.0"),
            patch: spireChartUpgradeProblem(at("0.29.0"), "0.29.1"),
            next: spireChartUpgradeProblem(at("0.29.0"), "0.30.0"),
            skip: verdict("0.28.0", "0.30.0"),
            major: verdict("0.30.0", "1.0.0"),
            down: verdict("0.30.0", "0.29.0"),
            patchDown: verdict("0.30.1", "0.30.0"),
        }).to.deep.equal({
            same: undefined,
            patch: undefined,
            next: undefined,
            skip: "skips a chart minor",
            major: "skips a chart minor",
            down: "goes down",
            patchDown: "goes down",
        });
    });

    it("checks nothing for a stack deployed before the versions output existed, or never deployed", async () => {
        // Such a stack recorded no chart version, and no other output of it tells which one it ran (any was accepted).
        expect(spireChartUpgradeProblem(undefined, "0.29.0")).to.equal(undefined);
        const run = await runProgram(program, AT_0_29, deployedWith({ federation: {}, spireServer: { replicas: 1 } }));
        expect(run.outputs.versions.spireChart).to.equal("0.29.0");
    });
});

/**
 * The replacements the providers decide for the resources of these runs (as test/upgrade.test.ts): a Helm release's
 * name and namespace (pulumi-kubernetes provider/pkg/provider/helm_release.go forceNewFields), a Kubernetes object's
 * name and namespace, a RandomUuid's keepers, a StackReference's name.
 */
function replacingPaths(type: string): string[] {
    if (type === HELM_RELEASE) {
        return ["name", "namespace"];
    }
    if (type === "random:index/randomUuid:RandomUuid") {
        return ["keepers"];
    }
    if (type === "pulumi:pulumi:StackReference") {
        return ["name"];
    }
    return type.startsWith("kubernetes:") ? ["metadata.name", "metadata.namespace"] : [];
}

/**
 * The order in which one `pulumi up` runs the updates of `updated`: the Node.js SDK sends a resource's
 * RegisterResource only once the URNs of its dependsOn resources have resolved (@pulumi/pulumi runtime/resource.ts
 * prepareResource: "Before we can proceed, all our dependencies must be finished", dependsOn.ts
 * getAllTransitivelyReferencedResourceURNs awaits each `urn`), and the engine answers a RegisterResource only after
 * its step (here an update) has finished (pulumi/pulumi pkg/resource/deploy/source_eval.go resmon RegisterResource:
 * "Now block waiting for the operation to finish", `<-step.done`). So an update never starts before the updates of
 * the resources it depends on, directly or transitively, are done: a topological order of dependsOn.
 */
function updateOrder(declared: Declared[], updated: string[]): string[] {
    const byName = new Map(declared.map((d) => [d.name, d]));
    const done: string[] = [];
    const visit = (name: string) => {
        if (done.includes(name)) {
            return;
        }
        for (const dependency of byName.get(name)?.dependsOn ?? []) {
            visit(dependency);
        }
        done.push(name);
    };
    for (const name of [...updated].sort().reverse()) {
        visit(name);
    }
    return done.filter((n) => updated.includes(n));
}

describe("the SPIRE 0.29.0 -> 0.30.0 upgrade", () => {
    let previous: ProgramRun<Record<string, any>>;
    let after: ProgramRun<Record<string, any>>;
    let steps: { name: string; op: string; changed: string[] }[];

    before(async () => {
        previous = await runProgram(program, AT_0_29);
        after = await runProgram(program, AT_0_30, deployedWith(previous.outputs));
        const now = new Map(after.declared.map((d) => [`${d.type}::${d.name}`, d]));
        steps = previous.declared
            .filter((d) => !d.type.startsWith("istio-spire:"))
            .map((old) => {
                const goal = now.get(`${old.type}::${old.name}`);
                if (goal === undefined) {
                    return { name: old.name, op: "delete", changed: [] };
                }
                const step = plannedStep({ ...NO_OPTIONS, ...old }, goal, replacingPaths(old.type));
                return { name: old.name, op: step.op, changed: step.changed };
            });
    });

    it("is accepted: the next minor, from the versions the 0.29.0 deployment exported", () => {
        expect(previous.outputs.versions).to.deep.equal({ spireChart: "0.29.0", spireCrdsChart: "0.5.0", istio: { default: "1.30.3" } });
        expect(after.outputs.versions).to.deep.equal({ spireChart: "0.30.0", spireCrdsChart: "0.6.0", istio: { default: "1.30.3" } });
    });

    it("updates the two SPIRE releases' chart versions in place and nothing else, recreates and adds nothing", () => {
        expect(steps.filter((s) => s.op !== "same")).to.deep.equal([
            { name: "spire-crds", op: "update", changed: ["version"] },
            { name: "spire-release", op: "update", changed: ["version"] },
        ]);
        const had = new Set(previous.declared.map((d) => `${d.type}::${d.name}`));
        expect(after.declared.filter((d) => !had.has(`${d.type}::${d.name}`)).map((d) => d.name)).to.deep.equal([]);
    });

    it("upgrades the CRD release before the spire release, in the same `pulumi up`", () => {
        const spire = after.declared.find((d) => d.name === "spire-release")!;
        expect(spire.dependsOn).to.include("spire-crds");
        expect(updateOrder(after.declared, ["spire-release", "spire-crds"])).to.deep.equal(["spire-crds", "spire-release"]);
    });
});

/** `kind namespace/name` of every object but Helm's hooks (they run around an upgrade and are not kept). */
const kept = (objects: RenderedObject[]) =>
    objects
        .filter((o) => !isHelmHook(o))
        .map(describeObject)
        .sort();

/**
 * The fields the API server refuses to change on an existing object (a `helm upgrade` changing one fails): a
 * StatefulSet may change only its replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy
 * and minReadySeconds (kubernetes pkg/apis/apps/validation ValidateStatefulSetUpdate), so its selector,
 * volumeClaimTemplates, serviceName and podManagementPolicy are fixed; a Deployment's and a DaemonSet's selector
 * (apps/v1: ValidateDeploymentUpdate, ValidateDaemonSetUpdate); a CSIDriver's spec.attachRequired and podInfoOnMount
 * (storage/validation ValidateCSIDriverUpdate); a Service's clusterIP; a RoleBinding's roleRef; a CRD's scope.
 */
function immutableFields(o: RenderedObject): Record<string, unknown> {
    switch (o.kind) {
        case "StatefulSet":
            return {
                selector: o.spec?.selector,
                volumeClaimTemplates: o.spec?.volumeClaimTemplates,
                serviceName: o.spec?.serviceName,
                podManagementPolicy: o.spec?.podManagementPolicy,
            };
        case "Deployment":
        case "DaemonSet":
            return { selector: o.spec?.selector };
        case "CSIDriver":
            return { attachRequired: o.spec?.attachRequired, podInfoOnMount: o.spec?.podInfoOnMount };
        case "Service":
            return { clusterIP: o.spec?.clusterIP };
        case "RoleBinding":
        case "ClusterRoleBinding":
            return { roleRef: o.roleRef };
        case "CustomResourceDefinition":
            return { scope: o.spec?.scope, group: o.spec?.group };
        default:
            return {};
    }
}

describe("the SPIRE 0.29.0 -> 0.30.0 upgrade, rendered by the real charts", function () {
    let renders: Record<string, RenderedObject[]>;

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        this.timeout(120000);
        const renderer = new ChartRenderer(await requireHelm(this, "render both spire charts with"));
        renders = {};
        for (const config of [AT_0_29, AT_0_30]) {
            const run = await runProgram(program, config);
            for (const release of run.declared.filter((d) => d.type === HELM_RELEASE && String(d.inputs.chart).startsWith("spire"))) {
                renders[`${release.inputs.chart}-${release.inputs.version}`] = await renderer.render(release);
            }
        }
    });

    it("renders both pairs of the table with the program's values (each chart's values.schema.json and templates accept them)", () => {
        const pairs = SUPPORTED_SPIRE_CHARTS.flatMap((p) => [`spire-${p.spire}`, `spire-crds-${p.spireCrds}`]);
        expect(Object.keys(renders).sort()).to.deep.equal([...pairs].sort());
        expect(Object.fromEntries(Object.entries(renders).map(([k, v]) => [k, v.length > 0]))).to.deep.equal(Object.fromEntries(pairs.map((p) => [p, true])));
    });

    it("keeps every object but the SPIKE registrations 0.30.0 no longer renders unless spike is enabled (its upgrade notes)", () => {
        const gone = kept(renders["spire-0.29.0"]).filter((o) => !kept(renders["spire-0.30.0"]).includes(o));
        const added = kept(renders["spire-0.30.0"]).filter((o) => !kept(renders["spire-0.29.0"]).includes(o));
        expect({ gone, added }).to.deep.equal({
            gone: ["bootstrap", "keeper", "nexus", "pilot"].map((c) => `ClusterSPIFFEID spire-server-spire-spike-${c}`),
            added: [],
        });
        expect(kept(renders["spire-crds-0.5.0"])).to.deep.equal(kept(renders["spire-crds-0.6.0"]));
    });

    it("changes no immutable field of an object both versions render, so `helm upgrade` recreates nothing", () => {
        const differing: string[] = [];
        for (const [from, to] of [
            ["spire-0.29.0", "spire-0.30.0"],
            ["spire-crds-0.5.0", "spire-crds-0.6.0"],
        ]) {
            const next = new Map(renders[to].map((o) => [describeObject(o), o]));
            for (const old of renders[from]) {
                const now = next.get(describeObject(old));
                if (now !== undefined && JSON.stringify(immutableFields(old)) !== JSON.stringify(immutableFields(now))) {
                    differing.push(describeObject(old));
                }
            }
        }
        expect(differing).to.deep.equal([]);
        // What the check looked at: the server's StatefulSet, with its data volume claim, is there in both.
        const statefulSet = (objects: RenderedObject[]) => objects.find((o) => o.kind === "StatefulSet" && o.metadata?.name === "spire-server");
        expect(immutableFields(statefulSet(renders["spire-0.30.0"])!).volumeClaimTemplates).to.have.length(1);
    });
});
