// The bundle endpoint profile peers are told to use is the one SPIRE serves: https_web is applied to the spire chart
// (the server serves a configured Secret's Web PKI certificate) or refused. What the chart renders from these values
// is checked in test/charts.test.ts ("https_web bundle endpoint profile").

import { expect } from "chai";
import { federationTlsValues } from "../components";
import { ProgramRun, named, runProgram, runProgramExpectingError } from "../tools/mock-engine/harness";

const program: () => Promise<any> = require("../index");

const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };
const HTTPS_WEB = {
    ...CLUSTER1,
    bundleEndpointProfile: "https_web",
    bundleEndpointUrl: "https://spire.cluster1.example.com",
    bundleEndpointTlsSecret: "spire-federation-tls",
};

const spireServerValues = (run: ProgramRun<any>) => named(run.declared, "spire-release").inputs.values["spire-server"];

describe("the bundle endpoint profile, applied to SPIRE", () => {
    let spiffe: ProgramRun<any>;
    let web: ProgramRun<any>;
    before(async () => {
        spiffe = await runProgram(program, CLUSTER1);
        web = await runProgram(program, HTTPS_WEB);
    });

    it("keeps the chart's https_spiffe (the server's own SVID) by default", () => {
        expect(spireServerValues(spiffe).federation).to.deep.equal({ enabled: true, bundleEndpoint: { refreshHint: "5m" } });
        expect(federationTlsValues()).to.deep.equal({ spire: { enabled: true } });
    });

    it("with https_web, makes the server serve the configured Secret's certificate instead", () => {
        expect(spireServerValues(web).federation).to.deep.equal({
            enabled: true,
            bundleEndpoint: { refreshHint: "5m" },
            tls: { spire: { enabled: false }, externalSecret: { enabled: true, secretName: "spire-federation-tls" } },
        });
        expect(web.outputs.federation).to.deep.include({ bundleEndpointUrl: "https://spire.cluster1.example.com", bundleEndpointProfile: "https_web" });
    });

    it("refuses https_web without the Secret before declaring any resource", async () => {
        const { error, declared } = await runProgramExpectingError(program, { ...HTTPS_WEB, bundleEndpointTlsSecret: "" });
        expect(error.message).to.equal(
            'Invalid configuration: bundleEndpointTlsSecret: is not set; bundleEndpointProfile "https_web" needs the name of an existing ' +
                'kubernetes.io/tls Secret in spireNamespace ("spire-server") holding a Web PKI certificate (tls.crt, tls.key) for ' +
                "bundleEndpointUrl's host; run `pulumi config set bundleEndpointTlsSecret <secret>`",
        );
        expect(declared).to.deep.equal([]);
    });
});
