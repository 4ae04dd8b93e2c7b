// The pinned upstream artifacts the conformance tests judge the program against, and where they are found.
//
// An upstream directory holds `charts/<chart>-<version>/` (whole chart sources, as `helm template` takes them) and
// `istio-<version>/testdata/` (Istio's SPIRE Envoy config dump). It is looked for, in order:
//   1. $ISTIO_SPIRE_UPSTREAM, an explicit directory;
//   2. ../shared/upstream beside the project (where this repository's CI has it);
//   3. the local cache ($ISTIO_SPIRE_CACHE, else $XDG_CACHE_HOME/istio-spire, else ~/.cache/istio-spire) that
//      `npm run fetch-upstream` fills from the official sources.
// Nothing is ever copied into the project. When no directory has every artifact, the tests that need them are
// reported pending with the reason (`requireUpstream`), except in CI (CI=true), where a missing artifact fails.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    GRAFANA_CHART_REPOSITORY,
    GRAFANA_CHART_VERSION,
    KIALI_CHART_REPOSITORY,
    KIALI_CHART_VERSION,
    PROMETHEUS_CHART_REPOSITORY,
    PROMETHEUS_CHART_VERSION,
} from "../../components/addons/observability";
import { ISTIO_CHART_REPOSITORY, ISTIO_VERSION } from "../../components/mesh/istioOperator";
import { SPIRE_CHART_REPOSITORY, SPIRE_CHART_VERSION, SPIRE_CRDS_CHART_VERSION } from "../../components/mesh/spire";

/** Environment variable naming an explicit upstream directory. */
export const UPSTREAM_ENV = "ISTIO_SPIRE_UPSTREAM";
/** Environment variable naming the cache directory. */
export const CACHE_ENV = "ISTIO_SPIRE_CACHE";
/** The command that fills the cache. */
export const FETCH_COMMAND = "npm run fetch-upstream";

/** A chart the program installs, pinned: the versions are the program's own defaults (components/), never repeated here. */
export interface ChartPin {
    chart: string;
    version: string;
    /** The official Helm repository it is pulled from. */
    repository: string;
}

export const CHART_PINS: readonly ChartPin[] = [
    { chart: "spire-crds", version: SPIRE_CRDS_CHART_VERSION, repository: SPIRE_CHART_REPOSITORY },
    { chart: "spire", version: SPIRE_CHART_VERSION, repository: SPIRE_CHART_REPOSITORY },
    { chart: "base", version: ISTIO_VERSION, repository: ISTIO_CHART_REPOSITORY },
    { chart: "istiod", version: ISTIO_VERSION, repository: ISTIO_CHART_REPOSITORY },
    { chart: "gateway", version: ISTIO_VERSION, repository: ISTIO_CHART_REPOSITORY },
    { chart: "prometheus", version: PROMETHEUS_CHART_VERSION, repository: PROMETHEUS_CHART_REPOSITORY },
    { chart: "kiali-server", version: KIALI_CHART_VERSION, repository: KIALI_CHART_REPOSITORY },
    { chart: "grafana", version: GRAFANA_CHART_VERSION, repository: GRAFANA_CHART_REPOSITORY },
];

/** A pinned chart's directory name inside `charts/`. */
export function chartDirName(pin: Pick<ChartPin, "chart" | "version">): string {
    return `${pin.chart}-${pin.version}`;
}

/**
 * Istio's SPIRE test data: a real Envoy config dump of a SPIRE-federated proxy (istio/istio at the pinned tag,
 * istioctl/pkg/writer/envoy/configdump/testdata/secret/spire/), stored under the names the tests read.
 */
export const ISTIO_TESTDATA = {
    tag: ISTIO_VERSION,
    dir: path.join(`istio-${ISTIO_VERSION}`, "testdata"),
    files: [
        { name: "spire-config_dump.json", source: "istioctl/pkg/writer/envoy/configdump/testdata/secret/spire/config_dump.json" },
        { name: "spire-proxy-config-secret.txt", source: "istioctl/pkg/writer/envoy/configdump/testdata/secret/spire/output" },
    ],
} as const;

/** The cache directory (`npm run fetch-upstream` fills it). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env[CACHE_ENV]) {
        return path.resolve(env[CACHE_ENV]!);
    }
    const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), ".cache");
    return path.join(base, "istio-spire");
}

/** A place an upstream directory may be, with what it is called in messages. */
export interface UpstreamCandidate {
    dir: string;
    origin: string;
}

/** The places looked in, in order. */
export function upstreamCandidates(env: NodeJS.ProcessEnv = process.env, projectDir = path.resolve(__dirname, "..", "..")): UpstreamCandidate[] {
    const candidates: UpstreamCandidate[] = [];
    if (env[UPSTREAM_ENV]) {
        candidates.push({ dir: path.resolve(env[UPSTREAM_ENV]!), origin: `$${UPSTREAM_ENV}` });
    }
    candidates.push({ dir: path.resolve(projectDir, "..", "shared", "upstream"), origin: "../shared/upstream" });
    candidates.push({ dir: path.join(cacheDir(env), "upstream"), origin: "the cache" });
    return candidates;
}

/** The artifacts an upstream directory lacks, as paths relative to it ([] when it has them all). */
export function missingArtifacts(dir: string): string[] {
    const wanted = [
        ...CHART_PINS.map((pin) => path.join("charts", chartDirName(pin), "Chart.yaml")),
        ...ISTIO_TESTDATA.files.map((f) => path.join(ISTIO_TESTDATA.dir, f.name)),
    ];
    return wanted.filter((file) => !fs.existsSync(path.join(dir, file)));
}

/** Where the upstream artifacts were found, or why they were not. */
export type UpstreamResolution = { found: true; dir: string; origin: string } | { found: false; reason: string };

export function resolveUpstream(env: NodeJS.ProcessEnv = process.env, projectDir?: string): UpstreamResolution {
    const tried: string[] = [];
    for (const candidate of upstreamCandidates(env, projectDir)) {
        if (!fs.existsSync(candidate.dir)) {
            tried.push(`${candidate.origin} (${candidate.dir}) does not exist`);
            continue;
        }
        const missing = missingArtifacts(candidate.dir);
        if (missing.length === 0) {
            return { found: true, dir: candidate.dir, origin: candidate.origin };
        }
        tried.push(`${candidate.origin} (${candidate.dir}) lacks ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""}`);
    }
    return { found: false, reason: tried.join("; ") };
}

let resolved: UpstreamResolution | undefined;

/** The resolution for this process (resolved once). */
export function upstream(): UpstreamResolution {
    resolved ??= resolveUpstream();
    return resolved;
}

/** The upstream directory; throws with the reason when there is none (callers inside tests use requireUpstream first). */
export function upstreamDir(): string {
    const r = upstream();
    if (!r.found) {
        throw new Error(`The pinned upstream artifacts were not found: ${r.reason}. Run \`${FETCH_COMMAND}\` or set $${UPSTREAM_ENV}.`);
    }
    return r.dir;
}

/** Whether a missing artifact must fail the run instead of leaving tests pending (CI=true: GitHub Actions sets it, and this repository's CI runs .ci/run with it). */
export function strictArtifacts(env: NodeJS.ProcessEnv = process.env): boolean {
    return env.CI === "true" || env.CI === "1";
}

/** The reasons tests were left pending in this run, each once; the reporter prints them after the summary. */
export const pendingReasons = new Set<string>();

/**
 * The file, when set, each pending reason is also appended to: mocha runs test files in worker processes
 * (`parallel` in .mocharc.json), and the reporter, in the main process, reads the reasons back from it.
 */
export const PENDING_REASONS_FILE_ENV = "ISTIO_SPIRE_PENDING_REASONS_FILE";

/**
 * For a mocha `before` hook (or a test): continues when `available` is true; otherwise marks the suite (or test)
 * pending and records one line saying why and how to get what is missing; in CI it fails instead.
 */
export function requireArtifact(ctx: Mocha.Context, available: boolean, reason: () => string): void {
    if (available) {
        return;
    }
    const line = reason();
    if (strictArtifacts()) {
        throw new Error(`${line} (CI=true: a missing artifact is a failure, never a silent loss of coverage)`);
    }
    pendingReasons.add(line);
    const file = process.env[PENDING_REASONS_FILE_ENV];
    if (file) {
        fs.appendFileSync(file, `${line}\n`);
    }
    ctx.skip();
}

/** requireArtifact for the upstream directory. */
export function requireUpstream(ctx: Mocha.Context): void {
    const r = upstream();
    requireArtifact(
        ctx,
        r.found,
        () =>
            `pending: the pinned upstream charts and Istio test data were not found (${r.found ? "" : r.reason}); run \`${FETCH_COMMAND}\` or set $${UPSTREAM_ENV}`,
    );
}

/** Where a chart's sources were found, or why they were not. */
export type ChartResolution = { found: true; dir: string; origin: string } | { found: false; reason: string };

/**
 * The sources of one chart at one version, from the first upstream place that has them (a stack may pin a version
 * other than the program's default, so this does not need every artifact, only this chart).
 */
export function findChart(chart: string, version: string, env: NodeJS.ProcessEnv = process.env, projectDir?: string): ChartResolution {
    const name = chartDirName({ chart, version });
    for (const candidate of upstreamCandidates(env, projectDir)) {
        const dir = path.join(candidate.dir, "charts", name);
        if (fs.existsSync(path.join(dir, "Chart.yaml"))) {
            return { found: true, dir, origin: candidate.origin };
        }
    }
    // What fetches it is the caller's to say (tools/render/releaseObjects.ts chartFix): FETCH_COMMAND only fetches CHART_PINS.
    return {
        found: false,
        reason: `chart ${name} is not in ${upstreamCandidates(env, projectDir)
            .map((c) => c.origin)
            .join(", ")}`,
    };
}
