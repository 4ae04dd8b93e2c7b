// `npm run verify -- --stack <name>`: checks a deployed stack through the Kubernetes API, the way the runbooks check
// by hand (docs/runbook-checks.md), and prints a checklist with a verdict per line.
//
// Expectations come from `Pulumi.<stack>.yaml` (validated by the program's own config parser) and the stack's own
// `spireServer` output (replicas, datastore, upstream root; absent in stacks deployed before it existed), the peers'
// trust domains from the peer stacks' `federation` outputs (Pulumi Automation API, so it needs the Pulumi CLI; or
// `--peer-trust-domain`). The checks are verifyChecks.ts; the cluster is read by verifyCluster.ts.
// Exit code: 0 all passed (warnings allowed), 1 a check failed, 2 usage or configuration error.

import { parseStackConfig } from "../../components/stack/config";
import { KUBERNETES_CONTEXT_KEY } from "../../components/kubernetes";
import { FEDERATION_OUTPUT } from "../../components/mesh/federation";
import { istioSpiffeId } from "../../components/mesh/registration";
import { ValidationError, checkTrustDomain } from "../../components/validation";
import { configText } from "../mock-engine/harness";
import { loadStackSources } from "../stack-files/stackFiles";
import { ClusterReader, kubernetesCluster, loadKubeConfig } from "./verifyCluster";
import {
    CERT_MANAGER_GROUP,
    Check,
    ExecResult,
    Expectations,
    GATEWAY_CLUSTER_SPIFFE_ID,
    Group,
    GroupedCheck,
    ISTIOD_DEPLOYMENT,
    PeerOutput,
    PeerTrustDomain,
    PodObject,
    SPIFFE_CSI_DRIVER_DAEMONSET,
    SPIRE_AGENT_DAEMONSET,
    SPIRE_SERVER_DEFAULTS,
    SPIRE_SERVER_OUTPUT,
    SPIRE_SERVER_STATEFULSET,
    ServedBundle,
    SpireServerExpectation,
    StackOutput,
    UsageError,
    WORKLOAD_CLUSTER_SPIFFE_ID,
    WorkloadKind,
    WorkloadObject,
    checkCertManagerRoot,
    checkClusterSpiffeId,
    checkDatastoreReachable,
    checkFederatedTrustDomain,
    checkPeerBundle,
    checkPeerOutput,
    checkReplicaBundles,
    checkSpireServerReplicas,
    checkSvid,
    checkUpstreamRoot,
    checkWorkloadReady,
    emptyNamespaceWarning,
    enrolledPods,
    exitCode,
    expectationsFromConfig,
    formatReport,
    gatewayPods,
    readProxySecrets,
    selectorString,
    spireServerExpectation,
    spireServerPods,
} from "./verifyChecks";

// ---------------------------------------------------------------------------------------------------------------
// Command line

export const USAGE = "usage: npm run verify -- --stack <name> [--context <kube context>] [--peer-trust-domain <trust domain>]... [--ascii]";

/** What `npm run verify -- --help` (or `-h`) prints, on stdout, with exit code 0. */
export const HELP = [
    USAGE,
    "",
    "Checks a deployed stack through the Kubernetes API and prints one line per check (docs/verify.md).",
    "",
    "  --stack <name>                      the stack to check; its expectations come from Pulumi.<name>.yaml",
    "  --context <kube context>            the kube context to use instead of the stack file's kubernetes:context",
    "  --peer-trust-domain <trust domain>  a peer trust domain to check (repeatable), instead of reading the peer",
    "                                      stacks' federation outputs with the Pulumi CLI",
    "  --ascii                             [ok]/[FAIL]/[warn] instead of ✔/✘/!",
    "  -h, --help                          print this help and exit",
    "",
    "Exit code: 0 when every check passes (warnings allowed), 1 when a check fails, 2 on a usage or configuration error.",
    "",
].join("\n");

/** Whether the arguments ask for the help (`--help` or `-h` anywhere): it wins over any other argument. */
export function wantsHelp(argv: string[]): boolean {
    return argv.some((arg) => arg === "--help" || arg === "-h");
}

export interface VerifyArguments {
    stack: string;
    /** Overrides the stack file's kubernetes:context. */
    context?: string;
    /** When given, the peer trust domains to check, instead of reading the peer stacks' outputs. */
    peerTrustDomains: string[];
    /** `[ok]`/`[FAIL]`/`[warn]` instead of ✔/✘/!. */
    ascii: boolean;
}

export function parseArguments(argv: string[]): VerifyArguments {
    let stack: string | undefined;
    let context: string | undefined;
    const peerTrustDomains: string[] = [];
    let ascii = false;
    const valueOf = (flag: string, i: number): string => {
        const value = argv[i];
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`${flag} needs a value; ${USAGE}`);
        }
        return value;
    };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--stack") {
            if (stack !== undefined) {
                throw new UsageError(`--stack is given twice; verify one stack at a time; ${USAGE}`);
            }
            stack = valueOf(arg, ++i);
        } else if (arg === "--context") {
            context = valueOf(arg, ++i);
        } else if (arg === "--peer-trust-domain") {
            const td = valueOf(arg, ++i);
            const problem = checkTrustDomain(td);
            if (problem !== undefined) {
                throw new UsageError(`--peer-trust-domain ${JSON.stringify(td)} ${problem}`);
            }
            if (!peerTrustDomains.includes(td)) {
                peerTrustDomains.push(td);
            }
        } else if (arg === "--ascii") {
            ascii = true;
        } else {
            throw new UsageError(`Unknown argument ${JSON.stringify(arg)}; ${USAGE}`);
        }
    }
    if (stack === undefined) {
        throw new UsageError(`Missing --stack <name>; ${USAGE}`);
    }
    return { stack, ...(context !== undefined ? { context } : {}), peerTrustDomains: peerTrustDomains.sort(), ascii };
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration → expectations

/** Reads and validates `Pulumi.<stack>.yaml` with the program's own parser. Throws UsageError with one message. */
export function loadExpectations(projectDir: string, stack: string, contextOverride?: string): Expectations {
    let config: Record<string, unknown>;
    let otherConfig: Record<string, unknown> | undefined;
    try {
        const [source] = loadStackSources(projectDir, [stack]);
        if (source.error !== undefined) {
            throw new Error(source.error);
        }
        config = source.config;
        otherConfig = source.otherConfig;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    let parsed;
    try {
        // Pulumi hands a program lists and objects as JSON text, and scalars as strings.
        parsed = parseStackConfig((key) => (config[key] === undefined ? undefined : configText(config[key])), Object.keys(config), {
            otherKeys: Object.keys(otherConfig ?? {}),
        });
    } catch (error) {
        throw error instanceof ValidationError ? new UsageError(`Pulumi.${stack}.yaml: ${error.message}`) : error;
    }
    // The stack file's `kubernetes:context`: a provider key, which loadStackSources keeps apart, in otherConfig.
    const context = contextOverride ?? otherConfig?.[KUBERNETES_CONTEXT_KEY];
    if (typeof context !== "string" || context === "") {
        throw new UsageError(
            `Pulumi.${stack}.yaml does not set ${KUBERNETES_CONTEXT_KEY}: run \`pulumi config set ${KUBERNETES_CONTEXT_KEY} <context> -s ${stack}\`, or pass --context <context>`,
        );
    }
    return expectationsFromConfig(stack, parsed, context);
}

// ---------------------------------------------------------------------------------------------------------------
// Stack outputs: the stack's own `spireServer`, the peers' `federation`

/** Reads one output's value of a stack (undefined when it has none). */
export type StackOutputReader = (stack: string, output: string) => Promise<unknown>;

/** Reads stack outputs with Pulumi's Automation API: the Pulumi CLI, logged in to the stacks' backend. */
export function pulumiStackOutputReader(projectDir: string): StackOutputReader {
    return async (stack, output) => {
        const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
        const workspace = await LocalWorkspace.create({ workDir: projectDir });
        const outputs = await workspace.stackOutputs(stack);
        return outputs[output]?.value;
    };
}

/** What verify expects of the stack's SPIRE servers, from its own `spireServer` output (and a line when unusable). */
export async function readSpireServerExpectation(
    stack: string,
    readOutput: StackOutputReader,
): Promise<{ expectation: SpireServerExpectation; check?: Check }> {
    let output: StackOutput;
    try {
        output = { value: await readOutput(stack, SPIRE_SERVER_OUTPUT) };
    } catch (error) {
        output = { error: firstLine(error) };
    }
    return spireServerExpectation(stack, output);
}

/** The peer trust domains to check: `--peer-trust-domain` values, or each peer stack's output (one check line each). */
export async function resolvePeers(
    expectations: Expectations,
    override: string[],
    readOutput: StackOutputReader,
): Promise<{ peers: PeerTrustDomain[]; checks: Check[] }> {
    if (override.length > 0) {
        return { peers: override.map((trustDomain) => ({ trustDomain, source: "--peer-trust-domain" })), checks: [] };
    }
    const peers: PeerTrustDomain[] = [];
    const checks: Check[] = [];
    for (const stack of expectations.peerStacks) {
        let output: PeerOutput;
        try {
            output = { value: await readOutput(stack, FEDERATION_OUTPUT) };
        } catch (error) {
            output = { error: firstLine(error) };
        }
        const result = checkPeerOutput(stack, expectations.trustDomain, output);
        checks.push(result.check);
        if (result.peer && !peers.some((p) => p.trustDomain === result.peer?.trustDomain)) {
            peers.push(result.peer);
        }
    }
    return { peers: peers.sort((a, b) => a.trustDomain.localeCompare(b.trustDomain)), checks };
}

function firstLine(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return message.trim().split("\n")[0];
}

// ---------------------------------------------------------------------------------------------------------------
// The checklist

/** A pod whose proxy is checked, and the service account its SPIFFE ID must name. */
interface ProxyPod {
    namespace: string;
    name: string;
    serviceAccount: string;
}

/** What verify knows of an older stack's SPIRE servers: one on SQLite, no upstream authority. */
const OLDER_STACK: { expectation: SpireServerExpectation; check?: Check } = { expectation: { record: SPIRE_SERVER_DEFAULTS, fromOutput: false } };

/** Runs every check against a cluster; lines in group order, deterministic for the same cluster state. */
export async function runChecks(
    expectations: Expectations,
    cluster: ClusterReader,
    peers: PeerTrustDomain[],
    peerChecks: Check[],
    now: Date,
    spireServer: { expectation: SpireServerExpectation; check?: Check } = OLDER_STACK,
): Promise<GroupedCheck[]> {
    const checks: GroupedCheck[] = [];
    const add = (group: Group, check: Check) => checks.push({ group, ...check });
    const failed = (what: string, error: unknown): Check => ({ what, verdict: "fail", why: `could not read it: ${firstLine(error)}` });
    const e = expectations;

    /** Checks a workload's readiness; returns it, or why it is not there. */
    const workload = async (group: Group, label: string, kind: WorkloadKind, namespace: string, name: string): Promise<WorkloadObject | string> => {
        try {
            const object = await cluster.readWorkload(kind, namespace, name);
            add(group, checkWorkloadReady(label, kind, namespace, name, object));
            return object ?? `its ${kind} was not found`;
        } catch (error) {
            add(group, failed(`${label}: ${kind} ${namespace}/${name} is ready`, error));
            return `its ${kind} could not be read`;
        }
    };

    // SPIRE: server (with the controller manager; as many replicas as the stack records), agents, CSI driver.
    let serverSet: WorkloadObject | string;
    try {
        const object = await cluster.readWorkload("StatefulSet", e.spireNamespace, SPIRE_SERVER_STATEFULSET);
        add("SPIRE is up", checkSpireServerReplicas(e.spireNamespace, object, spireServer.expectation));
        serverSet = object ?? "its StatefulSet was not found";
    } catch (error) {
        add("SPIRE is up", failed(`SPIRE server: StatefulSet ${e.spireNamespace}/${SPIRE_SERVER_STATEFULSET} is ready`, error));
        serverSet = "its StatefulSet could not be read";
    }
    await workload("SPIRE is up", "SPIRE agents", "DaemonSet", e.spireNamespace, SPIRE_AGENT_DAEMONSET);
    await workload("SPIRE is up", "SPIFFE CSI driver", "DaemonSet", e.spireNamespace, SPIFFE_CSI_DRIVER_DAEMONSET);

    // Each SPIRE server replica (the StatefulSet's pods): its datastore, the bundle it serves, the upstream root.
    for (const check of await spireServerChecks(e, cluster, serverSet, spireServer)) {
        add("SPIRE servers", check);
    }

    // Istio, read before the registrations: the gateway's pods are what its ClusterSPIFFEID must select.
    await workload("Istio is up", "istiod", "Deployment", e.istioNamespace, ISTIOD_DEPLOYMENT);
    const gateway = await workload("Istio is up", "ingress gateway", "Deployment", e.istioNamespace, e.gateway.name);

    // The pods whose proxies are checked: the gateway's (by its Deployment's selector) and the enrolled ones.
    const proxyPods: ProxyPod[] = [];
    const podChecks: Check[] = [];
    const gatewayWhat = `ingress gateway ${e.istioNamespace}/${e.gateway.name} has Running pods with an istio-proxy`;
    const selector = typeof gateway === "string" ? undefined : gateway.spec?.selector?.matchLabels;
    let gatewayPodCount = 0;
    if (typeof gateway === "string") {
        podChecks.push({ what: gatewayWhat, verdict: "fail", why: gateway });
    } else if (selector === undefined) {
        podChecks.push({ what: gatewayWhat, verdict: "fail", why: "its Deployment has no spec.selector.matchLabels" });
    } else {
        try {
            const pods = gatewayPods(await cluster.listPods(e.istioNamespace, selector));
            gatewayPodCount = pods.length;
            if (pods.length === 0) {
                podChecks.push({
                    what: gatewayWhat,
                    verdict: "fail",
                    why: `no Running pod with an istio-proxy container matches its selector ${selectorString(selector)}`,
                });
            }
            // Its ClusterSPIFFEID registers the configured service account only.
            proxyPods.push(...pods.map((p) => ({ namespace: e.istioNamespace, name: p.metadata?.name ?? "", serviceAccount: e.gateway.serviceAccount })));
        } catch (error) {
            podChecks.push(failed(gatewayWhat, error));
        }
    }
    let enrolledCount = 0;
    for (const namespace of e.enrolledNamespaces) {
        try {
            const all = await cluster.listPods(namespace);
            const pods = enrolledPods(all);
            enrolledCount += pods.length;
            if (pods.length === 0) {
                podChecks.push(emptyNamespaceWarning(namespace, all));
            }
            proxyPods.push(
                ...pods.map((p: PodObject) => ({ namespace, name: p.metadata?.name ?? "", serviceAccount: p.spec?.serviceAccountName ?? "default" })),
            );
        } catch (error) {
            podChecks.push(failed(`enrolled namespace ${namespace} has workloads to check`, error));
        }
    }

    // Registration.
    for (const [name, expectedPods] of [
        [GATEWAY_CLUSTER_SPIFFE_ID, gatewayPodCount],
        [WORKLOAD_CLUSTER_SPIFFE_ID, enrolledCount],
    ] as const) {
        try {
            add("Workloads are registered", checkClusterSpiffeId(name, await cluster.readClusterSpiffeId(name), e.controllerClassName, expectedPods));
        } catch (error) {
            add("Workloads are registered", failed(`ClusterSPIFFEID ${name} registers its pods`, error));
        }
    }

    // Each proxy's SVID, and its ROOTCA's peer bundles (reported under Federation).
    const bundleChecks: Check[] = [];
    for (const check of podChecks) {
        add("Proxies hold SPIRE-issued SVIDs", check);
    }
    for (const pod of proxyPods) {
        const ref = `${pod.namespace}/${pod.name}`;
        const expected = {
            pod: ref,
            trustDomain: e.trustDomain,
            spiffeId: istioSpiffeId(e.trustDomain, pod.namespace, pod.serviceAccount),
            caSubject: e.caSubject,
        };
        let secrets;
        try {
            secrets = readProxySecrets(await cluster.proxyConfigDump(pod.namespace, pod.name));
        } catch (error) {
            add("Proxies hold SPIRE-issued SVIDs", {
                what: `${ref}: proxy SVID is ${expected.spiffeId}, issued by SPIRE`,
                verdict: "fail",
                why: `could not read the proxy's config dump: ${firstLine(error)}`,
            });
            continue;
        }
        add("Proxies hold SPIRE-issued SVIDs", checkSvid(expected, secrets, now));
        for (const peer of peers) {
            bundleChecks.push(checkPeerBundle(ref, peer.trustDomain, secrets));
        }
    }

    // Federation: the peers, their ClusterFederatedTrustDomains, the proxies' bundles.
    for (const check of peerChecks) {
        add("Federation", check);
    }
    if (peers.length > 0) {
        try {
            const objects = await cluster.listClusterFederatedTrustDomains();
            for (const peer of peers) {
                add("Federation", checkFederatedTrustDomain(peer.trustDomain, objects, e.controllerClassName, e.stack));
            }
        } catch (error) {
            for (const peer of peers) {
                add("Federation", failed(`ClusterFederatedTrustDomain for ${peer.trustDomain} exists`, error));
            }
        }
    }
    for (const check of bundleChecks) {
        add("Federation", check);
    }
    return checks;
}

/** Runs a command in a pod through `run`: its output, or its error's first line. */
async function execResult(run: () => Promise<string>): Promise<ExecResult> {
    try {
        return { output: await run() };
    } catch (error) {
        return { error: firstLine(error) };
    }
}

/**
 * The lines of the SPIRE servers: the `spireServer` output's own line (when it could not be used), then per server
 * pod whether it reaches its datastore, whether all serve one trust bundle, and with an upstream authority whether
 * that bundle holds its root. Server pods are those of the StatefulSet's selector (the chart's server pod labels).
 */
async function spireServerChecks(
    e: Expectations,
    cluster: ClusterReader,
    serverSet: WorkloadObject | string,
    spireServer: { expectation: SpireServerExpectation; check?: Check },
): Promise<Check[]> {
    const checks: Check[] = spireServer.check ? [spireServer.check] : [];
    const record = spireServer.expectation.record;
    const selector = typeof serverSet === "string" ? undefined : serverSet.spec?.selector?.matchLabels;
    let pods: PodObject[] = [];
    let noPods: string | undefined;
    if (typeof serverSet === "string") {
        noPods = serverSet;
    } else if (selector === undefined) {
        noPods = "its StatefulSet has no spec.selector.matchLabels";
    } else {
        try {
            pods = spireServerPods(await cluster.listPods(e.spireNamespace, selector));
            noPods = pods.length === 0 ? `no pod matches its StatefulSet's selector ${selectorString(selector)}` : undefined;
        } catch (error) {
            noPods = `its pods could not be listed: ${firstLine(error)}`;
        }
    }
    const served: ServedBundle[] = [];
    for (const pod of pods) {
        const name = pod.metadata?.name ?? "";
        const phase = pod.status?.phase;
        let health: ExecResult | undefined;
        if (phase === "Running") {
            health = await execResult(() => cluster.spireServerHealthcheck(e.spireNamespace, name));
            served.push({ pod: name, result: await execResult(() => cluster.spireServerBundle(e.spireNamespace, name)) });
        } else {
            served.push({ pod: name, result: { error: `the pod is ${phase ?? "in no phase"}, not Running` } });
        }
        checks.push(checkDatastoreReachable(`${e.spireNamespace}/${name}`, phase, record?.dataStore, health));
    }
    checks.push(noPods === undefined ? checkReplicaBundles(served) : { what: "SPIRE server replicas serve one trust bundle", verdict: "fail", why: noPods });
    const upstream = record?.upstreamAuthority;
    if (upstream?.type === "generated" || upstream?.type === "disk") {
        checks.push(checkUpstreamRoot(e.trustDomain, upstream, served));
    } else if (upstream?.type === "certManager") {
        let issuer: Parameters<typeof checkCertManagerRoot>[3];
        const kind = upstream.issuerKind;
        if (upstream.issuerGroup === CERT_MANAGER_GROUP && (kind === "Issuer" || kind === "ClusterIssuer")) {
            try {
                issuer = { object: await cluster.readCertManagerIssuer(kind, e.spireNamespace, upstream.issuerName) };
            } catch (error) {
                issuer = { error: firstLine(error) };
            }
        }
        checks.push(checkCertManagerRoot(e.trustDomain, e.spireNamespace, upstream, issuer, served));
    }
    return checks;
}

// ---------------------------------------------------------------------------------------------------------------
// The command

export interface VerifyDependencies {
    /** Where the `Pulumi.<stack>.yaml` files are. */
    projectDir: string;
    /** Connects to the cluster of a kube context (may throw UsageError for an unknown context). */
    connect: (kubeContext: string) => ClusterReader;
    /** Reads the stack's own `spireServer` output and the peers' `federation` outputs. */
    readStackOutput: StackOutputReader;
    now: Date;
    stdout: (text: string) => void;
    stderr: (text: string) => void;
}

/** Runs `npm run verify` with its arguments; returns the exit code. */
export async function verify(argv: string[], deps: VerifyDependencies): Promise<number> {
    let expectations: Expectations;
    let args: VerifyArguments;
    let cluster: ClusterReader;
    if (wantsHelp(argv)) {
        deps.stdout(HELP);
        return 0;
    }
    try {
        args = parseArguments(argv);
        expectations = loadExpectations(deps.projectDir, args.stack, args.context);
        cluster = deps.connect(expectations.kubeContext);
    } catch (error) {
        if (error instanceof UsageError) {
            deps.stderr(`${error.message}\n`);
            return 2;
        }
        throw error;
    }
    const { peers, checks: peerChecks } = await resolvePeers(expectations, args.peerTrustDomains, deps.readStackOutput);
    const spireServer = await readSpireServerExpectation(expectations.stack, deps.readStackOutput);
    const checks = await runChecks(expectations, cluster, peers, peerChecks, deps.now, spireServer);
    const peerNote = peers.length > 0 ? `, peers ${peers.map((p) => `${p.trustDomain} (${p.source})`).join(", ")}` : "";
    const title = `Stack ${expectations.stack}: kube context ${expectations.kubeContext}, trust domain ${expectations.trustDomain}${peerNote}`;
    deps.stdout(formatReport(title, checks, args.ascii));
    return exitCode(checks);
}

if (require.main === module) {
    const projectDir = process.cwd();
    verify(process.argv.slice(2), {
        projectDir,
        connect: (context) => kubernetesCluster(loadKubeConfig(context)),
        readStackOutput: pulumiStackOutputReader(projectDir),
        now: new Date(),
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
    }).then(
        (code) => process.exit(code),
        (error) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        },
    );
}
