import { stripBom } from "./strip-bom.js";

/** A record cut from a byte stream, or the size of one that was too long to keep. */
export type SplitRecord =
  | { readonly row: number; readonly bytes: Buffer }
  | { readonly row: number; readonly oversizeBytes: number };

export interface SplitOptions {
  /** Records longer than this (in bytes, terminator excluded) are reported, not buffered. */
  readonly maxRecordBytes: number;
  /** Treat `"` as the CSV quote, so line breaks inside quoted fields do not end a record. */
  readonly csvQuotes: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const SPACE = 0x20;
const TAB = 0x09;

// CSV framing states (RFC 4180; blanks before an opening quote are skipped and a quote inside
// an unquoted field is taken literally, matching csv-parse with `trim` and `relax_quotes`).
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/**
 * Cuts a byte stream into records at line feeds (CRLF accepted), without ever holding more
 * than `maxRecordBytes` of one record: a longer record is skipped to its end and reported by
 * size. Records are numbered by the line they start on; empty records are dropped; a UTF-8
 * byte order mark at the start is removed. Works on bytes so invalid UTF-8 stays confined to
 * the record that holds it.
 */
export async function* splitRecords(
  source: AsyncIterable<Uint8Array>,
  options: SplitOptions,
): AsyncGenerator<SplitRecord> {
  const { maxRecordBytes, csvQuotes } = options;
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = false;
  let line = 1;
  let recordRow = 1;
  let state = FIELD_START;

  const append = (chunk: Buffer, start: number, end: number): void => {
    if (end <= start) return;
    size += end - start;
    if (oversize) return;
    if (size > maxRecordBytes) {
      oversize = true;
      parts = [];
      return;
    }
    parts.push(chunk.subarray(start, end));
  };

  const finish = (): SplitRecord | undefined => {
    let record: SplitRecord | undefined;
    if (oversize) {
      record = { row: recordRow, oversizeBytes: size };
    } else if (size > 0) {
      let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      if (bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
      if (bytes.length > 0) record = { row: recordRow, bytes };
    }
    parts = [];
    size = 0;
    oversize = false;
    state = FIELD_START;
    return record;
  };

  for await (const chunk of stripBom(source)) {
    let start = 0;
    if (!csvQuotes) {
      for (let nl = chunk.indexOf(LF, start); nl !== -1; nl = chunk.indexOf(LF, start)) {
        append(chunk, start, nl);
        const record = finish();
        if (record) yield record;
        start = nl + 1;
        line += 1;
        recordRow = line;
      }
      append(chunk, start, chunk.length);
      continue;
    }
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i];
      if (state === QUOTED) {
        if (byte === QUOTE) state = QUOTE_IN_QUOTED;
        else if (byte === LF) line += 1;
        continue;
      }
      if (state === QUOTE_IN_QUOTED) {
        if (byte === QUOTE) {
          state = QUOTED; // an escaped quote ("")
          continue;
        }
        state = UNQUOTED;
      }
      if (byte === LF) {
        append(chunk, start, i);
        const record = finish();
        if (record) yield record;
        start = i + 1;
        line += 1;
        recordRow = line;
      } else if (byte === COMMA) {
        state = FIELD_START;
      } else if (byte === QUOTE && state === FIELD_START) {
        state = QUOTED;
      } else if ((byte === SPACE || byte === TAB) && state === FIELD_START) {
        // leading blanks before an opening quote are trimmed, as csv-parse's `trim` does
      } else {
        state = UNQUOTED;
      }
    }
    append(chunk, start, chunk.length);
  }
  const last = finish();
  if (last) yield last;
}
