// Shared flat config: every package's eslint.config.js is `export { default } from "@floodgate/eslint-config"`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/generated/**", "**/node_modules/**", "**/.turbo/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  {
    files: ["**/*.test.ts", "**/testing/**", "**/scripts/**", "**/bin/**", "**/cli.ts", "**/*-cli.ts", "**/harness/**", "**/bench/**"],
    rules: { "no-console": "off" },
  },
);
