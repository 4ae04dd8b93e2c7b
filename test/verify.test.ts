import { expect } from "chai";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { ProgramRun, ofType, runProgram } from "../tools/mock-engine/harness";
import { JsonObject, spireChartDefaults, spireConfigDump } from "../tools/upstream/upstream";
import { requireArtifact, requireUpstream } from "../tools/upstream/artifacts";
import { ensureHelm } from "../tools/upstream/helm";
import { ChartRenderer, releasesOf, theObject } from "./chartRender";
import { loadStackSources } from "../tools/stack-files/stackFiles";
import { TEST_STACK_FILES } from "./testStacks";
import { HELP, USAGE, VerifyDependencies, loadExpectations, parseArguments, resolvePeers, verify } from "../tools/verify/verify";
import { spawnSync } from "child_process";
import { ApiException } from "@kubernetes/client-node";
import {
    BUNDLE_SHOW_COMMAND,
    ClusterReader,
    HEALTHCHECK_COMMAND,
    SPIRE_SERVER_CONTAINER,
    SPIRE_SERVER_SOCKET,
    describeApiError,
    loadKubeConfig,
} from "../tools/verify/verifyCluster";
import {
    CertManagerIssuerObject,
    SPIRE_SERVER_DEFAULTS,
    SPIRE_SERVER_OUTPUT,
    ClusterFederatedTrustDomainObject,
    ClusterSpiffeIdObject,
    Expectations,
    GATEWAY_CLUSTER_SPIFFE_ID,
    PodObject,
    ProxySecrets,
    SvidExpectation,
    UsageError,
    WORKLOAD_CLUSTER_SPIFFE_ID,
    WorkloadKind,
    WorkloadObject,
    checkClusterSpiffeId,
    checkFederatedTrustDomain,
    checkPeerBundle,
    checkPeerOutput,
    checkSvid,
    checkWorkloadReady,
    emptyNamespaceWarning,
    enrolledPods,
    formatReport,
    gatewayPods,
    parseSpireServerRecord,
    readProxySecrets,
    spiffeUris,
    spireServerExpectation,
} from "../tools/verify/verifyChecks";

const PROJECT_DIR = path.resolve(__dirname, "..");
const FIXTURES = path.join(__dirname, "fixtures", "verify");
const CLUSTER1 = path.join(FIXTURES, "cluster1");
const PEER_OUTPUT_FILE = path.join(FIXTURES, "stack-outputs", "organization+istio-spire+cluster2.federation.json");
/** Inside the validity of the recorded cluster's SVIDs (issued 2026-11-23T01:40Z, 4 h). */
const CLUSTER1_NOW = new Date("2026-11-23T02:00:00Z");
/** Inside the validity of the upstream dump's SVID (2024-10-27T21:44:27Z to 22:44:37Z). */
const UPSTREAM_NOW = new Date("2024-10-27T22:00:00Z");

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, "utf8"));
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

// ---------------------------------------------------------------------------------------------------------------
// A cluster made of recorded API responses: files named by the API path they answer (see fixtures/verify/README.md).

const PLURALS: Record<WorkloadKind, string> = { StatefulSet: "statefulsets", DaemonSet: "daemonsets", Deployment: "deployments" };

class RecordedCluster implements ClusterReader {
    /** Exec calls made in proxies, as `<namespace>/<pod>`. */
    public readonly execs: string[] = [];
    /** Exec calls made in SPIRE servers, as `<namespace>/<pod> <command>`. */
    public readonly serverExecs: string[] = [];
    /** Responses replacing (or, with `undefined`, removing) recorded ones, by path; an Error is thrown instead. */
    constructor(
        private readonly dir: string,
        private readonly overrides: Record<string, unknown> = {},
    ) {}

    private response(rel: string): unknown {
        if (rel in this.overrides) {
            const value = this.overrides[rel];
            if (value instanceof Error) {
                throw value;
            }
            return value;
        }
        const file = path.join(this.dir, rel);
        if (!fs.existsSync(file)) {
            return undefined;
        }
        // A command's text output is recorded as text, an API response or JSON output as JSON.
        return file.endsWith(".txt") ? fs.readFileSync(file, "utf8") : readJson(file);
    }

    async readWorkload(kind: WorkloadKind, namespace: string, name: string) {
        return this.response(`apis/apps/v1/namespaces/${namespace}/${PLURALS[kind]}/${name}.json`) as WorkloadObject | undefined;
    }

    async listPods(namespace: string, labels: Record<string, string> = {}) {
        const list = this.response(`api/v1/namespaces/${namespace}/pods.json`) as { items: PodObject[] } | undefined;
        // The API server answers a namespace without pods with an empty list.
        return (list?.items ?? []).filter((pod) => Object.entries(labels).every(([k, v]) => pod.metadata?.labels?.[k] === v));
    }

    async readClusterSpiffeId(name: string) {
        return this.response(`apis/spire.spiffe.io/v1alpha1/clusterspiffeids/${name}.json`) as ClusterSpiffeIdObject | undefined;
    }

    async listClusterFederatedTrustDomains() {
        const list = this.response("apis/spire.spiffe.io/v1alpha1/clusterfederatedtrustdomains.json") as { items: ClusterFederatedTrustDomainObject[] };
        return list.items;
    }

    async proxyConfigDump(namespace: string, pod: string) {
        this.execs.push(`${namespace}/${pod}`);
        const output = this.response(`exec/${namespace}/${pod}/istio-proxy/pilot-agent-request-GET-config_dump.json`);
        if (output === undefined) {
            throw new Error(`container not found ("istio-proxy")`);
        }
        return JSON.stringify(output);
    }

    private serverExec(namespace: string, pod: string, command: string): unknown {
        this.serverExecs.push(`${namespace}/${pod} ${command}`);
        const output = this.response(serverExecPath(`${namespace}/${pod}`, command));
        if (output === undefined) {
            throw new Error(`container not found ("spire-server")`);
        }
        return output;
    }

    async spireServerBundle(namespace: string, pod: string) {
        const output = this.serverExec(namespace, pod, BUNDLE_SHOW);
        // `bundle show -format spiffe` prints the bundle indented by 4 (cmd/spire-server/cli/bundle/common.go printBundle).
        return typeof output === "string" ? output : `${JSON.stringify(output, null, 4)}\n`;
    }

    async spireServerHealthcheck(namespace: string, pod: string) {
        return this.serverExec(namespace, pod, HEALTHCHECK) as string;
    }

    async readCertManagerIssuer(kind: "Issuer" | "ClusterIssuer", namespace: string, name: string) {
        const rel =
            kind === "ClusterIssuer"
                ? `apis/cert-manager.io/v1/clusterissuers/${name}.json`
                : `apis/cert-manager.io/v1/namespaces/${namespace}/issuers/${name}.json`;
        return this.response(rel) as CertManagerIssuerObject | undefined;
    }
}

const GATEWAY_POD = "istio-system/istio-ingressgateway-6f9b8d7c5-x2k4q";
const SLEEP_POD = "default/sleep-7c8d9f6b5-h7m9n";
const recorded = (rel: string) => readJson(path.join(CLUSTER1, rel)) as JsonObject;
const execPath = (pod: string) => `exec/${pod}/istio-proxy/pilot-agent-request-GET-config_dump.json`;
const BUNDLE_SHOW = "spire-server-bundle-show-format-spiffe.json";
const HEALTHCHECK = "spire-server-healthcheck.txt";
/** Where the output of a command in a SPIRE server's spire-server container is recorded. */
const serverExecPath = (pod: string, command: string) => `exec/${pod}/spire-server/${command}`;
const SERVER_0 = "spire-server/spire-server-0";

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    /** The stacks whose `federation` output was read. */
    peerReads: string[];
}

/**
 * Runs verify on a cluster. The peer's `federation` output is the recorded one; the stack's own `spireServer` output
 * is `spireServer` (none by default: a stack deployed before it existed).
 */
async function runVerify(argv: string[], cluster: ClusterReader, options: Partial<VerifyDependencies> & { spireServer?: unknown } = {}): Promise<Run> {
    const run: Run = { code: -1, stdout: "", stderr: "", peerReads: [] };
    const { spireServer, ...dependencies } = options;
    run.code = await verify(argv, {
        projectDir: FIXTURES,
        connect: () => cluster,
        readStackOutput: async (stack, output) => {
            if (output === "federation") {
                run.peerReads.push(stack);
                return readJson(PEER_OUTPUT_FILE);
            }
            expect([stack, output]).to.deep.equal(["cluster1", SPIRE_SERVER_OUTPUT]);
            return spireServer;
        },
        now: CLUSTER1_NOW,
        stdout: (text) => (run.stdout += text),
        stderr: (text) => (run.stderr += text),
        ...dependencies,
    });
    return run;
}

/** The lines that are not passes, without indentation. */
const notPassing = (stdout: string) =>
    stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.startsWith("✘") || l.startsWith("!"));

// The full report of the recorded cluster, which is also the sample of docs/verify.md.
const ALL_PASS = `Stack cluster1: kube context cluster1, trust domain cluster1.demo, peers cluster2.demo (organization/istio-spire/cluster2)

SPIRE is up
  ✔ SPIRE server: StatefulSet spire-server/spire-server is ready (1/1 replicas)
  ✔ SPIRE agents: DaemonSet spire-server/spire-agent is ready (2/2 pods)
  ✔ SPIFFE CSI driver: DaemonSet spire-server/spire-spiffe-csi-driver is ready (2/2 pods)

SPIRE servers
  ✔ SPIRE server spire-server/spire-server-0 reaches its datastore (SQLite on the pod's volume; spire-server healthcheck: Server is healthy.)
  ✔ SPIRE server replicas serve one trust bundle (spire-server-0: 1 X.509 authority, 1 JWT authority)

Workloads are registered
  ✔ ClusterSPIFFEID istio-ingressgateway-reg registers its pods (podsSelected 1, entriesToSet 1, no failures)
  ✔ ClusterSPIFFEID istio-workloads registers its pods (podsSelected 2, entriesToSet 2, no failures)

Istio is up
  ✔ istiod: Deployment istio-system/istiod is ready (1/1 replicas)
  ✔ ingress gateway: Deployment istio-system/istio-ingressgateway is ready (1/1 replicas)

Proxies hold SPIRE-issued SVIDs
  ✔ istio-system/istio-ingressgateway-6f9b8d7c5-x2k4q: proxy SVID is spiffe://cluster1.demo/ns/istio-system/sa/istio-ingressgateway-service-account, issued by SPIRE (CA C=US, O=SPIRE, CN=cluster1.demo, valid until 2026-11-23T05:40:02Z)
  ✔ default/sleep-7c8d9f6b5-h7m9n: proxy SVID is spiffe://cluster1.demo/ns/default/sa/sleep, issued by SPIRE (CA C=US, O=SPIRE, CN=cluster1.demo, valid until 2026-11-23T05:40:43Z)

Federation
  ✔ peer stack organization/istio-spire/cluster2 exports its trust domain (cluster2.demo)
  ✔ ClusterFederatedTrustDomain for cluster2.demo exists (cluster2.demo, bundle endpoint https://203.0.113.20:8443)
  ✔ istio-system/istio-ingressgateway-6f9b8d7c5-x2k4q: proxy ROOTCA holds the cluster2.demo bundle (1 CA certificate)
  ✔ default/sleep-7c8d9f6b5-h7m9n: proxy ROOTCA holds the cluster2.demo bundle (1 CA certificate)

15 checks, 0 failed
`;

const CLUSTER1_EXPECTATIONS: Expectations = {
    stack: "cluster1",
    kubeContext: "cluster1",
    trustDomain: "cluster1.demo",
    spireNamespace: "spire-server",
    istioNamespace: "istio-system",
    controllerClassName: "spire-server-spire",
    enrolledNamespaces: ["default"],
    gateway: { name: "istio-ingressgateway", serviceAccount: "istio-ingressgateway-service-account" },
    caSubject: { country: "US", organization: "SPIRE", commonName: "cluster1.demo" },
    peerStacks: ["organization/istio-spire/cluster2"],
};

/** A project directory holding one stack file with `config`. */
function projectWith(stack: string, config: Record<string, unknown>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-"));
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify({ config }));
    return dir;
}

function usageErrorOf(action: () => unknown): string {
    try {
        action();
    } catch (error) {
        expect(error).to.be.instanceOf(UsageError);
        return (error as Error).message;
    }
    throw new Error("expected a UsageError");
}

describe("npm run verify", () => {
    describe("command line", () => {
        it("reads the stack, a context override, repeated peer trust domains (sorted, once each) and --ascii", () => {
            expect(
                parseArguments([
                    "--stack",
                    "cluster1",
                    "--peer-trust-domain",
                    "west.local",
                    "--context",
                    "kind-a",
                    "--peer-trust-domain",
                    "east.local",
                    "--peer-trust-domain",
                    "west.local",
                    "--ascii",
                ]),
            ).to.deep.equal({ stack: "cluster1", context: "kind-a", peerTrustDomains: ["east.local", "west.local"], ascii: true });
        });

        it("needs --stack", () => {
            expect(usageErrorOf(() => parseArguments([]))).to.equal(`Missing --stack <name>; ${USAGE}`);
        });

        it("refuses an option without its value", () => {
            expect(usageErrorOf(() => parseArguments(["--stack", "--ascii"]))).to.equal(`--stack needs a value; ${USAGE}`);
            expect(usageErrorOf(() => parseArguments(["--stack", "cluster1", "--context"]))).to.equal(`--context needs a value; ${USAGE}`);
        });

        it("refuses unknown arguments, a second --stack and a malformed peer trust domain", () => {
            expect(usageErrorOf(() => parseArguments(["cluster1"]))).to.equal(`Unknown argument "cluster1"; ${USAGE}`);
            expect(usageErrorOf(() => parseArguments(["--stack", "a", "--stack", "b"]))).to.equal(
                `--stack is given twice; verify one stack at a time; ${USAGE}`,
            );
            expect(usageErrorOf(() => parseArguments(["--stack", "a", "--peer-trust-domain", "spiffe://west.local"]))).to.equal(
                '--peer-trust-domain "spiffe://west.local" includes the "spiffe://" scheme; expected only the trust domain name, e.g. "cluster1.demo"',
            );
        });

        it("prints the usage for --help or -h, whatever else is given, and exits 0 without reading a stack or a cluster", async () => {
            expect(HELP.split("\n")[0]).to.equal(USAGE);
            expect(HELP).to.include("  -h, --help                          print this help and exit\n");
            const connect = () => {
                throw new Error("connected");
            };
            for (const argv of [["--help"], ["-h"], ["--stack", "nope", "--help"], ["--unknown", "-h"]]) {
                expect(await runVerify(argv, new RecordedCluster(CLUSTER1), { connect, projectDir: os.tmpdir() }), argv.join(" ")).to.deep.equal({
                    code: 0,
                    stdout: HELP,
                    stderr: "",
                    peerReads: [],
                });
            }
        });

        it("prints the usage and exits 0 as `npm run verify -- --help` runs it", function () {
            this.timeout(60000);
            // package.json: "verify": "ts-node tools/verify/verify.ts" (transpile-only here: the suite type-checks it already).
            const run = spawnSync(
                process.execPath,
                [require.resolve("ts-node/dist/bin.js"), path.join(__dirname, "..", "tools", "verify", "verify.ts"), "--help"],
                {
                    cwd: path.join(__dirname, ".."),
                    encoding: "utf8",
                    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
                },
            );
            expect([run.status, run.stdout, run.stderr]).to.deep.equal([0, HELP, ""]);
        });
    });

    describe("expectations from the stack's configuration", () => {
        it("resolves the recorded stack's file with the program's defaults", () => {
            expect(loadExpectations(FIXTURES, "cluster1")).to.deep.equal(CLUSTER1_EXPECTATIONS);
        });

        it("reads a stack file like the federation seed's", () => {
            const e = loadExpectations(projectWith("cluster2", TEST_STACK_FILES.cluster2), "cluster2");
            expect([e.kubeContext, e.trustDomain, e.caSubject.commonName]).to.deep.equal(["cluster2", "cluster2.demo", "cluster2.demo"]);
            expect(e.peerStacks).to.deep.equal(["organization/istio-spire/cluster1"]);
        });

        it("reads each of the project's own stack files, whatever they are", () => {
            for (const { stack, config } of loadStackSources(PROJECT_DIR)) {
                const e = loadExpectations(PROJECT_DIR, stack, "any-context");
                expect([e.stack, e.trustDomain], stack).to.deep.equal([stack, config.trustDomain]);
            }
        });

        it("takes the gateway, namespaces and CA subject the stack sets, and --context over kubernetes:context", () => {
            const dir = projectWith("east", {
                "kubernetes:context": "kind-east",
                "istio-spire:trustDomain": "east.local",
                "istio-spire:clusterName": "east",
                "istio-spire:caSubjectOrganization": "SPIFFE",
                "istio-spire:caSubjectCommonName": "East CA",
                "istio-spire:ingressGatewayServiceAccount": "federation-ingress-gateway-service-account",
                "istio-spire:enrolledNamespaces": ["sleep", "httpbin"],
                "istio-spire:spireNamespace": "spire",
            });
            expect(loadExpectations(dir, "east", "kind-other")).to.deep.equal({
                stack: "east",
                kubeContext: "kind-other",
                trustDomain: "east.local",
                spireNamespace: "spire",
                istioNamespace: "istio-system",
                controllerClassName: "spire-spire",
                enrolledNamespaces: ["httpbin", "sleep"],
                gateway: { name: "istio-ingressgateway", serviceAccount: "federation-ingress-gateway-service-account" },
                caSubject: { country: "US", organization: "SPIFFE", commonName: "East CA" },
                peerStacks: [],
            });
        });

        it("names kubernetes:context when the stack file does not set it", () => {
            const dir = projectWith("east", { "istio-spire:trustDomain": "east.local", "istio-spire:clusterName": "east" });
            expect(usageErrorOf(() => loadExpectations(dir, "east"))).to.equal(
                "Pulumi.east.yaml does not set kubernetes:context: run `pulumi config set kubernetes:context <context> -s east`, or pass --context <context>",
            );
            expect(loadExpectations(dir, "east", "kind-east").kubeContext).to.equal("kind-east");
        });

        it("reports an unknown stack and an invalid configuration with the program's own messages", () => {
            expect(usageErrorOf(() => loadExpectations(FIXTURES, "cluster9"))).to.equal(
                `No stack "cluster9": there is no Pulumi.cluster9.yaml in ${FIXTURES} (stacks: cluster1)`,
            );
            const dir = projectWith("bad", { "kubernetes:context": "bad", "istio-spire:clusterName": "bad" });
            expect(usageErrorOf(() => loadExpectations(dir, "bad"))).to.equal(
                "Pulumi.bad.yaml: Invalid configuration: trustDomain: is not set; run `pulumi config set trustDomain <value>` (see docs/configuration.md)",
            );
        });
    });

    describe("readiness of the SPIRE and Istio workloads", () => {
        const agent = () => recorded("apis/apps/v1/namespaces/spire-server/daemonsets/spire-agent.json") as WorkloadObject;
        const server = () => recorded("apis/apps/v1/namespaces/spire-server/statefulsets/spire-server.json") as WorkloadObject;
        const gateway = () => recorded("apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway.json") as WorkloadObject;

        it("passes a recorded ready StatefulSet, DaemonSet and Deployment", () => {
            expect(checkWorkloadReady("SPIRE server", "StatefulSet", "spire-server", "spire-server", server())).to.deep.equal({
                what: "SPIRE server: StatefulSet spire-server/spire-server is ready",
                verdict: "pass",
                why: "1/1 replicas",
            });
            expect(checkWorkloadReady("SPIRE agents", "DaemonSet", "spire-server", "spire-agent", agent()).verdict).to.equal("pass");
            expect(checkWorkloadReady("ingress gateway", "Deployment", "istio-system", "istio-ingressgateway", gateway()).verdict).to.equal("pass");
        });

        it("fails a DaemonSet with a pod not ready, and says how many", () => {
            const object = agent();
            object.status = { ...object.status, numberReady: 1 };
            expect(checkWorkloadReady("SPIRE agents", "DaemonSet", "spire-server", "spire-agent", object)).to.deep.equal({
                what: "SPIRE agents: DaemonSet spire-server/spire-agent is ready",
                verdict: "fail",
                why: "1/2 pods ready",
            });
        });

        it("fails a DaemonSet that schedules no pod, a Deployment scaled to 0 and a missing object", () => {
            const none = agent();
            none.status = { ...none.status, desiredNumberScheduled: 0, numberReady: 0, updatedNumberScheduled: 0 };
            expect(checkWorkloadReady("SPIRE agents", "DaemonSet", "spire-server", "spire-agent", none).why).to.equal(
                "it schedules no pod (desiredNumberScheduled is 0; check its nodeSelector and tolerations)",
            );
            const scaled = gateway();
            scaled.spec = { ...scaled.spec, replicas: 0 };
            expect(checkWorkloadReady("ingress gateway", "Deployment", "istio-system", "istio-ingressgateway", scaled).why).to.equal(
                "it is scaled to 0 replicas",
            );
            expect(checkWorkloadReady("istiod", "Deployment", "istio-system", "istiod", undefined)).to.deep.equal({
                what: "istiod: Deployment istio-system/istiod is ready",
                verdict: "fail",
                why: "not found",
            });
        });

        it("fails a rollout the controller has not observed or not finished", () => {
            const object = server();
            object.metadata = { ...object.metadata, generation: 2 };
            object.status = { ...object.status, updatedReplicas: 0 };
            expect(checkWorkloadReady("SPIRE server", "StatefulSet", "spire-server", "spire-server", object).why).to.equal(
                "its controller has not observed generation 2 yet (observed 1); 0/1 replicas updated (rollout in progress)",
            );
        });
    });

    describe("pods whose proxies are checked", () => {
        const defaultPods = () => recorded("api/v1/namespaces/default/pods.json").items as PodObject[];

        it("takes Running pods with an istio-proxy (a native sidecar here) and the SPIRE identity label, and skips the others", () => {
            // httpbin is Pending, netshoot has no sidecar.
            expect(enrolledPods(defaultPods()).map((p) => p.metadata?.name)).to.deep.equal(["sleep-7c8d9f6b5-h7m9n"]);
        });

        it("takes a classic sidecar (a regular istio-proxy container) too", () => {
            const [sleep] = enrolledPods(defaultPods());
            const classic = clone(sleep);
            classic.spec = { ...classic.spec, initContainers: [{ name: "istio-init" }], containers: [{ name: "sleep" }, { name: "istio-proxy" }] };
            expect(enrolledPods([classic])).to.have.length(1);
            const unlabelled = clone(sleep);
            unlabelled.metadata = { ...unlabelled.metadata, labels: { app: "sleep" } };
            expect(enrolledPods([unlabelled])).to.deep.equal([]);
        });

        it("takes the gateway's Running pods without requiring the identity label, which its template does not add", () => {
            const pods = recorded("api/v1/namespaces/istio-system/pods.json").items as PodObject[];
            expect(gatewayPods(pods).map((p) => p.metadata?.name)).to.deep.equal(["istio-ingressgateway-6f9b8d7c5-x2k4q"]);
        });

        it("warns about an enrolled namespace with nothing to check, counting pods that are not Running", () => {
            const pending = defaultPods().filter((p) => p.metadata?.name?.startsWith("httpbin"));
            expect(emptyNamespaceWarning("default", pending)).to.deep.equal({
                what: "enrolled namespace default has workloads to check",
                verdict: "warn",
                why: "no Running pod with an istio-proxy container and label spiffe.io/spire-managed-identity=true (1 such pod is not Running)",
            });
            expect(emptyNamespaceWarning("empty", []).why).to.equal(
                "no Running pod with an istio-proxy container and label spiffe.io/spire-managed-identity=true",
            );
        });
    });

    describe("ClusterSPIFFEID status", () => {
        const workloads = () => recorded(`apis/spire.spiffe.io/v1alpha1/clusterspiffeids/${WORKLOAD_CLUSTER_SPIFFE_ID}.json`) as ClusterSpiffeIdObject;
        const withStats = (stats: object) => {
            const object = workloads();
            object.status = { stats: { ...object.status?.stats, ...stats } };
            return object;
        };

        it("passes the recorded registration with its counts", () => {
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, workloads(), "spire-server-spire", 1)).to.deep.equal({
                what: "ClusterSPIFFEID istio-workloads registers its pods",
                verdict: "pass",
                why: "podsSelected 2, entriesToSet 2, no failures",
            });
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, withStats({ entriesMasked: 1 }), "spire-server-spire", 1).why).to.equal(
                "podsSelected 2, entriesToSet 2, entriesMasked 1, no failures",
            );
        });

        it("fails on entry and render failures, all of them in one line", () => {
            expect(
                checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, withStats({ entryFailures: 2, podEntryRenderFailures: 1 }), "spire-server-spire", 1),
            ).to.deep.equal({
                what: "ClusterSPIFFEID istio-workloads registers its pods",
                verdict: "fail",
                why:
                    "entryFailures is 2 (the SPIRE server refused entries; see the spire-controller-manager container's log); " +
                    "podEntryRenderFailures is 1 (its templates did not render a valid entry for some pods)",
            });
        });

        it("fails when it selects no pod while Running pods need its identity, or sets no entry for selected pods", () => {
            const none = withStats({ podsSelected: 0, entriesToSet: 0, namespacesSelected: 0 });
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, none, "spire-server-spire", 2).why).to.equal(
                "podsSelected is 0, though 2 Running pods need its identity",
            );
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, none, "spire-server-spire", 0).verdict).to.equal("pass");
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, withStats({ entriesToSet: 0 }), "spire-server-spire", 1).why).to.equal(
                "entriesToSet is 0 for 2 selected pods",
            );
        });

        it("fails an object another controller class owns, one never reconciled, and a missing one", () => {
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, workloads(), "spire-spire", 1).why).to.equal(
                'its className is "spire-server-spire"; this SPIRE\'s controller manager only acts on "spire-spire"',
            );
            const fresh = workloads();
            delete fresh.status;
            expect(checkClusterSpiffeId(WORKLOAD_CLUSTER_SPIFFE_ID, fresh, "spire-server-spire", 1).why).to.equal(
                "it has no status: the controller manager has not reconciled it yet (is spire-controller-manager running?)",
            );
            expect(checkClusterSpiffeId(GATEWAY_CLUSTER_SPIFFE_ID, undefined, "spire-server-spire", 1).why).to.equal("not found");
        });
    });

    describe("federation objects and peer stacks", () => {
        const cftds = () => recorded("apis/spire.spiffe.io/v1alpha1/clusterfederatedtrustdomains.json").items as ClusterFederatedTrustDomainObject[];

        it("finds the peer's ClusterFederatedTrustDomain by its spec.trustDomain", () => {
            expect(checkFederatedTrustDomain("cluster2.demo", cftds(), "spire-server-spire", "cluster1")).to.deep.equal({
                what: "ClusterFederatedTrustDomain for cluster2.demo exists",
                verdict: "pass",
                why: "cluster2.demo, bundle endpoint https://203.0.113.20:8443",
            });
        });

        it("fails a missing one, naming what exists and the run that creates it, and one of another class", () => {
            expect(checkFederatedTrustDomain("cluster3.demo", cftds(), "spire-server-spire", "cluster1").why).to.equal(
                'none has spec.trustDomain "cluster3.demo" (found: cluster2.demo); run `pulumi up -s cluster1` once the peer stack is deployed',
            );
            expect(checkFederatedTrustDomain("cluster2.demo", cftds(), "spire-spire", "cluster1").why).to.equal(
                'cluster2.demo has className "spire-server-spire"; this SPIRE\'s controller manager only acts on "spire-spire"',
            );
        });

        it("takes the peer's trust domain from its recorded federation output", () => {
            expect(checkPeerOutput("organization/istio-spire/cluster2", "cluster1.demo", { value: readJson(PEER_OUTPUT_FILE) })).to.deep.equal({
                check: { what: "peer stack organization/istio-spire/cluster2 exports its trust domain", verdict: "pass", why: "cluster2.demo" },
                peer: { trustDomain: "cluster2.demo", source: "organization/istio-spire/cluster2" },
            });
        });

        it("fails a peer stack it cannot read, one not deployed, and one exporting this stack's trust domain", () => {
            const stack = "organization/istio-spire/cluster2";
            expect(checkPeerOutput(stack, "cluster1.demo", { error: "Could not find the Pulumi CLI" })).to.deep.equal({
                check: {
                    what: "peer stack organization/istio-spire/cluster2 exports its trust domain",
                    verdict: "fail",
                    why: "could not read its federation output (Could not find the Pulumi CLI); install the Pulumi CLI and log in to the peer's backend, or pass --peer-trust-domain <trust domain>",
                },
            });
            expect(checkPeerOutput(stack, "cluster1.demo", { value: undefined }).check.why).to.equal(
                "it has no federation output; run `pulumi up -s organization/istio-spire/cluster2` first",
            );
            expect(checkPeerOutput(stack, "cluster1.demo", { value: { trustDomain: "cluster1.demo" } }).check.why).to.equal(
                "its federation.trustDomain is this stack's own (cluster1.demo); is the peer listed by mistake?",
            );
        });

        it("uses --peer-trust-domain instead of the Pulumi CLI", async () => {
            const reads: string[] = [];
            const resolved = await resolvePeers(CLUSTER1_EXPECTATIONS, ["cluster3.demo"], async (stack) => {
                reads.push(stack);
                return undefined;
            });
            expect(resolved).to.deep.equal({ peers: [{ trustDomain: "cluster3.demo", source: "--peer-trust-domain" }], checks: [] });
            expect(reads).to.deep.equal([]);
        });
    });

    describe("SVIDs in the real SPIRE-federated Envoy config dump (istio 1.30.3 testdata: east.local, federated with west.local)", () => {
        // Its SVID: spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account, signed by SPIRE's
        // CA (C=US, O=SPIFFE, URI SAN spiffe://east.local), itself signed by the upstream root in the east.local bundle.
        const EAST: SvidExpectation = {
            pod: "istio-system/federation-ingress-gateway-0",
            trustDomain: "east.local",
            spiffeId: "spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account",
            caSubject: { country: "US", organization: "SPIFFE", commonName: "" },
        };
        const WHAT =
            "istio-system/federation-ingress-gateway-0: proxy SVID is spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account, issued by SPIRE";
        const dumpText = (edit: (dump: JsonObject) => void = () => undefined) => {
            const dump = spireConfigDump();
            edit(dump);
            return JSON.stringify(dump);
        };
        const secretsDump = (dump: JsonObject) => (dump.configs as JsonObject[]).find((c) => String(c["@type"]).endsWith("SecretsConfigDump")) as JsonObject;
        const trustDomains = (dump: JsonObject) => {
            const rootCA = (secretsDump(dump).dynamic_active_secrets as JsonObject[]).find((s) => s.name === "ROOTCA") as any;
            return rootCA.secret.validation_context.custom_validator_config.typed_config.trust_domains as { name: string; trust_bundle: unknown }[];
        };
        const secrets = (edit?: (dump: JsonObject) => void): ProxySecrets => readProxySecrets(dumpText(edit));
        before(function () {
            requireUpstream(this);
        });

        it("reads its default SVID chain and the ROOTCA bundles of both trust domains", () => {
            const read = secrets();
            expect(read.svid.state).to.equal("active");
            expect([...read.rootCA.bundles.entries()].map(([td, certs]) => [td, certs.length])).to.deep.equal([
                ["east.local", 1],
                ["west.local", 1],
            ]);
        });

        it("passes its SVID for the ID, trust domain and CA subject it was issued with", () => {
            expect(checkSvid(EAST, secrets(), UPSTREAM_NOW)).to.deep.equal({
                what: WHAT,
                verdict: "pass",
                why: "CA C=US, O=SPIFFE, valid until 2024-10-27T22:44:37Z",
            });
        });

        it("fails when another trust domain is expected", () => {
            const west = { ...EAST, trustDomain: "west.local", spiffeId: "spiffe://west.local/ns/istio-system/sa/federation-ingress-gateway-service-account" };
            expect(checkSvid(west, secrets(), UPSTREAM_NOW)).to.deep.equal({
                what: "istio-system/federation-ingress-gateway-0: proxy SVID is spiffe://west.local/ns/istio-system/sa/federation-ingress-gateway-service-account, issued by SPIRE",
                verdict: "fail",
                why: "its URI SAN is spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account",
            });
        });

        it("fails when another service account is expected", () => {
            const other = { ...EAST, spiffeId: "spiffe://east.local/ns/istio-system/sa/istio-ingressgateway-service-account" };
            expect(checkSvid(other, secrets(), UPSTREAM_NOW).why).to.equal(
                "its URI SAN is spiffe://east.local/ns/istio-system/sa/federation-ingress-gateway-service-account",
            );
        });

        it("fails an expired SVID", () => {
            expect(checkSvid(EAST, secrets(), new Date("2024-10-28T00:00:00Z")).why).to.equal(
                "it expired at 2024-10-27T22:44:37Z (SPIRE renews SVIDs before they expire: is the agent on the pod's node running?)",
            );
        });

        it("fails when the signing CA's subject is not the configured caSubject", () => {
            expect(checkSvid({ ...EAST, caSubject: { country: "US", organization: "SPIRE", commonName: "east.local" } }, secrets(), UPSTREAM_NOW).why).to.equal(
                "the SPIRE CA that signed it has subject C=US, O=SPIFFE, expected C=US, O=SPIRE, CN=east.local (caSubject* config)",
            );
        });

        it("fails when the chain does not lead to the trust domain's bundle (east.local's bundle replaced by west.local's)", () => {
            const swapped = secrets((dump) => {
                const [east, west] = trustDomains(dump);
                east.trust_bundle = west.trust_bundle;
            });
            expect(checkSvid(EAST, swapped, UPSTREAM_NOW).why).to.equal(
                "not issued by SPIRE: its chain does not lead to a CA of the east.local bundle (the top of the chain was issued by O=my-company.org, CN=East Root CA)",
            );
        });

        it("fails a dump without a default secret, or with it still warming", () => {
            const withoutDefault = (dump: JsonObject) => {
                const secretsConfig = secretsDump(dump);
                const active = secretsConfig.dynamic_active_secrets as JsonObject[];
                secretsConfig.dynamic_active_secrets = active.filter((s) => s.name !== "default");
                return active.find((s) => s.name === "default") as JsonObject;
            };
            expect(checkSvid(EAST, secrets(withoutDefault), UPSTREAM_NOW)).to.deep.equal({
                what: WHAT,
                verdict: "fail",
                why: "the proxy holds no `default` secret (no SVID from SDS)",
            });
            const warming = secrets((dump) => {
                secretsDump(dump).dynamic_warming_secrets = [withoutDefault(dump)];
            });
            expect(checkSvid(EAST, warming, UPSTREAM_NOW).why).to.equal(
                "its `default` secret is still warming: SDS has not delivered an SVID (is the SPIRE agent socket mounted, and is the pod registered?)",
            );
        });

        it("finds the peer bundle of west.local in ROOTCA, and fails a peer whose bundle is missing", () => {
            expect(checkPeerBundle(EAST.pod, "west.local", secrets())).to.deep.equal({
                what: "istio-system/federation-ingress-gateway-0: proxy ROOTCA holds the west.local bundle",
                verdict: "pass",
                why: "1 CA certificate",
            });
            const withoutWest = secrets((dump) => {
                trustDomains(dump).splice(1, 1);
            });
            expect(checkPeerBundle(EAST.pod, "west.local", withoutWest)).to.deep.equal({
                what: "istio-system/federation-ingress-gateway-0: proxy ROOTCA holds the west.local bundle",
                verdict: "fail",
                why: "it holds only bundles of east.local; the SPIRE agent serves a peer's bundle once the pod's ClusterSPIFFEID federatesWith its trust domain and the SPIRE server has fetched it",
            });
            expect(checkPeerBundle(EAST.pod, "north.local", secrets()).why).to.equal(
                "it holds only bundles of east.local, west.local; the SPIRE agent serves a peer's bundle once the pod's ClusterSPIFFEID federatesWith its trust domain and the SPIRE server has fetched it",
            );
        });

        it("refuses text that is not a config dump with secrets", () => {
            expect(() => readProxySecrets('Error: Get "http://localhost:15000/config_dump": connection refused')).to.throw(/^the config dump is not JSON \(/);
            expect(() => readProxySecrets(JSON.stringify({ configs: [] }))).to.throw("the config dump has no SecretsConfigDump");
        });

        it("reads URI SANs as Node prints them, quoted ones included", () => {
            const leaf = (readProxySecrets(dumpText()).svid as { chainPem: string }).chainPem;
            expect(leaf).to.match(/^-----BEGIN CERTIFICATE-----/);
            const fake = {
                subjectAltName: 'DNS:a.example, URI:"spiffe://east.local/ns/a,b/sa/c", URI:spiffe://east.local/x',
            } as unknown as import("crypto").X509Certificate;
            expect(spiffeUris(fake)).to.deep.equal(["spiffe://east.local/ns/a,b/sa/c", "spiffe://east.local/x"]);
        });
    });

    describe("an SVID from istiod's CA instead of SPIRE (recorded dump of a pod without the SPIRE socket)", () => {
        const istiodDump = () => readProxySecrets(fs.readFileSync(path.join(FIXTURES, "config_dump-istiod-ca.json"), "utf8"));

        it("fails although its URI SAN is right, naming the CA the proxy trusts instead", () => {
            const expected: SvidExpectation = {
                pod: SLEEP_POD,
                trustDomain: "cluster1.demo",
                spiffeId: "spiffe://cluster1.demo/ns/default/sa/sleep",
                caSubject: CLUSTER1_EXPECTATIONS.caSubject,
            };
            expect(checkSvid(expected, istiodDump(), CLUSTER1_NOW).why).to.equal(
                "not issued by SPIRE: the proxy's ROOTCA holds no cluster1.demo bundle to verify it with (it holds a trusted_ca O=cluster.local of no trust domain)",
            );
            expect(checkPeerBundle(SLEEP_POD, "cluster2.demo", istiodDump()).why).to.equal(
                "it holds only a trusted_ca O=cluster.local of no trust domain; the SPIRE agent serves a peer's bundle once the pod's ClusterSPIFFEID federatesWith its trust domain and the SPIRE server has fetched it",
            );
        });

        it("fails it even when the trust domain's bundle holds that CA, since the CA is not SPIRE's", () => {
            const secrets = istiodDump();
            const istioRoot = secrets.rootCA.bundles.get("") ?? [];
            const trusting: ProxySecrets = { ...secrets, rootCA: { present: true, bundles: new Map([["cluster1.demo", istioRoot]]), unnamedCaSubjects: [] } };
            const expected: SvidExpectation = {
                pod: SLEEP_POD,
                trustDomain: "cluster1.demo",
                spiffeId: "spiffe://cluster1.demo/ns/default/sa/sleep",
                caSubject: CLUSTER1_EXPECTATIONS.caSubject,
            };
            expect(checkSvid(expected, trusting, CLUSTER1_NOW).why).to.equal(
                "not issued by SPIRE: the CA that signed it (O=cluster.local) has no URI SAN spiffe://cluster1.demo, which SPIRE's CAs carry",
            );
        });
    });

    describe("the whole checklist against a recorded cluster", () => {
        it("passes every check of the recorded cluster1 and exits 0", async () => {
            const cluster = new RecordedCluster(CLUSTER1);
            const run = await runVerify(["--stack", "cluster1"], cluster);
            expect(run.stdout).to.equal(ALL_PASS);
            expect([run.code, run.stderr, run.peerReads]).to.deep.equal([0, "", ["organization/istio-spire/cluster2"]]);
            // Only Running enrolled pods and the gateway are exec'd into, never the Pending httpbin or netshoot.
            expect(cluster.execs).to.deep.equal([GATEWAY_POD, SLEEP_POD]);
        });

        it("is the sample docs/verify.md shows, which says it comes from these constructed fixtures", () => {
            const page = fs.readFileSync(path.join(__dirname, "..", "docs", "verify.md"), "utf8");
            const intro =
                "Its output on the tests' fixture cluster (`test/verify.test.ts`, which checks that this sample is what the command\nprints). The fixtures are constructed, not captured from a live cluster";
            const at = page.indexOf(intro);
            expect(at, "docs/verify.md introduces its sample").to.be.at.least(0);
            const block = /```\n([\s\S]*?)```/.exec(page.slice(at))!;
            expect(block[1]).to.equal(ALL_PASS);
        });

        it("prints ASCII marks with --ascii", async () => {
            const run = await runVerify(["--stack", "cluster1", "--ascii"], new RecordedCluster(CLUSTER1));
            expect(run.stdout).to.equal(ALL_PASS.replace(/✔/g, "[ok]"));
        });

        it("fails exactly the line of a CSI driver DaemonSet with a pod not ready, and exits 1", async () => {
            const rel = "apis/apps/v1/namespaces/spire-server/daemonsets/spire-spiffe-csi-driver.json";
            const broken = recorded(rel) as WorkloadObject;
            broken.status = { ...broken.status, numberReady: 1 };
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [rel]: broken }));
            expect(notPassing(run.stdout)).to.deep.equal(["✘ SPIFFE CSI driver: DaemonSet spire-server/spire-spiffe-csi-driver is ready: 1/2 pods ready"]);
            expect(run.stdout.endsWith("15 checks, 1 failed\n")).to.equal(true);
            expect(run.code).to.equal(1);
        });

        it("fails exactly the line of a ClusterSPIFFEID whose entries the SPIRE server refused", async () => {
            const rel = `apis/spire.spiffe.io/v1alpha1/clusterspiffeids/${WORKLOAD_CLUSTER_SPIFFE_ID}.json`;
            const broken = recorded(rel) as ClusterSpiffeIdObject;
            broken.status = { stats: { ...broken.status?.stats, entryFailures: 1, entriesToSet: 1 } };
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [rel]: broken }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ ClusterSPIFFEID istio-workloads registers its pods: entryFailures is 1 (the SPIRE server refused entries; see the spire-controller-manager container's log)",
            ]);
            expect(run.code).to.equal(1);
        });

        it("fails the SVID and peer-bundle lines of a proxy holding istiod's certificate", async () => {
            const istiod = readJson(path.join(FIXTURES, "config_dump-istiod-ca.json"));
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [execPath(SLEEP_POD)]: istiod }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ default/sleep-7c8d9f6b5-h7m9n: proxy SVID is spiffe://cluster1.demo/ns/default/sa/sleep, issued by SPIRE: not issued by SPIRE: the proxy's ROOTCA holds no cluster1.demo bundle to verify it with (it holds a trusted_ca O=cluster.local of no trust domain)",
                "✘ default/sleep-7c8d9f6b5-h7m9n: proxy ROOTCA holds the cluster2.demo bundle: it holds only a trusted_ca O=cluster.local of no trust domain; the SPIRE agent serves a peer's bundle once the pod's ClusterSPIFFEID federatesWith its trust domain and the SPIRE server has fetched it",
            ]);
            expect(run.code).to.equal(1);
        });

        it("fails the SVID line of a proxy it cannot exec into", async () => {
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [execPath(GATEWAY_POD)]: undefined }));
            expect(notPassing(run.stdout)).to.deep.equal([
                '✘ istio-system/istio-ingressgateway-6f9b8d7c5-x2k4q: proxy SVID is spiffe://cluster1.demo/ns/istio-system/sa/istio-ingressgateway-service-account, issued by SPIRE: could not read the proxy\'s config dump: container not found ("istio-proxy")',
            ]);
            expect(run.code).to.equal(1);
        });

        it("fails a gateway whose Deployment is missing, and its registration still passes", async () => {
            const rel = "apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway.json";
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [rel]: undefined }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ ingress gateway: Deployment istio-system/istio-ingressgateway is ready: not found",
                "✘ ingress gateway istio-system/istio-ingressgateway has Running pods with an istio-proxy: its Deployment was not found",
            ]);
        });

        it("fails a gateway without Running pods, and passes its ClusterSPIFFEID that then has none to select", async () => {
            const pods = recorded("api/v1/namespaces/istio-system/pods.json");
            const istiodOnly = { ...pods, items: (pods.items as PodObject[]).filter((p) => p.metadata?.labels?.app === "istiod") };
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { "api/v1/namespaces/istio-system/pods.json": istiodOnly }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ ingress gateway istio-system/istio-ingressgateway has Running pods with an istio-proxy: no Running pod with an istio-proxy container matches its selector app=istio-ingressgateway,istio=ingressgateway",
            ]);
        });

        it("fails the line of a peer stack it cannot read, naming the stack and what to do, and warns that its own output is unread", async () => {
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1), {
                readStackOutput: async () => {
                    throw new Error("Failed to find the Pulumi CLI\n    at PulumiCommand.get");
                },
            });
            expect(notPassing(run.stdout)).to.deep.equal([
                "! stack cluster1 records its SPIRE servers (output spireServer): could not read it (Failed to find the Pulumi CLI); the replica count and the upstream root are not checked (install the Pulumi CLI and log in to the stack's backend)",
                "✘ peer stack organization/istio-spire/cluster2 exports its trust domain: could not read its federation output (Failed to find the Pulumi CLI); install the Pulumi CLI and log in to the peer's backend, or pass --peer-trust-domain <trust domain>",
            ]);
            // No peer trust domain: no ClusterFederatedTrustDomain or ROOTCA lines.
            expect(run.stdout.endsWith("13 checks, 1 failed, 1 warning\n")).to.equal(true);
            expect(run.code).to.equal(1);
        });

        it("checks --peer-trust-domain values without reading the peer stacks", async () => {
            const run = await runVerify(["--stack", "cluster1", "--peer-trust-domain", "cluster2.demo"], new RecordedCluster(CLUSTER1));
            expect(run.peerReads).to.deep.equal([]);
            expect(run.stdout.split("\n")[0]).to.equal(
                "Stack cluster1: kube context cluster1, trust domain cluster1.demo, peers cluster2.demo (--peer-trust-domain)",
            );
            expect([notPassing(run.stdout), run.code]).to.deep.equal([[], 0]);
        });

        it("warns about an enrolled namespace without Running workloads, and still exits 0", async () => {
            const pods = recorded("api/v1/namespaces/default/pods.json");
            const pendingOnly = { ...pods, items: (pods.items as PodObject[]).filter((p) => p.status?.phase !== "Running") };
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { "api/v1/namespaces/default/pods.json": pendingOnly }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "! enrolled namespace default has workloads to check: no Running pod with an istio-proxy container and label spiffe.io/spire-managed-identity=true (1 such pod is not Running)",
            ]);
            expect(run.stdout.endsWith("14 checks, 0 failed, 1 warning\n")).to.equal(true);
            expect(run.code).to.equal(0);
        });

        it("fails a line whose read the API refused, and goes on", async () => {
            const rel = "apis/apps/v1/namespaces/istio-system/deployments/istiod.json";
            const forbidden = new Error(
                'deployments.apps "istiod" is forbidden: User "dev" cannot get resource "deployments" in API group "apps" in the namespace "istio-system"',
            );
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [rel]: forbidden }));
            expect(notPassing(run.stdout)).to.deep.equal([
                '✘ istiod: Deployment istio-system/istiod is ready: could not read it: deployments.apps "istiod" is forbidden: User "dev" cannot get resource "deployments" in API group "apps" in the namespace "istio-system"',
            ]);
        });

        it("exits 2 with one message on a usage or configuration error, before connecting", async () => {
            const connects: string[] = [];
            const connect = (context: string) => {
                connects.push(context);
                return new RecordedCluster(CLUSTER1);
            };
            expect(await runVerify([], new RecordedCluster(CLUSTER1), { connect })).to.deep.include({
                code: 2,
                stdout: "",
                stderr: `Missing --stack <name>; ${USAGE}\n`,
            });
            const dir = projectWith("east", { "istio-spire:trustDomain": "east.local", "istio-spire:clusterName": "east" });
            expect(await runVerify(["--stack", "east"], new RecordedCluster(CLUSTER1), { connect, projectDir: dir })).to.deep.include({
                code: 2,
                stderr: "Pulumi.east.yaml does not set kubernetes:context: run `pulumi config set kubernetes:context <context> -s east`, or pass --context <context>\n",
            });
            expect(connects).to.deep.equal([]);
        });

        it("exits 2 for a kube context missing from the kubeconfig", async () => {
            const kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "verify-kube-")), "config");
            fs.writeFileSync(
                kubeconfig,
                stringify({
                    apiVersion: "v1",
                    kind: "Config",
                    clusters: [{ name: "kind-a", cluster: { server: "https://127.0.0.1:6443" } }],
                    users: [{ name: "kind-a", user: { token: "test" } }],
                    contexts: [
                        { name: "kind-b", context: { cluster: "kind-a", user: "kind-a" } },
                        { name: "kind-a", context: { cluster: "kind-a", user: "kind-a" } },
                    ],
                    "current-context": "kind-a",
                }),
            );
            expect(loadKubeConfig("kind-b", kubeconfig).getCurrentContext()).to.equal("kind-b");
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1), {
                connect: (context) => {
                    loadKubeConfig(context, kubeconfig);
                    throw new Error("unreachable");
                },
            });
            expect([run.code, run.stderr]).to.deep.equal([
                2,
                'Kube context "cluster1" is not in your kubeconfig (contexts: kind-a, kind-b); fix kubernetes:context in the stack file or pass --context <context>\n',
            ]);
        });
    });

    describe("SPIRE servers: replicas, datastore, trust bundle, upstream root", () => {
        const STATEFULSET = "apis/apps/v1/namespaces/spire-server/statefulsets/spire-server.json";
        const SERVER_PODS = "api/v1/namespaces/spire-server/pods.json";
        /** The bundle spire-server-0 serves in the recorded cluster: the cluster1.demo SPIRE CA and one JWT key. */
        const recordedBundle = () => recorded(serverExecPath(SERVER_0, BUNDLE_SHOW));
        /** Another cluster1.demo lineage: what a server with a datastore of its own would have minted. */
        const otherBundle = () => readJson(path.join(FIXTURES, "..", "cluster1.demo.rebuilt.bundle.json")) as JsonObject;
        const upstreamRootPem = fs.readFileSync(path.join(FIXTURES, "upstream-root.pem"), "utf8");
        const upstreamRoot = new X509Certificate(upstreamRootPem);
        /** A SPIFFE bundle of these X.509 authorities (and JWT keys), as `bundle show -format spiffe` prints it. */
        const bundleOf = (cas: X509Certificate[], jwtKeys: unknown[] = []) => ({
            keys: [
                ...cas.map((ca) => {
                    const { kty, crv, x, y } = ca.publicKey.export({ format: "jwk" });
                    return { use: "x509-svid", kty, crv, x, y, x5c: [ca.raw.toString("base64")] };
                }),
                ...jwtKeys,
            ],
            spiffe_refresh_hint: 300,
            spiffe_sequence: 1,
        });
        const recordedCa = () => new X509Certificate(Buffer.from((recordedBundle().keys as { x5c: string[] }[])[0].x5c[0], "base64"));
        const recordedJwtKey = () => (recordedBundle().keys as JsonObject[])[1];
        const HEALTHY = "Server is healthy.\n";
        const NOT_SERVING = new Error('`spire-server healthcheck` failed: Error: server is unhealthy: server returned status "NOT_SERVING"');
        const RECORD = {
            replicas: 3,
            dataStore: { type: "postgres", host: "db.internal", port: 5432, database: "spire", user: "spire" },
            upstreamAuthority: { type: "none" },
        };

        interface Scale {
            /** Per pod index: what `bundle show` prints (default: the recorded bundle) or an Error. */
            bundles?: Record<number, unknown>;
            /** Per pod index: what `healthcheck` prints (default: healthy) or an Error. */
            health?: Record<number, unknown>;
            /** Per pod index: its phase (default Running). */
            phases?: Record<number, string>;
            readyReplicas?: number;
            specReplicas?: number;
        }

        /** The recorded cluster with `n` SPIRE servers: the StatefulSet, its pods (beside the agents) and each one's outputs. */
        function scaled(n: number, scale: Scale = {}, more: Record<string, unknown> = {}): RecordedCluster {
            const set = recorded(STATEFULSET) as WorkloadObject;
            const wanted = scale.specReplicas ?? n;
            set.spec = { ...set.spec, replicas: wanted };
            set.status = {
                ...set.status,
                replicas: n,
                readyReplicas: scale.readyReplicas ?? n,
                updatedReplicas: n,
                availableReplicas: scale.readyReplicas ?? n,
            };
            const list = recorded(SERVER_PODS);
            const items = list.items as PodObject[];
            const [server0] = items.filter((p) => p.metadata?.name === "spire-server-0");
            const servers = Array.from({ length: n }, (_, i) => {
                const pod = clone(server0);
                pod.metadata = {
                    ...pod.metadata,
                    name: `spire-server-${i}`,
                    labels: { ...pod.metadata?.labels, "statefulset.kubernetes.io/pod-name": `spire-server-${i}` },
                };
                pod.status = { ...pod.status, phase: scale.phases?.[i] ?? "Running" };
                return pod;
            });
            const overrides: Record<string, unknown> = {
                [STATEFULSET]: set,
                [SERVER_PODS]: { ...list, items: [...items.filter((p) => p.metadata?.name !== "spire-server-0"), ...servers.reverse()] },
            };
            for (let i = 0; i < n; i++) {
                overrides[serverExecPath(`spire-server/spire-server-${i}`, BUNDLE_SHOW)] = scale.bundles?.[i] ?? recordedBundle();
                overrides[serverExecPath(`spire-server/spire-server-${i}`, HEALTHCHECK)] = scale.health?.[i] ?? HEALTHY;
            }
            return new RecordedCluster(CLUSTER1, { ...overrides, ...more });
        }

        /** The lines of the SPIRE groups, without indentation. */
        const spireLines = (stdout: string) => {
            const lines = stdout.split("\n");
            return lines.slice(lines.indexOf("SPIRE is up") + 1, lines.indexOf("Workloads are registered") - 1).map((l) => l.trim());
        };

        it("prints the same checklist for a stack whose spireServer output records the defaults as for an older stack without one", async () => {
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1), {
                spireServer: { replicas: 1, dataStore: { type: "sqlite3" }, upstreamAuthority: { type: "none" } },
            });
            expect([run.stdout, run.code]).to.deep.equal([ALL_PASS, 0]);
        });

        it("execs into the chart's server pods only (by the StatefulSet's selector), in container spire-server", async () => {
            const cluster = new RecordedCluster(CLUSTER1);
            await runVerify(["--stack", "cluster1"], cluster);
            expect(cluster.serverExecs).to.deep.equal([`${SERVER_0} ${HEALTHCHECK}`, `${SERVER_0} ${BUNDLE_SHOW}`]);
            expect([SPIRE_SERVER_CONTAINER, BUNDLE_SHOW_COMMAND, HEALTHCHECK_COMMAND]).to.deep.equal([
                "spire-server",
                ["/opt/spire/bin/spire-server", "bundle", "show", "-socketPath", "/tmp/spire-server/private/api.sock", "-format", "spiffe"],
                ["/opt/spire/bin/spire-server", "healthcheck", "-socketPath", "/tmp/spire-server/private/api.sock"],
            ]);
        });

        it("passes three ready replicas on PostgreSQL serving one bundle, naming each replica and the datastore", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(3), { spireServer: RECORD });
            expect(spireLines(run.stdout)).to.deep.equal([
                "✔ SPIRE server: StatefulSet spire-server/spire-server is ready (3/3 replicas)",
                "✔ SPIRE agents: DaemonSet spire-server/spire-agent is ready (2/2 pods)",
                "✔ SPIFFE CSI driver: DaemonSet spire-server/spire-spiffe-csi-driver is ready (2/2 pods)",
                "",
                "SPIRE servers",
                "✔ SPIRE server spire-server/spire-server-0 reaches its datastore (postgres db.internal:5432/spire; spire-server healthcheck: Server is healthy.)",
                "✔ SPIRE server spire-server/spire-server-1 reaches its datastore (postgres db.internal:5432/spire; spire-server healthcheck: Server is healthy.)",
                "✔ SPIRE server spire-server/spire-server-2 reaches its datastore (postgres db.internal:5432/spire; spire-server healthcheck: Server is healthy.)",
                "✔ SPIRE server replicas serve one trust bundle (spire-server-0, spire-server-1, spire-server-2: 1 X.509 authority, 1 JWT authority)",
            ]);
            expect(run.code).to.equal(0);
        });

        it("fails a replica not ready: the StatefulSet's line, and the lines of the Pending pod it cannot exec into", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(3, { readyReplicas: 2, phases: { 2: "Pending" } }), { spireServer: RECORD });
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server: StatefulSet spire-server/spire-server is ready: 2/3 replicas ready",
                "✘ SPIRE server spire-server/spire-server-2 reaches its datastore: the pod is Pending, not Running",
                "✘ SPIRE server replicas serve one trust bundle: spire-server-2: the pod is Pending, not Running",
            ]);
            expect(run.code).to.equal(1);
        });

        it("fails a StatefulSet scaled away from spireServer.replicas, or an older stack's scaled beyond one", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(2), { spireServer: RECORD });
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server: StatefulSet spire-server/spire-server is ready: it wants 2 replicas where the stack's spireServer.replicas is 3; scaled outside Pulumi? run `pulumi up`",
            ]);
            const older = await runVerify(["--stack", "cluster1"], scaled(2, { readyReplicas: 1 }));
            expect(notPassing(older.stdout)[0]).to.equal(
                "✘ SPIRE server: StatefulSet spire-server/spire-server is ready: it wants 2 replicas where the stack, deployed before its spireServer output existed, runs 1; scaled outside Pulumi? run `pulumi up`; 1/2 replicas ready",
            );
        });

        it("fails two replicas serving different bundles, naming the one that differs and how", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(2, { bundles: { 1: otherBundle() } }), { spireServer: { ...RECORD, replicas: 2 } });
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server replicas serve one trust bundle: spire-server-1 serves another bundle than spire-server-0 " +
                    "(1 X.509 authority and 1 JWT authority of its own, 1 X.509 authority and 1 JWT authority missing); " +
                    "replicas share their bundle through one datastore: one on a datastore of its own publishes a trust root of its own",
            ]);
            expect(run.code).to.equal(1);
        });

        it("names the odd replica out against the bundle most replicas serve", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(3, { bundles: { 0: bundleOf([recordedCa()]) } }), { spireServer: RECORD });
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server replicas serve one trust bundle: spire-server-0 serves another bundle than spire-server-1, spire-server-2 (1 JWT authority missing); " +
                    "replicas share their bundle through one datastore: one on a datastore of its own publishes a trust root of its own",
            ]);
        });

        it("fails the datastore line of a server whose Health service answers NOT_SERVING, and passes on another error's own words", async () => {
            const run = await runVerify(["--stack", "cluster1"], scaled(2, { health: { 1: NOT_SERVING } }), { spireServer: { ...RECORD, replicas: 2 } });
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server spire-server/spire-server-1 reaches its datastore: `spire-server healthcheck` answered NOT_SERVING: the server could not read its trust bundle " +
                    'from its datastore (postgres db.internal:5432/spire); its spire-server container\'s log says why ("Health check failed")',
            ]);
            const forbidden = new Error(
                'pods "spire-server-0" is forbidden: User "dev" cannot create resource "pods/exec" in API group "" in the namespace "spire-server"',
            );
            const denied = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [serverExecPath(SERVER_0, HEALTHCHECK)]: forbidden }));
            expect(notPassing(denied.stdout)).to.deep.equal([`✘ SPIRE server spire-server/spire-server-0 reaches its datastore: ${forbidden.message}`]);
        });

        it("fails when the bundle does not parse or cannot be read", async () => {
            const run = await runVerify(
                ["--stack", "cluster1"],
                scaled(2, {
                    bundles: { 0: "Error: rpc error: code = Unavailable", 1: new Error("`spire-server bundle show` failed: Error: connection refused") },
                }),
                { spireServer: { ...RECORD, replicas: 2 } },
            );
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server replicas serve one trust bundle: spire-server-0 served no valid SPIFFE bundle: it is not JSON; expected the SPIFFE bundle JSON that `spire-server bundle show -format spiffe` prints; " +
                    "spire-server-1: `spire-server bundle show` failed: Error: connection refused",
            ]);
        });

        it("fails when no server pod matches the StatefulSet's selector", async () => {
            const list = recorded(SERVER_PODS);
            const agentsOnly = { ...list, items: (list.items as PodObject[]).filter((p) => !p.metadata?.name?.startsWith("spire-server")) };
            const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [SERVER_PODS]: agentsOnly }));
            expect(notPassing(run.stdout)).to.deep.equal([
                "✘ SPIRE server replicas serve one trust bundle: no pod matches its StatefulSet's selector app.kubernetes.io/component=server,app.kubernetes.io/instance=spire,app.kubernetes.io/name=server",
            ]);
        });

        describe("upstream root", () => {
            const generated = { ...RECORD, replicas: 1, upstreamAuthority: { type: "generated", rootCertificate: upstreamRootPem } };

            it("passes when every replica's bundle holds the output's root certificate", async () => {
                const bundle = bundleOf([upstreamRoot], [recordedJwtKey()]);
                const run = await runVerify(["--stack", "cluster1"], scaled(2, { bundles: { 0: bundle, 1: bundle } }), {
                    spireServer: { ...generated, replicas: 2 },
                });
                expect(spireLines(run.stdout).slice(-1)).to.deep.equal([
                    "✔ SPIRE trust bundle's X.509 root is the generated upstream authority's (O=Example Org, CN=cluster1.demo upstream root, in the bundle of spire-server-0, spire-server-1)",
                ]);
                expect(run.code).to.equal(0);
            });

            it("fails a bundle holding only SPIRE's self-signed CA: the server does not sign through the upstream authority", async () => {
                const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1), { spireServer: generated });
                expect(notPassing(run.stdout)).to.deep.equal([
                    "✘ SPIRE trust bundle's X.509 root is the generated upstream authority's: the bundle of spire-server-0 does not hold spireServer.upstreamAuthority.rootCertificate " +
                        "(O=Example Org, CN=cluster1.demo upstream root); it holds only SPIRE's self-signed CA C=US, O=SPIRE, CN=cluster1.demo: the server signs its CA itself, not through the upstream authority",
                ]);
            });

            it("fails a bundle whose root is another one, and names it (disk)", async () => {
                const istiodRoot = readProxySecrets(fs.readFileSync(path.join(FIXTURES, "config_dump-istiod-ca.json"), "utf8")).rootCA.bundles.get("")!;
                const run = await runVerify(
                    ["--stack", "cluster1"],
                    new RecordedCluster(CLUSTER1, { [serverExecPath(SERVER_0, BUNDLE_SHOW)]: bundleOf(istiodRoot) }),
                    {
                        spireServer: { ...generated, upstreamAuthority: { type: "disk", rootCertificate: upstreamRootPem } },
                    },
                );
                expect(notPassing(run.stdout)).to.deep.equal([
                    "✘ SPIRE trust bundle's X.509 root is the disk upstream authority's: the bundle of spire-server-0 does not hold spireServer.upstreamAuthority.rootCertificate " +
                        "(O=Example Org, CN=cluster1.demo upstream root); it holds the X.509 authorities O=cluster.local",
                ]);
            });

            it("passes a bundle holding the root re-issued with the same key, and says so", async () => {
                // Both certificates were made with one key for these fixtures, then the key was discarded.
                const reissued = new X509Certificate(fs.readFileSync(path.join(FIXTURES, "upstream-root-reissued.pem"), "utf8"));
                expect(reissued.fingerprint256).not.to.equal(upstreamRoot.fingerprint256);
                const cluster = new RecordedCluster(CLUSTER1, { [serverExecPath(SERVER_0, BUNDLE_SHOW)]: bundleOf([recordedCa(), reissued]) });
                const run = await runVerify(["--stack", "cluster1"], cluster, { spireServer: generated });
                expect(spireLines(run.stdout).slice(-1)).to.deep.equal([
                    "✔ SPIRE trust bundle's X.509 root is the generated upstream authority's (O=Example Org, CN=cluster1.demo upstream root (its public key, in a re-issued certificate), in the bundle of spire-server-0)",
                ]);
            });

            const ISSUER = "apis/cert-manager.io/v1/namespaces/spire-server/issuers/spire-upstream-ca.json";
            const issuer = (ready: { status: string; reason: string; message: string }) => ({
                apiVersion: "cert-manager.io/v1",
                kind: "Issuer",
                metadata: { name: "spire-upstream-ca", namespace: "spire-server", generation: 1 },
                spec: { ca: { secretName: "spire-upstream-ca-keypair" } },
                status: { conditions: [{ type: "Ready", observedGeneration: 1, lastTransitionTime: "2026-11-20T09:10:00Z", ...ready }] },
            });
            const READY = { status: "True", reason: "KeyPairVerified", message: "Signing CA verified" };
            const certManager = {
                ...RECORD,
                replicas: 1,
                upstreamAuthority: { type: "certManager", issuerName: "spire-upstream-ca", issuerKind: "Issuer", issuerGroup: "cert-manager.io" },
            };

            it("with cert-manager, passes a Ready Issuer and a bundle rooted outside SPIRE, saying what it cannot compare", async () => {
                const cluster = new RecordedCluster(CLUSTER1, { [ISSUER]: issuer(READY), [serverExecPath(SERVER_0, BUNDLE_SHOW)]: bundleOf([upstreamRoot]) });
                const run = await runVerify(["--stack", "cluster1"], cluster, { spireServer: certManager });
                expect(spireLines(run.stdout).slice(-1)).to.deep.equal([
                    "✔ SPIRE trust bundle's X.509 root comes from cert-manager Issuer spire-server/spire-upstream-ca (the Issuer is Ready; roots O=Example Org, CN=cluster1.demo upstream root; " +
                        "not compared with the issuer's CA, which only its Secret holds)",
                ]);
            });

            it("with cert-manager, fails an Issuer not Ready, a missing ClusterIssuer and a self-signed bundle", async () => {
                const notReady = issuer({
                    status: "False",
                    reason: "ErrGetKeyPair",
                    message: 'Error getting keypair for CA issuer: secrets "spire-upstream-ca-keypair" not found',
                });
                const run = await runVerify(["--stack", "cluster1"], new RecordedCluster(CLUSTER1, { [ISSUER]: notReady }), { spireServer: certManager });
                expect(notPassing(run.stdout)).to.deep.equal([
                    "✘ SPIRE trust bundle's X.509 root comes from cert-manager Issuer spire-server/spire-upstream-ca: the Issuer is not Ready " +
                        '(ErrGetKeyPair: Error getting keypair for CA issuer: secrets "spire-upstream-ca-keypair" not found): SPIRE cannot have its next CA signed; ' +
                        "the bundle of spire-server-0 holds only SPIRE's self-signed CA C=US, O=SPIRE, CN=cluster1.demo: the server signs its CA itself, not through the upstream authority",
                ]);
                const cluster = new RecordedCluster(CLUSTER1, { [serverExecPath(SERVER_0, BUNDLE_SHOW)]: bundleOf([upstreamRoot]) });
                const clusterIssuer = { ...certManager, upstreamAuthority: { ...certManager.upstreamAuthority, issuerKind: "ClusterIssuer" } };
                expect(notPassing((await runVerify(["--stack", "cluster1"], cluster, { spireServer: clusterIssuer })).stdout)).to.deep.equal([
                    "✘ SPIRE trust bundle's X.509 root comes from cert-manager ClusterIssuer spire-upstream-ca: the ClusterIssuer was not found",
                ]);
            });

            it("with an issuer of another API group, checks only the bundle", async () => {
                const external = {
                    ...certManager,
                    upstreamAuthority: { ...certManager.upstreamAuthority, issuerKind: "AWSPCAIssuer", issuerGroup: "awspca.cert-manager.io" },
                };
                const cluster = new RecordedCluster(CLUSTER1, { [serverExecPath(SERVER_0, BUNDLE_SHOW)]: bundleOf([upstreamRoot]) });
                const run = await runVerify(["--stack", "cluster1"], cluster, { spireServer: external });
                expect(spireLines(run.stdout).slice(-1)).to.deep.equal([
                    "✔ SPIRE trust bundle's X.509 root comes from cert-manager AWSPCAIssuer spire-server/spire-upstream-ca (issuer group awspca.cert-manager.io not read; " +
                        "roots O=Example Org, CN=cluster1.demo upstream root; not compared with the issuer's CA, which only its Secret holds)",
                ]);
            });
        });

        describe("the spireServer output", () => {
            it("is read into the record, the defaults for an older stack, and nothing but a warning when unreadable", () => {
                expect(spireServerExpectation("cluster1", { value: RECORD })).to.deep.equal({ expectation: { record: RECORD, fromOutput: true } });
                expect(spireServerExpectation("cluster1", { value: undefined })).to.deep.equal({
                    expectation: { record: SPIRE_SERVER_DEFAULTS, fromOutput: false },
                });
                const unread = spireServerExpectation("cluster1", { error: "no stack named 'cluster1' found" });
                expect([unread.expectation, unread.check?.verdict]).to.deep.equal([{ fromOutput: false }, "warn"]);
            });

            it("refuses a malformed one with a failed line, and then checks neither replica count nor root", async () => {
                const problems = [
                    [{ ...RECORD, replicas: 0 }, "has replicas 0; expected an integer >= 1"],
                    [
                        { ...RECORD, dataStore: { type: "postgres", host: "db" } },
                        'has dataStore {"type":"postgres","host":"db"}; expected host, port, database and user for postgres',
                    ],
                    [
                        { ...RECORD, upstreamAuthority: { type: "disk", rootCertificate: "-----BEGIN PRIVATE KEY-----" } },
                        "has an upstreamAuthority of type disk whose rootCertificate is not one PEM certificate",
                    ],
                    [
                        { ...RECORD, upstreamAuthority: { type: "vault" } },
                        'has upstreamAuthority type "vault"; expected "none", "generated", "disk" or "certManager"',
                    ],
                    ["3", "is not an object"],
                ] as const;
                for (const [value, problem] of problems) {
                    expect(parseSpireServerRecord(value), problem).to.equal(problem);
                }
                const run = await runVerify(["--stack", "cluster1"], scaled(2), { spireServer: { ...RECORD, replicas: 0 } });
                expect(notPassing(run.stdout)).to.deep.equal([
                    "✘ stack cluster1 records its SPIRE servers (output spireServer): it has replicas 0; expected an integer >= 1",
                ]);
            });
        });
    });

    describe("Kubernetes API errors", () => {
        it("become one line: the HTTP code and the API server's Status message", () => {
            const status = {
                kind: "Status",
                apiVersion: "v1",
                metadata: {},
                status: "Failure",
                message:
                    'deployments.apps "istiod" is forbidden: User "dev" cannot get resource "deployments" in API group "apps" in the namespace "istio-system"',
                reason: "Forbidden",
                details: { name: "istiod", group: "apps", kind: "deployments" },
                code: 403,
            };
            expect(
                describeApiError(new ApiException(403, "Unknown API Status Code!", JSON.stringify(status), { "content-type": "application/json" })),
            ).to.equal(
                'HTTP 403: deployments.apps "istiod" is forbidden: User "dev" cannot get resource "deployments" in API group "apps" in the namespace "istio-system"',
            );
            expect(describeApiError(new ApiException(401, "Unauthorized", undefined, {}))).to.equal("HTTP 401");
            expect(describeApiError(new Error("connect ECONNREFUSED 127.0.0.1:6443"))).to.equal("connect ECONNREFUSED 127.0.0.1:6443");
        });
    });

    describe("the recorded cluster is what this program deploys", () => {
        let run: ProgramRun<any>;
        before(async () => {
            const peerStack = "organization/istio-spire/cluster2";
            run = await runProgram(
                require("../index"),
                { trustDomain: "cluster1.demo", clusterName: "cluster1", peers: [{ stack: peerStack }] },
                { stackOutputs: { [peerStack]: { federation: readJson(PEER_OUTPUT_FILE) } } },
            );
        });

        it("declares the two ClusterSPIFFEIDs by the names the checks read, with the recorded specs", () => {
            const declared = ofType(run.declared, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID").map((d) => [d.inputs.metadata.name, d.inputs.spec]);
            expect(declared.sort()).to.deep.equal(
                [GATEWAY_CLUSTER_SPIFFE_ID, WORKLOAD_CLUSTER_SPIFFE_ID].map((name) => [
                    name,
                    recorded(`apis/spire.spiffe.io/v1alpha1/clusterspiffeids/${name}.json`).spec,
                ]),
            );
        });

        it("declares the recorded ClusterFederatedTrustDomain", () => {
            const declared = ofType(run.declared, "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain").map((d) => d.inputs.spec);
            const items = recorded("apis/spire.spiffe.io/v1alpha1/clusterfederatedtrustdomains.json").items as { spec: unknown }[];
            expect(declared).to.deep.equal(items.map((i) => i.spec));
        });

        it("gives the gateway chart the labels its recorded Deployment selects pods by", () => {
            const [gateway] = ofType(run.declared, "kubernetes:helm.sh/v3:Release").filter((d) => d.inputs.chart === "gateway");
            const deployment = recorded("apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway.json") as WorkloadObject;
            expect(gateway.inputs.values.labels).to.deep.equal(deployment.spec?.selector?.matchLabels);
        });

        it("renders, with the pinned spire chart, the server the SPIRE server checks exec into: the recorded selector, its spire-server container on the socket's volume, the socket the controller manager uses", async function () {
            this.timeout(120000);
            requireUpstream(this);
            const helm = await ensureHelm();
            requireArtifact(this, helm.found, () => `pending: no Helm 3 to render the charts with (${helm.found ? "" : helm.reason})`);
            const [spire] = releasesOf(run.declared).filter((d) => d.inputs.chart === "spire");
            const objects = await new ChartRenderer((helm as { binary: string }).binary).render(spire);
            const set = theObject(objects, "StatefulSet", "spire-server", "spire-server") as any;
            const recordedSet = recorded("apis/apps/v1/namespaces/spire-server/statefulsets/spire-server.json") as WorkloadObject;
            expect(set.spec.selector.matchLabels).to.deep.equal(recordedSet.spec?.selector?.matchLabels);
            const server0 = (recorded("api/v1/namespaces/spire-server/pods.json").items as PodObject[]).find((p) => p.metadata?.name === "spire-server-0");
            expect(server0?.metadata?.labels).to.include(set.spec.template.metadata.labels);
            const container = set.spec.template.spec.containers.find((c: { name: string }) => c.name === SPIRE_SERVER_CONTAINER);
            expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).to.include(path.posix.dirname(SPIRE_SERVER_SOCKET));
            // server.conf sets no socket_path: the server binds SPIRE's default, the one the controller manager dials.
            const serverConf = JSON.parse((theObject(objects, "ConfigMap", "spire-server", "spire-server") as any).data["server.conf"]);
            expect(serverConf.server.socket_path).to.equal(undefined);
            const managerConfig = (theObject(objects, "ConfigMap", "spire-controller-manager", "spire-server") as any).data["controller-manager-config.yaml"];
            expect(managerConfig).to.include(`spireServerSocketPath: "${SPIRE_SERVER_SOCKET}"`);
        });

        it("names the spire chart's workloads as the chart does: nameOverride server and agent in the umbrella values", function () {
            requireUpstream(this);
            const umbrella = spireChartDefaults().umbrella as { "spire-server": JsonObject; "spire-agent": JsonObject };
            expect([umbrella["spire-server"].nameOverride, umbrella["spire-agent"].nameOverride]).to.deep.equal(["server", "agent"]);
            expect(spireChartDefaults().subcharts["spiffe-csi-driver"].nameOverride).to.equal("");
        });
    });

    describe("report", () => {
        it("groups lines in the runbook's order and counts warnings apart from failures", () => {
            const text = formatReport("T", [
                { group: "Federation", what: "f", verdict: "fail", why: "no" },
                { group: "SPIRE is up", what: "s", verdict: "pass" },
                { group: "Proxies hold SPIRE-issued SVIDs", what: "p", verdict: "warn", why: "maybe" },
            ]);
            expect(text).to.equal(
                "T\n\nSPIRE is up\n  ✔ s\n\nProxies hold SPIRE-issued SVIDs\n  ! p: maybe\n\nFederation\n  ✘ f: no\n\n3 checks, 1 failed, 1 warning\n",
            );
        });
    });
});
