import { expect } from "chai";
import {
    PEER_SAMPLES,
    checkDnsName,
    checkNetworkAddress,
    deployTimePlaceholder,
    isDeployTimePlaceholder,
    validatePeerExports,
    validatePeerSamples,
} from "../components";
import * as fs from "fs";
import * as path from "path";

const STACK = "organization/istio-spire/cluster2";
const REFUSAL = "is a placeholder from an offline render, not a deployed stack's value; deploy the peer stack and export its real value";
const deploy = { isPlaceholder: isDeployTimePlaceholder, accept: false, refusal: REFUSAL };
const preview = { ...deploy, accept: true };

const BOOKINFO = {
    host: "bookinfo.cluster2.demo",
    port: 443,
    gatewaySpiffeId: "spiffe://cluster2.demo/ns/istio-system/sa/istio-ingressgateway-service-account",
    gatewayAddress: "203.0.113.20",
};

describe("what peers tell each other about their samples", () => {
    it("passes on a peer's Bookinfo gateway and curl-greeter identity", () => {
        const result = validatePeerSamples(
            STACK,
            "cluster2.demo",
            { bookinfo: BOOKINFO, curlGreeter: { spiffeId: "spiffe://cluster2.demo/ns/default/sa/curl-greeter" } },
            deploy,
        );
        expect(result).to.deep.equal({
            samples: { bookinfo: BOOKINFO, curlGreeter: { spiffeId: "spiffe://cluster2.demo/ns/default/sa/curl-greeter" } },
            problems: [],
            notReady: [],
        });
    });

    it("treats a peer without samples, or predating them, as running none", () => {
        expect(validatePeerSamples(STACK, "cluster2.demo", undefined, deploy)).to.deep.equal({ samples: {}, problems: [], notReady: [] });
        expect(validatePeerSamples(STACK, "cluster2.demo", {}, deploy)).to.deep.equal({ samples: {}, problems: [], notReady: [] });
    });

    it("leaves Bookinfo out, not failing, until the peer's gateway has an address", () => {
        const { gatewayAddress, ...noAddress } = BOOKINFO;
        expect(gatewayAddress).to.be.a("string");
        expect(validatePeerSamples(STACK, "cluster2.demo", { bookinfo: noAddress }, deploy)).to.deep.equal({
            samples: {},
            problems: [],
            notReady: ["its Bookinfo ingress gateway has no load balancer address yet"],
        });
    });

    it("refuses identities outside the peer's trust domain, naming the peer and field", () => {
        const result = validatePeerSamples(
            STACK,
            "cluster2.demo",
            {
                bookinfo: { ...BOOKINFO, gatewaySpiffeId: "spiffe://cluster1.demo/ns/istio-system/sa/gw" },
                curlGreeter: { spiffeId: "spiffe://evil.demo/ns/default/sa/curl-greeter" },
            },
            deploy,
        );
        expect(result.problems).to.deep.equal([
            `peer "${STACK}" samples.bookinfo.gatewaySpiffeId: "spiffe://cluster1.demo/ns/istio-system/sa/gw" belongs to trust domain "cluster1.demo", not "cluster2.demo"; expected an ID inside "cluster2.demo"`,
            `peer "${STACK}" samples.curlGreeter.spiffeId: "spiffe://evil.demo/ns/default/sa/curl-greeter" belongs to trust domain "evil.demo", not "cluster2.demo"; expected an ID inside "cluster2.demo"`,
        ]);
        expect(result.samples).to.deep.equal({});
    });

    it("refuses malformed hosts, ports, addresses and shapes", () => {
        const problems = (value: unknown) => validatePeerSamples(STACK, "cluster2.demo", value, deploy).problems;
        expect(problems("bookinfo")).to.deep.equal([`peer "${STACK}" samples: "bookinfo" is not an object; expected {bookinfo?, curlGreeter?}`]);
        expect(problems({ bookinfo: { ...BOOKINFO, host: "Bookinfo_com", port: 0, gatewayAddress: "not an address" } })).to.deep.equal([
            `peer "${STACK}" samples.bookinfo.host: "Bookinfo_com" is not a DNS name; expected a DNS name of lowercase letters, digits, "-" and ".", e.g. "bookinfo.cluster2.demo"`,
            `peer "${STACK}" samples.bookinfo.port: 0 is not a port number; expected an integer from 1 to 65535`,
            `peer "${STACK}" samples.bookinfo.gatewayAddress: "not an address" is neither an IP address nor a DNS name; expected a load balancer address such as "203.0.113.20" or "gw.example.com"`,
        ]);
        expect(problems({ curlGreeter: "x" })).to.deep.equal([`peer "${STACK}" samples.curlGreeter: "x" is not an object; expected {spiffeId}`]);
    });

    it("accepts a rendered gateway address only in a preview", () => {
        const rendered = { bookinfo: { ...BOOKINFO, gatewayAddress: deployTimePlaceholder("cluster2 output samples.bookinfo.gatewayAddress") } };
        expect(validatePeerSamples(STACK, "cluster2.demo", rendered, preview).samples.bookinfo?.gatewayAddress).to.equal(
            "<deploy-time: cluster2 output samples.bookinfo.gatewayAddress>",
        );
        expect(validatePeerSamples(STACK, "cluster2.demo", rendered, deploy).problems).to.deep.equal([
            `peer "${STACK}" samples.bookinfo.gatewayAddress: "<deploy-time: cluster2 output samples.bookinfo.gatewayAddress>" ${REFUSAL}`,
        ]);
    });

    it("fails the whole peer read on a bad samples export, as for federation data", () => {
        const bundle = fs.readFileSync(path.join(__dirname, "fixtures", "cluster2.demo.bundle.json"), "utf8");
        const federation = {
            trustDomain: "cluster2.demo",
            bundleEndpointUrl: "https://203.0.113.2:8443",
            endpointSpiffeId: "spiffe://cluster2.demo/spire/server",
            trustBundle: bundle,
        };
        expect(() =>
            validatePeerExports("cluster1.demo", [{ stack: STACK, federation, samples: { curlGreeter: { spiffeId: "spiffe://cluster1.demo/x" } } }], {
                samples: PEER_SAMPLES,
            }),
        ).to.throw(
            `Invalid peer data: peer "${STACK}" samples.curlGreeter.spiffeId: "spiffe://cluster1.demo/x" belongs to trust domain "cluster1.demo", not "cluster2.demo"`,
        );
        const ok = validatePeerExports("cluster1.demo", [{ stack: STACK, federation, samples: { bookinfo: { ...BOOKINFO, gatewayAddress: undefined } } }], {
            samples: PEER_SAMPLES,
        });
        expect(ok.ready.map((p) => [p.stack, p.samples])).to.deep.equal([[STACK, {}]]);
        expect(ok.partial).to.deep.equal([{ stack: STACK, reason: "its Bookinfo ingress gateway has no load balancer address yet" }]);
        // The mesh alone (no PEER_SAMPLES handed in) judges federation only: the samples export is not read.
        const meshOnly = validatePeerExports("cluster1.demo", [
            { stack: STACK, federation, samples: { curlGreeter: { spiffeId: "spiffe://cluster1.demo/x" } } },
        ]);
        expect(meshOnly.ready.map((p) => [p.stack, p.samples])).to.deep.equal([[STACK, undefined]]);
        expect(meshOnly.partial).to.deep.equal([]);
        expect(PEER_SAMPLES.output).to.equal("samples");
    });
});

describe("DNS names and network addresses", () => {
    it("accepts IPv4, IPv6 and DNS names, and nothing else", () => {
        for (const ok of ["203.0.113.20", "2001:db8::1", "gw.example.com", "a"]) {
            expect(checkNetworkAddress(ok), ok).to.equal(undefined);
        }
        for (const bad of ["", "gw_example.com", "-gw.example.com", "gw..com", "https://gw.example.com", 42]) {
            expect(checkNetworkAddress(bad), String(bad)).to.be.a("string");
        }
    });

    it("limits DNS names to 253 characters and labels to 63", () => {
        expect(checkDnsName(`${"a".repeat(63)}.demo`)).to.equal(undefined);
        expect(checkDnsName(`${"a".repeat(64)}.demo`)).to.equal(
            'is not a DNS name; expected a DNS name of lowercase letters, digits, "-" and ".", e.g. "bookinfo.cluster2.demo"',
        );
        expect(checkDnsName(Array(64).fill("abc").join("."))).to.equal("is 255 characters long; a DNS name is at most 253 characters");
    });
});
