// The SPIRE Grafana dashboard: server and agent health, then one federation row per peer trust domain, from the same
// series as the alerting rules (spireAlerts.ts). Built as data, deterministic (peers sorted, ids and positions in
// order), and provisioned like Istio's dashboards: a Grafana file provider whose dashboard the chart writes into a
// ConfigMap (grafana chart `dashboards.<provider>.<name>.json`).

import {
    SPIRE_AGENT_JOB,
    SPIRE_METRICS,
    SPIRE_SERVER_JOB,
    SpireMonitoringSettings,
    caRotationThresholdSeconds,
    datastoreErrorSelector,
    federationRefreshExpr,
    prometheusDuration,
    spireLabelValue,
} from "./spireAlerts";
import { parseGoDuration } from "../validation";

/** The Grafana file provider (and folder) of the SPIRE dashboard, and the dashboard's file name and uid. */
export const SPIRE_GRAFANA_PROVIDER = "spire";
export const SPIRE_GRAFANA_DASHBOARD = "spire-dashboard";
export const SPIRE_DASHBOARD_UID = "spire";

/** A Grafana dashboard panel (the subset of Grafana's model this dashboard uses). */
export interface GrafanaPanel extends GrafanaPanelContent {
    id: number;
}

interface GrafanaPanelContent {
    type: string;
    title: string;
    gridPos: { h: number; w: number; x: number; y: number };
    [key: string]: unknown;
}

/** The queries of the dashboard's panels, so the tests can evaluate them with promtool. */
export const SPIRE_DASHBOARD_QUERIES = {
    serversUp: `sum(up{job="${SPIRE_SERVER_JOB}"}) or vector(0)`,
    agentsUp: `sum(up{job="${SPIRE_AGENT_JOB}"}) or vector(0)`,
    agentsDown: `count(up{job="${SPIRE_AGENT_JOB}"} == 0) or vector(0)`,
    caTimeLeft: `min(${SPIRE_METRICS.caExpiration}{job="${SPIRE_SERVER_JOB}"}) - time()`,
    datastoreErrors: `sum by (pod) (rate(${datastoreErrorSelector()}[5m]))`,
    /** Attempts per outcome over 5 minutes, for one peer. */
    refreshes: (peer: string) =>
        `sum by (status) (increase(${SPIRE_METRICS.fetchFederatedBundle}{job="${SPIRE_SERVER_JOB}", trust_domain_id="${spireLabelValue(peer)}"}[5m]))`,
    /**
     * Seconds since a refresh of the peer's bundle last succeeded, over the last day (empty when none did): from the
     * latest minute at which the OK attempts grew over the two minutes before it, so up to two minutes short. (Two
     * minutes: windows of one minute, one per step, miss an increase whose samples straddle two windows.)
     */
    sinceLastRefresh: (peer: string) => `time() - max_over_time(timestamp(${federationRefreshExpr(peer, "ok", "2m")} > 0)[1d:1m])`,
    /** Times the peer's bundle changed (was fetched different from the stored one) over the last day. */
    bundleChanges: (peer: string) =>
        `sum(increase(${SPIRE_METRICS.updateFederatedBundle}{job="${SPIRE_SERVER_JOB}", trust_domain_id="${spireLabelValue(peer)}"}[1d])) or vector(0)`,
};

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The SPIRE dashboard (Grafana dashboard JSON model) for these settings. */
export function spireDashboard(settings: SpireMonitoringSettings): Record<string, unknown> {
    const peers = [...new Set(settings.peerTrustDomains)].sort();
    const hintSeconds = Number((parseGoDuration(settings.federationRefreshHint) as { ns: bigint }).ns / 1_000_000n) / 1000;
    const panels: GrafanaPanel[] = [];
    let y = 0;
    const add = (panel: GrafanaPanelContent) => panels.push({ id: panels.length + 1, ...panel });
    const row = (title: string) => {
        add({ type: "row", title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
        y += 1;
    };
    const target = (expr: string, legendFormat?: string) => ({ refId: "A", datasource: DATASOURCE, expr, ...(legendFormat ? { legendFormat } : {}) });
    /** Thresholds: green, then `color` from `from` on (red under `from` when `below`). */
    const thresholds = (steps: { color: string; value: number | null }[]) => ({ mode: "absolute", steps });
    const stat = (
        title: string,
        x: number,
        w: number,
        expr: string,
        unit: string,
        steps: { color: string; value: number | null }[],
        description: string,
        noValue = "none",
    ) =>
        add({
            type: "stat",
            title,
            description,
            datasource: DATASOURCE,
            gridPos: { h: 5, w, x, y },
            targets: [target(expr)],
            fieldConfig: { defaults: { unit, thresholds: thresholds(steps), noValue }, overrides: [] },
            options: { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "background", graphMode: "none" },
        });
    const timeseries = (title: string, x: number, w: number, expr: string, legendFormat: string, unit: string, description: string) =>
        add({
            type: "timeseries",
            title,
            description,
            datasource: DATASOURCE,
            gridPos: { h: 5, w, x, y },
            targets: [target(expr, legendFormat)],
            fieldConfig: { defaults: { unit }, overrides: [] },
            options: { legend: { displayMode: "list", placement: "bottom" } },
        });

    row("SPIRE server and agents");
    const caThreshold = caRotationThresholdSeconds(settings.caTTL);
    stat(
        "SPIRE servers up",
        0,
        4,
        SPIRE_DASHBOARD_QUERIES.serversUp,
        "none",
        [
            { color: "red", value: null },
            { color: "green", value: 1 },
        ],
        "SPIRE server pods Prometheus scrapes successfully.",
    );
    stat(
        "SPIRE agents up",
        4,
        4,
        SPIRE_DASHBOARD_QUERIES.agentsUp,
        "none",
        [
            { color: "red", value: null },
            { color: "green", value: 1 },
        ],
        "SPIRE agent pods (one per node) Prometheus scrapes successfully.",
    );
    stat(
        "SPIRE agents down",
        8,
        4,
        SPIRE_DASHBOARD_QUERIES.agentsDown,
        "none",
        [
            { color: "green", value: null },
            { color: "red", value: 1 },
        ],
        "SPIRE agent pods whose scrape fails.",
    );
    stat(
        "X.509 CA time left",
        12,
        4,
        SPIRE_DASHBOARD_QUERIES.caTimeLeft,
        "s",
        [
            { color: "red", value: null },
            { color: "green", value: caThreshold },
        ],
        `The shortest remaining lifetime of a server's active X.509 CA; red under ${prometheusDuration(caThreshold * 1000)}, which a healthy rotation never leaves.`,
    );
    timeseries(
        "Datastore errors",
        16,
        8,
        SPIRE_DASHBOARD_QUERIES.datastoreErrors,
        "{{pod}}",
        "reqps",
        "Datastore calls per second that failed on the datastore's side.",
    );
    y += 5;

    for (const peer of peers) {
        row(`Federation: ${peer}`);
        timeseries(
            `Bundle refreshes from ${peer}`,
            0,
            12,
            SPIRE_DASHBOARD_QUERIES.refreshes(peer),
            "{{status}}",
            "none",
            "Attempts to fetch the peer's bundle over 5 minutes, by outcome (OK, or the error's code).",
        );
        stat(
            `Since the last refresh of ${peer}`,
            12,
            6,
            SPIRE_DASHBOARD_QUERIES.sinceLastRefresh(peer),
            "s",
            [
                { color: "green", value: null },
                { color: "red", value: 3 * hintSeconds },
            ],
            `Time since a fetch of the peer's bundle last succeeded (to within two minutes, over the last day); red from 3 x the refresh hint, as the alert.`,
            "no success in a day",
        );
        stat(
            `Bundle changes from ${peer} (1 day)`,
            18,
            6,
            SPIRE_DASHBOARD_QUERIES.bundleChanges(peer),
            "none",
            [{ color: "blue", value: null }],
            "Times the fetched bundle differed from the stored one (the peer rotated or added keys).",
        );
        y += 5;
    }

    return {
        uid: SPIRE_DASHBOARD_UID,
        title: "SPIRE",
        tags: ["spire"],
        editable: false,
        schemaVersion: 41,
        time: { from: "now-6h", to: "now" },
        refresh: "1m",
        templating: {
            list: [
                {
                    name: "datasource",
                    label: "Data source",
                    type: "datasource",
                    query: "prometheus",
                    current: { text: "Prometheus", value: "Prometheus" },
                    hide: 0,
                },
            ],
        },
        panels,
    };
}
