// Runs the policy pack the way the Pulumi engine and @pulumi/policy's analyzer server would, on what a mocked program
// run declared, so tests can check the real program against the pack without the Pulumi CLI.
//
// What the engine sends (pulumi/pulumi pkg/resource/deploy/step_generator.go AnalyzeResources; @pulumi/policy
// server.js makeAnalyzeStackRpcFun):
// - resource policies get each resource's inputs when it is registered, the root stack's included;
// - stack policies get every resource of the deployment with its outputs, including the root `pulumi:pulumi:Stack`
//   resource, whose outputs are the stack outputs (registered by the SDK's Stack.initialize with registerOutputs);
// - properties are plain JSON (secrets unwrapped) behind a proxy that throws UnknownValueError when a value unknown
//   in a preview is read; parents and dependencies are the PolicyResource objects themselves.
// The mock runtime records inputs, not provider outputs, so both phases see the declared inputs here: what the
// Kubernetes provider returns for these objects in a preview, and a subset of what it returns after an update.

import * as pulumi from "@pulumi/pulumi";
import {
    Policies,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { ROOT_STACK, UnknownValueError, unknownCheckingProxy } from "../../policy/policies";
import { PROJECT } from "../stack-files/stackFiles";
import { Declared, NO_OPTIONS, UNKNOWN } from "./harness";

/** What the adapter needs of a program run: what it declared and what it returned (the stack outputs). */
export interface RunForPolicy {
    declared: Declared[];
    outputs: unknown;
}

/** A violation as reported to the engine: the policy, the message given to reportViolation and the resource. */
export interface Violation {
    policy: string;
    message: string;
    /** The resource's URN; undefined for a stack policy's stack-wide violation. */
    urn?: string;
}

export interface PolicyReport {
    /** Violations of mandatory policies: they fail a preview or update (and a render). */
    violations: Violation[];
    /** Violations of advisory policies: the engine prints them as warnings and goes on. */
    advisories: Violation[];
    /** Policies that could not run because they read a value unknown in a preview (the analyzer's advisory). */
    notRunInPreview: string[];
}

/** Policy configuration as a `--policy-pack-config` file holds it: policy name → its properties. */
export type PolicyPackConfig = Record<string, Record<string, unknown>>;

/** The URN the engine gives a resource. */
export function urnOf(stack: string, type: string, name: string, parentType?: string): string {
    const qualified = parentType !== undefined && parentType !== ROOT_STACK ? `${parentType}$${type}` : type;
    return `urn:pulumi:${stack}::${PROJECT}::${qualified}::${name}`;
}

/** The stack name in a URN (`urn:pulumi:<stack>::<project>::...`). */
function stackOfUrn(urn: string): string | undefined {
    return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/** Plain JSON as the analyzer sees it: SDK unknowns become the engine's unknown sentinel, undefined members vanish. */
function toEngineValue(value: unknown): unknown {
    if (pulumi.isUnknown(value)) {
        return UNKNOWN;
    }
    if (Array.isArray(value)) {
        return value.map((item) => (item === undefined ? null : toEngineValue(item)));
    }
    if (typeof value === "object" && value !== null) {
        const result: Record<string, unknown> = {};
        for (const [key, member] of Object.entries(value)) {
            if (member !== undefined) {
                result[key] = toEngineValue(member);
            }
        }
        return result;
    }
    return value;
}

/** @pulumi/policy's isTypeOf: the class's `__pulumiType`, else its `isInstance`. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
    const pulumiType = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
    if (typeof pulumiType === "string" && pulumiType.length > 0) {
        return type === pulumiType;
    }
    const isInstance = (resourceClass as { isInstance?: unknown }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function makeResource(type: string, name: string, urn: string, props: Record<string, any>, opts: PolicyResourceOptions): PolicyResource {
    const proxied = unknownCheckingProxy(props);
    return {
        type,
        name,
        urn,
        props: proxied,
        opts,
        dependencies: [],
        propertyDependencies: {},
        isType: (resourceClass) => isTypeOf(type, resourceClass),
        asType: (resourceClass) => (isTypeOf(type, resourceClass) ? (proxied as any) : undefined),
    };
}

function options(ignoreChanges: string[], parent?: string): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges,
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(parent !== undefined ? { parent } : {}),
    };
}

/**
 * The resources a stack policy sees for a run: the root `pulumi:pulumi:Stack` resource (props: the stack outputs)
 * first, then every declared resource with its parent (the stack for top-level ones) and dependencies linked.
 */
export function toPolicyResources(run: RunForPolicy, stack?: string): PolicyResource[] {
    const stackName = stack ?? stackOfUrn(run.declared[0]?.urn ?? "") ?? "test";
    const root = makeResource(
        ROOT_STACK,
        `${PROJECT}-${stackName}`,
        urnOf(stackName, ROOT_STACK, `${PROJECT}-${stackName}`),
        (toEngineValue(run.outputs ?? {}) as Record<string, any>) ?? {},
        options([]),
    );
    const byName = new Map<string, PolicyResource>();
    const resources = run.declared.map((d) => {
        const parentUrn = d.parent === "" ? root.urn : run.declared.find((p) => p.name === d.parent)?.urn;
        const resource = makeResource(d.type, d.name, d.urn, toEngineValue(d.inputs ?? {}) as Record<string, any>, options(d.ignoreChanges, parentUrn));
        byName.set(d.name, resource);
        return resource;
    });
    run.declared.forEach((d, i) => {
        resources[i].parent = d.parent === "" ? root : byName.get(d.parent);
        resources[i].dependencies = d.dependsOn.map((n) => byName.get(n)).filter((r): r is PolicyResource => r !== undefined);
    });
    return [root, ...resources];
}

class NotApplicable extends Error {}

function getConfigFor(config: PolicyPackConfig, policy: string) {
    return <T extends object>(): T => {
        const { enforcementLevel: _ignored, ...properties } = config[policy] ?? {};
        return properties as T;
    };
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

/** The inputs-phase arguments for a resource (the root stack registers no inputs). */
function resourceArgs(r: PolicyResource, getConfig: <T extends object>() => T): ResourceValidationArgs {
    const props: Record<string, any> = r.type === ROOT_STACK ? unknownCheckingProxy({}) : r.props;
    return {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        opts: r.opts,
        stackTags: new Map<string, string>(),
        isType: r.isType,
        asType: (resourceClass) => (r.isType(resourceClass) ? (props as any) : undefined),
        getConfig,
        notApplicable,
    };
}

function isStackPolicy(p: Policies[number]): p is StackValidationPolicy {
    return "validateStack" in p;
}

/**
 * Runs every policy of a pack as the analyzer does: resource policies once per resource, stack policies once, each
 * with its config; a policy that reads a preview unknown is recorded as not run, as the analyzer's advisory does.
 */
export async function runPolicyPack(policies: Policies, resources: PolicyResource[], config: PolicyPackConfig = {}): Promise<PolicyReport> {
    const report: PolicyReport = { violations: [], advisories: [], notRunInPreview: [] };
    const attempt = async (policy: string, run: () => Promise<void> | void) => {
        try {
            await run();
        } catch (error) {
            if (error instanceof UnknownValueError) {
                report.notRunInPreview.push(`${policy}: ${error.message}`);
            } else if (!(error instanceof NotApplicable)) {
                throw error;
            }
        }
    };
    for (const policy of policies) {
        const level = config[policy.name]?.enforcementLevel ?? policy.enforcementLevel;
        if (level === "disabled") {
            continue;
        }
        // An advisory policy's violations are reported apart: the engine does not fail on them.
        const reported = level === "advisory" ? report.advisories : report.violations;
        const getConfig = getConfigFor(config, policy.name);
        if (isStackPolicy(policy)) {
            const args: StackValidationArgs = { resources, stackTags: new Map<string, string>(), getConfig, notApplicable };
            const reportViolation: ReportViolation = (message, urn) => reported.push({ policy: policy.name, message, urn });
            await attempt(policy.name, () => policy.validateStack(args, reportViolation));
            continue;
        }
        const validations = (policy as ResourceValidationPolicy).validateResource;
        for (const r of resources) {
            const reportViolation: ReportViolation = (message) => reported.push({ policy: policy.name, message, urn: r.urn });
            for (const validate of Array.isArray(validations) ? validations : validations ? [validations] : []) {
                await attempt(policy.name, () => validate(resourceArgs(r, getConfig), reportViolation));
            }
        }
    }
    return report;
}

/** Converts a run and runs the pack on it. */
export function checkRun(policies: Policies, run: RunForPolicy, config: PolicyPackConfig = {}): Promise<PolicyReport> {
    return runPolicyPack(policies, toPolicyResources(run), config);
}

// ------------------------------------------------------------------------------------------------------------------
// Changing one thing of a run, for the failing cases

/** A copy of the run in which the inputs of the resource named `name` went through `change`. */
export function withInputs<R extends RunForPolicy>(run: R, name: string, change: (inputs: any) => void): R {
    if (!run.declared.some((d) => d.name === name)) {
        throw new Error(`no resource named ${name} in the run`);
    }
    return {
        ...run,
        declared: run.declared.map((d) => {
            if (d.name !== name) {
                return d;
            }
            const inputs = structuredClone(d.inputs);
            change(inputs);
            return { ...d, inputs };
        }),
    };
}

/** A copy of the run whose outputs went through `change`. */
export function withOutputs<R extends RunForPolicy>(run: R, change: (outputs: any) => void): R {
    const outputs = structuredClone(run.outputs);
    change(outputs);
    return { ...run, outputs };
}

/** A copy of the run with one more top-level resource. */
export function withResource<R extends RunForPolicy>(run: R, type: string, name: string, inputs: Record<string, unknown>): R {
    const stack = stackOfUrn(run.declared[0]?.urn ?? "") ?? "test";
    return { ...run, declared: [...run.declared, declaredResource(stack, type, name, inputs)] };
}

/** A top-level resource as the recording monitor would have recorded it. */
export function declaredResource(stack: string, type: string, name: string, inputs: Record<string, unknown>): Declared {
    return { type, name, urn: urnOf(stack, type, name), inputs, parent: "", dependsOn: [], ...NO_OPTIONS, read: false, id: "" };
}

/** A run of hand-written top-level resources and outputs, for checking one policy at a time. */
export function fakeRun(resources: { type: string; name: string; inputs: Record<string, unknown> }[], outputs: unknown = {}, stack = "test"): RunForPolicy {
    return { declared: resources.map((r) => declaredResource(stack, r.type, r.name, r.inputs)), outputs };
}
