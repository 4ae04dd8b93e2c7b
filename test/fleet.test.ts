// `npm run fleet`: the fleet's commands against a fake workspace whose `up` and `preview` run the real program under
// the mock engine (test/fakeFleetWorkspace.ts), so convergence is judged on what the program really exports.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { CommandError, ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { eventCollector, plainOutputs, pulumiMessage, qualifiedStackName, shortStackName } from "../tools/fleet/automation";
import { bootstrapOrder, loadProjectStacks } from "../tools/fleet/bootstrapOrder";
import { FleetCommand, FleetError, describeChanges, hasChanges, main, runFleet } from "../tools/fleet/fleet";
import { Progress, TerminalProgress, formatElapsed } from "../tools/fleet/progress";
import { FakeFleetOptions, FakeFleetWorkspace, changeSummary } from "./fakeFleetWorkspace";
import { removeTestProject, testProject } from "./testStacks";

const NAMES = ["cluster1", "cluster2", "cluster3"];
const ORG = "organization/istio-spire";

/** A stack file of the three-stack fleet: each stack federates with the two others. */
function stackFile(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "kubernetes:context": name,
        "istio-spire:trustDomain": `${name}.demo`,
        "istio-spire:clusterName": name,
        "istio-spire:peers": NAMES.filter((other) => other !== name).map((other) => ({ stack: `${ORG}/${other}` })),
        ...extra,
    };
}

const NO_BUNDLE = "has not published its trust bundle yet (needed to authenticate its https_spiffe endpoint)";
const NO_EXPORT = 'has no "federation" output yet';
const HEADER = (command: string) =>
    `fleet ${command}: stacks cluster1, cluster2, cluster3; bootstrap order cluster1 → cluster2 → cluster3 → cluster1 → cluster2`;

/** The five runs and three previews of a new fleet of three, as printed, after the header and the creations. */
const BOOTSTRAP_LINES = [
    "round 1",
    "[cluster1] run 1: up (first deployment)",
    `[cluster1] federated with none; pending cluster2 (${NO_EXPORT}), cluster3 (${NO_EXPORT})`,
    "[cluster2] run 2: up (first deployment)",
    `[cluster2] federated with cluster1.demo; pending cluster3 (${NO_EXPORT})`,
    "[cluster3] run 3: up (first deployment)",
    "[cluster3] federated with cluster1.demo, cluster2.demo; pending none",
    "[cluster1] run 4: up (peers cluster2, cluster3 ready now)",
    "[cluster1] federated with cluster2.demo, cluster3.demo; pending none",
    "[cluster2] run 5: up (peer cluster3 ready now)",
    "[cluster2] federated with cluster1.demo, cluster3.demo; pending none",
    "[cluster1] preview",
    "[cluster1] preview: no changes",
    "[cluster2] preview",
    "[cluster2] preview: no changes",
    "[cluster3] preview",
    "[cluster3] preview: no changes",
    "fleet up: converged in 5 runs: every stack federated with every peer, 3 previews without changes",
];

describe("npm run fleet (tools/fleet/fleet.ts)", function () {
    this.timeout(120000);
    let dir: string;
    let lines: string[];

    beforeEach(() => {
        dir = testProject(Object.fromEntries(NAMES.map((name) => [name, stackFile(name)])));
        lines = [];
    });
    afterEach(() => removeTestProject(dir));

    function fake(options: Omit<FakeFleetOptions, "projectDir"> = {}): FakeFleetWorkspace {
        return new FakeFleetWorkspace({ projectDir: dir, ...options });
    }

    /** A fleet command, one stack at a time (`--concurrency 1`) unless told. */
    function run(command: FleetCommand, workspace: FakeFleetWorkspace, maxRounds?: number, concurrency = 1): Promise<void> {
        return runFleet(command, { stacks: loadProjectStacks(workspace.projectDir), workspace, print: (line) => lines.push(line), maxRounds, concurrency });
    }

    async function failure(command: FleetCommand, workspace: FakeFleetWorkspace, maxRounds?: number): Promise<FleetError> {
        try {
            await run(command, workspace, maxRounds);
        } catch (error) {
            expect(error).to.be.instanceOf(FleetError);
            return error as FleetError;
        }
        throw new Error(`fleet ${command} was expected to fail`);
    }

    describe("up on a new fleet of three stacks, only cluster1 created", () => {
        // One bootstrap shared by the tests that only read or preview; the others deploy their own fleet.
        let fleetDir: string;
        let workspace: FakeFleetWorkspace;
        let upLines: string[];
        before(async () => {
            fleetDir = testProject(Object.fromEntries(NAMES.map((name) => [name, stackFile(name)])));
            workspace = new FakeFleetWorkspace({ projectDir: fleetDir, existing: ["cluster1"] });
            lines = [];
            await run("up", workspace);
            upLines = lines;
        });
        after(() => removeTestProject(fleetDir));

        /** A fleet of its own, bootstrapped like the shared one. */
        async function ownFleet(): Promise<FakeFleetWorkspace> {
            const own = fake({ existing: ["cluster1"] });
            await run("up", own);
            lines = [];
            return own;
        }

        it("creates the missing stacks, converges in 2N-1 = 5 runs in the bootstrap order, then previews every stack once", () => {
            expect(workspace.steps).to.deep.equal([
                "create cluster2",
                "create cluster3",
                "up cluster1",
                "up cluster2",
                "up cluster3",
                "up cluster1",
                "up cluster2",
                "preview cluster1",
                "preview cluster2",
                "preview cluster3",
            ]);
        });

        it("prints which stack, which run and why, and what is still pending and why after each run", () => {
            expect(upLines).to.deep.equal([
                HEADER("up"),
                "[cluster2] create: not in the backend yet",
                "[cluster3] create: not in the backend yet",
                ...BOOTSTRAP_LINES,
            ]);
        });

        it("leaves every stack federated with both peers, as the program exports it", () => {
            expect(NAMES.map((name) => [workspace.exported(name)?.federatedWith, workspace.exported(name)?.pendingPeers])).to.deep.equal([
                [["cluster2.demo", "cluster3.demo"], []],
                [["cluster1.demo", "cluster3.demo"], []],
                [["cluster1.demo", "cluster2.demo"], []],
            ]);
        });

        it("confirms a converged fleet with N previews and no run", async () => {
            const before = workspace.steps.length;
            await run("up", workspace);
            expect(workspace.steps.slice(before)).to.deep.equal(["preview cluster1", "preview cluster2", "preview cluster3"]);
            expect(lines).to.deep.equal([
                HEADER("up"),
                "round 1",
                "  nothing to run: every stack is federated with every peer",
                "[cluster1] preview",
                "[cluster1] preview: no changes",
                "[cluster2] preview",
                "[cluster2] preview: no changes",
                "[cluster3] preview",
                "[cluster3] preview: no changes",
                "fleet up: converged in 0 runs: every stack federated with every peer, 3 previews without changes",
            ]);
        });

        it("status: per stack its trust domain, peers federated and pending, and whether a preview shows changes", async () => {
            lines = [];
            await run("status", workspace);
            expect(lines).to.deep.equal([
                HEADER("status"),
                "cluster1: trust domain cluster1.demo; federated with cluster2.demo, cluster3.demo; pending none; preview: no changes",
                "cluster2: trust domain cluster2.demo; federated with cluster1.demo, cluster3.demo; pending none; preview: no changes",
                "cluster3: trust domain cluster3.demo; federated with cluster1.demo, cluster2.demo; pending none; preview: no changes",
            ]);
        });

        it("deploys a config change found by the previews, then previews again", async () => {
            const workspace = await ownFleet();
            const file = path.join(dir, "Pulumi.cluster2.yaml");
            fs.writeFileSync(file, stringify({ config: stackFile("cluster2", { "istio-spire:mtlsMode": "PERMISSIVE" }) }));
            const before = workspace.steps.length;
            await run("up", workspace);
            expect(workspace.steps.slice(before)).to.deep.equal([
                "preview cluster1",
                "preview cluster2",
                "preview cluster3",
                "up cluster2",
                "preview cluster1",
                "preview cluster2",
                "preview cluster3",
            ]);
            expect(lines).to.deep.equal([
                HEADER("up"),
                "round 1",
                "  nothing to run: every stack is federated with every peer",
                "[cluster1] preview",
                "[cluster1] preview: no changes",
                "[cluster2] preview",
                "[cluster2] preview: 1 to update",
                "[cluster3] preview",
                "[cluster3] preview: no changes",
                "round 2",
                "[cluster2] run 1: up (its preview shows changes (1 to update))",
                "[cluster2] federated with cluster1.demo, cluster3.demo; pending none",
                "[cluster1] preview",
                "[cluster1] preview: no changes",
                "[cluster2] preview",
                "[cluster2] preview: no changes",
                "[cluster3] preview",
                "[cluster3] preview: no changes",
                "fleet up: converged in 1 run: every stack federated with every peer, 3 previews without changes",
            ]);
        });

        it("destroy goes in reverse order", async () => {
            const workspace = await ownFleet();
            const before = workspace.steps.length;
            await run("destroy", workspace);
            expect(workspace.steps.slice(before)).to.deep.equal(["destroy cluster3", "destroy cluster2", "destroy cluster1"]);
            expect(lines).to.deep.equal([HEADER("destroy"), "destroy cluster3", "destroy cluster2", "destroy cluster1", "fleet destroy: 3 stacks destroyed"]);
        });
    });

    it("a failure in the middle does not stop the round; the command then names it (stack, step, Pulumi's message), and the next up resumes", async () => {
        const message = "kubernetes:helm.sh/v3:Release (spire-release): error: context deadline exceeded";
        const workspace = fake({ existing: NAMES, failures: [{ op: "up", stack: "cluster1", nth: 2, message }] });
        const error = await failure("up", workspace);
        expect(error.message).to.equal(
            `fleet up: round 1 ended with 1 failure (the next fleet up resumes from here):\n  cluster1: run 4: up failed: ${message}`,
        );
        expect(workspace.steps).to.deep.equal(["up cluster1", "up cluster2", "up cluster3", "up cluster1", "up cluster2"]);
        expect(lines).to.deep.equal([HEADER("up"), ...BOOTSTRAP_LINES.slice(0, 8), `[cluster1] run 4: up failed: ${message}`, ...BOOTSTRAP_LINES.slice(9, 11)]);
        // The next up runs only what is left: cluster1, then the previews.
        lines = [];
        const before = workspace.steps.length;
        await run("up", workspace);
        expect(workspace.steps.slice(before)).to.deep.equal(["up cluster1", "preview cluster1", "preview cluster2", "preview cluster3"]);
        expect(lines.slice(1, 4)).to.deep.equal(["round 1", "[cluster1] run 1: up (peers cluster2, cluster3 ready now)", BOOTSTRAP_LINES[8]]);
    });

    it("reports the program's own failure of a stack verbatim (an invalid stack file of cluster2)", async () => {
        fs.rmSync(path.join(dir, "Pulumi.cluster2.yaml"));
        fs.writeFileSync(path.join(dir, "Pulumi.cluster2.yaml"), stringify({ config: stackFile("cluster2", { "istio-spire:mtlsMode": "OFF" }) }));
        const workspace = fake({ existing: NAMES });
        const error = await failure("up", workspace);
        expect(error.message).to.equal(
            "fleet up: round 1 ended with 1 failure (the next fleet up resumes from here):\n" +
                '  cluster2: run 2: up failed: Invalid configuration: mtlsMode: "OFF" is not one of "STRICT", "PERMISSIVE"',
        );
        // The others go on; the failed stack is not run again in the round.
        expect(workspace.steps).to.deep.equal(["up cluster1", "up cluster2", "up cluster3", "up cluster1"]);
    });

    it("runs again a stack whose bundle SPIRE published late, and the peers that saw it pending", async () => {
        const workspace = fake({ existing: NAMES, bundlePublishedFrom: { cluster1: 2 } });
        await run("up", workspace);
        expect(workspace.steps.filter((s) => s.startsWith("up "))).to.deep.equal([
            "up cluster1",
            "up cluster2",
            "up cluster3",
            "up cluster1",
            "up cluster2",
            "up cluster3",
        ]);
        expect(lines.slice(4, 19)).to.deep.equal([
            "[cluster2] run 2: up (first deployment)",
            `[cluster2] federated with none; pending cluster1 (${NO_BUNDLE}), cluster3 (${NO_EXPORT})`,
            "[cluster3] run 3: up (first deployment)",
            `[cluster3] federated with cluster2.demo; pending cluster1 (${NO_BUNDLE})`,
            `[cluster1] run 4: up (peers cluster2, cluster3 ready now; cluster2, cluster3 see it pending: it ${NO_BUNDLE})`,
            "[cluster1] federated with cluster2.demo, cluster3.demo; pending none",
            "[cluster2] run 5: up (peers cluster1, cluster3 ready now)",
            "[cluster2] federated with cluster1.demo, cluster3.demo; pending none",
            "round 2",
            "[cluster3] run 6: up (peer cluster1 ready now)",
            "[cluster3] federated with cluster1.demo, cluster2.demo; pending none",
            "[cluster1] preview",
            "[cluster1] preview: no changes",
            "[cluster2] preview",
            "[cluster2] preview: no changes",
        ]);
    });

    it("gives up after the maximum number of rounds, saying what is still pending", async () => {
        const workspace = fake({ existing: NAMES, bundlePublishedFrom: { cluster1: 2 } });
        const error = await failure("up", workspace, 1);
        expect(error.message).to.equal(
            "fleet up: not converged after 1 round (5 runs): cluster3 pending cluster1 (is ready; cluster3 federates with it on its next run)",
        );
        expect(workspace.steps.filter((s) => s.startsWith("preview "))).to.deep.equal([]);
    });

    it("stops when nothing left to run can federate a peer outside the fleet", async () => {
        const foreign = `${ORG}/edge`; // a stack of the project without a stack file in this directory
        fs.rmSync(path.join(dir, "Pulumi.cluster1.yaml"));
        const peers = [{ stack: `${ORG}/cluster2` }, { stack: `${ORG}/cluster3` }, { stack: foreign }];
        fs.writeFileSync(path.join(dir, "Pulumi.cluster1.yaml"), stringify({ config: stackFile("cluster1", { "istio-spire:peers": peers }) }));
        const workspace = fake({ existing: NAMES, foreignStacks: { [foreign]: {} } });
        const error = await failure("up", workspace);
        expect(error.message).to.equal(
            `fleet up: nothing left to run, but federation is not in place: cluster1 pending ${foreign} (is not a stack of this project directory: deploy it, then run again)`,
        );
        expect(workspace.steps.filter((s) => s.startsWith("up "))).to.have.length(5);
    });

    it("status and preview of a fleet stopped half-way: not deployed, pending peers, previews with changes", async () => {
        const workspace = fake({
            existing: NAMES,
            failures: [
                { op: "up", stack: "cluster3", message: "boom" },
                { op: "up", stack: "cluster1", nth: 2, message: "boom" },
            ],
        });
        await failure("up", workspace);
        lines = [];
        await run("status", workspace);
        expect(lines).to.deep.equal([
            HEADER("status"),
            `cluster1: trust domain cluster1.demo; federated with none; pending cluster2 (is ready; cluster1 federates with it on its next run), cluster3 (${NO_EXPORT}); preview: 2 to create, 3 to update`,
            `cluster2: trust domain cluster2.demo; federated with cluster1.demo; pending cluster3 (${NO_EXPORT}); preview: no changes`,
            "cluster3: not deployed; preview: 23 to create",
        ]);
        lines = [];
        await run("preview", workspace);
        expect(lines).to.deep.equal([
            HEADER("preview"),
            "preview cluster1: 2 to create, 3 to update",
            "preview cluster2: no changes",
            "preview cluster3: 23 to create",
        ]);
    });

    it("preview, status and destroy leave stacks that do not exist alone", async () => {
        // A preview of cluster2 would fail: its stack reference to cluster1, which does not exist, fails the run.
        const workspace = fake({ existing: ["cluster2", "cluster3"] });
        await run("preview", workspace);
        await run("status", workspace);
        await run("destroy", workspace);
        expect(workspace.steps).to.deep.equal(["destroy cluster3", "destroy cluster2"]);
        const notPreviewed = "not previewed: peer cluster1 does not exist (fleet up creates it)";
        expect(lines).to.deep.equal([
            HEADER("preview"),
            "preview cluster1: no such stack (fleet up creates it)",
            `preview cluster2: ${notPreviewed}`,
            `preview cluster3: ${notPreviewed}`,
            HEADER("status"),
            "cluster1: no such stack (fleet up creates it)",
            `cluster2: not deployed; preview: ${notPreviewed}`,
            `cluster3: not deployed; preview: ${notPreviewed}`,
            HEADER("destroy"),
            "destroy cluster3",
            "destroy cluster2",
            "destroy cluster1: no such stack, nothing to destroy",
            "fleet destroy: 3 stacks destroyed",
        ]);
    });

    it("destroy stops at the first failure (a protected SPIRE) with Pulumi's message", async () => {
        const message =
            'error: resource "urn:pulumi:cluster2::istio-spire::istio-spire:spire:Spire$kubernetes:core/v1:Namespace::spire-namespace" cannot be deleted because it is protected';
        const workspace = fake({ existing: NAMES, failures: [{ op: "destroy", stack: "cluster2", message }] });
        const error = await failure("destroy", workspace);
        expect(error.message).to.equal(`destroy cluster2 failed: ${message}`);
        expect(workspace.steps).to.deep.equal(["destroy cluster3", "destroy cluster2"]);
    });

    describe("main: the command line", () => {
        const io = () => {
            const out: string[] = [];
            const err: string[] = [];
            return { out, err, print: (line: string) => out.push(line), printError: (line: string) => err.push(line) };
        };

        it("exits 0 after a converged up, 1 with the message at a failure, 2 on a usage error", async () => {
            const ok = io();
            const organizations: (string | undefined)[] = [];
            const connect = async (projectDir: string, organization?: string) => {
                expect(projectDir).to.equal(dir);
                organizations.push(organization);
                return fake();
            };
            expect(await main(["up", "--cwd", dir, "--org", "acme"], { ...ok, workspace: connect })).to.equal(0);
            expect(organizations).to.deep.equal(["acme"]);
            // Eight at a time by default: every stack deployed at once, then every one again (2N runs).
            expect(ok.out.at(-1)).to.equal("fleet up: converged in 6 runs: every stack federated with every peer, 3 previews without changes");
            expect(ok.err).to.deep.equal([]);

            const failing = io();
            const workspace = async () => fake({ failures: [{ op: "up", stack: "cluster2", message: "error: no reachable cluster" }] });
            expect(await main(["up", "--cwd", dir, "--max-rounds", "2"], { ...failing, workspace })).to.equal(1);
            expect(failing.err).to.deep.equal([
                "fleet up: round 1 ended with 1 failure (the next fleet up resumes from here):\n  cluster2: run 2: up failed: error: no reachable cluster",
            ]);

            for (const argv of [[], ["deploy"], ["up", "--max-rounds", "0"], ["up", "--concurrency", "0"], ["up", "--cwd"]]) {
                const usage = io();
                expect(await main(argv, { ...usage, workspace: async () => fake() })).to.equal(2);
                expect(usage.err).to.deep.equal([
                    "usage: npm run fleet -- <preview|up|destroy|status> [--concurrency N] [--max-rounds N] [--cwd <projectDir>] [--org <organization>]",
                ]);
            }
        });
    });
});

/** A full mesh of `n` stacks, cluster1..cluster<n>: each federates with every other. */
function meshProject(n: number): { dir: string; names: string[] } {
    const names = Array.from({ length: n }, (_, i) => `cluster${i + 1}`);
    const files = names.map((name) => [
        name,
        {
            "kubernetes:context": name,
            "istio-spire:trustDomain": `${name}.demo`,
            "istio-spire:clusterName": name,
            "istio-spire:peers": names.filter((other) => other !== name).map((other) => ({ stack: `${ORG}/${other}` })),
        },
    ]);
    return { dir: testProject(Object.fromEntries(files)), names };
}

/** What a fleet up cost, in the fake's simulated time (one unit per run or preview; overlapping runs share it). */
function cost(workspace: FakeFleetWorkspace, lines: string[]) {
    const ups = workspace.timeline.filter((o) => o.op === "up");
    return {
        rounds: lines.filter((line) => /^round \d+$/.test(line)).length,
        runs: ups.length,
        highestConcurrency: workspace.clock.highest,
        // Wall time of the runs, then of everything (the previews of the end included), counted in runs.
        runsWallTime: Math.max(0, ...ups.map((o) => o.end)),
        wallTime: workspace.clock.now,
    };
}

describe("npm run fleet -- up --concurrency N: parallel rounds (simulated clock)", function () {
    this.timeout(120000);
    const dirs: string[] = [];
    after(() => dirs.forEach(removeTestProject));

    async function up(n: number, concurrency: number, options: Omit<FakeFleetOptions, "projectDir"> = {}) {
        const { dir, names } = meshProject(n);
        dirs.push(dir);
        const workspace = new FakeFleetWorkspace({ projectDir: dir, ...options });
        const lines: string[] = [];
        let error: unknown;
        try {
            await runFleet("up", { stacks: loadProjectStacks(dir), workspace, print: (line) => lines.push(line), concurrency });
        } catch (e) {
            error = e;
        }
        return { workspace, lines, names, error, dir };
    }

    for (const n of [2, 5]) {
        it(`a new fleet of ${n} (the real program): every stack at once, then every stack again: 2N runs in 2 runs of wall time`, async () => {
            const { workspace, lines, names, error } = await up(n, 8);
            expect(error).to.equal(undefined);
            expect(cost(workspace, lines)).to.deep.equal({ rounds: 1, runs: 2 * n, highestConcurrency: n, runsWallTime: 2, wallTime: 3 });
            // Every stack starts at 0 and at 1; the previews of every stack at 2.
            expect(workspace.timeline.map((o) => `${o.start} ${o.op} ${o.stack}`)).to.deep.equal([
                ...names.map((name) => `0 up ${name}`),
                ...names.map((name) => `1 up ${name}`),
                ...names.map((name) => `2 preview ${name}`),
            ]);
            for (const name of names) {
                expect(workspace.exported(name)?.federatedWith).to.deep.equal(names.filter((o) => o !== name).map((o) => `${o}.demo`));
            }
            expect(lines.at(-1)).to.equal(`fleet up: converged in ${2 * n} runs: every stack federated with every peer, ${n} previews without changes`);
        });
    }

    it("prints plain lines prefixed with the stack, in the order the runs start and end", async () => {
        const { lines } = await up(2, 8);
        const pending = (peer: string) => `pending ${peer} (${NO_EXPORT})`;
        expect(lines).to.deep.equal([
            "fleet up: stacks cluster1, cluster2; bootstrap order cluster1 → cluster2 → cluster1",
            "[cluster1] create: not in the backend yet",
            "[cluster2] create: not in the backend yet",
            "round 1",
            "[cluster1] run 1: up (first deployment)",
            "[cluster2] run 2: up (first deployment)",
            // Both ran side by side: each saw the other not deployed yet, and is ready now for the other's next run.
            `[cluster1] federated with none; ${pending("cluster2")}`,
            "[cluster2] federated with none; pending cluster1 (is ready; cluster2 federates with it on its next run)",
            "[cluster1] run 3: up (peer cluster2 ready now)",
            "[cluster2] run 4: up (peer cluster1 ready now)",
            "[cluster1] federated with cluster2.demo; pending none",
            "[cluster2] federated with cluster1.demo; pending none",
            "[cluster1] preview",
            "[cluster2] preview",
            "[cluster1] preview: no changes",
            "[cluster2] preview: no changes",
            "fleet up: converged in 4 runs: every stack federated with every peer, 2 previews without changes",
        ]);
    });

    it("a bundle SPIRE publishes only on its second run: 3 runs of wall time", async () => {
        const { workspace, lines } = await up(5, 8, { bundlePublishedFrom: { cluster1: 2 } });
        // Round 1: every stack twice (cluster1 publishes on its second run); round 2: the four that saw it pending.
        expect(cost(workspace, lines)).to.deep.equal({ rounds: 2, runs: 14, highestConcurrency: 5, runsWallTime: 3, wallTime: 4 });
        expect(lines.filter((line) => / run \d+: up /.test(line) && !line.includes("first deployment")).slice(3)).to.deep.equal([
            // cluster1's second run, which publishes its bundle, runs alongside: cluster4 and cluster5 see it pending.
            "[cluster4] run 9: up (peers cluster2, cluster3, cluster5 ready now)",
            "[cluster5] run 10: up (peers cluster2, cluster3, cluster4 ready now)",
            "[cluster2] run 11: up (peer cluster1 ready now)",
            "[cluster3] run 12: up (peer cluster1 ready now)",
            "[cluster4] run 13: up (peer cluster1 ready now)",
            "[cluster5] run 14: up (peer cluster1 ready now)",
        ]);
    });

    it("the model program gives the real program's runs and federation (5 stacks, a late bundle)", async () => {
        const real = await up(5, 8, { bundlePublishedFrom: { cluster3: 2 } });
        const model = await up(5, 8, { bundlePublishedFrom: { cluster3: 2 }, program: "model" });
        expect(model.workspace.timeline).to.deep.equal(real.workspace.timeline);
        expect(model.lines).to.deep.equal(real.lines);
    });

    it("50 stacks (the model program): 8 at a time, 50 at a time, and one at a time", async () => {
        const eight = await up(50, 8, { program: "model" });
        expect(eight.error).to.equal(undefined);
        // ceil(50/8) = 7 waves of first deployments, 7 of second runs, 7 of previews.
        expect(cost(eight.workspace, eight.lines)).to.deep.equal({ rounds: 1, runs: 100, highestConcurrency: 8, runsWallTime: 14, wallTime: 21 });
        const all = await up(50, 50, { program: "model" });
        expect(cost(all.workspace, all.lines)).to.deep.equal({ rounds: 1, runs: 100, highestConcurrency: 50, runsWallTime: 2, wallTime: 3 });
        // --concurrency 1: the minimal sequence, 2N-1 runs in the bootstrap order.
        const one = await up(50, 1, { program: "model" });
        expect(cost(one.workspace, one.lines)).to.deep.equal({ rounds: 1, runs: 99, highestConcurrency: 1, runsWallTime: 99, wallTime: 149 });
        expect(one.workspace.timeline.filter((o) => o.op === "up").map((o) => o.stack)).to.deep.equal(bootstrapOrder(loadProjectStacks(one.dir)));
    });

    it("failures in the middle of a round: the round finishes, every failure is named, the next up resumes", async () => {
        const failures = [
            { op: "up" as const, stack: "cluster2", message: "error: cluster2 is unreachable" },
            { op: "up" as const, stack: "cluster4", nth: 2, message: "kubernetes:helm.sh/v3:Release (spire-release): error: timeout\nsecond line" },
        ];
        const { workspace, lines, error, dir } = await up(5, 8, { failures });
        expect(error).to.be.instanceOf(FleetError);
        expect((error as Error).message).to.equal(
            [
                "fleet up: round 1 ended with 2 failures (the next fleet up resumes from here):",
                "  cluster2: run 2: up failed: error: cluster2 is unreachable",
                "  cluster4: run 8: up failed: kubernetes:helm.sh/v3:Release (spire-release): error: timeout",
                "    second line",
            ].join("\n"),
        );
        // Every other stack ran its round: 5 first runs at once, then the 4 that did not fail (cluster2 is not run again).
        expect(workspace.timeline.map((o) => `${o.start} ${o.op} ${o.stack}`)).to.deep.equal([
            "0 up cluster1",
            "0 up cluster2",
            "0 up cluster3",
            "0 up cluster4",
            "0 up cluster5",
            "1 up cluster1",
            "1 up cluster3",
            "1 up cluster4",
            "1 up cluster5",
        ]);
        expect(lines.filter((line) => line.includes("failed"))).to.deep.equal([
            "[cluster2] run 2: up failed: error: cluster2 is unreachable",
            "[cluster4] run 8: up failed: kubernetes:helm.sh/v3:Release (spire-release): error: timeout\nsecond line",
        ]);
        // The next up, on the same backend: cluster2's first deployment and cluster4's run, then every stack meets cluster2.
        const again: string[] = [];
        const before = workspace.timeline.length;
        await runFleet("up", { stacks: loadProjectStacks(dir), workspace, print: (line) => again.push(line), concurrency: 8 });
        expect(workspace.timeline.slice(before).map((o) => `${o.start} ${o.op} ${o.stack}`)).to.deep.equal([
            "2 up cluster2",
            "2 up cluster4",
            "3 up cluster1",
            "3 up cluster3",
            "3 up cluster4",
            "3 up cluster5",
            "4 preview cluster1",
            "4 preview cluster2",
            "4 preview cluster3",
            "4 preview cluster4",
            "4 preview cluster5",
        ]);
        expect(again.at(-1)).to.equal("fleet up: converged in 6 runs: every stack federated with every peer, 5 previews without changes");
    });

    it("a terminal shows a live line per stack: state and elapsed time, redrawn in place", async () => {
        const { dir } = meshProject(2);
        dirs.push(dir);
        const workspace = new FakeFleetWorkspace({ projectDir: dir, failures: [{ op: "up", stack: "cluster2", nth: 2, message: "error: boom\nmore" }] });
        const writes: string[] = [];
        // One unit of simulated time is 75 seconds.
        const progress = new TerminalProgress({
            stacks: ["cluster1", "cluster2"],
            write: (t) => writes.push(t),
            now: () => workspace.clock.now * 75000,
            tickMs: 0,
        });
        const seen: string[][] = [];
        // The block as drawn after each stack event.
        const watch: Progress = {
            line: (text) => progress.line(text),
            stack: (stack, state, text) => {
                progress.stack(stack, state, text);
                seen.push(progress.lines());
            },
            done: () => progress.done(),
        };
        const error = await runFleet("up", { stacks: loadProjectStacks(dir), workspace, print: () => undefined, progress: watch, concurrency: 8 }).catch(
            (e) => e,
        );
        expect(error).to.be.instanceOf(FleetError);
        // The end: cluster2's second run failed (the first line of its message), cluster1's federated, each in 1m15s.
        // At 1m15s: cluster1's first run ended (its duration shown), cluster2's is still running (its live time).
        expect(seen[4]).to.deep.equal([
            `cluster1  waiting    1m15s  federated with none; pending cluster2 (${NO_EXPORT})`,
            "cluster2  running    1m15s  run 2: up (first deployment)",
        ]);
        expect(seen[6]).to.deep.equal([
            "cluster1  running       0s  run 3: up (peer cluster2 ready now)",
            "cluster2  waiting    1m15s  federated with none; pending cluster1 (is ready; cluster2 federates with it on its next run)",
        ]);
        expect(seen.at(-1)).to.deep.equal([
            `cluster1  federated  1m15s  federated with cluster2.demo; pending none`,
            `cluster2  failed     1m15s  run 4: up failed: error: boom`,
        ]);
        // Drawn in place: the fleet's lines above, then the block moved up over and redrawn at every event.
        const ESC = "\x1b";
        expect(writes.slice(0, 4)).to.deep.equal([
            "fleet up: stacks cluster1, cluster2; bootstrap order cluster1 → cluster2 → cluster1\n",
            `\r${ESC}[2Kcluster1  waiting\n\r${ESC}[2Kcluster2  waiting\n`,
            `${ESC}[2A\r${ESC}[2Kcluster1  waiting       0s  create: not in the backend yet\n\r${ESC}[2Kcluster2  waiting\n`,
            `${ESC}[2A\r${ESC}[2Kcluster1  waiting       0s  create: not in the backend yet\n\r${ESC}[2Kcluster2  waiting       0s  create: not in the backend yet\n`,
        ]);
        expect(writes[4]).to.equal(`${ESC}[2A${ESC}[Jround 1\n`);
        expect([formatElapsed(999), formatElapsed(65000), formatElapsed(3723000)]).to.deep.equal(["0s", "1m05s", "1h02m"]);
    });

    it("a preview without a change summary is a failure, not 'no changes'", async () => {
        const { dir } = meshProject(2);
        dirs.push(dir);
        const workspace = new FakeFleetWorkspace({ projectDir: dir });
        const preview = workspace.preview.bind(workspace);
        // What Stack.preview resolves to when no summary event arrived: `{}` (and the adapter passes undefined).
        workspace.preview = async (stack) => (stack === "cluster2" ? (await preview(stack), {}) : preview(stack));
        const error = await runFleet("up", { stacks: loadProjectStacks(dir), workspace, print: () => undefined, concurrency: 8 }).catch((e) => e);
        expect((error as Error).message).to.equal(
            "fleet up: the previews ended with 1 failure (the next fleet up resumes from here):\n" +
                '  cluster2: preview failed: Pulumi gave no change summary for this preview (not taken for "no changes")',
        );
        // The adapter reads the summary from the engine's SummaryEvent: none seen, none given.
        const events = eventCollector();
        expect(events.changes()).to.equal(undefined);
        events.onEvent({
            sequence: 1,
            timestamp: 1,
            diagnosticEvent: { message: "boom", color: "never", severity: "error", prefix: "error: " },
        } as EngineEvent);
        events.onEvent({
            sequence: 2,
            timestamp: 2,
            summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: { same: 3 }, policyPacks: {} },
        } as EngineEvent);
        expect([events.changes(), events.diagnostics]).to.deep.equal([{ same: 3 }, ["error: boom"]]);
    });
});

describe("fleet helpers", () => {
    it("describeChanges names every change in a fixed order; same and reads are no change (as --expect-no-changes)", () => {
        expect(describeChanges({ same: 20, read: 3 })).to.equal("no changes");
        expect(describeChanges({ same: 1, delete: 1, update: 2, create: 3, discard: 1, "read-replacement": 1 })).to.equal(
            "3 to create, 2 to update, 1 to delete",
        );
        expect(describeChanges({ replace: 1, "some-new-op": 2 })).to.equal("1 to replace, 2 to some-new-op");
        expect([hasChanges({ same: 3 }), hasChanges({ same: 3, update: 0 }), hasChanges({ create: 1 })]).to.deep.equal([false, false, true]);
    });

    it("the fake's change summary counts one step per resource", () => {
        const base = { type: "t", parent: "", dependsOn: [], provider: "", protect: false, id: "", read: false } as any;
        const before = [
            { ...base, name: "a", inputs: { x: 1 } },
            { ...base, name: "b", inputs: {} },
            { ...base, name: "r", read: true, inputs: {} },
        ];
        const after = [
            { ...base, name: "a", inputs: { x: 2 } },
            { ...base, name: "c", inputs: {} },
            { ...base, name: "r", read: true, inputs: {} },
        ];
        expect(changeSummary(before, after)).to.deep.equal({ update: 1, create: 1, read: 1, delete: 1 });
    });

    it("the Automation API adapter: short stack names, plain outputs, Pulumi's message from a failed command", () => {
        expect(["cluster1", "acme/cluster1", "acme/istio-spire/cluster1"].map(shortStackName)).to.deep.equal(["cluster1", "cluster1", "cluster1"]);
        expect([qualifiedStackName("cluster1"), qualifiedStackName("cluster1", "acme")]).to.deep.equal(["cluster1", "acme/cluster1"]);
        expect(plainOutputs({ a: { value: 1, secret: false }, b: { value: { c: "d" }, secret: true } })).to.deep.equal({ a: 1, b: { c: "d" } });
        // A CommandError carries the CLI's result (automation/cmd.ts CommandResult); its message is the whole of it.
        const result = (stderr: string) => ({ stdout: "", stderr, code: 255, toString: () => `code: 255\n stdout: \n stderr: ${stderr}\n err?: \n` });
        const CommandErrorClass = CommandError as unknown as new (r: unknown) => CommandError;
        const ConcurrentClass = ConcurrentUpdateError as unknown as new (r: unknown) => ConcurrentUpdateError;
        const failed = new CommandErrorClass(result("error: no Pulumi.yaml project file found\n"));
        expect(pulumiMessage(failed, [])).to.equal("error: no Pulumi.yaml project file found");
        expect(pulumiMessage(failed, ["kubernetes:core/v1:Namespace (spire-namespace): error: timeout"])).to.equal(
            "kubernetes:core/v1:Namespace (spire-namespace): error: timeout",
        );
        const conflict = new ConcurrentClass(result("error: [409] Conflict: Another update is currently in progress."));
        expect(pulumiMessage(conflict, [])).to.equal(
            "another update of this stack is in progress (error: [409] Conflict: Another update is currently in progress.)",
        );
        expect(pulumiMessage(new Error("plain"), [])).to.equal("plain");
    });
});
