// The versions this program has been built and tested against: the pinned charts of each release it supports (their
// renders, CRDs and injector templates are what the tests judge it by). Anything else is refused before any resource
// (config istioChartVersion, istioRevisions, spireChartVersion, spireCrdsChartVersion): a chart the program has never
// seen may render objects, or an injector, that its SPIRE integration does not fit.

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
