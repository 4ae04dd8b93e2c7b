// An in-memory FleetWorkspace (tools/fleet/fleet.ts) whose `up` and `preview` run the real program (index.ts) under
// the mock engine (tools/mock-engine/harness.ts), so the fleet's convergence is judged against what the program really
// exports, not against a model of it:
//   - each stack's config is its Pulumi.<stack>.yaml in the project directory, read at every run (edit it between
//     runs to model a config change);
//   - every stack reference sees the outputs of the other stacks' last `up` ({} for a stack created but never
//     deployed; a stack not created does not exist, and the program fails with the engine's "unknown stack");
//   - SPIRE publishes the trust bundle (test/fixtures/<trustDomain>.bundle.json) by the stack's first `up`, or by a
//     later one (`bundlePublishedFrom`), as docs/federation.md's first deployment describes;
//   - a preview is what the next `up` would declare now compared with what the last `up` declared, counted per
//     resource as the engine's change summary counts steps: same, update, create, delete, and read for reads.
// Failures can be scripted per operation and stack (`failures`), with the message Pulumi would give.
//
// Time is simulated (SimulatedClock): every `up` and `preview`, failed or not, takes one unit, and operations called
// while others are in progress overlap, so the fleet's wall time is counted in runs. An operation sees the other
// stacks as they were when it started and its own result lands when it ends, as with Pulumi. The mock runtime is one
// per process, so the program runs themselves take turns; that costs no simulated time.

import { ChangeSummary, FleetWorkspace, StackOutputs } from "../tools/fleet/workspace";
import { validatePeerExports, spireServerSpiffeId } from "../components/mesh/federation";
import { Declared, runProgram, unknownStackError } from "../tools/mock-engine/harness";
import { readStackFile } from "../tools/stack-files/stackFiles";
import * as fs from "fs";
import * as path from "path";

const program: () => Promise<any> = require("../index");

/** A scripted failure: the `nth` (1-based, default 1) `op` of `stack` fails with `message`. */
export interface ScriptedFailure {
    op: "up" | "preview" | "destroy" | "create";
    stack: string;
    nth?: number;
    message: string;
}

export interface FakeFleetOptions {
    /** The directory holding the `Pulumi.<stack>.yaml` files. */
    projectDir: string;
    /** Stacks that exist before the fleet runs (created, never deployed). @default none */
    existing?: string[];
    /** The organization of every stack (peers name `<organization>/istio-spire/<stack>`). @default "organization" */
    organization?: string;
    failures?: ScriptedFailure[];
    /** The `up` of each stack (1-based) by which SPIRE has published its bundle. @default 1 for every stack */
    bundlePublishedFrom?: Record<string, number>;
    /** Stacks of other projects, by fully qualified name, with their outputs. */
    foreignStacks?: Record<string, StackOutputs>;
    /**
     * "real" runs index.ts under the mock engine. "model" computes only the exports the fleet reads, as index.ts does
     * (the stack's `federation`; its peers judged by the program's own validatePeerExports: `federatedWith` the ready
     * ones, `pendingPeers` the others) and declares one resource per federated peer: for fleets of 50 stacks, where
     * the real program costs seconds per run. @default "real"
     */
    program?: "real" | "model";
}

/**
 * Simulated time for operations that overlap: each operation begins, then ends at a time of its choosing; the clock
 * moves to the earliest end once every operation in progress is waiting for its end (checked after the callers have
 * reacted to the previous ends: a setImmediate runs after every pending promise continuation).
 */
export class SimulatedClock {
    public now = 0;
    /** The most operations in progress at once. */
    public highest = 0;
    private busy = 0;
    private ending: { at: number; seq: number; end: () => void }[] = [];
    private seq = 0;
    private checking = false;

    begin(): void {
        this.busy++;
        this.highest = Math.max(this.highest, this.busy);
    }

    /** Ends an operation at time `at`: `land` runs then (before any caller sees it), and the promise resolves. */
    endAt(at: number, land: () => void): Promise<void> {
        return new Promise((resolve) => {
            this.ending.push({ at, seq: this.seq++, end: () => (land(), resolve()) });
            this.check();
        });
    }

    private check(): void {
        if (this.checking) {
            return;
        }
        this.checking = true;
        setImmediate(() => {
            this.checking = false;
            if (this.ending.length === 0 || this.ending.length < this.busy) {
                return; // an operation is still working (or nothing waits): its endAt checks again
            }
            this.now = Math.min(...this.ending.map((e) => e.at));
            const due = this.ending.filter((e) => e.at === this.now).sort((a, b) => a.seq - b.seq);
            this.ending = this.ending.filter((e) => e.at !== this.now);
            this.busy -= due.length;
            due.forEach((e) => e.end());
            if (this.ending.length > 0) {
                this.check();
            }
        });
    }
}

/** One `up` or `preview` in simulated time. */
export interface TimedOperation {
    op: "up" | "preview";
    stack: string;
    start: number;
    end: number;
}

/** The trust bundle SPIRE publishes for a trust domain: its fixture, or one whose CA names no SPIFFE ID (any domain). */
function publishedBundle(trustDomain: string): string {
    const fixture = path.join(__dirname, "fixtures", `${trustDomain}.bundle.json`);
    return fs.readFileSync(fs.existsSync(fixture) ? fixture : path.join(__dirname, "fixtures", "no-spiffe-id.bundle.json"), "utf8");
}

interface ProgramWorld {
    stack: string;
    config: Record<string, unknown>;
    stackOutputs: Record<string, Record<string, unknown>>;
    ownBundle?: string;
}

interface Deployment {
    outputs: StackOutputs;
    declared: Declared[];
}

export class FakeFleetWorkspace implements FleetWorkspace {
    /** Every operation, in order: `list`, `outputs <stack>`, `create <stack>`, `up <stack>`, `preview <stack>`, `destroy <stack>`. */
    public readonly calls: string[] = [];
    private readonly created: Set<string>;
    private readonly deployments = new Map<string, Deployment>();
    private readonly ups = new Map<string, number>();
    private readonly counts = new Map<string, number>();
    private readonly organization: string;
    /** The simulated clock of `up` and `preview`. */
    public readonly clock = new SimulatedClock();
    /** Every `up` and `preview`, with its start and end in simulated time, in the order they started. */
    public readonly timeline: TimedOperation[] = [];
    /** Stacks with an operation in progress: a second one would be Pulumi's ConcurrentUpdateError. */
    private readonly inProgress = new Set<string>();
    /** The program runs take turns (one mock runtime per process). */
    private turn: Promise<unknown> = Promise.resolve();

    constructor(private readonly options: FakeFleetOptions) {
        this.created = new Set(options.existing ?? []);
        this.organization = options.organization ?? "organization";
    }

    /** The directory of the stack files. */
    get projectDir(): string {
        return this.options.projectDir;
    }

    /** The operations that change or preview a stack (no `list`, no `outputs`). */
    get steps(): string[] {
        return this.calls.filter((call) => !call.startsWith("list") && !call.startsWith("outputs "));
    }

    async listStacks(): Promise<string[]> {
        this.calls.push("list");
        return [...this.created].sort();
    }

    async createStack(stack: string): Promise<void> {
        this.begin("create", stack);
        if (this.created.has(stack)) {
            throw new Error(`stack '${stack}' already exists`);
        }
        this.created.add(stack);
    }

    async up(stack: string): Promise<StackOutputs> {
        const upNumber = (this.ups.get(stack) ?? 0) + 1;
        const run = await this.timed("up", stack, upNumber);
        this.ups.set(stack, upNumber);
        this.deployments.set(stack, run);
        return structuredClone(run.outputs);
    }

    async preview(stack: string): Promise<ChangeSummary> {
        const before = this.deployments.get(stack)?.declared ?? [];
        const after = (await this.timed("preview", stack, this.ups.get(stack) ?? 0)).declared;
        return changeSummary(before, after);
    }

    /**
     * One unit of simulated time: the program runs as `stack` against the other stacks as they are now, and the
     * operation ends (with the run's result or failure) one unit later.
     */
    private async timed(op: "up" | "preview", stack: string, upNumber: number): Promise<Deployment> {
        if (this.inProgress.has(stack)) {
            throw new Error(`[409] Conflict: Another update is currently in progress (${op} ${stack})`);
        }
        this.clock.begin();
        this.inProgress.add(stack);
        const timed: TimedOperation = { op, stack, start: this.clock.now, end: this.clock.now + 1 };
        this.timeline.push(timed);
        let result: { run?: Deployment; error?: unknown };
        try {
            this.begin(op, stack);
            const world = this.world(stack, upNumber);
            const running = this.turn.then(() => this.runProgram(world));
            this.turn = running.catch(() => undefined);
            result = { run: await running };
        } catch (error) {
            result = { error };
        }
        await this.clock.endAt(timed.end, () => this.inProgress.delete(stack));
        if (result.run === undefined) {
            throw result.error;
        }
        return result.run;
    }

    async destroy(stack: string): Promise<void> {
        this.begin("destroy", stack);
        this.deployments.delete(stack);
    }

    async outputs(stack: string): Promise<StackOutputs> {
        this.calls.push(`outputs ${stack}`);
        this.mustExist(stack);
        return structuredClone(this.deployments.get(stack)?.outputs ?? {});
    }

    /** What the last `up` of a stack exported (undefined if none). */
    exported(stack: string): StackOutputs | undefined {
        return this.deployments.get(stack)?.outputs;
    }

    private begin(op: ScriptedFailure["op"], stack: string): void {
        this.calls.push(`${op} ${stack}`);
        const key = `${op} ${stack}`;
        const nth = (this.counts.get(key) ?? 0) + 1;
        this.counts.set(key, nth);
        const failure = this.options.failures?.find((f) => f.op === op && f.stack === stack && (f.nth ?? 1) === nth);
        if (failure !== undefined) {
            throw new Error(failure.message);
        }
        if (op !== "create") {
            this.mustExist(stack);
        }
    }

    private mustExist(stack: string): void {
        if (!this.created.has(stack)) {
            // The CLI's words (pulumi stack select), which the Automation API turns into a StackNotFoundError.
            throw new Error(`no stack named '${stack}' found`);
        }
    }

    /** What a run of `stack` sees now: its config, the other stacks' outputs, SPIRE published by its `upNumber`th up. */
    private world(stack: string, upNumber: number): ProgramWorld {
        const config = stackConfig(this.options.projectDir, stack);
        const stackOutputs: Record<string, Record<string, unknown>> = { ...(this.options.foreignStacks ?? {}) };
        for (const name of this.created) {
            stackOutputs[`${this.organization}/istio-spire/${name}`] = structuredClone(this.deployments.get(name)?.outputs ?? {});
        }
        const published = upNumber >= (this.options.bundlePublishedFrom?.[stack] ?? 1);
        return { stack, config, stackOutputs, ownBundle: published ? publishedBundle(String(config.trustDomain)) : undefined };
    }

    /** The program (real or model) in that world. */
    private async runProgram(world: ProgramWorld): Promise<Deployment> {
        if (this.options.program === "model") {
            return modelProgram(world);
        }
        const { stack, config, stackOutputs, ownBundle } = world;
        const run = await runProgram(program, config, { stackOutputs, organization: this.organization, ownBundle }, stack);
        return { outputs: run.outputs as StackOutputs, declared: run.declared };
    }
}

/** The model program (FakeFleetOptions.program): the federation exports of index.ts, without its resources. */
function modelProgram({ stack, config, stackOutputs, ownBundle }: ProgramWorld): Deployment {
    const trustDomain = String(config.trustDomain);
    const peers = ((config.peers ?? []) as { stack: string }[]).map((p) => p.stack);
    const missing = peers.find((peer) => stackOutputs[peer] === undefined);
    if (missing !== undefined) {
        throw new Error(unknownStackError(missing)); // as the engine fails a reference to a stack that does not exist
    }
    const peerExports = validatePeerExports(
        trustDomain,
        peers.map((peer) => ({ stack: peer, federation: stackOutputs[peer].federation })),
    );
    const federatedWith = peerExports.ready.map((p) => p.federation.trustDomain).sort();
    const federation = {
        trustDomain,
        bundleEndpointUrl: `https://spire-bundle.${trustDomain}:8443`,
        endpointSpiffeId: spireServerSpiffeId(trustDomain),
        ...(ownBundle !== undefined ? { trustBundle: ownBundle } : {}),
        bundleEndpointProfile: "https_spiffe",
        installationId: `installation-${stack}`,
    };
    const resource = (name: string, inputs: unknown) =>
        ({ type: "model:federation", name, inputs, parent: "", dependsOn: [], provider: "", protect: false, id: "", read: false }) as unknown as Declared;
    return {
        outputs: { trustDomain, federation, federatedWith, pendingPeers: peerExports.pending.map((p) => p.stack) },
        declared: [resource("bundle-endpoint", federation), ...federatedWith.map((td) => resource(td, { trustDomain: td }))],
    };
}

/** A stack file's config as runProgram takes it: project keys without the `istio-spire:` prefix, others as they are. */
export function stackConfig(projectDir: string, stack: string): Record<string, unknown> {
    const source = readStackFile(projectDir, stack);
    return { ...source.config, ...source.otherConfig };
}

/** The engine's change summary between two runs' registrations, one step per resource. */
export function changeSummary(before: Declared[], after: Declared[]): ChangeSummary {
    const key = (d: Declared) => `${d.type}::${d.name}`;
    const state = (d: Declared) => JSON.stringify([d.inputs, d.parent, d.dependsOn, d.provider, d.protect, d.id]);
    const old = new Map(before.map((d) => [key(d), state(d)]));
    const summary: Record<string, number> = {};
    const count = (op: string) => (summary[op] = (summary[op] ?? 0) + 1);
    for (const d of after) {
        const previous = old.get(key(d));
        old.delete(key(d));
        count(d.read ? "read" : previous === undefined ? "create" : previous === state(d) ? "same" : "update");
    }
    for (let i = 0; i < old.size; i++) {
        count("delete");
    }
    return summary;
}
