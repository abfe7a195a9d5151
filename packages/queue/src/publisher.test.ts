import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { QueueFullError, QueuePublishError, QueueUnavailableError } from "./errors.js";
import { classifyPublishError } from "./publisher.js";

const apiError = (err_code: number, description: string, code = 503) =>
  new JetStreamApiError({ code, err_code, description });

describe("classifyPublishError", () => {
  it.each([
    ["maximum bytes exceeded", "max_bytes"],
    ["maximum messages exceeded", "max_msgs"],
    ["maximum messages per subject exceeded", "max_msgs_per_subject"],
  ])("10077 %s is QueueFullError(%s)", (text, reason) => {
    const err = classifyPublishError(apiError(10077, text));
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).reason).toBe(reason);
    expect(err.cause).toBeInstanceOf(JetStreamApiError);
  });

  it("treats insufficient resources as full and other store failures as unavailable", () => {
    expect(classifyPublishError(apiError(10047, "insufficient resources"))).toBeInstanceOf(QueueFullError);
    const e = classifyPublishError(apiError(10077, "store closed"));
    expect(e).toBeInstanceOf(QueueUnavailableError);
    expect((e as QueueUnavailableError).reason).toBe("store_failed");
  });

  it("maps transport failures to QueueUnavailableError", () => {
    const notEnabled = new Error("jetstream is not enabled");
    notEnabled.name = "JetStreamNotEnabled";
    expect((classifyPublishError(notEnabled) as QueueUnavailableError).reason).toBe("no_responders");
    expect((classifyPublishError(new errors.TimeoutError()) as QueueUnavailableError).reason).toBe("timeout");
    expect((classifyPublishError(new errors.ClosedConnectionError()) as QueueUnavailableError).reason).toBe("closed");
    expect((classifyPublishError(new errors.RequestError("x")) as QueueUnavailableError).reason).toBe("request_failed");
  });

  it("keeps non-retryable rejections apart", () => {
    const e = classifyPublishError(apiError(10054, "message size exceeds maximum allowed", 400));
    expect(e).toBeInstanceOf(QueuePublishError);
    expect((e as QueuePublishError).code).toBe(10054);
  });
});
