// Adopting a cluster built from the runbooks (docs/adoption.md): config `adopt`
// sets Pulumi's `import` option on exactly the objects runbook seed 003 left behind, with the ids the providers read,
// and a preview of such a cluster is imports and updates only, never a re-creation of SPIRE. What the engine does with
// the declared options is modelled by `plan` below, after pulumi/pulumi's step generator and pulumi-kubernetes' diffs.

import { expect } from "chai";
import { ADOPTABLE, CONFIG_DEFAULTS, PATCH_FORCE_ANNOTATION, ValidationError, parseStackConfig, spireImportIds } from "../components";
import { Declared, NO_OPTIONS, importObject, named, objectKey, runProgram } from "../tools/mock-engine/harness";

const program: () => Promise<any> = require("../index");

const RELEASE = "kubernetes:helm.sh/v3:Release";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const CLUSTER_SPIFFE_ID = "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID";

/** Seed 003's values file (step 1.3), with the trust domain and cluster name the stack adopting it keeps. */
const SEED_SPIRE_VALUES = {
    global: { spire: { clusterName: "foo-eks-cluster", trustDomain: "foo.com" } },
    "spire-server": { controllerManager: { watchClassless: true }, caTTL: "720h" },
    "spiffe-oidc-discovery-provider": { enabled: false },
};

/**
 * A cluster built from runbook seed 003: `helm install spire-crds` and `helm install spire` in spire-server (chart
 * versions of whenever the seed ran: the seed pins none), ClusterSPIFFEIDs istio-ingressgateway-reg and default, and
 * an istioctl-installed Istio in a namespace made with `kubectl create namespace istio-system`. Releases hold what
 * pulumi-kubernetes reads back on import (helm_release.go Read, serializeImportInputs: name, namespace, chart,
 * version, the release's user-supplied values).
 */
function seed003Cluster(): Record<string, Record<string, unknown>> {
    // The field managers of what kubectl made: `kubectl create namespace` and `kubectl apply` (client-side) record
    // Update operations under their own names, which own the objects' fields.
    const managedBy = (manager: string) => [{ manager, operation: "Update", apiVersion: "v1", fieldsType: "FieldsV1" }];
    const namespace = (name: string) => ({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, uid: `seed-uid-${name}`, labels: { "kubernetes.io/metadata.name": name }, managedFields: managedBy("kubectl-create") },
    });
    const clusterSpiffeId = (name: string, spec: Record<string, unknown>) => ({
        apiVersion: "spire.spiffe.io/v1alpha1",
        kind: "ClusterSPIFFEID",
        metadata: { name, managedFields: managedBy("kubectl-client-side-apply") },
        spec,
    });
    const template = "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}";
    return {
        [objectKey("Namespace", undefined, "spire-server")]: namespace("spire-server"),
        [objectKey("Namespace", undefined, "istio-system")]: namespace("istio-system"),
        [objectKey("Release", "spire-server", "spire-crds")]: {
            name: "spire-crds",
            namespace: "spire-server",
            chart: "spiffe/spire-crds",
            version: "0.5.0",
            values: {},
        },
        [objectKey("Release", "spire-server", "spire")]: {
            name: "spire",
            namespace: "spire-server",
            chart: "spiffe/spire",
            version: "0.27.0",
            values: SEED_SPIRE_VALUES,
        },
        [objectKey("ClusterSPIFFEID", undefined, "istio-ingressgateway-reg")]: clusterSpiffeId("istio-ingressgateway-reg", {
            spiffeIDTemplate: template,
            workloadSelectorTemplates: ["k8s:ns:istio-system", "k8s:sa:istio-ingressgateway-service-account"],
        }),
        [objectKey("ClusterSPIFFEID", undefined, "default")]: clusterSpiffeId("default", {
            spiffeIDTemplate: template,
            podSelector: { matchLabels: { "spiffe.io/spire-managed-identity": "true" } },
        }),
        // istioctl's objects: no Helm release owns them (they are migrated by hand, see docs/adoption.md).
        [objectKey("Deployment", "istio-system", "istiod")]: { metadata: { name: "istiod", namespace: "istio-system" } },
        [objectKey("Deployment", "istio-system", "istio-ingressgateway")]: { metadata: { name: "istio-ingressgateway", namespace: "istio-system" } },
    };
}

/** The stack that adopts the seed-003 cluster: its trust domain and cluster name, everything else the defaults. */
const SEED_003_STACK = { trustDomain: "foo.com", clusterName: "foo-eks-cluster" };
const ADOPT_SEED_003 = [...ADOPTABLE];

// ---------------------------------------------------------------------------------------------------------------
// The engine's plan for a first deployment (no state yet) against the objects that exist.

/** One step of the plan: what the engine does with a declared resource, and the input paths that change. */
interface Step {
    name: string;
    op: "create" | "read" | "import" | "import, update" | "create fails: already exists" | "import fails: replace refused" | "import fails: not found";
    changed: string[];
}

/** The object a declared Kubernetes resource or Helm release names, as the harness keys the world's objects. */
function objectOf(d: Declared): string | undefined {
    if (d.type === RELEASE) {
        return objectKey("Release", d.inputs.namespace, d.inputs.name);
    }
    const kind = /^kubernetes:[^:]+:([A-Za-z0-9]+)$/.exec(d.type)?.[1];
    const name = d.inputs?.metadata?.name;
    return kind && typeof name === "string" ? objectKey(kind, d.inputs.metadata.namespace, name) : undefined;
}

/** The object an import id names (a Release's id is `<namespace>/<name>`, a cluster-scoped object's its name). */
function importedObject(d: Declared): string {
    const [namespace, name] = d.importId.includes("/") ? d.importId.split("/") : [undefined, d.importId];
    if (d.type === RELEASE) {
        return objectKey("Release", namespace, name);
    }
    return objectKey(/^kubernetes:[^:]+:([A-Za-z0-9]+)$/.exec(d.type)![1], namespace, name);
}

/** The input paths (dotted) a goal changes on an imported object. */
function changedPaths(type: string, live: Record<string, any>, goal: Record<string, any>): string[] {
    const paths: string[] = [];
    const walk = (l: any, g: any, at: string[]) => {
        if (g !== null && typeof g === "object" && !Array.isArray(g) && l !== null && typeof l === "object" && !Array.isArray(l)) {
            // pulumi-kubernetes diffs a Kubernetes object's inputs against the live object pruned to the fields the
            // inputs set (provider.go Diff: oldLivePruned), so fields only others set are no change. A Helm
            // release's diff is a three-way merge of the old inputs (helm_release.go Diff), which drops inputs the
            // goal no longer has, and names the top-level inputs it changes: for a release every top-level key of
            // either side counts, as a whole.
            if (type === RELEASE) {
                for (const key of [...new Set([...Object.keys(l), ...Object.keys(g)])].sort()) {
                    if (JSON.stringify(l[key]) !== JSON.stringify(g[key])) {
                        paths.push(key);
                    }
                }
                return;
            }
            const keys = new Set(Object.keys(g));
            for (const key of [...keys].sort()) {
                walk(l[key], g[key], [...at, key]);
            }
            return;
        }
        if (JSON.stringify(l) !== JSON.stringify(g)) {
            paths.push(at.join("."));
        }
    };
    walk(live, goal, []);
    return paths;
}

/**
 * Properties whose change replaces the resource: a Helm release's `name` and `namespace` (pulumi-kubernetes
 * helm_release.go Diff: forceNewFields ".name", ".namespace"), a Kubernetes object's `metadata.name` and
 * `metadata.namespace` (provider/pkg/provider/diff.go forceNewProperties; Namespace and ClusterSPIFFEID have no
 * kind-specific ones).
 */
function replaces(type: string, path: string): boolean {
    return type === RELEASE ? path === "name" || path === "namespace" : path === "metadata.name" || path === "metadata.namespace";
}

/**
 * The engine's steps for a stack's first deployment against a cluster holding `cluster` (pulumi/pulumi
 * pkg/resource/deploy/step_generator.go, since 3.174.0):
 * - a resource with an import id and no state is imported: the provider reads the id (step.go ImportStep.Apply:
 *   `resource '<id>' does not exist` when nothing is there), then continueStepsFromImport diffs the imported inputs
 *   against the program's: no change is the import alone, a change an update after it, and a replacement is refused
 *   while the import id is still set ("previously-imported resources that still specify an ID may not be replaced");
 * - a resource without one is created: a Kubernetes object that already exists fails (pulumi-kubernetes >= 4.29
 *   creates with a client-side create, answered AlreadyExists, pulumi/pulumi-kubernetes#4278), and so does a Helm
 *   release whose name is taken (Helm's install: "cannot re-use a name that is still in use"); a Patch resource is a
 *   server-side apply, which creates or updates;
 * - a `Resource.get` is a read. Components, providers and stack references are left out.
 */
function plan(declared: Declared[], cluster: Record<string, Record<string, unknown>>): Step[] {
    const steps: Step[] = [];
    for (const d of declared) {
        if (!d.type.startsWith("kubernetes:") || d.type.startsWith("kubernetes:pulumi")) {
            continue;
        }
        if (d.read) {
            steps.push({ name: d.name, op: "read", changed: [] });
            continue;
        }
        if (d.importId !== "") {
            const live = cluster[importedObject(d)];
            if (live === undefined) {
                steps.push({ name: d.name, op: "import fails: not found", changed: [] });
                continue;
            }
            const changed = changedPaths(d.type, live, d.inputs);
            const op = changed.some((p) => replaces(d.type, p)) ? "import fails: replace refused" : changed.length > 0 ? "import, update" : "import";
            steps.push({ name: d.name, op, changed });
            continue;
        }
        const key = objectOf(d);
        const isPatch = d.type.endsWith("Patch");
        const exists = key !== undefined && cluster[key] !== undefined;
        steps.push({ name: d.name, op: exists && !isPatch ? "create fails: already exists" : "create", changed: [] });
    }
    return steps;
}

/**
 * Whether the engine imports a resource: it has an import id, and no state or a state with another id
 * (pulumi/pulumi step_generator.go: `goal.Custom && goal.ID != "" && (old == nil || old.External || oldImportID !=
 * goal.ID)`, where oldImportID is the state's import id if it was imported, else its id).
 */
function engineImports(importId: string, old?: { id: string; importId?: string; external?: boolean }): boolean {
    return importId !== "" && (old === undefined || old.external === true || (old.importId || old.id) !== importId);
}

/**
 * Whether the provider's server-side apply of an update to `live` forces, taking over fields other managers own
 * (pulumi-kubernetes provider/pkg/await/await.go patchForce): the object's `pulumi.com/patchForce: "true"`, else the
 * provider-wide setting (enablePatchForce or PULUMI_K8S_ENABLE_PATCH_FORCE; the stack's provider sets neither), else
 * in a preview an object its own old client-side apply managed, else an object with no managed fields at all.
 */
function appliesWithForce(inputs: any, live: any, preview: boolean): boolean {
    if (inputs.metadata?.annotations?.[PATCH_FORCE_ANNOTATION] === "true") {
        return true;
    }
    const managers: { manager: string; operation: string }[] = live.metadata?.managedFields ?? [];
    const pulumiCsa = ["pulumi-resource-kubernetes", "pulumi-kubernetes", "pulumi-kubernetes.exe"];
    if (preview && managers.some((m) => m.operation === "Update" && pulumiCsa.includes(m.manager))) {
        return true;
    }
    return managers.length === 0;
}

const NEVER = ["create fails: already exists", "import fails: replace refused", "import fails: not found"];

// ---------------------------------------------------------------------------------------------------------------

describe("adopting a cluster built from the runbooks", () => {
    describe("configuration: adopt", () => {
        const parse = (config: Record<string, unknown>) =>
            parseStackConfig((key) => {
                const value = config[key];
                return value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value);
            });
        const problem = (config: Record<string, unknown>): string => {
            try {
                parse(config);
            } catch (error) {
                expect(error).to.be.instanceOf(ValidationError);
                return (error as Error).message;
            }
            throw new Error("expected a validation error");
        };

        it("adopts nothing by default, and takes the seed-003 list as set", () => {
            expect(CONFIG_DEFAULTS.adopt).to.deep.equal([]);
            expect(parse(SEED_003_STACK).adopt).to.deep.equal([]);
            expect(parse({ ...SEED_003_STACK, adopt: ADOPT_SEED_003 }).adopt).to.deep.equal([
                "spire-namespace",
                "spire-releases",
                "istio-namespace",
                "gateway-registration",
            ]);
        });

        it("refuses what it cannot adopt, a list given twice, and releases without their namespace", () => {
            expect(problem({ ...SEED_003_STACK, adopt: ["spire-namespace", "istio-base"] })).to.equal(
                'Invalid configuration: adopt[1]: "istio-base" is not something this program adopts; expected a list of "spire-namespace", "spire-releases", "istio-namespace", "gateway-registration"',
            );
            expect(problem({ ...SEED_003_STACK, adopt: "spire-namespace" })).to.equal(
                'Invalid configuration: adopt: "spire-namespace" is not a list; expected a list of "spire-namespace", "spire-releases", "istio-namespace", "gateway-registration"',
            );
            expect(problem({ ...SEED_003_STACK, adopt: ["istio-namespace", "istio-namespace"] })).to.equal(
                'Invalid configuration: adopt: ["istio-namespace","istio-namespace"] lists "istio-namespace" more than once',
            );
            expect(problem({ ...SEED_003_STACK, adopt: ["spire-releases"] })).to.equal(
                'Invalid configuration: adopt: ["spire-releases"] adopts "spire-releases" but not "spire-namespace": the releases\' namespace exists, and creating it would fail (AlreadyExists); add "spire-namespace"',
            );
        });
    });

    describe("the import options", () => {
        it("imports exactly seed 003's namespaces, releases and gateway ClusterSPIFFEID, with the ids the providers read", async () => {
            const run = await runProgram(program, { ...SEED_003_STACK, adopt: ADOPT_SEED_003 }, { cluster: seed003Cluster() });
            const imported = run.declared.filter((d) => d.importId !== "").map((d) => [d.type, d.name, d.importId]);
            expect(imported).to.have.deep.members([
                [NAMESPACE, "spire-namespace", "spire-server"],
                [RELEASE, "spire-crds", "spire-server/spire-crds"],
                [RELEASE, "spire-release", "spire-server/spire"],
                [NAMESPACE, "istio-namespace", "istio-system"],
                [CLUSTER_SPIFFE_ID, "registration-gateway", "istio-ingressgateway-reg"],
            ]);
            expect(imported).to.have.length(5);
            // The release ids are the release names and namespace the program installs under: an import then never
            // meets a name or namespace change, the only changes that replace a release.
            const release = named(run.declared, "spire-release");
            expect(`${release.inputs.namespace}/${release.inputs.name}`).to.equal(release.importId);
            expect(spireImportIds("spire-server")).to.deep.equal({
                namespace: "spire-server",
                crdsRelease: "spire-server/spire-crds",
                release: "spire-server/spire",
            });
        });

        it("imports nothing unless asked: a fresh cluster's first deployment creates everything", async () => {
            const run = await runProgram(program, SEED_003_STACK);
            expect(run.declared.filter((d) => d.importId !== "").map((d) => d.name)).to.deep.equal([]);
        });

        it("derives the release ids from spireNamespace", async () => {
            const cluster = seed003Cluster();
            for (const [key, value] of Object.entries(cluster)) {
                if (key.startsWith("Release/spire-server/") || key === "Namespace/spire-server") {
                    delete cluster[key];
                    const moved = JSON.parse(JSON.stringify(value).replace(/spire-server/g, "spire-system"));
                    cluster[key.replace("spire-server", "spire-system")] = moved;
                }
            }
            const run = await runProgram(program, { ...SEED_003_STACK, spireNamespace: "spire-system", adopt: ADOPT_SEED_003 }, { cluster });
            expect(["spire-namespace", "spire-crds", "spire-release"].map((n) => named(run.declared, n).importId)).to.deep.equal([
                "spire-system",
                "spire-system/spire-crds",
                "spire-system/spire",
            ]);
        });

        it("takes the namespace over: its uid, and so the SPIRE installation id, is the existing namespace's", async () => {
            const run = await runProgram(program, { ...SEED_003_STACK, adopt: ADOPT_SEED_003 }, { cluster: seed003Cluster() });
            const namespaces = run.declared.filter((d) => d.type === NAMESPACE || d.type === "kubernetes:core/v1:NamespacePatch");
            expect(namespaces.map((d) => [d.type, d.inputs.metadata.name, d.importId])).to.have.deep.members([
                [NAMESPACE, "spire-server", "spire-server"],
                ["kubernetes:core/v1:NamespacePatch", "default", ""],
                [NAMESPACE, "istio-system", "istio-system"],
            ]);
            const uuid = run.declared.find((d) => d.type === "random:index/randomUuid:RandomUuid")!;
            expect(uuid.inputs.keepers.namespaceUid).to.equal("seed-uid-spire-server");
        });

        it("applies every adopted Kubernetes object with force, in a preview as in an update; a Helm release is no apply", async () => {
            const cluster = seed003Cluster();
            const run = await runProgram(program, { ...SEED_003_STACK, adopt: ADOPT_SEED_003 }, { cluster, preview: true });
            const imported = run.declared.filter((d) => d.importId !== "");
            const applied = imported.filter((d) => d.type !== RELEASE);
            expect(applied.map((d) => [d.name, d.inputs.metadata.annotations])).to.have.deep.members([
                ["spire-namespace", { "pulumi.com/patchForce": "true" }],
                ["istio-namespace", { "pulumi.com/patchForce": "true" }],
                ["registration-gateway", { "pulumi.com/patchForce": "true" }],
            ]);
            for (const d of applied) {
                const live = cluster[importedObject(d)];
                expect([d.name, appliesWithForce(d.inputs, live, true), appliesWithForce(d.inputs, live, false)]).to.deep.equal([d.name, true, true]);
                // Without the annotation the provider would not force: kubectl's managers own the fields.
                const bare = { ...d.inputs, metadata: { ...d.inputs.metadata, annotations: undefined } };
                expect([d.name, appliesWithForce(bare, live, true)]).to.deep.equal([d.name, false]);
            }
            // The releases are `helm upgrade`s (helm_release.go), which no field manager stops: nothing to force.
            expect(imported.filter((d) => d.type === RELEASE).map((d) => [d.name, d.inputs.metadata])).to.deep.equal([
                ["spire-crds", undefined],
                ["spire-release", undefined],
            ]);
            // Only adopted objects: the stack's provider forces nothing, and without adopt no object asks for force.
            const provider = run.declared.find((d) => d.type === "pulumi:providers:kubernetes")!;
            expect(provider.inputs.enablePatchForce).to.equal(undefined);
            const forced = run.declared.filter((d) => d.inputs?.metadata?.annotations?.[PATCH_FORCE_ANNOTATION] !== undefined);
            expect(forced.map((d) => d.name)).to.have.members(applied.map((d) => d.name));
            const fresh = await runProgram(program, SEED_003_STACK);
            expect(fresh.declared.filter((d) => JSON.stringify(d.inputs ?? {}).includes(PATCH_FORCE_ANNOTATION)).map((d) => d.name)).to.deep.equal([]);
        });

        it("fails the import with the engine's message when an object to adopt is not there", () => {
            // What the mock engine answers the registration (tools/mock-engine/harness.ts importObject).
            const cluster = seed003Cluster();
            delete cluster[objectKey("Release", "spire-server", "spire")];
            const release = { type: RELEASE, name: "spire-release", inputs: { name: "spire", namespace: "spire-server" }, provider: "", custom: true };
            expect(() => importObject({ ...release, id: "spire-server/spire" }, { cluster })).to.throw("resource 'spire-server/spire' does not exist");
            expect(() => importObject({ ...release, id: "spire-server/spire-crds" }, { cluster })).to.not.throw();
            const namespace = { type: NAMESPACE, name: "spire-namespace", inputs: { metadata: { name: "spire" } }, provider: "", custom: true };
            expect(() => importObject({ ...namespace, id: "spire" }, { cluster })).to.throw("resource 'spire' does not exist");
        });
    });

    describe("the preview of an adopted seed-003 cluster", () => {
        it("models the engine: imports without changes, updates after imports, refused replacements, conflicting creates", () => {
            const base = { urn: "", parent: "", dependsOn: [], ...NO_OPTIONS, read: false, id: "" };
            const cluster = { [objectKey("Release", "a", "r")]: { name: "r", namespace: "a", chart: "c", values: {} } };
            const release = (namespace: string, importId: string, values = {}): Declared =>
                ({ ...base, type: RELEASE, name: "r", inputs: { name: "r", namespace, chart: "c", values }, importId }) as Declared;
            expect(plan([release("a", "a/r")], cluster)).to.deep.equal([{ name: "r", op: "import", changed: [] }]);
            expect(plan([release("a", "a/r", { x: 1 })], cluster)).to.deep.equal([{ name: "r", op: "import, update", changed: ["values"] }]);
            expect(plan([release("b", "a/r")], cluster)).to.deep.equal([{ name: "r", op: "import fails: replace refused", changed: ["namespace"] }]);
            expect(plan([release("a", "")], cluster)).to.deep.equal([{ name: "r", op: "create fails: already exists", changed: [] }]);
            expect(plan([release("a", "b/r")], cluster)).to.deep.equal([{ name: "r", op: "import fails: not found", changed: [] }]);
        });

        it("leaves adopt harmless once the resources are in the state, whether imported or created by the stack", async () => {
            const run = await runProgram(program, { ...SEED_003_STACK, adopt: ADOPT_SEED_003 }, { cluster: seed003Cluster() });
            // The ids the providers give what the stack created itself: a release `<namespace>/<name>` (helm_release.go
            // Create: fqName), a cluster-scoped object its name; and what an earlier adoption imported.
            const createdIds: Record<string, string> = {
                "spire-namespace": "spire-server",
                "spire-crds": "spire-server/spire-crds",
                "spire-release": "spire-server/spire",
                "istio-namespace": "istio-system",
                "registration-gateway": "istio-ingressgateway-reg",
            };
            for (const d of run.declared.filter((r) => r.importId !== "")) {
                expect([d.name, engineImports(d.importId)]).to.deep.equal([d.name, true]);
                expect([d.name, engineImports(d.importId, { id: createdIds[d.name] })]).to.deep.equal([d.name, false]);
                expect([d.name, engineImports(d.importId, { id: createdIds[d.name], importId: d.importId })]).to.deep.equal([d.name, false]);
            }
        });

        it("is imports and updates of what exists, and creates of what does not: SPIRE is never re-created", async () => {
            const cluster = seed003Cluster();
            const run = await runProgram(program, { ...SEED_003_STACK, adopt: ADOPT_SEED_003 }, { cluster, preview: true });
            const steps = plan(run.declared, cluster);
            expect(steps.filter((s) => NEVER.includes(s.op))).to.deep.equal([]);
            const sorted = [...steps].sort((x, y) => x.name.localeCompare(y.name));
            expect(sorted).to.deep.equal([
                { name: "federation-bundle", op: "read", changed: [] },
                { name: "federation-bundle-configmap", op: "create", changed: [] },
                { name: "federation-service", op: "create", changed: [] },
                // Istio's releases are new Helm releases: istioctl made none. Helm takes the istioctl objects over
                // once they carry its ownership label and annotations (docs/adoption.md: the migration before `pulumi up`).
                { name: "istio-base", op: "create", changed: [] },
                { name: "istio-gateway", op: "create", changed: [] },
                { name: "istio-gateway-service", op: "read", changed: [] },
                { name: "istio-istiod", op: "create", changed: [] },
                { name: "istio-mtls", op: "create", changed: [] },
                // Each adopted object's only own change is the patchForce annotation (besides the program's values).
                { name: "istio-namespace", op: "import, update", changed: ["metadata.annotations"] },
                // The runbook's ClusterSPIFFEID gets this program's class and selectors, under its own name.
                { name: "registration-enroll-default", op: "create", changed: [] },
                {
                    name: "registration-gateway",
                    op: "import, update",
                    changed: ["metadata.annotations", "spec.className", "spec.namespaceSelector", "spec.podSelector"],
                },
                { name: "registration-workloads", op: "create", changed: [] },
                // The releases: a `helm upgrade` to the pinned charts and the program's values, under the same name
                // and namespace, so the SPIRE server keeps its datastore and CA (a replacement would mint a new CA).
                { name: "spire-crds", op: "import, update", changed: ["chart", "compat", "repositoryOpts", "timeout", "values", "version"] },
                { name: "spire-namespace", op: "import, update", changed: ["metadata.annotations", "metadata.labels.pod-security.kubernetes.io/enforce"] },
                { name: "spire-release", op: "import, update", changed: ["chart", "compat", "repositoryOpts", "timeout", "values", "version"] },
            ]);
        });

        it("without adopt, fails on every object seed 003 already has", async () => {
            const cluster = seed003Cluster();
            const run = await runProgram(program, SEED_003_STACK, { cluster, preview: true });
            const failing = plan(run.declared, cluster).filter((s) => NEVER.includes(s.op));
            expect(failing.map((s) => [s.name, s.op])).to.have.deep.members([
                ["spire-namespace", "create fails: already exists"],
                ["spire-crds", "create fails: already exists"],
                ["spire-release", "create fails: already exists"],
                ["registration-gateway", "create fails: already exists"],
                ["istio-namespace", "create fails: already exists"],
            ]);
        });
    });
});
