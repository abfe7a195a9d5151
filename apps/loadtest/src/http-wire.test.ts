import { describe, expect, it } from "vitest";
import { encodeRequest, RequestSlabs, ResponseReader, WireProtocolError } from "./http-wire.js";

describe("encodeRequest", () => {
  it("writes the request line, host, the headers, content-length in bytes and the body", () => {
    const bytes = encodeRequest("127.0.0.1:8080", { path: "/webhooks/resend", headers: { "content-type": "application/json", "Content-Length": "999", "svix-id": "m1" }, body: "{\"é\":1}" });
    expect(bytes.toString()).toBe('POST /webhooks/resend HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\nsvix-id: m1\r\ncontent-length: 8\r\n\r\n{"é":1}');
  });
});

describe("ResponseReader", () => {
  const answer = 'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 22\r\nConnection: keep-alive\r\n\r\n{"outcome":"accepted"}';

  it("completes a response only once its last body byte arrived, however the bytes are split", () => {
    const reader = new ResponseReader();
    const bytes = Buffer.from(answer);
    for (let i = 0; i < bytes.length - 1; i++) expect(reader.push(bytes.subarray(i, i + 1))).toBeUndefined();
    expect(reader.push(bytes.subarray(bytes.length - 1))).toEqual({ status: 202, close: false });
    // and the next response on the same connection is read afresh
    expect(reader.push(Buffer.from(answer.replace("202 Accepted", "503 Service Unavailable")))).toEqual({ status: 503, close: false });
  });

  it("understands chunked bodies, bodiless answers and connection: close", () => {
    const reader = new ResponseReader();
    expect(reader.push(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"))).toBeUndefined();
    expect(reader.push(Buffer.from("0\r\n\r\n"))).toEqual({ status: 200, close: false });
    expect(reader.push(Buffer.from("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"))).toEqual({ status: 404, close: true });
    expect(reader.push(Buffer.from("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"))).toEqual({ status: 200, close: true });
  });

  it("refuses bytes that are not an HTTP response, or more than one response at a time", () => {
    expect(() => new ResponseReader().push(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"))).toThrow(WireProtocolError);
    expect(() => new ResponseReader().push(Buffer.from(`${answer}${answer}`))).toThrow(/more bytes than content-length/);
  });
});

describe("RequestSlabs", () => {
  it("stores requests back to back in slabs and gives each one's bytes back, a new slab when one is full", () => {
    const slabs = new RequestSlabs(5, 10);
    const parts = ["abcd", "efgh", "ijk", "a request longer than a slab", "z"].map((t) => Buffer.from(t));
    for (const p of parts) slabs.push(p);
    expect(slabs.count).toBe(5);
    expect(parts.map((_, i) => slabs.get(i).toString())).toEqual(parts.map(String));
    expect(() => slabs.push(Buffer.from("x"))).toThrow(/full/);
    expect(() => slabs.get(5)).toThrow(RangeError);
  });
});
