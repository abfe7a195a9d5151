// js-yaml 4 ships no types and @types/js-yaml is not in the lockfile: the two calls used here.
declare module "js-yaml" {
  export function load(text: string, options?: { filename?: string }): unknown;
  export function loadAll(text: string, iterator?: undefined, options?: { filename?: string }): unknown[];
}
