// What the engine does with a resource declared in one run and declared again in the next: same, update or replace.
// Shared by the tests that judge the options the program declares (installation.test.ts) and the tests that hold a
// new version of the program against the declarations of the previous one (upgrade.test.ts).
import { Declared } from "../tools/mock-engine/harness";

// The engine's decision for one registration, after pulumi/pulumi pkg/resource/deploy/step_generator.go:
//  1. processIgnoreChanges: every ignoreChanges path of the new inputs takes the old inputs' value (or is removed
//     when the old inputs have none: sdk/go/common/resource/properties_path.go PropertyPath.Reset);
//  2. the provider diffs the old inputs against those; pulumi-kubernetes reports each changed leaf (a map present on
//     one side only as a whole), provider/pkg/provider/provider.go addPatchValueToDiff; the random provider asks for
//     a replacement when `keepers` changes (RequiresReplaceIfValuesNotNull);
//  3. applyReplaceOnChanges: a change under a replaceOnChanges path (PropertyPath.Contains) is a replacement;
//  4. a replacement re-runs Check with the program's own inputs (goal.Properties, no olds), so the new object is
//     created from them, ignored properties included; deleteBeforeReplace orders the delete first.

export type PropertyPath = (string | number)[];

/** resource.ParsePropertyPath for the forms used here: `a.b`, `a["b/c"]`, `a[0]`. */
export function parsePath(text: string): PropertyPath {
    const elements: PropertyPath = [];
    const re = /\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|\.?([^.[]+)/g;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        elements.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2] !== undefined ? Number(m[2]) : m[3]);
    }
    return elements;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function processIgnoreChanges(inputs: any, oldInputs: any, ignoreChanges: string[]): any {
    const result = structuredClone(inputs);
    for (const text of ignoreChanges) {
        const p = parsePath(text);
        let oldAt: unknown = oldInputs;
        let newAt: unknown = result;
        for (const key of p.slice(0, -1)) {
            oldAt = isObject(oldAt) ? oldAt[key] : undefined;
            newAt = isObject(newAt) ? newAt[key] : undefined;
        }
        const leaf = p[p.length - 1] as string;
        if (!isObject(newAt)) {
            continue;
        }
        if (isObject(oldAt) && leaf in oldAt) {
            newAt[leaf] = oldAt[leaf];
        } else {
            delete newAt[leaf];
        }
    }
    return result;
}

export function changedPaths(oldValue: unknown, newValue: unknown, at: PropertyPath = []): PropertyPath[] {
    if (isObject(oldValue) && isObject(newValue)) {
        const keys = [...new Set([...Object.keys(oldValue), ...Object.keys(newValue)])].sort();
        return keys.flatMap((k) => changedPaths(oldValue[k], newValue[k], [...at, k]));
    }
    return JSON.stringify(oldValue) === JSON.stringify(newValue) ? [] : [at];
}

const contains = (prefix: PropertyPath, p: PropertyPath) => p.length >= prefix.length && prefix.every((e, i) => e === p[i]);

export interface Step {
    op: "same" | "update" | "replace";
    deleteBeforeReplace: boolean;
    /** The inputs the step applies: the updated object's, or the replacement's. */
    inputs: any;
    changed: string[];
}

/** What the engine does when a resource declared as `old` is declared as `goal` in the next run. */
export function plannedStep(old: Declared, goal: Declared, providerReplaces: string[] = []): Step {
    const inputs = processIgnoreChanges(goal.inputs, old.inputs, goal.ignoreChanges);
    const changed = changedPaths(old.inputs, inputs);
    const names = changed.map((p) => p.join("."));
    if (changed.length === 0) {
        return { op: "same", deleteBeforeReplace: false, inputs: old.inputs, changed: names };
    }
    const replacing = [...goal.replaceOnChanges, ...providerReplaces].map(parsePath);
    if (changed.some((p) => replacing.some((r) => contains(r, p)))) {
        return { op: "replace", deleteBeforeReplace: goal.deleteBeforeReplace, inputs: goal.inputs, changed: names };
    }
    return { op: "update", deleteBeforeReplace: false, inputs, changed: names };
}

/** The random provider replaces a RandomUuid when its keepers change. */
export const RANDOM_REPLACES = ["keepers"];

/**
 * The objects of Bookinfo's manifest (bookinfo.yaml@1.30.3: 4 Services, 4 ServiceAccounts, 6 Deployments), none with a
 * namespace of its own, as pulumi-kubernetes' ConfigFile v2 registers them.
 */
export const BOOKINFO_MANIFEST_OBJECTS: readonly { kind: string; name: string }[] = [
    ...["details", "ratings", "reviews", "productpage"].flatMap((app) => [
        { kind: "Service", name: app },
        { kind: "ServiceAccount", name: `bookinfo-${app}` },
    ]),
    ...["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"].map((name) => ({ kind: "Deployment", name })),
];

/**
 * A pulumi-kubernetes provider's default namespace (provider/pkg/provider/provider.go Configure): its `namespace`
 * input, else the namespace of its kube context, else "default" (client-go's for a context without one).
 */
export function providerDefaultNamespace(providerInputs: { namespace?: string }, contextNamespace: string | undefined): string {
    return providerInputs.namespace || contextNamespace || "default";
}

/**
 * The resource names ConfigFile v2 `prefix` gives namespaced objects without a namespace: `<prefix>:<namespace>/<name>`
 * with the provider's default namespace (provider/pkg/provider/yaml/v2/configfile.go Construct: Normalize, then
 * yaml.go register). The program's transforms run after, on the named resource: they cannot change the name.
 */
export function manifestObjectNames(prefix: string, defaultNamespace: string, objects = BOOKINFO_MANIFEST_OBJECTS): string[] {
    return objects.map((o) => `${prefix}:${defaultNamespace}/${o.name}`);
}
