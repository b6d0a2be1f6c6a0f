import { isUtf8 } from "node:buffer";

/** Decodes strict UTF-8; `undefined` when the bytes are not valid UTF-8 (no silent U+FFFD). */
export function decodeUtf8(bytes: Buffer): string | undefined {
  return isUtf8(bytes) ? bytes.toString("utf8") : undefined;
}
