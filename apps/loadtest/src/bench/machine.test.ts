import { describe, expect, it } from "vitest";
import { busyTicksOf, machineBetween, netstatCounter, readMachine } from "./machine.js";

describe("machine readings", () => {
  it("counts busy ticks without idle and iowait", () => {
    expect(busyTicksOf("cpu  100 5 50 9000 40 1 2 3 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n")).toBe(161);
    expect(() => busyTicksOf("intr 1 2 3")).toThrow(/no cpu line/);
  });

  it("finds a counter among netstat's name and value lines", () => {
    const text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 127 130\nIpExt: InNoRoutes\nIpExt: 4\n";
    expect(netstatCounter(text, "TcpExt", "ListenOverflows")).toBe(127);
    expect(netstatCounter(text, "IpExt", "InNoRoutes")).toBe(4);
    expect(() => netstatCounter(text, "TcpExt", "Nope")).toThrow(/no TcpExt Nope/);
  });

  it("reads this machine and turns two readings into cores busy", () => {
    const a = readMachine();
    const b = { ...a, at: a.at + 2000, busyTicks: a.busyTicks + 300, listenOverflows: a.listenOverflows + 7 };
    const between = machineBetween(a, b);
    expect(between.busyCores).toBeCloseTo(1.5, 9);
    expect(between.listenOverflows).toBe(7);
    expect(between.cores).toBeGreaterThan(0);
  });
});
