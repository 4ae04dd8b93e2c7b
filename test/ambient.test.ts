// Ambient mode: Istio's ambient data plane does not support SPIRE (istio/istio#42339, open), so the program refuses to
// enroll a namespace in it (config), and the policy pack flags the label on any resource (test/policy.test.ts).

import { expect } from "chai";
import { ENROLLED_NAMESPACE_LABELS } from "../components";
import { runProgram, runProgramExpectingError } from "../tools/mock-engine/harness";

const program: () => Promise<Record<string, any>> = require("../index");
const CLUSTER1 = { trustDomain: "cluster1.demo", clusterName: "cluster1" };

describe("ambient mode", () => {
    it("refuses an enrolled namespace that asks for the ambient data plane, before any resource, citing the issue", async () => {
        const { error, declared } = await runProgramExpectingError(program, {
            ...CLUSTER1,
            enrolledNamespaces: ["default", { name: "apps", dataplaneMode: "ambient" }],
        });
        expect(error.message).to.equal(
            'Invalid configuration: enrolledNamespaces[1]: {"name":"apps","dataplaneMode":"ambient"} asks for Istio\'s ambient data plane ' +
                "(istio.io/dataplane-mode=ambient), which does not support SPIRE (istio/istio#42339, open); enrolled namespaces run sidecars " +
                'with SPIRE identities: remove "dataplaneMode"',
        );
        expect(declared).to.deep.equal([]);
    });

    it("labels enrolled namespaces for sidecars and SPIRE, never for the ambient data plane", async () => {
        expect(ENROLLED_NAMESPACE_LABELS).to.not.have.property("istio.io/dataplane-mode");
        const run = await runProgram(program, { ...CLUSTER1, enrolledNamespaces: ["default", "apps"] });
        const patches = run.declared.filter((d) => d.type === "kubernetes:core/v1:NamespacePatch");
        expect(patches.map((p) => [p.inputs.metadata.name, p.inputs.metadata.labels])).to.deep.equal([
            ["default", { "istio-injection": "enabled", "spiffe.io/spire-managed-identity": "true" }],
            ["apps", { "istio-injection": "enabled", "spiffe.io/spire-managed-identity": "true" }],
        ]);
    });
});
