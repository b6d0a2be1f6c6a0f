/**
 * Opaque paging cursors (base64url JSON). A near cursor holds the last (distance, id) returned, a
 * within/intersects cursor the last id; the next page starts strictly after it. Cursors are
 * client-held and therefore untrusted: decoding checks length, alphabet and shape.
 */
import { z } from "zod";
import { fieldError, type FieldPath } from "./field-error.js";
import { type IdCursor, LIMITS, type NearCursor } from "./model.js";

/** Ids: 1..128 printable ASCII characters without spaces, so code-unit order equals byte order. */
export const ID_PATTERN = /^[\x21-\x7E]{1,128}$/;

const nearCursorShape = z.strictObject({
  k: z.literal("n"),
  d: z
    .number()
    .min(0)
    .max(Math.PI * 6378100 * 1.000001),
  i: z.string().regex(ID_PATTERN),
});
const idCursorShape = z.strictObject({ k: z.literal("i"), i: z.string().regex(ID_PATTERN) });

/** Encodes the position after the last near hit. */
export function encodeNearCursor(cursor: NearCursor): string {
  return Buffer.from(JSON.stringify({ k: "n", d: cursor.distance, i: cursor.id })).toString(
    "base64url",
  );
}

/** Encodes the position after the last within/intersects hit. */
export function encodeIdCursor(cursor: IdCursor): string {
  return Buffer.from(JSON.stringify({ k: "i", i: cursor.id })).toString("base64url");
}

function decodeRaw(token: unknown, path: FieldPath): unknown {
  if (typeof token !== "string")
    throw fieldError("VALIDATION_FAILED", path, "must be a cursor string");
  if (
    token.length === 0 ||
    token.length > LIMITS.maxCursorLength ||
    !/^[A-Za-z0-9_-]+$/.test(token)
  ) {
    throw fieldError("VALIDATION_FAILED", path, "is not a valid cursor");
  }
  try {
    return JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
  } catch {
    throw fieldError("VALIDATION_FAILED", path, "is not a valid cursor");
  }
}

/** Decodes a near cursor from an untrusted token; VALIDATION_FAILED when it is not one. */
export function decodeNearCursor(token: unknown, path: FieldPath = ["cursor"]): NearCursor {
  const parsed = nearCursorShape.safeParse(decodeRaw(token, path));
  if (!parsed.success)
    throw fieldError("VALIDATION_FAILED", path, "is not a valid cursor for a near query");
  return { distance: parsed.data.d, id: parsed.data.i };
}

/** Decodes a within/intersects cursor from an untrusted token; VALIDATION_FAILED when it is not one. */
export function decodeIdCursor(token: unknown, path: FieldPath = ["cursor"]): IdCursor {
  const parsed = idCursorShape.safeParse(decodeRaw(token, path));
  if (!parsed.success)
    throw fieldError(
      "VALIDATION_FAILED",
      path,
      "is not a valid cursor for a within/intersects query",
    );
  return { id: parsed.data.i };
}
