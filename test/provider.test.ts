// Always the intended cluster: one explicit Kubernetes provider per stack, on the stack's kubernetes:context, carries
// every Kubernetes resource; a stack without a context is refused before anything is declared; the project disables
// the default Kubernetes provider.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { MANIFEST_DEFAULT_NAMESPACE, STACK_PROVIDER_NAME, checkKubernetesContext, kubernetesConfigProblems, stackKubernetesProvider } from "../components";
import { Declared, ProgramRun, runProgram, runProgramExpectingError } from "../tools/mock-engine/harness";
import { renderStacks } from "../tools/render/render";
import { loadStackSources } from "../tools/stack-files/stackFiles";
import { BOOKINFO_MANIFEST_OBJECTS, manifestObjectNames, providerDefaultNamespace } from "./engineModel";
import { fixtureBundle, removeTestProject, testProject, testStackConfig } from "./testStacks";

const program: () => Promise<any> = require("../index");
const ORG = "organization/istio-spire";
const PROVIDER_TYPE = "pulumi:providers:kubernetes";
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };

const UNSET_MESSAGE =
    "Invalid configuration: kubernetes:context: is not set; expected the name of the kubeconfig context of this stack's cluster " +
    "(without one, the current context is used, whichever cluster it is); set it with `pulumi config set kubernetes:context <kube context>`";
const emptyMessage = (value: string) =>
    `Invalid configuration: kubernetes:context: ${JSON.stringify(value)} is empty; expected the name of the kubeconfig context of this stack's cluster ` +
    "(without one, the current context is used, whichever cluster it is); set it with `pulumi config set kubernetes:context <kube context>`";

/**
 * The types the program declares without a namespace: cluster-scoped objects (a Namespace, its patch, the SPIRE
 * controller manager's cluster-wide resources) and the ConfigFile component, whose objects Bookinfo's transform places.
 */
const CLUSTER_SCOPED_OR_MANIFEST = [
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:NamespacePatch",
    "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain",
    "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID",
    "kubernetes:yaml/v2:ConfigFile",
];

/** The one Kubernetes provider a run declared (fails unless there is exactly one), and its reference. */
function theProvider(run: ProgramRun<unknown>): { provider: Declared; ref: string } {
    const providers = run.declared.filter((d) => d.type === PROVIDER_TYPE);
    expect(providers.map((p) => p.name)).to.deep.equal([STACK_PROVIDER_NAME]);
    // The mock runtime gives a provider the id `<name>-id`.
    return { provider: providers[0], ref: `${providers[0].urn}::${STACK_PROVIDER_NAME}-id` };
}

/** Every Kubernetes resource of a run (registered or read) whose provider is not `ref`: `<type> <name> -> <provider>`. */
function offProvider(run: ProgramRun<unknown>, ref: string): string[] {
    return run.declared.filter((d) => d.type.startsWith("kubernetes:") && d.provider !== ref).map((d) => `${d.type} ${d.name} -> "${d.provider}"`);
}

describe("the stack's Kubernetes provider", () => {
    // The federation sequence of the test stacks (both samples sides, observability, a federated peer each), and a
    // preview of a first deployment (reads whose ids are not known yet): every kind of Kubernetes resource the program
    // declares appears in one of them.
    const runs: Record<string, ProgramRun<any>> = {};
    before(async () => {
        const world = (n: number, stackOutputs: Record<string, Record<string, unknown>>) => ({ ownBundle: fixtureBundle(`cluster${n}.demo`), stackOutputs });
        const c1 = { ...testStackConfig("cluster1"), "kubernetes:context": "kind-east" };
        const c2 = { ...testStackConfig("cluster2"), "kubernetes:context": "kind-west" };
        runs.cluster1 = await runProgram(program, c1, world(1, { [`${ORG}/cluster2`]: {} }), "cluster1");
        runs.cluster2 = await runProgram(program, c2, world(2, { [`${ORG}/cluster1`]: runs.cluster1.outputs }), "cluster2");
        runs.federated1 = await runProgram(program, c1, world(1, { [`${ORG}/cluster2`]: runs.cluster2.outputs }), "cluster1");
        runs.preview = await runProgram(program, c1, { preview: true, stackOutputs: { [`${ORG}/cluster2`]: {} } }, "cluster1");
    });

    it("is declared once per stack, on the configured kube context", () => {
        for (const [name, run] of Object.entries(runs)) {
            const { provider } = theProvider(run);
            expect([provider.parent, provider.inputs.context], name).to.deep.equal(["", name === "cluster2" ? "kind-west" : "kind-east"]);
            expect(provider.inputs, name).to.not.have.property("kubeconfig");
        }
    });

    it("carries every Kubernetes resource: Helm releases, objects, patches, custom resources, the manifest and every read", () => {
        const seen = new Set<string>();
        for (const [name, run] of Object.entries(runs)) {
            const { ref } = theProvider(run);
            expect(offProvider(run, ref), name).to.deep.equal([]);
            run.declared.filter((d) => d.type.startsWith("kubernetes:")).forEach((d) => seen.add(d.read ? `read ${d.type}` : d.type));
        }
        // The check above covered each kind of resource the program has.
        expect([...seen].sort()).to.include.members([
            "kubernetes:core/v1:ConfigMapPatch",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:NamespacePatch",
            "kubernetes:helm.sh/v3:Release",
            "kubernetes:networking.istio.io/v1:ServiceEntry",
            "kubernetes:security.istio.io/v1:AuthorizationPolicy",
            "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain",
            "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID",
            "kubernetes:yaml/v2:ConfigFile",
            "read kubernetes:core/v1:ConfigMap",
            "read kubernetes:core/v1:Service",
        ]);
        // Also while the reads' ids are unknown (a preview of the first deployment).
        expect(runs.preview.declared.filter((d) => d.read).length).to.be.above(0);
    });

    it("takes kubernetes:kubeconfig too, as a secret", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\ncurrent-context: kind-east\n";
        const run = await runProgram(program, { ...CLUSTER1, "kubernetes:kubeconfig": kubeconfig });
        const { provider, ref } = theProvider(run);
        expect([provider.inputs.context, provider.inputs.kubeconfig]).to.deep.equal(["cluster1", kubeconfig]);
        expect(offProvider(run, ref)).to.deep.equal([]);
        // Read with getSecret, never in plain text: it stays encrypted in the provider's state.
        const config = {
            require: (key: string) => ({ context: "kind-east" })[key],
            getSecret: (key: string) => (key === "kubeconfig" ? pulumi.secret(kubeconfig) : undefined),
            get: (key: string) => {
                throw new Error(`kubernetes:${key} read in plain text`);
            },
        } as unknown as pulumi.Config;
        const alone = await runProgram(async () => {
            stackKubernetesProvider(config);
            return {};
        }, {});
        expect(alone.declared.map((d) => [d.type, d.name, d.inputs.context, d.inputs.kubeconfig])).to.deep.equal([
            [PROVIDER_TYPE, "cluster", "kind-east", kubeconfig],
        ]);
    });

    describe("a stack without a kube context is refused before any resource, naming kubernetes:context", () => {
        it("when the key is not set", async () => {
            const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, "kubernetes:context": undefined });
            expect(error.message).to.equal(UNSET_MESSAGE);
            expect(declared).to.deep.equal([]);
        });

        for (const value of ["", "   "]) {
            it(`when it is ${JSON.stringify(value)}`, async () => {
                const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, "kubernetes:context": value });
                expect(error.message).to.equal(emptyMessage(value));
                expect(declared).to.deep.equal([]);
            });
        }

        it("together with the other configuration problems, in one error", async () => {
            const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, clusterName: "Bad_Name", "kubernetes:context": "" });
            expect(error.message.split("\n").slice(0, 3)).to.deep.equal([
                "Invalid configuration (2 problems):",
                `  - ${emptyMessage("").slice("Invalid configuration: ".length)}`,
                '  - clusterName: "Bad_Name" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
            ]);
            expect(declared).to.deep.equal([]);
        });

        it("in an offline render of a stack file without it, as its preview fails", async () => {
            const dir = testProject({
                east: { "istio-spire:trustDomain": "east.demo", "istio-spire:clusterName": "east" },
                west: { "kubernetes:context": "kind-west", "istio-spire:trustDomain": "west.demo", "istio-spire:clusterName": "west" },
            });
            try {
                const results = await renderStacks(program, loadStackSources(dir));
                expect(results.map((r) => [r.stack, r.ok ? "ok" : r.error])).to.deep.equal([
                    ["east", UNSET_MESSAGE],
                    ["west", "ok"],
                ]);
            } finally {
                removeTestProject(dir);
            }
        });
    });

    describe("Bookinfo's resource names do not depend on the kube context's namespace", () => {
        // The kube contexts a stack may run under: a context without a namespace, and one after `kubens team-a`.
        const CONTEXT_NAMESPACES = [undefined, "team-a"];
        const namesUnder = (run: ProgramRun<unknown>) => {
            const { provider } = theProvider(run);
            return CONTEXT_NAMESPACES.map((ns) => manifestObjectNames("bookinfo-manifest", providerDefaultNamespace(provider.inputs, ns)));
        };

        it("fixes the provider's default namespace when the stack deploys Bookinfo: the same 14 names under every context", () => {
            expect(theProvider(runs.cluster2).provider.inputs.namespace).to.equal("default");
            expect(MANIFEST_DEFAULT_NAMESPACE).to.equal("default");
            const [plain, teamA] = namesUnder(runs.cluster2);
            expect(teamA).to.deep.equal(plain);
            expect(plain).to.have.length(14);
            // The names a stack deployed from a context without a namespace already has: nothing is renamed.
            expect(plain).to.deep.equal(BOOKINFO_MANIFEST_OBJECTS.map((o) => `bookinfo-manifest:default/${o.name}`));
            expect(plain.slice(0, 2)).to.deep.equal(["bookinfo-manifest:default/details", "bookinfo-manifest:default/bookinfo-details"]);
        });

        it("leaves the provider of a stack without Bookinfo as it was (no namespace)", () => {
            const { provider } = theProvider(runs.cluster1);
            expect(provider.inputs).to.deep.equal({ context: "kind-east" });
            // Had it Bookinfo, `kubens team-a` would rename every object: what the fixed namespace prevents.
            const [plain, teamA] = namesUnder(runs.cluster1);
            expect(teamA[0]).to.equal("bookinfo-manifest:team-a/details");
            expect(teamA).to.not.deep.equal(plain);
        });

        it("changes nothing else: every other namespaced object and every Helm release names its namespace", () => {
            // The provider's default namespace reaches only what has no namespace of its own (provider.go Check sets it
            // on a namespaced object without one; Configure gives it to Helm's settings).
            const unnamespaced = new Set<string>();
            for (const run of Object.values(runs)) {
                run.declared
                    .filter((d) => d.type.startsWith("kubernetes:") && !d.read)
                    .filter((d) => (d.type.endsWith(":Release") ? !d.inputs.namespace : !d.inputs.metadata?.namespace))
                    .forEach((d) => unnamespaced.add(d.type));
            }
            expect([...unnamespaced].sort()).to.deep.equal(CLUSTER_SCOPED_OR_MANIFEST);
        });
    });

    it("checks the context as a plain function", () => {
        expect(checkKubernetesContext("kind-east")).to.equal(undefined);
        expect(checkKubernetesContext("arn:aws:eks:eu-west-1:123456789012:cluster/east")).to.equal(undefined);
        expect(checkKubernetesContext(undefined)).to.match(/^is not set; expected the name of the kubeconfig context/);
        expect(checkKubernetesContext("\t")).to.match(/^is empty; /);
        expect(checkKubernetesContext(3)).to.match(/^is not a string; /);
        expect(kubernetesConfigProblems(() => undefined)).to.deep.equal([UNSET_MESSAGE.slice("Invalid configuration: ".length)]);
        expect(kubernetesConfigProblems((key) => (key === "context" ? "kind-east" : undefined))).to.deep.equal([]);
    });

    it("is the only one: Pulumi.yaml disables the default Kubernetes provider for every stack", () => {
        const project = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
        // A project-level key outside the project namespace takes a `value` (pulumi/pulumi
        // sdk/go/common/workspace/project.go: "is namespaced and must provide an attribute 'value'"); the engine denies
        // a default provider for each package listed (pkg/resource/deploy/default_providers.go shouldDenyRequest).
        expect(project.config["pulumi:disable-default-providers"]).to.deep.equal({ value: ["kubernetes"] });
    });
});
