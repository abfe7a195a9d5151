import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CODEC_VERSION, WIRE_STATUSES, countEvents, decodeEvents, encodeEvents } from "./codec.js";
import { EventDecodeError } from "./errors.js";
import { STATUSES, type NormalizedEvent } from "./event.js";

const telnyx: NormalizedEvent = {
  provider: "telnyx",
  providerEventId: "6f1c9a9e-1111-4c2b-9a55-2d8f0b7e0001:+15555550100",
  providerMessageId: "40385f64-5717-4562-b3fc-2c963f66afa6",
  recipient: "+15555550100",
  type: "message.finalized",
  status: "delivered",
  rawStatus: "delivered",
  occurredAt: Date.parse("2025-03-01T10:00:05.120+00:00"),
  errorCode: null,
  errorMessage: null,
};

const resend: NormalizedEvent = {
  provider: "resend",
  providerEventId: "msg_2pWq8fR1xYzA7bC3dE5gH9jK0L",
  providerMessageId: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
  recipient: "user@example.com",
  type: "email.delivered",
  status: "delivered",
  rawStatus: "email.delivered",
  occurredAt: Date.parse("2025-03-01T10:00:03.000Z"),
  errorCode: null,
  errorMessage: null,
};

const eventArb: fc.Arbitrary<NormalizedEvent> = fc.record({
  provider: fc.oneof(fc.constantFrom("telnyx", "resend", ""), fc.string({ unit: "grapheme" })),
  providerEventId: fc.string({ unit: "grapheme", maxLength: 80 }),
  providerMessageId: fc.string({ unit: "grapheme-composite", maxLength: 80 }),
  recipient: fc.oneof(fc.constant(""), fc.emailAddress(), fc.string({ unit: "grapheme" })),
  type: fc.oneof(fc.constantFrom("message.finalized", "email.bounced"), fc.string({ unit: "binary" })),
  status: fc.constantFrom(...STATUSES),
  rawStatus: fc.string({ unit: "grapheme", maxLength: 20 }),
  occurredAt: fc.oneof(
    fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    fc.double(),
    fc.constantFrom(-1, 2 ** 48, Number.MAX_SAFE_INTEGER, -0, Number.MIN_VALUE),
  ),
  errorCode: fc.option(fc.string({ unit: "grapheme" }), { nil: null }),
  errorMessage: fc.option(fc.oneof(fc.constant(""), fc.string({ unit: "grapheme", maxLength: 300 })), { nil: null }),
});

/** Events whose derived fields line up the way real providers produce them, to exercise the shortcuts. */
const relatedArb = fc
  .tuple(eventArb, fc.boolean(), fc.boolean())
  .map(([e, suffix, rawIsType]): NormalizedEvent => ({
    ...e,
    providerEventId: suffix ? `${e.providerEventId}:${e.recipient}` : e.providerEventId,
    rawStatus: rawIsType ? e.type : e.rawStatus,
  }));

describe("encodeEvents / decodeEvents", () => {
  it("round-trips arbitrary event batches, unicode, empty strings, nulls and extreme times included", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(eventArb, relatedArb), { maxLength: 20 }), (events) => {
        expect(decodeEvents(encodeEvents(events))).toEqual(events);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips a long batch that overflows the string table and reuses message ids", () => {
    const events = Array.from({ length: 300 }, (_, i): NormalizedEvent => ({
      ...telnyx,
      provider: `p${i % 40}`,
      type: `t${i % 25}`,
      providerMessageId: `m${Math.floor(i / 3)}`,
      recipient: `+1555${i}`,
      providerEventId: `e${Math.floor(i / 3)}:+1555${i}`,
    }));
    expect(decodeEvents(encodeEvents(events))).toEqual(events);
  });

  it("keeps null and empty string apart, and -0 and fractional times exact", () => {
    const events: NormalizedEvent[] = [
      { ...telnyx, errorCode: "", errorMessage: null, recipient: "", providerEventId: "x:" },
      { ...telnyx, errorCode: null, errorMessage: "", occurredAt: -0 },
      { ...telnyx, occurredAt: 1.5, rawStatus: "" },
    ];
    const decoded = decodeEvents(encodeEvents(events));
    expect(decoded).toEqual(events);
    expect(Object.is(decoded[1]?.occurredAt, -0)).toBe(true);
    expect(decoded[0]?.errorCode).toBe("");
    expect(decoded[0]?.errorMessage).toBeNull();
  });

  it("returns an exact-size array that does not alias the scratch buffer", () => {
    const a = encodeEvents([telnyx]);
    const copy = Uint8Array.from(a);
    encodeEvents([resend, resend, resend]);
    expect(a).toEqual(copy);
    expect(a.buffer.byteLength).toBe(a.byteLength);
  });

  it("decodes from a view into a larger buffer", () => {
    const encoded = encodeEvents([telnyx, resend]);
    const host = new Uint8Array(encoded.length + 10);
    host.set(encoded, 5);
    expect(decodeEvents(host.subarray(5, 5 + encoded.length))).toEqual([telnyx, resend]);
  });

  it("is compact: typical Telnyx 84 B, Resend 100 B, a 3-recipient Telnyx webhook under 2x one event", () => {
    // These sizes are quoted in codec.ts and the package README; update both if the format changes.
    // (Version 1 took 124 and 120 B: v2 stores canonical UUIDs as 16 raw bytes.)
    expect(encodeEvents([telnyx]).length).toBe(84);
    expect(encodeEvents([resend]).length).toBe(100);
    expect(encodeEvents([telnyx]).length).toBeLessThan(JSON.stringify(telnyx).length / 2);
    const three = ["+15555550100", "+15555550101", "+15555550102"].map((r) => ({
      ...telnyx,
      recipient: r,
      providerEventId: `6f1c9a9e-1111-4c2b-9a55-2d8f0b7e0001:${r}`,
    }));
    expect(encodeEvents(three).length).toBeLessThan(2 * encodeEvents([telnyx]).length);
  });

  it("encodes an empty batch in two bytes", () => {
    expect(encodeEvents([])).toEqual(new Uint8Array([CODEC_VERSION, 0]));
    expect(decodeEvents(new Uint8Array([CODEC_VERSION, 0]))).toEqual([]);
  });

  it("refuses to encode an unknown status", () => {
    expect(() => encodeEvents([{ ...telnyx, status: "lost" as never }])).toThrow(TypeError);
  });

  it("wire status table is a fixed permutation of STATUSES", () => {
    expect([...WIRE_STATUSES].sort()).toEqual([...STATUSES].sort());
    expect(WIRE_STATUSES[0]).toBe("queued");
    expect(WIRE_STATUSES[10]).toBe("unknown");
  });
});

describe("decodeEvents on corrupt input", () => {
  const good = encodeEvents([telnyx, { ...resend, errorCode: "Permanent/General", errorMessage: "550 5.1.1 ünknown" }]);

  const expectDecodeError = (bytes: Uint8Array, message: RegExp) => {
    let thrown: unknown;
    try {
      decodeEvents(bytes);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EventDecodeError);
    expect((thrown as EventDecodeError).name).toBe("EventDecodeError");
    expect((thrown as Error).message).toMatch(message);
  };

  it("rejects every truncation", () => {
    for (let length = 0; length < good.length; length++) {
      expectDecodeError(good.subarray(0, length), /truncated|exceeds|end of data/);
    }
  });

  it("rejects trailing bytes", () => {
    expectDecodeError(Uint8Array.from([...good, 0]), /trailing/);
  });

  it("rejects an unknown version", () => {
    for (const version of [0, 3, 255]) expectDecodeError(Uint8Array.from([version, ...good.subarray(1)]), /unsupported version/);
  });

  it("still decodes version 1, which messages queued before an upgrade use", () => {
    const str = (v: string) => [v.length, ...Buffer.from(v)];
    const v1 = Uint8Array.from([
      1, 1, // version 1, one event
      WIRE_STATUSES.indexOf("delivered"), 0x04, // status, flags: rawStatus == status
      0, 0, 0x01, 0x8e, 0x4a, 0x9c, // occurredAt (u48)
      0, ...str("telnyx"), 0, ...str("message.finalized"), // provider, type (new table entries)
      ...str("6f1c9a9e-1111-4c2b-9a55-2d8f0b7e0001"), ...str("msg-1"), ...str("+15555550100"),
    ]);
    expect(decodeEvents(v1)).toEqual([
      {
        provider: "telnyx",
        providerEventId: "6f1c9a9e-1111-4c2b-9a55-2d8f0b7e0001",
        providerMessageId: "msg-1",
        recipient: "+15555550100",
        type: "message.finalized",
        status: "delivered",
        rawStatus: "delivered",
        occurredAt: 0x018e4a9c,
        errorCode: null,
        errorMessage: null,
      },
    ]);
  });

  it("counts a message's events from its header", () => {
    expect(countEvents(encodeEvents([telnyx, resend, telnyx]))).toBe(3);
    expect(countEvents(encodeEvents([]))).toBe(0);
    expect(() => countEvents(new Uint8Array([9, 1]))).toThrow(EventDecodeError);
    expect(() => countEvents(new Uint8Array([]))).toThrow(EventDecodeError);
  });

  it("keeps upper-case or malformed UUIDs as plain strings", () => {
    for (const id of ["6F1C9A9E-1111-4C2B-9A55-2D8F0B7E0001", "6f1c9a9e-1111-4c2b-9a55-2d8f0b7e000", "6f1c9a9e11114c2b9a552d8f0b7e0001xxxx", "6f1c9a9e-1111-4c2b-9a55-2d8f0b7e000g"]) {
      const e = { ...telnyx, providerEventId: id, recipient: "" };
      expect(decodeEvents(encodeEvents([e]))[0]!.providerEventId).toBe(id);
    }
  });

  it("rejects a bad status index", () => {
    const bytes = Uint8Array.from(good);
    bytes[2] = WIRE_STATUSES.length; // first event's status byte
    expectDecodeError(bytes, /bad status index 11/);
    bytes[2] = 255;
    expectDecodeError(bytes, /bad status index 255/);
  });

  it("rejects reserved or contradictory flags", () => {
    const bytes = Uint8Array.from(good);
    bytes[3] = (bytes[3] as number) | 0x80;
    expectDecodeError(bytes, /bad flags/);
    bytes[3] = 0x0c;
    expectDecodeError(bytes, /bad flags/);
  });

  it("rejects a count larger than the data can hold", () => {
    expectDecodeError(Uint8Array.from([CODEC_VERSION, 0xff, 0xff, 0x03, 0, 0]), /exceeds/);
  });

  it("rejects an overlong varint", () => {
    expectDecodeError(Uint8Array.from([CODEC_VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /varint/);
  });

  it("rejects a string reference beyond the table", () => {
    const bytes = Uint8Array.from(good);
    bytes[10] = 5; // first event's provider ref, which must be a literal (0)
    expectDecodeError(bytes, /reference 5/);
  });

  it("rejects a first event that claims the previous message id", () => {
    const bytes = Uint8Array.from(encodeEvents([{ ...telnyx, providerMessageId: "" }]));
    bytes[3] = (bytes[3] as number) | 0x40;
    expectDecodeError(bytes, /previous message id/);
  });

  it("rejects invalid UTF-8", () => {
    const bytes = Uint8Array.from(encodeEvents([{ ...telnyx, recipient: "é" }]));
    const at = bytes.indexOf(0xc3);
    bytes[at] = 0xff;
    expectDecodeError(bytes, /UTF-8/);
  });

  it("throws only EventDecodeError on arbitrary bytes and single-byte corruption", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeEvents(bytes);
        } catch (error) {
          return error instanceof EventDecodeError;
        }
        return true;
      }),
      { numRuns: 1000 },
    );
    for (let i = 0; i < good.length; i++) {
      for (const value of [0, 0x7f, 0x80, 0xff]) {
        const bytes = Uint8Array.from(good);
        bytes[i] = value;
        try {
          decodeEvents(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(EventDecodeError);
        }
      }
    }
  });
});
