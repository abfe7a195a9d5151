import { describe, expect, it } from "vitest";
import { otherAnswers } from "./run.js";

describe("otherAnswers", () => {
  it("lists every answer that was not 2xx, by status", () => {
    expect(otherAnswers({ "202": 90, "200": 3, "503": 5, error: 2 })).toBe("503: 5, error: 2");
    expect(otherAnswers({ "202": 10 })).toBe("");
  });
});
