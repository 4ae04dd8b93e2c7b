// The project's stack files, read as the Pulumi CLI reads them: `npm run render`, `npm run verify` and the fleet's
// bootstrap order all take a stack's configuration from here, so a file means the same to each of them.

import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The Pulumi project name (`Pulumi.yaml`), the namespace of its config keys and of peer stack names. */
export const PROJECT = "istio-spire";

/**
 * A stack's config file, keys in the project namespace without the prefix (`trustDomain`). `error`: the file cannot be
 * read as Pulumi reads a stack file (readStackFile); the stack's render then fails with it, and only that stack's.
 */
export interface StackSource {
    stack: string;
    config: Record<string, unknown>;
    error?: string;
    /**
     * Keys of other namespaces, with theirs (`kubernetes:context`, or a misspelt `istio-spyre:mtlsMode`). A stack file
     * without `kubernetes:context` runs without one, which the program refuses, as `pulumi preview` would. Left out
     * (a source a test builds), the stack runs on a context named after it (tools/mock-engine/harness.ts runProgram).
     */
    otherConfig?: Record<string, unknown>;
}

/** What a YAML value is, for messages. */
function shapeOf(value: unknown): string {
    return value === null ? "null" : Array.isArray(value) ? "a list" : typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

/**
 * Reads `Pulumi.<stack>.yaml` as the Pulumi CLI loads a stack file, or throws an error naming the file. Pulumi
 * unmarshals it into a ProjectStack (pulumi/pulumi sdk/go/common/workspace/loaders.go projectStackLoader.load): invalid
 * YAML, a document that is not a mapping, or a `config` that is not a mapping fail the CLI's load; an empty file or an
 * empty `config` is a stack without configuration. Each config key must be `<namespace>:<name>` (or the old
 * `<namespace>:config:<name>`), else Pulumi refuses the file (sdk/go/common/resource/config/key.go ParseKey).
 */
/**
 * A value `pulumi config set --secret` wrote into a stack file: `{secure: <ciphertext>}`, encrypted by the stack's
 * secrets provider (pulumi/pulumi sdk/go/common/resource/config/value.go: a secure value marshals as a mapping with
 * the single key "secure"). Tools that run offline cannot decrypt it; they know it is a secret.
 */
export class SecureValue {
    constructor(public readonly ciphertext: string) {}
}

function isSecureValue(value: unknown): value is { secure: string } {
    return typeof value === "object" && value !== null && Object.keys(value).length === 1 && typeof (value as { secure?: unknown }).secure === "string";
}

export function readStackFile(projectDir: string, stack: string, project: string = PROJECT): StackSource {
    const file = `Pulumi.${stack}.yaml`;
    const fail = (reason: string): never => {
        throw new Error(`${file}: ${reason}`);
    };
    let document: unknown;
    try {
        document = parse(fs.readFileSync(path.join(projectDir, file), "utf8"));
    } catch (error) {
        // The yaml parser's message, first line (the rest is a source excerpt).
        fail(`not valid YAML: ${(error instanceof Error ? error.message : String(error)).split("\n")[0].replace(/:$/, "")}`);
    }
    if (document !== null && document !== undefined && shapeOf(document) !== "a mapping") {
        fail(`the file holds ${shapeOf(document)}; expected a mapping (a stack file is "config:" and other settings)`);
    }
    const settings: unknown = (document as Record<string, unknown> | null | undefined)?.config ?? {};
    if (shapeOf(settings) !== "a mapping") {
        fail(`"config" is ${shapeOf(settings)}; expected a mapping of "<namespace>:<key>" to values`);
    }
    const config: Record<string, unknown> = {};
    const otherConfig: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
        // A key written without a namespace is the project's: Pulumi namespaces it so when it loads the stack file
        // (pulumi/pulumi sdk/go/common/workspace/loaders.go stackConfigNamespacedWithProject).
        const namespaced = key.includes(":") ? key : `${project}:${key}`;
        const parts = namespaced.split(":");
        if (!(parts.length === 2 || (parts.length === 3 && parts[1] === "config"))) {
            fail(
                `config key ${JSON.stringify(key)} is not of the form "<namespace>:<name>", which Pulumi refuses; expected e.g. ${JSON.stringify(`${project}:${parts[parts.length - 1]}`)}`,
            );
        }
        if (parts[0] === project) {
            config[parts[parts.length - 1]] = isSecureValue(value) ? new SecureValue(value.secure) : value;
        } else {
            otherConfig[`${parts[0]}:${parts[parts.length - 1]}`] = value;
        }
    }
    return { stack, config, otherConfig };
}

/** The stacks of a project directory: the `<stack>` of every `Pulumi.<stack>.yaml`, sorted. */
export function stackNames(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map((file) => /^Pulumi\.([^.]+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

/**
 * The stacks `only` names, in its order (all of the project's, sorted, when it names none), without reading their
 * files; a stack without a file throws.
 */
export function selectStacks(projectDir: string, only: string[] = []): string[] {
    const stacks = stackNames(projectDir);
    for (const stack of only) {
        if (!stacks.includes(stack)) {
            throw new Error(`No stack ${JSON.stringify(stack)}: there is no Pulumi.${stack}.yaml in ${projectDir} (stacks: ${stacks.join(", ")})`);
        }
    }
    return only.length > 0 ? only : stacks;
}

/**
 * Reads `Pulumi.<stack>.yaml` files of a project directory, sorted by stack name; `only` limits and orders them. A
 * file that cannot be read gives a source with its `error` (the other stacks still render); a stack in `only`
 * without a file throws.
 */
export function loadStackSources(projectDir: string, only: string[] = []): StackSource[] {
    return selectStacks(projectDir, only).map((stack) => {
        try {
            return readStackFile(projectDir, stack);
        } catch (error) {
            return { stack, config: {}, error: error instanceof Error ? error.message : String(error) };
        }
    });
}
