// SPIRE's own telemetry in the bundled Prometheus: the scrape jobs for the SPIRE server and agent pods, and the
// alerting rules on their metrics (CA rotation, federation refresh, server and agent down, datastore errors).
//
// How SPIRE 1.15 names its Prometheus series (spiffe/spire v1.15.2):
// - each metric is a key of parts (pkg/common/telemetry/names.go constants), and SPIRE's go-metrics wrapper prefixes it
//   with the service name, `spire_server` or `spire_agent` (pkg/common/telemetry/metrics.go: `metrics.DefaultConfig(
//   c.ServiceName)`; pkg/server/server.go and pkg/agent/agent.go set `telemetry.SpireServer` / `telemetry.SpireAgent`);
// - the go-metrics Prometheus sink (hashicorp/go-metrics v0.6.0 prometheus/prometheus.go `flattenKey`) joins the parts
//   with `_` and creates counters under exactly that name: SPIRE's exporter serves the classic text format
//   (client_golang promhttp without OpenMetrics, pkg/common/telemetry/prometheus.go), so no `_total` is appended;
//   SPIRE creates the sink with no expiration (`PrometheusOpts{}`), so a series stays until the process restarts;
// - labels: every call counter gets `status`, the gRPC code name of its error ("OK" on success: pkg/common/telemetry/
//   call.go `Done`), and every series gets `host` (the pod's host name: go-metrics `EnableHostnameLabel`, on by
//   default in metrics.go); label values are sanitized, every run of non-word characters becoming one `_`
//   (pkg/common/telemetry/sanitize.go), so a trust domain `cluster2.demo` is the label value `cluster2_demo`.

import { parseGoDuration } from "../validation";

/** What the SPIRE scrape jobs, alerts and dashboard are built from (the stack's config and its ready peers). */
export interface SpireMonitoringSettings {
    /** The SPIRE namespace (config `spireNamespace`): where the server and agent pods run. */
    spireNamespace: string;
    /** The SPIRE server CA TTL (config `caTTL`), a Go duration. */
    caTTL: string;
    /** The federation refresh hint (config `federationRefreshHint`), a Go duration; peers are assumed to use the same. */
    federationRefreshHint: string;
    /** Trust domains of the peers this stack federates with (ready peers). */
    peerTrustDomains: readonly string[];
}

/** Prometheus job names of the SPIRE scrape jobs (the `job` label of their series and of `up`). */
export const SPIRE_SERVER_JOB = "spire-server";
export const SPIRE_AGENT_JOB = "spire-agent";

/** The container port the spire chart gives SPIRE's Prometheus telemetry, server and agent alike (port 9988). */
export const SPIRE_TELEMETRY_PORT_NAME = "prom";
export const SPIRE_TELEMETRY_PORT = 9988;

/**
 * The spire chart's server and agent pods (their StatefulSet's / DaemonSet's `spec.selector.matchLabels`, with release
 * `spire`) and the container serving the telemetry port. test/spireAlerts.test.ts checks them against the render.
 */
export const SPIRE_SERVER_SCRAPE_TARGET = {
    labels: { "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": "spire", "app.kubernetes.io/component": "server" },
    container: "spire-server",
} as const;
export const SPIRE_AGENT_SCRAPE_TARGET = {
    labels: { "app.kubernetes.io/name": "agent", "app.kubernetes.io/instance": "spire", "app.kubernetes.io/component": "default" },
    container: "spire-agent",
} as const;

/** SPIRE's series names (see the file comment for how they are formed), each with where SPIRE defines it. */
export const SPIRE_METRICS = {
    /**
     * Gauge: the active X.509 CA's NotAfter, Unix seconds; label `trust_domain_id` (this server's trust domain). Set
     * when a CA is activated: pkg/common/telemetry/server/ca_manager.go `SetX509CARotateGauge` (key manager, x509_ca,
     * rotate, expiration; added by spiffe/spire PR 6303), called by pkg/server/ca/manager/manager.go `activateX509CA`.
     */
    caExpiration: "spire_server_manager_x509_ca_rotate_expiration",
    /**
     * Call counter: one per attempt to fetch a peer's bundle from its bundle endpoint, labels `trust_domain_id` (the
     * peer) and `status` ("OK" or the error's code, "Unknown" for a network or TLS failure): pkg/common/telemetry/
     * server/bundle_manager.go `StartBundleManagerFetchFederatedBundleCall` (bundle_manager, fetch, federated_bundle),
     * in pkg/server/bundle/client/manager.go `runUpdateOnce`.
     */
    fetchFederatedBundle: "spire_server_bundle_manager_fetch_federated_bundle",
    /**
     * Counter: a fetched peer bundle differed from the stored one and was stored, label `trust_domain_id`:
     * pkg/common/telemetry/server/bundle_manager.go `IncrBundleManagerUpdateFederatedBundleCounter`, in
     * pkg/server/bundle/client/manager.go `runUpdateOnce` (an unchanged bundle fetches OK and does not count here:
     * pkg/server/bundle/client/updater.go `UpdateBundle`).
     */
    updateFederatedBundle: "spire_server_bundle_manager_update_federated_bundle",
    /**
     * Call counters of every datastore operation, `spire_server_datastore_<object>_<operation>` (e.g.
     * `spire_server_datastore_bundle_fetch`), label `status`: pkg/common/telemetry/server/datastore/*.go (`Start...Call`
     * with key datastore, ...), wrapped around the datastore by pkg/server/catalog/catalog.go (`ds_telemetry.
     * WithMetrics`). Each also has an `<name>_elapsed_time` summary (call.go), which the selector leaves out.
     */
    datastoreCalls: "spire_server_datastore_.+",
    datastoreCallTimings: ".+_elapsed_time(_sum|_count)?",
} as const;

/**
 * Datastore call statuses that are the caller's business, not a datastore failure: the SQL datastore answers
 * NotFound, AlreadyExists and InvalidArgument for a missing record, a constraint violation and a validation error
 * (pkg/server/datastore/sqlstore/sqlstore.go `gormToGRPCStatus`), FailedPrecondition for a bundle still referenced
 * (`deleteBundle`). Anything else (Unknown for a database that fails or is unreachable, Internal, ...) is an error.
 */
export const DATASTORE_CALLER_STATUSES = ["OK", "NotFound", "AlreadyExists", "InvalidArgument", "FailedPrecondition"] as const;

/** A label value as SPIRE exports it: every run of non-word characters (and a `_` after it) becomes `_` (sanitize.go). */
export function spireLabelValue(value: string): string {
    // Go's RE2 `\W` and JavaScript's are both [^0-9A-Za-z_].
    return value.replace(/\W+_?/g, "_");
}

/** A Go duration in whole milliseconds (the config is validated before; a bad one throws). */
function durationMs(text: string): number {
    const parsed = parseGoDuration(text);
    if (!("ns" in parsed) || parsed.ns <= 0n) {
        throw new Error(`not a positive Go duration: ${JSON.stringify(text)}`);
    }
    return Number(parsed.ns / 1_000_000n);
}

/** A duration in milliseconds as Prometheus writes one (`1h30m`, `15m`, `90s` is `1m30s`). */
export function prometheusDuration(ms: number): string {
    const units: [string, number][] = [
        ["h", 3_600_000],
        ["m", 60_000],
        ["s", 1_000],
        ["ms", 1],
    ];
    let rest = Math.round(ms);
    let text = "";
    for (const [unit, size] of units) {
        if (rest >= size) {
            text += `${Math.floor(rest / size)}${unit}`;
            rest %= size;
        }
    }
    return text || "0s";
}

// SPIRE's X.509 CA rotation (spiffe/spire v1.15.2 pkg/server/ca/manager/slot.go and manager.go constants, driven every
// 10 s by pkg/server/ca/rotator/rotator.go `rotateX509CA`): a CA of lifetime L (NotAfter - issuance) has its successor
// prepared once less than min(L / 2, 30 days) remains (`preparationThreshold`), and the successor is activated, the
// expiration gauge then jumping to the new CA's NotAfter, once less than min(L / 6, 7 days) remains
// (`keyActivationThreshold`). A self-signed CA's lifetime is the configured CA TTL.
const ACTIVATION_DIVISOR = 6;
const ACTIVATION_CAP_MS = 7 * 24 * 3_600_000;

/**
 * The least remaining lifetime a healthy rotation leaves the active X.509 CA: min(caTTL / 6, 7 days), in seconds
 * (720h: 120h; 6h: 1h; 2160h: the 7-day cap).
 */
export function caRotationThresholdSeconds(caTTL: string): number {
    return Math.min(durationMs(caTTL) / ACTIVATION_DIVISOR, ACTIVATION_CAP_MS) / 1000;
}

/**
 * How long the CA's remaining lifetime may be under the threshold before the alert fires: a healthy rotation takes
 * it back over within one rotator tick (10 s) plus one scrape (15 s), which a rule evaluation (every minute) may see
 * once; ten minutes below it means the rotator did not activate a successor.
 */
export const CA_ROTATION_GRACE = "10m";

/** Rule groups of a Prometheus rule file, as `promtool check rules` reads them. */
export interface PrometheusRuleGroups {
    groups: { name: string; rules: PrometheusAlertRule[] }[];
}

export interface PrometheusAlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

/** The selector of the SPIRE server's datastore calls that failed on the datastore's side. */
export function datastoreErrorSelector(): string {
    return (
        `{__name__=~"${SPIRE_METRICS.datastoreCalls}", __name__!~"${SPIRE_METRICS.datastoreCallTimings}", ` +
        `job="${SPIRE_SERVER_JOB}", status!~"${DATASTORE_CALLER_STATUSES.join("|")}"}`
    );
}

/**
 * The refresh attempts of one peer's bundle with one outcome (`ok`: status OK; otherwise every other status), summed
 * over the SPIRE server pods, over the last `window`.
 */
export function federationRefreshExpr(peerTrustDomain: string, outcome: "ok" | "failed", window: string): string {
    const status = outcome === "ok" ? `status="OK"` : `status!="OK"`;
    const label = spireLabelValue(peerTrustDomain);
    return `sum by (trust_domain_id) (increase(${SPIRE_METRICS.fetchFederatedBundle}{job="${SPIRE_SERVER_JOB}", trust_domain_id="${label}", ${status}}[${window}]))`;
}

/** Alert names. */
export const SPIRE_ALERTS = {
    caNotRotated: "SpireServerCANotRotated",
    federationRefreshFailing: "SpireFederatedBundleRefreshFailing",
    serverDown: "SpireServerDown",
    serverMissing: "SpireServerTargetMissing",
    agentDown: "SpireAgentDown",
    agentMissing: "SpireAgentTargetMissing",
    datastoreErrors: "SpireServerDatastoreErrors",
} as const;

/** How long a scrape target may fail (or be missing) before the down alerts fire: a restart or a blip stays silent. */
export const DOWN_FOR = "5m";
/** How long datastore errors must go on (in every 5-minute window) before the alert fires. */
export const DATASTORE_ERRORS_FOR = "10m";

/**
 * The alerting rules shipped with the bundled Prometheus (its `alerting_rules.yml`), as data. Pure: the same settings
 * always give the same rules, the peers in sorted order.
 */
export function spireAlertRules(settings: SpireMonitoringSettings): PrometheusRuleGroups {
    const caThreshold = caRotationThresholdSeconds(settings.caTTL);
    const hintMs = durationMs(settings.federationRefreshHint);
    const hint = prometheusDuration(hintMs);
    const twoHints = prometheusDuration(2 * hintMs);
    const threeHints = prometheusDuration(3 * hintMs);
    const peers = [...new Set(settings.peerTrustDomains)].sort();

    const caRule: PrometheusAlertRule = {
        alert: SPIRE_ALERTS.caNotRotated,
        // The active CA's remaining lifetime below the least a healthy rotation leaves (caRotationThresholdSeconds):
        // the rotator did not prepare or activate a successor. With an upstream authority whose own certificate ends
        // sooner than caTTL, SPIRE's CA is shorter and rotates earlier than this; it firing then says that the
        // upstream CA itself is about to end, which no rotation fixes.
        expr: `${SPIRE_METRICS.caExpiration}{job="${SPIRE_SERVER_JOB}"} - time() < ${caThreshold}`,
        for: CA_ROTATION_GRACE,
        labels: { severity: "critical" },
        annotations: {
            summary: "The SPIRE server's X.509 CA was not rotated",
            description:
                `The active X.509 CA of SPIRE server {{ $labels.pod }} expires in {{ $value | humanizeDuration }}; a healthy rotation ` +
                `activates the next CA with ${prometheusDuration(caThreshold * 1000)} left (min(caTTL ${settings.caTTL} / 6, 7 days)). ` +
                `Read the server's log for "X509 CA" errors.`,
        },
    };

    // One rule per peer, for the peer's own label: SPIRE tries to refresh a peer's bundle 4 times per refresh hint
    // (pkg/server/bundle/client/manager.go `attemptsPerRefreshHint`, retrying a failure at the same pace). The
    // expression holds once a whole hint has passed with failed attempts and no successful one; held for two more
    // hints (`for`), the bundle has not been refreshed for 3 x the hint. One success resets it.
    const federationRules: PrometheusAlertRule[] = peers.map((peer) => ({
        alert: SPIRE_ALERTS.federationRefreshFailing,
        expr: `${federationRefreshExpr(peer, "failed", hint)} > 0\nunless on (trust_domain_id)\n${federationRefreshExpr(peer, "ok", hint)} > 0`,
        for: twoHints,
        labels: { severity: "warning", peer_trust_domain: peer },
        annotations: {
            summary: `SPIRE cannot refresh the bundle of ${peer}`,
            description:
                `Every attempt of the SPIRE server to fetch the trust bundle of ${peer} from its bundle endpoint has failed for ` +
                `more than ${threeHints} (3 x the refresh hint ${settings.federationRefreshHint}). Workloads keep the last bundle ` +
                `fetched; once ${peer} rotates its CA, its workloads are refused. Read the server's log for "Error updating bundle".`,
        },
    }));

    const down = (alert: string, job: string, what: string): PrometheusAlertRule => ({
        alert,
        expr: `up{job="${job}"} == 0`,
        for: DOWN_FOR,
        labels: { severity: "critical" },
        annotations: {
            summary: `A ${what} is down`,
            description: `Prometheus has not scraped ${what} {{ $labels.pod }} (node {{ $labels.node }}) for ${DOWN_FOR}.`,
        },
    });
    const missing = (alert: string, job: string, what: string): PrometheusAlertRule => ({
        alert,
        expr: `absent(up{job="${job}"})`,
        for: DOWN_FOR,
        labels: { severity: "critical" },
        annotations: {
            summary: `No ${what} to scrape`,
            description: `Prometheus has found no ${what} pod in namespace ${settings.spireNamespace} for ${DOWN_FOR}.`,
        },
    });

    return {
        groups: [
            {
                name: "spire",
                rules: [
                    caRule,
                    ...federationRules,
                    down(SPIRE_ALERTS.serverDown, SPIRE_SERVER_JOB, "SPIRE server"),
                    missing(SPIRE_ALERTS.serverMissing, SPIRE_SERVER_JOB, "SPIRE server"),
                    down(SPIRE_ALERTS.agentDown, SPIRE_AGENT_JOB, "SPIRE agent"),
                    missing(SPIRE_ALERTS.agentMissing, SPIRE_AGENT_JOB, "SPIRE agent"),
                    {
                        alert: SPIRE_ALERTS.datastoreErrors,
                        // Errors in every 5-minute window for 10 minutes: a lasting failure, not one cancelled call.
                        expr: `sum by (namespace, pod) (rate(${datastoreErrorSelector()}[5m])) > 0`,
                        for: DATASTORE_ERRORS_FOR,
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "The SPIRE server's datastore calls fail",
                            description:
                                "SPIRE server {{ $labels.pod }} has had datastore errors for " +
                                `${DATASTORE_ERRORS_FOR} ({{ $value | humanize }} per second); read its log for "datastore-sql" errors.`,
                        },
                    },
                ],
            },
        ],
    };
}

/** A Prometheus scrape config (the prometheus chart's `scrapeConfigs` entries). */
export type ScrapeConfig = Record<string, unknown>;

/**
 * The scrape jobs of the SPIRE server and agent pods in the SPIRE namespace, keyed by job name (the prometheus chart's
 * `scrapeConfigs` map). Pod discovery gives one target per container port; a job keeps the telemetry port of its
 * container on pods with its labels (running ones), and labels each series with its namespace, pod and node. The
 * agents run on the host network, so their targets are the nodes' addresses.
 */
export function spireScrapeConfigs(spireNamespace: string): Record<string, ScrapeConfig> {
    const job = (name: string, target: { labels: Readonly<Record<string, string>>; container: string }): ScrapeConfig => {
        const labelKeys = Object.keys(target.labels);
        return {
            job_name: name,
            kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [spireNamespace] } }],
            relabel_configs: [
                {
                    action: "keep",
                    source_labels: [
                        ...labelKeys.map((key) => `__meta_kubernetes_pod_label_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`),
                        "__meta_kubernetes_pod_container_name",
                        "__meta_kubernetes_pod_container_port_name",
                    ],
                    separator: ";",
                    regex: [...labelKeys.map((key) => target.labels[key]), target.container, SPIRE_TELEMETRY_PORT_NAME].join(";"),
                },
                { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "Pending|Succeeded|Failed|Completed" },
                { action: "replace", source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
                { action: "replace", source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
                { action: "replace", source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
            ],
        };
    };
    return {
        [SPIRE_SERVER_JOB]: job(SPIRE_SERVER_JOB, SPIRE_SERVER_SCRAPE_TARGET),
        [SPIRE_AGENT_JOB]: job(SPIRE_AGENT_JOB, SPIRE_AGENT_SCRAPE_TARGET),
    };
}
