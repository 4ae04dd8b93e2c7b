// Istio canary upgrades by revision (issue 17): istioRevisions, istioRevisionTags, enrolledNamespaces on a revision,
// ingressGatewayRevision. The refusals, the revisions' releases and namespace labels, real renders of the revision-tag
// webhooks, and the canary procedure of docs/upgrades.md (1.29.6 -> 1.30.3) as a sequence of stack configs, step by step.

import { expect } from "chai";
import { parse } from "yaml";
import { requireUpstream } from "../tools/upstream/artifacts";
import { Declared, runProgram, runProgramExpectingError } from "../tools/mock-engine/harness";
import { spireSidecarTemplate } from "../components/mesh/istioOperator";
import { ChartRenderer, ReleaseRender, requireHelm, theObject } from "./chartRender";
import { plannedStep } from "./engineModel";

const program = require("../index") as () => Promise<Record<string, unknown>>;

const BASE = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const REV_OLD = { name: "1-29-6", version: "1.29.6" };
const REV_NEW = { name: "1-30-3", version: "1.30.3" };

const byName = (declared: Declared[], name: string) => declared.find((d) => d.name === name);

describe("Istio revisions (istioRevisions, istioRevisionTags, enrolledNamespaces revisions, ingressGatewayRevision)", function () {
    this.timeout(120000);

    describe("refusals, every problem in one error, before any resource", () => {
        it("refuses unsupported versions, bad names and revisions or tags that do not exist (a removed revision still in use)", async () => {
            const { error, declared } = await runProgramExpectingError(program, {
                ...BASE,
                istioChartVersion: "1.29.6",
                istioRevisions: [
                    { name: "1-28-0", version: "1.28.0" },
                    { name: "Canary", version: "1.30.3" },
                    { name: "default", version: "1.30.3" },
                    REV_NEW,
                    REV_NEW,
                ],
                istioRevisionTags: { default: "1-29-6", "1-30-3": "1-30-3", prod: "1-30-3" },
                enrolledNamespaces: ["shop", { name: "payments", revision: "1-29-6" }, { name: "ledger", revision: "prod", extra: 1 }],
                ingressGatewayRevision: "stable",
            });
            expect(declared.filter((d) => d.type.startsWith("kubernetes:"))).to.deep.equal([]);
            expect(error.message.split("\n")).to.deep.equal([
                "Invalid configuration (11 problems):",
                '  - enrolledNamespaces[2]: {"name":"ledger","revision":"prod","extra":1} has unknown field "extra"; expected a namespace name or {"name": "<namespace>", "revision": "<revision or tag>"}',
                '  - istioRevisions[0].version: "1.28.0" is not a supported Istio version; supported: "1.29.6", "1.30.3"',
                '  - istioRevisions[1].name: "Canary" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
                '  - istioRevisions[2].name: "default" is the default tag\'s name; name revisions after their version, e.g. "1-30-3"',
                '  - istioRevisions: [{"name":"1-28-0","version":"1.28.0"},{"name":"Canary","version":"1.30.3"},{"name":"default","versio…(187 characters) lists revision "1-30-3" more than once',
                '  - istioRevisionTags.1-30-3: "1-30-3" is a revision\'s name; a tag needs a name of its own',
                '  - istioRevisionTags.default: "1-29-6" is no revision of istioRevisions ("1-30-3"); move the tag to one before removing its revision',
                '  - istioChartVersion: "1.29.6" is replaced by the versions of istioRevisions; remove it',
                '  - enrolledNamespaces[1].revision: "1-29-6" is no revision of istioRevisions nor tag of istioRevisionTags ("1-30-3", "prod"); move it to one before removing its revision',
                '  - ingressGatewayRevision: "stable" is no revision of istioRevisions nor tag of istioRevisionTags ("1-30-3", "prod"); move it to one before removing its revision',
                '  - enrolledNamespaces[0]: "shop" is on the default tag, which istioRevisionTags does not set; set "default" to a revision or give the namespace a revision',
            ]);
        });

        it("refuses tags, a namespace's revision and the gateway's revision without istioRevisions", async () => {
            const { error } = await runProgramExpectingError(program, {
                ...BASE,
                istioRevisionTags: { default: "1-30-3" },
                enrolledNamespaces: [{ name: "shop", revision: "1-30-3" }],
                ingressGatewayRevision: "1-30-3",
            });
            expect(error.message.split("\n").slice(1)).to.deep.equal([
                '  - istioRevisionTags: {"default":"1-30-3"} tags revisions, but istioRevisions is not set; list the control plane revisions first',
                '  - enrolledNamespaces[0].revision: "1-30-3" names a revision, but istioRevisions is not set; list the control plane revisions first',
                '  - ingressGatewayRevision: "1-30-3" names a revision, but istioRevisions is not set; list the control plane revisions first',
            ]);
        });
    });

    it("without istioRevisions: one istiod release without a revision, and plain names enrolled exactly as before", async () => {
        const run = await runProgram(program, { ...BASE, enrolledNamespaces: ["default", "shop"] });
        const releases = run.declared.filter((d) => d.type === "kubernetes:helm.sh/v3:Release" && d.name.startsWith("istio-"));
        expect(releases.map((r) => [r.name, r.inputs.name, r.inputs.version, r.inputs.values.revision])).to.deep.equal([
            ["istio-base", "istio-base", "1.30.3", undefined],
            ["istio-istiod", "istiod", "1.30.3", undefined],
            ["istio-gateway", "istio-ingressgateway", "1.30.3", undefined],
        ]);
        for (const ns of ["default", "shop"]) {
            expect(byName(run.declared, `registration-enroll-${ns}`)!.inputs.metadata).to.deep.equal({
                name: ns,
                labels: { "istio-injection": "enabled", "spiffe.io/spire-managed-identity": "true" },
            });
        }
    });

    it("with istioRevisions: an istiod release per revision with its version's SPIRE templates, one base at the newest version, namespaces on istio.io/rev", async () => {
        const run = await runProgram(program, {
            ...BASE,
            istioRevisions: [REV_OLD, REV_NEW],
            istioRevisionTags: { default: "1-29-6", canary: "1-30-3" },
            enrolledNamespaces: ["default", { name: "shop", revision: "canary" }],
            ingressGatewayRevision: "1-30-3",
        });
        // The versions output records each control plane by its revision (the spire charts as without revisions).
        expect((run.outputs.versions as { istio: unknown }).istio).to.deep.equal({ "1-29-6": "1.29.6", "1-30-3": "1.30.3" });
        const releases = run.declared.filter((d) => d.type === "kubernetes:helm.sh/v3:Release" && d.name.startsWith("istio-"));
        expect(releases.map((r) => [r.name, r.inputs.name, r.inputs.version, r.inputs.values.revision, r.inputs.values.revisionTags])).to.deep.equal([
            ["istio-base", "istio-base", "1.30.3", undefined, undefined],
            ["istio-istiod-1-29-6", "istiod-1-29-6", "1.29.6", "1-29-6", ["default"]],
            ["istio-istiod-1-30-3", "istiod-1-30-3", "1.30.3", "1-30-3", ["canary"]],
            ["istio-gateway", "istio-ingressgateway", "1.30.3", "1-30-3", undefined],
        ]);
        expect(releases[0].inputs.values.defaultRevision).to.equal("1-29-6");
        for (const [i, version] of [
            [1, "1.29.6"],
            [2, "1.30.3"],
        ] as const) {
            expect(releases[i].inputs.values.sidecarInjectorWebhook.templates).to.deep.equal({
                spire: spireSidecarTemplate(version),
                "spire-gateway": spireSidecarTemplate(version),
            });
        }
        expect(byName(run.declared, "registration-enroll-default")!.inputs.metadata.labels).to.deep.equal({
            "istio-injection": "enabled",
            "spiffe.io/spire-managed-identity": "true",
        });
        // istio-injection would take precedence over istio.io/rev: a namespace on a revision carries only the latter.
        expect(byName(run.declared, "registration-enroll-shop")!.inputs.metadata.labels).to.deep.equal({
            "istio.io/rev": "canary",
            "spiffe.io/spire-managed-identity": "true",
        });
    });

    describe("real renders of both revisions", () => {
        let renders: ReleaseRender[];
        before(function () {
            requireUpstream(this);
        });
        before(async function () {
            const helm = await requireHelm(this, "render the charts with");
            const run = await runProgram(program, {
                ...BASE,
                istioRevisions: [REV_OLD, REV_NEW],
                istioRevisionTags: { default: "1-29-6", canary: "1-30-3" },
            });
            renders = await new ChartRenderer(helm).renderAll(run.declared);
        });
        const istiod = (rev: string) => renders.find((r) => r.name === `istiod-${rev}`)!;

        it("each revision's injector ConfigMap carries SPIRE's templates for its version", () => {
            for (const rev of [REV_OLD, REV_NEW]) {
                const config = parse(theObject(istiod(rev.name).objects, "ConfigMap", `istio-sidecar-injector-${rev.name}`, "istio-system").data.config);
                expect(config.defaultTemplates).to.deep.equal(["sidecar", "spire"]);
                expect(config.templates.spire).to.equal(spireSidecarTemplate(rev.version));
                expect(config.templates["spire-gateway"]).to.equal(spireSidecarTemplate(rev.version));
            }
        });

        it("the revision-tag webhooks select the right revision: default serves istio-injection=enabled, canary istio.io/rev=canary", () => {
            /** Each webhook of a tag's MutatingWebhookConfiguration: the istiod Service it calls and its selectors. */
            const webhooks = (rev: string, tag: string) =>
                theObject(istiod(rev).objects, "MutatingWebhookConfiguration", `istio-revision-tag-${tag}`).webhooks.map(
                    (w: { name: string; clientConfig: { service: { name: string } }; namespaceSelector: unknown; objectSelector: unknown }) => ({
                        name: w.name,
                        service: w.clientConfig.service.name,
                        namespaceSelector: w.namespaceSelector,
                        objectSelector: w.objectSelector,
                    }),
                );
            const notDisabled = { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] };
            expect(webhooks("1-30-3", "canary")).to.deep.equal([
                {
                    name: "rev.namespace.sidecar-injector.istio.io",
                    service: "istiod-1-30-3",
                    namespaceSelector: {
                        matchExpressions: [
                            { key: "istio.io/rev", operator: "In", values: ["canary"] },
                            { key: "istio-injection", operator: "DoesNotExist" },
                        ],
                    },
                    objectSelector: { matchExpressions: [notDisabled] },
                },
                {
                    name: "rev.object.sidecar-injector.istio.io",
                    service: "istiod-1-30-3",
                    namespaceSelector: {
                        matchExpressions: [
                            { key: "istio.io/rev", operator: "DoesNotExist" },
                            { key: "istio-injection", operator: "DoesNotExist" },
                        ],
                    },
                    objectSelector: { matchExpressions: [notDisabled, { key: "istio.io/rev", operator: "In", values: ["canary"] }] },
                },
            ]);
            const defaults = webhooks("1-29-6", "default");
            expect(defaults.map((w: { service: string }) => w.service)).to.deep.equal(["istiod-1-29-6", "istiod-1-29-6", "istiod-1-29-6", "istiod-1-29-6"]);
            expect(defaults.find((w: { name: string }) => w.name === "namespace.sidecar-injector.istio.io")).to.deep.equal({
                name: "namespace.sidecar-injector.istio.io",
                service: "istiod-1-29-6",
                namespaceSelector: { matchExpressions: [{ key: "istio-injection", operator: "In", values: ["enabled"] }] },
                objectSelector: { matchExpressions: [notDisabled] },
            });
            // No tag webhooks in a release no tag points at.
            expect(
                istiod("1-30-3")
                    .objects.filter((o) => o.kind === "MutatingWebhookConfiguration")
                    .map((o) => o.metadata.name),
            ).to.deep.equal(["istio-sidecar-injector-1-30-3", "istio-revision-tag-canary"]);
        });
    });

    describe("the canary procedure (docs/upgrades.md), 1.29.6 -> 1.30.3, one stack change per step", () => {
        const canary = { name: "shop", revision: "1-30-3" };
        const STEPS: [string, Record<string, unknown>, Record<string, "create" | "update" | "delete">][] = [
            ["on 1.29.6", { istioRevisions: [REV_OLD], istioRevisionTags: { default: "1-29-6" }, enrolledNamespaces: ["default", "shop"] }, {}],
            [
                "1. add the new revision",
                { istioRevisions: [REV_OLD, REV_NEW], istioRevisionTags: { default: "1-29-6" }, enrolledNamespaces: ["default", "shop"] },
                { "istio-istiod-1-30-3": "create", "istio-base": "update" },
            ],
            [
                "2. move the canary namespaces",
                { istioRevisions: [REV_OLD, REV_NEW], istioRevisionTags: { default: "1-29-6" }, enrolledNamespaces: ["default", canary] },
                { "registration-enroll-shop": "update" },
            ],
            [
                "3. restart their workloads (kubectl, no stack change)",
                { istioRevisions: [REV_OLD, REV_NEW], istioRevisionTags: { default: "1-29-6" }, enrolledNamespaces: ["default", canary] },
                {},
            ],
            [
                "4. move the default tag",
                { istioRevisions: [REV_OLD, REV_NEW], istioRevisionTags: { default: "1-30-3" }, enrolledNamespaces: ["default", canary] },
                { "istio-istiod-1-29-6": "update", "istio-istiod-1-30-3": "update", "istio-base": "update", "istio-gateway": "update" },
            ],
            [
                "5. remove the old revision",
                { istioRevisions: [REV_NEW], istioRevisionTags: { default: "1-30-3" }, enrolledNamespaces: ["default", canary] },
                { "istio-istiod-1-29-6": "delete" },
            ],
        ];

        it("each step changes exactly its objects, and replaces nothing", async () => {
            let previous: Declared[] | undefined;
            for (const [title, config, expected] of STEPS) {
                const run = await runProgram(program, { ...BASE, ...config });
                if (previous !== undefined) {
                    const changes: Record<string, string> = {};
                    for (const goal of run.declared) {
                        const old = byName(previous, goal.name);
                        if (old === undefined) {
                            changes[goal.name] = "create";
                        } else if (old.type === goal.type) {
                            const step = plannedStep(old, goal, goal.type === "kubernetes:helm.sh/v3:Release" ? ["name", "namespace"] : []);
                            if (step.op !== "same") {
                                changes[goal.name] = step.op;
                            }
                        }
                    }
                    for (const old of previous) {
                        if (byName(run.declared, old.name) === undefined) {
                            changes[old.name] = "delete";
                        }
                    }
                    expect(changes, title).to.deep.equal(expected);
                }
                previous = run.declared;
            }
        });

        it("step 5 before step 2 is refused: a namespace and the default tag still use the old revision", async () => {
            const { error } = await runProgramExpectingError(program, {
                ...BASE,
                istioRevisions: [REV_NEW],
                istioRevisionTags: { default: "1-29-6" },
                enrolledNamespaces: ["default", { name: "shop", revision: "1-29-6" }],
            });
            expect(error.message.split("\n").slice(1)).to.deep.equal([
                '  - istioRevisionTags.default: "1-29-6" is no revision of istioRevisions ("1-30-3"); move the tag to one before removing its revision',
                '  - enrolledNamespaces[1].revision: "1-29-6" is no revision of istioRevisions nor tag of istioRevisionTags ("1-30-3"); move it to one before removing its revision',
                '  - enrolledNamespaces[0]: "default" is on the default tag, which istioRevisionTags does not set; set "default" to a revision or give the namespace a revision',
                '  - ingressGatewayRevision: "" is empty (the default tag), which istioRevisionTags does not set; set "default" to a revision or name the gateway\'s revision',
            ]);
        });
    });
});
