// Runs the Pulumi program under Pulumi's mock runtime and records every resource it declares, with the options the
// engine would see (parent, dependencies, ignoreChanges), so tests can assert the graph exactly.

import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime/mocks";
import { setMockOptions } from "@pulumi/pulumi/runtime/settings";
import { unmappedPulumiDebugStacks } from "./debugStacks";

// Drains the SDK's queue of outstanding resource registrations (exported by the SDK, not declared in its typings).
const waitForRPCs: () => Promise<void> = require("@pulumi/pulumi/runtime/settings").waitForRPCs;

/** The placeholder the SDK sends for a value not known until the deployment runs (a preview's unknowns). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Declared {
    type: string;
    /** Pulumi logical name. */
    name: string;
    urn: string;
    inputs: any;
    /** Logical name of the parent resource ("" for the stack). */
    parent: string;
    /** Logical names of the resources this one explicitly or implicitly depends on. */
    dependsOn: string[];
    ignoreChanges: string[];
    /** True for a read of an existing object (`Resource.get`). */
    read: boolean;
    /** The id a read was given (UNKNOWN when it was not known yet). */
    id: string;
}

/** What a test can choose about the world the program runs against. */
export interface World {
    /** Outputs of peer stacks by fully qualified stack name; absent stacks have no outputs at all. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** `bundle.spiffe` of this cluster's spire-bundle ConfigMap; undefined: the ConfigMap has no data yet. */
    ownBundle?: string;
    /** Load balancer ingress of the bundle endpoint Service. @default [{ ip: "203.0.113.10" }] */
    bundleEndpointIngress?: { ip?: string; hostname?: string }[];
    /** Load balancer ingress of the ingress gateway's Service (read back). @default [{ ip: "203.0.113.20" }] */
    gatewayIngress?: { ip?: string; hostname?: string }[];
    /** Run as `pulumi preview` (unknowns stay unknown). @default false */
    preview?: boolean;
}

class RecordingMonitor extends MockMonitor {
    public readonly declared: Declared[] = [];
    private readonly urnNames = new Map<string, string>();

    private record(req: any, read: boolean, urn: string, inputs: any) {
        this.urnNames.set(urn, req.getName());
        const names = (urns: string[]) => urns.map((u) => this.urnNames.get(u) ?? u);
        this.declared.push({
            type: req.getType(),
            name: req.getName(),
            urn,
            inputs,
            parent: this.urnNames.get(req.getParent()) ?? "",
            dependsOn: names(req.getDependenciesList()),
            ignoreChanges: read ? [] : req.getIgnorechangesList(),
            read,
            id: read ? req.getId() : "",
        });
    }

    override async registerResource(req: any, callback: (err: any, res: any) => void): Promise<void> {
        const inputs = pulumi.runtime.deserializeProperties(req.getObject());
        return super.registerResource(req, (err, res) => {
            if (!err) {
                this.record(req, false, res.getUrn(), inputs);
            }
            callback(err, res);
        });
    }

    override async readResource(req: any, callback: (err: any, res: any) => void): Promise<void> {
        const inputs = pulumi.runtime.deserializeProperties(req.getProperties());
        return super.readResource(req, (err, res) => {
            if (!err) {
                this.record(req, true, res.getUrn(), inputs);
            }
            callback(err, res);
        });
    }
}

function mockState(args: MockResourceArgs, world: World): MockResourceResult {
    const inputs = args.inputs;
    if (world.preview && args.id === UNKNOWN) {
        // A read whose id is not known yet: the engine defers it, and everything it would return is unknown.
        return { id: UNKNOWN, state: { metadata: UNKNOWN, data: UNKNOWN, status: UNKNOWN } };
    }
    switch (args.type) {
        case "pulumi:pulumi:StackReference": {
            const outputs = world.stackOutputs?.[inputs.name] ?? {};
            return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        case "kubernetes:helm.sh/v3:Release":
            // As Helm reports a deployed release; in a preview of a first deployment these stay unknown.
            return {
                id: `${inputs.namespace}/${inputs.name}`,
                state: world.preview
                    ? { ...inputs }
                    : { ...inputs, status: { name: inputs.name, namespace: inputs.namespace, status: "deployed", version: inputs.version } },
            };
        case "kubernetes:core/v1:Service": {
            if (args.id !== undefined && args.id !== "") {
                // A read of an existing Service: the ingress gateway's, created by its chart.
                const [namespace, name] = args.id.split("/");
                const ingress = world.gatewayIngress ?? [{ ip: "203.0.113.20" }];
                return { id: args.id, state: { metadata: { name, namespace }, status: { loadBalancer: { ingress } } } };
            }
            const ingress = world.bundleEndpointIngress ?? [{ ip: "203.0.113.10" }];
            return {
                id: `${inputs.metadata?.namespace}/${inputs.metadata?.name}`,
                state: world.preview ? { ...inputs } : { ...inputs, status: { loadBalancer: { ingress } } },
            };
        }
        case "kubernetes:core/v1:ConfigMap":
            if (args.id !== undefined && args.id !== "") {
                // A read of an existing ConfigMap: the SPIRE bundle publisher's.
                const [namespace, name] = args.id.split("/");
                const data = world.ownBundle === undefined ? undefined : { "bundle.spiffe": world.ownBundle };
                return { id: args.id, state: { metadata: { name, namespace }, ...(data ? { data } : {}) } };
            }
            return { id: `${inputs.metadata?.name}`, state: inputs };
        default:
            return { id: `${args.name}-id`, state: inputs };
    }
}

export interface ProgramRun<T> {
    /** What the program returned (the stack outputs), resolved. */
    outputs: T;
    declared: Declared[];
    /** Warnings the program logged with pulumi.log.warn. */
    warnings: string[];
}

/**
 * Resolves an Output (or a structure of Outputs) to its plain value. A value unknown in a preview resolves to
 * undefined (an apply would never run for it); unknowns nested inside a known structure stay as the SDK's markers.
 */
export function resolve<T>(value: pulumi.Input<T>): Promise<T> {
    // Output.promise is the SDK's own way to await an Output; `true` keeps unknowns instead of waiting forever.
    const output = pulumi.output(value) as unknown as { promise(withUnknowns?: boolean): Promise<T> };
    return output.promise(true).then((v) => (pulumi.isUnknown(v) ? undefined : v) as T);
}

/** Drops object keys whose value is undefined, as the engine does when it stores stack outputs. */
function withoutUndefined(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(withoutUndefined);
    }
    if (value !== null && typeof value === "object" && !pulumi.isUnknown(value)) {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, withoutUndefined(v)]),
        );
    }
    return value;
}

/**
 * Sets config and mocks, runs `program`, waits until every resource registration has finished, and returns what
 * was declared. `config` keys are in the project namespace (`trustDomain`, not `istio-spire:trustDomain`), except keys
 * that name their namespace (`kubernetes:context`).
 */
export async function runProgram<T>(
    program: () => Promise<T>,
    config: Record<string, unknown>,
    world: World = {},
    stack = "cluster1",
): Promise<ProgramRun<T>> {
    const mocks: Mocks = {
        newResource: (args) => mockState(args, world),
        call: (args) => {
            throw new Error(`unexpected call to ${args.token}`);
        },
    };
    const monitor = new RecordingMonitor(mocks);
    await pulumi.runtime.setMocks(mocks, "istio-spire", stack, world.preview ?? false, "acme");
    setMockOptions(monitor, "istio-spire", stack, world.preview ?? false, "acme");
    const allConfig: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        // Keys of other namespaces (`kubernetes:context`) are taken as they are.
        allConfig[key.includes(":") ? key : `istio-spire:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(allConfig);

    const warnings: string[] = [];
    const originalWarn = pulumi.log.warn;
    (pulumi.log as any).warn = (msg: string) => {
        warnings.push(msg);
        return Promise.resolve();
    };
    const restoreStacks = unmappedPulumiDebugStacks();
    try {
        const returned = await program();
        const outputs = withoutUndefined(await resolve(returned as any)) as T;
        await waitForRPCs();
        return { outputs, declared: monitor.declared, warnings };
    } finally {
        (pulumi.log as any).warn = originalWarn;
        restoreStacks();
    }
}

/**
 * Like runProgram, for runs that must fail: returns the error and everything declared before it.
 */
export async function runProgramExpectingError(
    program: () => Promise<unknown>,
    config: Record<string, unknown>,
    world: World = {},
    stack = "cluster1",
): Promise<{ error: Error; declared: Declared[] }> {
    let run: ProgramRun<unknown>;
    try {
        run = await runProgram(program, config, world, stack);
    } catch (error) {
        await waitForRPCs();
        const monitor = pulumi.runtime.getMonitor() as unknown;
        return { error: error as Error, declared: monitor instanceof RecordingMonitor ? monitor.declared : [] };
    }
    throw new Error(`expected the program to fail, but it declared ${run.declared.length} resources`);
}

/** The resources of a type (a token like `kubernetes:helm.sh/v3:Release`). */
export function ofType(declared: Declared[], type: string): Declared[] {
    return declared.filter((d) => d.type === type);
}

/** The one resource with this logical name; fails loudly if there is none or more than one. */
export function named(declared: Declared[], name: string): Declared {
    const found = declared.filter((d) => d.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${found.length}: ${declared.map((d) => d.name).join(", ")}`);
    }
    return found[0];
}
