import type { ErrorCode } from "@geomesh/errors";
import { GeomeshError } from "@geomesh/errors";
import { oversizeReason } from "./oversize-reason.js";
import { stripBom } from "./strip-bom.js";

/**
 * What the scanner found: the raw bytes of one feature (an element of `features`), the whole
 * document when it has no `features` array (a single Feature), or a failure at a row.
 */
export type ScannedItem =
  | { readonly kind: "feature"; readonly row: number; readonly bytes: Buffer }
  | { readonly kind: "document"; readonly row: number; readonly bytes: Buffer }
  | {
      readonly kind: "failure";
      readonly row: number;
      readonly code: ErrorCode;
      readonly reason: string;
    };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Bounded byte buffer: keeps slices until `max`, then only counts. */
class Capture {
  parts: Buffer[] = [];
  size = 0;
  oversize = false;
  constructor(private readonly max: number) {}
  add(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.size += end - start;
    if (this.oversize) return;
    if (this.size > this.max) {
      this.oversize = true;
      this.parts = [];
      return;
    }
    this.parts.push(chunk.subarray(start, end));
  }
  bytes(): Buffer {
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
  }
}

function oversizeFailure(row: number, size: number, max: number, what: string): ScannedItem {
  return { kind: "failure", row, code: "LIMIT_EXCEEDED", reason: oversizeReason(what, size, max) };
}

type ElementKind = "container" | "string" | "primitive";

/**
 * Streams a GeoJSON document as bytes and cuts out each element of the top-level `features`
 * array without parsing or holding the whole document, so a huge FeatureCollection (one line
 * or many) costs memory per feature, not per file. Nothing is decoded here: structural bytes
 * are ASCII and never occur inside multi-byte UTF-8 sequences. A feature over `maxRowBytes` is
 * skipped and reported; a file that ends early reports the unfinished feature as truncated.
 * Throws a GeomeshError only when the file is not a JSON object at all.
 */
export async function* scanGeoJson(
  source: AsyncIterable<Uint8Array>,
  maxRowBytes: number,
): AsyncGenerator<ScannedItem> {
  const stack: number[] = [];
  let started = false;
  let finished = false;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  let keyBytes: number[] | undefined;
  let lastKey = "";
  let featuresSeen = false;
  let featuresDepth = 0;
  let nextRow = 1;
  let element: { row: number; kind: ElementKind; capture: Capture } | undefined;
  const doc = new Capture(maxRowBytes);

  for await (const chunk of stripBom(source)) {
    // Start of the slice of this chunk not yet handed to a capture (element or document).
    let segment = 0;
    // Next backslash in this chunk at or after the scan position (-1: none left, -2: not looked yet).
    let nextBackslash = -2;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i]!;
      if (inString && !escaped && byte !== QUOTE && byte !== BACKSLASH) {
        // Strings are most of a GeoJSON file: jump to the next quote or backslash natively.
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
        const quote = chunk.indexOf(QUOTE, i);
        let stop =
          quote === -1
            ? nextBackslash
            : nextBackslash === -1
              ? quote
              : Math.min(quote, nextBackslash);
        if (stop === -1) stop = chunk.length;
        if (keyBytes)
          for (let k = i; k < stop && keyBytes.length < 64; k += 1) keyBytes.push(chunk[k]!);
        i = stop - 1;
        continue;
      }
      if (!started || finished) {
        if (isWhitespace(byte)) continue;
        if (finished) {
          yield {
            kind: "failure",
            row: nextRow,
            code: "BAD_REQUEST",
            reason: "invalid JSON: unexpected data after the end of the GeoJSON document",
          };
          return;
        }
        if (byte !== OPEN_BRACE) {
          throw new GeomeshError(
            "BAD_REQUEST",
            `not a GeoJSON document: expected a FeatureCollection or Feature object, found ${JSON.stringify(String.fromCharCode(byte))} at the start`,
          );
        }
        started = true;
        stack.push(byte);
        expectKey = true;
        segment = i;
        continue;
      }

      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (byte === BACKSLASH) {
          escaped = true;
        } else if (byte === QUOTE) {
          inString = false;
          if (keyBytes) {
            lastKey = Buffer.from(keyBytes).toString("latin1");
            keyBytes = undefined;
          }
          if (element?.kind === "string" && stack.length === featuresDepth) {
            element.capture.add(chunk, segment, i + 1);
            segment = i + 1;
            yield* emitElement(element, maxRowBytes);
            element = undefined;
          }
        } else if (keyBytes && keyBytes.length < 64) {
          keyBytes.push(byte);
        }
        continue;
      }

      if (featuresDepth !== 0 && stack.length === featuresDepth) {
        if (
          element?.kind === "primitive" &&
          (isWhitespace(byte) || byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE)
        ) {
          element.capture.add(chunk, segment, i);
          segment = i;
          yield* emitElement(element, maxRowBytes);
          element = undefined;
        }
        if (
          !element &&
          !isWhitespace(byte) &&
          byte !== COMMA &&
          byte !== CLOSE_BRACKET &&
          byte !== CLOSE_BRACE
        ) {
          doc.add(chunk, segment, i);
          segment = i;
          const kind: ElementKind =
            byte === OPEN_BRACE || byte === OPEN_BRACKET
              ? "container"
              : byte === QUOTE
                ? "string"
                : "primitive";
          element = { row: nextRow, kind, capture: new Capture(maxRowBytes) };
          nextRow += 1;
        }
      }

      switch (byte) {
        case QUOTE:
          inString = true;
          if (stack.length === 1 && expectKey) keyBytes = [];
          break;
        case OPEN_BRACE:
        case OPEN_BRACKET:
          if (
            byte === OPEN_BRACKET &&
            stack.length === 1 &&
            !expectKey &&
            lastKey === "features" &&
            !featuresSeen
          ) {
            featuresSeen = true;
            featuresDepth = 2;
          }
          stack.push(byte);
          break;
        case CLOSE_BRACE:
        case CLOSE_BRACKET: {
          const open = stack.pop();
          if (open !== (byte === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET)) {
            yield {
              kind: "failure",
              row: element?.row ?? nextRow,
              code: "BAD_REQUEST",
              reason: `invalid JSON: unexpected ${JSON.stringify(String.fromCharCode(byte))}`,
            };
            return;
          }
          if (featuresDepth !== 0 && stack.length === featuresDepth - 1) {
            featuresDepth = 0; // the features array closed
          } else if (element?.kind === "container" && stack.length === featuresDepth) {
            element.capture.add(chunk, segment, i + 1);
            segment = i + 1;
            yield* emitElement(element, maxRowBytes);
            element = undefined;
          }
          if (stack.length === 0) {
            doc.add(chunk, segment, i + 1);
            segment = i + 1;
            finished = true;
          }
          break;
        }
        case COMMA:
          if (stack.length === 1) expectKey = true;
          break;
        case COLON:
          if (stack.length === 1) expectKey = false;
          break;
        default:
          break;
      }
    }
    if (started && !finished) {
      if (element) element.capture.add(chunk, segment, chunk.length);
      else doc.add(chunk, segment, chunk.length);
    }
  }

  if (!started) return; // an empty (or all-whitespace) file holds no rows
  if (!finished) {
    const row = element?.row ?? (featuresSeen ? nextRow : 1);
    const what = element ? "this feature" : featuresSeen ? "the FeatureCollection" : "the Feature";
    yield {
      kind: "failure",
      row,
      code: "BAD_REQUEST",
      reason: `truncated JSON: the file ends inside ${what}`,
    };
    return;
  }
  if (featuresSeen) return;
  if (doc.oversize) {
    yield oversizeFailure(1, doc.size, maxRowBytes, "the Feature");
    return;
  }
  yield { kind: "document", row: 1, bytes: doc.bytes() };
}

function* emitElement(
  element: { row: number; capture: Capture },
  maxRowBytes: number,
): Generator<ScannedItem> {
  if (element.capture.oversize)
    yield oversizeFailure(element.row, element.capture.size, maxRowBytes, "the feature");
  else yield { kind: "feature", row: element.row, bytes: element.capture.bytes() };
}
