import { expect } from "chai";
import {
    checkBundleEndpointUrl,
    checkConfigNamespace,
    checkOwnedNamespace,
    checkRefreshHint,
    checkX509SubjectAttribute,
    editDistance,
    parseGoDuration,
    parseGoUrl,
    checkChartRepository,
    checkDnsLabel,
    checkDuration,
    checkPinnedVersion,
    checkSpiffeId,
    checkTrustDomain,
    parseDuration,
} from "../components/validation";

describe("validation functions", () => {
    describe("checkTrustDomain", () => {
        it("accepts the trust domains of the federation seed and the 2025 guide", () => {
            for (const td of ["cluster1.demo", "cluster2.demo", "foo.com", "example.org", "a-b.c9", "9.demo", "demo"]) {
                expect(checkTrustDomain(td), td).to.equal(undefined);
            }
        });

        it("accepts exactly 255 characters and refuses 256", () => {
            const labels63 = ["a", "b", "c", "d"].map((c) => c.repeat(63)).join(".");
            expect(labels63.length).to.equal(255);
            expect(checkTrustDomain(labels63)).to.equal(undefined);
            expect(checkTrustDomain("a".repeat(256))).to.equal("is 256 characters long; a SPIFFE trust domain is at most 255 characters");
        });

        it("says why each malformed trust domain is refused", () => {
            const cases: [string, string][] = [
                ["", 'is empty; expected a SPIFFE trust domain name, e.g. "cluster1.demo"'],
                [
                    "cluster 1.demo",
                    'contains whitespace; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"',
                ],
                ["Cluster1.Demo", 'contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster1.demo"'],
                ["spiffe://cluster1.demo", 'includes the "spiffe://" scheme; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["https://cluster1.demo", 'is a URL; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["cluster1.demo/ns/default", 'contains a path; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["cluster1.demo:8443", 'contains a port; a SPIFFE trust domain has no port, e.g. "cluster1.demo"'],
                [
                    "clüster.demo",
                    'contains "ü"; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"',
                ],
                [
                    "user@cluster1.demo",
                    'contains "@"; a trust domain contains only lowercase letters, digits, "." and "-" (SPIFFE also allows "_", Istio does not), e.g. "cluster1.demo"',
                ],
            ];
            for (const [value, reason] of cases) {
                expect(checkTrustDomain(value), JSON.stringify(value)).to.equal(reason);
            }
        });
    });

    describe("checkTrustDomain: what Istio's ValidateTrustDomain and Kubernetes names add to SPIFFE", () => {
        // Each is a valid SPIFFE trust domain (SPIRE takes it) that istiod's mesh config validation refuses, or, for
        // the trailing dot, that Istio takes but a ClusterFederatedTrustDomain named after it cannot be.
        const istio = "Istio's meshConfig.trustDomain takes only dot-separated DNS labels";
        const cases: [string, string][] = [
            ["cluster_1.demo", `contains "_", which SPIFFE allows but ${istio} (letters, digits and "-"), e.g. "cluster1.demo"`],
            ["_", `contains "_", which SPIFFE allows but ${istio} (letters, digits and "-"), e.g. "cluster1.demo"`],
            [".demo", `has an empty label (it starts with "." or contains ".."); ${istio}, e.g. "cluster1.demo"`],
            ["a..b", `has an empty label (it starts with "." or contains ".."); ${istio}, e.g. "cluster1.demo"`],
            [
                "-cluster1.demo",
                `has the label "-cluster1", which starts or ends with "-"; ${istio}, each starting and ending with a letter or digit, e.g. "cluster1.demo"`,
            ],
            [
                "cluster1-.demo",
                `has the label "cluster1-", which starts or ends with "-"; ${istio}, each starting and ending with a letter or digit, e.g. "cluster1.demo"`,
            ],
            [`${"a".repeat(64)}.demo`, `has a label of 64 characters; ${istio} of at most 63 characters each, e.g. "cluster1.demo"`],
            [
                "cluster1.demo.",
                'ends with "."; a peer names its ClusterFederatedTrustDomain after the trust domain and a Kubernetes name cannot end with ".", so write it without the trailing dot, e.g. "cluster1.demo"',
            ],
            [
                ".",
                'ends with "."; a peer names its ClusterFederatedTrustDomain after the trust domain and a Kubernetes name cannot end with ".", so write it without the trailing dot, e.g. "cluster1.demo"',
            ],
        ];
        for (const [value, reason] of cases) {
            it(`refuses ${JSON.stringify(value.length > 30 ? `${value.slice(0, 10)}…` : value)}`, () => {
                expect(checkTrustDomain(value)).to.equal(reason);
            });
        }

        it("accepts a label of exactly 63 characters", () => {
            expect(checkTrustDomain(`${"a".repeat(63)}.demo`)).to.equal(undefined);
        });
    });

    describe("checkSpiffeId", () => {
        it("accepts a SPIRE server ID inside its trust domain", () => {
            expect(checkSpiffeId("spiffe://cluster2.demo/spire/server", "cluster2.demo")).to.equal(undefined);
        });

        it("refuses an ID of another trust domain", () => {
            expect(checkSpiffeId("spiffe://cluster3.demo/spire/server", "cluster2.demo")).to.equal(
                'belongs to trust domain "cluster3.demo", not "cluster2.demo"; expected an ID inside "cluster2.demo"',
            );
        });

        it("refuses malformed paths, schemes and queries", () => {
            expect(checkSpiffeId("https://cluster2.demo/spire/server")).to.equal(
                'does not start with "spiffe://"; expected a SPIFFE ID such as "spiffe://cluster2.demo/spire/server"',
            );
            expect(checkSpiffeId("spiffe://cluster2.demo/spire/")).to.equal("has an empty path segment or a trailing slash; SPIFFE ID paths have neither");
            expect(checkSpiffeId("spiffe://cluster2.demo/spire/../server")).to.equal(
                'has the path segment ".."; SPIFFE ID paths cannot contain "." or ".." segments',
            );
            expect(checkSpiffeId("spiffe://cluster2.demo/spire?x=1")).to.equal("has a query or fragment; a SPIFFE ID has neither");
            expect(checkSpiffeId("spiffe://Cluster2.demo/spire")).to.equal(
                'has an invalid trust domain "Cluster2.demo": it contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster2.demo"',
            );
        });
    });

    describe("checkDnsLabel", () => {
        it("accepts RFC 1123 labels up to 63 characters", () => {
            expect(checkDnsLabel("spire-server")).to.equal(undefined);
            expect(checkDnsLabel("a".repeat(63))).to.equal(undefined);
        });

        it("refuses capitals, underscores, dots, edges and length", () => {
            const reason =
                'is not an RFC 1123 label; expected lowercase letters, digits and "-", starting and ending with a letter or digit, e.g. "spire-server"';
            for (const bad of ["Cluster1", "my_cluster", "my.cluster", "-cluster", "cluster-"]) {
                expect(checkDnsLabel(bad), bad).to.equal(reason);
            }
            expect(checkDnsLabel("a".repeat(64))).to.equal("is 64 characters long; an RFC 1123 label is at most 63 characters");
        });
    });

    describe("durations", () => {
        it("parses Go durations into milliseconds", () => {
            expect(parseDuration("720h")).to.equal(720 * 3_600_000);
            expect(parseDuration("5m")).to.equal(300_000);
            expect(parseDuration("1h30m")).to.equal(5_400_000);
            expect(parseDuration("1.5h")).to.equal(5_400_000);
            expect(parseDuration("250ms")).to.equal(250);
        });

        it("refuses what Go would not parse", () => {
            for (const bad of ["", "720", "30d", "h", "5 m", "5m ", "1h30", ".h", "-", "+", "5M", "1e3s"]) {
                expect(parseDuration(bad), JSON.stringify(bad)).to.equal(undefined);
            }
            expect(checkDuration("30d")).to.equal('is not a duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)');
            expect(checkDuration("0s")).to.equal('is not a positive duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)');
        });
    });

    describe("Go's time.ParseDuration, exactly", () => {
        it("takes what Go takes: signs, bare fractions, both micro signs, zero", () => {
            expect(parseGoDuration("-5m")).to.deep.equal({ ns: -300_000_000_000n });
            expect(parseGoDuration("+5m")).to.deep.equal({ ns: 300_000_000_000n });
            expect(parseGoDuration(".5h")).to.deep.equal({ ns: 1_800_000_000_000n });
            expect(parseGoDuration("5.h")).to.deep.equal({ ns: 18_000_000_000_000n });
            expect(parseGoDuration("1µs")).to.deep.equal({ ns: 1_000n });
            expect(parseGoDuration("1μs")).to.deep.equal({ ns: 1_000n });
            expect(parseGoDuration("0")).to.deep.equal({ ns: 0n });
            expect(parseGoDuration("1h0.5s")).to.deep.equal({ ns: 3_600_500_000_000n });
        });

        it("stops exactly at the int64 nanosecond limit, as Go does", () => {
            expect(parseGoDuration("2562047h47m16.854775807s")).to.deep.equal({ ns: (1n << 63n) - 1n });
            expect(parseGoDuration("2562047h47m16.854775808s")).to.deep.equal({ error: "invalid duration" });
            expect(parseGoDuration("9223372036854775807ns")).to.deep.equal({ ns: (1n << 63n) - 1n });
            expect(parseGoDuration("9223372036854775808ns")).to.deep.equal({ error: "invalid duration" });
            expect(parseGoDuration("-9223372036854775808ns")).to.deep.equal({ ns: -(1n << 63n) });
            expect(parseGoDuration("99999999999h")).to.deep.equal({ error: "invalid duration" });
        });

        it("gives Go's errors", () => {
            expect(parseGoDuration("5")).to.deep.equal({ error: "missing unit in duration" });
            expect(parseGoDuration("5d")).to.deep.equal({ error: 'unknown unit "d" in duration' });
            expect(parseGoDuration("5m ")).to.deep.equal({ error: 'unknown unit "m " in duration' });
            expect(parseGoDuration("")).to.deep.equal({ error: "invalid duration" });
        });

        it("says when a duration is too long rather than malformed", () => {
            expect(checkDuration("99999999999h")).to.equal(
                'is longer than a Go duration can be (at most "2562047h47m16.854775807s"; time.ParseDuration: "invalid duration"); expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)',
            );
            expect(checkDuration("")).to.equal('is empty; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)');
            expect(checkDuration("-5m")).to.equal('is not a positive duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)');
        });
    });

    describe("checkRefreshHint", () => {
        it("accepts SPIRE's one-minute minimum and refuses less", () => {
            expect(checkRefreshHint("1m")).to.equal(undefined);
            expect(checkRefreshHint("60s")).to.equal(undefined);
            expect(checkRefreshHint("59s")).to.equal(
                'is shorter than "1m", SPIRE\'s minimum refresh hint (peers never refresh a bundle more often than once a minute); expected at least "1m", e.g. "5m"',
            );
        });
    });

    describe("checkX509SubjectAttribute", () => {
        it("allows RFC 5280's 64 characters and no more", () => {
            expect(checkX509SubjectAttribute("a".repeat(64), "commonName")).to.equal(undefined);
            expect(checkX509SubjectAttribute("a".repeat(65), "commonName")).to.equal(
                "is 65 characters long; RFC 5280 (ub-common-name) allows an X.509 common name (CN) of at most 64 characters",
            );
            expect(checkX509SubjectAttribute("o".repeat(65), "organization")).to.equal(
                "is 65 characters long; RFC 5280 (ub-organization-name) allows an X.509 organization (O) of at most 64 characters",
            );
            expect(checkX509SubjectAttribute(" ", "organization")).to.equal("is empty; expected an X.509 organization (O) of 1 to 64 characters");
        });
    });

    describe("checkOwnedNamespace", () => {
        it("refuses the namespaces Kubernetes owns and its kube- prefix", () => {
            expect(checkOwnedNamespace("spire-server")).to.equal(undefined);
            for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease", "kube-spire"]) {
                expect(checkOwnedNamespace(ns), ns).to.equal(
                    'is a namespace Kubernetes owns; this program creates its namespace and deletes it on `pulumi destroy`, so give it one of its own, e.g. "spire-server" or "istio-system"',
                );
            }
        });
    });

    describe("checkConfigNamespace", () => {
        it("refuses namespaces one or two edits from the project's and leaves providers' alone", () => {
            for (const ns of ["istio-spyre", "istio_spire", "istiospire", "Istio-Spire", "istio-spire2", "istio-sprie", "isito-spire"]) {
                expect(checkConfigNamespace(ns, "istio-spire"), ns).to.equal(
                    `is in namespace ${JSON.stringify(ns)}, not this project's "istio-spire", so nothing reads it`,
                );
            }
            for (const ns of ["istio-spire", "kubernetes", "pulumi", "random", "istio", "spire"]) {
                expect(checkConfigNamespace(ns, "istio-spire"), ns).to.equal(undefined);
            }
            expect(editDistance("istio-spyre", "istio-spire")).to.equal(1);
        });
    });

    describe("checkPinnedVersion", () => {
        it("accepts exact versions only", () => {
            expect(checkPinnedVersion("0.30.0")).to.equal(undefined);
            expect(checkPinnedVersion("1.30.3")).to.equal(undefined);
            expect(checkPinnedVersion("1.31.0-beta.1")).to.equal(undefined);
            const reason = 'is not pinned; expected an exact chart version such as "0.30.0"; ranges, wildcards and "latest" are not pinned';
            for (const bad of ["", "latest", "^0.30.0", "~0.30.0", ">=0.30.0", "0.30.x", "0.30", "*", "0.30.0 || 0.31.0", "v0.30.0"]) {
                expect(checkPinnedVersion(bad), bad).to.equal(reason);
            }
        });
    });

    describe("URLs", () => {
        it("accepts https chart repositories and oci registries, and refuses http or credentials", () => {
            expect(checkChartRepository("https://spiffe.github.io/helm-charts-hardened/")).to.equal(undefined);
            expect(checkChartRepository("oci://registry.example.com/charts")).to.equal(undefined);
            expect(checkChartRepository("http://charts.example.com")).to.equal(
                'uses "http"; expected an "https://" chart repository URL or an "oci://" registry reference without credentials',
            );
            expect(checkChartRepository("https://user:pw@charts.example.com")).to.equal(
                'contains credentials; expected an "https://" chart repository URL or an "oci://" registry reference without credentials',
            );
        });

        it("accepts https bundle endpoints with a host and refuses user info or other schemes", () => {
            expect(checkBundleEndpointUrl("https://203.0.113.10:8443")).to.equal(undefined);
            expect(checkBundleEndpointUrl("https://spire.cluster2.example.com")).to.equal(undefined);
            expect(checkBundleEndpointUrl("http://203.0.113.10:8443")).to.equal(
                'uses "http"; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
            expect(checkBundleEndpointUrl("https://admin:secret@203.0.113.10:8443")).to.equal(
                'contains user info; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
            expect(checkBundleEndpointUrl("203.0.113.10:8443")).to.equal(
                'is not a URL (Go\'s url.Parse: first path segment in URL cannot contain colon); expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
            expect(checkBundleEndpointUrl("not a url")).to.equal(
                'is not a URL; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
        });
    });

    describe("Go's url.Parse, where the WHATWG parser of JavaScript's URL differs", () => {
        const expected = 'expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"';
        // Most are URLs `new URL()` takes with a host (the WHATWG parser strips whitespace and tabs, reads "\\" as "/",
        // skips extra slashes, decodes "%2E"); none is what the controller manager's webhook accepts, or can connect to.
        const cases: [string, string][] = [
            [
                " https://spire.example.com:8443",
                `has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${expected}`,
            ],
            [
                "https://spire.example.com:8443\n",
                `has leading or trailing whitespace, which Go's url.Parse (SPIRE, its controller manager, Helm) does not strip; ${expected}`,
            ],
            ["https://spire.exa\tmple.com", `is not a URL (Go's url.Parse: net/url: invalid control character in URL); ${expected}`],
            ["https:///spire.example.com", `has no host; ${expected}`],
            ["https:spire.example.com", `has no host; ${expected}`],
            ["https:\\\\spire.example.com", `has no host; ${expected}`],
            ["https://@spire.example.com", `contains user info; ${expected}`],
            ["https://spire%2Eexample.com", `is not a URL (Go's url.Parse: invalid URL escape "%2E"); ${expected}`],
            ["https://:8443", `has no host; ${expected}`],
            ["https://spire.example.com:99999", `has port "99999"; a TCP port is 1 to 65535; ${expected}`],
            ["https://spire.example.com:0", `has port "0"; a TCP port is 1 to 65535; ${expected}`],
            ["https://spire.example.com:84a3", `is not a URL (Go's url.Parse: invalid port ":84a3" after host); ${expected}`],
            ["https://spire example.com", `is not a URL (Go's url.Parse: invalid character " " in host name); ${expected}`],
            ["://spire.example.com", `is not a URL (Go's url.Parse: missing protocol scheme); ${expected}`],
            // Go 1.25.2/1.24.8 and later: only an IPv6 address in brackets, and for https the port starts at the first colon.
            ["https://[203.0.113.10]:8443", `is not a URL (Go's url.Parse: invalid IP-literal); ${expected}`],
            ["https://spire[1].example.com", `is not a URL (Go's url.Parse: invalid IP-literal); ${expected}`],
            ["https://[spire.example.com]:8443", `is not a URL (Go's url.Parse: invalid host: "spire.example.com" is not an IP address); ${expected}`],
            ["https://spire:example.com:8443", `is not a URL (Go's url.Parse: invalid port ":example.com:8443" after host); ${expected}`],
            ["", `is empty; ${expected}`],
        ];
        for (const [value, reason] of cases) {
            it(`refuses ${JSON.stringify(value)}`, () => {
                expect(checkBundleEndpointUrl(value)).to.equal(reason);
            });
        }

        it("accepts what Go and the webhook accept", () => {
            for (const url of [
                "https://203.0.113.10:8443",
                "HTTPS://spire.example.com/",
                "https://[2001:db8::1]:8443",
                "https://[fe80::1%25eth0]:8443",
                "https://spire.example.com:8443/path?x=1#f",
            ]) {
                expect(checkBundleEndpointUrl(url), url).to.equal(undefined);
            }
        });

        it("parses the parts as Go does", () => {
            expect(parseGoUrl("https://user@h:1/p")).to.deep.equal({ scheme: "https", opaque: "", hasUser: true, host: "h:1", path: "/p" });
            expect(parseGoUrl("https:h")).to.deep.equal({ scheme: "https", opaque: "h", hasUser: false, host: "", path: "" });
            expect(parseGoUrl(" https://h")).to.deep.equal({ error: "first path segment in URL cannot contain colon" });
            expect(parseGoUrl("https://h/%zz")).to.deep.equal({ error: 'invalid URL escape "%zz"' });
        });

        it("checks chart repositories the same way (Helm is Go)", () => {
            expect(checkChartRepository("https:///charts")).to.equal(
                'has no host; expected an "https://" chart repository URL or an "oci://" registry reference without credentials',
            );
        });
    });
});
