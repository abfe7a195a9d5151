// Types of scripts/deploy-app.mjs, for the tests in tooling/deploy-check.
export interface DeployableApp {
  pkg: string;
  dir: string;
}
export declare const APPS: Record<"gateway" | "worker" | "migrate", DeployableApp>;
export type AppName = keyof typeof APPS;
export interface PackageManifest {
  name: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
}
export declare function entryFiles(manifest: PackageManifest): string[];
export declare function startFlags(manifest: PackageManifest): string[];
export declare function neededPackages(root: string, entries: string[]): Set<string>;
export declare function prune(root: string): { entries: string[]; dropped: string[] };
export interface DeploySummary {
  app: AppName;
  package: string;
  dir: string;
  entries: string[];
  nodeFlags: string[];
  bytes: number;
  dropped: string[];
}
export declare function deployApp(app: AppName, outDir: string, options?: { skipBuild?: boolean; quiet?: boolean }): DeploySummary;
