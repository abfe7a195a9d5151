/**
 * HTTP/1.1 on the wire, for a load generator that writes pre-built requests on raw keep-alive
 * sockets: building a request's bytes once, and reading one response at a time off a socket.
 */

/** A request to build: path, headers (without host and content-length) and body. */
export interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** The bytes of `POST path HTTP/1.1` with `host`, the headers, content-length and the body. */
export function encodeRequest(host: string, request: WireRequest): Buffer {
  const body = typeof request.body === "string" ? Buffer.from(request.body) : request.body;
  let head = `POST ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in request.headers) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "connection") continue;
    head += `${name}: ${request.headers[name]}\r\n`;
  }
  head += `content-length: ${body.length}\r\n\r\n`;
  const headBytes = Buffer.from(head, "latin1");
  return Buffer.concat([headBytes, body], headBytes.length + body.length);
}

/**
 * Many encoded requests packed into a few large slabs: a run of a million pre-signed requests is
 * then a handful of objects for the garbage collector to trace, not a million, so a major GC
 * cannot stall the generator's schedule.
 */
export class RequestSlabs {
  private readonly slabs: Buffer[] = [];
  private readonly slabOf: Uint16Array;
  private readonly offset: Uint32Array;
  private readonly length: Uint32Array;
  private current: Buffer | undefined;
  private used = 0;
  private n = 0;

  constructor(
    readonly capacity: number,
    private readonly slabBytes = 64 * 2 ** 20,
  ) {
    this.slabOf = new Uint16Array(capacity);
    this.offset = new Uint32Array(capacity);
    this.length = new Uint32Array(capacity);
  }

  /** Appends the bytes of the next request (index `count` before the call). */
  push(bytes: Buffer): void {
    if (this.n >= this.capacity) throw new RangeError(`RequestSlabs is full (${this.capacity} requests)`);
    if (!this.current || this.used + bytes.length > this.current.length) {
      if (this.slabs.length === 0xffff) throw new RangeError("RequestSlabs: too many slabs");
      this.current = Buffer.allocUnsafe(Math.max(this.slabBytes, bytes.length));
      this.slabs.push(this.current);
      this.used = 0;
    }
    bytes.copy(this.current, this.used);
    this.slabOf[this.n] = this.slabs.length - 1;
    this.offset[this.n] = this.used;
    this.length[this.n] = bytes.length;
    this.used += bytes.length;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  /** Request i's bytes (a view into its slab, no copy). */
  get(i: number): Buffer {
    if (!(i >= 0 && i < this.n)) throw new RangeError(`no request ${i} (${this.n} stored)`);
    return this.slabs[this.slabOf[i]!]!.subarray(this.offset[i]!, this.offset[i]! + this.length[i]!);
  }
}

/** Thrown for bytes that are not an HTTP/1.1 response this reader understands. */
export class WireProtocolError extends Error {
  override name = "WireProtocolError";
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/** A complete response: its status, and whether the server will close the connection after it. */
export interface WireResponse {
  status: number;
  close: boolean;
}

/**
 * Reads responses from a socket's chunks (one request outstanding at a time, no pipelining):
 * `push` returns the response its chunk completed, or undefined while one is still partial. Bodies
 * are skipped, never decoded; `content-length` and chunked framing are understood.
 */
export class ResponseReader {
  private pending: Buffer | undefined;
  private head: (WireResponse & { bodyLeft: number; chunked: boolean }) | undefined;

  push(chunk: Buffer): WireResponse | undefined {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    if (!this.head) {
      const end = data.indexOf(CRLFCRLF);
      if (end < 0) {
        if (data.length > 64 * 1024) throw new WireProtocolError("response headers over 64 KiB");
        this.pending = data;
        return undefined;
      }
      this.head = parseHead(data.toString("latin1", 0, end));
      data = data.subarray(end + 4);
    }
    const head = this.head;
    if (head.chunked) {
      // Small answers: keep everything until the terminating chunk arrives.
      const joined = data;
      if (joined.length < LAST_CHUNK.length || !joined.subarray(joined.length - LAST_CHUNK.length).equals(LAST_CHUNK)) {
        this.pending = joined;
        return undefined;
      }
    } else {
      head.bodyLeft -= data.length;
      if (head.bodyLeft > 0) return undefined;
      if (head.bodyLeft < 0) throw new WireProtocolError("more bytes than content-length (pipelined or garbage)");
    }
    this.head = undefined;
    return { status: head.status, close: head.close };
  }
}

function parseHead(text: string): WireResponse & { bodyLeft: number; chunked: boolean } {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? "");
  if (!m) throw new WireProtocolError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  let bodyLeft = 0;
  let chunked = false;
  let close = m[1] === "0";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === "content-length") bodyLeft = Number(value);
    else if (name === "transfer-encoding") chunked = value.includes("chunked");
    else if (name === "connection") close = value.includes("close");
  }
  return { status: Number(m[2]), close, bodyLeft, chunked };
}
