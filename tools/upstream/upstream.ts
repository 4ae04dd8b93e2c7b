// Typed loaders for the pinned upstream artifacts (see tools/upstream/artifacts.ts for where they are found: an explicit
// directory, ../shared/upstream, or the cache `npm run fetch-upstream` fills): the spire-controller-manager CRDs,
// the spire and Istio chart defaults and value schemas, read from the whole chart sources, and Istio's SPIRE test
// data. The files are read in place, never copied into the project. Callers inside tests call requireUpstream first.

import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { ISTIO_VERSION } from "../../components/mesh/istioOperator";
import { SPIRE_CHART_VERSION, SPIRE_CRDS_CHART_VERSION } from "../../components/mesh/spire";
import { deepMerge } from "../../components/values";
import { ISTIO_TESTDATA, chartDirName, upstreamDir } from "./artifacts";

/** The directory of a pinned chart's sources. */
export function chartDir(chart: string, version: string): string {
    return path.join(upstreamDir(), "charts", chartDirName({ chart, version }));
}

/** A parsed YAML or JSON mapping. */
export type JsonObject = { [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readYaml(file: string): unknown {
    return parse(fs.readFileSync(file, "utf8"));
}

function readJson(file: string): unknown {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

function expectObject(value: unknown, what: string): JsonObject {
    if (!isObject(value)) {
        throw new Error(`${what} is not a mapping`);
    }
    return value;
}

// ---------------------------------------------------------------------------------------------------------------
// spire-crds 0.6.0

export type SpireKind = "ClusterSPIFFEID" | "ClusterFederatedTrustDomain" | "ClusterStaticEntry";

const CRD_FILES: Record<SpireKind, string> = {
    ClusterSPIFFEID: "spire.spiffe.io_clusterspiffeids.yaml",
    ClusterFederatedTrustDomain: "spire.spiffe.io_clusterfederatedtrustdomains.yaml",
    ClusterStaticEntry: "spire.spiffe.io_clusterstaticentries.yaml",
};

/** The `v1alpha1` openAPIV3Schema of a spire-controller-manager CRD (a fresh copy on every call). */
export function crdSchema(kind: SpireKind): JsonObject {
    const file = path.join(chartDir("spire-crds", SPIRE_CRDS_CHART_VERSION), "templates", CRD_FILES[kind]);
    // The chart's only template action is an annotations line; without it the file is the plain CRD.
    const text = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => !line.includes("{{"))
        .join("\n");
    for (const doc of parseAllDocuments(text)) {
        const crd: unknown = doc.toJS();
        if (!isObject(crd) || crd.kind !== "CustomResourceDefinition" || !isObject(crd.spec)) {
            continue;
        }
        const names = crd.spec.names;
        if (!isObject(names) || names.kind !== kind || !Array.isArray(crd.spec.versions)) {
            continue;
        }
        for (const version of crd.spec.versions as unknown[]) {
            if (isObject(version) && version.name === "v1alpha1" && isObject(version.schema)) {
                return expectObject(version.schema.openAPIV3Schema, `${file}: v1alpha1 openAPIV3Schema`);
            }
        }
    }
    throw new Error(`${file}: no v1alpha1 version of ${kind}`);
}

// ---------------------------------------------------------------------------------------------------------------
// spire chart 0.30.0

/** The spire umbrella chart's defaults and those of each subchart under charts/, by subchart name. */
export interface SpireChartDefaults {
    /** The umbrella chart's values.yaml. */
    umbrella: JsonObject;
    /** Each subchart's values.yaml (`spire-server`, `spire-agent`, `spiffe-csi-driver`, ...). */
    subcharts: Record<string, JsonObject>;
    /**
     * The tree a value set on the umbrella chart is resolved against: the umbrella's values, with each subchart's
     * values merged under its name (so `spire-server.enabled`, an umbrella key, and `spire-server.caTTL`, a
     * subchart key, both exist).
     */
    merged: JsonObject;
}

export function spireChartDefaults(): SpireChartDefaults {
    const spireDir = chartDir("spire", SPIRE_CHART_VERSION);
    const umbrella = expectObject(readYaml(path.join(spireDir, "values.yaml")), "spire values.yaml");
    const subcharts: Record<string, JsonObject> = {};
    const chartsDir = path.join(spireDir, "charts");
    for (const name of fs.readdirSync(chartsDir).sort()) {
        const file = path.join(chartsDir, name, "values.yaml");
        if (fs.existsSync(file)) {
            subcharts[name] = expectObject(readYaml(file), `${name} values.yaml`);
        }
    }
    let merged: JsonObject = { ...umbrella };
    for (const [name, values] of Object.entries(subcharts)) {
        const atName = merged[name];
        merged = { ...merged, [name]: deepMerge(isObject(atName) ? atName : {}, values) };
    }
    return { umbrella, subcharts, merged };
}

// ---------------------------------------------------------------------------------------------------------------
// Istio charts 1.30.3

export type IstioChart = "base" | "istiod" | "gateway";

/** An Istio chart's defaults, unwrapped from `_internal_defaults_do_not_set` (users set the same keys at top level). */
export function istioChartDefaults(chart: IstioChart): JsonObject {
    const file = path.join(chartDir(chart, ISTIO_VERSION), "values.yaml");
    const values = expectObject(readYaml(file), file);
    return expectObject(values._internal_defaults_do_not_set, `${file}: _internal_defaults_do_not_set`);
}

// ---------------------------------------------------------------------------------------------------------------
// values.schema.json files

/** Reads a chart's values.schema.json as it is (both declare `"$schema": "http://json-schema.org/schema#"`). */
function valuesSchema(file: string): JsonObject {
    return expectObject(readJson(file), file);
}

/** istio gateway chart's values.schema.json. */
export function gatewayValuesSchema(): JsonObject {
    return valuesSchema(path.join(chartDir("gateway", ISTIO_VERSION), "values.schema.json"));
}

/** spire chart's charts/spire-agent/values.schema.json. */
export function spireAgentValuesSchema(): JsonObject {
    return valuesSchema(path.join(chartDir("spire", SPIRE_CHART_VERSION), "charts", "spire-agent", "values.schema.json"));
}

// ---------------------------------------------------------------------------------------------------------------
// Istio's SPIRE test data (istioctl configdump testdata/secret/spire)

/** The Envoy config dump of a SPIRE-federated proxy (trust domain east.local, federated with west.local). */
export function spireConfigDump(): JsonObject {
    return expectObject(readJson(path.join(upstreamDir(), ISTIO_TESTDATA.dir, "spire-config_dump.json")), "spire-config_dump.json");
}

/** What `istioctl proxy-config secret` prints for that proxy. */
export function spireProxyConfigSecretText(): string {
    return fs.readFileSync(path.join(upstreamDir(), ISTIO_TESTDATA.dir, "spire-proxy-config-secret.txt"), "utf8");
}

// ---------------------------------------------------------------------------------------------------------------
// Value paths

/** Every leaf path of a values tree, dotted; arrays, scalars and empty mappings are leaves. */
export function leafPathsOf(values: JsonObject, prefix = ""): string[] {
    const paths: string[] = [];
    for (const [key, value] of Object.entries(values)) {
        const at = prefix === "" ? key : `${prefix}.${key}`;
        if (isObject(value) && Object.keys(value).length > 0) {
            paths.push(...leafPathsOf(value, at));
        } else {
            paths.push(at);
        }
    }
    return paths;
}

/**
 * The leaf paths of `values` (dotted, e.g. `spire-server.caTTL`) that do not exist in `defaults`.
 *
 * A path exists if every key along it exists in the defaults tree. Descent stops, and everything below counts as
 * existing, where the defaults value is not a mapping (a scalar, null or list: the chart takes whatever is set
 * there), where it is an empty mapping `{}` (a map the chart declares for the user to fill), or where the path is
 * one of `openMaps` (a map with keys of the user's choosing that the defaults happen to pre-fill, or a block the
 * values.yaml documents elsewhere; callers say why for each). When a key is missing, every leaf path below it is
 * reported.
 */
export function valuePathProblems(values: JsonObject, defaults: JsonObject, openMaps: string[]): string[] {
    const problems: string[] = [];
    const walk = (node: JsonObject, defaultsNode: JsonObject, prefix: string) => {
        for (const [key, value] of Object.entries(node)) {
            const at = prefix === "" ? key : `${prefix}.${key}`;
            if (openMaps.includes(at)) {
                continue;
            }
            if (!Object.prototype.hasOwnProperty.call(defaultsNode, key)) {
                problems.push(...(isObject(value) && Object.keys(value).length > 0 ? leafPathsOf(value, at) : [at]));
                continue;
            }
            const fallback = defaultsNode[key];
            if (!isObject(fallback) || Object.keys(fallback).length === 0) {
                continue;
            }
            if (isObject(value)) {
                walk(value, fallback, at);
            }
        }
    };
    walk(values, defaults, "");
    return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Schema helpers

/**
 * Emulates Kubernetes structural-schema pruning as validation errors: an unknown field the API server would
 * silently drop (a misspelled `federatesWIth`) becomes an `additionalProperties` error. Every object schema with
 * `properties` and neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` gets
 * `additionalProperties: false`. Returns a modified deep copy.
 */
export function pruningAsErrors(schema: JsonObject): JsonObject {
    const copy = JSON.parse(JSON.stringify(schema)) as JsonObject;
    const visit = (node: unknown): void => {
        if (Array.isArray(node)) {
            node.forEach(visit);
            return;
        }
        if (!isObject(node)) {
            return;
        }
        if (isObject(node.properties)) {
            Object.values(node.properties).forEach(visit);
            if (!("additionalProperties" in node) && !("x-kubernetes-preserve-unknown-fields" in node)) {
                node.additionalProperties = false;
            }
        }
        for (const key of ["items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"]) {
            if (key in node) {
                visit(node[key]);
            }
        }
    };
    visit(copy);
    return copy;
}

export function compile(schema: JsonObject): ValidateFunction {
    return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

/** Validator of a SPIRE custom resource's `spec`, against its CRD's `properties.spec`, pruning emulated. */
export function crdSpecValidator(kind: SpireKind): ValidateFunction {
    const schema = pruningAsErrors(crdSchema(kind));
    const properties = schema.properties;
    if (!isObject(properties) || !isObject(properties.spec)) {
        throw new Error(`${kind} CRD has no spec schema`);
    }
    return compile(properties.spec);
}

/** Ajv's errors, one line each: `<instance path>: <keyword> <params> <message>`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
    return (errors ?? []).map((e) => `${e.instancePath || "/"}: ${e.keyword} ${JSON.stringify(e.params)} ${e.message ?? ""}`);
}

/** Validates and returns the error lines ([] when valid). */
export function validationProblems(validate: ValidateFunction, data: unknown): string[] {
    return validate(data) ? [] : describeErrors(validate.errors);
}
