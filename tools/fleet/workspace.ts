// What the fleet needs of Pulumi, one stack at a time: the narrow FleetWorkspace that fleet.ts drives, automation.ts
// implements with Pulumi's Automation API, and the tests with a fake (test/fakeFleetWorkspace.ts). Its own module, so
// that automation.ts does not import fleet.ts, which loads automation.ts (only when it runs against Pulumi): no cycle.

/** A stack's outputs, as plain values (`pulumi stack output --json --show-secrets`). */
export type StackOutputs = Record<string, unknown>;

/**
 * A preview's change summary: how many resources each operation touches (the Automation API's OpMap:
 * `same`, `create`, `update`, `delete`, `replace`, `read`, ...).
 */
export type ChangeSummary = Record<string, number | undefined>;

/** What the fleet needs of Pulumi, one stack at a time. Every method fails with Pulumi's message. */
export interface FleetWorkspace {
    /** The stacks of the project that exist in the backend, by short name (`cluster1`). */
    listStacks(): Promise<string[]>;
    /** Creates an empty stack (`pulumi stack init`). */
    createStack(stack: string): Promise<void>;
    /** `pulumi up`; resolves to the stack's outputs after it. */
    up(stack: string): Promise<StackOutputs>;
    /** `pulumi preview`; resolves to its change summary, undefined when Pulumi gave none (a failure: checkedChanges). */
    preview(stack: string): Promise<ChangeSummary | undefined>;
    /** `pulumi destroy` (the stack itself stays, empty). */
    destroy(stack: string): Promise<void>;
    /** The outputs of the stack's last deployment (`{}` when it has none). */
    outputs(stack: string): Promise<StackOutputs>;
}
