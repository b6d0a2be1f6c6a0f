/**
 * Field-addressed errors: every validation failure names the JSON path of the bad field in its
 * message and in `data.field`, and never echoes stored documents.
 */
import { type ErrorCode, GeomeshError } from "@geomesh/errors";

/** A JSON path as a list of keys and indexes. */
export type FieldPath = readonly (string | number)[];

/** Renders a path as `a.b[2].c`; the empty path is `body`. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out === "" ? "body" : out;
}

/** A GeomeshError for one field: message `path: what`, `data.field = path`. */
export function fieldError(code: ErrorCode, path: FieldPath | string, what: string): GeomeshError {
  const field = typeof path === "string" ? path : formatPath(path);
  return new GeomeshError(code, `${field}: ${what}`, { data: { field } });
}

/** Shortens an untrusted string for inclusion in a message (it is the caller's own input). */
export function quote(value: string, max = 40): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
