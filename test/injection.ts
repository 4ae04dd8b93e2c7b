// Istio's sidecar injection, evaluated for real on this machine: the injection templates of the rendered
// `istio-sidecar-injector` ConfigMap (Istio's own `sidecar` and `gateway` templates next to the program's `spire`
// ones) are Go templates, and Helm is a real Go text/template + sprig engine. Each template is put, as it is, into a
// throwaway chart and executed by Helm with data shaped like the injector's (istio/istio 1.30.3
// pkg/kube/inject/inject.go `SidecarTemplateData`); the outputs are then merged onto the pod the way the webhook merges
// them (inject.go `RunTemplate`, webhook.go `reapplyOverwrittenContainers`, `reorderPod`) and the resulting pod is
// checked the way the API server would check the parts that matter here.
//
// What is emulated rather than run, and how (everything else is Helm's own text/template and sprig):
// - Istio's extra template functions (pkg/kube/inject/template.go `InjectionFuncmap`), which Helm does not have, are
//   rewritten in the template text before Helm parses it (`shimIstioTemplate`):
//   `isset` → sprig `hasKey` (same arguments, same answer for a string map); `toLower` → `lower`; `fromJSON` →
//   `fromJson`; `structToJSON`, `protoToJSON` → `toJson` (only used for env values such as PROXY_CONFIG);
//   `omitNil X` → `X` (the values passed contain no nulls: `templateData` checks it); `indent N` → sprig
//   `indent N | trimPrefix "<N spaces>"` (Istio's indent leaves the first line alone); `annotation`,
//   `valueOrDefault`, `excludeInboundPort` → `include` of helpers written from their Go source (they return strings,
//   as the Go functions do, or are only used as strings); `otelResourceAttributes` → a helper returning "" (the Go
//   function returns "" unless the mesh config has an OpenTelemetry provider with OTEL_SEMANTIC_CONVENTIONS; the
//   helper fails if the mesh config has any extension provider); `appendMultusNetwork`, `directory` → helpers that
//   fail when reached (they are only reached with Multus CNI or the lightstep tracer); any other Istio-only function
//   makes the shim throw. `.ProxyConfig.InterceptionMode.String` reads the mode's name, which the data holds.
// - Typed Go data becomes maps with the Go field names (`.Spec.Containers`, `.ObjectMeta.Annotations`); a
//   container's `Ports` keep their JSON form, since the templates only print them as JSON. Numbers are float64 in
//   Istio's `.Values` too (decoded from JSON), so they print the same.
// - Strategic merge patch (k8s.io/apimachinery strategicpatch) is implemented for the Pod fields with a merge key
//   (`podMergeKeys`, from k8s.io/api core/v1 `patchMergeKey` tags); other lists are replaced; a null deletes; patch
//   directives (`$patch`, ...) are refused. Merged list items keep the original's order with new ones appended
//   (apimachinery may interleave them differently; only the order `reorderPod` decides is asserted).
// - Helm's toYaml drops the trailing newline Istio's keeps, and Helm prints a missing value as "" where Go prints
//   "<no value>": neither reaches the pod fields checked here.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { helmTemplateText, parseRendered } from "../tools/upstream/helm";

/** The proxy container's name (inject.go ProxyContainerName). */
export const PROXY = "istio-proxy";

// ---------------------------------------------------------------------------------------------------------------
// Template text: Istio's functions rewritten to what Helm has

/** Istio-only functions that are rewritten to a Helm function of the same arguments. */
const RENAMED: Record<string, string> = {
    isset: "hasKey",
    toLower: "lower",
    fromJSON: "fromJson",
    structToJSON: "toJson",
    protoToJSON: "toJson",
};
/** Istio-only functions that become `include "istio.<name>" (list <args>)` of a helper below. */
const INCLUDED = ["annotation", "valueOrDefault", "excludeInboundPort", "otelResourceAttributes", "appendMultusNetwork", "directory"];
/** Istio-only functions with no shim: a template using one cannot be evaluated here. */
const UNSUPPORTED = [
    "formatDuration",
    "includeInboundPorts",
    "kubevirtInterfaces",
    "excludeInterfaces",
    "applicationPorts",
    "toJSON",
    "env",
    "omit",
    "strdict",
    "toJsonMap",
    "mergeMaps",
];

/** Helm helpers written from pkg/kube/inject/template.go (1.30.3). */
export const ISTIO_HELPERS = `
{{- /* getAnnotation: the pod annotation if set (even to ""), else fmt.Sprint(defaultValue). */ -}}
{{- define "istio.annotation" -}}
{{- $annotations := (index . 0).Annotations | default dict -}}
{{- if hasKey $annotations (index . 1) -}}{{ index $annotations (index . 1) }}{{- else -}}{{ index . 2 }}{{- end -}}
{{- end -}}
{{- /* valueOrDefault: the default when the value is "" or nil. */ -}}
{{- define "istio.valueOrDefault" -}}
{{- $v := index . 0 -}}
{{- if kindIs "invalid" $v -}}{{ index . 1 }}{{- else if and (kindIs "string" $v) (eq $v "") -}}{{ index . 1 }}{{- else -}}{{ $v }}{{- end -}}
{{- end -}}
{{- /* excludeInboundPort: adds the port to the comma-separated list unless it is empty, "0" or already listed. */ -}}
{{- define "istio.excludeInboundPort" -}}
{{- $port := trim (toString (index . 0)) -}}
{{- $excluded := index . 1 -}}
{{- if or (eq $port "") (eq $port "0") -}}{{ $excluded }}{{- else -}}
{{- $out := list -}}{{- $found := false -}}
{{- range splitList "," $excluded -}}
{{- if eq . $port -}}{{- $found = true -}}{{- else if ne (trim .) "" -}}{{- $out = append $out (trim .) -}}{{- end -}}
{{- end -}}
{{- if $found -}}{{ $excluded }}{{- else -}}{{ append $out $port | join "," }}{{- end -}}
{{- end -}}
{{- end -}}
{{- define "istio.otelResourceAttributes" -}}
{{- if ((index . 0).ExtensionProviders) -}}{{ fail "otelResourceAttributes is only emulated for a mesh config without extension providers" }}{{- end -}}
{{- end -}}
{{- define "istio.appendMultusNetwork" -}}{{ fail "appendMultusNetwork is not emulated" }}{{- end -}}
{{- define "istio.directory" -}}{{ fail "directory is not emulated" }}{{- end -}}
`;

type Token = { kind: "space" | "string" | "open" | "close" | "pipe" | "word" | "other"; text: string };

function tokenize(body: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < body.length) {
        const c = body[i];
        let j = i + 1;
        let kind: Token["kind"];
        if (/\s/.test(c)) {
            while (j < body.length && /\s/.test(body[j])) j++;
            kind = "space";
        } else if (c === '"' || c === "'") {
            while (j < body.length && body[j] !== c) j += body[j] === "\\" ? 2 : 1;
            j++;
            kind = "string";
        } else if (c === "`") {
            j = body.indexOf("`", i + 1) + 1;
            kind = "string";
        } else if (c === "(") {
            kind = "open";
        } else if (c === ")") {
            kind = "close";
        } else if (c === "|") {
            kind = "pipe";
        } else if (/[\w.$]/.test(c)) {
            while (j < body.length && /[\w.$]/.test(body[j])) j++;
            kind = "word";
        } else {
            kind = "other";
        }
        if (j <= i) {
            throw new Error(`unterminated literal in template action: ${body}`);
        }
        tokens.push({ kind, text: body.slice(i, j) });
        i = j;
    }
    return tokens;
}

/** Rewrites one action's body (between `{{` and `}}`, trim markers excluded). */
function shimAction(body: string): string {
    if (/^\s*\/\*/.test(body)) {
        return body; // a comment
    }
    let tokens = tokenize(body);
    for (const t of tokens) {
        if (t.kind === "word" && UNSUPPORTED.includes(t.text)) {
            throw new Error(`Istio template function ${t.text} is not emulated (action: ${body.trim()})`);
        }
        if (t.kind === "word" && RENAMED[t.text] !== undefined) {
            t.text = RENAMED[t.text];
        }
        if (t.kind === "word" && t.text === ".ProxyConfig.InterceptionMode.String") {
            t.text = ".ProxyConfig.InterceptionMode";
        }
    }
    // Calls rewritten from the last to the first, so that an inner call is rewritten before the call around it.
    for (let i = tokens.length - 1; i >= 0; i--) {
        const t = tokens[i];
        if (t.kind !== "word" || !(INCLUDED.includes(t.text) || t.text === "omitNil")) {
            continue;
        }
        const before = tokens
            .slice(0, i)
            .filter((x) => x.kind !== "space")
            .pop();
        if (before?.kind === "pipe") {
            throw new Error(`${t.text} as a pipeline stage is not emulated (action: ${body.trim()})`);
        }
        let end = i + 1;
        let depth = 0;
        for (; end < tokens.length; end++) {
            const k = tokens[end].kind;
            if (k === "open") depth++;
            if (k === "close") {
                if (depth === 0) break;
                depth--;
            }
            if (k === "pipe" && depth === 0) break;
        }
        // Trailing spaces stay outside the call.
        let argsEnd = end;
        while (argsEnd > i + 1 && tokens[argsEnd - 1].kind === "space") argsEnd--;
        const args = tokens.slice(i + 1, argsEnd);
        // Parentheses are tokens of their own, so that a call around this one still finds its end.
        const replacement: Token[] =
            t.text === "omitNil"
                ? [{ kind: "open", text: "(" }, ...args.filter((a, n) => !(n === 0 && a.kind === "space")), { kind: "close", text: ")" }]
                : [
                      { kind: "word", text: "include" },
                      { kind: "space", text: " " },
                      { kind: "string", text: `"istio.${t.text}"` },
                      { kind: "space", text: " " },
                      { kind: "open", text: "(" },
                      { kind: "word", text: "list" },
                      ...args,
                      { kind: "close", text: ")" },
                  ];
        tokens = [...tokens.slice(0, i), ...replacement, ...tokens.slice(argsEnd)];
    }
    let text = tokens.map((t) => t.text).join("");
    // Istio's indent(spaces, source) indents every line but the first; sprig's indents the first too.
    text = text.replace(/\|\s*indent\s+(\d+)(\s*)$/, (_m, n: string, end: string) => `| indent ${n} | trimPrefix "${" ".repeat(Number(n))}"${end}`);
    if (/\bindent\b/.test(text.replace(/\| indent \d+ \| trimPrefix "\s*"\s*$/, ""))) {
        throw new Error(`indent outside the end of a pipeline is not emulated (action: ${body.trim()})`);
    }
    return text;
}

/** An injection template's text with Istio's functions rewritten to Helm's (see the file comment). */
export function shimIstioTemplate(text: string): string {
    let out = "";
    let i = 0;
    while (i < text.length) {
        const open = text.indexOf("{{", i);
        if (open < 0) {
            out += text.slice(i);
            break;
        }
        out += text.slice(i, open);
        // The action ends at the first `}}` outside a string or comment.
        let j = open + 2;
        let inComment = false;
        for (;;) {
            if (j >= text.length) {
                throw new Error(`unterminated action at ${text.slice(open, open + 60)}`);
            }
            if (inComment) {
                if (text.startsWith("*/", j)) {
                    inComment = false;
                    j += 2;
                    continue;
                }
                j++;
                continue;
            }
            if (text.startsWith("/*", j)) {
                inComment = true;
                j += 2;
                continue;
            }
            const c = text[j];
            if (c === '"' || c === "'") {
                j++;
                while (text[j] !== c) j += text[j] === "\\" ? 2 : 1;
                j++;
                continue;
            }
            if (c === "`") {
                j = text.indexOf("`", j + 1) + 1;
                continue;
            }
            if (text.startsWith("}}", j)) {
                break;
            }
            j++;
        }
        let body = text.slice(open + 2, j);
        const leftTrim = body.startsWith("- ") || body.startsWith("-\n") ? "-" : "";
        const rightTrim = / -$|\n-$/.test(body) ? "-" : "";
        body = body.slice(leftTrim.length, body.length - rightTrim.length);
        out += `{{${leftTrim}${shimAction(body)}${rightTrim}}}`;
        i = j + 2;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Template data (inject.go SidecarTemplateData)

export type Json = any;

/** What the injector knows besides the pod: the injector ConfigMap's `config` and `values`, the mesh config, the mode. */
export interface InjectorSetup {
    /** The `config` key of the injector ConfigMap, parsed: defaultTemplates, templates. */
    config: { defaultTemplates: string[]; templates: Record<string, string>; aliases?: Record<string, string[]> };
    /** The `values` key of the injector ConfigMap, parsed. */
    values: Json;
    /** The `mesh` key of the `istio` ConfigMap, parsed. */
    mesh: Json;
    /** What the webhook computes from istiod's ENABLE_NATIVE_SIDECARS (webhook.go DetectNativeSidecar). */
    nativeSidecars: boolean;
}

/** A pod as the API server hands it to the webhook (JSON form). */
export interface Pod {
    metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Json;
}

function hasNull(value: unknown): boolean {
    if (value === null) return true;
    if (Array.isArray(value)) return value.some(hasNull);
    if (typeof value === "object") return Object.values(value as object).some(hasNull);
    return false;
}

/** The injector's data for a pod of a Deployment (the webhook reads the owner as the "deployment"). */
export function templateData(pod: Pod, setup: InjectorSetup, deployment: { name: string; namespace: string }): Json {
    if (hasNull(setup.values)) {
        throw new Error("the injector values contain a null: omitNil would change them and is emulated as the identity");
    }
    const global = setup.values.global;
    const defaultConfig = setup.mesh.defaultConfig ?? {};
    const goContainer = (c: Json) => ({ Name: c.name, Image: c.image ?? "", Ports: c.ports ?? [] });
    return {
        TypeMeta: { Kind: "Deployment", APIVersion: "apps/v1" },
        DeploymentMeta: { Name: deployment.name, Namespace: deployment.namespace },
        ObjectMeta: {
            Name: pod.metadata.name ?? "",
            Namespace: pod.metadata.namespace ?? deployment.namespace,
            Labels: pod.metadata.labels ?? {},
            Annotations: pod.metadata.annotations ?? {},
        },
        Spec: {
            Containers: (pod.spec.containers ?? []).map(goContainer),
            InitContainers: (pod.spec.initContainers ?? []).map(goContainer),
            ServiceAccountName: pod.spec.serviceAccountName ?? "",
        },
        // mesh.DefaultProxyConfig merged with the mesh config's defaultConfig: the fields the templates read.
        ProxyConfig: {
            InterceptionMode: defaultConfig.interceptionMode ?? "REDIRECT",
            HoldApplicationUntilProxyStarts: { GetValue: defaultConfig.holdApplicationUntilProxyStarts ?? false },
            ProxyMetadata: defaultConfig.proxyMetadata ?? {},
            DiscoveryAddress: defaultConfig.discoveryAddress ?? "",
        },
        MeshConfig: {
            TrustDomain: setup.mesh.trustDomain ?? "",
            ProxyListenPort: setup.mesh.proxyListenPort ?? 15001,
            ProxyInboundListenPort: setup.mesh.proxyInboundListenPort ?? 15006,
            ExtensionProviders: setup.mesh.extensionProviders ?? [],
        },
        Values: setup.values,
        Revision: setup.values.revision ?? "",
        NativeSidecars: setup.nativeSidecars,
        // inject.go ProxyImage: <hub>/<global.proxy.image>:<tag>.
        ProxyImage: `${global.hub}/${global.proxy?.image || "proxyv2"}:${global.tag}`,
        // inject.go GetProxyIDs: 1337 outside OpenShift.
        ProxyUID: 1337,
        ProxyGID: 1337,
        InboundTrafficPolicyMode: "passthrough",
        CompliancePolicy: "",
    };
}

/** inject.go selectTemplates: the pod's `inject.istio.io/templates` (split at commas, trimmed), else the defaults. */
export function selectTemplates(pod: Pod, setup: InjectorSetup): string[] {
    const annotation = pod.metadata.annotations?.["inject.istio.io/templates"];
    const names = annotation !== undefined ? annotation.split(",").map((n) => n.trim()) : setup.config.defaultTemplates;
    return names.flatMap((n) => setup.config.aliases?.[n] ?? [n]);
}

// ---------------------------------------------------------------------------------------------------------------
// Running the templates with Helm

export interface TemplateRun {
    /** A name for the run (used in messages). */
    id: string;
    template: string;
    data: Json;
}

/**
 * Executes injection templates with Helm: one throwaway chart holding each template's shimmed text as a file
 * (`templates/_inject_<n>.tpl`, executed with `include "<chart>/templates/<file>"`, the file's own template) and one
 * ConfigMap per run carrying the output. Returns each run's output text, by id.
 */
export async function runTemplates(helm: string, templates: Record<string, string>, runs: TemplateRun[]): Promise<Record<string, string>> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-inject-"));
    try {
        const chart = path.join(dir, "inject");
        fs.mkdirSync(path.join(chart, "templates"), { recursive: true });
        fs.writeFileSync(path.join(chart, "Chart.yaml"), "apiVersion: v2\nname: inject\nversion: 0.1.0\n");
        fs.writeFileSync(path.join(chart, "templates", "_istio_helpers.tpl"), ISTIO_HELPERS);
        const files = new Map<string, string>();
        // Only the templates the runs use (Istio's other templates use functions not emulated here).
        [...new Set(runs.map((r) => r.template))]
            .sort()
            .filter((name) => templates[name] !== undefined)
            .forEach((name, n) => {
                const file = `_inject_${n}.tpl`;
                files.set(name, file);
                fs.writeFileSync(path.join(chart, "templates", file), shimIstioTemplate(templates[name]));
            });
        const cases: Record<string, Json> = {};
        runs.forEach((run, n) => {
            const file = files.get(run.template);
            if (file === undefined) {
                throw new Error(`${run.id}: requested template "${run.template}" not found`);
            }
            cases[`c${n}`] = run.data;
            fs.writeFileSync(
                path.join(chart, "templates", `case-${n}.yaml`),
                `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: case-${n}\ndata:\n  out: {{ include "inject/templates/${file}" .Values.cases.c${n} | toJson }}\n`,
            );
        });
        const objects = parseRendered(await helmTemplateText({ helm, chartDir: chart, release: "inject", namespace: "default", values: { cases } }));
        const out: Record<string, string> = {};
        runs.forEach((run, n) => {
            const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === `case-${n}`);
            if (cm === undefined) {
                throw new Error(`${run.id}: no output`);
            }
            out[run.id] = cm.data?.out ?? "";
        });
        return out;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Strategic merge patch of a Pod (k8s.io/apimachinery strategicpatch with k8s.io/api core/v1's patch tags)

const CONTAINER_KEYS: Record<string, string> = { env: "name", ports: "containerPort", volumeMounts: "mountPath", volumeDevices: "devicePath" };

/** The merge key of a list at a path (`spec.containers`), or undefined for a list replaced as a whole. */
export function podMergeKey(at: string[]): string | undefined {
    const p = at.join(".");
    const spec: Record<string, string> = {
        "spec.containers": "name",
        "spec.initContainers": "name",
        "spec.ephemeralContainers": "name",
        "spec.volumes": "name",
        "spec.imagePullSecrets": "name",
        "spec.hostAliases": "ip",
        "spec.resourceClaims": "name",
        "spec.schedulingGates": "name",
        "metadata.ownerReferences": "uid",
    };
    if (spec[p] !== undefined) {
        return spec[p];
    }
    const m = /^spec\.(containers|initContainers|ephemeralContainers)\.\[\]\.(\w+)$/.exec(p);
    return m ? CONTAINER_KEYS[m[2]] : undefined;
}

function isMap(v: unknown): v is Record<string, Json> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Removes nulls (a null in a patch deletes; the Go round trip drops nil fields). */
function withoutNulls(v: Json): Json {
    if (Array.isArray(v)) return v.filter((x) => x !== null).map(withoutNulls);
    if (isMap(v))
        return Object.fromEntries(
            Object.entries(v)
                .filter(([, x]) => x !== null)
                .map(([k, x]) => [k, withoutNulls(x)]),
        );
    return v;
}

function mergeAt(original: Json, patch: Json, at: string[]): Json {
    if (isMap(patch)) {
        const result: Record<string, Json> = isMap(original) ? { ...original } : {};
        for (const [key, value] of Object.entries(patch)) {
            if (key.startsWith("$")) {
                throw new Error(`strategic merge directive ${key} at ${at.join(".")} is not emulated`);
            }
            if (value === null) {
                delete result[key];
            } else {
                result[key] = mergeAt(result[key], value, [...at, key]);
            }
        }
        return result;
    }
    if (Array.isArray(patch)) {
        const key = podMergeKey(at);
        if (key === undefined || !Array.isArray(original)) {
            return withoutNulls(patch);
        }
        const result = [...original];
        for (const item of patch) {
            const i = result.findIndex((o) => isMap(o) && isMap(item) && o[key] === item[key]);
            if (i >= 0) {
                result[i] = mergeAt(result[i], item, [...at, "[]"]);
            } else {
                result.push(mergeAt(undefined, item, [...at, "[]"]));
            }
        }
        return result;
    }
    return patch;
}

/** webhook.go applyOverlayYAML: the patch merged onto the pod, decoded as a Pod (fields other than a Pod's dropped). */
export function applyOverlay(pod: Json, patch: Json): Json {
    const merged = mergeAt(pod, patch ?? {}, []);
    const decoded: Json = {};
    for (const field of ["apiVersion", "kind", "metadata", "spec", "status"]) {
        if (merged[field] !== undefined) decoded[field] = merged[field];
    }
    return decoded;
}

// ---------------------------------------------------------------------------------------------------------------
// The webhook

const find = (list: Json[] | undefined, name: string) => (list ?? []).find((c) => c.name === name);

/** The result of injecting one pod, with each template's raw output. */
export interface Injection {
    pod: Pod;
    templates: string[];
    outputs: Record<string, string>;
}

/**
 * Injects a pod as istiod 1.30.3 does: inject.go RunTemplate (each selected template executed with the same data,
 * merged in turn onto the template pod and the pod, with the native-sidecar move of a user's `istio-proxy`), then
 * webhook.go reapplyOverwrittenContainers (a container the pod itself declares, such as the gateway chart's
 * `istio-proxy` with image "auto", applied again over the template's, image "auto" dropped) and reorderPod.
 * Skipped (they touch neither images, container lists nor volumes): adjustInitContainerUser (user ids of a user's own
 * istio-proxy), and postProcessPod's cluster info, probe rewrite, Prometheus merge and status annotation.
 */
export async function injectPods(
    helm: string,
    setup: InjectorSetup,
    pods: { id: string; pod: Pod; deployment: { name: string; namespace: string } }[],
): Promise<Record<string, Injection>> {
    const runs: TemplateRun[] = [];
    for (const p of pods) {
        const data = templateData(p.pod, setup, p.deployment);
        for (const name of selectTemplates(p.pod, setup)) {
            if (setup.config.templates[name] === undefined) {
                throw new Error(`${p.id}: requested template "${name}" not found`);
            }
            runs.push({ id: `${p.id}/${name}`, template: name, data });
        }
    }
    const outputs = await runTemplates(helm, setup.config.templates, runs);
    const result: Record<string, Injection> = {};
    for (const p of pods) {
        const templates = selectTemplates(p.pod, setup);
        const original: Json = JSON.parse(JSON.stringify(p.pod));
        let merged: Json = JSON.parse(JSON.stringify(p.pod));
        let templatePod: Json = {};
        const own: Record<string, string> = {};
        for (const name of templates) {
            const text = outputs[`${p.id}/${name}`];
            own[name] = text;
            const patch = parse(text, { version: "1.1" }) ?? {};
            templatePod = applyOverlay(templatePod, patch);
            // inject.go: "The sidecar.istio.io/nativeSidecar annotation takes precedence over the global feature flag."
            let native = setup.nativeSidecars;
            const override = merged.metadata?.annotations?.["sidecar.istio.io/nativeSidecar"];
            if (override === "true") native = true;
            else if (override === "false") native = false;
            if (native && find(templatePod.spec?.initContainers, PROXY) && find(merged.spec?.containers, PROXY)) {
                const proxy = find(merged.spec.containers, PROXY);
                merged.spec.containers = merged.spec.containers.filter((c: Json) => c.name !== PROXY);
                merged.spec.initContainers = [...(merged.spec.initContainers ?? []), proxy];
            }
            merged = applyOverlay(merged, patch);
        }
        // webhook.go reapplyOverwrittenContainers (a first injection: no status or overrides annotation yet).
        for (const c of templatePod.spec?.containers ?? []) {
            const match = find(original.spec.containers, c.name);
            if (match !== undefined) {
                const overlay = { ...match };
                if (overlay.image === "auto") delete overlay.image;
                merged = applyOverlay(merged, { spec: { containers: [overlay] } });
            }
        }
        for (const c of templatePod.spec?.initContainers ?? []) {
            // FindContainerFromPod: the pod's containers first, then its init containers.
            const match = find(original.spec.containers, c.name) ?? find(original.spec.initContainers, c.name);
            if (match !== undefined) {
                const overlay = { ...match };
                if (overlay.image === "auto") delete overlay.image;
                merged = applyOverlay(merged, { spec: { containers: [], initContainers: [overlay] } });
            }
        }
        result[p.id] = { pod: reorderPod(merged), templates, outputs: own };
    }
    return result;
}

function moveTo(list: Json[], name: string, first: boolean): Json[] {
    const match = find(list, name);
    if (match === undefined) return list;
    const rest = list.filter((c) => c.name !== name);
    return first ? [match, ...rest] : [...rest, match];
}

/** webhook.go reorderPod (holdApplicationUntilProxyStarts off): proxy last in containers, native proxy early in init. */
function reorderPod(pod: Json): Json {
    const spec = { ...pod.spec };
    spec.containers = moveTo(spec.containers ?? [], PROXY, false);
    let init: Json[] = spec.initContainers ?? [];
    if (find(init, PROXY)) {
        for (const name of ["enable-core-dump", PROXY, "istio-validation", "istio-init"]) init = moveTo(init, name, true);
    } else {
        init = moveTo(init, "istio-validation", true);
        init = moveTo(init, "istio-init", false);
        init = moveTo(init, "enable-core-dump", false);
    }
    spec.initContainers = init;
    if (spec.initContainers.length === 0) delete spec.initContainers;
    return { ...pod, spec };
}

// ---------------------------------------------------------------------------------------------------------------
// Checking the result as the API server and the kubelet would

/**
 * What makes the pod invalid (API server validation, k8s.io/kubernetes pkg/apis/core/validation) or never running:
 * a container without an image, a name used twice across containers and init containers, an init container with a
 * restartPolicy other than Always, a volume mount of a missing volume or a mount path used twice in one container,
 * a volume with more than one source; and the proxy: exactly one `istio-proxy`, and as an init container only as a
 * native sidecar (restartPolicy Always), else the pod waits forever for it to finish.
 */
export function podProblems(pod: Pod): string[] {
    const problems: string[] = [];
    const containers: Json[] = pod.spec.containers ?? [];
    const init: Json[] = pod.spec.initContainers ?? [];
    const volumes = new Map<string, Json>((pod.spec.volumes ?? []).map((v: Json) => [v.name, v]));
    if (containers.length === 0) problems.push("no containers");
    const seen = new Set<string>();
    for (const [list, c] of [...init.map((c) => ["initContainers", c] as const), ...containers.map((c) => ["containers", c] as const)]) {
        const where = `${list}[${c.name}]`;
        if (seen.has(c.name)) problems.push(`${where}: name ${c.name} used twice`);
        seen.add(c.name);
        if (typeof c.image !== "string" || c.image === "") problems.push(`${where}: no image`);
        if (list === "initContainers" && c.restartPolicy !== undefined && c.restartPolicy !== "Always")
            problems.push(`${where}: restartPolicy ${c.restartPolicy}`);
        if (list === "containers" && c.restartPolicy !== undefined) problems.push(`${where}: restartPolicy on a container`);
        const paths = new Set<string>();
        for (const m of c.volumeMounts ?? []) {
            if (!volumes.has(m.name)) problems.push(`${where}: mounts missing volume ${m.name}`);
            if (paths.has(m.mountPath)) problems.push(`${where}: mount path ${m.mountPath} used twice`);
            paths.add(m.mountPath);
        }
    }
    for (const [name, v] of volumes) {
        const sources = Object.keys(v).filter((k) => k !== "name");
        if (sources.length > 1) problems.push(`volume ${name}: ${sources.length} sources (${sources.sort().join(", ")})`);
    }
    const proxies = [...init, ...containers].filter((c) => c.name === PROXY).length;
    if (proxies !== 1) problems.push(`${proxies} ${PROXY} containers`);
    const initProxy = find(init, PROXY);
    if (initProxy !== undefined && initProxy.restartPolicy !== "Always")
        problems.push(`initContainers[${PROXY}] is not a native sidecar (restartPolicy Always): the pod never starts`);
    return problems;
}

/** Where the proxy is (`containers` or `initContainers`) in a pod. */
export function proxyList(pod: Pod): "containers" | "initContainers" | undefined {
    if (find(pod.spec.containers, PROXY)) return "containers";
    if (find(pod.spec.initContainers, PROXY)) return "initContainers";
    return undefined;
}

/** The proxy container, wherever it is. */
export function proxyOf(pod: Pod): Json {
    return find(pod.spec.containers, PROXY) ?? find(pod.spec.initContainers, PROXY);
}
