// The versions this program has been built and tested against: the pinned charts of each release it supports (their
// renders, CRDs and injector templates are what the tests judge it by). Anything else is refused before any resource
// (config istioChartVersion, istioRevisions, spireChartVersion, spireCrdsChartVersion): a chart the program has never
// seen may render objects, or an injector, that its SPIRE integration does not fit.

import { ValidationError } from "./validation";

/** Istio releases (base, istiod and gateway charts, one version each), oldest first. */
export const SUPPORTED_ISTIO_VERSIONS: readonly string[] = ["1.29.6", "1.30.3"];

/** A supported spire chart and the spire-crds chart that goes with it (the spire chart's own dependency pin). */
export interface SpireChartPair {
    spire: string;
    spireCrds: string;
    /** The SPIRE release its server and agent images run. */
    spireVersion: string;
}

/** spire and spire-crds chart pairs, oldest first. The charts support upgrades one minor at a time, CRDs first. */
export const SUPPORTED_SPIRE_CHARTS: readonly SpireChartPair[] = [
    { spire: "0.29.0", spireCrds: "0.5.0", spireVersion: "1.14.5" },
    { spire: "0.30.0", spireCrds: "0.6.0", spireVersion: "1.15.2" },
];

/** Why an `istioChartVersion` is refused, or undefined when the table has it. */
export function istioVersionProblem(version: string): string | undefined {
    return SUPPORTED_ISTIO_VERSIONS.includes(version)
        ? undefined
        : `is not a supported Istio version; supported: ${SUPPORTED_ISTIO_VERSIONS.map((v) => JSON.stringify(v)).join(", ")} (docs/upgrades.md#supported-versions)`;
}

/** The supported pairs as the refusals list them: `spire "0.29.0" with spire-crds "0.5.0"`. */
function describePairs(): string {
    return SUPPORTED_SPIRE_CHARTS.map((p) => `spire ${JSON.stringify(p.spire)} with spire-crds ${JSON.stringify(p.spireCrds)}`).join(", ");
}

/**
 * Why a spire/spire-crds pair is refused (the key to name and the reason), or undefined when the table has it: an
 * unknown spire chart names spireChartVersion, a known one with another CRD chart names spireCrdsChartVersion.
 */
export function spireChartPairProblem(
    spire: string,
    spireCrds: string,
): { key: "spireChartVersion" | "spireCrdsChartVersion"; value: string; reason: string } | undefined {
    const pair = SUPPORTED_SPIRE_CHARTS.find((p) => p.spire === spire);
    if (pair === undefined) {
        return {
            key: "spireChartVersion",
            value: spire,
            reason: `is not a supported spire chart; supported: ${describePairs()} (docs/upgrades.md#supported-versions)`,
        };
    }
    if (pair.spireCrds !== spireCrds) {
        return {
            key: "spireCrdsChartVersion",
            value: spireCrds,
            reason: `does not go with spireChartVersion ${JSON.stringify(spire)}, whose CRDs are spire-crds ${JSON.stringify(pair.spireCrds)}; supported: ${describePairs()} (docs/upgrades.md#supported-versions)`,
        };
    }
    return undefined;
}

/** The stack output that records the chart versions a deployment ran, read back by the next deployment. */
export const VERSIONS_OUTPUT = "versions";

/** The `versions` stack output: the spire charts, and the Istio version of each control plane ("default": istioChartVersion). */
export interface DeployedVersions {
    spireChart: string;
    spireCrdsChart: string;
    istio: Record<string, string>;
}

/**
 * What the `versions` output records of a configuration: the spire charts, and Istio's version per control plane, the
 * single one as `default`, or each of `istioRevisions` by its name.
 */
export function deployedVersions(config: {
    spireChartVersion: string;
    spireCrdsChartVersion: string;
    istioChartVersion: string;
    istioRevisions?: readonly { name: string; version: string }[];
}): DeployedVersions {
    const revisions = config.istioRevisions ?? [];
    return {
        spireChart: config.spireChartVersion,
        spireCrdsChart: config.spireCrdsChartVersion,
        istio: revisions.length > 0 ? Object.fromEntries(revisions.map((r) => [r.name, r.version])) : { default: config.istioChartVersion },
    };
}

const EXACT = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * Why moving the spire chart from the version the last deployment recorded (its `versions` output) to `spireChart`
 * is refused, or undefined. The spire charts support upgrades one minor at a time, each with its own spire-crds
 * release upgraded first (spiffe/helm-charts-hardened, charts/spire/README.md "Upgrade notes"): a change may stay
 * within a minor (a patch) or go to the next minor, never skip one or go down. A stack deployed before the `versions`
 * output existed (or never deployed) recorded no chart version, and nothing else it exported tells which one it
 * ran (any was accepted then): no check.
 */
export function spireChartUpgradeProblem(previousVersions: unknown, spireChart: string): string | undefined {
    const recorded = typeof previousVersions === "object" && previousVersions !== null ? (previousVersions as Record<string, unknown>).spireChart : undefined;
    const before = typeof recorded === "string" ? EXACT.exec(recorded) : null;
    const now = EXACT.exec(spireChart);
    if (before === null || now === null) {
        return undefined;
    }
    const [oldMajor, oldMinor, oldPatch] = before.slice(1).map(Number);
    const [major, minor, patch] = now.slice(1).map(Number);
    const ran = `this stack runs spire ${JSON.stringify(recorded)} (its last deployment's \`versions\` output)`;
    const path = "the spire charts are upgraded one minor at a time, spire-crds first (docs/upgrades.md#spire-chart-upgrades)";
    const down = major < oldMajor || (major === oldMajor && (minor < oldMinor || (minor === oldMinor && patch < oldPatch)));
    if (down) {
        return `spireChartVersion: ${JSON.stringify(spireChart)} goes down: ${ran}; ${path}, never down`;
    }
    if (major !== oldMajor || minor > oldMinor + 1) {
        const next = SUPPORTED_SPIRE_CHARTS.find((p) => {
            const m = EXACT.exec(p.spire);
            return m !== null && Number(m[1]) === oldMajor && Number(m[2]) === oldMinor + 1;
        });
        const step = next ? `: deploy spire ${JSON.stringify(next.spire)} with spire-crds ${JSON.stringify(next.spireCrds)} first` : "";
        return `spireChartVersion: ${JSON.stringify(spireChart)} skips a chart minor: ${ran}; ${path}${step}`;
    }
    return undefined;
}

/** The check the program runs before it declares anything: refuses (ValidationError) a spire chart change off the supported path. */
export function checkSpireChartUpgrade(previousVersions: unknown, spireChart: string): void {
    const problem = spireChartUpgradeProblem(previousVersions, spireChart);
    if (problem !== undefined) {
        throw new ValidationError(`Refused SPIRE chart upgrade: ${problem}`);
    }
}
