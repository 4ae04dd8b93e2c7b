// components/mesh/spiffeBundle.ts keeps what it read of each certificate: a bundle checked again (every program run,
// every peer `npm run fleet` judges) is not parsed again, and gets the same verdict as the first time.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { checkSpiffeBundle } from "../components/mesh/spiffeBundle";
import { spiffeBundle } from "../tools/bench/bench";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");

describe("SPIFFE bundles checked again (components/mesh/spiffeBundle.ts)", () => {
    it("give the same verdict every time, for each trust domain asked", () => {
        const cluster2 = fixture("cluster2.demo.bundle.json");
        const noSpiffeId = fixture("no-spiffe-id.bundle.json");
        const unparseable = JSON.parse(cluster2);
        unparseable.keys[0].x5c = ["bm90IGEgY2VydGlmaWNhdGU="];
        const verdicts = () => [
            checkSpiffeBundle(cluster2, "cluster2.demo"),
            checkSpiffeBundle(cluster2, "cluster1.demo"),
            checkSpiffeBundle(cluster2),
            checkSpiffeBundle(noSpiffeId, "cluster1.demo"),
            checkSpiffeBundle(JSON.stringify(unparseable), "cluster2.demo"),
        ];
        const expected = [
            undefined,
            'has an x509-svid key #0 whose certificate names spiffe://cluster2.demo, not trust domain "cluster1.demo"',
            undefined,
            undefined,
            "has an x509-svid key #0 whose certificate does not parse as X.509",
        ];
        expect(verdicts()).to.deep.equal(expected);
        expect(verdicts()).to.deep.equal(expected);
    });

    it("parse each certificate once", () => {
        // Certificates no other test has shown it: a new key each.
        const east = spiffeBundle("east.example");
        const west = spiffeBundle("west.example");
        const parsed: string[] = [];
        // The module itself (an `import * as` is a copy under ts-node), whose X509Certificate spiffeBundle.ts reads.
        const crypto: typeof import("crypto") = require("crypto");
        const X509 = crypto.X509Certificate;
        (crypto as { X509Certificate: unknown }).X509Certificate = class extends X509 {
            constructor(der: import("crypto").BinaryLike) {
                super(der);
                parsed.push(this.subjectAltName ?? "");
            }
        };
        try {
            for (let i = 0; i < 3; i++) {
                expect([
                    checkSpiffeBundle(east, "east.example"),
                    checkSpiffeBundle(west, "west.example"),
                    checkSpiffeBundle(east, "west.example"),
                ]).to.deep.equal([
                    undefined,
                    undefined,
                    'has an x509-svid key #0 whose certificate names spiffe://east.example, not trust domain "west.example"',
                ]);
            }
        } finally {
            (crypto as { X509Certificate: unknown }).X509Certificate = X509;
        }
        expect(parsed).to.deep.equal(["URI:spiffe://east.example", "URI:spiffe://west.example"]);
    });
});
