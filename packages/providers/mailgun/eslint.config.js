export { default } from "@floodgate/eslint-config";
