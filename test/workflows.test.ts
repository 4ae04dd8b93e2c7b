import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { cacheDir } from "../tools/upstream/artifacts";
import { bootstrapOrder, loadProjectStacks } from "../tools/fleet/bootstrapOrder";

const ROOT = path.join(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
    name?: string;
    id?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    "working-directory"?: string;
}
interface Job {
    name?: string;
    needs?: string | string[];
    if?: string;
    permissions?: unknown;
    outputs?: Record<string, string>;
    environment?: string;
    strategy?: { "fail-fast"?: boolean; matrix: { stack: string[]; include?: Record<string, string>[] } };
    steps: Step[];
}
interface Workflow {
    name: string;
    on: Record<string, unknown>;
    permissions: Record<string, string>;
    concurrency?: Record<string, unknown>;
    jobs: Record<string, Job>;
}

const text = (file: string): string => fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
const load = (file: string): Workflow => parse(text(file)) as Workflow;
const allSteps = (workflow: Workflow): Step[] => Object.values(workflow.jobs).flatMap((job) => job.steps);
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const stepUsing = (job: Job, action: string): Step => {
    const steps = job.steps.filter((step) => step.uses === action);
    expect(steps, `${action} steps`).to.have.length(1);
    return steps[0];
};

/** The project's stacks, from Pulumi.<stack>.yaml. */
const STACKS = loadProjectStacks(ROOT);
const STACK_NAMES = STACKS.map((stack) => stack.name);
const kubeconfigSecret = (stack: string) => `KUBECONFIG_${stack.toUpperCase().replace(/-/g, "_")}`;

/** The inputs of pulumi/actions v7 (action.yml at tag v7 = v7.0.0, 8e5e406f4007fca908480587cb9893c07090f58d). */
const PULUMI_ACTIONS_V7_INPUTS = [
    "command",
    "stack-name",
    "pulumi-version",
    "pulumi-version-file",
    "work-dir",
    "comment-on-pr",
    "comment-on-pr-number",
    "comment-on-summary",
    "github-token",
    "cloud-url",
    "secrets-provider",
    "parallel",
    "message",
    "config-map",
    "expect-no-changes",
    "diff",
    "replace",
    "exclude",
    "exclude-dependents",
    "target",
    "target-dependents",
    "policyPacks",
    "policyPackConfigs",
    "refresh",
    "upsert",
    "remove",
    "edit-pr-comment",
    "color",
    "exclude-protected",
    "plan",
    "suppress-outputs",
    "suppress-progress",
    "always-include-summary",
    "continue-on-error",
    "log-verbosity",
    "log-flow",
    "debug",
];
const STACK_NAME = (stack: string) => `\${{ vars.PULUMI_ORG || 'organization' }}/istio-spire/${stack}`;

/** Runs a step's script as GitHub's default bash shell does, in a temporary directory with GITHUB_OUTPUT and GITHUB_ENV files. */
function runStep(step: Step, env: Record<string, string>): { status: number | null; stdout: string; output: string; githubEnv: string; temp: string } {
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-step-"));
    const script = path.join(temp, "step.sh");
    fs.writeFileSync(script, step.run ?? "");
    const files = { GITHUB_OUTPUT: path.join(temp, "output"), GITHUB_ENV: path.join(temp, "env"), RUNNER_TEMP: path.join(temp, "runner") };
    fs.writeFileSync(files.GITHUB_OUTPUT, "");
    fs.writeFileSync(files.GITHUB_ENV, "");
    fs.mkdirSync(files.RUNNER_TEMP);
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...files, ...env },
        encoding: "utf8",
        cwd: temp,
    });
    return {
        status: result.status,
        stdout: result.stdout,
        output: fs.readFileSync(files.GITHUB_OUTPUT, "utf8"),
        githubEnv: fs.readFileSync(files.GITHUB_ENV, "utf8"),
        temp,
    };
}

describe("GitHub workflows", () => {
    const temps: string[] = [];
    const run = (step: Step, env: Record<string, string>) => {
        const result = runStep(step, env);
        temps.push(result.temp);
        return result;
    };
    after(() => temps.forEach((temp) => fs.rmSync(temp, { recursive: true, force: true })));

    describe("every workflow", () => {
        const files = ["render-diff.yml", "render-diff-comment.yml", "preview.yml", "deploy.yml"];

        it("includes render-diff, render-diff-comment, preview and deploy, each named after its file", () => {
            expect(fs.readdirSync(WORKFLOWS)).to.include.members(files);
            expect(files.map((file) => load(file).name)).to.deep.equal(["render-diff", "render-diff-comment", "preview", "deploy"]);
        });

        it("pins every action to a major version of the expected actions", () => {
            const uses = [
                ...new Set(
                    files.flatMap((file) =>
                        allSteps(load(file))
                            .map((step) => step.uses)
                            .filter((u): u is string => u !== undefined),
                    ),
                ),
            ].sort();
            expect(uses).to.deep.equal([
                "actions/cache@v4",
                "actions/checkout@v4",
                "actions/download-artifact@v4",
                "actions/setup-node@v4",
                "actions/upload-artifact@v4",
                "pulumi/actions@v7",
            ]);
        });

        it("sets up Node.js 20 with the npm cache, and installs with npm ci", () => {
            for (const file of files) {
                const workflow = load(file);
                for (const [name, job] of Object.entries(workflow.jobs)) {
                    const setups = job.steps.filter((step) => step.uses === "actions/setup-node@v4");
                    for (const setup of setups) {
                        expect(setup.with?.["node-version"], `${file} ${name}`).to.equal(20);
                        expect(setup.with?.cache, `${file} ${name}`).to.equal("npm");
                    }
                    const installs = job.steps.filter((step) => step.run?.startsWith("npm ci") || step.run?.includes("\n  npm ci"));
                    expect(installs.length > 0, `${file} ${name} installs`).to.equal(setups.length > 0);
                    expect(
                        job.steps.some((step) => /\bnpm (install|i)\b/.test(step.run ?? "")),
                        `${file} ${name} npm install`,
                    ).to.equal(false);
                }
            }
        });

        it("never puts a ${{ }} expression inside a script: event data reaches scripts through env", () => {
            for (const file of files) {
                for (const step of allSteps(load(file))) {
                    expect(step.run ?? "", `${file}: ${step.name ?? step.run}`).to.not.contain("${{");
                }
            }
        });

        it("checks out without persisting the token in the git config", () => {
            for (const file of files) {
                for (const step of allSteps(load(file)).filter((s) => s.uses === "actions/checkout@v4")) {
                    expect(step.with?.["persist-credentials"], file).to.equal(false);
                }
            }
        });
    });

    describe("render-diff.yml (runs pull request code, including forks')", () => {
        const workflow = load("render-diff.yml");
        const job = workflow.jobs.render;

        it("runs on pull requests only", () => {
            expect(workflow.on).to.deep.equal({ pull_request: null });
        });

        it("has a read-only token and no job-level permissions", () => {
            expect(workflow.permissions).to.deep.equal({ contents: "read" });
            expect(Object.keys(workflow.jobs)).to.deep.equal(["render"]);
            expect(job.permissions).to.equal(undefined);
            expect(text("render-diff.yml")).to.not.match(/:\s*write\b/);
        });

        it("references no secrets at all", () => {
            expect(text("render-diff.yml")).to.not.match(/secrets\s*[.[]/);
        });

        it("checks out the head and, into base/, the base commit", () => {
            const checkouts = job.steps.filter((step) => step.uses === "actions/checkout@v4");
            expect(checkouts.map((step) => step.with)).to.deep.equal([
                { "persist-credentials": false },
                { ref: "${{ github.event.pull_request.base.sha }}", path: "base", "persist-credentials": false },
            ]);
            expect(stepUsing(job, "actions/setup-node@v4").with?.["cache-dependency-path"]).to.equal("package-lock.json\nbase/package-lock.json\n");
        });

        it("installs, tests and renders the head, renders the base in its own checkout, then writes the comment", () => {
            const runs = job.steps.filter((step) => step.run !== undefined);
            expect(runs.map((step) => step.name)).to.deep.equal([
                "Install (head)",
                "Fetch Helm and the pinned charts (head)",
                "Test (head)",
                "Render (head)",
                "Render (base)",
                "Compare and write the comment",
            ]);
            expect(runs[0].run).to.equal("npm ci --no-audit --no-fund");
            expect(runs[1].run).to.equal("npm run fetch-upstream");
            expect(runs[2].run).to.equal("npm test");
            expect(runs[3].run).to.equal('npm run render -- --out "$RUNNER_TEMP/rendered/head"');
            expect(runs[4]["working-directory"]).to.equal("base");
            expect(runs[4].run).to.contain("npm ci --no-audit --no-fund\n");
            expect(runs[4].run).to.contain('  npm run fetch-upstream\n  fi\n  npm run render -- --out "$RUNNER_TEMP/rendered/base"\n');
            expect(runs[5].run).to.contain('npx ts-node tools/pr-diff/renderDiff.ts "$RUNNER_TEMP/rendered/base" "$RUNNER_TEMP/rendered/head"');
            expect(runs[5].run).to.contain('--out "$RUNNER_TEMP/render-diff/comment.md"');
            expect(runs[5].run).to.contain(`printf '%s\\n' "$PR_NUMBER" > "$RUNNER_TEMP/render-diff/pr-number"`);
            expect(runs[5].env?.PR_NUMBER).to.equal("${{ github.event.pull_request.number }}");
        });

        it("caches Helm and the pinned charts, keyed by the files that pin them, and fetches them before the tests", () => {
            const cache = stepUsing(job, "actions/cache@v4");
            expect(cache.with).to.deep.equal({
                path: "~/.cache/istio-spire",
                key: "istio-spire-upstream-${{ hashFiles('tools/upstream/artifacts.ts', 'tools/upstream/helm.ts', 'components/mesh/spire.ts', 'components/mesh/istioOperator.ts', 'components/addons/observability.ts') }}",
            });
            // The cache path is the one tools/upstream/artifacts.ts and tools/upstream/helm.ts use on a runner (no ISTIO_SPIRE_CACHE, no XDG_CACHE_HOME).
            expect(path.relative(os.homedir(), cacheDir({}))).to.equal(path.join(".cache", "istio-spire"));
            const order = job.steps.map((step) => step.uses ?? step.name);
            expect(order.indexOf("actions/cache@v4")).to.be.below(order.indexOf("Fetch Helm and the pinned charts (head)"));
            expect(order.indexOf("Fetch Helm and the pinned charts (head)")).to.be.below(order.indexOf("Test (head)"));
        });

        it("compares against an empty tree when the base has no render script", () => {
            const base = job.steps.find((step) => step.name === "Render (base)")!;
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-base-"));
            temps.push(dir);
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ scripts: { test: "mocha" } }));
            const script = path.join(dir, "step.sh");
            fs.writeFileSync(script, base.run!);
            const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
                cwd: dir,
                env: { PATH: process.env.PATH ?? "", RUNNER_TEMP: dir },
                encoding: "utf8",
            });
            expect(result.status).to.equal(0);
            expect(result.stdout).to.equal("::notice title=render-diff::The base has no render script; comparing against an empty tree.\n");
            expect(fs.readdirSync(path.join(dir, "rendered", "base"))).to.deep.equal([]);
        });

        it("uploads the comment and the pull request number as the render-diff artifact", () => {
            const upload = stepUsing(job, "actions/upload-artifact@v4");
            expect(upload.with).to.deep.equal({
                name: "render-diff",
                path: "${{ runner.temp }}/render-diff/",
                "if-no-files-found": "error",
                "retention-days": 7,
            });
            expect(job.steps[job.steps.length - 1]).to.equal(upload);
        });
    });

    describe("render-diff-comment.yml (comments with a write token)", () => {
        const workflow = load("render-diff-comment.yml");
        const job = workflow.jobs.comment;

        it("runs when a render-diff run completes, and comments only after a successful pull-request run", () => {
            expect(workflow.on).to.deep.equal({ workflow_run: { workflows: [load("render-diff.yml").name], types: ["completed"] } });
            expect(job.if).to.equal("github.event.workflow_run.event == 'pull_request' && github.event.workflow_run.conclusion == 'success'");
        });

        it("may write pull requests and read actions' artifacts, nothing else", () => {
            expect(workflow.permissions).to.deep.equal({ actions: "read", contents: "read", "pull-requests": "write" });
            expect(job.permissions).to.equal(undefined);
        });

        it("downloads the artifact of the triggering run", () => {
            expect(stepUsing(job, "actions/download-artifact@v4").with).to.deep.equal({
                name: "render-diff",
                path: "${{ runner.temp }}/render-diff",
                "run-id": "${{ github.event.workflow_run.id }}",
                "github-token": "${{ github.token }}",
            });
        });

        it("checks out only the default branch, never the pull request's head", () => {
            const checkouts = job.steps.filter((step) => step.uses === "actions/checkout@v4");
            expect(checkouts.map((step) => step.with)).to.deep.equal([{ ref: "${{ github.event.repository.default_branch }}", "persist-credentials": false }]);
            expect(text("render-diff-comment.yml")).to.not.match(/head_branch|head_repository|pull_request\.head|refs\/pull/);
        });

        it("runs nothing from the artifact or the pull request: only npm ci and prComment.ts of the default branch", () => {
            const runs = job.steps.filter((step) => step.run !== undefined && step.id !== "pr");
            expect(runs.map((step) => step.run)).to.deep.equal([
                "npm ci --no-audit --no-fund",
                'npx ts-node tools/pr-diff/prComment.ts --pr "$PR_NUMBER" --body-file "$ARTIFACT_DIR/comment.md" --head-sha "$HEAD_SHA"',
            ]);
            const comment = runs[1];
            expect(comment.env).to.deep.equal({
                GITHUB_TOKEN: "${{ github.token }}",
                PR_NUMBER: "${{ steps.pr.outputs.number }}",
                HEAD_SHA: "${{ github.event.workflow_run.head_sha }}",
                ARTIFACT_DIR: "${{ runner.temp }}/render-diff",
            });
            const order = job.steps.map((step) => step.id ?? step.uses ?? step.run);
            expect(order.indexOf("pr")).to.be.below(order.indexOf(comment.run));
        });

        describe("validating the artifact's pull request number", () => {
            const validate = job.steps.find((step) => step.id === "pr")!;
            const withNumber = (content: string | undefined) => {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-artifact-"));
                temps.push(dir);
                if (content !== undefined) {
                    fs.writeFileSync(path.join(dir, "pr-number"), content);
                }
                return run(validate, { ARTIFACT_DIR: dir });
            };

            it("reads the artifact directory from env", () => {
                expect(validate.env).to.deep.equal({ ARTIFACT_DIR: "${{ runner.temp }}/render-diff" });
            });

            it("passes a pull request number on as the step's output", () => {
                const result = withNumber("42\n");
                expect(result.status).to.equal(0);
                expect(result.output).to.equal("number=42\n");
            });

            for (const [what, content] of [
                ["an injected command", "42; curl evil"],
                ["an output injection", "42\nnumber=7"],
                ["zero", "0"],
                ["a negative number", "-3"],
                ["a leading zero", "042"],
                ["an exponent", "1e3"],
                ["an empty file", ""],
                ["a file of many digits", "1".repeat(20)],
            ] as const) {
                it(`refuses ${what} and writes no output`, () => {
                    const result = withNumber(content);
                    expect(result.status).to.equal(1);
                    expect(result.output).to.equal("");
                    expect(result.stdout).to.match(
                        /^::error title=render-diff-comment::The artifact('s pr-number is not a pull request number| has no valid pr-number file)\n$/,
                    );
                });
            }

            it("refuses an artifact without pr-number", () => {
                const result = withNumber(undefined);
                expect(result.status).to.equal(1);
                expect(result.stdout).to.equal("::error title=render-diff-comment::The artifact has no valid pr-number file\n");
            });
        });
    });

    /** The credentials check of preview.yml and deploy.yml, run with the given secrets. */
    function gateBehaviour(file: string, what: string, note: string) {
        const gate = load(file).jobs.credentials;
        const check = gate.steps.find((step) => step.id === "check")!;
        const withSecrets = (secrets: Record<string, string>) =>
            run(check, {
                ...check.env!,
                ...Object.fromEntries(
                    Object.keys(check.env!)
                        .filter((k) => /^(PULUMI|KUBECONFIG)_/.test(k))
                        .map((k) => [k, ""]),
                ),
                ...secrets,
            });
        const kubeconfigs = Object.fromEntries(STACK_NAMES.map((stack) => [kubeconfigSecret(stack), "apiVersion: v1"]));

        it("exposes available as a job output, from a step reading the secrets into env", () => {
            expect(gate.outputs).to.deep.equal({ available: "${{ steps.check.outputs.available }}" });
            expect(gate.if).to.equal(undefined);
            const secretEnv = Object.entries(check.env!).filter(([, value]) => value.includes("secrets."));
            expect(Object.fromEntries(secretEnv)).to.deep.equal({
                PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                ...Object.fromEntries(STACK_NAMES.map((stack) => [kubeconfigSecret(stack), `\${{ secrets.${kubeconfigSecret(stack)} }}`])),
            });
            expect(check.env!.STACKS).to.equal(STACK_NAMES.join(" "));
        });

        it("is available with a Pulumi access token and every stack's kubeconfig", () => {
            const result = withSecrets({ PULUMI_ACCESS_TOKEN: "pul-x", ...kubeconfigs });
            expect([result.status, result.output, result.stdout]).to.deep.equal([0, "available=true\n", ""]);
        });

        it("is available with a self-managed backend URL instead of a token", () => {
            const result = withSecrets({ PULUMI_BACKEND_URL: "s3://state", ...kubeconfigs });
            expect([result.status, result.output]).to.deep.equal([0, "available=true\n"]);
        });

        it("is unavailable without secrets, with a notice saying what to configure", () => {
            const result = withSecrets({});
            expect([result.status, result.output]).to.deep.equal([0, "available=false\n"]);
            expect(result.stdout).to.equal(
                `::notice title=${what} skipped::Missing repository secrets: PULUMI_ACCESS_TOKEN (Pulumi Cloud) or PULUMI_BACKEND_URL (self-managed backend), ` +
                    `${STACK_NAMES.map(kubeconfigSecret).join(", ")}. Add them under Settings > Secrets and variables > Actions to run ${what}.${note}\n`,
            );
        });

        it("is unavailable when one stack's kubeconfig is missing, naming it", () => {
            const last = STACK_NAMES[STACK_NAMES.length - 1];
            const result = withSecrets({ PULUMI_ACCESS_TOKEN: "pul-x", ...kubeconfigs, [kubeconfigSecret(last)]: "" });
            expect(result.output).to.equal("available=false\n");
            expect(result.stdout).to.contain(`Missing repository secrets: ${kubeconfigSecret(last)}. `);
        });
    }

    /** The kubeconfig step: the secret written to a 0600 file that KUBECONFIG points at. */
    function kubeconfigBehaviour(step: Step) {
        const result = run(step, { KUBECONFIG_DATA: "apiVersion: v1\nkind: Config" });
        expect(result.status).to.equal(0);
        const file = path.join(result.temp, "runner", "kubeconfig");
        expect(result.githubEnv).to.equal(`KUBECONFIG=${file}\n`);
        expect(fs.readFileSync(file, "utf8")).to.equal("apiVersion: v1\nkind: Config\n");
        expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    }

    describe("preview.yml", () => {
        const workflow = load("preview.yml");
        const job = workflow.jobs.preview;

        it("runs on pull requests, may comment on them, and cancels a superseded preview", () => {
            expect(workflow.on).to.deep.equal({ pull_request: null });
            expect(workflow.permissions).to.deep.equal({ contents: "read", "pull-requests": "write" });
            expect(workflow.concurrency).to.deep.equal({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
        });

        it("previews each of the project's stacks (Pulumi.<stack>.yaml) in a matrix, with its own kubeconfig secret", () => {
            expect(job.strategy!.matrix.stack).to.deep.equal(STACK_NAMES);
            expect(job.strategy!.matrix.include).to.deep.equal(STACK_NAMES.map((stack) => ({ stack, kubeconfigSecret: kubeconfigSecret(stack) })));
            expect(job.strategy!["fail-fast"]).to.equal(false);
        });

        it("is skipped cleanly unless the credentials check found the secrets", () => {
            expect(needsOf(job)).to.deep.equal(["credentials"]);
            expect(job.if).to.equal("needs.credentials.outputs.available == 'true'");
        });

        describe("the credentials check", () =>
            gateBehaviour("preview.yml", "pulumi preview", " Pull requests from forks never receive secrets: their previews are always skipped."));

        it("writes the stack's kubeconfig to a 0600 file and points KUBECONFIG at it", () => {
            const step = job.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!;
            expect(step.env).to.deep.equal({ KUBECONFIG_DATA: "${{ secrets[matrix.kubeconfigSecret] }}" });
            kubeconfigBehaviour(step);
        });

        it("runs pulumi preview with pulumi/actions@v7, commenting on the pull request, with only inputs v7 has", () => {
            const step = stepUsing(job, "pulumi/actions@v7");
            expect(step.with).to.deep.equal({
                command: "preview",
                policyPacks: "policy",
                "stack-name": STACK_NAME("${{ matrix.stack }}"),
                "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
                "comment-on-pr": true,
                "github-token": "${{ github.token }}",
                diff: true,
            });
            expect(Object.keys(step.with!).filter((input) => !PULUMI_ACTIONS_V7_INPUTS.includes(input))).to.deep.equal([]);
            expect(step.env).to.deep.equal({
                PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            });
            const order = job.steps.map((s) => s.uses ?? s.run);
            expect(order.indexOf("pulumi/actions@v7")).to.equal(order.length - 1);
            expect(order.indexOf("npm ci --no-audit --no-fund")).to.be.at.least(0);
            // The policy pack (policy/) runs in every preview, with its own locked dependencies.
            expect(order.indexOf("npm ci --prefix policy --no-audit --no-fund")).to.be.above(order.indexOf("npm ci --no-audit --no-fund"));
        });
    });

    describe("deploy.yml", () => {
        const workflow = load("deploy.yml");
        const upJobs = Object.entries(workflow.jobs).filter(([name]) => name !== "credentials" && name !== "converged");

        /** The deploy jobs in `needs` order, starting from the one that only needs the credentials check. */
        function chain(): [string, Job][] {
            const ordered: [string, Job][] = [];
            let previous = "credentials";
            for (;;) {
                const next = upJobs.filter(
                    ([, job]) =>
                        needsOf(job)
                            .filter((need) => need !== "credentials")
                            .join() === (previous === "credentials" ? "" : previous),
                );
                if (next.length === 0) {
                    return ordered;
                }
                expect(next, `jobs after ${previous}`).to.have.length(1);
                ordered.push(next[0]);
                previous = next[0][0];
            }
        }
        /** The job's `pulumi up` step (the first job also uses pulumi/actions, without a command, to install the CLI). */
        const upStep = (job: Job): Step => {
            const steps = job.steps.filter((step) => step.uses === "pulumi/actions@v7" && step.with?.command !== undefined);
            expect(steps, "pulumi/actions@v7 steps with a command").to.have.length(1);
            return steps[0];
        };
        const stackOf = (job: Job): string => {
            const stackName = upStep(job).with!["stack-name"] as string;
            const prefix = STACK_NAME("");
            expect(stackName.startsWith(prefix), stackName).to.equal(true);
            return stackName.slice(prefix.length);
        };

        it("runs on pushes to main and by hand, never two at once and never cancelling one", () => {
            expect(workflow.on).to.deep.equal({ push: { branches: ["main"] }, workflow_dispatch: null });
            expect(workflow.permissions).to.deep.equal({ contents: "read" });
            expect(workflow.concurrency).to.deep.equal({ group: "deploy", "cancel-in-progress": false });
        });

        it("chains one pulumi up job per run, in bootstrapOrder of the project's stacks", () => {
            const ordered = chain();
            expect(ordered).to.have.length(upJobs.length);
            expect(ordered.map(([, job]) => stackOf(job))).to.deep.equal(bootstrapOrder(STACKS));
            expect(ordered.map(([name]) => name)).to.deep.equal(bootstrapOrder(STACKS).map((stack, index) => `up-${index + 1}-${stack}`));
        });

        it("runs each job only when the credentials are there, in the production environment, with its stack's kubeconfig", () => {
            chain().forEach(([name, job], index) => {
                const stack = stackOf(job);
                expect(needsOf(job)[0], name).to.equal("credentials");
                expect(job.if, name).to.equal("needs.credentials.outputs.available == 'true'");
                expect(job.environment, name).to.equal("production");
                const kubeconfig = job.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!;
                expect(kubeconfig.env, name).to.deep.equal({ KUBECONFIG_DATA: `\${{ secrets.${kubeconfigSecret(stack)} }}` });
                expect(kubeconfig.run, name).to.equal(load("preview.yml").jobs.preview.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!.run);
                const order = job.steps.map((s) => s.uses ?? s.run);
                expect(order.indexOf("npm ci --prefix policy --no-audit --no-fund"), name).to.be.above(order.indexOf("npm ci --no-audit --no-fund"));
                const up = upStep(job);
                expect(up.with, name).to.deep.equal({
                    command: "up",
                    policyPacks: "policy",
                    "stack-name": STACK_NAME(stack),
                    "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
                    upsert: true,
                    message: `deploy \${{ github.sha }}: step ${index + 1} of ${bootstrapOrder(STACKS).length} (${stack})`,
                });
                expect(Object.keys(up.with!).filter((input) => !PULUMI_ACTIONS_V7_INPUTS.includes(input))).to.deep.equal([]);
                expect(up.env, name).to.deep.equal({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                });
            });
        });

        it("writes each stack's kubeconfig to a 0600 file", () => {
            for (const [, job] of chain()) {
                kubeconfigBehaviour(job.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!);
            }
        });

        describe("creating every stack before the first pulumi up", () => {
            // A StackReference to a stack that does not exist fails the run with the engine's `unknown stack` error;
            // a stack that exists without outputs is only a pending peer (README, "Federating clusters").
            const [firstName, first] = chain()[0];
            const createIndex = first.steps.findIndex((s) => (s.run ?? "").includes("pulumi stack select --create"));
            const create = first.steps[createIndex];

            it("installs the Pulumi CLI, then creates every stack of the project, in the first job, before its pulumi up", () => {
                expect(firstName).to.equal("up-1-cluster1");
                expect(createIndex, "a step creating the stacks").to.be.at.least(0);
                const install = first.steps.findIndex((s) => s.uses === "pulumi/actions@v7" && s.with === undefined);
                expect(install, "a step installing the CLI only").to.be.at.least(0).and.below(createIndex);
                expect(createIndex).to.be.below(first.steps.indexOf(upStep(first)));
                expect(create.env).to.deep.equal({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                    ORG: "${{ vars.PULUMI_ORG || 'organization' }}",
                    STACKS: STACK_NAMES.join(" "),
                });
            });

            /** Runs the step with a fake `pulumi` that records its arguments. */
            const withFakePulumi = (env: Record<string, string>, fail = "") => {
                const bin = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-bin-"));
                temps.push(bin);
                const log = path.join(bin, "calls");
                fs.writeFileSync(
                    path.join(bin, "pulumi"),
                    `#!/bin/bash\necho "$*" >> ${JSON.stringify(log)}\n${fail ? `[[ "$*" == *${fail}* ]] && exit 1\n` : ""}exit 0\n`,
                    { mode: 0o755 },
                );
                const result = run(create, { ...env, PATH: `${bin}:${process.env.PATH}` });
                return { status: result.status, calls: fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [] };
            };

            it("selects each stack, creating it when missing, on Pulumi Cloud", () => {
                const { status, calls } = withFakePulumi({ ORG: "acme", STACKS: "cluster1 cluster2", PULUMI_ACCESS_TOKEN: "t" });
                expect(status).to.equal(0);
                expect(calls).to.deep.equal([
                    "stack select --create --non-interactive acme/istio-spire/cluster1",
                    "stack select --create --non-interactive acme/istio-spire/cluster2",
                ]);
            });

            it("logs in to a self-managed backend first", () => {
                const { calls } = withFakePulumi({ ORG: "organization", STACKS: "cluster1 cluster2", PULUMI_BACKEND_URL: "s3://state" });
                expect(calls[0]).to.equal("login s3://state");
                expect(calls).to.have.length(3);
            });

            it("fails the job when a stack cannot be created", () => {
                const { status, calls } = withFakePulumi({ ORG: "acme", STACKS: "cluster1 cluster2", PULUMI_ACCESS_TOKEN: "t" }, "cluster1");
                expect(status).to.not.equal(0);
                expect(calls).to.deep.equal(["stack select --create --non-interactive acme/istio-spire/cluster1"]);
            });
        });

        describe("checking the bootstrap converged", () => {
            const converged = workflow.jobs.converged;

            it("has only the credentials check, the pulumi up chain and the convergence check as jobs", () => {
                expect(Object.keys(workflow.jobs)).to.deep.equal(["credentials", ...chain().map(([name]) => name), "converged"]);
            });

            it("previews every stack after the last pulumi up, each with its own kubeconfig, when the credentials are there", () => {
                const [lastName] = chain()[chain().length - 1];
                expect(needsOf(converged)).to.deep.equal(["credentials", lastName]);
                expect(converged.if).to.equal("needs.credentials.outputs.available == 'true'");
                expect(converged.strategy!.matrix.stack).to.deep.equal(STACK_NAMES);
                expect(converged.strategy!.matrix.include).to.deep.equal(STACK_NAMES.map((stack) => ({ stack, kubeconfigSecret: kubeconfigSecret(stack) })));
                expect(converged.strategy!["fail-fast"]).to.equal(false);
                const step = converged.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!;
                expect(step.env).to.deep.equal({ KUBECONFIG_DATA: "${{ secrets[matrix.kubeconfigSecret] }}" });
                kubeconfigBehaviour(step);
            });

            it("fails unless the preview shows no changes (pulumi preview --expect-no-changes, with the policy pack)", () => {
                const step = stepUsing(converged, "pulumi/actions@v7");
                // pulumi/actions v7 hands `expect-no-changes` to the Automation API's preview, which passes
                // `--expect-no-changes` (src/config.ts, src/run.ts; @pulumi/pulumi automation/stack.js preview), and the CLI
                // then fails a preview that proposes changes (pulumi/pulumi pkg/cmd/pulumi preview.go).
                expect(step.with).to.deep.equal({
                    command: "preview",
                    "expect-no-changes": true,
                    policyPacks: "policy",
                    "stack-name": STACK_NAME("${{ matrix.stack }}"),
                    "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
                    diff: true,
                });
                expect(Object.keys(step.with!).filter((input) => !PULUMI_ACTIONS_V7_INPUTS.includes(input))).to.deep.equal([]);
                expect(step.env).to.deep.equal({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                });
                const order = converged.steps.map((s) => s.uses ?? s.run);
                expect(order.indexOf("pulumi/actions@v7")).to.equal(order.length - 1);
                expect(order.indexOf("npm ci --prefix policy --no-audit --no-fund")).to.be.above(order.indexOf("npm ci --no-audit --no-fund"));
            });
        });

        it("checks credentials with the same script as preview.yml", () => {
            expect(workflow.jobs.credentials.steps.map((step) => step.run)).to.deep.equal(load("preview.yml").jobs.credentials.steps.map((step) => step.run));
        });

        describe("the credentials check", () => gateBehaviour("deploy.yml", "pulumi up", ""));
    });
});
