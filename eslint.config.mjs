// ESLint 9 flat config (https://eslint.org/docs/latest/use/configure/configuration-files).
// - @eslint/js and typescript-eslint "recommended" (syntactic rules: no type information needed);
// - @pulumi/eslint-plugin's two rules (an Output / OutputInstance inside an untagged template literal; fix:
//   pulumi.interpolate). They read types (ESLintUtils.getParserServices in the plugin's src/noOuputInTemplateLiteral.ts),
//   so TypeScript files are parsed with the root tsconfig.json's program (one program for the whole tree: index.ts,
//   components, test, tools, policy — the files `tsc --noEmit -p .` checks);
// - eslint-config-prettier last: formatting is Prettier's (`prettier --check .`), not ESLint's.
// The plugin's README shows `plugins: pulumi`; a flat config names it: `plugins: { "@pulumi": pulumi }`.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        // examples/ are programs of their own that import the packed package (`istio-spire`), which the root
        // tsconfig cannot resolve: test/library.test.ts type-checks and runs them against the packed .d.ts instead.
        // dist/ is the library build (`npm run build`).
        ignores: ["node_modules/", "bin/", "dist/", "rendered/", "policy/node_modules/", "policy/bin/", "test/fixtures/", "examples/"],
    },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: {
                project: "./tsconfig.json",
                tsconfigRootDir: import.meta.dirname,
            },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // `const { source: _source, ...copy } = object` drops a key; tsc's noUnusedLocals already reports the rest.
            "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_", ignoreRestSiblings: true }],
            // Pulumi's mock runtime must be set up before the program is loaded: tests and tools `require("../index")`
            // after pulumi.runtime.setMocks (https://www.pulumi.com/docs/iac/guides/testing/unit/), and load optional
            // tools (pacote, fflate) and Pulumi's runtime internals lazily.
            "@typescript-eslint/no-require-imports": "off",
        },
    },
    {
        // The program itself has no `any`; the mock engine, the policy pack and the tests handle the untyped values of
        // Pulumi's mock and policy interfaces (MockResourceArgs.inputs, PolicyResource.props: `any`).
        files: ["test/**/*.ts", "tools/**/*.ts", "policy/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
    prettier,
);
