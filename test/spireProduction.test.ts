// The production identity plane (docs/production-spire.md): several SPIRE servers on an SQL datastore, an upstream
// authority that keeps the root through a rebuild, and the refusals, all judged on real Helm renders of the pinned
// spire chart where the chart decides. The configurations are this file's own.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
    CONFIG_DEFAULTS,
    SPIRE_SERVER_POD_LABELS,
    SPIRE_UPSTREAM_CA_SECRET,
    ValidationError,
    caLineageAfter,
    parseStackConfig,
    spireChartValues,
    spireServerHaValues,
    spireServerSpread,
    spireValuesProblems,
} from "../components";
import { Declared, ProgramRun, mockPem, named, ofType, runProgram, runProgramExpectingError, runningStack, secretConfig } from "../tools/mock-engine/harness";
import { RenderedObject, helmTemplateAsync } from "../tools/upstream/helm";
import { requireUpstream } from "../tools/upstream/artifacts";
import { chartDir } from "../tools/upstream/upstream";
import { ChartRenderer, podTemplateOf, selects, theObject, requireHelm } from "./chartRender";
import { removeTestProject, renderCommand, testProject } from "./testStacks";

const program: () => Promise<any> = require("../index");
const CA = path.join(__dirname, "fixtures", "upstream-ca");
const pem = (file: string) => fs.readFileSync(path.join(CA, file), "utf8");
const BASE = { trustDomain: "prod.example", clusterName: "prod-a" };
const POSTGRES = { type: "postgres", host: "spire-db.example.internal", database: "spire", user: "spire" };
/** The password of the tests: not to be found anywhere but in the Secret's (secret) input. */
const PASSWORD = "s3cret pass'word\"@%$";

/** parseStackConfig over a plain map (lists and objects as JSON text), with the given keys set as secrets. */
function parseWith(config: Record<string, unknown>, secretKeys: string[] = [], now?: Date) {
    return parseStackConfig(
        (key) => {
            const value = config[key];
            return value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value);
        },
        Object.keys(config),
        { secretKeys, now },
    );
}

/** The problems parseStackConfig reports, one per line. */
function problemsOf(config: Record<string, unknown>, secretKeys: string[] = [], now?: Date): string[] {
    try {
        parseWith(config, secretKeys, now);
    } catch (error) {
        expect(error).to.be.instanceOf(ValidationError);
        return (error as ValidationError).message
            .split("\n")
            .filter((line) => !/^Invalid configuration \(\d+ problems\):$/.test(line))
            .map((line) => line.replace(/^ {2}- /, "").replace(/^Invalid configuration: /, ""));
    }
    throw new Error("expected a validation error");
}

describe("the production identity plane's configuration", () => {
    it("keeps one server, SQLite, no upstream authority and no acknowledgement by default", () => {
        const config = parseWith(BASE);
        expect([config.spireServerReplicas, config.spireDataStore, config.spireUpstreamAuthority, config.spireChangeAcknowledged]).to.deep.equal([
            1,
            { type: "sqlite3" },
            { type: "none" },
            "",
        ]);
        expect(CONFIG_DEFAULTS.spireServerReplicas).to.equal(1);
    });

    it("takes three servers on PostgreSQL with a secret password and a generated root", () => {
        const config = parseWith(
            { ...BASE, spireServerReplicas: "3", spireDataStore: POSTGRES, spireDataStorePassword: PASSWORD, spireUpstreamAuthority: { type: "generated" } },
            ["spireDataStorePassword"],
        );
        expect(config.spireServerReplicas).to.equal(3);
        expect(config.spireUpstreamAuthority).to.deep.equal({ type: "generated", validity: "87600h" });
        // The password is no part of the parsed configuration: the program reads it as a secret Output.
        expect(JSON.stringify(config)).to.not.contain("s3cret");
    });

    it("takes a disk root whose certificate and key are secrets and match", () => {
        const config = parseWith(
            { ...BASE, spireUpstreamAuthority: { type: "disk" }, spireUpstreamCertificate: pem("root.crt"), spireUpstreamKey: pem("root.key") },
            ["spireUpstreamCertificate", "spireUpstreamKey"],
        );
        expect(config.spireUpstreamAuthority).to.deep.equal({ type: "disk" });
    });

    const refusals: { title: string; config: Record<string, unknown>; secrets?: string[]; now?: Date; problems: string[] }[] = [
        {
            title: "more than one server on SQLite",
            config: { spireServerReplicas: "2" },
            problems: [
                'spireServerReplicas: "2" needs an SQL datastore: SQLite is a file on one server\'s volume, which other servers cannot share; set spireDataStore to {"type": "postgres", ...} or {"type": "mysql", ...}, or spireServerReplicas to 1',
            ],
        },
        {
            title: "a replica count that is no whole number from 1",
            config: { spireServerReplicas: "0" },
            problems: ['spireServerReplicas: "0" is not a whole number from 1 to 999; expected the number of SPIRE servers, e.g. 3'],
        },
        {
            title: "a password in plain text, without quoting it",
            config: { spireDataStore: POSTGRES, spireDataStorePassword: PASSWORD },
            problems: [
                "spireDataStorePassword: is set in plain text; it must be a secret: run `pulumi config set --secret spireDataStorePassword <value>` (the value is not shown here)",
            ],
        },
        {
            title: "an SQL datastore without a password",
            config: { spireDataStore: POSTGRES },
            problems: [
                'spireDataStorePassword: is not set; the "postgres" datastore needs the password of user "spire": run `pulumi config set --secret spireDataStorePassword <password>`',
            ],
        },
        {
            title: "a password for SQLite, which would be ignored",
            config: { spireDataStorePassword: PASSWORD },
            secrets: ["spireDataStorePassword"],
            problems: [
                "spireDataStorePassword: is set, but spireDataStore is SQLite, which takes no password; remove it, or set spireDataStore to an SQL database",
            ],
        },
        {
            title: "an upstream authority of an unknown type",
            config: { spireUpstreamAuthority: { type: "vault" } },
            problems: [
                'spireUpstreamAuthority.type: "vault" is not one of "none", "generated", "disk", "certManager"; expected {"type": "none"}, {"type": "generated", "validity": "87600h"}, {"type": "disk"} (with the secret keys spireUpstreamCertificate and spireUpstreamKey) or {"type": "certManager", "issuerName": "<issuer>", "issuerKind": "Issuer" | "ClusterIssuer", "issuerGroup": "cert-manager.io"}',
            ],
        },
        {
            title: "a field the upstream authority does not take",
            config: { spireUpstreamAuthority: { type: "generated", issuerName: "x" } },
            problems: ['spireUpstreamAuthority.issuerName: "x" is not a field of the "generated" upstream authority; it takes "type", "validity"'],
        },
        {
            title: "a generated root shorter than two CA lifetimes",
            config: { caTTL: "720h", spireUpstreamAuthority: { type: "generated", validity: "1000h" } },
            problems: [
                'spireUpstreamAuthority.validity: "1000h" is shorter than 2 times caTTL ("720h"); SPIRE cuts every CA it signs under this root short at the root\'s expiry',
            ],
        },
        {
            title: "a generated root's validity that is not in hours",
            config: { spireUpstreamAuthority: { type: "generated", validity: "3650d" } },
            problems: [
                'spireUpstreamAuthority.validity: "3650d" is not a whole number of hours; expected a duration like "87600h" (@pulumi/tls takes the validity in hours)',
            ],
        },
        {
            title: "a cert-manager issuer that is no name, of an unknown kind",
            config: { spireUpstreamAuthority: { type: "certManager", issuerName: "Spire CA", issuerKind: "Vault" } },
            problems: [
                'spireUpstreamAuthority.issuerName: "Spire CA" is not an issuer name: it is not a DNS name; expected a DNS name of lowercase letters, digits, "-" and ".", e.g. "bookinfo.cluster2.demo"',
                'spireUpstreamAuthority.issuerKind: "Vault" is not one of "Issuer", "ClusterIssuer"',
            ],
        },
        {
            title: "a disk upstream authority without its certificate and key",
            config: { spireUpstreamAuthority: { type: "disk" } },
            problems: [
                'spireUpstreamCertificate: is not set; spireUpstreamAuthority "disk" needs the root CA\'s certificate and private key (PEM): run `pulumi config set --secret spireUpstreamCertificate < <file>`',
                'spireUpstreamKey: is not set; spireUpstreamAuthority "disk" needs the root CA\'s certificate and private key (PEM): run `pulumi config set --secret spireUpstreamKey < <file>`',
            ],
        },
        {
            title: "a disk key that is not the certificate's, and a key in plain text",
            config: { spireUpstreamAuthority: { type: "disk" }, spireUpstreamCertificate: pem("root.crt"), spireUpstreamKey: pem("other.key") },
            secrets: ["spireUpstreamCertificate", "spireUpstreamKey"],
            problems: ['spireUpstreamKey: is not the private key of spireUpstreamCertificate ("C=US\\nO=istio-spire tests\\nCN=test upstream root")'],
        },
        {
            title: "a disk certificate that is not self-signed (SPIRE's disk plugin takes a root without a bundle file)",
            config: { spireUpstreamAuthority: { type: "disk" }, spireUpstreamCertificate: pem("intermediate.crt"), spireUpstreamKey: pem("other.key") },
            secrets: ["spireUpstreamCertificate", "spireUpstreamKey"],
            problems: [
                'spireUpstreamCertificate: "CN=test intermediate" is not self-signed (issuer "C=US\\nO=istio-spire tests\\nCN=test upstream root"); SPIRE\'s disk upstream authority takes a root CA',
            ],
        },
        {
            title: "a disk certificate that is no CA",
            config: { spireUpstreamAuthority: { type: "disk" }, spireUpstreamCertificate: pem("notca.crt"), spireUpstreamKey: pem("other.key") },
            secrets: ["spireUpstreamCertificate", "spireUpstreamKey"],
            problems: ['spireUpstreamCertificate: "CN=test not a CA" is not a CA certificate (BasicConstraints CA:TRUE); SPIRE signs its own CA under it'],
        },
        {
            title: "a disk root that has expired (the time is the test's)",
            config: { spireUpstreamAuthority: { type: "disk" }, spireUpstreamCertificate: pem("root.crt"), spireUpstreamKey: pem("root.key") },
            secrets: ["spireUpstreamCertificate", "spireUpstreamKey"],
            now: new Date("2200-01-01T00:00:00Z"),
            problems: [
                `spireUpstreamCertificate: "C=US\\nO=istio-spire tests\\nCN=test upstream root" expired at ${new (require("crypto").X509Certificate)(pem("root.crt")).validTo}; a root that expired breaks every identity under it`,
            ],
        },
        {
            title: "a certificate and key set for another upstream authority, which would be ignored",
            config: { spireUpstreamAuthority: { type: "generated" }, spireUpstreamCertificate: pem("root.crt") },
            secrets: ["spireUpstreamCertificate"],
            problems: [
                'spireUpstreamCertificate: is set, but spireUpstreamAuthority is "generated"; it is read only with {"type": "disk"}: remove it, or set that type',
            ],
        },
    ];
    for (const r of refusals) {
        it(`refuses ${r.title}, naming the key`, () => {
            expect(problemsOf({ ...BASE, ...r.config }, r.secrets ?? [], r.now)).to.deep.equal(r.problems);
        });
    }

    it("stops the program before any Kubernetes resource, with every problem in one message", async () => {
        const { error, declared } = await runProgramExpectingError(program, {
            ...BASE,
            spireServerReplicas: 3,
            spireDataStorePassword: PASSWORD,
            spireUpstreamAuthority: { type: "disk" },
        });
        expect(error.message).to.match(/^Invalid configuration \(5 problems\):\n/);
        for (const key of ["spireServerReplicas", "spireDataStorePassword", "spireUpstreamCertificate", "spireUpstreamKey"]) {
            expect(error.message).to.contain(`\n  - ${key}: `);
        }
        expect(error.message).to.not.contain("s3cret");
        expect(declared.filter((d) => d.type.startsWith("kubernetes:") || d.type.startsWith("tls:"))).to.deep.equal([]);
    });
});

describe("the spire chart values of the production identity plane", () => {
    it("are nothing at all for one server on SQLite without an upstream authority: a deployed stack sees no change", () => {
        expect(spireServerHaValues({})).to.deep.equal({});
        expect(spireServerHaValues({ replicas: 1, dataStore: { type: "sqlite3" }, upstreamAuthority: { type: "none" } })).to.deep.equal({});
        expect(spireServerSpread(1)).to.deep.equal([]);
    });

    it("spread several servers across nodes (at most one more on any node) and, as far as possible, zones", () => {
        const labelSelector = { matchLabels: SPIRE_SERVER_POD_LABELS };
        expect(spireServerSpread(3)).to.deep.equal([
            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector },
            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector },
        ]);
    });

    it("name the Secrets the program declares, never a key or password", () => {
        const values = spireServerHaValues({
            replicas: 2,
            dataStore: { ...POSTGRES, type: "postgres" },
            upstreamAuthority: { type: "generated", validity: "87600h" },
        });
        expect(values.upstreamAuthority).to.deep.equal({ disk: { enabled: true, secret: { create: false, name: SPIRE_UPSTREAM_CA_SECRET } } });
        expect((values.dataStore as any).sql.externalSecret).to.deep.equal({ enabled: true, name: "spire-datastore-password", key: "password" });
    });
});

// ---------------------------------------------------------------------------------------------------------------

const PRODUCTION = {
    ...BASE,
    spireServerReplicas: 3,
    spireDataStore: POSTGRES,
    spireDataStorePassword: secretConfig(PASSWORD),
    spireUpstreamAuthority: { type: "generated" },
};
const GENERATED_ROOT = pem("root.crt");

describe("a production stack (three servers, PostgreSQL, generated root) on real Helm renders of the pinned spire chart", () => {
    let helm: string;
    let run: ProgramRun<any>;
    let spire: RenderedObject[];
    let release: Declared;

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        helm = await requireHelm(this, "render the charts with");
        run = await runProgram(program, PRODUCTION, { generatedRootCertificate: GENERATED_ROOT });
        release = named(run.declared, "spire-release");
        spire = await new ChartRenderer(helm).render(release);
    });

    it("runs three servers as a StatefulSet, each with its own volume for its CA keys, spread across nodes", () => {
        const server = theObject(spire, "StatefulSet", "spire-server", "spire-server");
        expect(server.spec.replicas).to.equal(3);
        expect(server.spec.volumeClaimTemplates.map((t: any) => t.metadata.name)).to.deep.equal(["spire-data"]);
        expect(server.spec.template.spec.topologySpreadConstraints).to.deep.equal(spireServerSpread(3));
        // Every constraint counts the servers themselves.
        for (const c of server.spec.template.spec.topologySpreadConstraints) {
            expect(selects(c.labelSelector.matchLabels, server.spec.template.metadata.labels)).to.equal(true);
        }
    });

    it("declares a PodDisruptionBudget that lets one server go at a time, selecting exactly the server pods", () => {
        const pdb = named(run.declared, "spire-server-pdb");
        expect(pdb.type).to.equal("kubernetes:policy/v1:PodDisruptionBudget");
        expect(pdb.inputs.metadata).to.deep.include({ name: "spire-server", namespace: "spire-server" });
        expect(pdb.inputs.spec.maxUnavailable).to.equal(1);
        const selected = spire.filter(
            (o) => podTemplateOf(o) !== undefined && selects(pdb.inputs.spec.selector.matchLabels, podTemplateOf(o)!.metadata?.labels),
        );
        expect(selected.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(["StatefulSet/spire-server"]);
    });

    it("serves the bundle endpoint from every ready server: the Service selects the pod template, no single pod", () => {
        const service = named(run.declared, "federation-service");
        const server = theObject(spire, "StatefulSet", "spire-server", "spire-server");
        expect(selects(service.inputs.spec.selector, server.spec.template.metadata.labels)).to.equal(true);
        expect(Object.keys(service.inputs.spec.selector)).to.not.include("statefulset.kubernetes.io/pod-name");
        expect(service.inputs.spec.publishNotReadyAddresses).to.equal(undefined);
    });

    it("runs the controller manager of every server with leader election, so one reconciles at a time", () => {
        const cm = theObject(spire, "ConfigMap", "spire-controller-manager", "spire-server");
        const config = parse(cm.data["controller-manager-config.yaml"]);
        expect(config.leaderElection).to.deep.include({ leaderElect: true, resourceNamespace: "spire-server" });
    });

    it("gives SPIRE the datastore password only through the Secret the chart's externalSecret names", () => {
        const server = theObject(spire, "StatefulSet", "spire-server", "spire-server");
        const container = server.spec.template.spec.containers.find((c: any) => c.name === "spire-server");
        expect(container.env.find((e: any) => e.name === "DBPW")).to.deep.equal({
            name: "DBPW",
            valueFrom: { secretKeyRef: { name: "spire-datastore-password", key: "password" } },
        });
        expect(container.args).to.include("-expandEnv");
        const secret = named(run.declared, "spire-datastore-password");
        expect([secret.type, secret.inputs.metadata.name, secret.inputs.metadata.namespace]).to.deep.equal([
            "kubernetes:core/v1:Secret",
            "spire-datastore-password",
            "spire-server",
        ]);
        // @pulumi/kubernetes sends a Secret's stringData as a secret as a whole.
        expect(secret.secretPaths).to.deep.equal(["stringData"]);
        expect(release.dependsOn).to.include("spire-datastore-password");
    });

    it("signs SPIRE's CA under the generated root, given to the disk upstream authority through a Secret", () => {
        const conf = JSON.parse(theObject(spire, "ConfigMap", "spire-server", "spire-server").data["server.conf"]);
        expect(conf.plugins.UpstreamAuthority).to.deep.equal([
            { disk: { plugin_data: { cert_file_path: "/run/spire/upstream_ca/tls.crt", key_file_path: "/run/spire/upstream_ca/tls.key" } } },
        ]);
        const server = theObject(spire, "StatefulSet", "spire-server", "spire-server");
        expect(server.spec.template.spec.volumes).to.deep.include({ name: "upstream-ca", secret: { secretName: SPIRE_UPSTREAM_CA_SECRET } });
        const secret = named(run.declared, "spire-upstream-ca");
        expect(secret.inputs.type).to.equal("kubernetes.io/tls");
        expect(secret.inputs.stringData["tls.crt"]).to.equal(GENERATED_ROOT);
        expect(secret.secretPaths).to.deep.equal(["stringData"]);
        const key = named(run.declared, "spire-upstream-root-key");
        expect([key.type, key.inputs.algorithm, key.inputs.ecdsaCurve, key.protect]).to.deep.equal(["tls:index/privateKey:PrivateKey", "ECDSA", "P256", true]);
        const root = named(run.declared, "spire-upstream-root");
        expect(root.inputs).to.deep.include({ isCaCertificate: true, validityPeriodHours: 87600, uris: ["spiffe://prod.example"] });
        expect(root.protect).to.equal(true);
        // The key reaches the certificate as a secret (@pulumi/tls marks privateKeyPem an additional secret output).
        expect(root.secretPaths).to.deep.equal(["privateKeyPem"]);
    });

    it("keeps the password and the root's key out of the Helm values and the stack outputs", () => {
        const everywhere = JSON.stringify([release.inputs.values, run.outputs]);
        expect(everywhere).to.not.contain("s3cret");
        expect(everywhere).to.not.contain(mockPem("PRIVATE KEY", "cluster1", "spire-upstream-root-key").split("\n")[1]);
        expect(run.outputs.spireServer).to.deep.equal({
            replicas: 3,
            dataStore: { type: "postgres", host: "spire-db.example.internal", port: 5432, database: "spire", user: "spire" },
            upstreamAuthority: { type: "generated", rootCertificate: GENERATED_ROOT },
        });
    });

    it("with a cert-manager issuer, renders SPIRE's cert-manager upstream authority and its RBAC", async () => {
        const certManager = await runProgram(program, {
            ...PRODUCTION,
            spireUpstreamAuthority: { type: "certManager", issuerName: "spire-root", issuerKind: "ClusterIssuer" },
        });
        const objects = await new ChartRenderer(helm).render(named(certManager.declared, "spire-release"));
        const conf = JSON.parse(theObject(objects, "ConfigMap", "spire-server", "spire-server").data["server.conf"]);
        expect(conf.plugins.UpstreamAuthority).to.deep.equal([
            {
                "cert-manager": {
                    plugin_data: { issuer_name: "spire-root", issuer_kind: "ClusterIssuer", issuer_group: "cert-manager.io", namespace: "spire-server" },
                },
            },
        ]);
        expect(ofType(certManager.declared, "kubernetes:core/v1:Secret").map((d) => d.name)).to.deep.equal(["spire-datastore-password"]);
        expect(certManager.outputs.spireServer.upstreamAuthority).to.deep.equal({
            type: "certManager",
            issuerName: "spire-root",
            issuerKind: "ClusterIssuer",
            issuerGroup: "cert-manager.io",
        });
    });

    describe("what the chart would fail on or silently ignore is refused first, naming the key", () => {
        const settings = {
            trustDomain: "prod.example",
            clusterName: "prod-a",
            caTTL: "720h",
            caSubject: { country: "US", organization: "SPIRE", commonName: "prod.example" },
            controllerClassName: "spire-server-spire",
            federationRefreshHint: "5m",
        };
        const render = (values: object) =>
            helmTemplateAsync({ helm, chartDir: chartDir("spire", "0.30.0"), release: "spire", namespace: "spire-server", values }).then(
                (objects) => ({ objects, error: undefined as string | undefined }),
                (error: Error) => ({ objects: [] as RenderedObject[], error: error.message }),
            );
        const cases: { title: string; passThrough: object; chart: (r: { objects: RenderedObject[]; error?: string }) => void; problem: string }[] = [
            {
                title: "two servers on SQLite: the chart fails",
                passThrough: { "spire-server": { replicaCount: 2 } },
                chart: (r) => expect(r.error).to.contain("When running with sqlite3 database, you can't scale up to more then one instance"),
                problem: 'values["spire-server"].replicaCount: 2 needs an SQL datastore; the chart refuses more than one server on SQLite',
            },
            {
                title: "kind deployment with the defaults: the chart fails",
                passThrough: { "spire-server": { kind: "deployment" } },
                chart: (r) => expect(r.error).to.contain("When running as deployment, persistence can't be set"),
                problem:
                    'values["spire-server"].kind: "deployment" is not supported: this program runs the SPIRE server as a StatefulSet, whose volume keeps each server\'s CA keys; the chart would also fail on SQLite (the chart refuses it), keyManager.disk, on by default (the chart refuses it), a persistent volume, persistence.type pvc by default (the chart refuses it)',
            },
            {
                title: "deploymentType, as the chart's examples/stateless-server sets it: the chart ignores it",
                passThrough: { "spire-server": { deploymentType: "deployment" } },
                chart: (r) => {
                    expect(r.error).to.equal(undefined);
                    expect(r.objects.filter((o) => o.kind === "Deployment" && o.metadata.name === "spire-server")).to.deep.equal([]);
                    expect(theObject(r.objects, "StatefulSet", "spire-server", "spire-server").kind).to.equal("StatefulSet");
                },
                problem: 'values["spire-server"].deploymentType: "deployment" is no setting of the spire chart, which would ignore it; the key is "kind"',
            },
            {
                title: "several servers with the controller manager's static manifest mode: no leader election",
                passThrough: {
                    "spire-server": { replicaCount: 2, dataStore: { sql: { databaseType: "postgres" } }, controllerManager: { staticManifestMode: "on" } },
                },
                chart: (r) => {
                    if (r.error === undefined) {
                        const cm = r.objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "spire-controller-manager");
                        expect(cm === undefined || !String(cm.data?.["controller-manager-config.yaml"]).includes("leaderElect")).to.equal(true);
                    }
                },
                problem:
                    'values["spire-server"].controllerManager.staticManifestMode: "on" turns the controller manager\'s leader election off, which 2 servers need',
            },
        ];
        for (const c of cases) {
            it(c.title, async () => {
                c.chart(await render(spireChartValues(settings, c.passThrough as never)));
                expect(spireValuesProblems(spireChartValues(settings, c.passThrough as never))).to.deep.equal([c.problem]);
            });
        }

        it("the Spire component refuses them before it declares anything", async () => {
            const { Spire } = await import("../components");
            const { error, declared } = await runProgramExpectingError(async () => {
                new Spire("spire", { trustDomain: "prod.example", clusterName: "prod-a", values: { "spire-server": { replicaCount: 2 } } });
            }, {});
            expect(error.message).to.equal(
                'Spire spire: values["spire-server"].replicaCount: 2 needs an SQL datastore; the chart refuses more than one server on SQLite',
            );
            expect(declared.filter((d) => d.type.startsWith("kubernetes:"))).to.deep.equal([]);
        });
    });
});

// ---------------------------------------------------------------------------------------------------------------

/** A SPIFFE bundle whose X.509 authority is `rootPem` and whose JWT authority is the key `kid`. */
function bundleUnder(rootPem: string, kid: string): string {
    const { X509Certificate } = require("crypto");
    const root = new X509Certificate(rootPem);
    const jwk = root.publicKey.export({ format: "jwk" });
    return JSON.stringify({
        keys: [
            { use: "x509-svid", ...jwk, x5c: [root.raw.toString("base64")] },
            { use: "jwt-svid", ...jwk, kid },
        ],
        spiffe_refresh_hint: 300,
        spiffe_sequence: 1,
    });
}

describe("a rebuilt SPIRE server under an upstream authority keeps its installation", () => {
    const before = bundleUnder(pem("root.crt"), "jwt-key-before");
    // The server lost its volume or datastore: new CA and JWT keys, the same upstream root in the bundle.
    const rebuilt = bundleUnder(pem("root.crt"), "jwt-key-after");
    // Without an upstream authority the rebuilt server's root is its own new self-signed CA.
    const newRoot = bundleUnder(pem("notca.crt"), "jwt-key-after");
    const previous = (bundle: string) => ({
        federation: { trustDomain: "prod.example", trustBundle: bundle },
        spireInstallation: { id: "b6c1a3a8-2f7e-4c39-9d52-4c8e7f0a1b2c", caLineage: "" },
        spireServer: { replicas: 3, dataStore: { type: "postgres" }, upstreamAuthority: { type: "generated", rootCertificate: GENERATED_ROOT } },
    });

    it("tells the same root (same lineage) from a new root (new lineage)", () => {
        expect(caLineageAfter(previous(before), rebuilt)).to.deep.equal({ caLineage: "", lostData: false });
        const decision = caLineageAfter(previous(before), newRoot);
        expect(decision.lostData).to.equal(true);
        expect(decision.caLineage).to.match(/^ca-[0-9a-f]{16}$/);
    });

    it("keeps federation.installationId through the rebuild, so peers do not re-bootstrap; a new root changes it, with a warning", async () => {
        const self = runningStack("cluster1");
        const config = { ...PRODUCTION, spireChangeAcknowledged: undefined };
        const outputsBefore = { ...previous(before), spireServer: { ...previous(before).spireServer, dataStore: POSTGRES } };
        const same = await runProgram(program, config, {
            ownBundle: rebuilt,
            stackOutputs: { [self]: outputsBefore },
            generatedRootCertificate: GENERATED_ROOT,
        });
        const lost = await runProgram(program, config, {
            ownBundle: newRoot,
            stackOutputs: { [self]: outputsBefore },
            generatedRootCertificate: GENERATED_ROOT,
        });
        const keepers = (r: ProgramRun<any>) => named(r.declared, "federation-installation-id").inputs.keepers;
        expect(keepers(same)).to.deep.equal({ namespaceUid: "uid-spire-server", caLineage: "" });
        expect(same.warnings).to.deep.equal([]);
        expect(keepers(lost).caLineage).to.match(/^ca-[0-9a-f]{16}$/);
        expect(lost.warnings.join("\n")).to.contain("shares no key with the bundle this stack exported in its last deployment");
        expect(same.outputs.federation.installationId).to.not.equal(lost.outputs.federation.installationId);
    });
});

// ---------------------------------------------------------------------------------------------------------------

describe("changing the datastore or the upstream authority of a deployed stack is never silent", () => {
    const self = runningStack("cluster1");
    const deployed = (spireServer?: object) => ({
        stackOutputs: { [self]: { federation: { trustDomain: "prod.example" }, ...(spireServer ? { spireServer } : {}) } },
        generatedRootCertificate: GENERATED_ROOT,
    });
    const TOKEN = "dataStore sqlite3 -> postgres://spire-db.example.internal:5432/spire; upstreamAuthority none -> generated";

    it("refuses the move of a demo stack to the production profile until that exact change is acknowledged, saying what it does", async () => {
        const { error, declared } = await runProgramExpectingError(program, PRODUCTION, deployed());
        expect(error.message).to.contain(
            'spireChangeAcknowledged: "" does not acknowledge the change of this deployed SPIRE\'s identity plane: dataStore sqlite3 -> postgres://spire-db.example.internal:5432/spire: the SPIRE server starts on postgres://spire-db.example.internal:5432/spire, which holds none of the registration entries, attested agents, federated bundles or CA journal of sqlite3',
        );
        expect(error.message).to.contain("the server prepares a new CA under the upstream authority's root (generated), so peers keep trusting prod.example.");
        expect(error.message).to.contain("upstreamAuthority none -> generated: SPIRE signs its next CA under generated");
        expect(error.message).to.contain(`To go ahead, run \`pulumi config set spireChangeAcknowledged '${TOKEN}'\`; remove the key after the deployment.`);
        expect(declared.filter((d) => d.type.startsWith("kubernetes:"))).to.deep.equal([]);
    });

    it("goes ahead once acknowledged, and says in the preview what happens", async () => {
        const run = await runProgram(program, { ...PRODUCTION, spireChangeAcknowledged: TOKEN }, { ...deployed(), preview: true });
        expect(run.warnings).to.have.length(1);
        expect(run.warnings[0]).to.match(/^This deployment changes SPIRE's identity plane \(acknowledged\): dataStore sqlite3 -> postgres:/);
    });

    it("does not take an acknowledgement of another change", async () => {
        const { error } = await runProgramExpectingError(
            program,
            { ...PRODUCTION, spireChangeAcknowledged: "dataStore sqlite3 -> postgres://other:5432/spire" },
            deployed(),
        );
        expect(error.message).to.contain('spireChangeAcknowledged: "dataStore sqlite3 -> postgres://other:5432/spire" does not acknowledge');
    });

    it("without an upstream authority, says that peers must re-bootstrap", async () => {
        const { error } = await runProgramExpectingError(program, { ...PRODUCTION, spireUpstreamAuthority: undefined, spireServerReplicas: 1 }, deployed());
        expect(error.message).to.contain(
            "without an upstream authority the server makes a new self-signed root: every workload gets a new identity chain and every peer must re-bootstrap",
        );
    });

    it("needs no acknowledgement for a new stack, or when nothing changes; warns of one left over", async () => {
        const quiet = (warnings: string[]) => warnings.filter((w) => !w.startsWith("SPIRE has not published this cluster's trust bundle yet"));
        expect(quiet((await runProgram(program, PRODUCTION, { generatedRootCertificate: GENERATED_ROOT })).warnings)).to.deep.equal([]);
        const recorded = { replicas: 3, dataStore: { ...POSTGRES, port: 5432 }, upstreamAuthority: { type: "generated", rootCertificate: GENERATED_ROOT } };
        expect(quiet((await runProgram(program, PRODUCTION, deployed(recorded))).warnings)).to.deep.equal([]);
        const stale = await runProgram(program, { ...PRODUCTION, spireChangeAcknowledged: TOKEN }, deployed(recorded));
        expect(quiet(stale.warnings)).to.deep.equal([
            `spireChangeAcknowledged: ${JSON.stringify(TOKEN)} acknowledges a change this deployment does not make; remove the key, so that it cannot acknowledge a later change by accident.`,
        ]);
        // More servers, another user or TLS setting: the same datastore, nothing to acknowledge.
        expect(quiet((await runProgram(program, { ...PRODUCTION, spireServerReplicas: 5 }, deployed(recorded))).warnings)).to.deep.equal([]);
    });

    it("names a new disk root by its fingerprint", async () => {
        const disk = {
            ...BASE,
            spireUpstreamAuthority: { type: "disk" },
            spireUpstreamCertificate: secretConfig(pem("root.crt")),
            spireUpstreamKey: secretConfig(pem("root.key")),
        };
        const recorded = { replicas: 1, dataStore: { type: "sqlite3" }, upstreamAuthority: { type: "disk", rootCertificate: pem("intermediate.crt") } };
        const { error } = await runProgramExpectingError(program, disk, deployed(recorded));
        expect(error.message).to.match(/upstreamAuthority disk root [0-9a-f]{16} -> [0-9a-f]{16}: SPIRE's disk upstream authority reloads the root/);
    });
});

// ---------------------------------------------------------------------------------------------------------------

describe("`npm run render` of the production stack files in examples/production", () => {
    const EXAMPLES = path.join(__dirname, "..", "examples", "production");
    let dir: string;
    let result: ReturnType<typeof renderCommand>;
    const read = (file: string) => fs.readFileSync(path.join(dir, "rendered", "prod-east", file), "utf8");

    before(function () {
        this.timeout(120_000);
        dir = testProject(Object.fromEntries(["prod-east", "prod-west"].map((s) => [s, fs.readFileSync(path.join(EXAMPLES, `Pulumi.${s}.yaml`), "utf8")])));
        result = renderCommand(dir, []);
    });
    after(() => removeTestProject(dir));

    it("renders both stacks, each federated with the other", () => {
        expect(result.status, result.stderr).to.equal(0);
        expect(read("summary.md")).to.contain("- Federated with: prod-west.example.com");
    });

    it("shows the HA objects the program declares: the PodDisruptionBudget and the two Secrets, their secrets redacted", () => {
        const pdb = parse(read("objects/spire-server/PodDisruptionBudget-spire-server.yaml"));
        expect(pdb.spec).to.deep.equal({ maxUnavailable: 1, selector: { matchLabels: SPIRE_SERVER_POD_LABELS } });
        expect(parse(read("objects/spire-server/Secret-spire-datastore-password.yaml")).stringData).to.equal("[secret]");
        // The generated root exists only after `pulumi up`: a preview knows none of it.
        expect(parse(read("objects/spire-server/Secret-spire-upstream-ca.yaml")).stringData).to.equal("<deploy-time: prod-east spire-upstream-ca.stringData>");
        expect(fs.readdirSync(path.join(dir, "rendered", "prod-east"), { recursive: true }).join("\n")).to.not.contain("offline-render-placeholder");
    });

    it("shows three SPIRE servers in the spire chart's render", function () {
        requireUpstream(this);
        const statefulSet = parse(read("helm/spire/spire-server/StatefulSet-spire-server.yaml"));
        expect(statefulSet.spec.replicas).to.equal(3);
        expect(statefulSet.spec.template.spec.topologySpreadConstraints).to.deep.equal(spireServerSpread(3));
    });
});
