// Creates or updates the render-diff comment on a pull request, through GitHub's REST API.
//
//   GITHUB_TOKEN=... GITHUB_REPOSITORY=owner/name ts-node tools/pr-diff/prComment.ts --pr <n> --body-file comment.md [--head-sha <sha>]
//
// Lists the pull request's comments (every page), updates the first one written by the bot (github-actions[bot])
// whose body contains the marker, else creates one. Comments by anyone else are never touched, even when they quote
// the marker. With --head-sha, nothing is posted unless the pull request's head is still that commit: the body was
// produced by a run of that commit (and a fork's run is untrusted, so the number it reports is checked against it).

import * as fs from "fs";
import { GITHUB_COMMENT_LIMIT, MARKER } from "./renderDiff";
import { wantsHelp } from "../help";

/** The author of comments posted with a workflow's GITHUB_TOKEN. */
export const BOT_LOGIN = "github-actions[bot]";
export const DEFAULT_API_URL = "https://api.github.com";

/** The subset of the global `fetch` used here, so tests can pass a fake. */
export type FetchLike = (
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<Pick<Response, "ok" | "status" | "statusText" | "headers" | "text">>;

export interface UpsertOptions {
    token: string;
    /** `owner/name`. */
    repository: string;
    pr: number;
    body: string;
    /** Only when the pull request's head is this commit (else the result is `skipped`). */
    headSha?: string;
    marker?: string;
    botLogin?: string;
    apiUrl?: string;
    fetch?: FetchLike;
}

export type UpsertResult = { action: "created" | "updated"; id: number; url: string } | { action: "skipped"; reason: string };

interface IssueComment {
    id: number;
    body?: string | null;
    html_url: string;
    user?: { login?: string } | null;
}

/** The `rel="next"` URL of a `Link` header, if any. */
export function nextLink(link: string | null): string | undefined {
    for (const part of (link ?? "").split(",")) {
        const match = /^\s*<([^>]+)>(.*)$/.exec(part);
        const rel = match === null ? null : /;\s*rel="?([^";]*)"?/.exec(match[2]);
        if (match !== null && rel !== null && rel[1].split(/\s+/).includes("next")) {
            return match[1];
        }
    }
    return undefined;
}

class GitHub {
    constructor(
        private readonly token: string,
        private readonly apiUrl: string,
        private readonly fetchImpl: FetchLike,
    ) {}

    /** Calls the API; returns the parsed body and the `Link` header; throws on a non-2xx status. */
    async request(method: string, url: string, body?: unknown): Promise<{ data: unknown; link: string | null }> {
        const target = url.startsWith("https://") || url.startsWith("http://") ? url : `${this.apiUrl}${url}`;
        if (new URL(target).origin !== new URL(this.apiUrl).origin) {
            throw new Error(`Refusing to send the token to ${new URL(target).origin} (API is ${this.apiUrl})`);
        }
        const headers: Record<string, string> = {
            Accept: "application/vnd.github+json",
            Authorization: `Bearer ${this.token}`,
            "User-Agent": "istio-spire-render-diff",
            "X-GitHub-Api-Version": "2022-11-28",
        };
        if (body !== undefined) {
            headers["Content-Type"] = "application/json";
        }
        const response = await this.fetchImpl(target, {
            method,
            headers,
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        if (!response.ok) {
            let detail = text;
            try {
                const message = (JSON.parse(text) as { message?: unknown }).message;
                if (typeof message === "string") {
                    detail = message;
                }
            } catch {
                // Not JSON: the raw text is the detail.
            }
            const where = new URL(target).pathname;
            throw new Error(`GitHub API ${method} ${where} failed: ${response.status} ${response.statusText}${detail === "" ? "" : `: ${detail}`}`.trim());
        }
        return { data: text === "" ? undefined : JSON.parse(text), link: response.headers.get("link") };
    }
}

/** Every comment of an issue or pull request, following the `Link` header's pages. */
async function listComments(github: GitHub, repository: string, pr: number): Promise<IssueComment[]> {
    const comments: IssueComment[] = [];
    let url: string | undefined = `/repos/${repository}/issues/${pr}/comments?per_page=100`;
    while (url !== undefined) {
        const { data, link }: { data: unknown; link: string | null } = await github.request("GET", url);
        if (!Array.isArray(data)) {
            throw new Error(`GitHub API GET ${url} returned ${typeof data}, expected a list of comments`);
        }
        comments.push(...(data as IssueComment[]));
        url = nextLink(link);
    }
    return comments;
}

/** Updates the bot's marked comment on the pull request, or creates it. */
export async function upsertComment(options: UpsertOptions): Promise<UpsertResult> {
    const marker = options.marker ?? MARKER;
    const botLogin = options.botLogin ?? BOT_LOGIN;
    const apiUrl = (options.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repository)) {
        throw new Error(`Repository must be owner/name, got ${JSON.stringify(options.repository)}`);
    }
    if (!Number.isSafeInteger(options.pr) || options.pr < 1) {
        throw new Error(`Pull request number must be a positive integer, got ${JSON.stringify(options.pr)}`);
    }
    if (options.token === "") {
        throw new Error("No GitHub token");
    }
    if (!options.body.includes(marker)) {
        throw new Error(`The comment body does not contain the marker ${marker}, so it could never be updated`);
    }
    if (options.body.length > GITHUB_COMMENT_LIMIT) {
        throw new Error(`The comment body has ${options.body.length} characters; GitHub accepts at most ${GITHUB_COMMENT_LIMIT}`);
    }
    const github = new GitHub(options.token, apiUrl, options.fetch ?? ((url, init) => fetch(url, init)));

    if (options.headSha !== undefined) {
        const { data } = await github.request("GET", `/repos/${options.repository}/pulls/${options.pr}`);
        const head = (data as { head?: { sha?: unknown } } | undefined)?.head?.sha;
        if (head !== options.headSha) {
            return {
                action: "skipped",
                reason: `pull request #${options.pr} is at ${String(head)}, not ${options.headSha}: the comment belongs to another commit`,
            };
        }
    }

    const comments = await listComments(github, options.repository, options.pr);
    const existing = comments.find((comment) => comment.user?.login === botLogin && typeof comment.body === "string" && comment.body.includes(marker));
    const { data } =
        existing !== undefined
            ? await github.request("PATCH", `/repos/${options.repository}/issues/comments/${existing.id}`, { body: options.body })
            : await github.request("POST", `/repos/${options.repository}/issues/${options.pr}/comments`, { body: options.body });
    const saved = data as IssueComment;
    return { action: existing !== undefined ? "updated" : "created", id: saved.id, url: saved.html_url };
}

export interface CliInput {
    pr: number;
    bodyFile: string;
    headSha?: string;
}

export function parseArgs(argv: string[]): CliInput {
    const values: Record<string, string> = {};
    const known = ["--pr", "--body-file", "--head-sha"];
    for (let i = 0; i < argv.length; i++) {
        if (!known.includes(argv[i])) {
            throw new Error(`Unknown argument ${argv[i]} (usage: --pr <n> --body-file <file> [--head-sha <sha>])`);
        }
        if (i + 1 >= argv.length) {
            throw new Error(`${argv[i]} needs a value`);
        }
        values[argv[i]] = argv[++i];
    }
    const prText = values["--pr"];
    if (prText === undefined || !/^[1-9][0-9]{0,9}$/.test(prText)) {
        throw new Error(`--pr must be a pull request number, got ${JSON.stringify(prText ?? "")}`);
    }
    if (values["--body-file"] === undefined) {
        throw new Error("--body-file is required");
    }
    const headSha = values["--head-sha"];
    if (headSha !== undefined && !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(headSha)) {
        throw new Error(`--head-sha must be a commit SHA, got ${JSON.stringify(headSha)}`);
    }
    return { pr: Number(prText), bodyFile: values["--body-file"], ...(headSha === undefined ? {} : { headSha }) };
}

/** What `--help` (or `-h`) prints, on stdout, with exit code 0. */
export const PR_COMMENT_HELP = [
    "usage: ts-node tools/pr-diff/prComment.ts --pr <n> --body-file <file> [--head-sha <sha>]",
    "",
    "Creates or updates the render-diff comment on a pull request (GITHUB_TOKEN, GITHUB_REPOSITORY=owner/name).",
    "",
    "  --pr <n>            the pull request",
    "  --body-file <file>  the comment (renderDiff.ts --out)",
    "  --head-sha <sha>    post only while the pull request's head is this commit",
    "  -h, --help          print this help and exit",
].join("\n");

/** The CLI, with its environment and fetch injectable. Returns the line it prints. */
export async function main(argv: string[], env: NodeJS.ProcessEnv, fetchImpl?: FetchLike): Promise<string> {
    if (wantsHelp(argv)) {
        return PR_COMMENT_HELP;
    }
    const input = parseArgs(argv);
    const token = env.GITHUB_TOKEN ?? "";
    const repository = env.GITHUB_REPOSITORY ?? "";
    if (token === "") {
        throw new Error("GITHUB_TOKEN is not set");
    }
    if (repository === "") {
        throw new Error("GITHUB_REPOSITORY is not set (owner/name)");
    }
    const result = await upsertComment({
        token,
        repository,
        pr: input.pr,
        body: fs.readFileSync(input.bodyFile, "utf8"),
        ...(input.headSha === undefined ? {} : { headSha: input.headSha }),
        ...(env.GITHUB_API_URL ? { apiUrl: env.GITHUB_API_URL } : {}),
        ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
    });
    return result.action === "skipped"
        ? `Skipped: ${result.reason}`
        : `${result.action === "updated" ? "Updated" : "Created"} comment ${result.id} on #${input.pr}: ${result.url}`;
}

if (require.main === module) {
    main(process.argv.slice(2), process.env).then(
        (line) => console.log(line),
        (error: unknown) => {
            console.error(error instanceof Error ? error.message : String(error));
            process.exit(1);
        },
    );
}
