/**
 * `application/x-www-form-urlencoded` bodies and URL query strings, parsed strictly: a `%`
 * not followed by two hex digits, or bytes that are not UTF-8 once decoded, make the whole
 * body unreadable (never a "best effort" that could read differently from what was signed).
 */

/**
 * Form (or query) parameters by name: one value as a string, a repeated name as an array of
 * its values in body order. The object has no prototype, so names such as `__proto__` or
 * `constructor` are plain keys.
 */
export type FormParams = Readonly<Record<string, string | readonly string[]>>;

/** A parse outcome: the value, or why the input is not readable. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; detail: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const PLUS = 0x2b;
const PERCENT = 0x25;
const AMPERSAND = 0x26;
const EQUALS = 0x3d;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Decodes bytes [start, end) of a form component; `undefined` on a bad escape or bad UTF-8. */
function decodeComponent(bytes: Uint8Array, start: number, end: number): string | undefined {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c === PLUS || c === PERCENT || c >= 0x80) {
      plain = false;
      break;
    }
  }
  if (plain) return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number;
    if (c === PLUS) {
      out[n++] = 0x20;
    } else if (c === PERCENT) {
      if (i + 2 >= end) return undefined;
      const hi = hexValue(bytes[i + 1] as number);
      const lo = hexValue(bytes[i + 2] as number);
      if (hi < 0 || lo < 0) return undefined;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    return undefined;
  }
}

function add(params: Record<string, string | string[]>, name: string, value: string): void {
  const existing = params[name];
  if (existing === undefined) params[name] = value;
  else if (typeof existing === "string") params[name] = [existing, value];
  else existing.push(value);
}

/**
 * Parses a form-encoded body (or a query string, given as bytes or a string). Empty segments
 * are skipped; a segment without `=` is a name with an empty value; `+` is a space.
 */
export function parseForm(input: Uint8Array | string): ParseResult<FormParams> {
  const bytes = typeof input === "string" ? Buffer.from(input, "latin1") : input;
  const params = Object.create(null) as Record<string, string | string[]>;
  const length = bytes.length;
  let start = 0;
  while (start <= length) {
    let end = bytes.indexOf(AMPERSAND, start);
    if (end === -1) end = length;
    if (end > start) {
      let eq = start;
      while (eq < end && bytes[eq] !== EQUALS) eq++;
      const name = decodeComponent(bytes, start, eq);
      const value = eq < end ? decodeComponent(bytes, eq + 1, end) : "";
      if (name === undefined || value === undefined) {
        return { ok: false, detail: `form parameter at byte ${start} has a bad %-escape or is not UTF-8` };
      }
      add(params, name, value);
    }
    start = end + 1;
  }
  return { ok: true, value: params };
}

/** The query string of a path-and-query (`/hooks/x?a=1` → `a=1`), or `""`. */
export function queryOf(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return "";
  const hash = url.indexOf("#", q);
  return url.slice(q + 1, hash === -1 ? undefined : hash);
}

/** Parses the query string of `url` (a path-and-query or an absolute URL). */
export function parseQuery(url: string): ParseResult<FormParams> {
  return parseForm(queryOf(url));
}

/** The values of `name` as a list (none, one, or the repeated ones). */
export function formValues(params: FormParams, name: string): readonly string[] {
  const value = params[name];
  return value === undefined ? [] : typeof value === "string" ? [value] : value;
}
