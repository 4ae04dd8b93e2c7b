// How `npm run fleet` shows its progress. Stacks run side by side, so every line about a stack names it:
//   - plainProgress (CI, logs, anything that is not a terminal): one line per event, `[cluster1] run 1: up (...)`;
//   - TerminalProgress (a terminal): under the fleet's own lines, one live line per stack with its state (waiting,
//     running, federated, failed), the time it has spent in it, and its last news, redrawn in place with ANSI cursor
//     movement as docker compose and npm workspaces do.

/** A stack's state: waiting for its turn (or for its peers), running a step, federated with every peer, failed. */
export type StackState = "waiting" | "running" | "federated" | "failed";

export interface Progress {
    /** A line about the whole fleet: the header, a round, the outcome. */
    line(text: string): void;
    /** A stack's news: its state from now on and what happened, one line (a failure's message may hold more). */
    stack(stack: string, state: StackState, text: string): void;
    /** The command is over: a terminal renderer draws a last time and stops its clock. */
    done?(): void;
}

/** Progress as plain lines, each about a stack prefixed with it: what CI logs show. */
export function plainProgress(print: (line: string) => void): Progress {
    return {
        line: print,
        stack: (stack, _state, text) => print(`[${stack}] ${text}`),
    };
}

/** Elapsed time as a terminal shows it: `7s`, `1m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) {
        return `${s}s`;
    }
    const m = Math.floor(s / 60);
    if (m < 60) {
        return `${m}m${String(s % 60).padStart(2, "0")}s`;
    }
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const CURSOR_UP = (n: number) => `\x1b[${n}A`;
const CLEAR_LINE = "\x1b[2K";
const CLEAR_DOWN = "\x1b[J";

export interface TerminalOptions {
    /** The stacks, in the order their lines are drawn. */
    stacks: string[];
    /** Writes raw text to the terminal (process.stdout.write). */
    write: (text: string) => void;
    /** The clock, in milliseconds. @default Date.now */
    now?: () => number;
    /** The terminal's width: longer lines are cut, since a wrapped line would break the redraw. */
    columns?: number;
    /** Redraw this often (ms) so that elapsed times move; 0: only on events (tests). @default 1000 */
    tickMs?: number;
}

/**
 * One line per stack, redrawn in place: `cluster1  running    12s  run 4: up (peers cluster2 ready now)`. The fleet's
 * own lines go above the block. The block needs as many terminal rows as stacks (main falls back to plain lines when
 * the terminal is shorter: the cursor cannot move above the top of the screen).
 */
export class TerminalProgress implements Progress {
    private readonly states = new Map<string, { state: StackState; text: string; since: number; until?: number }>();
    private readonly width: number;
    private drawn = 0;
    private readonly timer?: ReturnType<typeof setInterval>;
    private readonly now: () => number;

    constructor(private readonly options: TerminalOptions) {
        this.now = options.now ?? Date.now;
        for (const stack of options.stacks) {
            this.states.set(stack, { state: "waiting", text: "", since: this.now() });
        }
        this.width = Math.max(0, ...options.stacks.map((s) => s.length));
        const tickMs = options.tickMs ?? 1000;
        if (tickMs > 0) {
            this.timer = setInterval(() => this.draw(), tickMs);
            this.timer.unref?.();
        }
    }

    line(text: string): void {
        // Clear the block, write the line where it was, draw the block again below it.
        this.options.write(this.drawn > 0 ? `${CURSOR_UP(this.drawn)}${CLEAR_DOWN}${text}\n` : `${text}\n`);
        this.drawn = 0;
        this.draw();
    }

    stack(stack: string, state: StackState, text: string): void {
        const now = this.now();
        const previous = this.states.get(stack);
        // The clock of a state runs from the moment the stack entered it; a finished step keeps its duration.
        const since = previous !== undefined && previous.state === "running" && state !== "running" ? previous.since : now;
        this.states.set(stack, { state, text: text.split("\n")[0], since, until: state === "running" ? undefined : now });
        this.draw();
    }

    done(): void {
        if (this.timer !== undefined) {
            clearInterval(this.timer);
        }
        this.draw();
    }

    /** The block's lines as they are drawn now. */
    lines(): string[] {
        const now = this.now();
        return [...this.states].map(([stack, { state, text, since, until }]) => {
            const elapsed = text === "" ? "" : formatElapsed((until ?? now) - since);
            const line = `${stack.padEnd(this.width)}  ${state.padEnd(9)} ${elapsed.padStart(6)}  ${text}`.trimEnd();
            return this.options.columns !== undefined && line.length >= this.options.columns ? line.slice(0, this.options.columns - 1) : line;
        });
    }

    private draw(): void {
        const lines = this.lines();
        const up = this.drawn > 0 ? CURSOR_UP(this.drawn) : "";
        this.options.write(up + lines.map((line) => `\r${CLEAR_LINE}${line}\n`).join(""));
        this.drawn = lines.length;
    }
}
