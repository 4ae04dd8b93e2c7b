// Pulumi's SDK gives every promise it makes a stack trace (runtime/debuggable.js debuggablePromise:
// `new Error().stack`, for its report of leaked promises), some 1,300 per run of the default stack. Capturing them was
// about a third of a program run's CPU under the mock runtime, and formatting them under ts-node (source-mapped frame
// by frame) most of it before that. While runProgram runs a program, those traces alone are not captured: the SDK's
// calls (every one goes through the module's exports, `debuggable_1.debuggablePromise(...)`) run with
// Error.stackTraceLimit 0, so the trace is its first line (`Error`), which is all the SDK keeps of it unless it prints
// the report. Every other stack trace (the program's errors, the SDK's resource positions) is captured and mapped as
// before. With PULUMI_DEBUG_PROMISE_LEAKS set, when the SDK prints them, nothing changes.

const debuggable: { debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T> } = require("@pulumi/pulumi/runtime/debuggable");

/** Installs the untraced debuggablePromise; returns what restores the SDK's own. */
export function unmappedPulumiDebugStacks(): () => void {
    const traced = debuggable.debuggablePromise;
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
        return () => undefined;
    }
    debuggable.debuggablePromise = function <T>(p: Promise<T>, ctx: unknown): Promise<T> {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return traced(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
    return () => {
        debuggable.debuggablePromise = traced;
    };
}
