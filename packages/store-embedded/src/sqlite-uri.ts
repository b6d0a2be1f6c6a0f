/**
 * `sqlite:<file>` store URIs. `sqlite:data/ne.sqlite` and `sqlite:./data/ne.sqlite` are relative
 * to the working directory, `sqlite:/abs/ne.sqlite` and `sqlite:///abs/ne.sqlite` absolute;
 * `sqlite::memory:` is a private in-memory database (tests only: nothing is durable).
 */
import { GeomeshError } from "@geomesh/errors";

/** The file path of a `sqlite:` URI. CONFIG_INVALID when it is not one. */
export function sqlitePathOf(uri: string): string {
  const match = /^sqlite:(.*)$/is.exec(uri);
  const rest = match?.[1];
  if (rest === undefined)
    throw new GeomeshError("CONFIG_INVALID", "store URI must start with sqlite:", {
      data: { field: "store" },
    });
  const path = rest.startsWith("//") ? rest.slice(2) : rest;
  if (path.length === 0 || path.includes("\0")) {
    throw new GeomeshError("CONFIG_INVALID", "sqlite store URI needs a file path (sqlite:<file>)", {
      data: { field: "store" },
    });
  }
  return path;
}
