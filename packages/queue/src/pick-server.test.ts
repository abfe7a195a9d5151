import { describe, expect, it } from "vitest";
import { pickServer } from "./connect.js";

const pool = [
  { listen: "a:1", lastConnect: 0 },
  { listen: "b:2", lastConnect: 500 },
  { listen: "c:3", lastConnect: 100 },
];

describe("pickServer (reconnect choice after switchServer)", () => {
  it("keeps nats.js's pick when it was not left", () => {
    expect(pickServer(pool, new Map([["b:2", 1000]]), 2000)).toBeNull();
  });

  it("skips a server left lately for the one not left that was tried longest ago", () => {
    expect(pickServer(pool, new Map([["a:1", 1000]]), 2000)).toBe(pool[2]);
    expect(pickServer(pool, new Map([["a:1", 1000], ["c:3", 1500]]), 2000)).toBe(pool[1]);
  });

  it("when every server was left, takes the one left longest ago", () => {
    expect(pickServer(pool, new Map([["a:1", 1900], ["b:2", 1000], ["c:3", 1500]]), 2000)).toBe(pool[1]);
  });

  it("forgets a server left more than a minute ago", () => {
    expect(pickServer(pool, new Map([["a:1", 0]]), 61_000)).toBeNull();
  });
});
