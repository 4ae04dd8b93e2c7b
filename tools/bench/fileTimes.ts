// A mocha root hook plugin (`mocha --require tools/bench/fileTimes.ts`) for `npm run bench -- --files`: what each test
// file costs in the parallel run of .mocharc.json. Each worker runs one file at a time, and the root `afterAll` hook
// runs at the end of each file (a file is one mocha run in a worker: mocha lib/nodejs/worker.cjs), so a file's share
// of its worker is everything from the end of the file before it (or the worker's start) to its own end: loading it
// (and for the first file of a worker, ts-node and the modules every file shares), its hooks and its tests. Each file
// appends one JSON line to the file named by $ISTIO_SPIRE_FILE_TIMES:
//   file, worker (pid), start and end (ms since the epoch), cpu (this process's user + system seconds), children
//   (user + system seconds of the child processes it waited for: helm, tsc, npm, postgres' pg_ctl; Linux only),
//   first (whether it was the worker's first file).

import { spawnSync } from "child_process";
import * as fs from "fs";

export const FILE_TIMES_ENV = "ISTIO_SPIRE_FILE_TIMES";

export interface FileTime {
    file: string;
    worker: number;
    start: number;
    end: number;
    cpu: number;
    children?: number;
    first: boolean;
}

/** Clock ticks a second, the unit of /proc's CPU times (getconf CLK_TCK; 100 on Linux). */
let clockTicks: number | undefined;

/** CPU seconds of the child processes this process has waited for (cutime + cstime of /proc/self/stat; Linux only). */
export function childrenCpuSeconds(): number | undefined {
    try {
        const fields = fs
            .readFileSync("/proc/self/stat", "utf8")
            .replace(/^.*\) /s, "")
            .split(" ");
        clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
        // Fields 16 and 17 of proc(5), cutime and cstime, counted from field 3 (state) here.
        return (Number(fields[13]) + Number(fields[14])) / clockTicks;
    } catch {
        return undefined;
    }
}

const selfCpuSeconds = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
};

// From the worker's start: its CPU and its children's were 0 then.
let last = { at: Date.now() - process.uptime() * 1000, cpu: 0, children: childrenCpuSeconds() === undefined ? undefined : 0, first: true };

export const mochaHooks = {
    afterAll(this: Mocha.Context) {
        const out = process.env[FILE_TIMES_ENV];
        if (!out) {
            return;
        }
        const root = this.test?.parent;
        const file = root?.suites.find((s) => s.file)?.file ?? root?.tests.find((t) => t.file)?.file ?? "(unknown)";
        const now = { at: Date.now(), cpu: selfCpuSeconds(), children: childrenCpuSeconds(), first: false };
        const time: FileTime = {
            file,
            worker: process.pid,
            start: last.at,
            end: now.at,
            cpu: now.cpu - last.cpu,
            ...(now.children !== undefined && last.children !== undefined ? { children: now.children - last.children } : {}),
            first: last.first,
        };
        fs.appendFileSync(out, `${JSON.stringify(time)}\n`);
        last = now;
    },
};
