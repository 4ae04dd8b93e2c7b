import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { cacheDir } from "../tools/upstream/artifacts";
import { loadProjectStacks } from "../tools/fleet/bootstrapOrder";
import { main as fleetMain } from "../tools/fleet/fleet";
import { checkKubeconfigs, writeKubeconfigs } from "../tools/ci/kubeconfigs";
import { FakeFleetWorkspace } from "./fakeFleetWorkspace";
import { removeTestProject, testProject } from "./testStacks";

const ROOT = path.join(__dirname, "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
    name?: string;
    id?: string;
    uses?: string;
    if?: string;
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
    "timeout-minutes"?: number;
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
function runStep(
    step: Step,
    env: Record<string, string>,
): { status: number | null; stdout: string; stderr: string; output: string; githubEnv: string; summary: string; temp: string } {
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-step-"));
    const script = path.join(temp, "step.sh");
    fs.writeFileSync(script, step.run ?? "");
    const files = {
        GITHUB_OUTPUT: path.join(temp, "output"),
        GITHUB_ENV: path.join(temp, "env"),
        GITHUB_STEP_SUMMARY: path.join(temp, "summary"),
        RUNNER_TEMP: path.join(temp, "runner"),
    };
    fs.writeFileSync(files.GITHUB_OUTPUT, "");
    fs.writeFileSync(files.GITHUB_ENV, "");
    fs.writeFileSync(files.GITHUB_STEP_SUMMARY, "");
    fs.mkdirSync(files.RUNNER_TEMP);
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...files, ...env },
        encoding: "utf8",
        cwd: temp,
    });
    return {
        status: result.status,
        stdout: result.stdout,
        stderr: result.stderr,
        output: fs.readFileSync(files.GITHUB_OUTPUT, "utf8"),
        githubEnv: fs.readFileSync(files.GITHUB_ENV, "utf8"),
        summary: fs.readFileSync(files.GITHUB_STEP_SUMMARY, "utf8"),
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

    /** The credentials check of preview.yml (its `credentials` job) and deploy.yml (the first step of its job), run with the given secrets. */
    function gateBehaviour(file: string, job: string, what: string, environment: string, note: string) {
        const check = (load(file).jobs[job]?.steps ?? []).find((step) => step.id === "check")!;
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

        it("reads the secrets into env, and names the environment they come from", () => {
            const secretEnv = Object.entries(check.env!).filter(([, value]) => value.includes("secrets."));
            expect(Object.fromEntries(secretEnv)).to.deep.equal({
                PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                ...Object.fromEntries(STACK_NAMES.map((stack) => [kubeconfigSecret(stack), `\${{ secrets.${kubeconfigSecret(stack)} }}`])),
            });
            expect(check.env!.STACKS).to.equal(STACK_NAMES.join(" "));
            expect(check.env!.ENVIRONMENT).to.equal(environment);
            expect(load(file).jobs[job].environment).to.equal(environment);
        });

        it("is available with a Pulumi access token and every stack's kubeconfig", () => {
            const result = withSecrets({ PULUMI_ACCESS_TOKEN: "pul-x", ...kubeconfigs });
            expect([result.status, result.output, result.stdout]).to.deep.equal([0, "available=true\n", ""]);
        });

        it("is available with a self-managed backend URL instead of a token", () => {
            const result = withSecrets({ PULUMI_BACKEND_URL: "s3://state", ...kubeconfigs });
            expect([result.status, result.output]).to.deep.equal([0, "available=true\n"]);
        });

        it("is unavailable without secrets, with a notice saying what to configure in which environment", () => {
            const result = withSecrets({});
            expect([result.status, result.output]).to.deep.equal([0, "available=false\n"]);
            expect(result.stdout).to.equal(
                `::notice title=${what} skipped::Missing secrets of the ${environment} environment: PULUMI_ACCESS_TOKEN (Pulumi Cloud) or PULUMI_BACKEND_URL (self-managed backend), ` +
                    `${STACK_NAMES.map(kubeconfigSecret).join(", ")}. Add them under Settings > Environments > ${environment} to run ${what}.${note}\n`,
            );
        });

        it("is unavailable when one stack's kubeconfig is missing, naming it", () => {
            const last = STACK_NAMES[STACK_NAMES.length - 1];
            const result = withSecrets({ PULUMI_ACCESS_TOKEN: "pul-x", ...kubeconfigs, [kubeconfigSecret(last)]: "" });
            expect(result.output).to.equal("available=false\n");
            expect(result.stdout).to.contain(`Missing secrets of the ${environment} environment: ${kubeconfigSecret(last)}. `);
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

    /** A directory of fake commands, each recording its arguments (one line per call) in `<dir>/calls`, then running `script`. */
    function fakeCommands(commands: Record<string, string>): { bin: string; calls: () => string[] } {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-bin-"));
        temps.push(bin);
        const log = path.join(bin, "calls");
        for (const [name, script] of Object.entries(commands)) {
            fs.writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> ${JSON.stringify(log)}\n${script}\n`, { mode: 0o755 });
        }
        return { bin, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []) };
    }

    describe("preview.yml", () => {
        const workflow = load("preview.yml");
        const job = workflow.jobs.preview;
        const previewStep = () => {
            const steps = job.steps.filter((s) => s.uses === "pulumi/actions@v7" && s.with?.command !== undefined);
            expect(steps, "pulumi/actions@v7 steps with a command").to.have.length(1);
            return steps[0];
        };
        const exists = job.steps.find((s) => s.id === "stacks")!;
        const render = job.steps.find((s) => s.name === "Offline render instead (a stack or peer does not exist yet)")!;

        it("runs on pull requests, may comment on them, and cancels a superseded preview", () => {
            expect(workflow.on).to.deep.equal({ pull_request: null });
            expect(workflow.permissions).to.deep.equal({ contents: "read", "pull-requests": "write" });
            expect(workflow.concurrency).to.deep.equal({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
        });

        it("previews each of the project's stacks (Pulumi.<stack>.yaml) in a matrix, with its own kubeconfig secret and its peers", () => {
            expect(job.strategy!.matrix.stack).to.deep.equal(STACK_NAMES);
            expect(job.strategy!.matrix.include).to.deep.equal(
                STACKS.map(({ name, peers }) => ({ stack: name, kubeconfigSecret: kubeconfigSecret(name), peers: peers.join(" ") })),
            );
            expect(job.strategy!["fail-fast"]).to.equal(false);
        });

        it("is skipped cleanly unless the credentials check found the secrets, and both jobs use the preview environment", () => {
            expect(needsOf(job)).to.deep.equal(["credentials"]);
            expect(job.if).to.equal("needs.credentials.outputs.available == 'true'");
            expect(Object.entries(workflow.jobs).map(([name, j]) => [name, j.environment])).to.deep.equal([
                ["credentials", "preview"],
                ["preview", "preview"],
            ]);
            expect(workflow.jobs.credentials.outputs).to.deep.equal({ available: "${{ steps.check.outputs.available }}" });
        });

        describe("the credentials check", () =>
            gateBehaviour(
                "preview.yml",
                "credentials",
                "pulumi preview",
                "preview",
                " Pull requests from forks never receive secrets: their previews are always skipped.",
            ));

        it("writes the stack's kubeconfig to a 0600 file and points KUBECONFIG at it", () => {
            const step = job.steps.find((s) => s.env?.KUBECONFIG_DATA !== undefined)!;
            expect(step.env).to.deep.equal({ KUBECONFIG_DATA: "${{ secrets[matrix.kubeconfigSecret] }}" });
            kubeconfigBehaviour(step);
        });

        it("installs the CLI, checks the stacks exist, then previews them or renders offline", () => {
            const order = job.steps.map((s) => s.id ?? s.name ?? s.uses);
            const install = job.steps.findIndex((s) => s.uses === "pulumi/actions@v7" && s.with === undefined);
            expect(install, "a step installing the CLI only").to.be.at.least(0);
            expect(install).to.be.below(order.indexOf("stacks"));
            expect(order.indexOf("stacks")).to.be.below(job.steps.indexOf(previewStep()));
            expect(job.steps[job.steps.length - 1]).to.equal(render);
            expect(previewStep().if).to.equal("steps.stacks.outputs.exist == 'true'");
            expect(render.if).to.equal("steps.stacks.outputs.exist == 'false'");
            const runs = job.steps.map((s) => s.run);
            // The policy pack (policy/) runs in every preview, with its own locked dependencies.
            expect(runs.indexOf("npm ci --prefix policy --no-audit --no-fund")).to.be.above(runs.indexOf("npm ci --no-audit --no-fund"));
        });

        it("runs pulumi preview with pulumi/actions@v7, commenting on the pull request, with only inputs v7 has", () => {
            const step = previewStep();
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
        });

        describe("before the first deployment: which stacks exist", () => {
            const ENV = { ORG: "acme", STACK: "cluster1", PEERS: "acme/istio-spire/cluster2", PULUMI_ACCESS_TOKEN: "t" };
            /** Runs the check with a fake `pulumi` knowing the given stacks (any other fails as the CLI does). */
            const check = (known: string[], env: Record<string, string> = ENV, otherError = "") => {
                const fake = fakeCommands({
                    pulumi: [
                        `[[ "$1" == login ]] && exit 0`,
                        otherError ? `echo ${JSON.stringify(otherError)} >&2; exit 255` : "",
                        `case " ${known.join(" ")} " in *" $4 "*) exit 0;; esac`,
                        `echo "error: no stack named '$4' found" >&2; exit 255`,
                    ].join("\n"),
                });
                const result = run(exists, { ...env, PATH: `${fake.bin}:${process.env.PATH}` });
                return { ...result, calls: fake.calls() };
            };

            it("reads the stack, its peers and the org from env", () => {
                expect(exists.env).to.deep.equal({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                    ORG: "${{ vars.PULUMI_ORG || 'organization' }}",
                    STACK: "${{ matrix.stack }}",
                    PEERS: "${{ matrix.peers }}",
                });
            });

            it("selects the stack and each peer without creating them, and previews when all exist", () => {
                const result = check(["acme/istio-spire/cluster1", "acme/istio-spire/cluster2"]);
                expect([result.status, result.output, result.stdout]).to.deep.equal([0, "exist=true\n", ""]);
                expect(result.calls).to.deep.equal([
                    "pulumi stack select --non-interactive acme/istio-spire/cluster1",
                    "pulumi stack select --non-interactive acme/istio-spire/cluster2",
                ]);
            });

            it("renders offline, saying why, when the stack does not exist yet (a new repository)", () => {
                const result = check([]);
                expect(result.status).to.equal(0);
                expect(result.output).to.equal("exist=false\nmissing=acme/istio-spire/cluster1, acme/istio-spire/cluster2\n");
                expect(result.stdout).to.equal(
                    "::notice title=cluster1: offline render, not a preview::Not in the backend yet: acme/istio-spire/cluster1, acme/istio-spire/cluster2 " +
                        "(the first deploy creates every stack). The job summary shows the offline render of cluster1 instead.\n",
                );
            });

            it("renders offline when only a peer does not exist (its preview would fail with unknown stack)", () => {
                const result = check(["acme/istio-spire/cluster1"]);
                expect(result.output).to.equal("exist=false\nmissing=acme/istio-spire/cluster2\n");
            });

            it("logs in to a self-managed backend first", () => {
                const result = check(["organization/istio-spire/cluster1", "organization/istio-spire/cluster2"], {
                    ...ENV,
                    ORG: "organization",
                    PEERS: "organization/istio-spire/cluster2",
                    PULUMI_ACCESS_TOKEN: "",
                    PULUMI_BACKEND_URL: "s3://state",
                });
                expect(result.calls[0]).to.equal("pulumi login s3://state");
                expect(result.output).to.equal("exist=true\n");
            });

            it("fails on any other error (credentials, backend), with Pulumi's message", () => {
                const result = check([], ENV, "error: [401] Unauthorized: No credentials provided or are invalid.");
                expect(result.status).to.equal(1);
                expect(result.output).to.equal("");
                expect(result.stderr).to.equal("error: [401] Unauthorized: No credentials provided or are invalid.\n");
            });
        });

        describe("before the first deployment: the offline render", () => {
            it("renders the stack without Helm and writes its summary to the job summary, headed as a render", () => {
                expect(render.env).to.deep.equal({ STACK: "${{ matrix.stack }}", MISSING: "${{ steps.stacks.outputs.missing }}" });
                // A fake npm writing what `npm run render -- --out <dir> <stack>` writes: <dir>/<stack>/summary.md.
                const fake = fakeCommands({ npm: `mkdir -p "$6/$7" && printf '# Stack %s\\n' "$7" > "$6/$7/summary.md"` });
                const result = run(render, { STACK: "cluster1", MISSING: "acme/istio-spire/cluster1", PATH: `${fake.bin}:${process.env.PATH}` });
                expect(result.status).to.equal(0);
                expect(fake.calls()).to.deep.equal([`npm run render -- --no-charts --out ${path.join(result.temp, "runner", "rendered")} cluster1`]);
                expect(result.summary).to.equal(
                    "## cluster1: offline render, not a pulumi preview\n\n" +
                        "No `pulumi preview` of cluster1: not in the backend yet: acme/istio-spire/cluster1. The first deploy (deploy.yml) creates every stack.\n" +
                        "Below is what `npm run render` declares for cluster1 (mock runtime, no cluster contacted, without Helm's chart objects).\n\n" +
                        "# Stack cluster1\n",
                );
            });

            it("fails the job when the render fails (bad configuration)", () => {
                const fake = fakeCommands({ npm: "exit 1" });
                const result = run(render, { STACK: "cluster1", MISSING: "x", PATH: `${fake.bin}:${process.env.PATH}` });
                expect(result.status).to.equal(1);
                expect(result.summary).to.equal("");
            });
        });
    });

    describe("deploy.yml", () => {
        const workflow = load("deploy.yml");
        // Absent (an older deploy.yml), the job fails the tests below rather than the loading of this file.
        const job: Job = workflow.jobs.deploy ?? { steps: [] };
        const fleetStep = job.steps.find((s) => s.name === "npm run fleet -- up")!;
        const kubeconfigs = job.steps.find((s) => s.name === "Write the kubeconfig of every stack")!;

        it("runs on pushes to main and by hand, never two at once and never cancelling one", () => {
            expect(workflow.on).to.deep.equal({ push: { branches: ["main"] }, workflow_dispatch: null });
            expect(workflow.permissions).to.deep.equal({ contents: "read" });
            expect(workflow.concurrency).to.deep.equal({ group: "deploy", "cancel-in-progress": false });
        });

        it("is one job in the production environment (one approval), every step after the check only with the credentials", () => {
            expect(Object.keys(workflow.jobs)).to.deep.equal(["deploy"]);
            expect(job.environment).to.equal("production");
            expect(job.needs).to.equal(undefined);
            expect(job.steps[0].id).to.equal("check");
            for (const step of job.steps.slice(1)) {
                expect(step.if, step.name ?? step.uses).to.equal("steps.check.outputs.available == 'true'");
            }
        });

        it("checks credentials with the same script as preview.yml", () => {
            expect(job.steps[0].run).to.equal(load("preview.yml").jobs.credentials.steps[0].run);
        });

        describe("the credentials check", () => gateBehaviour("deploy.yml", "deploy", "pulumi up", "production", ""));

        it("installs, installs the policy pack and the Pulumi CLI, writes the kubeconfigs, then runs the fleet", () => {
            const order = job.steps.map((s) => s.run ?? s.uses);
            expect(order.indexOf("npm ci --prefix policy --no-audit --no-fund")).to.be.above(order.indexOf("npm ci --no-audit --no-fund"));
            const install = job.steps.findIndex((s) => s.uses === "pulumi/actions@v7");
            expect(job.steps[install].with).to.equal(undefined);
            expect(job.steps.filter((s) => s.uses === "pulumi/actions@v7")).to.have.length(1);
            expect(job.steps.indexOf(kubeconfigs)).to.be.below(job.steps.indexOf(fleetStep));
            expect(install).to.be.below(job.steps.indexOf(fleetStep));
            expect(job.steps[job.steps.length - 1]).to.equal(fleetStep);
        });

        it("writes every stack's kubeconfig with tools/ci/kubeconfigs.ts and points KUBECONFIG at the list", () => {
            expect(kubeconfigs.env).to.deep.equal({
                ...Object.fromEntries(STACK_NAMES.map((stack) => [kubeconfigSecret(stack), `\${{ secrets.${kubeconfigSecret(stack)} }}`])),
                STACKS: STACK_NAMES.join(" "),
            });
            expect(kubeconfigs.run).to.equal(
                'kubeconfig="$(npx ts-node --transpile-only tools/ci/kubeconfigs.ts "$RUNNER_TEMP/kubeconfigs" $STACKS)"\n' +
                    'echo "KUBECONFIG=$kubeconfig" >> "$GITHUB_ENV"\n',
            );
        });

        describe("npm run fleet -- up", () => {
            /** Runs the step with a fake `pulumi` and `npm`; returns what they were called with. */
            const runFleetStep = (env: Record<string, string>) => {
                const fake = fakeCommands({ pulumi: "exit 0", npm: "exit 0" });
                const result = run(fleetStep, { ...env, PATH: `${fake.bin}:${process.env.PATH}` });
                return { status: result.status, calls: fake.calls() };
            };

            it("reads the credentials and the org from env", () => {
                expect(fleetStep.env).to.deep.equal({
                    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    PULUMI_BACKEND_URL: "${{ secrets.PULUMI_BACKEND_URL }}",
                    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                    ORG: "${{ vars.PULUMI_ORG || 'organization' }}",
                });
            });

            it("runs the fleet command in the org, on Pulumi Cloud", () => {
                expect(runFleetStep({ ORG: "acme", PULUMI_ACCESS_TOKEN: "t" })).to.deep.equal({ status: 0, calls: ["npm run fleet -- up --org acme"] });
            });

            it("logs in to a self-managed backend first", () => {
                expect(runFleetStep({ ORG: "organization", PULUMI_BACKEND_URL: "s3://state" }).calls).to.deep.equal([
                    "pulumi login s3://state",
                    "npm run fleet -- up --org organization",
                ]);
            });

            describe("when SPIRE publishes a bundle after the stack's first run", function () {
                this.timeout(120000);
                let dir: string;
                before(() => {
                    dir = testProject();
                });
                after(() => removeTestProject(dir));
                // cluster2's first run exports `federation` without `trustBundle`: SPIRE had not published yet.
                const late = () => new FakeFleetWorkspace({ projectDir: dir, bundlePublishedFrom: { cluster2: 2 } });

                it("the fixed sequence cluster1, cluster2, cluster1 leaves cluster1 with cluster2 pending", async () => {
                    const workspace = late();
                    for (const stack of ["cluster1", "cluster2"]) {
                        await workspace.createStack(stack);
                    }
                    let outputs: Record<string, unknown> = {};
                    for (const stack of ["cluster1", "cluster2", "cluster1"]) {
                        outputs = await workspace.up(stack);
                    }
                    expect(outputs.pendingPeers).to.deep.equal(["organization/istio-spire/cluster2"]);
                });

                it("the workflow's fleet command converges: it runs cluster2 again, then cluster1", async () => {
                    // The command line the step runs, after `npm run fleet --`, in the test's own project directory.
                    const argv = runFleetStep({ ORG: "organization", PULUMI_ACCESS_TOKEN: "t" })
                        .calls[0].split(" ")
                        .slice("npm run fleet --".split(" ").length);
                    const workspace = late();
                    const lines: string[] = [];
                    const code = await fleetMain([...argv, "--cwd", dir], {
                        workspace: async (_dir, organization) => {
                            expect(organization).to.equal("organization");
                            return workspace;
                        },
                        print: (line) => lines.push(line),
                        printError: (line) => lines.push(`error: ${line}`),
                    });
                    expect(code, lines.join("\n")).to.equal(0);
                    expect(workspace.steps.filter((s) => s.startsWith("up "))).to.deep.equal(["up cluster1", "up cluster2", "up cluster2", "up cluster1"]);
                    for (const stack of ["cluster1", "cluster2"]) {
                        expect((await workspace.outputs(stack)).pendingPeers, stack).to.deep.equal([]);
                    }
                    expect(lines[lines.length - 1]).to.equal(
                        "fleet up: converged in 4 runs: every stack federated with every peer, 2 previews without changes",
                    );
                });
            });
        });
    });

    describe("tools/ci/kubeconfigs.ts (deploy.yml's kubeconfigs, merged in one KUBECONFIG)", () => {
        const kubeconfig = (name: string, server = `https://${name}:6443`) =>
            stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [{ name, cluster: { server } }],
                users: [{ name: `${name}-admin`, user: { token: `token-${name}` } }],
                contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
            });
        const dir = () => {
            const d = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-kube-"));
            temps.push(d);
            return path.join(d, "kubeconfigs");
        };

        it("writes each stack's kubeconfig to a 0600 file and returns the KUBECONFIG list, in stack order", () => {
            const out = dir();
            const env = { KUBECONFIG_CLUSTER1: kubeconfig("cluster1"), KUBECONFIG_CLUSTER2: kubeconfig("cluster2") };
            const files = ["cluster1", "cluster2"].map((stack) => path.join(out, `${stack}.kubeconfig`));
            expect(writeKubeconfigs(out, ["cluster1", "cluster2"], env)).to.equal(files.join(":"));
            expect(files.map((file) => fs.readFileSync(file, "utf8"))).to.deep.equal([env.KUBECONFIG_CLUSTER1, env.KUBECONFIG_CLUSTER2]);
            expect(files.map((file) => fs.statSync(file).mode & 0o777)).to.deep.equal([0o600, 0o600]);
        });

        it("accepts the same kubeconfig for every stack", () => {
            const both = kubeconfig("cluster1") + "";
            expect(() => checkKubeconfigs(["cluster1", "cluster2"], { KUBECONFIG_CLUSTER1: both, KUBECONFIG_CLUSTER2: both })).to.not.throw();
        });

        it("refuses a name two kubeconfigs define differently (client-go would use the first for both)", () => {
            const out = dir();
            const env = { KUBECONFIG_CLUSTER1: kubeconfig("default"), KUBECONFIG_CLUSTER2: kubeconfig("default", "https://other:6443") };
            expect(() => writeKubeconfigs(out, ["cluster1", "cluster2"], env)).to.throw(
                'KUBECONFIG_CLUSTER1 and KUBECONFIG_CLUSTER2 both define a cluster named "default", differently: merged into one KUBECONFIG, ' +
                    "the first one's would be used for both stacks; rename it in one of them",
            );
            expect(fs.existsSync(out), "nothing written").to.equal(false);
        });

        it("refuses an empty or non-kubeconfig variable without printing its content", () => {
            expect(() => checkKubeconfigs(["cluster1"], {})).to.throw("KUBECONFIG_CLUSTER1 is empty: set it to the kubeconfig of stack cluster1");
            expect(() => checkKubeconfigs(["web-1"], { KUBECONFIG_WEB_1: "secret-token: [" })).to.throw(
                "KUBECONFIG_WEB_1 is not a kubeconfig: it is not valid YAML",
            );
            expect(() => checkKubeconfigs(["cluster1"], { KUBECONFIG_CLUSTER1: "s3cr3t" })).to.throw(
                "KUBECONFIG_CLUSTER1 is not a kubeconfig: expected a YAML mapping",
            );
        });
    });

    describe("who can reach what (the table of docs/pull-requests.md)", () => {
        const FILES = ["render-diff.yml", "render-diff-comment.yml", "preview.yml", "deploy.yml"];
        const page = fs.readFileSync(path.join(ROOT, "docs", "pull-requests.md"), "utf8");
        const section = page.slice(page.indexOf("## Credentials: which job can reach what"));
        const header = "| workflow | job | trigger | environment | secrets it reads |";
        const table = section
            .slice(section.indexOf(header))
            .split("\n")
            .slice(2)
            .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => l.startsWith("|")));
        /** Backticked names of a cell; `KUBECONFIG_<STACK>` stands for every stack's. */
        const names = (cell: string): string[] =>
            [...cell.matchAll(/`([^`]+)`/g)].flatMap(([, name]) => (name === "KUBECONFIG_<STACK>" ? STACK_NAMES.map(kubeconfigSecret) : [name])).sort();
        const rows = table.map((line) => {
            const [workflow, job, trigger, environment, secrets] = line.split("|").slice(1, -1);
            return { workflow: names(workflow)[0], job: names(job)[0], trigger: names(trigger), environment: names(environment)[0], secrets: names(secrets) };
        });
        /** The secrets a job references: `secrets.NAME`, and `secrets[matrix.key]` as each matrix entry's value. */
        const secretsOf = (job: Job): string[] => {
            const text = JSON.stringify(job);
            const direct = [...text.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map(([, name]) => name);
            const viaMatrix = [...text.matchAll(/secrets\[matrix\.([A-Za-z0-9_]+)\]/g)].flatMap(([, key]) =>
                (job.strategy?.matrix.include ?? []).map((entry) => entry[key]),
            );
            return [...new Set([...direct, ...viaMatrix])].sort();
        };
        const jobs = FILES.flatMap((file) => Object.entries(load(file).jobs).map(([name, job]) => ({ file, name, job, on: Object.keys(load(file).on) })));

        it("lists every job of every workflow, once", () => {
            expect(rows.map((r) => `${r.workflow} ${r.job}`)).to.deep.equal(jobs.map((j) => `${j.file} ${j.name}`));
        });

        it("states each job's trigger, environment and the secrets it references", () => {
            for (const { file, name, job, on } of jobs) {
                const row = rows.find((r) => r.workflow === file && r.job === name)!;
                expect(row.trigger, `${file} ${name}`).to.deep.equal([...on].sort());
                expect(row.environment, `${file} ${name}`).to.equal(job.environment);
                expect(row.secrets, `${file} ${name}`).to.deep.equal(secretsOf(job));
            }
        });

        it("uses no repository secret: every job referencing a secret names an environment", () => {
            for (const { file, name, job } of jobs) {
                if (secretsOf(job).length > 0) {
                    expect(job.environment, `${file} ${name}`).to.be.a("string");
                }
            }
        });

        it("gives no job a pull request or its result triggers the production environment", () => {
            for (const { file, name, job, on } of jobs.filter((j) => j.on.some((event) => /^(pull_request|pull_request_target|workflow_run)$/.test(event)))) {
                expect([undefined, "preview"], `${file} ${name} (${on.join(", ")})`).to.include(job.environment);
            }
        });

        it("has deploy.yml's deploy job as the only job in production", () => {
            expect(jobs.filter((j) => j.job.environment === "production").map((j) => `${j.file} ${j.name}`)).to.deep.equal(["deploy.yml deploy"]);
        });
    });
});
