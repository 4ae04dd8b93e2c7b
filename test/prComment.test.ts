import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BOT_LOGIN, FetchLike, main, nextLink, parseArgs, upsertComment } from "../tools/pr-diff/prComment";
import { MARKER } from "../tools/pr-diff/renderDiff";

interface Call {
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: unknown;
}

type Route = (call: Call) => { status?: number; statusText?: string; body?: unknown; headers?: Record<string, string> } | undefined;

/** A fake `fetch` answering from `routes` (first match wins) and recording every call; unrouted calls are a 404. */
function fakeFetch(...routes: Route[]): { fetch: FetchLike; calls: Call[] } {
    const calls: Call[] = [];
    const fetch: FetchLike = async (url, init) => {
        const call: Call = { method: init.method, url, headers: init.headers, ...(init.body === undefined ? {} : { body: JSON.parse(init.body) }) };
        calls.push(call);
        for (const route of routes) {
            const answer = route(call);
            if (answer !== undefined) {
                const status = answer.status ?? 200;
                return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
                    status,
                    statusText: answer.statusText ?? (status === 200 ? "OK" : status === 201 ? "Created" : ""),
                    headers: answer.headers ?? {},
                });
            }
        }
        return new Response(JSON.stringify({ message: "Not Found" }), { status: 404, statusText: "Not Found" });
    };
    return { fetch, calls };
}

const API = "https://api.github.com";
const REPO = "acme/istio-spire";
const BODY = `${MARKER}\n### 1 file changed in stack cluster1\n`;
const comment = (id: number, login: string, body: string) => ({ id, user: { login }, body, html_url: `https://github.com/${REPO}/pull/7#issuecomment-${id}` });
const on =
    (method: string, url: string, answer: ReturnType<Route>): Route =>
    (call) =>
        call.method === method && call.url === url ? answer : undefined;
const list = (page?: number) => `${API}/repos/${REPO}/issues/7/comments?per_page=100${page === undefined ? "" : `&page=${page}`}`;

describe("the pull-request comment upsert", () => {
    const options = (fetch: FetchLike) => ({ token: "t0ken", repository: REPO, pr: 7, body: BODY, fetch });

    it("updates the bot's comment that carries the marker, with the API's headers", async () => {
        const { fetch, calls } = fakeFetch(
            on("GET", list(), { body: [comment(1, "alice", "LGTM"), comment(2, BOT_LOGIN, `${MARKER}\nold`), comment(3, BOT_LOGIN, `${MARKER}\nduplicate`)] }),
            on("PATCH", `${API}/repos/${REPO}/issues/comments/2`, { body: comment(2, BOT_LOGIN, BODY) }),
        );
        const result = await upsertComment(options(fetch));
        expect(result).to.deep.equal({ action: "updated", id: 2, url: `https://github.com/${REPO}/pull/7#issuecomment-2` });
        expect(calls.map((call) => `${call.method} ${call.url}`)).to.deep.equal([`GET ${list()}`, `PATCH ${API}/repos/${REPO}/issues/comments/2`]);
        expect(calls[1].body).to.deep.equal({ body: BODY });
        expect(calls[1].headers).to.deep.equal({
            Accept: "application/vnd.github+json",
            Authorization: "Bearer t0ken",
            "User-Agent": "istio-spire-render-diff",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
        });
    });

    it("creates a comment when the pull request has none of the bot's", async () => {
        const { fetch, calls } = fakeFetch(
            on("GET", list(), { body: [comment(1, BOT_LOGIN, "an unrelated bot comment")] }),
            on("POST", `${API}/repos/${REPO}/issues/7/comments`, { status: 201, body: comment(9, BOT_LOGIN, BODY) }),
        );
        expect(await upsertComment(options(fetch))).to.deep.equal({ action: "created", id: 9, url: `https://github.com/${REPO}/pull/7#issuecomment-9` });
        expect(calls.map((call) => call.method)).to.deep.equal(["GET", "POST"]);
        expect(calls[1].body).to.deep.equal({ body: BODY });
    });

    it("never edits a human's comment that quotes the marker, and creates its own", async () => {
        const { fetch, calls } = fakeFetch(
            on("GET", list(), { body: [comment(4, "mallory", `look: ${MARKER}`), comment(5, "github-actions", MARKER)] }),
            on("POST", `${API}/repos/${REPO}/issues/7/comments`, { status: 201, body: comment(10, BOT_LOGIN, BODY) }),
        );
        expect((await upsertComment(options(fetch))).action).to.equal("created");
        expect(calls.filter((call) => call.method === "PATCH")).to.deep.equal([]);
    });

    it("follows every page of comments through the Link header to find the bot's comment", async () => {
        const next = (page: number) => ({ link: `<${list(page)}>; rel="next", <${list(3)}>; rel="last"` });
        const { fetch, calls } = fakeFetch(
            on("GET", list(), { body: Array.from({ length: 100 }, (_, i) => comment(100 + i, "alice", "hi")), headers: next(2) }),
            on("GET", list(2), { body: Array.from({ length: 100 }, (_, i) => comment(200 + i, "bob", "hi")), headers: next(3) }),
            on("GET", list(3), { body: [comment(301, BOT_LOGIN, `${MARKER}\nold`)], headers: { link: `<${list(1)}>; rel="first", <${list(2)}>; rel="prev"` } }),
            on("PATCH", `${API}/repos/${REPO}/issues/comments/301`, { body: comment(301, BOT_LOGIN, BODY) }),
        );
        expect(await upsertComment(options(fetch))).to.deep.equal({ action: "updated", id: 301, url: `https://github.com/${REPO}/pull/7#issuecomment-301` });
        expect(calls.map((call) => `${call.method} ${call.url}`)).to.deep.equal([
            `GET ${list()}`,
            `GET ${list(2)}`,
            `GET ${list(3)}`,
            `PATCH ${API}/repos/${REPO}/issues/comments/301`,
        ]);
    });

    it("fails on a non-2xx answer with the method, path, status and GitHub's message", async () => {
        const { fetch } = fakeFetch(on("GET", list(), { status: 403, statusText: "Forbidden", body: { message: "Resource not accessible by integration" } }));
        let error: unknown;
        await upsertComment(options(fetch)).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.equal(
            "GitHub API GET /repos/acme/istio-spire/issues/7/comments failed: 403 Forbidden: Resource not accessible by integration",
        );
    });

    it("fails when creating the comment is refused, with the status", async () => {
        const { fetch } = fakeFetch(
            on("GET", list(), { body: [] }),
            on("POST", `${API}/repos/${REPO}/issues/7/comments`, { status: 422, statusText: "Unprocessable Entity", body: { message: "Body is too long" } }),
        );
        let error: unknown;
        await upsertComment(options(fetch)).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.equal(
            "GitHub API POST /repos/acme/istio-spire/issues/7/comments failed: 422 Unprocessable Entity: Body is too long",
        );
    });

    it("posts nothing when the pull request's head is no longer the commit the comment was made for", async () => {
        const head = "a".repeat(40);
        const { fetch, calls } = fakeFetch(on("GET", `${API}/repos/${REPO}/pulls/7`, { body: { head: { sha: "b".repeat(40) } } }));
        expect(await upsertComment({ ...options(fetch), headSha: head })).to.deep.equal({
            action: "skipped",
            reason: `pull request #7 is at ${"b".repeat(40)}, not ${head}: the comment belongs to another commit`,
        });
        expect(calls.map((call) => call.method)).to.deep.equal(["GET"]);
    });

    it("comments when the pull request's head is the commit the comment was made for", async () => {
        const head = "a".repeat(40);
        const { fetch, calls } = fakeFetch(
            on("GET", `${API}/repos/${REPO}/pulls/7`, { body: { head: { sha: head } } }),
            on("GET", list(), { body: [] }),
            on("POST", `${API}/repos/${REPO}/issues/7/comments`, { status: 201, body: comment(11, BOT_LOGIN, BODY) }),
        );
        expect((await upsertComment({ ...options(fetch), headSha: head })).action).to.equal("created");
        expect(calls.map((call) => call.method)).to.deep.equal(["GET", "GET", "POST"]);
    });

    it("uses GitHub Enterprise's API URL and refuses to follow a page link to another host with the token", async () => {
        const ghe = "https://ghe.example.com/api/v3";
        const { fetch, calls } = fakeFetch(
            on("GET", `${ghe}/repos/${REPO}/issues/7/comments?per_page=100`, { body: [], headers: { link: '<https://evil.example.com/x>; rel="next"' } }),
        );
        let error: unknown;
        await upsertComment({ ...options(fetch), apiUrl: `${ghe}/` }).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.equal("Refusing to send the token to https://evil.example.com (API is https://ghe.example.com/api/v3)");
        expect(calls).to.have.length(1);
    });

    it("refuses a body without the marker, a body over GitHub's limit, a bad repository or pull request number", async () => {
        const { fetch, calls } = fakeFetch();
        const failure = async (overrides: object) => {
            try {
                await upsertComment({ ...options(fetch), ...overrides });
            } catch (e) {
                return (e as Error).message;
            }
            return "no error";
        };
        expect(await failure({ body: "hello" })).to.equal(`The comment body does not contain the marker ${MARKER}, so it could never be updated`);
        expect(await failure({ body: `${MARKER}${"x".repeat(65536)}` })).to.equal(
            `The comment body has ${MARKER.length + 65536} characters; GitHub accepts at most 65536`,
        );
        expect(await failure({ repository: "acme" })).to.equal('Repository must be owner/name, got "acme"');
        expect(await failure({ pr: 0 })).to.equal("Pull request number must be a positive integer, got 0");
        expect(await failure({ pr: 1.5 })).to.equal("Pull request number must be a positive integer, got 1.5");
        expect(calls).to.deep.equal([]);
    });

    it("reads the next page from a Link header and nothing from a header without one", () => {
        expect(nextLink('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"')).to.equal(
            "https://api.github.com/x?page=2",
        );
        expect(nextLink('<https://api.github.com/x?page=1>; rel="prev"')).to.equal(undefined);
        expect(nextLink(null)).to.equal(undefined);
    });
});

describe("the pull-request comment command line", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-pr-comment-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads the token and repository from the environment and the body from --body-file", async () => {
        const file = path.join(dir, "comment.md");
        fs.writeFileSync(file, BODY);
        const { fetch, calls } = fakeFetch(
            on("GET", list(), { body: [] }),
            on("POST", `${API}/repos/${REPO}/issues/7/comments`, { status: 201, body: comment(12, BOT_LOGIN, BODY) }),
        );
        const line = await main(["--pr", "7", "--body-file", file], { GITHUB_TOKEN: "t0ken", GITHUB_REPOSITORY: REPO }, fetch);
        expect(line).to.equal(`Created comment 12 on #7: https://github.com/${REPO}/pull/7#issuecomment-12`);
        expect(calls[1].body).to.deep.equal({ body: BODY });
        expect(calls[1].headers.Authorization).to.equal("Bearer t0ken");
    });

    it("refuses a pull request number that is not an integer, and missing arguments or environment", async () => {
        expect(() => parseArgs(["--pr", "7; rm -rf /", "--body-file", "x"])).to.throw('--pr must be a pull request number, got "7; rm -rf /"');
        expect(() => parseArgs(["--pr", "07", "--body-file", "x"])).to.throw('--pr must be a pull request number, got "07"');
        expect(() => parseArgs(["--body-file", "x"])).to.throw('--pr must be a pull request number, got ""');
        expect(() => parseArgs(["--pr", "7"])).to.throw("--body-file is required");
        expect(() => parseArgs(["--pr", "7", "--body-file", "x", "--head-sha", "main"])).to.throw('--head-sha must be a commit SHA, got "main"');
        expect(() => parseArgs(["--pr", "7", "--body", "x"])).to.throw("Unknown argument --body (usage: --pr <n> --body-file <file> [--head-sha <sha>])");
        expect(parseArgs(["--pr", "7", "--body-file", "c.md", "--head-sha", "f".repeat(40)])).to.deep.equal({
            pr: 7,
            bodyFile: "c.md",
            headSha: "f".repeat(40),
        });
        let error: unknown;
        await main(["--pr", "7", "--body-file", "x"], { GITHUB_REPOSITORY: REPO }).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.equal("GITHUB_TOKEN is not set");
        await main(["--pr", "7", "--body-file", "x"], { GITHUB_TOKEN: "t" }).catch((e: unknown) => (error = e));
        expect((error as Error).message).to.equal("GITHUB_REPOSITORY is not set (owner/name)");
    });
});
