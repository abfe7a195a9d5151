import { EventDecodeError } from "./errors.js";
import type { DeliveryStatus, NormalizedEvent } from "./event.js";

/**
 * Compact binary encoding of a batch of {@link NormalizedEvent}s, for the queue.
 *
 * Layout, version 2 (all integers big-endian, varint = unsigned LEB128, at most 5 bytes):
 *
 * ```
 * u8      version = 2 (1 is still decoded: it differs only in `str`, see below)
 * varint  event count
 * per event:
 *   u8    status index into WIRE_STATUSES (the order is part of the format; never reorder)
 *   u8    flags  0x01 errorCode present      0x02 errorMessage present
 *                0x04 rawStatus == status   0x08 rawStatus == type (both: rawStatus omitted)
 *                0x10 occurredAt is float64 (else unsigned 48-bit integer milliseconds)
 *                0x20 providerEventId == <stored>:<recipient> (only the prefix is stored)
 *                0x40 providerMessageId == previous event's (not stored)
 *                0x80 reserved, must be 0
 *   u48 | f64  occurredAt
 *   ref   provider          ref = varint n: 0 = a string follows and joins the table,
 *   ref   type                    n > 0 = table[n - 1]; the table holds at most 16 strings
 *   str   providerEventId (or its prefix)      str = varint h, then: h = 1: a canonical
 *                                              lower-case UUID as 16 raw bytes; h even: h/2
 *                                              bytes of UTF-8 (version 1: h bytes of UTF-8)
 *   str?  providerMessageId
 *   str   recipient
 *   str?  rawStatus, errorCode, errorMessage  (as flagged)
 * ```
 *
 * Null and empty string stay distinct (presence flags). Lone UTF-16 surrogates are not
 * representable in UTF-8 and come back as U+FFFD. Typical sizes: a Telnyx single-recipient
 * `message.finalized` event is 84 bytes, a Resend `email.delivered` event 100 bytes (see
 * codec.test.ts), against 313 and 302 bytes as JSON.
 */

/** Encoding version written by {@link encodeEvents}. Version 1 is still read. */
export const CODEC_VERSION = 2;

/** Status order on the wire. Appending is compatible; reordering is not. */
export const WIRE_STATUSES: readonly DeliveryStatus[] = Object.freeze([
  "queued",
  "sent",
  "delivered",
  "delayed",
  "failed",
  "bounced",
  "complained",
  "opened",
  "clicked",
  "unsubscribed",
  "unknown",
]);

const STATUS_INDEX: ReadonlyMap<string, number> = new Map(WIRE_STATUSES.map((s, i) => [s, i]));

const F_ERROR_CODE = 0x01;
const F_ERROR_MESSAGE = 0x02;
const F_RAW_IS_STATUS = 0x04;
const F_RAW_IS_TYPE = 0x08;
const F_TIME_FLOAT = 0x10;
const F_EVENT_ID_SUFFIX = 0x20;
const F_SAME_MESSAGE_ID = 0x40;
const F_RESERVED = 0x80;

const TABLE_CAPACITY = 16;
const UINT48_LIMIT = 2 ** 48;
/** Smallest possible event: status, flags, u48 time, two refs, three one-byte lengths, minus a shared message id. */
const MIN_EVENT_BYTES = 11;
const MAX_VARINT = 0x7fffffff;

let scratch = Buffer.allocUnsafe(4096);
const encodeTable: string[] = [];

function stringBound(value: string): number {
  return value.length * 3 + 5;
}

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

/** `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case hex: provider ids are mostly these. */
function isCanonicalUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) {
      return false;
    }
  }
  return true;
}

function writeString(buf: Buffer, pos: number, value: string): number {
  if (isCanonicalUuid(value)) {
    buf[pos++] = 1;
    for (let i = 0; i < 36; i += 2) {
      if (value.charCodeAt(i) === 0x2d) i++;
      buf[pos++] = Number.parseInt(value.slice(i, i + 2), 16);
    }
    return pos;
  }
  const length = value.length;
  const start = pos;
  // Most of what we store is ASCII (ids, phone numbers, addresses): copy it byte by byte and
  // only hand non-ASCII strings to the UTF-8 encoder.
  pos = writeVarint(buf, pos, length * 2);
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) {
      const bytes = Buffer.byteLength(value, "utf8");
      pos = writeVarint(buf, start, bytes * 2);
      return pos + buf.write(value, pos, bytes, "utf8");
    }
    buf[pos++] = c;
  }
  return pos;
}

function writeRef(buf: Buffer, pos: number, value: string): number {
  for (let i = 0; i < encodeTable.length; i++) {
    if (encodeTable[i] === value) return writeVarint(buf, pos, i + 1);
  }
  if (encodeTable.length < TABLE_CAPACITY) encodeTable.push(value);
  buf[pos++] = 0;
  return writeString(buf, pos, value);
}

function isUint48(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < UINT48_LIMIT && !Object.is(value, -0);
}

/**
 * Encodes a batch of events into one message body. Allocates only the returned array (a
 * scratch buffer is reused across calls).
 *
 * @throws TypeError when an event's status is not a {@link DeliveryStatus}.
 */
export function encodeEvents(events: readonly NormalizedEvent[]): Uint8Array {
  let bound = 6;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as NormalizedEvent;
    bound +=
      16 +
      stringBound(e.provider) +
      stringBound(e.type) +
      stringBound(e.providerEventId) +
      stringBound(e.providerMessageId) +
      stringBound(e.recipient) +
      stringBound(e.rawStatus) +
      (e.errorCode === null ? 0 : stringBound(e.errorCode)) +
      (e.errorMessage === null ? 0 : stringBound(e.errorMessage));
  }
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
  const buf = scratch;
  encodeTable.length = 0;

  buf[0] = CODEC_VERSION;
  let pos = writeVarint(buf, 1, events.length);
  let previousMessageId: string | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as NormalizedEvent;
    const statusIndex = STATUS_INDEX.get(e.status);
    if (statusIndex === undefined) throw new TypeError(`event ${i} has unknown status ${JSON.stringify(e.status)}`);
    let flags = 0;
    if (e.errorCode !== null) flags |= F_ERROR_CODE;
    if (e.errorMessage !== null) flags |= F_ERROR_MESSAGE;
    if (e.rawStatus === e.status) flags |= F_RAW_IS_STATUS;
    else if (e.rawStatus === e.type) flags |= F_RAW_IS_TYPE;
    const timeIsInt = isUint48(e.occurredAt);
    if (!timeIsInt) flags |= F_TIME_FLOAT;
    const idLength = e.providerEventId.length;
    const suffixLength = e.recipient.length + 1;
    const idHasSuffix =
      idLength >= suffixLength &&
      e.providerEventId.charCodeAt(idLength - suffixLength) === 0x3a &&
      e.providerEventId.endsWith(e.recipient);
    if (idHasSuffix) flags |= F_EVENT_ID_SUFFIX;
    if (e.providerMessageId === previousMessageId) flags |= F_SAME_MESSAGE_ID;

    buf[pos++] = statusIndex;
    buf[pos++] = flags;
    if (timeIsInt) {
      buf.writeUIntBE(e.occurredAt, pos, 6);
      pos += 6;
    } else {
      buf.writeDoubleBE(e.occurredAt, pos);
      pos += 8;
    }
    pos = writeRef(buf, pos, e.provider);
    pos = writeRef(buf, pos, e.type);
    pos = writeString(buf, pos, idHasSuffix ? e.providerEventId.slice(0, idLength - suffixLength) : e.providerEventId);
    if ((flags & F_SAME_MESSAGE_ID) === 0) pos = writeString(buf, pos, e.providerMessageId);
    pos = writeString(buf, pos, e.recipient);
    if ((flags & (F_RAW_IS_STATUS | F_RAW_IS_TYPE)) === 0) pos = writeString(buf, pos, e.rawStatus);
    if (e.errorCode !== null) pos = writeString(buf, pos, e.errorCode);
    if (e.errorMessage !== null) pos = writeString(buf, pos, e.errorMessage);
    previousMessageId = e.providerMessageId;
  }
  // A plain Uint8Array copy: a Buffer slice would alias the scratch buffer.
  return new Uint8Array(buf.subarray(0, pos));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = 0;
  version = CODEC_VERSION;
  readonly table: string[] = [];
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}

  fail(message: string): never {
    throw new EventDecodeError(message, this.pos);
  }

  need(bytes: number): void {
    if (this.end - this.pos < bytes) this.fail(`truncated: need ${bytes} more bytes, ${this.end - this.pos} left`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail("truncated: unexpected end of data");
    return this.buf[this.pos++] as number;
  }

  varint(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > MAX_VARINT) this.fail("varint out of range");
        return result;
      }
    }
    return this.fail("varint longer than 5 bytes");
  }

  string(): string {
    const header = this.varint();
    let length = header;
    if (this.version >= 2) {
      if (header === 1) {
        this.need(16);
        const hex = this.buf.toString("hex", this.pos, this.pos + 16);
        this.pos += 16;
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      }
      if ((header & 1) !== 0) {
        this.pos--;
        this.fail(`bad string header ${header}`);
      }
      length = header / 2;
    }
    this.need(length);
    const start = this.pos;
    const stop = start + length;
    const buf = this.buf;
    let ascii = true;
    for (let i = start; i < stop; i++) {
      if ((buf[i] as number) > 0x7f) {
        ascii = false;
        break;
      }
    }
    let value: string;
    if (ascii) {
      value = buf.toString("latin1", start, stop);
    } else {
      try {
        value = utf8.decode(buf.subarray(start, stop));
      } catch (cause) {
        throw new EventDecodeError("invalid UTF-8 in string", start, { cause });
      }
    }
    this.pos = stop;
    return value;
  }

  ref(): string {
    const n = this.varint();
    if (n === 0) {
      const value = this.string();
      if (this.table.length < TABLE_CAPACITY) this.table.push(value);
      return value;
    }
    const value = this.table[n - 1];
    if (value === undefined) this.fail(`string reference ${n} beyond table of ${this.table.length}`);
    return value;
  }
}

/**
 * How many events an encoded message holds, read from its header without decoding them (the
 * worker weighs messages by it). Throws EventDecodeError when the header is not valid.
 */
export function countEvents(bytes: Uint8Array): number {
  const reader: Reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength);
  const version = reader.byte();
  if (version !== CODEC_VERSION && version !== 1) reader.fail(`unsupported version ${version}`);
  return reader.varint();
}

/**
 * Decodes what {@link encodeEvents} produced.
 *
 * @throws EventDecodeError on truncated, trailing or otherwise corrupt input, an unknown
 *   version or status index, or invalid UTF-8.
 */
export function decodeEvents(bytes: Uint8Array): NormalizedEvent[] {
  const reader: Reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength);
  const version = reader.byte();
  if (version !== CODEC_VERSION && version !== 1) {
    reader.pos = 0;
    reader.fail(`unsupported version ${version}, expected 1 or ${CODEC_VERSION}`);
  }
  reader.version = version;
  const count = reader.varint();
  if (count * MIN_EVENT_BYTES > reader.end - reader.pos) reader.fail(`event count ${count} exceeds what the data can hold`);
  const events: NormalizedEvent[] = new Array<NormalizedEvent>(count);
  let previousMessageId: string | undefined;
  for (let i = 0; i < count; i++) {
    const statusIndex = reader.byte();
    const status = WIRE_STATUSES[statusIndex];
    if (status === undefined) {
      reader.pos--;
      reader.fail(`bad status index ${statusIndex}`);
    }
    const flags = reader.byte();
    if ((flags & F_RESERVED) !== 0 || (flags & (F_RAW_IS_STATUS | F_RAW_IS_TYPE)) === (F_RAW_IS_STATUS | F_RAW_IS_TYPE)) {
      reader.pos--;
      reader.fail(`bad flags 0x${flags.toString(16)}`);
    }
    let occurredAt: number;
    if ((flags & F_TIME_FLOAT) === 0) {
      reader.need(6);
      occurredAt = reader.buf.readUIntBE(reader.pos, 6);
      reader.pos += 6;
    } else {
      reader.need(8);
      occurredAt = reader.buf.readDoubleBE(reader.pos);
      reader.pos += 8;
    }
    const provider = reader.ref();
    const type = reader.ref();
    const eventIdStored = reader.string();
    let providerMessageId: string;
    if ((flags & F_SAME_MESSAGE_ID) === 0) {
      providerMessageId = reader.string();
    } else {
      if (previousMessageId === undefined) reader.fail("first event refers to a previous message id");
      providerMessageId = previousMessageId;
    }
    const recipient = reader.string();
    const rawStatus =
      (flags & F_RAW_IS_STATUS) !== 0 ? status : (flags & F_RAW_IS_TYPE) !== 0 ? type : reader.string();
    const errorCode = (flags & F_ERROR_CODE) !== 0 ? reader.string() : null;
    const errorMessage = (flags & F_ERROR_MESSAGE) !== 0 ? reader.string() : null;
    events[i] = {
      provider,
      providerEventId: (flags & F_EVENT_ID_SUFFIX) !== 0 ? `${eventIdStored}:${recipient}` : eventIdStored,
      providerMessageId,
      recipient,
      type,
      status,
      rawStatus,
      occurredAt,
      errorCode,
      errorMessage,
    };
    previousMessageId = providerMessageId;
  }
  if (reader.pos !== reader.end) reader.fail(`${reader.end - reader.pos} trailing bytes`);
  return events;
}
