// The README and the docs tell the truth about what the pinned charts install: each claim below is read from the page
// that holds it (README.md, docs/<topic>.md) and compared with what the charts render from the program's own values
// (a real Helm 3, `helm template`), so a chart bump or an edit that makes them disagree fails here. Pending (via
// requireUpstream) without the artifacts.

import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ChartRenderer, ReleaseRender, theObject, requireHelm } from "./chartRender";
import { markdownPages, readPage, section } from "./docs";
import { requireUpstream } from "../tools/upstream/artifacts";
import { ProgramRun, runProgram } from "../tools/mock-engine/harness";
import { RenderedObject } from "../tools/upstream/helm";

const program: () => Promise<unknown> = require("../index");
const README = readPage("README.md");
/** A section of a page: `sectionOf("docs/clean-up.md", "Clean-up")` (a page's title: the whole page). */
const sectionOf = (page: string, title: string) => section(readPage(page), title, page);

/** The arguments of every `kubectl delete crd` command in a text (continuation lines joined). */
function crdsDeletedIn(text: string): string[] {
    const joined = text.replace(/\\\n\s*/g, " ");
    return joined
        .split("\n")
        .filter((l) => l.startsWith("kubectl delete crd "))
        .flatMap((l) => l.slice("kubectl delete crd ".length).trim().split(/\s+/));
}

/** The tag of an image reference (`ghcr.io/spiffe/spire-server:1.15.2` → `1.15.2`). */
const tagOf = (image: string) => image.slice(image.lastIndexOf(":") + 1);

const NUMBER_WORDS = ["Zero", "One", "Two", "Three", "Four", "Five", "Six"];

describe("README and docs: what they say the charts install", function () {
    // A stack of this file's own, without peers (the stack files are never read).
    const config = { "kubernetes:context": "readme", trustDomain: "readme.demo", clusterName: "readme" };
    let run: ProgramRun<Record<string, unknown>>;
    let renders: ReleaseRender[];
    const objectsOfRelease = (name: string): RenderedObject[] => {
        const found = renders.find((r) => r.name === name);
        if (found === undefined) {
            throw new Error(`no release ${name} (releases: ${renders.map((r) => r.name).join(", ")})`);
        }
        return found.objects;
    };

    before(function () {
        requireUpstream(this);
    });
    before(async function () {
        this.timeout(120000);
        const helm = await requireHelm(this, "render the charts with");
        run = await runProgram(program as () => Promise<Record<string, unknown>>, config, {}, "readme");
        renders = await new ChartRenderer(helm).renderAll(run.declared);
    });

    it("docs/clean-up.md: lists exactly the CRDs of spire-crds and istio-base, which both mark helm.sh/resource-policy: keep", () => {
        const crds = [...objectsOfRelease("spire-crds"), ...objectsOfRelease("istio-base")].filter((o) => o.kind === "CustomResourceDefinition");
        expect(crds.length).to.equal(18);
        // Helm skips deleting a resource annotated helm.sh/resource-policy: keep on uninstall (helm/helm
        // pkg/action/resource_policy.go filterManifestsToKeep), so `pulumi destroy` of the Releases leaves them.
        expect(crds.filter((o) => o.metadata.annotations?.["helm.sh/resource-policy"] !== "keep").map((o) => o.metadata.name)).to.deep.equal([]);
        const cleanUp = sectionOf("docs/clean-up.md", "Clean-up");
        expect(cleanUp).to.include("**The CRDs stay.** Both CRD charts mark every CRD `helm.sh/resource-policy: keep`");
        expect(cleanUp).to.not.include("removed with the `spire-crds` release");
        expect(crdsDeletedIn(cleanUp).sort()).to.deep.equal(crds.map((o) => o.metadata.name as string).sort());
    });

    it("README, Prerequisites: the SPIRE server claims the volume size it states from the default StorageClass, and the release waits the timeout it states", () => {
        const server = theObject(objectsOfRelease("spire"), "StatefulSet", "spire-server", "spire-server");
        const claims = server.spec.volumeClaimTemplates;
        expect(claims.map((c: any) => c.metadata.name)).to.deep.equal(["spire-data"]);
        // No storageClassName: the cluster's default StorageClass provisions it.
        expect(claims[0].spec.storageClassName).to.equal(undefined);
        const prerequisites = sectionOf("README.md", "Prerequisites");
        const size = /claims a (\d+) GiB\s+`(\w+)` volume/.exec(prerequisites);
        expect(size, "Prerequisites states the claim's size and access mode").to.not.equal(null);
        expect([`${size![1]}Gi`, size![2]]).to.deep.equal([claims[0].spec.resources.requests.storage, claims[0].spec.accessModes.join()]);
        expect(prerequisites).to.include("A **default StorageClass** in each cluster");
        const timeout = /times out\s+after (\d+) s/.exec(prerequisites);
        expect(timeout, "Prerequisites states the timeout").to.not.equal(null);
        const release = run.declared.find((d) => d.type === "kubernetes:helm.sh/v3:Release" && d.inputs.name === "spire")!;
        expect(release.inputs.timeout).to.equal(Number(timeout![1]));
    });

    it("README, Prerequisites: the SPIFFE CSI driver container it names runs privileged", () => {
        const prerequisites = sectionOf("README.md", "Prerequisites");
        const named = /the SPIFFE CSI driver DaemonSet \(`([\w-]+)`\) runs\s+its `([\w-]+)` container privileged/.exec(prerequisites);
        expect(named, "Prerequisites names the DaemonSet and the container").to.not.equal(null);
        const csi = theObject(objectsOfRelease("spire"), "DaemonSet", named![1], "spire-server");
        const privileged = [...(csi.spec.template.spec.initContainers ?? []), ...csi.spec.template.spec.containers]
            .filter((c: any) => c.securityContext?.privileged === true)
            .map((c: any) => c.name);
        expect(privileged).to.deep.equal([named![2]]);
        expect(prerequisites).to.include("`--allow-privileged=false` rejects the DaemonSet");
    });

    it("states the SPIRE and controller manager versions the spire chart's images run, everywhere: README and every docs page", () => {
        const spire = objectsOfRelease("spire");
        const server = theObject(spire, "StatefulSet", "spire-server", "spire-server").spec.template.spec.containers;
        const agent = theObject(spire, "DaemonSet", "spire-agent", "spire-server").spec.template.spec.containers;
        const image = (containers: any[], name: string) => containers.find((c) => c.name === name).image as string;
        const spireVersion = tagOf(image(server, "spire-server"));
        expect(tagOf(image(agent, "spire-agent"))).to.equal(spireVersion);
        expect([...README.matchAll(/SPIRE (\d+\.\d+\.\d+)/g)].length, "the README names the SPIRE version").to.be.at.least(2);
        const everywhere = markdownPages()
            .map((page) => readPage(page))
            .join("\n");
        const mentions = [...everywhere.matchAll(/SPIRE (\d+\.\d+\.\d+)/g)].map((m) => m[1]);
        expect([...new Set(mentions)]).to.deep.equal([spireVersion]);
        const managers = [...everywhere.matchAll(/spire-controller-manager (\d+\.\d+\.\d+)/g)].map((m) => m[1]);
        expect([...new Set(managers)]).to.deep.equal([tagOf(image(server, "spire-controller-manager"))]);
        expect(spireVersion).to.equal("1.15.2");
    });

    it("README, What gets deployed, and docs/runbook-checks.md: name every ClusterSPIFFEID, the program's and the spire chart's", () => {
        const names = [
            ...run.declared.filter((d) => d.type === "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID").map((d) => d.inputs.metadata.name as string),
            ...objectsOfRelease("spire")
                .filter((o) => o.kind === "ClusterSPIFFEID")
                .map((o) => o.metadata.name as string),
        ].sort();
        expect(names).to.deep.equal(["istio-ingressgateway-reg", "istio-workloads", "spire-server-spire-test-keys"]);
        const deployed = sectionOf("README.md", "What gets deployed");
        expect(deployed).to.include(`${NUMBER_WORDS[names.length]} ClusterSPIFFEIDs: `);
        for (const name of names) {
            expect(deployed, name).to.include(`\`${name}\``);
            expect(deployed.split("```")[1], `the diagram names ${name}`).to.include(name);
        }
        const listed = /kubectl get clusterspiffeid +# (.*)/.exec(sectionOf("docs/runbook-checks.md", "Verifying a deployment (the runbooks' checks)"));
        expect(
            listed![1]
                .replace(/ \(chart's\)$/, "")
                .split(", ")
                .sort(),
        ).to.deep.equal(names);
    });
});

describe("docs: the tools", () => {
    it("docs/verify.md says the verify sample comes from constructed fixtures", () => {
        const verify = sectionOf("docs/verify.md", "Checking a deployed stack: `npm run verify`");
        expect(verify).to.include("The fixtures are constructed, not captured from a live cluster");
        expect(verify).to.not.include("recorded");
        // ...as the fixtures' own README says.
        expect(fs.readFileSync(path.join(__dirname, "fixtures", "verify", "README.md"), "utf8")).to.include("they are constructed, not captured");
    });

    it("docs/pull-requests.md documents deploy.yml's convergence check, docs/render.md the named render", () => {
        expect(readPage("docs/pull-requests.md")).to.include(
            "last, a preview of every stack must show no changes, which fails the run unless the bootstrap converged",
        );
        expect(sectionOf("docs/render.md", "Without a cluster: `npm run render`")).to.include(
            "Naming stacks (`npm run render -- cluster2`)\nrenders each named stack with its peers, so its federation resolves the same way, and writes only the named stacks",
        );
    });
});
