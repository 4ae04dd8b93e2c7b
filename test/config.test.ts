import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_DEFAULTS, SECRET_CONFIG_KEYS, ValidationError, checkConfigValueKind, parseStackConfig } from "../components";
import { configText, runProgramExpectingError } from "../tools/mock-engine/harness";
import { removeTestProject, testProject } from "./testStacks";
import { readStackFile, stackNames } from "../tools/stack-files/stackFiles";

const program: () => Promise<any> = require("../index");
const ROOT = path.resolve(__dirname, "..");
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };

/** parseStackConfig over a plain map, with arrays and objects passed as JSON text like Pulumi does. */
function parseWith(config: Record<string, unknown>) {
    return parseStackConfig((key) => {
        const value = config[key];
        return value === undefined ? undefined : typeof value === "string" ? value : JSON.stringify(value);
    });
}

function problemOf(config: Record<string, unknown>): string {
    try {
        parseWith(config);
    } catch (error) {
        expect(error).to.be.instanceOf(ValidationError);
        return (error as Error).message;
    }
    throw new Error("expected a validation error");
}

describe("stack configuration", () => {
    describe("defaults", () => {
        it("applies the documented defaults when only the required keys are set", () => {
            // namespaceRevisions is derived from enrolledNamespaces' {name, revision} entries: none by default.
            expect(parseWith(CLUSTER1)).to.deep.equal({ ...CONFIG_DEFAULTS, ...CLUSTER1, namespaceRevisions: {} });
        });

        it("takes samples and observability switches as set", () => {
            const config = parseWith({ ...CLUSTER1, samples: ["curl-greeter", "sleep-httpbin"], observability: "true", observabilityGrafana: "true" });
            expect([config.samples, config.samplesNamespace, config.observability, config.observabilityGrafana]).to.deep.equal([
                ["curl-greeter", "sleep-httpbin"],
                "default",
                true,
                true,
            ]);
        });

        it("gives anonymous users of Kiali and Grafana view access unless edit is asked for", () => {
            expect(CONFIG_DEFAULTS.observabilityAccess).to.equal("view");
            expect(parseWith({ ...CLUSTER1, observability: "true" }).observabilityAccess).to.equal("view");
            expect(parseWith({ ...CLUSTER1, observability: "true", observabilityAccess: "edit" }).observabilityAccess).to.equal("edit");
        });

        it("declares every default in Pulumi.yaml with the same value, a type and a description", () => {
            const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
            expect(project.name).to.equal("istio-spire");
            // The project's own keys; settings of other namespaces (pulumi:disable-default-providers) are checked in provider.test.ts.
            const declared = Object.fromEntries(Object.entries(project.config).filter(([key]) => !key.includes(":"))) as Record<
                string,
                { type: string; default?: unknown; description: string; items?: unknown }
            >;
            // peers, spireDataStore, spireUpstreamAuthority, istioRevisions, istioRevisionTags and enrolledNamespaces are or
            // hold objects, which Pulumi's project config types cannot declare (see Pulumi.yaml).
            const { peers, spireDataStore, spireUpstreamAuthority, istioRevisions, istioRevisionTags, enrolledNamespaces, ...withDefaults } = CONFIG_DEFAULTS;
            expect([peers, spireDataStore, spireUpstreamAuthority, istioRevisions, istioRevisionTags, enrolledNamespaces]).to.deep.equal([
                [],
                { type: "sqlite3" },
                { type: "none" },
                [],
                {},
                ["default"],
            ]);
            for (const [key, value] of Object.entries(withDefaults)) {
                expect(declared[key], key).to.not.equal(undefined);
                expect(declared[key].default, key).to.deep.equal(value);
                expect(declared[key].description, key).to.be.a("string").with.length.above(10);
            }
            for (const key of ["trustDomain", "clusterName"]) {
                expect(declared[key].type, key).to.equal("string");
                expect(declared[key], key).to.not.have.property("default"); // required per stack
            }
            // The optional secret keys are not declared: a declared key without a default is required of every stack,
            // and a secret key may not have a plain default (see Pulumi.yaml).
            for (const key of SECRET_CONFIG_KEYS) {
                expect(declared[key], key).to.equal(undefined);
            }
            expect(Object.keys(declared).sort()).to.deep.equal(["trustDomain", "clusterName", ...Object.keys(withDefaults)].sort());
            for (const [key, decl] of Object.entries(declared)) {
                expect(["string", "integer", "boolean", "array"], key).to.include(decl.type);
                if (decl.type === "array") {
                    expect(decl.items, key).to.deep.equal({ type: "string" });
                }
            }
        });

        /** parseStackConfig over a stack file's `config:` block, as the program reads it under `pulumi up`. */
        const readStack = (dir: string, stack: string) => {
            const source = readStackFile(dir, stack);
            const value = (key: string) => (source.config[key] === undefined ? undefined : configText(source.config[key]));
            return { source, parsed: parseStackConfig(value, Object.keys(source.config)) };
        };

        it("reads stack files like the federation seed's, each naming the other as peer", () => {
            const dir = testProject();
            try {
                const c1 = readStack(dir, "cluster1");
                const c2 = readStack(dir, "cluster2");
                expect(c1.source.otherConfig?.["kubernetes:context"]).to.equal("cluster1");
                expect(c2.source.otherConfig?.["kubernetes:context"]).to.equal("cluster2");
                expect(c1.parsed).to.deep.include({
                    trustDomain: "cluster1.demo",
                    clusterName: "cluster1",
                    peers: [{ stack: "organization/istio-spire/cluster2" }],
                });
                expect(c2.parsed).to.deep.include({
                    trustDomain: "cluster2.demo",
                    clusterName: "cluster2",
                    peers: [{ stack: "organization/istio-spire/cluster1" }],
                });
                expect([c1.parsed.samples, c1.parsed.observability, c2.parsed.samples]).to.deep.equal([["sleep-httpbin", "curl-greeter"], true, ["bookinfo"]]);
            } finally {
                removeTestProject(dir);
            }
        });

        // The project's own stack files are the user's: only what must hold for any of them is checked.
        it("accepts the config of every Pulumi.<stack>.yaml of the project", () => {
            const stacks = stackNames(ROOT);
            expect(stacks).to.not.deep.equal([]);
            for (const stack of stacks) {
                try {
                    readStack(ROOT, stack);
                } catch (error) {
                    throw new Error(`Pulumi.${stack}.yaml: ${(error as Error).message}`);
                }
            }
        });
    });

    describe("bad input is refused with one message naming the key, the value and what is expected", () => {
        const cases: [string, Record<string, unknown>, string][] = [
            [
                "the federation seed's typo: a space in the trust domain",
                { ...CLUSTER1, trustDomain: "cluster 1.demo" },
                'Invalid configuration: trustDomain: "cluster 1.demo" contains whitespace; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"',
            ],
            [
                "capitals in the trust domain",
                { ...CLUSTER1, trustDomain: "Cluster1.Demo" },
                'Invalid configuration: trustDomain: "Cluster1.Demo" contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster1.demo"',
            ],
            [
                "a spiffe:// scheme",
                { ...CLUSTER1, trustDomain: "spiffe://cluster1.demo" },
                'Invalid configuration: trustDomain: "spiffe://cluster1.demo" includes the "spiffe://" scheme; expected only the trust domain name, e.g. "cluster1.demo"',
            ],
            [
                "a path",
                { ...CLUSTER1, trustDomain: "cluster1.demo/ns/default" },
                'Invalid configuration: trustDomain: "cluster1.demo/ns/default" contains a path; expected only the trust domain name, e.g. "cluster1.demo"',
            ],
            [
                "a port",
                { ...CLUSTER1, trustDomain: "cluster1.demo:443" },
                'Invalid configuration: trustDomain: "cluster1.demo:443" contains a port; a SPIFFE trust domain has no port, e.g. "cluster1.demo"',
            ],
            [
                "an empty trust domain",
                { ...CLUSTER1, trustDomain: "" },
                'Invalid configuration: trustDomain: "" is empty; expected a SPIFFE trust domain name, e.g. "cluster1.demo"',
            ],
            [
                "a trust domain over 255 characters",
                { ...CLUSTER1, trustDomain: "a".repeat(256) },
                `Invalid configuration: trustDomain: "${"a".repeat(99)}…(258 characters) is 256 characters long; a SPIFFE trust domain is at most 255 characters`,
            ],
            [
                "a missing trust domain",
                { clusterName: "cluster1" },
                "Invalid configuration: trustDomain: is not set; run `pulumi config set trustDomain <value>` (see docs/configuration.md)",
            ],
            [
                "a cluster name that is not an RFC 1123 label",
                { ...CLUSTER1, clusterName: "Cluster_1" },
                'Invalid configuration: clusterName: "Cluster_1" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
            ],
            [
                "the chart's placeholder cluster name",
                { ...CLUSTER1, clusterName: "example-cluster" },
                `Invalid configuration: clusterName: "example-cluster" is the chart's placeholder; set the cluster's real name`,
            ],
            [
                "a namespace that is not an RFC 1123 label",
                { ...CLUSTER1, spireNamespace: "SPIRE" },
                'Invalid configuration: spireNamespace: "SPIRE" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
            ],
            [
                "an enrolled namespace that is not an RFC 1123 label",
                { ...CLUSTER1, enrolledNamespaces: ["default", "Book_Info"] },
                'Invalid configuration: enrolledNamespaces[1]: "Book_Info" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
            ],
            [
                "enrolling a system namespace",
                { ...CLUSTER1, enrolledNamespaces: ["kube-system"] },
                'Invalid configuration: enrolledNamespaces[0]: "kube-system" is a system namespace; enroll application namespaces only',
            ],
            [
                "an unparseable CA TTL",
                { ...CLUSTER1, caTTL: "30 days" },
                'Invalid configuration: caTTL: "30 days" is not a duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)',
            ],
            [
                "an unparseable refresh hint",
                { ...CLUSTER1, federationRefreshHint: "5min" },
                'Invalid configuration: federationRefreshHint: "5min" is not a duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)',
            ],
            [
                "a CA TTL too short for the refresh hint",
                { ...CLUSTER1, caTTL: "10m" },
                'Invalid configuration: caTTL: "10m" must be at least 3 times federationRefreshHint ("5m"), so federated servers load new CA keys before the old ones rotate out',
            ],
            [
                "an unpinned spire chart version",
                { ...CLUSTER1, spireChartVersion: "^0.30.0" },
                'Invalid configuration: spireChartVersion: "^0.30.0" is not pinned; expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned',
            ],
            [
                "an unpinned Istio chart version",
                { ...CLUSTER1, istioChartVersion: "latest" },
                'Invalid configuration: istioChartVersion: "latest" is not pinned; expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned',
            ],
            [
                "a plain-http chart repository",
                { ...CLUSTER1, istioChartRepository: "http://istio-release.storage.googleapis.com/charts" },
                'Invalid configuration: istioChartRepository: "http://istio-release.storage.googleapis.com/charts" uses "http"; expected an "https://" chart repository URL or an "oci://" registry reference without credentials',
            ],
            ["an unknown mTLS mode", { ...CLUSTER1, mtlsMode: "DISABLE" }, 'Invalid configuration: mtlsMode: "DISABLE" is not one of "STRICT", "PERMISSIVE"'],
            [
                "a non-boolean nativeSidecars",
                { ...CLUSTER1, nativeSidecars: "auto" },
                'Invalid configuration: nativeSidecars: "auto" is not a boolean; expected "true" or "false"',
            ],
            [
                "a sample this program does not have",
                { ...CLUSTER1, samples: ["bookinfo", "helloworld"] },
                'Invalid configuration: samples[1]: "helloworld" is not a sample of this program; expected a list of "sleep-httpbin", "bookinfo", "curl-greeter"',
            ],
            [
                "samples that are not a list",
                { ...CLUSTER1, samples: "bookinfo" },
                'Invalid configuration: samples: "bookinfo" is not a list; expected a list of "sleep-httpbin", "bookinfo", "curl-greeter"',
            ],
            [
                "a sample listed twice",
                { ...CLUSTER1, samples: ["bookinfo", "bookinfo"] },
                'Invalid configuration: samples: ["bookinfo","bookinfo"] lists "bookinfo" more than once',
            ],
            [
                "samples in a namespace that is not enrolled",
                { ...CLUSTER1, samples: ["bookinfo"], samplesNamespace: "demo" },
                'Invalid configuration: samplesNamespace: "demo" is not in enrolledNamespaces (["default"]); samples need sidecars and SPIRE identities, so enroll it',
            ],
            [
                "Grafana without observability",
                { ...CLUSTER1, observabilityGrafana: "true" },
                'Invalid configuration: observabilityGrafana: "true" needs observability (Grafana reads the Prometheus it installs); set observability to true',
            ],
            [
                "a non-boolean observability",
                { ...CLUSTER1, observability: "yes" },
                'Invalid configuration: observability: "yes" is not a boolean; expected "true" or "false"',
            ],
            [
                "an observability access level that does not exist",
                { ...CLUSTER1, observability: "true", observabilityAccess: "admin" },
                'Invalid configuration: observabilityAccess: "admin" is not one of "view", "edit"',
            ],
            [
                "edit access without observability",
                { ...CLUSTER1, observabilityAccess: "edit" },
                'Invalid configuration: observabilityAccess: "edit" needs observability (it is the access to Kiali and Grafana); set observability to true',
            ],
            [
                "a peer that is not a fully qualified stack",
                { ...CLUSTER1, peers: [{ stack: "cluster2" }] },
                'Invalid configuration: peers[0].stack: "cluster2" is not a fully qualified stack name; expected "<org>/istio-spire/<stack>"',
            ],
            [
                "a peer of another project",
                { ...CLUSTER1, peers: [{ stack: "organization/other/cluster2" }] },
                'Invalid configuration: peers[0].stack: "organization/other/cluster2" names project "other"; peers are stacks of project "istio-spire"',
            ],
            [
                "a peer listed twice",
                { ...CLUSTER1, peers: [{ stack: "o/istio-spire/cluster2" }, { stack: "o/istio-spire/cluster2" }] },
                'Invalid configuration: peers: [{"stack":"o/istio-spire/cluster2"},{"stack":"o/istio-spire/cluster2"}] lists stack "o/istio-spire/cluster2" more than once',
            ],
            [
                "peers that are not a list",
                { ...CLUSTER1, peers: { stack: "o/istio-spire/cluster2" } },
                'Invalid configuration: peers: {"stack":"o/istio-spire/cluster2"} is not a list; expected a list like [{"stack": "<org>/istio-spire/cluster2"}]',
            ],
            [
                "a ClusterIP bundle endpoint without the URL that fronts it",
                { ...CLUSTER1, bundleEndpointServiceType: "ClusterIP" },
                'Invalid configuration: bundleEndpointServiceType: "ClusterIP" gives peers no address of its own; set bundleEndpointUrl to the https URL that reaches it (ingress, DNS or node address)',
            ],
            [
                "a NodePort bundle endpoint without a URL",
                { ...CLUSTER1, bundleEndpointServiceType: "NodePort" },
                'Invalid configuration: bundleEndpointServiceType: "NodePort" gives peers no address of its own; set bundleEndpointUrl to the https URL that reaches it (ingress, DNS or node address)',
            ],
            [
                "an unknown bundle endpoint profile",
                { ...CLUSTER1, bundleEndpointProfile: "https" },
                'Invalid configuration: bundleEndpointProfile: "https" is not one of "https_spiffe", "https_web"',
            ],
            [
                "a bundle endpoint URL with user info",
                { ...CLUSTER1, bundleEndpointUrl: "https://admin:pw@spire.example.com" },
                'Invalid configuration: bundleEndpointUrl: "https://admin:pw@spire.example.com" contains user info; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            ],
            [
                "an https_web profile without the URL its certificate is for",
                { ...CLUSTER1, bundleEndpointProfile: "https_web", bundleEndpointTlsSecret: "spire-federation-tls" },
                'Invalid configuration: bundleEndpointProfile: "https_web" needs bundleEndpointUrl: an https_web endpoint is reached through the DNS name its Web PKI certificate is issued for',
            ],
            [
                "an https_web profile without the Secret holding its certificate",
                { ...CLUSTER1, bundleEndpointProfile: "https_web", bundleEndpointUrl: "https://spire.cluster1.example.com" },
                'Invalid configuration: bundleEndpointTlsSecret: is not set; bundleEndpointProfile "https_web" needs the name of an existing kubernetes.io/tls Secret in spireNamespace ("spire-server") holding a Web PKI certificate (tls.crt, tls.key) for bundleEndpointUrl\'s host; run `pulumi config set bundleEndpointTlsSecret <secret>`',
            ],
            [
                "an https_web profile with neither the URL nor the Secret, both at once",
                { ...CLUSTER1, bundleEndpointProfile: "https_web", spireNamespace: "spire" },
                [
                    "Invalid configuration (2 problems):",
                    '  - bundleEndpointProfile: "https_web" needs bundleEndpointUrl: an https_web endpoint is reached through the DNS name its Web PKI certificate is issued for',
                    '  - bundleEndpointTlsSecret: is not set; bundleEndpointProfile "https_web" needs the name of an existing kubernetes.io/tls Secret in spireNamespace ("spire") holding a Web PKI certificate (tls.crt, tls.key) for bundleEndpointUrl\'s host; run `pulumi config set bundleEndpointTlsSecret <secret>`',
                ].join("\n"),
            ],
            [
                "an https_web certificate Secret name that is not a Kubernetes name",
                {
                    ...CLUSTER1,
                    bundleEndpointProfile: "https_web",
                    bundleEndpointUrl: "https://spire.cluster1.example.com",
                    bundleEndpointTlsSecret: "Spire_TLS",
                },
                'Invalid configuration: bundleEndpointTlsSecret: "Spire_TLS" is not a Secret name: it is not a DNS name; expected a DNS name of lowercase letters, digits, "-" and ".", e.g. "bookinfo.cluster2.demo"',
            ],
            [
                "a certificate Secret with the https_spiffe profile, which would not use it",
                { ...CLUSTER1, bundleEndpointTlsSecret: "spire-federation-tls" },
                'Invalid configuration: bundleEndpointTlsSecret: "spire-federation-tls" is set, but bundleEndpointProfile is "https_spiffe", whose endpoint serves SPIRE\'s own certificate; leave it empty, or set bundleEndpointProfile to "https_web"',
            ],
        ];

        for (const [what, config, message] of cases) {
            it(`refuses ${what}`, () => {
                expect(problemOf(config)).to.equal(message);
            });
        }

        it("reports a misspelled key with the key it probably meant", () => {
            expect(() =>
                parseStackConfig(
                    (key) => (({ trustdomain: "cluster1.demo", clusterName: "cluster1" }) as Record<string, string>)[key],
                    ["trustdomain", "clusterName"],
                ),
            ).to.throw(
                [
                    "Invalid configuration (2 problems):",
                    '  - trustdomain: "cluster1.demo" is not a setting of this program; did you mean "trustDomain"?',
                    "  - trustDomain: is not set; run `pulumi config set trustDomain <value>` (see docs/configuration.md)",
                ].join("\n"),
            );
        });

        it("judges the kind of a raw value before the key's own checks (checkConfigValueKind)", () => {
            expect(checkConfigValueKind("trustDomain", "cluster1.demo", "string")).to.equal(undefined);
            expect(checkConfigValueKind("trustDomain", "", "string")).to.equal(
                'trustDomain: "" is empty; expected a SPIFFE trust domain name, e.g. "cluster1.demo"',
            );
            expect(checkConfigValueKind("bundleEndpointUrl", "", "string")).to.equal(undefined); // empty is its default
            expect(checkConfigValueKind("bundleEndpointUrl", "null", "string")).to.equal(
                'bundleEndpointUrl: "null" is a YAML null (a key written without a value); expected an "https://" URL (empty: the load balancer address), or remove the key for the default ""',
            );
            expect(checkConfigValueKind("samples", '["bookinfo"]', "list")).to.equal(undefined);
            expect(checkConfigValueKind("mtlsMode", '{"mode":"STRICT"}', "string")).to.equal(
                'mtlsMode: {"mode":"STRICT"} is a mapping, not a string; expected one of "STRICT", "PERMISSIVE"',
            );
            expect(checkConfigValueKind("trustDomain", "[cluster1.demo", "string")).to.equal(undefined); // not JSON: a string
        });

        it("refuses a peer that is the stack itself, given the stack's name", () => {
            const read = (key: string) => (({ ...CLUSTER1, peers: '[{"stack":"organization/istio-spire/cluster1"}]' }) as Record<string, string>)[key];
            expect(() => parseStackConfig(read, [], { stack: "organization/istio-spire/cluster1" })).to.throw(
                'Invalid configuration: peers[0].stack: "organization/istio-spire/cluster1" is this stack itself; list the other stacks to federate with, not this one',
            );
            // Another organization's stack of the same name is another stack.
            expect(parseStackConfig(read, [], { stack: "acme/istio-spire/cluster1" }).peers).to.deep.equal([{ stack: "organization/istio-spire/cluster1" }]);
        });

        it("refuses keys of a namespace one or two typos from the project's, and leaves providers' keys alone", () => {
            const read = (key: string) => (CLUSTER1 as Record<string, string>)[key];
            expect(() => parseStackConfig(read, [], { otherKeys: ["kubernetes:context", "pulumi:template", "random:seed", "istio-spire2:caTTL"] })).to.throw(
                'Invalid configuration: istio-spire2:caTTL: is in namespace "istio-spire2", not this project\'s "istio-spire", so nothing reads it; did you mean "istio-spire:caTTL"?',
            );
            expect(parseStackConfig(read, [], { otherKeys: ["kubernetes:context", "pulumi:template", "random:seed"] }).trustDomain).to.equal("cluster1.demo");
        });

        it("lists every problem at once, one per line, when several keys are wrong", () => {
            expect(problemOf({ trustDomain: "cluster 1.demo", clusterName: "Cluster1", caTTL: "forever" })).to.equal(
                [
                    "Invalid configuration (3 problems):",
                    '  - trustDomain: "cluster 1.demo" contains whitespace; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"',
                    '  - clusterName: "Cluster1" is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"',
                    '  - caTTL: "forever" is not a duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)',
                ].join("\n"),
            );
        });
    });

    describe("in the program", () => {
        for (const trustDomain of ["cluster 1.demo", "Cluster1.demo", "spiffe://cluster1.demo", "cluster1.demo/x", "cluster1.demo:8443", "", "a".repeat(256)]) {
            it(`stops before declaring any resource when trustDomain is ${JSON.stringify(trustDomain.length > 20 ? `${trustDomain.slice(0, 8)}…` : trustDomain)}`, async () => {
                const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, trustDomain });
                expect(error).to.be.instanceOf(pulumi.RunError); // printed without a stack trace
                expect(error.message).to.match(/^Invalid configuration: trustDomain: /);
                expect(declared).to.deep.equal([]);
            });
        }

        it("refuses an unknown key set on the stack", async () => {
            const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, meshId: "mesh1" });
            expect(error.message).to.equal('Invalid configuration: meshId: "mesh1" is not a setting of this program (see docs/configuration.md)');
            expect(declared).to.deep.equal([]);
        });

        it("stops on a bad chart version before declaring anything", async () => {
            const { error, declared } = await runProgramExpectingError(program, { ...CLUSTER1, spireChartVersion: "0.30" });
            expect(error.message).to.equal(
                'Invalid configuration: spireChartVersion: "0.30" is not pinned; expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned',
            );
            expect(declared).to.deep.equal([]);
        });
    });
});

describe("the Pulumi CLI the project needs", () => {
    /** The CLI version each feature in use first supports. */
    const FEATURES: Record<string, string> = {
        // pulumi/pulumi pkg/resource/deploy/step_generator.go continueStepsFromImport (docs/adoption.md).
        "adopt: an import followed by an update of what differs": "3.174.0",
        // A remote component's transforms run on the children its provider registers (Bookinfo's ConfigFile v2).
        "transforms on the objects of a ConfigFile v2": "3.115.0",
    };
    const numbers = (v: string) => v.split(".").map(Number);
    const atLeast = (v: string, min: string) => {
        const [a, b] = [numbers(v), numbers(min)];
        const i = a.findIndex((n, k) => n !== b[k]);
        return i === -1 || a[i] > b[i];
    };
    /**
     * The engine's check of a `>=X.Y.Z` range before preview, up, refresh, destroy and import (pulumi/pulumi
     * sdk/go/common/resource/plugin/plugin.go ValidatePulumiVersionRange), with its message.
     */
    const validate = (range: string, cli: string): string | undefined => {
        const min = /^>=(\d+\.\d+\.\d+)$/.exec(range)![1];
        return atLeast(cli, min) ? undefined : `Pulumi CLI version ${cli} does not satisfy the version range "${range}"`;
    };

    it("is stated in Pulumi.yaml as the lowest version every feature in use needs, where the engine checks it", () => {
        const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        expect(project.requiredPulumiVersion).to.equal(">=3.174.0");
        const lowest = Object.values(FEATURES).reduce((max, v) => (atLeast(v, max) ? v : max));
        expect(project.requiredPulumiVersion).to.equal(`>=${lowest}`);
        expect(validate(project.requiredPulumiVersion, "3.173.0")).to.equal('Pulumi CLI version 3.173.0 does not satisfy the version range ">=3.174.0"');
        expect(validate(project.requiredPulumiVersion, "3.174.0")).to.equal(undefined);
        expect(validate(project.requiredPulumiVersion, "3.260.0")).to.equal(undefined);
    });

    it("is the version the README names", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        expect(readme).to.contain("the [Pulumi CLI](https://www.pulumi.com/docs/install/) 3.174.0 or newer");
        expect(readme).to.contain('`requiredPulumiVersion:\n  ">=3.174.0"` in `Pulumi.yaml`');
    });
});
