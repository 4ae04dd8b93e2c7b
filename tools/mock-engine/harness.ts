// Runs the Pulumi program under Pulumi's mock runtime and records every resource it declares, with the options the
// engine would see (parent, dependencies, ignoreChanges), so tests can assert the graph exactly.

import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { MockMonitor, MockResourceArgs, MockResourceResult, Mocks } from "@pulumi/pulumi/runtime/mocks";
import { setMockOptions } from "@pulumi/pulumi/runtime/settings";
import { unmappedPulumiDebugStacks } from "./debugStacks";

// Drains the SDK's queue of outstanding resource registrations (exported by the SDK, not declared in its typings).
const waitForRPCs: () => Promise<void> = require("@pulumi/pulumi/runtime/settings").waitForRPCs;
// The SDK's run state (where it keeps which engine features are supported, and its callback server).
const getStore: () => { supportsTransforms: boolean; supportsSecrets: boolean; callbacks: unknown } = require("@pulumi/pulumi/runtime/state").getStore;
const { Callback } = require("@pulumi/pulumi/proto/callback_pb");

/** The organization of every run (pulumi.getOrganization()). */
export const ORGANIZATION = "acme";

/** The placeholder the SDK sends for a value not known until the deployment runs (a preview's unknowns). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Declared {
    type: string;
    /** Pulumi logical name. */
    name: string;
    urn: string;
    inputs: any;
    /** Logical name of the parent resource ("" for the stack). */
    parent: string;
    /** Logical names of the resources this one explicitly or implicitly depends on. */
    dependsOn: string[];
    ignoreChanges: string[];
    /** Property paths whose change replaces the resource (`replaceOnChanges`). */
    replaceOnChanges: string[];
    /** `deleteBeforeReplace`: the old object goes before the new one is created. */
    deleteBeforeReplace: boolean;
    /** `protect`: the engine refuses to delete it. */
    protect: boolean;
    /** `retainOnDelete`: the engine forgets it without deleting the object. */
    retainOnDelete: boolean;
    /** The provider reference (`<provider urn>::<provider id>`), "" for the default provider or a component. */
    provider: string;
    /**
     * The `transforms` resource option: what the engine runs on this resource and on every resource registered under
     * it, including the children a multi-language component's provider registers (see transformedUnder).
     */
    transforms: pulumi.ResourceTransform[];
    /** True for a read of an existing object (`Resource.get`). */
    read: boolean;
    /** The id a read was given (UNKNOWN when it was not known yet). */
    id: string;
    /** The `import` resource option: the id of an existing object the engine imports instead of creating one; "" if none. */
    importId: string;
    /**
     * The input paths the SDK sent as secrets (`a.b.c`): what the engine keeps encrypted in the state. The SDK marks
     * a secret in the registration with Pulumi's secret signature (@pulumi/pulumi runtime/rpc.ts specialSecretSig).
     */
    secretPaths: string[];
}

const SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SPECIAL_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A registration's inputs with each secret replaced by its value (Declared.secretPaths says where they were). */
export function unwrapSecrets(value: unknown): any {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value !== "object" || value === null) {
        return value;
    }
    const record = value as Record<string, unknown>;
    if (record[SPECIAL_SIG_KEY] === SPECIAL_SECRET_SIG) {
        return unwrapSecrets(record.value);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/** The paths of a registration's serialized inputs that hold secrets. */
function secretPathsOf(value: unknown, at: string[] = []): string[] {
    if (typeof value !== "object" || value === null) {
        return [];
    }
    const record = value as Record<string, unknown>;
    if (record[SPECIAL_SIG_KEY] === SPECIAL_SECRET_SIG) {
        return [at.join(".")];
    }
    return Object.entries(record).flatMap(([k, v]) => secretPathsOf(v, [...at, k]));
}

/** The options of a registration that sets none: what hand-made records in tests start from. */
export const NO_OPTIONS = {
    ignoreChanges: [],
    replaceOnChanges: [],
    deleteBeforeReplace: false,
    protect: false,
    retainOnDelete: false,
    provider: "",
    transforms: [],
    importId: "",
    secretPaths: [],
};

/** What a test can choose about the world the program runs against. */
export interface World {
    /**
     * The stacks that exist, by fully qualified name, with their outputs. `{}` is a stack that was created (`pulumi
     * stack init`) but has no outputs yet (never deployed). A stack not listed does not exist: a StackReference to it
     * fails the run as in the engine (see UNKNOWN_STACK_ERROR).
     */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /**
     * `bundle.spiffe` that SPIRE's bundle publisher has written into this cluster's spire-bundle ConfigMap; undefined:
     * SPIRE has not published it yet (the ConfigMap then exists only if something else created it).
     */
    ownBundle?: string;
    /**
     * Objects that exist in the cluster although nothing in this run creates them (made by hand, by a controller, by
     * an earlier deployment), by objectKey(kind, namespace, name), with the fields a read returns. Helm releases are
     * `Release/<namespace>/<name>`, with the inputs pulumi-kubernetes reads back when it imports one (name, namespace,
     * chart, version, values).
     */
    cluster?: Record<string, Record<string, unknown>>;
    /** Load balancer ingress of the bundle endpoint Service. @default [{ ip: "203.0.113.10" }] */
    bundleEndpointIngress?: { ip?: string; hostname?: string }[];
    /** Load balancer ingress of the ingress gateway's Service (read back). @default [{ ip: "203.0.113.20" }] */
    gatewayIngress?: { ip?: string; hostname?: string }[];
    /** Run as `pulumi preview` (unknowns stay unknown, nothing is created). @default false */
    preview?: boolean;
    /**
     * `metadata.uid` the API server gives each Namespace the run creates, by name. @default `uid-<name>`. Kubernetes
     * assigns a new uid to every object it creates, so a recreated namespace is modelled by giving it another.
     */
    namespaceUids?: Record<string, string>;
    /** The certificate (PEM) @pulumi/tls makes for a generated upstream root. @default a stand-in (mockPem) */
    generatedRootCertificate?: string;
    /** The organization of the stack (pulumi.getOrganization()). @default ORGANIZATION */
    organization?: string;
    /**
     * The project (pulumi.getProject(), and the namespace of `config` keys without one), for a program of another
     * project than this one, such as examples/. @default "istio-spire"
     */
    project?: string;
}

/** A config value set as a secret (`pulumi config set --secret`): runProgram hands its key to the program as secret. */
export class SecretConfigValue {
    constructor(public readonly value: unknown) {}
}

/** Marks a config value of runProgram's `config` as a secret. */
export function secretConfig(value: unknown): SecretConfigValue {
    return new SecretConfigValue(value);
}

/**
 * The text Pulumi hands a program for a value of a stack file's `config:` block: a string as it is, a YAML null as
 * "" (pulumi/pulumi sdk/go/common/workspace/loaders.go checkForEmptyConfig: "No value for configuration key ... is
 * currently treated as an empty string"; TestEmptyValueWarning), and anything else, lists, mappings, numbers and
 * booleans, as its JSON (sdk/go/common/resource/config/object.go MarshalString).
 */
export function configText(value: unknown): string {
    if (value instanceof SecretConfigValue) {
        return configText(value.value);
    }
    if (typeof value === "string") {
        return value;
    }
    return value === null || value === undefined ? "" : JSON.stringify(value);
}

/**
 * The error the engine gives for a StackReference to a stack that does not exist: the builtin provider's Read of
 * `pulumi:pulumi:StackReference` calls the backend's GetStackOutputs, which returns `fmt.Errorf("unknown stack %q",
 * name)` when the backend has no such stack (pulumi/pulumi pkg/backend/backend.go backendClient.GetStackOutputs, called
 * from pkg/resource/deploy/builtins.go readStackReference; pulumi/pulumi#2407). It is an error, not an empty stack, in
 * previews too: the SDK registers a StackReference as a read whose id is the stack name (@pulumi/pulumi
 * stackReference.js), and read steps run during previews whenever the id is known (pkg/resource/deploy/step.go
 * ReadStep.Apply). The engine reports it against the resource (pkg/engine/update.go OnResourceStepPost:
 * `pulumi:pulumi:StackReference (peer-…): error: unknown stack "…"`, with "Preview failed: " in a preview) and fails
 * the run; under the mocks the program sees the SDK's `failed to read resource #<id> '<name>' [<type>]: <this text>`.
 */
export function unknownStackError(name: string): string {
    // Go's %q of a plain stack name is the JSON string.
    return `unknown stack ${JSON.stringify(name)}`;
}

/**
 * The error the engine gives for `Resource.get` of an object that does not exist: pulumi-kubernetes' Read answers a
 * 404 with an empty response (provider/pkg/provider/provider.go Read: `statusErr.ErrStatus.Code == 404` → deleteResponse,
 * no properties), and the engine's ReadStep turns "no outputs" into `fmt.Errorf("resource '%s' does not exist", id)`
 * (pulumi/pulumi pkg/resource/deploy/step.go ReadStep.Apply). The run fails, reported against the read
 * (`kubernetes:core/v1:ConfigMap (<name>): error: resource '<ns>/<name>' does not exist`).
 */
export function missingResourceError(id: string): string {
    return `resource '${id}' does not exist`;
}

/** How the harness names a Kubernetes object: `<Kind>/<namespace>/<name>`, or `<Kind>/<name>` when cluster-scoped. */
export function objectKey(kind: string, namespace: string | undefined, name: string): string {
    return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}

/** A Kubernetes object a Helm release creates when it is installed. */
export interface ChartObject {
    kind: string;
    namespace: string;
    name: string;
}

/**
 * The objects a declared Helm release creates that the program reads back with `Resource.get` (not every object of
 * the chart: only those a read may name). test/chartObjects.test.ts renders each chart with `helm template` and checks
 * that these objects are really rendered.
 */
export function chartObjectsRead(release: { chart?: string; name?: string; namespace?: string; values?: any }): ChartObject[] {
    const namespace = release.namespace ?? "default";
    switch (release.chart) {
        case "gateway": {
            // Istio's gateway chart, templates/service.yaml: a Service named `gateway.name` (templates/_helpers.tpl:
            // `.Values.name | default .Release.Name`) in the release namespace, unless `service.type` is "None".
            if (release.values?.service?.type === "None") {
                return [];
            }
            return [{ kind: "Service", namespace, name: release.values?.name || release.name || "istio-ingressgateway" }];
        }
        default:
            // The spire chart does not render the spire-bundle ConfigMap (bundlePublisher.k8sConfigMap: SPIRE's
            // server writes it at run time), so no read names an object it creates.
            return [];
    }
}

/** The kind a resource type token declares (`kubernetes:core/v1:ConfigMapPatch` → ConfigMap), or undefined. */
function kindOf(type: string): string | undefined {
    const match = /^kubernetes:[^:]+:([A-Za-z0-9]+)$/.exec(type);
    // A Patch resource is applied server-side, which creates the object when it does not exist (pulumi-kubernetes
    // provider/pkg/await/await.go Creation: Patch resources are always sent as an apply PATCH, an upsert).
    return match ? match[1].replace(/Patch$/, "") : undefined;
}

/**
 * Stands in for the SDK's callback server, which serves `transforms` to the engine over gRPC: the SDK sends each
 * transform as a callback token in the registration, and this keeps the function behind each token so the recorded
 * registration can name it. (The mock runtime otherwise refuses the `transforms` option as unsupported.)
 */
class RecordingCallbacks {
    public readonly transforms = new Map<string, pulumi.ResourceTransform>();

    async registerTransform(transform: pulumi.ResourceTransform): Promise<unknown> {
        const token = `transform-${this.transforms.size}`;
        this.transforms.set(token, transform);
        const callback = new Callback();
        callback.setTarget("harness");
        callback.setToken(token);
        return callback;
    }

    async awaitStackRegistrations(): Promise<void> {}

    shutdown(): void {}
}

class RecordingMonitor extends MockMonitor {
    public readonly declared: Declared[] = [];
    /** Objects this run creates: Kubernetes objects it declares and the objects of the Helm releases it installs. */
    public readonly created = new Map<string, Record<string, unknown>>();
    private readonly urnNames = new Map<string, string>();
    /** Registrations with the `import` option, by importKey(type, name): the id to import. */
    public readonly imports = new Map<string, string>();

    public readonly callbacks = new RecordingCallbacks();

    constructor(
        mocks: Mocks,
        private readonly world: World,
    ) {
        super(mocks);
    }

    /** Notes what a registration creates (a preview creates nothing). */
    private noteCreated(type: string, inputs: any) {
        if (this.world.preview) {
            return;
        }
        if (type === "kubernetes:helm.sh/v3:Release") {
            for (const o of chartObjectsRead(inputs)) {
                this.created.set(objectKey(o.kind, o.namespace, o.name), { metadata: { name: o.name, namespace: o.namespace } });
            }
            return;
        }
        const kind = kindOf(type);
        const name = inputs?.metadata?.name;
        if (kind !== undefined && typeof name === "string") {
            const namespace = typeof inputs.metadata.namespace === "string" ? inputs.metadata.namespace : undefined;
            const key = objectKey(kind, namespace, name);
            this.created.set(key, { ...(this.created.get(key) ?? {}), ...inputs });
        }
    }

    private record(req: any, read: boolean, urn: string, inputs: any) {
        this.urnNames.set(urn, req.getName());
        const names = (urns: string[]) => urns.map((u) => this.urnNames.get(u) ?? u);
        this.declared.push({
            type: req.getType(),
            name: req.getName(),
            urn,
            inputs: unwrapSecrets(inputs),
            parent: this.urnNames.get(req.getParent()) ?? "",
            dependsOn: names(req.getDependenciesList()),
            ignoreChanges: read ? [] : req.getIgnorechangesList(),
            replaceOnChanges: read ? [] : req.getReplaceonchangesList(),
            deleteBeforeReplace: read ? false : req.getDeletebeforereplace(),
            protect: read ? false : req.getProtect() === true,
            retainOnDelete: read ? false : req.getRetainondelete() === true,
            provider: req.getProvider(),
            transforms: read ? [] : req.getTransformsList().map((cb: any) => this.callbacks.transforms.get(cb.getToken())!),
            read,
            id: read ? req.getId() : "",
            importId: read ? "" : req.getImportid(),
            secretPaths: secretPathsOf((read ? req.getProperties() : req.getObject())?.toJavaScript()),
        });
    }

    override async registerResource(req: any, callback: (err: any, res: any) => void): Promise<void> {
        const inputs = pulumi.runtime.deserializeProperties(req.getObject());
        if (req.getImportid()) {
            this.imports.set(importKey(req.getType(), req.getName()), req.getImportid());
        } else {
            this.noteCreated(req.getType(), inputs);
        }
        return super.registerResource(req, (err, res) => {
            if (!err) {
                this.record(req, false, res.getUrn(), inputs);
            }
            callback(err, res);
        });
    }

    override async readResource(req: any, callback: (err: any, res: any) => void): Promise<void> {
        const inputs = pulumi.runtime.deserializeProperties(req.getProperties());
        return super.readResource(req, (err, res) => {
            if (!err) {
                this.record(req, true, res.getUrn(), inputs);
            }
            callback(err, res);
        });
    }
}

/** How the monitor tells the mocks that a registration is an import (the mocks see its type and name). */
function importKey(type: string, name: string): string {
    return `${type}::${name}`;
}

/**
 * An import (the `import` resource option) of an existing object, then its update to the program's inputs, as the
 * engine runs it since Pulumi 3.174.0 (pulumi/pulumi pkg/resource/deploy/step_generator.go: an ImportStep, then
 * continueStepsFromImport diffs the imported state against the goal and updates it). The provider's Read of the id
 * must find the object, otherwise the import fails with the engine's `resource '<id>' does not exist` (step.go
 * ImportStep.Apply; pulumi-kubernetes answers a missing object or Helm release with no outputs). The outputs are the
 * live object with the program's inputs applied over it.
 */
export function importObject(args: MockResourceArgs, world: World): MockResourceResult {
    const id = args.id as string;
    const inputs = args.inputs ?? {};
    if (args.type === "kubernetes:helm.sh/v3:Release") {
        const [namespace, name] = id.split("/");
        if (world.cluster?.[objectKey("Release", namespace, name)] === undefined) {
            throw new Error(missingResourceError(id));
        }
        const state = world.preview ? { ...inputs } : { ...inputs, status: { name, namespace, status: "deployed", version: inputs.version } };
        return { id, state };
    }
    const kind = kindOf(args.type) ?? args.type;
    const [namespace, name] = id.includes("/") ? id.split("/") : [undefined, id];
    const found = world.cluster?.[objectKey(kind, namespace, name)];
    if (found === undefined) {
        throw new Error(missingResourceError(id));
    }
    const live = (found.metadata ?? {}) as Record<string, unknown>;
    const metadata = { ...live, ...(inputs.metadata ?? {}), labels: { ...((live.labels as object) ?? {}), ...(inputs.metadata?.labels ?? {}) } };
    return { id, state: { ...found, ...inputs, metadata } };
}

/** The bundle ConfigMap SPIRE's bundle publisher writes (components/mesh/spire.ts BUNDLE_CONFIGMAP). */
const BUNDLE_CONFIGMAP = "spire-bundle";

/**
 * A read (`Resource.get`) of an existing object: what the cluster has under that kind and id, or the engine's error
 * when nothing created it. Objects exist when the run declared them (or a Helm release it installs renders them),
 * when the world places them in the cluster, or, for the spire-bundle ConfigMap, when SPIRE has published it.
 */
function readObject(args: MockResourceArgs, world: World, created: Map<string, Record<string, unknown>>): MockResourceResult {
    const id = args.id as string;
    const kind = kindOf(args.type);
    const [namespace, name] = id.includes("/") ? id.split("/") : [undefined, id];
    const key = objectKey(kind ?? args.type, namespace, name);
    const published = kind === "ConfigMap" && name === BUNDLE_CONFIGMAP && world.ownBundle !== undefined;
    const found = world.cluster?.[key] ?? created.get(key) ?? (published ? {} : undefined);
    if (found === undefined) {
        throw new Error(missingResourceError(id));
    }
    const state: Record<string, any> = { ...found, metadata: { ...((found.metadata as object) ?? {}), name, ...(namespace ? { namespace } : {}) } };
    if (published) {
        state.data = { ...(state.data ?? {}), "bundle.spiffe": world.ownBundle };
    }
    if (kind === "Service" && state.status === undefined) {
        // The ingress gateway's Service, as its load balancer reports it.
        state.status = { loadBalancer: { ingress: world.gatewayIngress ?? [{ ip: "203.0.113.20" }] } };
    }
    return { id, state };
}

/** The fully qualified name of the stack a run deploys (runProgram's organization and project). */
export function runningStack(stack: string, organization = ORGANIZATION, project = "istio-spire"): string {
    return `${organization}/${project}/${stack}`;
}

/**
 * The UUID the random provider draws for a RandomUuid of a stack. The real one is random at creation and kept in the
 * state until a keeper changes (which replaces the resource); the mock derives it from the stack, the resource's name
 * and its keepers, so the same keepers give the same id in every run and other keepers (or another stack) another.
 */
export function mockUuid(stack: string, name: string, keepers: unknown): string {
    const sorted = Object.entries((keepers ?? {}) as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    const hex = createHash("sha256")
        .update(JSON.stringify([stack, name, sorted]))
        .digest("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A stand-in PEM block the tls mocks give, the same for the same stack and resource name. */
export function mockPem(label: string, stack: string, name: string): string {
    const body = createHash("sha256")
        .update(JSON.stringify([label, stack, name]))
        .digest("base64");
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function mockState(
    args: MockResourceArgs,
    world: World,
    created: Map<string, Record<string, unknown>>,
    stack: string,
    imports: Map<string, string> = new Map(),
): MockResourceResult {
    const inputs = args.inputs;
    if (args.id && imports.get(importKey(args.type, args.name)) === args.id) {
        return importObject(args, world);
    }
    if (world.preview && args.id === UNKNOWN) {
        // A read whose id is not known yet: the engine defers it, and everything it would return is unknown.
        return { id: UNKNOWN, state: { metadata: UNKNOWN, data: UNKNOWN, status: UNKNOWN } };
    }
    switch (args.type) {
        case "pulumi:pulumi:StackReference": {
            // The stack being deployed exists, with the outputs of its last deployment (none if it has none).
            const outputs = world.stackOutputs?.[inputs.name] ?? (inputs.name === runningStack(stack, world.organization, world.project) ? {} : undefined);
            if (outputs === undefined) {
                throw new Error(unknownStackError(inputs.name));
            }
            return { id: inputs.name, state: { name: inputs.name, outputs, secretOutputNames: [] } };
        }
        case "kubernetes:helm.sh/v3:Release":
            // As Helm reports a deployed release; in a preview of a first deployment these stay unknown.
            return {
                id: `${inputs.namespace}/${inputs.name}`,
                state: world.preview
                    ? { ...inputs }
                    : { ...inputs, status: { name: inputs.name, namespace: inputs.namespace, status: "deployed", version: inputs.version } },
            };
    }
    if (args.id !== undefined && args.id !== "") {
        return readObject(args, world, created);
    }
    switch (args.type) {
        case "tls:index/privateKey:PrivateKey":
            // @pulumi/tls draws a key at creation and keeps it in the state (a secret output).
            return { id: `${args.name}-id`, state: world.preview ? { ...inputs } : { ...inputs, privateKeyPem: mockPem("PRIVATE KEY", stack, args.name) } };
        case "tls:index/selfSignedCert:SelfSignedCert":
            return {
                id: `${args.name}-id`,
                state: world.preview ? { ...inputs } : { ...inputs, certPem: world.generatedRootCertificate ?? mockPem("CERTIFICATE", stack, args.name) },
            };
        case "random:index/randomUuid:RandomUuid":
            // In a preview, a RandomUuid to create has no result yet.
            return { id: `${args.name}-id`, state: world.preview ? { ...inputs } : { ...inputs, result: mockUuid(stack, args.name, inputs.keepers) } };
        case "kubernetes:core/v1:Namespace": {
            const name = inputs.metadata?.name;
            const uid = world.namespaceUids?.[name] ?? `uid-${name}`;
            return { id: `${args.name}-id`, state: world.preview ? { ...inputs } : { ...inputs, metadata: { ...inputs.metadata, uid } } };
        }
        case "kubernetes:core/v1:Service": {
            const ingress = world.bundleEndpointIngress ?? [{ ip: "203.0.113.10" }];
            return {
                id: `${inputs.metadata?.namespace}/${inputs.metadata?.name}`,
                state: world.preview ? { ...inputs } : { ...inputs, status: { loadBalancer: { ingress } } },
            };
        }
        case "kubernetes:core/v1:ConfigMap":
            return { id: `${inputs.metadata?.name}`, state: inputs };
        case "kubernetes:core/v1:ConfigMapPatch": {
            // A server-side apply returns the whole live object: what SPIRE published is in it, beside our fields.
            const id = `${inputs.metadata?.namespace}/${inputs.metadata?.name}`;
            const published = inputs.metadata?.name === BUNDLE_CONFIGMAP && world.ownBundle !== undefined && !world.preview;
            return { id, state: published ? { ...inputs, data: { "bundle.spiffe": world.ownBundle } } : inputs };
        }
        default:
            return { id: `${args.name}-id`, state: inputs };
    }
}

export interface ProgramRun<T> {
    /** What the program returned (the stack outputs), resolved. */
    outputs: T;
    declared: Declared[];
    /** Warnings the program logged with pulumi.log.warn. */
    warnings: string[];
}

/**
 * Resolves an Output (or a structure of Outputs) to its plain value. A value unknown in a preview resolves to
 * undefined (an apply would never run for it); unknowns nested inside a known structure stay as the SDK's markers.
 */
export function resolve<T>(value: pulumi.Input<T>): Promise<T> {
    // Output.promise is the SDK's own way to await an Output; `true` keeps unknowns instead of waiting forever.
    const output = pulumi.output(value) as unknown as { promise(withUnknowns?: boolean): Promise<T> };
    return output.promise(true).then((v) => (pulumi.isUnknown(v) ? undefined : v) as T);
}

/** Drops object keys whose value is undefined, as the engine does when it stores stack outputs. */
function withoutUndefined(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(withoutUndefined);
    }
    if (value !== null && typeof value === "object" && !pulumi.isUnknown(value)) {
        return Object.fromEntries(
            Object.entries(value)
                .filter(([, v]) => v !== undefined)
                .map(([k, v]) => [k, withoutUndefined(v)]),
        );
    }
    return value;
}

/** The stack's kube context key, which runProgram sets to the stack's name unless the config names it. */
const TEST_KUBE_CONTEXT_KEY = "kubernetes:context";

/**
 * Sets config and mocks, runs `program`, waits until every resource registration has finished, and returns what
 * was declared. `config` keys are in the project namespace (`trustDomain`, not `istio-spire:trustDomain`), except keys
 * that name their namespace (`kubernetes:context`); a key whose value is undefined is left unset. Every stack has a
 * kube context: `kubernetes:context` is the stack's name unless `config` has the key (`{"kubernetes:context":
 * undefined}` runs without one).
 */
export async function runProgram<T>(program: () => Promise<T>, config: Record<string, unknown>, world: World = {}, stack = "cluster1"): Promise<ProgramRun<T>> {
    let created = new Map<string, Record<string, unknown>>();
    let imports = new Map<string, string>();
    const mocks: Mocks = {
        newResource: (args) => mockState({ ...args, inputs: unwrapSecrets(args.inputs) }, world, created, stack, imports),
        call: (args) => {
            throw new Error(`unexpected call to ${args.token}`);
        },
    };
    const monitor = new RecordingMonitor(mocks, world);
    created = monitor.created;
    imports = monitor.imports;
    const organization = world.organization ?? ORGANIZATION;
    const project = world.project ?? "istio-spire";
    await pulumi.runtime.setMocks(mocks, project, stack, world.preview ?? false, organization);
    setMockOptions(monitor, project, stack, world.preview ?? false, organization);
    // The engine supports `transforms` (Pulumi CLI >= 3.115); the mock runtime says it does not.
    getStore().supportsTransforms = true;
    // The engine accepts secrets (the SDK asks it, runtime/settings.ts monitorSupportsSecrets): the SDK then sends a
    // secret input wrapped in Pulumi's secret signature, as it does under `pulumi up` (Declared.secretPaths).
    getStore().supportsSecrets = true;
    getStore().callbacks = monitor.callbacks;
    const allConfig: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries({ [TEST_KUBE_CONTEXT_KEY]: stack, ...config })) {
        if (value === undefined) {
            continue; // a key the test leaves unset on purpose
        }
        // Keys of other namespaces (`kubernetes:context`) are taken as they are.
        const fullKey = key.includes(":") ? key : `${project}:${key}`;
        allConfig[fullKey] = configText(value);
        if ((value as unknown) instanceof SecretConfigValue) {
            secretKeys.push(fullKey);
        }
    }
    // The language host names the secret keys in PULUMI_CONFIG_SECRET_KEYS; the SDK keeps them beside the config.
    pulumi.runtime.setAllConfig(allConfig, secretKeys);

    const warnings: string[] = [];
    const originalWarn = pulumi.log.warn;
    (pulumi.log as any).warn = (msg: string) => {
        warnings.push(msg);
        return Promise.resolve();
    };
    const restoreStacks = unmappedPulumiDebugStacks();
    try {
        const returned = await program();
        const outputs = withoutUndefined(await resolve(returned as any)) as T;
        await waitForRPCs();
        return { outputs, declared: monitor.declared, warnings };
    } finally {
        (pulumi.log as any).warn = originalWarn;
        restoreStacks();
    }
}

/**
 * Like runProgram, for runs that must fail: returns the error and everything declared before it.
 */
export async function runProgramExpectingError(
    program: () => Promise<unknown>,
    config: Record<string, unknown>,
    world: World = {},
    stack = "cluster1",
): Promise<{ error: Error; declared: Declared[] }> {
    let run: ProgramRun<unknown>;
    try {
        run = await runProgram(program, config, world, stack);
    } catch (error) {
        await waitForRPCs();
        const monitor = pulumi.runtime.getMonitor() as unknown;
        return { error: error as Error, declared: monitor instanceof RecordingMonitor ? monitor.declared : [] };
    }
    throw new Error(`expected the program to fail, but it declared ${run.declared.length} resources`);
}

/** The resources of a type (a token like `kubernetes:helm.sh/v3:Release`). */
export function ofType(declared: Declared[], type: string): Declared[] {
    return declared.filter((d) => d.type === type);
}

/** The one resource with this logical name; fails loudly if there is none or more than one. */
export function named(declared: Declared[], name: string): Declared {
    const found = declared.filter((d) => d.name === name);
    if (found.length !== 1) {
        throw new Error(`expected one resource named ${name}, found ${found.length}: ${declared.map((d) => d.name).join(", ")}`);
    }
    return found[0];
}

/**
 * What the engine makes of `props` registered as a child of `parent` (a declared resource, for example a ConfigFile v2
 * whose objects its provider registers): the child's props after the transforms of the parent, then of each ancestor
 * up to the stack, in that order (pulumi/pulumi pkg/resource/deploy/source_eval.go RegisterResource); the child
 * itself has none. Returns the props and the transforms that ran.
 */
export async function transformedUnder(
    declared: Declared[],
    parent: Declared,
    child: { type: string; name: string; props: Record<string, unknown> },
): Promise<{ props: Record<string, unknown>; ran: number }> {
    let props = child.props;
    let opts: pulumi.ResourceOptions = {};
    let ran = 0;
    for (let at: Declared | undefined = parent; at !== undefined; at = at.parent === "" ? undefined : named(declared, at.parent)) {
        for (const transform of at.transforms) {
            const result = await transform({ custom: true, type: child.type, name: child.name, props, opts });
            ran++;
            if (result !== undefined) {
                props = result.props as Record<string, unknown>;
                opts = result.opts;
            }
        }
    }
    return { props, ran };
}
