// `npm run fleet -- <preview|up|destroy|status>`: every stack of the project in one command.
//
// Federation makes a new fleet a sequence (bootstrapOrder.ts): create every stack, `pulumi up` each, run again the ones
// that saw a peer pending, then check that a preview of every stack shows no changes. This
// module is that sequence over a narrow FleetWorkspace (workspace.ts); automation.ts implements it with Pulumi's Automation API
// (needs the Pulumi CLI and a logged-in backend), and the tests with a fake that runs the real program under the mock
// engine (test/fakeFleetWorkspace.ts).
//
// What decides a run is what the program exports (index.ts): `federation` (the stack's own side, with `trustBundle`
// once SPIRE has published it), `federatedWith` (the trust domains of the peers it federated with in that run) and
// `pendingPeers` (the peers it could not federate with yet). A peer is judged ready exactly as the program judges
// it, with validatePeerExports on the peer's current outputs. A stack is run when:
//   - it was never deployed (first deployment);
//   - a peer it did not federate with in its last run is ready now;
//   - a stack that names it as peer still sees it pending (its `federation` had no trustBundle: SPIRE had not
//     published it yet when it ran);
//   - its preview, once federation is in place, shows changes (a config edit since its last `up`).
// Each round runs the stacks that need it, up to `concurrency` at once (see `up`); once every stack is federated with
// every declared peer, every stack is previewed and must show no changes. A new fleet of N stacks that all federate
// converges in one round: 2N runs in two runs of wall time when N fit at once, 2N-1 one at a time (the bootstrap
// order). A converged fleet costs N previews and no run.

import * as path from "path";
import { validatePeerExports } from "../../components/mesh/federation";
import { PEER_SAMPLES } from "../../components/samples/peerSamples";
import { PROJECT, StackPeers, bootstrapOrder, loadProjectStacks, peerStackName } from "./bootstrapOrder";
import { wantsHelp } from "../help";
import { Progress, TerminalProgress, plainProgress } from "./progress";
import { ChangeSummary, FleetWorkspace, StackOutputs } from "./workspace";

export const COMMANDS = ["preview", "up", "destroy", "status"] as const;
export type FleetCommand = (typeof COMMANDS)[number];

/** A failure that stops the fleet: which stack, which step, Pulumi's message. The command exits 1 with it. */
export class FleetError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "FleetError";
    }
}

export interface FleetOptions {
    /** The project's stacks and their peers (loadProjectStacks). */
    stacks: StackPeers[];
    workspace: FleetWorkspace;
    /** Where progress goes, one line at a time (plainProgress), unless `progress` is given. */
    print: (line: string) => void;
    /** How progress is shown. @default plainProgress(print) */
    progress?: Progress;
    /** `up`: how many stacks run (or preview) at once. @default DEFAULT_CONCURRENCY */
    concurrency?: number;
    /** `up` gives up after this many rounds. @default DEFAULT_MAX_ROUNDS */
    maxRounds?: number;
    /** The Pulumi project. @default PROJECT */
    project?: string;
}

/**
 * Rounds `up` may take: the first deploys and federates a new fleet; a second re-runs stacks whose bundle SPIRE had
 * not published yet, or whose preview showed changes; a third is slack before declaring non-convergence.
 */
export const DEFAULT_MAX_ROUNDS = 3;

/** Stacks `up` runs at once: each run is a Pulumi CLI process talking to its own cluster. */
export const DEFAULT_CONCURRENCY = 8;

/** Operations of a change summary that are no change: Pulumi's ResourceChanges.HasChanges (pulumi/pulumi pkg/engine, `--expect-no-changes`) skips same and reads. */
const NOT_CHANGES = new Set(["same", "read", "discard", "read-replacement"]);

/** Operations in the order a summary names them. */
const OPERATION_ORDER = ["create", "update", "replace", "create-replacement", "delete", "delete-replaced", "import", "import-replacement"];

/** The changes of a preview, as text: "no changes" or "2 to update, 1 to create" (operations in a fixed order). */
export function describeChanges(summary: ChangeSummary): string {
    const changed = Object.entries(summary)
        .filter(([op, count]) => !NOT_CHANGES.has(op) && (count ?? 0) > 0)
        .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    return changed.length === 0 ? "no changes" : changed.map(([op, count]) => `${count} to ${op}`).join(", ");
}

function rank(op: string): number {
    const index = OPERATION_ORDER.indexOf(op);
    return index === -1 ? OPERATION_ORDER.length : index;
}

/** Whether a preview shows changes (anything but same and reads). */
export function hasChanges(summary: ChangeSummary): boolean {
    return describeChanges(summary) !== "no changes";
}

/** A peer as one stack sees it: ready (with its trust domain) or pending (with the program's reason). */
type PeerState = { ready: true; trustDomain: string } | { ready: false; reason: string };

/** What one stack still waits for: a peer (short name for a stack of the fleet) and why. */
export interface Pending {
    peer: string;
    reason: string;
    /** The peer is ready: the stack's next run federates with it. */
    readyNow: boolean;
}

/** The fleet's view of every stack: its peers and its outputs (undefined: no such stack in the backend). */
class Fleet {
    private readonly byName: Map<string, StackPeers>;
    private readonly outputs = new Map<string, StackOutputs | undefined>();
    /** peerState's answers since the last change of any outputs (each validates a peer's bundle certificates). */
    private readonly peerStates = new Map<string, PeerState>();

    constructor(
        public readonly stacks: StackPeers[],
        private readonly project: string,
    ) {
        this.byName = new Map(stacks.map((s) => [s.name, s]));
    }

    /** The stack a peer reference names, when it is a stack of this fleet. */
    private fleetPeer(reference: string): string | undefined {
        const name = peerStackName(reference, this.project);
        return name !== undefined && this.byName.has(name) ? name : undefined;
    }

    /** A stack's outputs (undefined: no such stack). */
    outputsOf(stack: string): StackOutputs | undefined {
        return this.outputs.get(stack);
    }

    /** Records a stack's outputs (undefined: no such stack). */
    setOutputs(stack: string, outputs: StackOutputs | undefined): void {
        this.outputs.set(stack, outputs);
        this.peerStates.clear();
    }

    deployed(stack: string): boolean {
        return this.outputs.get(stack)?.federation !== undefined;
    }

    trustDomain(stack: string): string | undefined {
        const td = this.outputs.get(stack)?.trustDomain;
        return typeof td === "string" ? td : undefined;
    }

    federatedWith(stack: string): string[] {
        const list = this.outputs.get(stack)?.federatedWith;
        return Array.isArray(list) ? list.filter((td): td is string => typeof td === "string") : [];
    }

    /** `peer` as `stack` sees it now, judged by the program's own validation of a peer's exports. */
    peerState(stack: string, reference: string, peer: string): PeerState {
        const key = JSON.stringify([stack, reference, peer]);
        const known = this.peerStates.get(key);
        if (known !== undefined) {
            return known;
        }
        const state = this.judgePeer(stack, reference, peer);
        this.peerStates.set(key, state);
        return state;
    }

    private judgePeer(stack: string, reference: string, peer: string): PeerState {
        const outputs = this.outputs.get(peer);
        if (outputs === undefined) {
            return { ready: false, reason: "does not exist yet (fleet up creates it)" };
        }
        try {
            const result = validatePeerExports(
                this.trustDomain(stack) ?? "",
                [{ stack: reference, federation: outputs.federation, samples: outputs.samples }],
                {
                    samples: PEER_SAMPLES,
                },
            );
            return result.ready.length === 1
                ? { ready: true, trustDomain: result.ready[0].federation.trustDomain }
                : { ready: false, reason: result.pending[0].reason };
        } catch (error) {
            return { ready: false, reason: error instanceof Error ? error.message : String(error) };
        }
    }

    /** What a deployed stack still waits for: peers not ready, ready peers not federated yet, and foreign pending peers. */
    pending(stack: string): Pending[] {
        const federated = new Set(this.federatedWith(stack));
        const reported = this.outputs.get(stack)?.pendingPeers;
        const reportedPending = new Set(Array.isArray(reported) ? reported : []);
        const pending: Pending[] = [];
        for (const reference of this.byName.get(stack)?.peers ?? []) {
            const peer = this.fleetPeer(reference);
            if (peer === undefined || peer === stack) {
                if (reportedPending.has(reference)) {
                    pending.push({ peer: reference, reason: "is not a stack of this project directory: deploy it, then run again", readyNow: false });
                }
                continue;
            }
            const state = this.peerState(stack, reference, peer);
            if (!state.ready) {
                pending.push({ peer, reason: state.reason, readyNow: false });
            } else if (!federated.has(state.trustDomain)) {
                pending.push({ peer, reason: `is ready; ${stack} federates with it on its next run`, readyNow: true });
            }
        }
        return pending;
    }

    /** Why `stack` needs a `pulumi up` now, or undefined. */
    whyUp(stack: string, previewChanges: Map<string, string>): string | undefined {
        if (!this.deployed(stack)) {
            return "first deployment";
        }
        const reasons: string[] = [];
        const readyNow = this.pending(stack)
            .filter((p) => p.readyNow)
            .map((p) => p.peer);
        if (readyNow.length > 0) {
            reasons.push(`${readyNow.length === 1 ? "peer" : "peers"} ${readyNow.join(", ")} ready now`);
        }
        // Stacks that name this one as peer and still see it pending (the program's reason: no trustBundle yet),
        // grouped by reason.
        const waiting = new Map<string, string[]>();
        for (const other of this.stacks) {
            const reference = other.peers.find((p) => this.fleetPeer(p) === stack);
            if (other.name === stack || reference === undefined || !this.deployed(other.name)) {
                continue;
            }
            const state = this.peerState(other.name, reference, stack);
            if (!state.ready) {
                waiting.set(state.reason, [...(waiting.get(state.reason) ?? []), other.name]);
            }
        }
        for (const [reason, others] of waiting) {
            reasons.push(`${others.join(", ")} ${others.length === 1 ? "sees" : "see"} it pending: it ${reason}`);
        }
        const changes = previewChanges.get(stack);
        if (changes !== undefined) {
            reasons.push(`its preview shows changes (${changes})`);
        }
        return reasons.length > 0 ? reasons.join("; ") : undefined;
    }

    /**
     * The stacks of the fleet a stack names as peers that do not exist: a stack reference to a stack that does not
     * exist fails the whole run, previews included (the backend's `unknown stack`, pulumi/pulumi#2407).
     */
    missingPeers(stack: string): string[] {
        return (this.byName.get(stack)?.peers ?? [])
            .map((reference) => this.fleetPeer(reference))
            .filter((peer): peer is string => peer !== undefined && peer !== stack && this.outputs.get(peer) === undefined);
    }

    /** One line on a stack's federation: `federated with a, b; pending c (reason)`. */
    federationLine(stack: string): string {
        const federated = this.federatedWith(stack);
        const pending = this.pending(stack);
        const text = `federated with ${federated.length > 0 ? federated.join(", ") : "none"}`;
        return `${text}; pending ${pending.length > 0 ? pending.map((p) => `${p.peer} (${p.reason})`).join(", ") : "none"}`;
    }

    /** Every deployed-or-not stack's pending peers, for the end of a run that did not converge. */
    notInPlace(): string[] {
        return this.stacks.flatMap((s) => {
            if (!this.deployed(s.name)) {
                return [`${s.name} is not deployed`];
            }
            const pending = this.pending(s.name);
            return pending.length > 0 ? [`${s.name} pending ${pending.map((p) => `${p.peer} (${p.reason})`).join(", ")}`] : [];
        });
    }
}

/** Runs one Pulumi step, turning its failure into a FleetError that names the stack and the step. */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
        return await run();
    } catch (error) {
        throw new FleetError(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
}

/** Reads which stacks exist and the outputs of each. */
async function survey(fleet: Fleet, workspace: FleetWorkspace): Promise<void> {
    const existing = new Set(await step("listing the stacks", () => workspace.listStacks()));
    for (const { name } of fleet.stacks) {
        fleet.setOutputs(name, existing.has(name) ? await step(`reading the outputs of ${name}`, () => workspace.outputs(name)) : undefined);
    }
}

/** The stacks in the order of their first deployment (the first pass of the bootstrap order). */
function firstPass(stacks: StackPeers[]): string[] {
    return stacks.map((s) => s.name);
}

/**
 * Runs a fleet command and prints its progress. Resolves when it succeeded; rejects with a FleetError (stack, step,
 * Pulumi's message) at the first failure, or when `up` does not converge.
 */
export async function runFleet(command: FleetCommand, options: FleetOptions): Promise<void> {
    const { stacks, workspace } = options;
    const progress = options.progress ?? plainProgress(options.print);
    const print = (line: string) => progress.line(line);
    const project = options.project ?? PROJECT;
    const fleet = new Fleet(stacks, project);
    const order = bootstrapOrder(stacks, project);
    print(`fleet ${command}: stacks ${firstPass(stacks).join(", ") || "(none)"}; bootstrap order ${order.join(" → ") || "(none)"}`);
    try {
        await survey(fleet, workspace);
        switch (command) {
            case "up":
                return await up(fleet, order, workspace, progress, options.maxRounds ?? DEFAULT_MAX_ROUNDS, options.concurrency ?? DEFAULT_CONCURRENCY);
            case "preview":
                return await previewAll(fleet, workspace, print);
            case "destroy":
                return await destroyAll(fleet, workspace, print);
            case "status":
                return await status(fleet, workspace, print);
        }
    } finally {
        progress.done?.();
    }
}

/** A step of `up` that failed: the stack, the step (`run 4: up`, `preview`) and Pulumi's message. */
interface Failure {
    /** Steps are named in the order they started, whatever order they failed in. */
    order: number;
    stack: string;
    step: string;
    message: string;
}

/** The error of a round or of the previews that had failures: every failure, each with its stack, step and message. */
function failuresError(what: string, failures: Failure[]): FleetError {
    const lines = failures.sort((a, b) => a.order - b.order).map((f) => `  ${f.stack}: ${f.step} failed: ${f.message.replace(/\n/g, "\n    ")}`);
    const count = `${failures.length} ${failures.length === 1 ? "failure" : "failures"}`;
    return new FleetError(`fleet up: ${what} ended with ${count} (the next fleet up resumes from here):\n${lines.join("\n")}`);
}

/** Calls `worker` on every item, at most `limit` at a time, starting them in the items' order. */
async function limited<T>(items: T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const lane = async () => {
        while (next < items.length) {
            await worker(items[next++]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * A preview's change summary, checked. The Automation API's preview resolves `changeSummary` to `{}` when it received
 * no summary event (sdk/nodejs/automation/stack.ts, Stack.preview: `summaryEvent?.resourceChanges || {}`), and a
 * preview always counts at least the stack itself: an empty or missing summary is a failure, not "no changes".
 */
export function checkedChanges(summary: ChangeSummary | undefined): string {
    if (summary === undefined || summary === null || !Object.values(summary).some((count) => (count ?? 0) > 0)) {
        throw new Error('Pulumi gave no change summary for this preview (not taken for "no changes")');
    }
    return describeChanges(summary);
}

async function up(fleet: Fleet, order: string[], workspace: FleetWorkspace, progress: Progress, maxRounds: number, concurrency: number): Promise<void> {
    // A stack reference to a stack that does not exist fails the run ("unknown stack"); one that exists and was never
    // deployed is only a pending peer. So every stack is created before the first run.
    for (const { name } of fleet.stacks) {
        if (fleet.outputsOf(name) === undefined) {
            progress.stack(name, "waiting", "create: not in the backend yet");
            await step(`create ${name}`, () => workspace.createStack(name));
            fleet.setOutputs(name, {});
        }
    }
    const names = firstPass(fleet.stacks);
    // A round is two passes, each started in the bootstrap order, `concurrency` stacks at a time. The first gives
    // every stack that needs it its run (a new fleet: every first deployment at once). The second starts once the
    // first is over, so that every run of it sees every peer's first: run one at a time, only the stacks with a peer
    // deployed after them need it (bootstrapOrder); side by side, any stack may have run alongside a peer, so every
    // stack is considered and those without a reason are skipped. Whether a stack runs, and why, is decided as its
    // turn comes (Fleet.whyUp on the outputs of the runs finished by then). Runs of one pass are independent: each
    // stack only reads its peers' last outputs; a failed run does not stop the others, the round ends, then the
    // command names every failure.
    const passes = [names, concurrency === 1 ? order.slice(names.length) : names];
    let runs = 0;
    let previewChanges = new Map<string, string>();
    for (let round = 1; round <= maxRounds; round++) {
        progress.line(`round ${round}`);
        let runsThisRound = 0;
        const failures: Failure[] = [];
        for (const pass of passes) {
            await limited(pass, concurrency, async (stack) => {
                const reason = failures.some((f) => f.stack === stack) ? undefined : fleet.whyUp(stack, previewChanges);
                if (reason === undefined) {
                    return;
                }
                const run = ++runs;
                runsThisRound++;
                progress.stack(stack, "running", `run ${run}: up (${reason})`);
                try {
                    fleet.setOutputs(stack, await workspace.up(stack));
                } catch (error) {
                    const message = error instanceof Error ? error.message : String(error);
                    failures.push({ order: run, stack, step: `run ${run}: up`, message });
                    progress.stack(stack, "failed", `run ${run}: up failed: ${message}`);
                    return;
                }
                previewChanges.delete(stack);
                progress.stack(stack, fleet.pending(stack).length === 0 ? "federated" : "waiting", fleet.federationLine(stack));
            });
        }
        if (failures.length > 0) {
            throw failuresError(`round ${round}`, failures);
        }
        const notInPlace = fleet.notInPlace();
        if (notInPlace.length > 0) {
            if (runsThisRound === 0) {
                throw new FleetError(`fleet up: nothing left to run, but federation is not in place: ${notInPlace.join("; ")}`);
            }
            continue;
        }
        if (runsThisRound === 0 && previewChanges.size === 0) {
            progress.line("  nothing to run: every stack is federated with every peer");
        }
        // Federation is in place: a preview of every stack must show no changes (deploy.yml's --expect-no-changes).
        previewChanges = await previewRound(names, workspace, progress, concurrency);
        if (previewChanges.size === 0) {
            progress.line(
                `fleet up: converged in ${runs} ${runs === 1 ? "run" : "runs"}: every stack federated with every peer, ${fleet.stacks.length} previews without changes`,
            );
            return;
        }
    }
    const left = [...fleet.notInPlace(), ...[...previewChanges].map(([stack, changes]) => `${stack} preview shows ${changes}`)];
    throw new FleetError(`fleet up: not converged after ${maxRounds} ${maxRounds === 1 ? "round" : "rounds"} (${runs} runs): ${left.join("; ")}`);
}

/** A preview of every stack, `concurrency` at a time: the stacks whose preview shows changes, with them. */
async function previewRound(names: string[], workspace: FleetWorkspace, progress: Progress, concurrency: number): Promise<Map<string, string>> {
    const changes = new Map<string, string>();
    const failures: Failure[] = [];
    await limited(names, concurrency, async (stack) => {
        progress.stack(stack, "running", "preview");
        try {
            const text = checkedChanges(await workspace.preview(stack));
            if (text !== "no changes") {
                changes.set(stack, text);
            }
            progress.stack(stack, text === "no changes" ? "federated" : "waiting", `preview: ${text}`);
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            failures.push({ order: names.indexOf(stack), stack, step: "preview", message });
            progress.stack(stack, "failed", `preview failed: ${message}`);
        }
    });
    if (failures.length > 0) {
        throw failuresError("the previews", failures);
    }
    // In the order of the stacks, whatever order the previews finished in.
    return new Map(names.filter((stack) => changes.has(stack)).map((stack) => [stack, changes.get(stack)!]));
}

async function previewAll(fleet: Fleet, workspace: FleetWorkspace, print: (line: string) => void): Promise<void> {
    for (const stack of firstPass(fleet.stacks)) {
        if (fleet.outputsOf(stack) === undefined) {
            print(`preview ${stack}: no such stack (fleet up creates it)`);
            continue;
        }
        const missing = fleet.missingPeers(stack);
        if (missing.length > 0) {
            print(`preview ${stack}: not previewed: ${notPreviewed(missing)}`);
            continue;
        }
        print(`preview ${stack}: ${await step(`preview ${stack}`, async () => checkedChanges(await workspace.preview(stack)))}`);
    }
}

function notPreviewed(missing: string[]): string {
    return `${missing.length === 1 ? "peer" : "peers"} ${missing.join(", ")} ${missing.length === 1 ? "does" : "do"} not exist (fleet up creates ${missing.length === 1 ? "it" : "them"})`;
}

async function destroyAll(fleet: Fleet, workspace: FleetWorkspace, print: (line: string) => void): Promise<void> {
    // The reverse of the first deployments: the last stack deployed goes first.
    for (const stack of [...firstPass(fleet.stacks)].reverse()) {
        if (fleet.outputsOf(stack) === undefined) {
            print(`destroy ${stack}: no such stack, nothing to destroy`);
            continue;
        }
        print(`destroy ${stack}`);
        await step(`destroy ${stack}`, () => workspace.destroy(stack));
    }
    print(`fleet destroy: ${fleet.stacks.length} stacks destroyed`);
}

async function status(fleet: Fleet, workspace: FleetWorkspace, print: (line: string) => void): Promise<void> {
    for (const stack of firstPass(fleet.stacks)) {
        if (fleet.outputsOf(stack) === undefined) {
            print(`${stack}: no such stack (fleet up creates it)`);
            continue;
        }
        const missing = fleet.missingPeers(stack);
        const changes =
            missing.length > 0
                ? `not previewed: ${notPreviewed(missing)}`
                : await step(`preview ${stack}`, async () => checkedChanges(await workspace.preview(stack)));
        if (!fleet.deployed(stack)) {
            print(`${stack}: not deployed; preview: ${changes}`);
            continue;
        }
        print(`${stack}: trust domain ${fleet.trustDomain(stack) ?? "(none)"}; ${fleet.federationLine(stack)}; preview: ${changes}`);
    }
}

/** What `npm run fleet -- --help` (or `-h`) prints, on stdout, with exit code 0. */
export const FLEET_HELP = [
    `usage: npm run fleet -- <${COMMANDS.join("|")}> [--concurrency N] [--max-rounds N] [--cwd <projectDir>] [--org <organization>]`,
    "",
    "Runs every stack of the project in the federation bootstrap order (docs/fleet.md).",
    "",
    "  preview | up | destroy | status   what to do with every stack",
    `  --concurrency N                   stacks run at once in a round of up (default ${DEFAULT_CONCURRENCY}; 1: one at a time)`,
    `  --max-rounds N                    rounds of runs before giving up (default ${DEFAULT_MAX_ROUNDS})`,
    "  --cwd <projectDir>                the project directory (default: this project)",
    "  --org <organization>              the organization of the stacks (default: the backend's)",
    "  -h, --help                        print this help and exit",
    "",
    "Exit code: 0 done, 1 a failure (its message printed), 2 a usage error.",
].join("\n");

/** How `main` reaches Pulumi and where it writes; the defaults are the Automation API and the console. */
export interface MainEnvironment {
    workspace?: (projectDir: string, organization?: string) => Promise<FleetWorkspace>;
    print?: (line: string) => void;
    printError?: (line: string) => void;
    /** How progress is shown, given the stacks. @default a live line per stack on a terminal tall enough, else plain lines */
    progress?: (stacks: string[]) => Progress;
}

/** The default progress: TerminalProgress when stdout is a terminal with a row for every stack, plain lines otherwise. */
function defaultProgress(stacks: string[], print: (line: string) => void): Progress {
    const out = process.stdout;
    if (out.isTTY && out.rows > stacks.length + 1) {
        return new TerminalProgress({ stacks, write: (text) => out.write(text), columns: out.columns });
    }
    return plainProgress(print);
}

/**
 * `npm run fleet -- <command> [--concurrency N] [--max-rounds N] [--cwd <projectDir>] [--org <organization>]`. Resolves to the exit code: 0 done, 1 a failure
 * (its message printed), 2 a usage error.
 */
export async function main(argv: string[], environment: MainEnvironment = {}): Promise<number> {
    const print = environment.print ?? ((line: string) => console.log(line));
    const printError = environment.printError ?? ((line: string) => console.error(line));
    const [command, ...rest] = argv;
    const usage = `usage: npm run fleet -- <${COMMANDS.join("|")}> [--concurrency N] [--max-rounds N] [--cwd <projectDir>] [--org <organization>]`;
    if (wantsHelp(argv)) {
        print(FLEET_HELP);
        return 0;
    }
    if (!(COMMANDS as readonly string[]).includes(command)) {
        printError(usage);
        return 2;
    }
    let maxRounds = DEFAULT_MAX_ROUNDS;
    let concurrency = DEFAULT_CONCURRENCY;
    let projectDir = path.join(__dirname, "..", "..");
    let organization: string | undefined;
    for (let i = 0; i < rest.length; i += 2) {
        const [flag, value] = [rest[i], rest[i + 1]];
        if (flag === "--max-rounds" && /^[1-9][0-9]*$/.test(value ?? "")) {
            maxRounds = Number(value);
        } else if (flag === "--concurrency" && /^[1-9][0-9]*$/.test(value ?? "")) {
            concurrency = Number(value);
        } else if (flag === "--cwd" && value !== undefined) {
            projectDir = path.resolve(value);
        } else if (flag === "--org" && value !== undefined && value !== "") {
            organization = value;
        } else {
            printError(usage);
            return 2;
        }
    }
    try {
        const stacks = loadProjectStacks(projectDir);
        // The Automation API is loaded only here, so that the fleet's logic and its tests never need the Pulumi CLI.
        const connect = environment.workspace ?? (async (dir: string, org?: string) => (await import("./automation")).automationWorkspace(dir, org));
        const workspace = await connect(projectDir, organization);
        const names = stacks.map((s) => s.name);
        const progress = environment.progress?.(names) ?? (environment.print === undefined ? defaultProgress(names, print) : plainProgress(print));
        await runFleet(command as FleetCommand, { stacks, workspace, print, progress, maxRounds, concurrency });
        return 0;
    } catch (error) {
        printError(error instanceof Error ? error.message : String(error));
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
