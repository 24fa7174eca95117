import { isUtf8 } from "node:buffer";
import { Transform, type TransformCallback } from "node:stream";

/**
 * Strict UTF-8 for the import (import review, finding 2: bytes that are not UTF-8 used to become
 * U+FFFD in names and the job succeeded). csv-parse decodes leniently, and U+FFFD in its output
 * cannot tell an invalid byte from a real U+FFFD, so the bytes are checked on their way in.
 */

/** A UTF-16 code unit that is half of no pair: text with one has no UTF-8 form. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/**
 * The length of the well-formed UTF-8 sequence starting at `i` (Unicode 15, table 3-7), 0 when the
 * bytes there are not one, or -1 when they are the start of one that `buf` ends inside.
 */
function sequenceLength(buf: Uint8Array, i: number): number {
  const b = buf[i];
  if (b < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) low = 0xa0;
    if (b === 0xed) high = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) low = 0x90;
    if (b === 0xf4) high = 0x8f;
  } else return 0;
  for (let k = 1; k < length; k++) {
    if (i + k >= buf.length) return -1;
    const c = buf[i + k];
    if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return 0;
  }
  return length;
}

/**
 * Passes bytes through unchanged and records in `invalidAt` the offset (from the first byte, BOM
 * included) of the first byte that is not part of well-formed UTF-8, or of a sequence the input
 * ends inside. Chunks may split a character anywhere: an unfinished sequence at a chunk's end is
 * judged with the next chunk. The reader decides what to refuse (it knows the rows).
 */
export class Utf8Check extends Transform {
  /** The offset of the first invalid byte; null while the input is well-formed. */
  invalidAt: number | null = null;
  /** Bytes of an unfinished sequence at the end of the last chunk (at most 3). */
  private pending: Buffer = Buffer.alloc(0);
  /** The offset of `pending`'s first byte. */
  private offset = 0;

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (this.invalidAt === null) this.check(bytes);
    done(null, bytes);
  }

  override _flush(done: TransformCallback): void {
    if (this.invalidAt === null && this.pending.length) this.invalidAt = this.offset;
    done();
  }

  private check(chunk: Buffer): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    // Where a sequence the chunk ends inside would start (the native check sees only whole ones).
    let end = buf.length;
    for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
      const b = buf[i];
      if ((b & 0xc0) === 0x80) continue;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (i + need > buf.length) end = i;
      break;
    }
    if (!isUtf8(buf.subarray(0, end))) {
      for (let i = 0; i < buf.length;) {
        const length = sequenceLength(buf, i);
        if (length === 0) {
          this.invalidAt = this.offset + i;
          return;
        }
        if (length === -1) break;
        i += length;
      }
    }
    this.offset += end;
    this.pending = Buffer.from(buf.subarray(end));
  }
}

/**
 * The UTF-8 of `text`, except that each lone surrogate (which has no UTF-8 form) is written as the
 * ill-formed three bytes WTF-8 gives it, where `Buffer.from` would silently write U+FFFD: so that
 * `Utf8Check` refuses an inline CSV holding one and names its row.
 */
export function utf8Bytes(text: string): Buffer {
  if (!LONE_SURROGATE.test(text)) return Buffer.from(text);
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of text.matchAll(LONE_SURROGATES)) {
    const unit = match[0].charCodeAt(0);
    parts.push(Buffer.from(text.slice(last, match.index!)), Buffer.from([0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]));
    last = match.index! + 1;
  }
  parts.push(Buffer.from(text.slice(last)));
  return Buffer.concat(parts);
}
