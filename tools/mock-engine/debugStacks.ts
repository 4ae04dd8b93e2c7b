// Pulumi's SDK gives every promise it makes a stack trace (runtime/debuggable.js: `new Error().stack`, for its
// report of leaked promises), several per resource property. Under ts-node each of those traces is source-mapped
// frame by frame, and that was most of the cost of a program run under the mock runtime, growing with every
// resource. While runProgram runs a program, those traces alone are cut to their first line (`Error`), unformatted
// and unmapped; every other stack trace (the program's errors, the SDK's resource positions) stays mapped. With
// PULUMI_DEBUG_PROMISE_LEAKS set, when the SDK prints them, nothing changes.

import * as path from "path";

const DEBUGGABLE = `${path.sep}${path.join("@pulumi", "pulumi", "runtime", "debuggable.js")}`;

/** Installs the formatting; returns what restores the previous one. */
export function unmappedPulumiDebugStacks(): () => void {
    const mapped = Error.prepareStackTrace;
    if (mapped === undefined || process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
        return () => undefined;
    }
    Error.prepareStackTrace = function (error, callsites) {
        if (callsites[0]?.getFileName()?.endsWith(DEBUGGABLE)) {
            // Read only in that report, which prints them only with PULUMI_DEBUG_PROMISE_LEAKS set.
            return String(error);
        }
        return mapped.call(this, error, callsites);
    };
    return () => {
        Error.prepareStackTrace = mapped;
    };
}
