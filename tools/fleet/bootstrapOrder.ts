// The order of `pulumi up` runs the federation bootstrap needs, and the project's stacks it is computed from.
//
// Each stack reads its peers' `federation` output through a stack reference, so a stack federates with a peer only
// on a run after that peer's first run. Deploying every stack once, in order, then running again every stack that
// has a peer deployed after it, federates everything: for cluster1 <-> cluster2 that is cluster1, cluster2, cluster1
// (the three-run procedure of docs/federation.md). A stack's own `federation` output never depends on its peers, so no further
// runs are needed.
//
//   ts-node tools/fleet/bootstrapOrder.ts [projectDir]    prints the order, one stack per line

import * as path from "path";
import { PROJECT, readStackFile, stackNames } from "../stack-files/stackFiles";
import { wantsHelp } from "../help";

export { PROJECT };

/** A stack and its `peers`, as fully qualified stack names (`<org>/istio-spire/<stack>`). */
export interface StackPeers {
    name: string;
    peers: string[];
}

/**
 * The stack a peer reference names, if it is a stack of `project`: the last path segment of `<org>/<project>/<stack>`
 * when the project segment is `project`; `<org>/<stack>` and `<stack>` name a stack of the current project, as in
 * Pulumi's stack references.
 */
export function peerStackName(reference: string, project: string = PROJECT): string | undefined {
    const parts = reference.split("/");
    if (parts.some((part) => part === "") || parts.length > 3) {
        return undefined;
    }
    if (parts.length === 3 && parts[1] !== project) {
        return undefined;
    }
    return parts[parts.length - 1];
}

/**
 * The `pulumi up` runs of a first deployment: every stack once in the given order, then again, in the same order,
 * every stack with a peer (among `stacks`) whose first run comes after its own. Peers that are not among `stacks`,
 * of another project, or the stack itself are ignored.
 */
export function bootstrapOrder(stacks: StackPeers[], project: string = PROJECT): string[] {
    const position = new Map<string, number>();
    stacks.forEach((stack, index) => {
        if (position.has(stack.name)) {
            throw new Error(`Stack ${JSON.stringify(stack.name)} is listed twice`);
        }
        position.set(stack.name, index);
    });
    const again = stacks.filter((stack, index) =>
        stack.peers.some((peer) => {
            const name = peerStackName(peer, project);
            const peerPosition = name === undefined ? undefined : position.get(name);
            return peerPosition !== undefined && peerPosition > index;
        }),
    );
    return [...stacks.map((stack) => stack.name), ...again.map((stack) => stack.name)];
}

/**
 * The stacks of a project directory: every `Pulumi.<stack>.yaml`, sorted by stack name, with the `stack` of each
 * entry of its `<project>:peers` config (no `peers` key means no peers).
 */
export function loadProjectStacks(projectDir: string, project: string = PROJECT): StackPeers[] {
    return stackNames(projectDir).map((name) => {
        const file = `Pulumi.${name}.yaml`;
        // Read as Pulumi reads it: `peers:` without the namespace is the project's key too (readStackFile).
        const entries = readStackFile(projectDir, name, project).config.peers ?? [];
        if (!Array.isArray(entries)) {
            throw new Error(`${file}: ${project}:peers must be a list of {stack: "<org>/${project}/<stack>"}`);
        }
        const peers = entries.map((entry, index) => {
            const stack = (entry as { stack?: unknown } | null)?.stack;
            if (typeof stack !== "string" || stack === "") {
                throw new Error(`${file}: ${project}:peers[${index}] has no stack name (expected {stack: "<org>/${project}/<stack>"})`);
            }
            return stack;
        });
        return { name, peers };
    });
}

/** What `--help` (or `-h`) prints, on stdout, with exit code 0. */
export const BOOTSTRAP_ORDER_HELP = [
    "usage: ts-node tools/fleet/bootstrapOrder.ts [projectDir]",
    "",
    "Prints the order of the `pulumi up` runs the federation bootstrap needs, one stack per line.",
    "",
    "  projectDir    the project whose Pulumi.<stack>.yaml files to read (default: this project)",
    "  -h, --help    print this help and exit",
].join("\n");

if (require.main === module && wantsHelp(process.argv.slice(2))) {
    console.log(BOOTSTRAP_ORDER_HELP);
} else if (require.main === module) {
    try {
        const projectDir = process.argv[2] ?? path.join(__dirname, "..", "..");
        console.log(bootstrapOrder(loadProjectStacks(projectDir)).join("\n"));
    } catch (error) {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
    }
}
