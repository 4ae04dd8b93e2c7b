// The FleetWorkspace of `npm run fleet`: Pulumi's Automation API over a local workspace of this project directory.
// It drives the Pulumi CLI (`pulumi stack ls/init/output`, `up`, `preview`, `destroy`), so it needs the CLI on PATH and
// a logged-in backend (`pulumi login`), as `pulumi up` by hand does. Names and shapes are those of @pulumi/pulumi's
// sdk/nodejs/automation (localWorkspace.ts, stack.ts, errors.ts).

import * as path from "path";
import { CommandError, ConcurrentUpdateError, EngineEvent, LocalWorkspace, OutputMap, Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { ChangeSummary, FleetWorkspace, StackOutputs } from "./workspace";

/** The policy pack every `up` and `preview` runs with, as in deploy.yml and preview.yml (`policyPacks: policy`). */
export const POLICY_PACK = "policy";

/**
 * The last segment of a stack name: `pulumi stack ls --json` names a stack `<stack>` or `<org>/<stack>`
 * (`<org>/<project>/<stack>` on some backends); the fleet knows stacks by the `<stack>` of `Pulumi.<stack>.yaml`.
 */
export function shortStackName(name: string): string {
    return name.split("/").pop() ?? name;
}

/** A stack's outputs as plain values (the Automation API gives `{value, secret}` per output, secrets shown). */
export function plainOutputs(outputs: OutputMap): StackOutputs {
    return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.value]));
}

/**
 * Pulumi's own words for a failed command: the error diagnostics the engine sent during the run (what the CLI prints
 * under "Diagnostics:", e.g. `kubernetes:helm.sh/v3:Release (spire-release): error: ...`), or the CLI's stderr when
 * the engine never started (no backend, no such stack, another update in progress). A CommandError's message is the
 * whole `code: … stdout: … stderr: …` of the command (automation/cmd.ts CommandResult.toString), too long to read.
 */
export function pulumiMessage(error: unknown, diagnostics: string[]): string {
    if (error instanceof ConcurrentUpdateError) {
        return `another update of this stack is in progress (${stderrOf(error) || error.message})`;
    }
    if (diagnostics.length > 0) {
        return diagnostics.join("\n");
    }
    if (error instanceof CommandError) {
        return stderrOf(error) || error.message;
    }
    return error instanceof Error ? error.message : String(error);
}

function stderrOf(error: CommandError): string {
    // `commandResult` is private in the typings; the CLI's stderr is in it (automation/errors.ts).
    const result = (error as unknown as { commandResult?: { stderr?: string } }).commandResult;
    return (result?.stderr ?? "").trim();
}

/**
 * Collects what the fleet needs of an operation's engine events: the error diagnostics (DiagnosticEvent, severity
 * "error") and the change summary of its SummaryEvent (`resourceChanges`), undefined until one arrives.
 */
export function eventCollector(): { onEvent: (event: EngineEvent) => void; diagnostics: string[]; changes: () => ChangeSummary | undefined } {
    const diagnostics: string[] = [];
    let changes: ChangeSummary | undefined;
    return {
        diagnostics,
        changes: () => changes,
        onEvent: (event) => {
            const diagnostic = event.diagnosticEvent;
            if (diagnostic?.severity === "error") {
                diagnostics.push(`${diagnostic.prefix ?? ""}${diagnostic.message}`.trim());
            }
            if (event.summaryEvent !== undefined) {
                changes = { ...event.summaryEvent.resourceChanges };
            }
        },
    };
}

/** The name the CLI is given for a stack: `<organization>/<stack>` when an organization is set, else `<stack>`. */
export function qualifiedStackName(stack: string, organization?: string): string {
    return organization ? `${organization}/${stack}` : stack;
}

/**
 * The FleetWorkspace of a project directory, with the Automation API's LocalWorkspace (`Pulumi.yaml` and the
 * `Pulumi.<stack>.yaml` files of `workDir`). Stacks are selected and created in `organization` when given (as
 * deploy.yml does with `<org>/istio-spire/<stack>`), else in the backend's default one. `onOutput` receives Pulumi's
 * own output as it streams (default: none; the fleet prints its progress and Pulumi's message on failure).
 */
export async function automationWorkspace(projectDir: string, organization?: string, onOutput?: (text: string) => void): Promise<FleetWorkspace> {
    let workspace: LocalWorkspace;
    try {
        workspace = await LocalWorkspace.create({ workDir: projectDir });
    } catch (error) {
        // LocalWorkspace.create runs `pulumi version` first (automation/cmd.ts PulumiCommand.get).
        throw new Error(`cannot run the Pulumi CLI (is it installed and on PATH?): ${pulumiMessage(error, [])}`);
    }
    const policyPacks = [path.join(projectDir, POLICY_PACK)];
    async function withStack<T>(
        name: string,
        operation: (stack: Stack, onEvent: (event: EngineEvent) => void, changes: () => ChangeSummary | undefined) => Promise<T>,
    ): Promise<T> {
        const { onEvent, diagnostics, changes } = eventCollector();
        try {
            return await operation(await Stack.select(qualifiedStackName(name, organization), workspace), onEvent, changes);
        } catch (error) {
            if (error instanceof StackNotFoundError) {
                throw new Error(`no stack named ${JSON.stringify(name)} in the backend (${stderrOf(error)})`);
            }
            throw new Error(pulumiMessage(error, diagnostics));
        }
    }
    return {
        listStacks: async () => (await workspace.listStacks()).map((summary) => shortStackName(summary.name)),
        createStack: async (name) => {
            try {
                await Stack.create(qualifiedStackName(name, organization), workspace);
            } catch (error) {
                throw new Error(pulumiMessage(error, []));
            }
        },
        up: (name) => withStack(name, async (stack, onEvent) => plainOutputs((await stack.up({ onEvent, onOutput, policyPacks })).outputs)),
        // Not PreviewResult.changeSummary: Stack.preview sets it to `{}` when no summary event arrived
        // (sdk/nodejs/automation/stack.ts, `summaryEvent?.resourceChanges || {}`), which would read as "no changes".
        // The summary event itself, or undefined, and the fleet fails a preview without one (checkedChanges).
        preview: (name) =>
            withStack(name, async (stack, onEvent, changes) => {
                await stack.preview({ onEvent, onOutput, policyPacks });
                return changes();
            }),
        destroy: (name) =>
            withStack(name, async (stack, onEvent) => {
                await stack.destroy({ onEvent, onOutput });
            }),
        outputs: (name) => withStack(name, async (stack) => plainOutputs(await stack.outputs())),
    };
}
