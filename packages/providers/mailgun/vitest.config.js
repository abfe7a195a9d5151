export { default } from "@floodgate/vitest-config";
