import { expect } from "chai";
import { ESLint } from "eslint";
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";

const ROOT = path.join(__dirname, "..");
const FIXTURE_DIR = path.join(ROOT, "test", "fixtures", "lint");
const FIXTURE = path.join(FIXTURE_DIR, "outputInTemplateLiteral.ts");

/**
 * The project's ESLint configuration (eslint.config.mjs) on one file. Only the TypeScript program changes: the fixture's
 * own tsconfig.json (one file and @pulumi/pulumi's types) instead of the whole tree's, so that the test builds a small
 * program; `ignore: false` because `npm run lint` ignores test/fixtures/.
 */
function projectEslint(fix = false): ESLint {
    return new ESLint({
        cwd: ROOT,
        ignore: false,
        fix,
        cache: false,
        overrideConfig: {
            files: ["**/*.ts"],
            languageOptions: { parserOptions: { project: path.join(FIXTURE_DIR, "tsconfig.json"), tsconfigRootDir: FIXTURE_DIR } },
        },
    });
}

describe("lint and format (npm run lint: ESLint with @pulumi/eslint-plugin, Prettier)", function () {
    this.timeout(120000);

    it("@pulumi/no-output-in-template-literal reports an Output in an untagged template literal, not in pulumi.interpolate", async () => {
        const [result] = await projectEslint().lintFiles([FIXTURE]);
        expect(
            result.messages.map((message) => ({ ruleId: message.ruleId, line: message.line, column: message.column, message: message.message })),
        ).to.deep.equal([
            {
                ruleId: "@pulumi/no-output-in-template-literal",
                line: 7,
                column: 22,
                message: "pulumi.Output<T> not permitted in template literals.",
            },
        ]);
    });

    it("the rule's fix tags the template with pulumi.interpolate", async () => {
        const [result] = await projectEslint(true).lintFiles([FIXTURE]);
        expect(result.messages).to.deep.equal([]);
        expect(result.output?.split("\n")[6]).to.equal("export const plain = pulumi.interpolate`https://${host}:8443`;");
        // lintFiles computes the fix; only ESLint.outputFixes would write it.
        expect(fs.readFileSync(FIXTURE, "utf8")).to.include("export const plain = `https://${host}:8443`;");
    });

    it("both @pulumi rules are errors for every TypeScript file of the tree", async () => {
        const eslint = new ESLint({ cwd: ROOT });
        for (const file of ["index.ts", "components/mesh/spire.ts", "policy/index.ts", "tools/render/render.ts", "test/program.test.ts"]) {
            const config = await eslint.calculateConfigForFile(path.join(ROOT, file));
            expect(config.rules["@pulumi/no-output-in-template-literal"], file).to.deep.equal([2]);
            expect(config.rules["@pulumi/no-output-instance-in-template-literal"], file).to.deep.equal([2]);
            expect(config.languageOptions.parserOptions.project, file).to.equal("./tsconfig.json");
        }
    });

    it("npm test runs the type check, the lint, Prettier's check and mocha (tools/check/check.ts; test/check.test.ts)", () => {
        const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
        expect(scripts.test).to.equal("ts-node --transpile-only tools/check/check.ts");
        expect(scripts.lint).to.equal("eslint --cache --cache-strategy content --cache-location node_modules/.cache/eslint/ . && prettier --check --cache .");
        expect(scripts.format).to.equal("prettier --write --cache .");
    });

    it("Prettier keeps the tree's style: 4 spaces, double quotes, semicolons, trailing commas, 160 columns", async () => {
        const options = await prettier.resolveConfig(path.join(ROOT, "index.ts"), { editorconfig: false });
        expect(options).to.deep.include({ printWidth: 160, tabWidth: 4, semi: true, singleQuote: false, trailingComma: "all" });
        const formatted = await prettier.format("const a = {b: 'c', d: [1,2]}\nfunction f(x: number) { return x }\n", { ...options, filepath: "x.ts" });
        expect(formatted).to.equal('const a = { b: "c", d: [1, 2] };\nfunction f(x: number) {\n    return x;\n}\n');
        const yaml = await prettier.resolveConfig(path.join(ROOT, ".github", "workflows", "preview.yml"), { editorconfig: false });
        expect(yaml?.tabWidth).to.equal(2);
    });

    it("Prettier leaves alone what it must not rewrite: fixtures, lock files, Markdown", async () => {
        const ignorePath = path.join(ROOT, ".prettierignore");
        const ignored = async (file: string) => (await prettier.getFileInfo(path.join(ROOT, file), { ignorePath })).ignored;
        for (const file of ["test/fixtures/cluster1.demo.bundle.json", "package-lock.json", "policy/package-lock.json", "README.md", "rendered/x.yaml"]) {
            expect(await ignored(file), file).to.equal(true);
        }
        for (const file of ["index.ts", "components/stack/config.ts", "package.json", ".github/workflows/preview.yml", "Pulumi.yaml"]) {
            expect(await ignored(file), file).to.equal(false);
        }
    });
});
