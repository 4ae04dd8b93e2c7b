// The tests' own stacks. Tests assert the program against these, never against the project's Pulumi.<stack>.yaml
// files: users add stacks, change trust domains and peers there (see docs/configuration.md), and the suite must not care.
// They are the federation example of docs/federation.md: cluster1 runs sleep-httpbin and curl-greeter, cluster2 runs Bookinfo,
// each names the other as peer, both with observability.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";

/** The `config:` block of each test stack file, keys as a stack file spells them (`istio-spire:trustDomain`). */
export const TEST_STACK_FILES: Readonly<Record<string, Record<string, unknown>>> = {
    cluster1: {
        "kubernetes:context": "cluster1",
        "istio-spire:trustDomain": "cluster1.demo",
        "istio-spire:clusterName": "cluster1",
        "istio-spire:peers": [{ stack: "organization/istio-spire/cluster2" }],
        "istio-spire:samples": ["sleep-httpbin", "curl-greeter"],
        "istio-spire:observability": true,
    },
    cluster2: {
        "kubernetes:context": "cluster2",
        "istio-spire:trustDomain": "cluster2.demo",
        "istio-spire:clusterName": "cluster2",
        "istio-spire:peers": [{ stack: "organization/istio-spire/cluster1" }],
        "istio-spire:samples": ["bookinfo"],
        "istio-spire:observability": true,
    },
};

/** A test stack's project config, keys without the project prefix (`trustDomain`), as runProgram and render take it. */
export function testStackConfig(stack: string): Record<string, unknown> {
    const file = TEST_STACK_FILES[stack];
    if (file === undefined) {
        throw new Error(`no test stack ${stack}`);
    }
    return Object.fromEntries(
        Object.entries(file)
            .filter(([key]) => key.startsWith("istio-spire:"))
            .map(([key, value]) => [key.slice("istio-spire:".length), structuredClone(value)]),
    );
}

const PROJECT_DIR = path.join(__dirname, "..");
/** What a project directory needs besides its stack files to run the program and the tools in test/. */
const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "components", "policy", "test", "tools", "node_modules"];

/**
 * A temporary copy of this project (symlinks to its program, tools and node_modules) holding only the given stack
 * files, by stack name. The caller removes it (removeTestProject).
 */
export function testProject(stacks: Record<string, Record<string, unknown> | string> = TEST_STACK_FILES): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-project-"));
    for (const entry of PROJECT_ENTRIES) {
        fs.symlinkSync(path.join(PROJECT_DIR, entry), path.join(dir, entry));
    }
    for (const [stack, config] of Object.entries(stacks)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), typeof config === "string" ? config : stringify({ config }));
    }
    return dir;
}

export function removeTestProject(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs `npm run render`'s script itself (ts-node tools/render/render.ts) in a project directory. */
export function renderCommand(projectDir: string, args: string[]) {
    const tsNode = require.resolve("ts-node/dist/bin.js");
    return spawnSync(process.execPath, [tsNode, path.join(projectDir, "tools", "render", "render.ts"), ...args], {
        cwd: projectDir,
        encoding: "utf8",
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
}

/** The trust bundle (SPIFFE format) of a test trust domain, from test/fixtures (cluster1.demo, cluster2.demo, cluster3.demo). */
export function fixtureBundle(trustDomain: string): string {
    return fs.readFileSync(path.join(__dirname, "fixtures", `${trustDomain}.bundle.json`), "utf8");
}

/** A peer that federates through an https_web endpoint: ready without a bootstrap bundle. */
export const webPeer = (trustDomain: string) => ({
    federation: {
        trustDomain,
        bundleEndpointUrl: `https://spire-bundle.${trustDomain}`,
        endpointSpiffeId: `spiffe://${trustDomain}/spire/server`,
        bundleEndpointProfile: "https_web",
    },
});
