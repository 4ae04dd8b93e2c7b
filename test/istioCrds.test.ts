// Every Istio custom resource the program declares, in every configuration that declares one, against Istio 1.30.3's
// CRDs as the API server would judge a create: the served version's structural schema (unknown fields, which the API
// server would silently prune, are errors) and every x-kubernetes-validations CEL rule (see test/istioCrds.ts).

import { expect } from "chai";
import * as fs from "fs";
import { requireUpstream } from "../tools/upstream/artifacts";
import { Declared, ProgramRun, named, runProgram } from "../tools/mock-engine/harness";
import {
    compileRule,
    istioCrdFile,
    istioCrdVersion,
    istioCrdVersions,
    istioResourceProblems,
    kubernetesIsUrl,
    kubernetesUrl,
    goDurationOrThrow,
    parseGoInt,
    rewriteCalls,
    ruleSites,
    unfaithfulRegexes,
} from "./istioCrds";
import { JsonObject } from "../tools/upstream/upstream";
import { fixtureBundle } from "./testStacks";

const program: () => Promise<any> = require("../index");
const ORG = "organization/istio-spire";
const bundle = fixtureBundle;

const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1", peers: [{ stack: `${ORG}/cluster2` }] };
const CLUSTER2 = { trustDomain: "cluster2.demo", clusterName: "cluster2", peers: [{ stack: `${ORG}/cluster1` }] };

/** The Istio kinds the program declares across the configurations below; a new one must be added here, and is validated. */
const DECLARED_KINDS = ["AuthorizationPolicy", "DestinationRule", "Gateway", "PeerAuthentication", "ServiceEntry", "VirtualService"];

/** Whether a declared resource is an Istio custom resource (any *.istio.io group). */
function isIstioResource(d: Declared): boolean {
    return /^kubernetes:[a-z0-9.-]*\.istio\.io\/[^:]+:/.test(d.type);
}

function identify(d: Declared): string {
    return `${d.inputs.kind} ${d.inputs.metadata?.namespace}/${d.inputs.metadata?.name} (${d.name})`;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe("Istio custom resources against Istio 1.30.3's CRDs (schemas and CEL rules)", function () {
    before(function () {
        requireUpstream(this);
    });

    describe("every Istio resource the program declares", () => {
        const runs: { label: string; run: ProgramRun<any> }[] = [];

        before(async function () {
            this.timeout(120_000);
            const add = (label: string, run: ProgramRun<any>) => {
                runs.push({ label, run });
                return run;
            };
            add("mtls STRICT (default), no samples", await runProgram(program, { trustDomain: "cluster1.demo", clusterName: "cluster1" }));
            add(
                "mtls PERMISSIVE, every sample but Bookinfo",
                await runProgram(program, {
                    trustDomain: "cluster1.demo",
                    clusterName: "cluster1",
                    mtlsMode: "PERMISSIVE",
                    samples: ["sleep-httpbin", "curl-greeter"],
                }),
            );
            // The federated call, both sides (as in test/federatedCall.test.ts).
            const client = add(
                "curl-greeter side, peer not yet running Bookinfo",
                await runProgram(
                    program,
                    { ...CLUSTER1, samples: ["sleep-httpbin", "curl-greeter"] },
                    // The peer stack exists (created before the first `pulumi up`) and has no outputs yet.
                    { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: {} } },
                    "cluster1",
                ),
            );
            add(
                "Bookinfo side, mtls PERMISSIVE, peer without curl-greeter",
                await runProgram(
                    program,
                    { ...CLUSTER2, samples: ["bookinfo"], mtlsMode: "PERMISSIVE" },
                    { ownBundle: bundle("cluster2.demo"), stackOutputs: { [`${ORG}/cluster1`]: { ...client.outputs, samples: {} } } },
                    "cluster2",
                ),
            );
            const serverAtIp = add(
                "Bookinfo side, peer curl-greeter, gateway at an IP",
                await runProgram(
                    program,
                    { ...CLUSTER2, samples: ["bookinfo"] },
                    { ownBundle: bundle("cluster2.demo"), gatewayIngress: [{ ip: "198.51.100.20" }], stackOutputs: { [`${ORG}/cluster1`]: client.outputs } },
                    "cluster2",
                ),
            );
            const serverAtName = add(
                "Bookinfo side, peer curl-greeter, gateway at a hostname",
                await runProgram(
                    program,
                    { ...CLUSTER2, samples: ["bookinfo", "sleep-httpbin"] },
                    {
                        ownBundle: bundle("cluster2.demo"),
                        gatewayIngress: [{ hostname: "gateway.cluster2.example.com" }],
                        stackOutputs: { [`${ORG}/cluster1`]: client.outputs },
                    },
                    "cluster2",
                ),
            );
            add(
                "curl-greeter side, peer Bookinfo at an IP",
                await runProgram(
                    program,
                    { ...CLUSTER1, samples: ["sleep-httpbin", "curl-greeter"] },
                    { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: serverAtIp.outputs } },
                    "cluster1",
                ),
            );
            add(
                "curl-greeter side, mtls PERMISSIVE, peer Bookinfo at a hostname",
                await runProgram(
                    program,
                    { ...CLUSTER1, samples: ["curl-greeter"], mtlsMode: "PERMISSIVE" },
                    { ownBundle: bundle("cluster1.demo"), stackOutputs: { [`${ORG}/cluster2`]: serverAtName.outputs } },
                    "cluster1",
                ),
            );
        });

        it("covers both ServiceEntry resolutions (STATIC for an IP, DNS for a hostname) and both mTLS modes", () => {
            const entries = runs.flatMap(({ run }) => run.declared.filter((d) => isIstioResource(d) && d.inputs.kind === "ServiceEntry"));
            expect(entries.map((d) => d.inputs.spec.resolution).sort()).to.deep.equal(["DNS", "STATIC"]);
            expect(entries.map((d) => d.inputs.spec.endpoints[0].address).sort()).to.deep.equal(["198.51.100.20", "gateway.cluster2.example.com"]);
            const modes = runs.flatMap(({ run }) => run.declared.filter((d) => isIstioResource(d) && d.inputs.kind === "PeerAuthentication"));
            expect([...new Set(modes.map((d) => d.inputs.spec.mtls.mode))].sort()).to.deep.equal(["PERMISSIVE", "STRICT"]);
        });

        it("validates exactly the Istio kinds the program declares, each at a version Istio 1.30.3 serves", () => {
            const declared = runs.flatMap(({ run }) => run.declared.filter(isIstioResource));
            const kinds = [...new Set(declared.map((d) => d.inputs.kind as string))].sort();
            expect(kinds).to.deep.equal(DECLARED_KINDS);
            for (const d of declared) {
                // The Pulumi type names the same group, version and kind as the object.
                expect(d.type, identify(d)).to.equal(`kubernetes:${d.inputs.apiVersion}:${d.inputs.kind}`);
                expect(() => istioCrdVersion(d.inputs.apiVersion, d.inputs.kind), identify(d)).not.to.throw();
            }
        });

        it("declares only Istio resources the CRDs accept: schema, pruning and every CEL rule", () => {
            let validated = 0;
            const problems: string[] = [];
            for (const { label, run } of runs) {
                for (const d of run.declared.filter(isIstioResource)) {
                    validated++;
                    problems.push(...istioResourceProblems(d.inputs as JsonObject).map((p) => `${label}: ${identify(d)}: ${p}`));
                }
            }
            expect(problems).to.deep.equal([]);
            expect(validated).to.be.at.least(DECLARED_KINDS.length);
        });

        it("gives the real ServiceEntry a port the CEL rule rejects when it is 0 or 70000", () => {
            const run = runs.find((r) => r.label === "curl-greeter side, peer Bookinfo at an IP")!.run;
            const entry = clone(named(run.declared, "bookinfo-cluster2.demo-service-entry").inputs);
            expect(istioResourceProblems(entry)).to.deep.equal([]);
            entry.spec.ports[0].number = 0;
            expect(istioResourceProblems(entry)).to.deep.equal(['spec.ports[0].number: rule "0 < self && self <= 65535" failed: port must be between 1-65535']);
            entry.spec.ports[0].number = 70000;
            entry.spec.ports[0].targetPort = 0;
            expect(istioResourceProblems(entry)).to.deep.equal([
                'spec.ports[0].number: rule "0 < self && self <= 65535" failed: port must be between 1-65535',
                'spec.ports[0].targetPort: rule "0 < self && self <= 65535" failed: port must be between 1-65535',
            ]);
        });
    });

    describe("the validator bites", () => {
        const meta = { name: "example", namespace: "default" };
        const serviceEntry = () => ({
            apiVersion: "networking.istio.io/v1",
            kind: "ServiceEntry",
            metadata: { ...meta },
            spec: {
                hosts: ["bookinfo.cluster2.demo"],
                location: "MESH_EXTERNAL",
                resolution: "STATIC",
                ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: 443 }],
                endpoints: [{ address: "198.51.100.20" }],
            } as any,
        });
        const virtualService = (timeout: string) => ({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { ...meta },
            spec: { hosts: ["bookinfo.cluster2.demo"], http: [{ timeout, route: [{ destination: { host: "productpage", port: { number: 9080 } } }] }] },
        });
        const destinationRule = (connectTimeout: string) => ({
            apiVersion: "networking.istio.io/v1",
            kind: "DestinationRule",
            metadata: { ...meta },
            spec: { host: "bookinfo.cluster2.demo", trafficPolicy: { connectionPool: { tcp: { connectTimeout } }, tls: { mode: "ISTIO_MUTUAL" } } },
        });
        const authorizationPolicy = (spec: object) => ({ apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { ...meta }, spec });
        const DURATION_RULE = "duration(self) >= duration('1ms')";

        it("accepts the well-formed examples", () => {
            expect(istioResourceProblems(serviceEntry())).to.deep.equal([]);
            expect(istioResourceProblems(virtualService("1.5s"))).to.deep.equal([]);
            expect(istioResourceProblems(destinationRule("1ms"))).to.deep.equal([]);
            expect(istioResourceProblems(authorizationPolicy({ selector: { matchLabels: { istio: "ingressgateway" } }, action: "DENY" }))).to.deep.equal([]);
        });

        it("rejects ServiceEntry ports out of 1-65535, duplicated port numbers, and NONE resolution with endpoints", () => {
            const zero = serviceEntry();
            zero.spec.ports[0].number = 0;
            expect(istioResourceProblems(zero)).to.deep.equal(['spec.ports[0].number: rule "0 < self && self <= 65535" failed: port must be between 1-65535']);
            const high = serviceEntry();
            high.spec.ports[0].number = 70000;
            expect(istioResourceProblems(high)).to.deep.equal(['spec.ports[0].number: rule "0 < self && self <= 65535" failed: port must be between 1-65535']);
            const twice = serviceEntry();
            twice.spec.ports.push({ number: 80, name: "http-2", protocol: "HTTP" });
            expect(istioResourceProblems(twice)).to.deep.equal([
                'spec.ports: rule "self.all(l1, self.exists_one(l2, l1.number == l2.number))" failed: port number cannot be duplicated',
            ]);
            const none = serviceEntry();
            none.spec.resolution = "NONE";
            expect(istioResourceProblems(none)).to.deep.equal([
                'spec: rule "((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true" failed: NONE mode cannot set endpoints',
            ]);
            // An absent resolution defaults to NONE in the rule.
            delete none.spec.resolution;
            expect(istioResourceProblems(none)).to.deep.equal([
                'spec: rule "((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true" failed: NONE mode cannot set endpoints',
            ]);
        });

        it("rejects a VirtualService or DestinationRule duration under 1ms, or one Go cannot parse", () => {
            expect(istioResourceProblems(virtualService("0.5ms"))).to.deep.equal([
                `spec.http[0].timeout: rule "${DURATION_RULE}" failed: must be a valid duration greater than 1ms`,
            ]);
            // Go's time.ParseDuration takes "0" without a unit; 0 is under 1ms.
            expect(istioResourceProblems(virtualService("0"))).to.deep.equal([
                `spec.http[0].timeout: rule "${DURATION_RULE}" failed: must be a valid duration greater than 1ms`,
            ]);
            expect(istioResourceProblems(virtualService("1d"))).to.deep.equal([
                `spec.http[0].timeout: rule "${DURATION_RULE}" failed: evaluation error: time: unknown unit "d" in duration "1d"`,
            ]);
            expect(istioResourceProblems(destinationRule("0s"))).to.deep.equal([
                `spec.trafficPolicy.connectionPool.tcp.connectTimeout: rule "${DURATION_RULE}" failed: must be a valid duration greater than 1ms`,
            ]);
            expect(istioResourceProblems(destinationRule("ten seconds"))).to.deep.equal([
                `spec.trafficPolicy.connectionPool.tcp.connectTimeout: rule "${DURATION_RULE}" failed: evaluation error: time: invalid duration "ten seconds"`,
            ]);
        });

        it("rejects misspelled fields, at any depth, as Kubernetes pruning would drop them", () => {
            const entry = serviceEntry();
            entry.spec.resolutoin = "DNS";
            entry.spec.ports[0].nmber = 81;
            expect(istioResourceProblems(entry)).to.deep.equal([
                'spec: unknown field "resolutoin" (Kubernetes would prune it)',
                'spec.ports[0]: unknown field "nmber" (Kubernetes would prune it)',
            ]);
            const rule = destinationRule("1s") as any;
            rule.spec.trafficPolicy.tsl = rule.spec.trafficPolicy.tls;
            delete rule.spec.trafficPolicy.tls;
            rule.metadata.lables = { app: "x" };
            rule.extra = true;
            expect(istioResourceProblems(rule)).to.deep.equal([
                '<root>: unknown field "extra" (Kubernetes would prune it)',
                'metadata: unknown field "lables" (Kubernetes would prune it)',
                'spec.trafficPolicy: unknown field "tsl" (Kubernetes would prune it)',
            ]);
        });

        it("rejects wrong types, enums and names, and a kind or version Istio does not serve", () => {
            const entry = serviceEntry();
            entry.spec.ports[0].number = "80";
            entry.spec.location = "EXTERNAL";
            entry.metadata.name = "Example_1";
            expect(istioResourceProblems(entry)).to.deep.equal([
                'metadata.name: pattern {"pattern":"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"} must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"',
                'spec.location: enum {"allowedValues":["MESH_EXTERNAL","MESH_INTERNAL"]} must be equal to one of the allowed values',
                'spec.ports[0].number: type {"type":"integer"} must be integer',
            ]);
            expect(() => istioResourceProblems({ ...serviceEntry(), apiVersion: "networking.istio.io/v2" })).to.throw(
                "Istio 1.30.3 serves no ServiceEntry at networking.istio.io/v2 (served: networking.istio.io/v1, networking.istio.io/v1alpha3, networking.istio.io/v1beta1)",
            );
            expect(() => istioResourceProblems({ ...serviceEntry(), kind: "ServiceEntries" })).to.throw(
                "Istio 1.30.3 serves no ServiceEntries at networking.istio.io/v1 (no such kind)",
            );
        });

        it("rejects AuthorizationPolicies that break its CEL rules", () => {
            expect(
                istioResourceProblems(
                    authorizationPolicy({
                        selector: { matchLabels: { istio: "ingressgateway" } },
                        targetRefs: [{ kind: "Gateway", group: "gateway.networking.k8s.io", name: "g" }],
                    }),
                ),
            ).to.deep.equal([
                'spec: rule "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1" failed: only one of targetRefs or selector can be set',
            ]);
            expect(istioResourceProblems(authorizationPolicy({ selector: { matchLabels: { "app*": "x", "": "y" } } }))).to.deep.equal([
                'spec.selector.matchLabels: rule "self.all(key, !key.contains("*"))" failed: wildcard not allowed in label key match',
                'spec.selector.matchLabels: rule "self.all(key, key.size() != 0)" failed: key must not be empty',
            ]);
            expect(
                istioResourceProblems(
                    authorizationPolicy({
                        action: "DENY",
                        rules: [
                            { from: [{ source: { serviceAccounts: ["default/curl-greeter"], notPrincipals: ["cluster1.demo/ns/default/sa/curl-greeter"] } }] },
                        ],
                    }),
                ),
            ).to.deep.equal([
                'spec.rules[0].from[0].source: rule "(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) &&\n!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true" failed: Cannot set serviceAccounts with namespaces or principals',
            ]);
        });

        it("rejects a PeerAuthentication with port-level mTLS and no selector, or a port key out of range", () => {
            const pa = (spec: object) => ({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { ...meta }, spec });
            expect(istioResourceProblems(pa({ mtls: { mode: "STRICT" } }))).to.deep.equal([]);
            expect(istioResourceProblems(pa({ portLevelMtls: { "8080": { mode: "DISABLE" } } }))).to.deep.equal([
                'spec: rule "has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? self.selector.matchLabels : {}).size() > 0) : true" failed: portLevelMtls requires selector',
            ]);
            expect(istioResourceProblems(pa({ selector: { matchLabels: { app: "x" } }, portLevelMtls: { "0": { mode: "DISABLE" } } }))).to.deep.equal([
                'spec.portLevelMtls: rule "self.all(key, 0 < int(key) && int(key) <= 65535)" failed: port must be between 1-65535',
            ]);
        });

        it("evaluates Kubernetes' url() and isURL() (RequestAuthentication jwksUri, WasmPlugin url)", () => {
            const ra = (jwksUri: string) => ({
                apiVersion: "security.istio.io/v1",
                kind: "RequestAuthentication",
                metadata: { ...meta },
                spec: { jwtRules: [{ issuer: "https://issuer.example", jwksUri }] },
            });
            const rule = 'url(self).getScheme() in ["http", "https"]';
            expect(istioResourceProblems(ra("https://issuer.example/jwks"))).to.deep.equal([]);
            expect(istioResourceProblems(ra("ftp://issuer.example/jwks"))).to.deep.equal([
                `spec.jwtRules[0].jwksUri: rule "${rule}" failed: url must have scheme http:// or https://`,
            ]);
            expect(istioResourceProblems(ra("issuer.example/jwks"))).to.deep.equal([
                `spec.jwtRules[0].jwksUri: rule "${rule}" failed: evaluation error: URL parse error during conversion from string: parse "issuer.example/jwks": invalid URI for request`,
            ]);
            const wasm = (url: string) => ({ apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin", metadata: { ...meta }, spec: { url } });
            expect(istioResourceProblems(wasm("oci://ghcr.io/example/filter:1.0"))).to.deep.equal([]);
            expect(istioResourceProblems(wasm("ghcr.io/example/filter:1.0"))).to.deep.equal([]);
            expect(istioResourceProblems(wasm("ftp://example.com/filter.wasm"))).to.have.length(1);
        });
    });

    describe("the CEL function library", () => {
        it("compiles every x-kubernetes-validations rule in crd-all.gen.yaml, with self typed by its schema node", () => {
            const failures: string[] = [];
            let count = 0;
            for (const crd of istioCrdVersions()) {
                for (const site of ruleSites(crd.schema)) {
                    count++;
                    const compiled = compileRule(site.rule, site.schema);
                    if (!compiled.ok) {
                        failures.push(`cannot evaluate rule ${JSON.stringify(site.rule)} (${crd.apiVersion} ${crd.kind} ${site.path}): ${compiled.error}`);
                    }
                }
            }
            expect(failures).to.deep.equal([]);
            // Every rule in the file is reached through properties, items and additionalProperties, as Kubernetes reaches them.
            const inFile = fs.readFileSync(istioCrdFile(), "utf8").match(/^\s*(?:- )?rule:/gm)?.length ?? 0;
            expect(count).to.equal(inFile);
            expect(count).to.be.greaterThan(300);
        });

        it("reports a rule that needs an unregistered function as one it cannot evaluate, never as a pass", () => {
            const schema = { type: "string", "x-kubernetes-validations": [{ rule: "isIP(self)", message: "must be an IP" }] };
            expect(compileRule("isIP(self)", schema)).to.deep.include({ ok: false });
        });

        it("parses durations as Go's time.ParseDuration does", () => {
            expect(goDurationOrThrow("0")).to.equal(0n);
            expect(goDurationOrThrow("1h30m")).to.equal(5_400_000_000_000n);
            expect(goDurationOrThrow("1.5s")).to.equal(1_500_000_000n);
            expect(goDurationOrThrow(".5ms")).to.equal(500_000n);
            expect(goDurationOrThrow("1.s")).to.equal(1_000_000_000n);
            expect(goDurationOrThrow("-2us")).to.equal(-2_000n);
            expect(goDurationOrThrow("3µs")).to.equal(3_000n);
            expect(goDurationOrThrow("+1m1ns")).to.equal(60_000_000_001n);
            for (const bad of ["", "ms", ".s", "1", "1.5", "-", "1 s", "10000000000h"]) {
                expect(() => goDurationOrThrow(bad), bad).to.throw(/^time: /);
            }
            expect(() => goDurationOrThrow("1d")).to.throw('time: unknown unit "d" in duration "1d"');
        });

        it("rewrites only calls of the global duration() and int(), never string contents or member calls", () => {
            expect(rewriteCalls("duration(self) >= duration('1ms')")).to.equal("k8s_go_duration(self) >= k8s_go_duration('1ms')");
            expect(rewriteCalls("self.all(key, 0 < int(key))")).to.equal("self.all(key, 0 < k8s_go_int(key))");
            expect(rewriteCalls("self == \"duration(x)\" || self.duration(1) || duration == 1 || r\"int(\" == '''int('''")).to.equal(
                "self == \"duration(x)\" || self.duration(1) || duration == 1 || r\"int(\" == '''int('''",
            );
        });

        it("converts strings to int as strconv.ParseInt(s, 10, 64) does", () => {
            expect(parseGoInt("8080")).to.equal(8080n);
            expect(parseGoInt("+7")).to.equal(7n);
            expect(parseGoInt("-9223372036854775808")).to.equal(-(2n ** 63n));
            expect(parseGoInt("007")).to.equal(7n);
            for (const bad of ["", " 1", "0x10", "0X10", "0b1", "0o7", "1_000", "1e3", "8.0", "9223372036854775808"]) {
                expect(() => parseGoInt(bad), bad).to.throw(/^strconv.ParseInt: /);
            }
            // A port key Go cannot parse is an evaluation error, as in Kubernetes (BigInt would read "0X50" as 80).
            const pa = {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "x" },
                spec: { selector: { matchLabels: { a: "b" } }, portLevelMtls: { "0X50": {} } },
            };
            expect(istioResourceProblems(pa)).to.deep.equal([
                'spec.portLevelMtls: rule "self.all(key, 0 < int(key) && int(key) <= 65535)" failed: evaluation error: strconv.ParseInt: parsing "0X50": invalid syntax',
            ]);
        });

        it("evaluates matches() only with patterns RE2 and JavaScript read alike, and says so otherwise", () => {
            expect(unfaithfulRegexes('key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")')).to.deep.equal([]);
            expect(unfaithfulRegexes('self.matches("^a.b$") && self.matches("(?=x)") && self.matches("\\\\s") && self.matches(self)')).to.deep.equal([
                'pattern "^a.b$"',
                'pattern "(?=x)"',
                'pattern "\\\\s"',
                'a non-literal pattern at "self)"',
            ]);
            const compiled = compileRule('self.matches("^a.b$")', { type: "string" });
            expect(compiled.ok).to.equal(false);
            expect(compiled)
                .to.have.property("error")
                .that.matches(/^matches\(\) with pattern "\^a\.b\$": RE2 and JavaScript may disagree/);
        });

        it("parses URLs as Go's net/url does for Kubernetes' url() and isURL()", () => {
            expect(kubernetesIsUrl("https://example.com:8443/a?b=c")).to.equal(true);
            expect(kubernetesIsUrl("/absolute/path")).to.equal(true);
            expect(kubernetesIsUrl("mailto:someone")).to.equal(true); // opaque
            for (const bad of ["", "example.com/x", "http://exa mple.com/", "http://example.com:80a/", "http://[::1/", "://x", "http://x/%zz"]) {
                expect(kubernetesIsUrl(bad), bad).to.equal(false);
            }
            const u = kubernetesUrl("HTTPS://user@[2001:db8::1]:8443/p#frag");
            expect([u.scheme, u.host, u.hostname(), u.port()]).to.deep.equal(["https", "[2001:db8::1]:8443", "2001:db8::1", "8443"]);
        });
    });
});
