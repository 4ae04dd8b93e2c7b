// Every class of bad input (issue 10, point 5), run through the real program under the mock runtime: each stack
// config is refused with one message naming the key, the value and what is expected, and no Kubernetes resource is
// declared before it. Configs are given as the program receives them (harness runProgram: project keys without the
// prefix, other namespaces with theirs, lists and mappings as JSON), or as stack file text read the way Pulumi reads it
// (render's loadStackSources: unprefixed keys are the project's, a YAML null is ""; harness configText).

import { expect } from "chai";
import { Declared, World, runProgramExpectingError } from "../tools/mock-engine/harness";
import { renderStacks } from "../tools/render/render";
import { loadStackSources } from "../tools/stack-files/stackFiles";
import { fixtureBundle, removeTestProject, testProject } from "./testStacks";

const program: () => Promise<any> = require("../index");

const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const PEER2 = "organization/istio-spire/cluster2";

/** Expected messages end with what is expected; these are the common endings. */
const TD = 'e.g. "cluster1.demo"';
const ISTIO = "Istio's meshConfig.trustDomain takes only dot-separated DNS labels";
const URL_EXPECTED = 'expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"';
const REPO_EXPECTED = 'expected an "https://" chart repository URL or an "oci://" registry reference without credentials';
const DURATION = 'expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)';
const OWNED =
    'is a namespace Kubernetes owns; this program creates its namespace and deletes it on `pulumi destroy`, so give it one of its own, e.g. "spire-server" or "istio-system"';
const NULL = "is a YAML null (a key written without a value); expected";
const PEERS_LIST = 'a list like [{"stack": "<org>/istio-spire/cluster2"}]';

/** A stack file's config as the program gets it, from the file's YAML text. */
function fromStackFile(yaml: string): Record<string, unknown> {
    const dir = testProject({ cluster1: yaml });
    try {
        const [source] = loadStackSources(dir);
        return { ...source.config, ...source.otherConfig };
    } finally {
        removeTestProject(dir);
    }
}

/** What cluster2 exports, with some fields replaced. */
function peer2(federation: Record<string, unknown>): World {
    return {
        stackOutputs: {
            [PEER2]: {
                federation: {
                    trustDomain: "cluster2.demo",
                    bundleEndpointUrl: "https://203.0.113.20:8443",
                    endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
                    trustBundle: fixtureBundle("cluster2.demo"),
                    ...federation,
                },
            },
        },
    };
}

interface Case {
    what: string;
    config: Record<string, unknown>;
    world?: World;
    /** The whole error message. */
    message: string;
}

const config = (problem: string) => `Invalid configuration: ${problem}`;
const longLabels = ["a", "b", "c", "d"].map((c) => c.repeat(61)).join("."); // 247 characters, each label valid

const CASES: Case[] = [
    // Trust domains SPIFFE allows and Istio refuses, or that cannot name a Kubernetes object.
    ...(
        [
            ["_", `contains "_", which SPIFFE allows but ${ISTIO} (letters, digits and "-"), ${TD}`],
            ["cluster_1.demo", `contains "_", which SPIFFE allows but ${ISTIO} (letters, digits and "-"), ${TD}`],
            [".demo", `has an empty label (it starts with "." or contains ".."); ${ISTIO}, ${TD}`],
            ["a..b", `has an empty label (it starts with "." or contains ".."); ${ISTIO}, ${TD}`],
            ["-cluster1.demo", `has the label "-cluster1", which starts or ends with "-"; ${ISTIO}, each starting and ending with a letter or digit, ${TD}`],
            ["cluster1.-demo", `has the label "-demo", which starts or ends with "-"; ${ISTIO}, each starting and ending with a letter or digit, ${TD}`],
            [`${"x".repeat(64)}.demo`, `has a label of 64 characters; ${ISTIO} of at most 63 characters each, ${TD}`],
            [
                "cluster1.demo.",
                'ends with "."; a peer names its ClusterFederatedTrustDomain after the trust domain and a Kubernetes name cannot end with ".", so write it without the trailing dot, e.g. "cluster1.demo"',
            ],
        ] as [string, string][]
    ).map(([trustDomain, reason]) => ({
        what: `the trust domain ${JSON.stringify(trustDomain.length > 30 ? `${trustDomain.slice(0, 8)}…` : trustDomain)}`,
        config: { ...CLUSTER1, trustDomain },
        message: config(`trustDomain: ${JSON.stringify(trustDomain)} ${reason}`),
    })),
    {
        // Before: accepted, then Bookinfo's FederatedServiceAccess failed on its host after SPIRE and Istio were declared.
        what: "a trust domain with an underscore on a stack that serves Bookinfo (refused for the trust domain, not the Bookinfo host)",
        config: { ...CLUSTER1, trustDomain: "cluster_1.demo", samples: ["bookinfo"] },
        message: config(`trustDomain: "cluster_1.demo" contains "_", which SPIFFE allows but ${ISTIO} (letters, digits and "-"), ${TD}`),
    },
    {
        what: "a trust domain too long for the Bookinfo host it makes",
        config: { ...CLUSTER1, trustDomain: longLabels, caSubjectCommonName: "SPIRE CA", samples: ["bookinfo"] },
        message: config(
            `trustDomain: "${longLabels.slice(0, 99)}…(249 characters) makes the Bookinfo host "bookinfo.${longLabels.slice(0, 90)}…(258 characters) (samples: "bookinfo"), which is 256 characters long; a DNS name is at most 253 characters`,
        ),
    },
    {
        what: "a trust domain whose last label is all digits, on a stack that serves Bookinfo",
        config: { ...CLUSTER1, trustDomain: "cluster1.42", samples: ["bookinfo"] },
        message: config(
            'trustDomain: "cluster1.42" makes the Bookinfo host "bookinfo.cluster1.42" (samples: "bookinfo"), which ends in the all-numeric label "42", which Istio refuses as a host\'s top-level domain, e.g. "bookinfo.cluster2.demo"',
        ),
    },
    {
        what: "a trust domain longer than an X.509 common name, which the CA's common name defaults to",
        config: { ...CLUSTER1, trustDomain: `${"c".repeat(60)}.demo` },
        message: config(
            `caSubjectCommonName: "" means the trust domain ("${"c".repeat(60)}.demo"), which is 65 characters long; RFC 5280 (ub-common-name) allows an X.509 common name (CN) of at most 64 characters; set caSubjectCommonName to a shorter name`,
        ),
    },

    // Empty and null values.
    {
        what: '`trustDomain:` with nothing after it in the stack file (Pulumi reads "")',
        config: fromStackFile("config:\n  istio-spire:trustDomain:\n  istio-spire:clusterName: cluster1\n"),
        message: config(`trustDomain: "" is empty; expected a SPIFFE trust domain name, ${TD}`),
    },
    {
        what: "a trust domain that is the text of a YAML null (a null from an ESC environment)",
        config: { ...CLUSTER1, trustDomain: "null" },
        message: config(`trustDomain: "null" ${NULL} a SPIFFE trust domain name, ${TD}`),
    },
    {
        what: "a null cluster name",
        config: { ...CLUSTER1, clusterName: "null" },
        message: config(`clusterName: "null" ${NULL} the cluster's name, an RFC 1123 label, e.g. "cluster1"`),
    },
    {
        what: "an empty SPIRE namespace",
        config: { ...CLUSTER1, spireNamespace: "" },
        message: config('spireNamespace: "" is empty; expected a namespace name, e.g. "spire-server", or remove the key for the default "spire-server"'),
    },
    {
        what: "a null Istio namespace",
        config: { ...CLUSTER1, istioNamespace: "null" },
        message: config(`istioNamespace: "null" ${NULL} a namespace name, e.g. "istio-system", or remove the key for the default "istio-system"`),
    },
    {
        what: "an empty CA TTL",
        config: { ...CLUSTER1, caTTL: "" },
        message: config('caTTL: "" is empty; expected a duration, e.g. "720h", or remove the key for the default "720h"'),
    },
    {
        what: "an empty mTLS mode",
        config: { ...CLUSTER1, mtlsMode: "" },
        message: config('mtlsMode: "" is empty; expected one of "STRICT", "PERMISSIVE", or remove the key for the default "STRICT"'),
    },
    {
        what: "an empty CA organization",
        config: { ...CLUSTER1, caSubjectOrganization: "" },
        message: config('caSubjectOrganization: "" is empty; expected an organization name, e.g. "SPIRE", or remove the key for the default "SPIRE"'),
    },
    {
        what: "an empty chart version",
        config: { ...CLUSTER1, spireChartVersion: "" },
        message: config('spireChartVersion: "" is empty; expected an exact chart version, e.g. "0.30.0", or remove the key for the default "0.30.0"'),
    },
    {
        what: "a null boolean",
        config: { ...CLUSTER1, nativeSidecars: "null" },
        message: config(`nativeSidecars: "null" ${NULL} "true" or "false", or remove the key for the default true`),
    },
    {
        what: "`peers:` with nothing after it in the stack file",
        config: fromStackFile("config:\n  istio-spire:trustDomain: cluster1.demo\n  istio-spire:clusterName: cluster1\n  istio-spire:peers:\n"),
        message: config(`peers: "" is empty; expected ${PEERS_LIST}, or remove the key for the default []`),
    },
    {
        what: "null peers",
        config: { ...CLUSTER1, peers: "null" },
        message: config(`peers: "null" ${NULL} ${PEERS_LIST}, or remove the key for the default []`),
    },
    {
        what: "null samples",
        config: { ...CLUSTER1, samples: "null" },
        message: config(`samples: "null" ${NULL} a list of "sleep-httpbin", "bookinfo", "curl-greeter", or remove the key for the default []`),
    },

    // URLs JavaScript's URL parser accepts and Go's url.Parse (SPIRE, the controller manager, Helm) does not.
    ...(
        [
            [
                " https://spire.cluster1.example.com:8443",
                `has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${URL_EXPECTED}`,
            ],
            [
                "https://spire.cluster1.example.com:8443 ",
                `has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${URL_EXPECTED}`,
            ],
            ["https:///spire.cluster1.example.com", `has no host; ${URL_EXPECTED}`],
            ["https:spire.cluster1.example.com", `has no host; ${URL_EXPECTED}`],
            ["https://@spire.cluster1.example.com", `contains user info; ${URL_EXPECTED}`],
            ["https://spire.cluster1\texample.com", `is not a URL (Go's url.Parse: net/url: invalid control character in URL); ${URL_EXPECTED}`],
            ["https://spire%2Ecluster1.example.com", `is not a URL (Go's url.Parse: invalid URL escape "%2E"); ${URL_EXPECTED}`],
            ["https://spire.cluster1.example.com:0", `has port "0"; a TCP port is 1 to 65535; ${URL_EXPECTED}`],
        ] as [string, string][]
    ).map(([bundleEndpointUrl, reason]) => ({
        what: `the bundle endpoint URL ${JSON.stringify(bundleEndpointUrl)}`,
        config: { ...CLUSTER1, bundleEndpointUrl },
        message: config(`bundleEndpointUrl: ${JSON.stringify(bundleEndpointUrl)} ${reason}`),
    })),
    {
        what: "a chart repository without a host",
        config: { ...CLUSTER1, spireChartRepository: "https:///helm-charts-hardened/" },
        message: config(`spireChartRepository: "https:///helm-charts-hardened/" has no host; ${REPO_EXPECTED}`),
    },
    {
        what: "a chart repository with leading whitespace",
        config: { ...CLUSTER1, istioChartRepository: " https://istio-release.storage.googleapis.com/charts" },
        message: config(
            `istioChartRepository: " https://istio-release.storage.googleapis.com/charts" has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${REPO_EXPECTED}`,
        ),
    },

    // Namespaces the program must never create or own.
    ...["kube-system", "kube-public", "kube-node-lease", "default"].map((ns) => ({
        what: `${ns} as the SPIRE namespace`,
        config: { ...CLUSTER1, spireNamespace: ns },
        message: config(`spireNamespace: ${JSON.stringify(ns)} ${OWNED}`),
    })),
    ...["kube-system", "kube-public", "kube-node-lease", "default"].map((ns) => ({
        what: `${ns} as the Istio namespace`,
        config: { ...CLUSTER1, istioNamespace: ns },
        message: config(`istioNamespace: ${JSON.stringify(ns)} ${OWNED}`),
    })),

    // Keys nothing would read: a misspelt namespace. (Keys without a namespace are the project's: see below.)
    {
        what: "a key in a namespace one typo away (istio-spyre:mtlsMode)",
        config: { ...CLUSTER1, "istio-spyre:mtlsMode": "PERMISSIVE" },
        message: config(
            'istio-spyre:mtlsMode: is in namespace "istio-spyre", not this project\'s "istio-spire", so nothing reads it; did you mean "istio-spire:mtlsMode"?',
        ),
    },
    {
        what: "a key in a namespace with another case and separator (Istio_Spire:caTTL)",
        config: { ...CLUSTER1, "Istio_Spire:caTTL": "24h" },
        message: config(
            'Istio_Spire:caTTL: is in namespace "Istio_Spire", not this project\'s "istio-spire", so nothing reads it; did you mean "istio-spire:caTTL"?',
        ),
    },
    {
        what: "an unknown key in a misspelt namespace",
        config: { ...CLUSTER1, "istiospire:meshId": "mesh1" },
        message: config('istiospire:meshId: is in namespace "istiospire", not this project\'s "istio-spire", so nothing reads it (see docs/configuration.md)'),
    },
    {
        what: "a misspelt namespace in a stack file",
        config: fromStackFile("config:\n  istio-spire:trustDomain: cluster1.demo\n  istio-spire:clusterName: cluster1\n  istio-spyre:mtlsMode: PERMISSIVE\n"),
        message: config(
            'istio-spyre:mtlsMode: is in namespace "istio-spyre", not this project\'s "istio-spire", so nothing reads it; did you mean "istio-spire:mtlsMode"?',
        ),
    },
    {
        what: "a bad value of a key written without the prefix in a stack file (Pulumi reads it as the project's: it is checked)",
        config: fromStackFile("config:\n  trustDomain: cluster1.demo\n  clusterName: cluster1\n  mtlsMode: DISABLE\n"),
        message: config('mtlsMode: "DISABLE" is not one of "STRICT", "PERMISSIVE"'),
    },
    {
        what: "an unknown key written without the prefix in a stack file",
        config: fromStackFile("config:\n  trustDomain: cluster1.demo\n  clusterName: cluster1\n  mtlsmode: PERMISSIVE\n"),
        message: config('mtlsmode: "PERMISSIVE" is not a setting of this program; did you mean "mtlsMode"?'),
    },

    // Go duration bounds, SPIRE's refresh hint floor, RFC 5280's subject bounds.
    {
        what: "a CA TTL beyond Go's duration range",
        config: { ...CLUSTER1, caTTL: "99999999999h" },
        message: config(
            `caTTL: "99999999999h" is longer than a Go duration can be (at most "2562047h47m16.854775807s"; time.ParseDuration: "invalid duration"); ${DURATION}`,
        ),
    },
    {
        what: "a CA TTL one nanosecond beyond Go's duration range",
        config: { ...CLUSTER1, caTTL: "2562047h47m16.854775808s" },
        message: config(
            `caTTL: "2562047h47m16.854775808s" is longer than a Go duration can be (at most "2562047h47m16.854775807s"; time.ParseDuration: "invalid duration"); ${DURATION}`,
        ),
    },
    {
        what: "a negative CA TTL",
        config: { ...CLUSTER1, caTTL: "-720h" },
        message: config(`caTTL: "-720h" is not a positive duration; ${DURATION}`),
    },
    {
        what: "a refresh hint under SPIRE's one-minute floor",
        config: { ...CLUSTER1, federationRefreshHint: "30s" },
        message: config(
            'federationRefreshHint: "30s" is shorter than "1m", SPIRE\'s minimum refresh hint (peers never refresh a bundle more often than once a minute); expected at least "1m", e.g. "5m"',
        ),
    },
    {
        what: "a refresh hint of one millisecond",
        config: { ...CLUSTER1, federationRefreshHint: "1ms" },
        message: config(
            'federationRefreshHint: "1ms" is shorter than "1m", SPIRE\'s minimum refresh hint (peers never refresh a bundle more often than once a minute); expected at least "1m", e.g. "5m"',
        ),
    },
    {
        what: "a refresh hint beyond Go's duration range",
        config: { ...CLUSTER1, federationRefreshHint: "9999999999h" },
        message: config(
            `federationRefreshHint: "9999999999h" is longer than a Go duration can be (at most "2562047h47m16.854775807s"; time.ParseDuration: "invalid duration"); ${DURATION}`,
        ),
    },
    {
        what: "a CA common name over 64 characters",
        config: { ...CLUSTER1, caSubjectCommonName: "n".repeat(65) },
        message: config(
            `caSubjectCommonName: "${"n".repeat(65)}" is 65 characters long; RFC 5280 (ub-common-name) allows an X.509 common name (CN) of at most 64 characters`,
        ),
    },
    {
        what: "a CA organization over 64 characters",
        config: { ...CLUSTER1, caSubjectOrganization: "o".repeat(65) },
        message: config(
            `caSubjectOrganization: "${"o".repeat(65)}" is 65 characters long; RFC 5280 (ub-organization-name) allows an X.509 organization (O) of at most 64 characters`,
        ),
    },

    // Wrong types, answered for what they are.
    {
        what: "a string where the samples list is expected",
        config: { ...CLUSTER1, samples: "bookinfo" },
        message: config('samples: "bookinfo" is not a list; expected a list of "sleep-httpbin", "bookinfo", "curl-greeter"'),
    },
    {
        what: "a string where the enrolled namespaces list is expected",
        config: { ...CLUSTER1, enrolledNamespaces: "default" },
        message: config('enrolledNamespaces: "default" is not a list; expected a list of namespace names, e.g. ["default"]'),
    },
    {
        what: "a string where the peers list is expected",
        config: { ...CLUSTER1, peers: PEER2 },
        message: config(`peers: "${PEER2}" is not a list; expected ${PEERS_LIST}`),
    },
    {
        what: "a list as the trust domain",
        config: { ...CLUSTER1, trustDomain: ["cluster1.demo"] },
        message: config(`trustDomain: ["cluster1.demo"] is a list, not a string; expected a SPIFFE trust domain name, ${TD}`),
    },
    {
        what: "a mapping as the trust domain",
        config: { ...CLUSTER1, trustDomain: { name: "cluster1.demo" } },
        message: config(`trustDomain: {"name":"cluster1.demo"} is a mapping, not a string; expected a SPIFFE trust domain name, ${TD}`),
    },
    {
        what: "a list trust domain in a stack file",
        config: fromStackFile("config:\n  istio-spire:trustDomain:\n    - cluster1.demo\n  istio-spire:clusterName: cluster1\n"),
        message: config(`trustDomain: ["cluster1.demo"] is a list, not a string; expected a SPIFFE trust domain name, ${TD}`),
    },
    {
        what: "a list as the cluster name",
        config: { ...CLUSTER1, clusterName: ["cluster1"] },
        message: config('clusterName: ["cluster1"] is a list, not a string; expected the cluster\'s name, an RFC 1123 label, e.g. "cluster1"'),
    },
    {
        what: "a mapping as the bundle endpoint URL",
        config: { ...CLUSTER1, bundleEndpointUrl: { host: "spire.example.com" } },
        message: config(
            'bundleEndpointUrl: {"host":"spire.example.com"} is a mapping, not a string; expected an "https://" URL (empty: the load balancer address)',
        ),
    },
    {
        what: "a list as a boolean",
        config: { ...CLUSTER1, observability: [true] },
        message: config('observability: [true] is a list, not a boolean; expected "true" or "false"'),
    },

    // A stack listing itself as a peer (the mock runtime's organization is "acme").
    {
        what: "the stack itself as a peer",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }, { stack: "acme/istio-spire/cluster1" }] },
        message: config('peers[1].stack: "acme/istio-spire/cluster1" is this stack itself; list the other stacks to federate with, not this one'),
    },
];

/** Peer data read from peer stacks: the same trust domain and URL rules, named after the peer stack. */
const PEER_CASES: Case[] = [
    {
        what: "a peer trust domain with an underscore",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }] },
        world: peer2({ trustDomain: "cluster_2.demo", endpointSpiffeId: "spiffe://cluster_2.demo/spire/server" }),
        message: `Invalid peer data: peer "${PEER2}" federation.trustDomain: "cluster_2.demo" contains "_", which SPIFFE allows but ${ISTIO} (letters, digits and "-"), ${TD}`,
    },
    {
        what: "a peer trust domain with a trailing dot",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }] },
        world: peer2({ trustDomain: "cluster2.demo." }),
        message: `Invalid peer data: peer "${PEER2}" federation.trustDomain: "cluster2.demo." ends with "."; a peer names its ClusterFederatedTrustDomain after the trust domain and a Kubernetes name cannot end with ".", so write it without the trailing dot, e.g. "cluster2.demo"`,
    },
    {
        what: "a peer trust domain with an empty label",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }] },
        world: peer2({ trustDomain: "cluster2..demo" }),
        message: `Invalid peer data: peer "${PEER2}" federation.trustDomain: "cluster2..demo" has an empty label (it starts with "." or contains ".."); ${ISTIO}, ${TD}`,
    },
    {
        what: "a peer bundle endpoint URL with an empty authority",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }] },
        world: peer2({ bundleEndpointUrl: "https:///203.0.113.20:8443" }),
        message: `Invalid peer data: peer "${PEER2}" federation.bundleEndpointUrl: "https:///203.0.113.20:8443" has no host; ${URL_EXPECTED}`,
    },
    {
        what: "a peer bundle endpoint URL with leading whitespace",
        config: { ...CLUSTER1, peers: [{ stack: PEER2 }] },
        world: peer2({ bundleEndpointUrl: " https://203.0.113.20:8443" }),
        message: `Invalid peer data: peer "${PEER2}" federation.bundleEndpointUrl: " https://203.0.113.20:8443" has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${URL_EXPECTED}`,
    },
];

/** The Kubernetes resources among what was declared (a peer's StackReference is a read of the Pulumi backend). */
const kubernetesResources = (declared: Declared[]) => declared.filter((d) => !d.type.startsWith("pulumi:")).map((d) => `${d.type} ${d.name}`);

describe("every bad input is refused before any Kubernetes resource is declared", () => {
    for (const c of [...CASES, ...PEER_CASES]) {
        it(`refuses ${c.what}`, async () => {
            const { error, declared } = await runProgramExpectingError(program, c.config, c.world ?? {});
            expect(error.message).to.equal(c.message);
            expect(kubernetesResources(declared)).to.deep.equal([]);
        });
    }

    it("refuses a stack file naming its own stack as peer in the render's first pass, as the local backend's organization", async () => {
        const dir = testProject({
            cluster1: {
                "kubernetes:context": "cluster1",
                "istio-spire:trustDomain": "cluster1.demo",
                "istio-spire:clusterName": "cluster1",
                "istio-spire:peers": [{ stack: "organization/istio-spire/cluster1" }],
            },
        });
        try {
            const [render] = await renderStacks(program, loadStackSources(dir));
            expect(render).to.deep.equal({
                stack: "cluster1",
                ok: false,
                error: 'Invalid configuration: peers[0].stack: "organization/istio-spire/cluster1" is this stack itself; list the other stacks to federate with, not this one',
            });
        } finally {
            removeTestProject(dir);
        }
    });

    it("covers more than fifty bad stacks", () => {
        expect(CASES.length + PEER_CASES.length).to.be.above(50);
    });

    it("still accepts what these rules leave valid: empty keys that mean their default, 63-character labels, the longest Go duration, one-minute hints", async () => {
        const { runProgram } = await import("../tools/mock-engine/harness");
        const run = await runProgram(program, {
            ...CLUSTER1,
            trustDomain: `${"a".repeat(63)}.cluster1.demo`,
            caSubjectCommonName: "SPIRE CA",
            bundleEndpointUrl: "",
            bundleEndpointTlsSecret: "",
            federationRefreshHint: "1m",
            caTTL: "2562047h47m16.854775807s",
            spireNamespace: "spire",
            "kubernetes:context": "cluster1",
            "istio:foo": "bar",
            caSubjectOrganization: "o".repeat(64),
        });
        expect(kubernetesResources(run.declared)).to.not.deep.equal([]);
    });
});
