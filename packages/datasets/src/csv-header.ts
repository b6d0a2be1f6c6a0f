import { GeomeshError } from "@geomesh/errors";

/** Where each place field sits in a CSV row, and which other columns become properties. */
export interface CsvColumns {
  /** Header names, trimmed. */
  readonly names: readonly string[];
  readonly count: number;
  readonly id: number;
  readonly name: number | undefined;
  readonly category: number | undefined;
  readonly lng: number;
  readonly lat: number;
  readonly tags: number | undefined;
  readonly extra: readonly { readonly index: number; readonly key: string }[];
}

/** Header names (compared case-insensitively) for each place field. */
const ALIASES: Readonly<
  Record<"id" | "name" | "category" | "lng" | "lat" | "tags", readonly string[]>
> = {
  id: ["id"],
  name: ["name"],
  category: ["category"],
  lng: ["lng", "lon", "longitude"],
  lat: ["lat", "latitude"],
  tags: ["tags"],
};

const MAX_COLUMNS = 1000;

/**
 * Reads the header row. Throws a GeomeshError (VALIDATION_FAILED) when the file cannot be read
 * as places at all: no id, longitude or latitude column, a column named twice (or by two
 * aliases), an unnamed column, or more than 1000 columns.
 */
export function parseCsvHeader(names: readonly string[]): CsvColumns {
  if (names.length > MAX_COLUMNS) {
    throw new GeomeshError(
      "VALIDATION_FAILED",
      `CSV header has ${names.length} columns, more than ${MAX_COLUMNS}`,
    );
  }
  const seen = new Map<string, number>();
  const fields = new Map<string, number>();
  const extra: { index: number; key: string }[] = [];
  names.forEach((raw, index) => {
    const key = raw.trim();
    const lower = key.toLowerCase();
    if (key === "")
      throw new GeomeshError("VALIDATION_FAILED", `CSV header: column ${index + 1} has no name`);
    const before = seen.get(lower);
    if (before !== undefined) {
      throw new GeomeshError(
        "VALIDATION_FAILED",
        `CSV header: column ${JSON.stringify(key)} appears twice (columns ${before + 1} and ${index + 1})`,
      );
    }
    seen.set(lower, index);
    const field = (Object.keys(ALIASES) as (keyof typeof ALIASES)[]).find((f) =>
      ALIASES[f].includes(lower),
    );
    if (field === undefined) {
      extra.push({ index, key });
      return;
    }
    const other = fields.get(field);
    if (other !== undefined) {
      throw new GeomeshError(
        "VALIDATION_FAILED",
        `CSV header: columns ${JSON.stringify(names[other]?.trim())} and ${JSON.stringify(key)} both give the ${field}`,
      );
    }
    fields.set(field, index);
  });
  const required = (field: "id" | "lng" | "lat"): number => {
    const index = fields.get(field);
    if (index === undefined) {
      throw new GeomeshError(
        "VALIDATION_FAILED",
        `CSV header has no ${field} column (expected ${ALIASES[field].map((a) => JSON.stringify(a)).join(" or ")})`,
      );
    }
    return index;
  };
  return {
    names: names.map((n) => n.trim()),
    count: names.length,
    id: required("id"),
    lng: required("lng"),
    lat: required("lat"),
    name: fields.get("name"),
    category: fields.get("category"),
    tags: fields.get("tags"),
    extra,
  };
}
