import { expect } from "chai";
import {
    checkBundleEndpointUrl,
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
            for (const td of ["cluster1.demo", "cluster2.demo", "foo.com", "example.org", "a_b-c.9"]) {
                expect(checkTrustDomain(td), td).to.equal(undefined);
            }
        });

        it("accepts exactly 255 characters and refuses 256", () => {
            expect(checkTrustDomain("a".repeat(255))).to.equal(undefined);
            expect(checkTrustDomain("a".repeat(256))).to.equal("is 256 characters long; a SPIFFE trust domain is at most 255 characters");
        });

        it("says why each malformed trust domain is refused", () => {
            const cases: [string, string][] = [
                ["", 'is empty; expected a SPIFFE trust domain name, e.g. "cluster1.demo"'],
                ["cluster 1.demo", 'contains whitespace; a SPIFFE trust domain contains only lowercase letters, digits, ".", "-" and "_", e.g. "cluster1.demo"'],
                ["Cluster1.Demo", 'contains uppercase letters; a SPIFFE trust domain is lowercase, e.g. "cluster1.demo"'],
                ["spiffe://cluster1.demo", 'includes the "spiffe://" scheme; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["https://cluster1.demo", 'is a URL; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["cluster1.demo/ns/default", 'contains a path; expected only the trust domain name, e.g. "cluster1.demo"'],
                ["cluster1.demo:8443", 'contains a port; a SPIFFE trust domain has no port, e.g. "cluster1.demo"'],
                ["clüster.demo", 'contains "ü"; a SPIFFE trust domain contains only lowercase letters, digits, ".", "-" and "_", e.g. "cluster1.demo"'],
                ["user@cluster1.demo", 'contains "@"; a SPIFFE trust domain contains only lowercase letters, digits, ".", "-" and "_", e.g. "cluster1.demo"'],
            ];
            for (const [value, reason] of cases) {
                expect(checkTrustDomain(value), JSON.stringify(value)).to.equal(reason);
            }
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
            expect(checkSpiffeId("spiffe://cluster2.demo/spire/")).to.equal(
                "has an empty path segment or a trailing slash; SPIFFE ID paths have neither",
            );
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
            for (const bad of ["", "720", "30d", "h", "5 m", "5m ", "-5m", "1h30"]) {
                expect(parseDuration(bad), JSON.stringify(bad)).to.equal(undefined);
            }
            expect(checkDuration("30d")).to.equal('is not a duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)');
            expect(checkDuration("0s")).to.equal(
                'is not a positive duration; expected a duration such as "720h", "5m" or "1h30m" (units h, m, s, ms)',
            );
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
                'is not a URL; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
            expect(checkBundleEndpointUrl("not a url")).to.equal(
                'is not a URL; expected an "https://" URL with a host and no user info, e.g. "https://203.0.113.10:8443"',
            );
        });
    });
});
