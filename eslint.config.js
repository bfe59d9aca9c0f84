// Lint and format in one tool: ESLint's rules plus Effect's dprint rule (the formatter Effect's own
// repositories use), so `bun run lint` checks both and `bun run format` (`eslint --fix`) applies them.
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import globals from "globals"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    // What .gitignore leaves out (scratch folders, data, SST's generated platform), and declarations.
    ignores: [
      "**/node_modules/**",
      "**/.sst/**",
      "**/.imgpipe/**",
      ".scratch/**",
      "tmp/**",
      "loadtest/results/**",
      "**/*.d.ts"
    ]
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  // Turns off ESLint's own layout rules, which the formatter owns, and enables `@effect/dprint`.
  ...effectEslint.configs.dprint,
  {
    rules: {
      // Effect's house settings (Effect-TS/examples, the effect repository), with one exception:
      // `function* ()`, as the tree already wrote it in four files of five (and as Effect's docs do).
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force",
          "functionExpression.spaceAfterFunctionKeyword": true
        }
      }],
      // `_name` marks a binding kept on purpose (a positional parameter, a rest sibling).
      "@typescript-eslint/no-unused-vars": ["error", {
        argsIgnorePattern: "^_",
        varsIgnorePattern: "^_",
        caughtErrorsIgnorePattern: "^_",
        ignoreRestSiblings: true
      }],
      // A `let` that a closure reads before its one assignment (a hook installed before the client it
      // uses exists) cannot become a `const` without risking the temporal dead zone.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // Off: `{}` is how `Data.TaggedEnum` declares a case without fields (as Effect's docs write it);
      // the rule's concern, a type that accepts any non-null value, does not arise there.
      "@typescript-eslint/no-empty-object-type": "off"
    }
  },
  {
    // SST's own type entry point is a triple-slash reference to its generated `.sst/platform` types
    // (what `sst init` writes); there is no module to import instead.
    files: ["sst.config.ts"],
    rules: { "@typescript-eslint/triple-slash-reference": "off" }
  },
  {
    // Plain-JavaScript worker thread run by Node.
    files: ["**/*.mjs"],
    languageOptions: { globals: globals.node }
  },
  {
    // k6 scripts: k6's own runtime, not Node (https://grafana.com/docs/k6/latest/using-k6/environment-variables/).
    files: ["loadtest/**/*.js"],
    languageOptions: {
      globals: { __ENV: "readonly", __VU: "readonly", __ITER: "readonly", open: "readonly", console: "readonly" }
    }
  },
  {
    // This file, run by Node when ESLint loads it.
    files: ["eslint.config.js"],
    languageOptions: { globals: globals.node }
  }
)
