import { describe, expect, it } from "vitest";
import { parseServerVersion, serverProfile, versionAtLeast } from "./server-version.js";

describe("server versions", () => {
  it("reads release, prefixed and pre-release versions", () => {
    expect(parseServerVersion("2.9.10")).toEqual([2, 9, 10]);
    expect(parseServerVersion("v2.15.2")).toEqual([2, 15, 2]);
    expect(parseServerVersion("2.11.0-RC.1")).toEqual([2, 11, 0]);
    expect(parseServerVersion("nonsense")).toBeUndefined();
  });

  it("compares numerically, not as strings", () => {
    expect(versionAtLeast("2.9.10", "2.10.0")).toBe(false);
    expect(versionAtLeast("2.10.4", "2.10.5")).toBe(false);
    expect(versionAtLeast("2.10.5", "2.10.5")).toBe(true);
    expect(versionAtLeast("2.15.2", "2.10.5")).toBe(true);
    expect(versionAtLeast("3.0.0", "2.10.5")).toBe(true);
    expect(versionAtLeast(undefined, "2.0.0")).toBe(false);
  });

  it("turns the 2.9 workarounds on and the 2.10 features off below 2.10, and the reverse above 2.10.5", () => {
    expect(serverProfile("2.9.10")).toEqual({ version: "2.9.10", exactByteLimit: false, compression: false, configurableSync: false });
    expect(serverProfile("2.10.4")).toMatchObject({ exactByteLimit: false, compression: true, configurableSync: true });
    expect(serverProfile("2.15.2")).toEqual({ version: "2.15.2", exactByteLimit: true, compression: true, configurableSync: true });
    expect(serverProfile(undefined)).toMatchObject({ version: "unknown", exactByteLimit: false, compression: false });
  });
});
