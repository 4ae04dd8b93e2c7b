// tools/mock-engine/debugStacks.ts: under runProgram the SDK's promise traces (runtime/debuggable.js) are not captured,
// and everything else keeps its stack.

import { expect } from "chai";
import * as fs from "fs";
import { runProgram } from "../tools/mock-engine/harness";

const debuggable: { debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T> } = require("@pulumi/pulumi/runtime/debuggable");

/** The trace the SDK keeps on a promise it made. */
const traceOf = (p: Promise<unknown>) => (p as unknown as { _debugStackTrace: string })._debugStackTrace;

describe("the SDK's promise traces under the mock runtime (tools/mock-engine/debugStacks.ts)", () => {
    it("are only their first line while a program runs, and whole again after it, with the SDK's own function back", async () => {
        const sdkOwn = debuggable.debuggablePromise;
        // The SDK calls it through its module's exports (debuggable_1.debuggablePromise), as here.
        const during = Promise.resolve(1);
        await runProgram(async () => {
            await debuggable.debuggablePromise(during, "in the program");
            return {};
        }, {});
        expect(traceOf(during)).to.equal("Error");
        expect(debuggable.debuggablePromise).to.equal(sdkOwn);
        const after = Promise.resolve(1);
        await debuggable.debuggablePromise(after, "after the run");
        expect(traceOf(after).split("\n")[0]).to.equal("Error");
        expect(traceOf(after)).to.match(/\n\s+at Object\.debuggablePromise /);
    });

    it("leave the program's own errors their whole stack, mapped to the TypeScript source", async () => {
        let error: Error | undefined;
        await runProgram(async () => {
            await debuggable.debuggablePromise(Promise.resolve(1), "before the error");
            error = new Error("the program's error");
            return {};
        }, {});
        expect(error!.stack!.split("\n")[0]).to.equal("Error: the program's error");
        // The line of `new Error` in this file: ts-node's source map is still applied.
        const line =
            fs
                .readFileSync(__filename, "utf8")
                .split("\n")
                .findIndex((l) => l.includes('error = new Error("the program')) + 1;
        expect(error!.stack).to.match(new RegExp(`\\n\\s+at .*test/debugStacks\\.test\\.ts:${line}:\\d+`));
    });
});
