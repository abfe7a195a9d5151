import { sign, type KeyObject } from "node:crypto";

/**
 * A minimal DER writer for one thing: a self-signed X.509 v3 certificate with an RSA key, so
 * tests and load generators can sign SNS messages the way AWS does without openssl or a
 * certificate library. Not for production use.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));

function integer(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, "hex");
  if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split(".").map(Number);
  const out: number[] = [40 * (arcs[0] as number) + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  const year = date.getUTCFullYear();
  // UTCTime for 1950-2049 (RFC 5280), GeneralizedTime after.
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, "latin1")) : tlv(0x18, Buffer.from(`${digits}Z`, "latin1"));
}

function name(commonName: string): Buffer {
  return sequence(set(sequence(oid("2.5.4.3"), tlv(0x0c, Buffer.from(commonName, "utf8")))));
}

/** Options of {@link createSelfSignedCertificate}. */
export interface SelfSignedCertificateOptions {
  /** An RSA key pair; the certificate certifies `publicKey` and is signed with `privateKey`. */
  publicKey: KeyObject;
  privateKey: KeyObject;
  commonName?: string;
  notBefore: Date;
  notAfter: Date;
  serial?: bigint;
}

/** A self-signed X.509 v3 certificate (sha256WithRSAEncryption), PEM-encoded. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): string {
  const algorithm = sequence(oid("1.2.840.113549.1.1.11"), Buffer.from([0x05, 0x00]));
  const subject = name(options.commonName ?? "sns.amazonaws.com");
  const spki = options.publicKey.export({ type: "spki", format: "der" });
  const tbs = sequence(
    tlv(0xa0, integer(2n)),
    integer(options.serial ?? 1n),
    algorithm,
    subject,
    sequence(time(options.notBefore), time(options.notAfter)),
    subject,
    spki,
  );
  const signature = sign("sha256", tbs, options.privateKey);
  const der = sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const base64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${base64}${base64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}
