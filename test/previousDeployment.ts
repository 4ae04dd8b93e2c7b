// The declarations of a previous release of the program, recorded, so that tests can hold the current program
// against them: a deployed stack's next `pulumi up` with the new program must replace or recreate nothing, and with
// the default settings change nothing at all (test/upgrade.test.ts).
//
// Recorded by running this file with the previous release checked out (its index.ts and harness):
//   npx ts-node --transpile-only test/previousDeployment.ts <release> <out dir>
// The configurations are this file's own, never the shipped stack files.

import * as fs from "fs";
import * as path from "path";
import { Declared, World, runProgram, runningStack } from "../tools/mock-engine/harness";

/** A recorded registration: what the engine compares between two runs. */
export interface RecordedResource {
    type: string;
    name: string;
    parent: string;
    inputs: unknown;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
    protect: boolean;
    read: boolean;
}

const PEER = "acme/istio-spire/cluster2";

/** cluster2's outputs as cluster1 reads them: a deployed peer with Bookinfo and curl-greeter. */
export function peerOutputs(trustBundle: string): Record<string, unknown> {
    return {
        federation: {
            trustDomain: "cluster2.demo",
            bundleEndpointUrl: "https://203.0.113.30:8443",
            endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
            trustBundle,
            bundleEndpointProfile: "https_spiffe",
            installationId: "2f0e4a52-0d0b-4b7c-a3de-7a1c5b0c9e11",
        },
        samples: {
            bookinfo: {
                host: "bookinfo.cluster2.demo",
                port: 15443,
                gatewaySpiffeId: "spiffe://cluster2.demo/ns/istio-system/sa/istio-ingressgateway-service-account",
                gatewayAddress: "203.0.113.40",
            },
            curlGreeter: { spiffeId: "spiffe://cluster2.demo/ns/default/sa/curl-greeter" },
        },
    };
}

/** The recorded configurations: the defaults with one peer, and every optional part switched on. */
export const RECORDED_CONFIGS: Record<string, Record<string, unknown>> = {
    defaults: { trustDomain: "cluster1.demo", clusterName: "cluster1", peers: [{ stack: PEER }] },
    everything: {
        trustDomain: "cluster1.demo",
        clusterName: "cluster1",
        peers: [{ stack: PEER }],
        samples: ["sleep-httpbin", "bookinfo", "curl-greeter"],
        observability: true,
        observabilityGrafana: true,
    },
};

/** The world of a recorded run: cluster1 deployed before (its own outputs), cluster2 ready. */
export function recordedWorld(ownBundle: string, peerBundle: string, previousOutputs: Record<string, unknown> = {}): World {
    return { stackOutputs: { [runningStack("cluster1")]: previousOutputs, [PEER]: peerOutputs(peerBundle) }, ownBundle };
}

/** A run's custom resources (components left out), as recorded. */
export function recorded(declared: Declared[]): RecordedResource[] {
    return declared
        .filter((d) => !d.type.startsWith("istio-spire:"))
        .map((d) => ({
            type: d.type,
            name: d.name,
            parent: d.parent,
            inputs: d.inputs,
            ignoreChanges: d.ignoreChanges,
            replaceOnChanges: d.replaceOnChanges,
            deleteBeforeReplace: d.deleteBeforeReplace,
            protect: d.protect,
            read: d.read,
        }));
}

/** Reads a bundle fixture (test/fixtures/<trust domain>.bundle.json). */
export function bundleFixture(trustDomain: string): string {
    return fs.readFileSync(path.join(__dirname, "fixtures", `${trustDomain}.bundle.json`), "utf8");
}

if (require.main === module) {
    const [release, out] = process.argv.slice(2);
    const program: () => Promise<unknown> = require(path.resolve("index"));
    (async () => {
        for (const [name, config] of Object.entries(RECORDED_CONFIGS)) {
            const world = recordedWorld(bundleFixture("cluster1.demo"), bundleFixture("cluster2.demo"));
            const run = await runProgram(program, config, world);
            const file = path.join(out, `${name}.json`);
            fs.writeFileSync(file, JSON.stringify({ release, config, outputs: run.outputs, resources: recorded(run.declared) }, null, 2) + "\n");
            console.log(`${file}: ${run.declared.length} registrations`);
        }
    })().catch((error) => {
        console.error(error);
        process.exit(1);
    });
}
