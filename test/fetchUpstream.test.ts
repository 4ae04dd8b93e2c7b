// `npm run fetch-upstream` fills the cache the tests then find: run here against mirrors on the loopback address (a
// Helm repository packaged from the pinned charts, and a copy of istio/istio's test data), the official sources being
// out of reach of this machine.

import { expect } from "chai";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { CHART_PINS, ISTIO_TESTDATA, chartDirName, requireArtifact, requireUpstream, resolveUpstream, upstreamDir } from "../tools/upstream/artifacts";
import { CHART_MIRROR_ENV, ISTIO_SOURCE_ENV, fetchUpstream } from "../tools/upstream/fetchUpstream";
import { HelmResolution, ensureHelm, runHelm } from "../tools/upstream/helm";

/** Serves a directory on 127.0.0.1 (GET only; 404 for anything missing). */
async function serve(root: string): Promise<{ url: string; close(): Promise<void>; requests: string[] }> {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        requests.push(req.url ?? "");
        const file = path.join(root, decodeURIComponent((req.url ?? "/").split("?")[0]));
        if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404).end("not found");
            return;
        }
        res.writeHead(200).end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("npm run fetch-upstream", () => {
    let helm: HelmResolution;
    let mirror: Awaited<ReturnType<typeof serve>>;
    let env: NodeJS.ProcessEnv;
    let cache: string;
    const temps: string[] = [];
    const lines: string[] = [];
    const errors: string[] = [];

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        this.timeout(120000);
        helm = await ensureHelm();
        requireArtifact(
            this,
            helm.found,
            () => `pending: no Helm 3 to package a chart mirror (${helm.found ? "" : helm.reason}); run \`npm run fetch-upstream\``,
        );
        if (!helm.found) {
            return;
        }
        // The mirror: every pinned chart packaged as `helm repo index` expects it, and the Envoy dump at its upstream path.
        const site = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-mirror-"));
        temps.push(site);
        fs.mkdirSync(path.join(site, "charts"));
        for (const pin of CHART_PINS) {
            const packaged = await runHelm(helm.binary, [
                "package",
                path.join(upstreamDir(), "charts", chartDirName(pin)),
                "--destination",
                path.join(site, "charts"),
            ]);
            expect(packaged.code, packaged.stderr).to.equal(0);
        }
        for (const file of ISTIO_TESTDATA.files) {
            const target = path.join(site, "istio", ISTIO_TESTDATA.tag, file.source);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.copyFileSync(path.join(upstreamDir(), ISTIO_TESTDATA.dir, file.name), target);
        }
        mirror = await serve(site);
        const indexed = await runHelm(helm.binary, ["repo", "index", path.join(site, "charts"), "--url", `${mirror.url}/charts`]);
        expect(indexed.code, indexed.stderr).to.equal(0);
        cache = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-cache-"));
        temps.push(cache);
        env = { ...process.env, ISTIO_SPIRE_CACHE: cache, [CHART_MIRROR_ENV]: `${mirror.url}/charts`, [ISTIO_SOURCE_ENV]: `${mirror.url}/istio/` };
        expect(
            await fetchUpstream(
                env,
                (l) => lines.push(l),
                (l) => errors.push(l),
            ),
        ).to.equal(0);
    });
    after(async () => {
        await mirror?.close();
        temps.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
    });

    it("pulls every pinned chart and fetches Istio's test data into the cache, saying where each came from", () => {
        expect(errors).to.deep.equal([]);
        expect(lines[0]).to.equal(`Cache: ${path.join(cache, "upstream")}`);
        expect(lines.slice(2)).to.deep.equal([
            ...CHART_PINS.map((pin) => `chart ${chartDirName(pin)}: pulled from ${mirror.url}/charts`),
            ...ISTIO_TESTDATA.files.map((f) => `istio testdata ${f.name}: fetched from ${mirror.url}/istio/${ISTIO_TESTDATA.tag}/${f.source}`),
            "Every pinned upstream artifact is in the cache; `npm test` runs every conformance test.",
        ]);
    });

    it("fills a cache that the tests then find, with the same chart sources and test data", () => {
        // A clone with nothing beside it: only the cache can be found.
        const clone = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-clone-"));
        temps.push(clone);
        const found = resolveUpstream({ ISTIO_SPIRE_CACHE: cache }, path.join(clone, "project"));
        expect(found).to.deep.equal({ found: true, dir: path.join(cache, "upstream"), origin: "the cache" });
        for (const pin of CHART_PINS) {
            const fetched = path.join(cache, "upstream", "charts", chartDirName(pin));
            const original = path.join(upstreamDir(), "charts", chartDirName(pin));
            // `helm package` rewrites Chart.yaml in its own layout; the name and version are what identify the chart.
            const chart = parse(fs.readFileSync(path.join(fetched, "Chart.yaml"), "utf8"));
            expect([chart.name, chart.version]).to.deep.equal([pin.chart, pin.version]);
            for (const file of ["values.yaml", ...fs.readdirSync(path.join(original, "templates")).map((t) => path.join("templates", t))]) {
                if (fs.statSync(path.join(original, file)).isFile()) {
                    expect(fs.readFileSync(path.join(fetched, file), "utf8"), `${chartDirName(pin)}/${file}`).to.equal(
                        fs.readFileSync(path.join(original, file), "utf8"),
                    );
                }
            }
        }
        const dump = path.join(ISTIO_TESTDATA.dir, "spire-config_dump.json");
        expect(fs.readFileSync(path.join(cache, "upstream", dump), "utf8")).to.equal(fs.readFileSync(path.join(upstreamDir(), dump), "utf8"));
    });

    it("keeps what is already cached and asks the mirror for nothing on a second run", async function () {
        this.timeout(60000);
        const before = mirror.requests.length;
        const again: string[] = [];
        expect(
            await fetchUpstream(
                env,
                (l) => again.push(l),
                (l) => errors.push(l),
            ),
        ).to.equal(0);
        expect(again.filter((l) => l.endsWith(": cached")).length).to.equal(CHART_PINS.length + ISTIO_TESTDATA.files.length);
        expect(mirror.requests.length).to.equal(before);
    });

    it("fails naming the chart and the repository when a chart cannot be pulled, and leaves nothing half-written", async function () {
        this.timeout(60000);
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-cache-"));
        temps.push(empty);
        const failures: string[] = [];
        const code = await fetchUpstream(
            { ...env, ISTIO_SPIRE_CACHE: empty, [CHART_MIRROR_ENV]: `${mirror.url}/nothing-here` },
            () => undefined,
            (l) => failures.push(l),
        );
        expect(code).to.equal(1);
        expect(failures).to.have.length(1);
        expect(failures[0]).to.match(
            new RegExp(`^chart ${chartDirName(CHART_PINS[0]).replace(/\./g, "\\.")}: helm pull from ${mirror.url}/nothing-here failed: .+`),
        );
        expect(fs.existsSync(path.join(empty, "upstream", "charts", chartDirName(CHART_PINS[0])))).to.equal(false);
    });
});
