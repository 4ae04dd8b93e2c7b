// The kubeconfigs of a job that deploys several stacks in one process (deploy.yml runs `npm run fleet -- up`):
//
//   KUBECONFIG_CLUSTER1=... KUBECONFIG_CLUSTER2=... ts-node tools/ci/kubeconfigs.ts <dir> <stack>...
//
// writes each stack's kubeconfig (variable KUBECONFIG_<STACK>) to <dir>/<stack>.kubeconfig, readable by its owner
// only, and prints the KUBECONFIG value listing them. A stack's provider is given no kubeconfig (only its
// `kubernetes:context`, components/kubernetes.ts), so pulumi-kubernetes loads $KUBECONFIG with client-go's default
// loading rules (pulumi-kubernetes provider/pkg/provider/provider.go, clientcmd.NewDefaultClientConfigLoadingRules), and
// Helm does the same. Those rules merge the listed files, and for a context, cluster or user named in several files the
// first file's entry wins (kubernetes/client-go tools/clientcmd/loader.go). Two kubeconfigs that both call their
// cluster `default` would send the second stack to the first stack's cluster, so a name defined differently in two
// files is refused; the same entry in both (one kubeconfig stored in every variable) is fine. Nothing of a
// kubeconfig's content is ever printed.

import * as fs from "fs";
import * as path from "path";
import { isDeepStrictEqual } from "util";
import { parse } from "yaml";
import { wantsHelp } from "../help";

/** The variable holding a stack's kubeconfig: `KUBECONFIG_<STACK>` (upper case, `-` as `_`), as the workflows name the secrets. */
export function kubeconfigVariable(stack: string): string {
    return `KUBECONFIG_${stack.toUpperCase().replace(/-/g, "_")}`;
}

/** The named lists of a kubeconfig that client-go merges by name. */
const NAMED_LISTS = [
    ["contexts", "context"],
    ["clusters", "cluster"],
    ["users", "user"],
] as const;

/**
 * Checks the kubeconfigs of `stacks` (from `env`) can be merged into one KUBECONFIG, and returns each one's text.
 * Throws an error naming the variable (never its content) otherwise.
 */
export function checkKubeconfigs(stacks: string[], env: NodeJS.ProcessEnv): Map<string, string> {
    const texts = new Map<string, string>();
    // name kind + name -> the variable that defined it first, and its entry.
    const defined = new Map<string, { variable: string; entry: unknown }>();
    for (const stack of stacks) {
        const variable = kubeconfigVariable(stack);
        const text = env[variable] ?? "";
        if (text.trim() === "") {
            throw new Error(`${variable} is empty: set it to the kubeconfig of stack ${stack}`);
        }
        let config: unknown;
        try {
            config = parse(text);
        } catch {
            throw new Error(`${variable} is not a kubeconfig: it is not valid YAML`);
        }
        if (config === null || typeof config !== "object" || Array.isArray(config)) {
            throw new Error(`${variable} is not a kubeconfig: expected a YAML mapping`);
        }
        for (const [list, kind] of NAMED_LISTS) {
            const entries = (config as Record<string, unknown>)[list];
            for (const entry of Array.isArray(entries) ? entries : []) {
                const name = (entry as { name?: unknown } | null)?.name;
                if (typeof name !== "string") {
                    continue;
                }
                const first = defined.get(`${kind}/${name}`);
                if (first === undefined) {
                    defined.set(`${kind}/${name}`, { variable, entry });
                } else if (first.variable !== variable && !isDeepStrictEqual(first.entry, entry)) {
                    throw new Error(
                        `${first.variable} and ${variable} both define a ${kind} named ${JSON.stringify(name)}, differently: merged into one ` +
                            `KUBECONFIG, the first one's would be used for both stacks; rename it in one of them`,
                    );
                }
            }
        }
        texts.set(stack, text.endsWith("\n") ? text : `${text}\n`);
    }
    return texts;
}

/** Writes the checked kubeconfigs to `<dir>/<stack>.kubeconfig` (mode 0600) and returns the KUBECONFIG value listing them. */
export function writeKubeconfigs(dir: string, stacks: string[], env: NodeJS.ProcessEnv): string {
    const texts = checkKubeconfigs(stacks, env);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = [...texts].map(([stack, text]) => {
        const file = path.join(dir, `${stack}.kubeconfig`);
        fs.writeFileSync(file, text, { mode: 0o600 });
        fs.chmodSync(file, 0o600);
        return file;
    });
    return files.join(path.delimiter);
}

export const KUBECONFIGS_HELP = [
    "usage: ts-node tools/ci/kubeconfigs.ts <dir> <stack>...",
    "",
    "Writes each stack's kubeconfig, from the environment variable KUBECONFIG_<STACK>, to a file of mode 0600 in <dir>,",
    "refuses two kubeconfigs that define one context, cluster or user name differently, and prints the files as one",
    "KUBECONFIG path list. It never prints a kubeconfig's content.",
    "",
    "  -h, --help    print this help and exit",
].join("\n");

if (require.main === module && wantsHelp(process.argv.slice(2))) {
    console.log(KUBECONFIGS_HELP);
} else if (require.main === module) {
    const [dir, ...stacks] = process.argv.slice(2);
    if (dir === undefined || stacks.length === 0) {
        console.error(KUBECONFIGS_HELP.split("\n")[0]);
        process.exit(2);
    }
    try {
        console.log(writeKubeconfigs(dir, stacks, process.env));
    } catch (error) {
        console.error(error instanceof Error ? error.message : String(error));
        process.exit(1);
    }
}
