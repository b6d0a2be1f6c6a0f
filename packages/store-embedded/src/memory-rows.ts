/**
 * The places' rows kept in memory beside the cell index, so a query's hits are read without a
 * B-tree descent each (~2–4 µs per random row in SQLite here, even from its page cache).
 *
 * Each row is one flat string in an array indexed by pk — no JS object per place: 1M synthetic
 * places cost ~141 MB (their text, 16 bytes of string header and 8 of slot each; 157 MB measured
 * when the coordinates had their own 16 MB array here) where the rows as read (arrays of
 * strings) took ~470 MB. The coordinates are not kept here: every caller holds
 * them already, from the cell index entry or scan that found the pk (a place's cell entry carries
 * the row's lng/lat), and reading them from a second array would cost a cache miss per hit. The
 * string is flattened when stored: a concatenation is a V8 rope that keeps its nine parts (and
 * ~580 MB) alive. The SQLite file stays the source of truth: the store fills this from it at open
 * and keeps it in step with every commit (see the store).
 *
 * A row's text: `id \0 tags \0 properties \0 updatedAt \0 <category length> \0 category name`.
 * Ids are printable ASCII, tags and properties are JSON text (a NUL in them is escaped) and
 * updatedAt an ISO timestamp, so NUL ends them; category and name may hold any character, so the
 * category's length (in UTF-16 units) splits the two.
 */

import type { Place } from "@geomesh/geo";

/** pk, id, name, category, lng, lat, tags (JSON), properties (JSON), updatedAt — a `places` row. */
export type PlaceRow = [
  pk: number,
  id: string,
  name: string,
  category: string,
  lng: number,
  lat: number,
  tags: string,
  properties: string,
  updatedAt: string,
];

const NUL = "\u0000";

export class MemoryRows {
  /** Per pk: the row's text (undefined when absent). */
  private text: (string | undefined)[] = [];
  private count = 0;
  /** The last prefetch's sum of lengths (`places`) — kept so its loop is not optimised away. */
  private touched = 0;

  /** Rows held. */
  get size(): number {
    return this.count;
  }

  clear(): void {
    this.text = [];
    this.count = 0;
  }

  put(row: PlaceRow): void {
    const [pk, id, name, category, , , tags, properties, updatedAt] = row;
    if (!Number.isSafeInteger(pk) || pk < 0) throw new RangeError(`memory rows: bad pk ${pk}`);
    const rope = `${id}${NUL}${tags}${NUL}${properties}${NUL}${updatedAt}${NUL}${category.length}${NUL}${category}${name}`;
    if (this.text[pk] === undefined) this.count += 1;
    // Through UTF-8 and back: one flat string. A lone surrogate becomes U+FFFD, as it does on its
    // way into the file (SQLite stores UTF-8), so memory and file agree.
    this.text[pk] = Buffer.from(rope, "utf8").toString("utf8");
  }

  remove(pk: number): void {
    if (this.text[pk] === undefined) return;
    this.text[pk] = undefined;
    this.count -= 1;
  }

  /**
   * The places at these points' pks, in order, into `out` (undefined where absent). Every row's
   * string is touched first, so the cache misses of a page of random pks overlap instead of
   * stalling each decode in turn: ~0.85 µs a place against ~1.25 µs one by one (1M rows).
   */
  places(
    points: readonly { pk: number; lng: number; lat: number }[],
    out: (Place | undefined)[],
  ): void {
    const text = this.text;
    let touched = 0;
    for (let i = 0; i < points.length; i++) touched += text[points[i]!.pk]?.length ?? 0;
    this.touched = touched;
    for (let i = 0; i < points.length; i++) {
      const { pk, lng, lat } = points[i]!;
      out[i] = this.place(pk, lng, lat);
    }
  }

  /**
   * The place at pk, decoded (tags and properties parsed), at the coordinates the caller read
   * beside its pk (its cell index entry), or undefined.
   */
  place(pk: number, lng: number, lat: number): Place | undefined {
    const text = this.text[pk];
    if (text === undefined) return undefined;
    const a = text.indexOf(NUL);
    const b = text.indexOf(NUL, a + 1);
    const c = text.indexOf(NUL, b + 1);
    const d = text.indexOf(NUL, c + 1);
    const e = text.indexOf(NUL, d + 1);
    const categoryEnd = e + 1 + Number(text.slice(d + 1, e));
    const tags = text.slice(a + 1, b);
    const properties = text.slice(b + 1, c);
    return {
      id: text.slice(0, a),
      name: text.slice(categoryEnd),
      category: text.slice(e + 1, categoryEnd),
      location: { type: "Point", coordinates: [lng, lat] },
      tags: tags === "[]" ? [] : (JSON.parse(tags) as string[]),
      properties: properties === "{}" ? {} : (JSON.parse(properties) as Record<string, unknown>),
      updatedAt: text.slice(c + 1, d),
    };
  }
}
