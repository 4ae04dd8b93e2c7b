// `npm run plan -- <stack>`: what the program declares for a stack, without a cluster or the Pulumi CLI.
// Runs index.ts under Pulumi's mock runtime with the stack's config file (peers are reported as not deployed yet)
// and prints every resource, its parent and dependencies, then the IstioOperator as YAML.

import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { runProgram } from "./harness";

async function main() {
    const stack = process.argv[2] ?? "cluster1";
    const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
    const stackConfig: Record<string, unknown> = parse(fs.readFileSync(file, "utf8")).config ?? {};
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stackConfig)) {
        if (key.startsWith("istio-spire:")) {
            config[key.slice("istio-spire:".length)] = value;
        }
    }
    const program: () => Promise<any> = require("../index");
    const run = await runProgram(program, config, {}, stack);
    console.log(`Stack ${stack}: ${run.declared.length} resources (mocked: no cluster contacted)\n`);
    for (const d of run.declared) {
        const deps = d.dependsOn.length > 0 ? `  after: ${d.dependsOn.join(", ")}` : "";
        console.log(`${d.read ? "read " : ""}${d.type}  ${d.name}${d.parent ? `  (in ${d.parent})` : ""}${deps}`);
    }
    for (const warning of run.warnings) {
        console.log(`\nwarning: ${warning}`);
    }
    console.log("\n# IstioOperator (stack output istioOperator)\n---");
    console.log(stringify(run.outputs.istioOperator, { lineWidth: 0 }));
}

main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
