/**
 * The allow-listed filter as a MongoDB query. Only these four clauses exist and every value is a
 * plain string placed under a fixed operator, so no user input can become an operator.
 */
import type { Filter } from "@geomesh/geo";
import type { Document } from "mongodb";

/** Escapes every regex metacharacter, so a name prefix matches literally. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** Query clauses for a filter (an empty object when there is none). */
export function mongoFilter(filter: Filter | undefined): Document {
  const q: Document = {};
  if (filter === undefined) return q;
  const { category, tags, namePrefix, updatedAt } = filter;
  if (typeof category === "string") q.category = { $eq: category };
  else if (category !== undefined) q.category = { $in: [...category] };
  if (tags !== undefined && tags.length > 0) q.tags = { $all: [...tags] };
  // Anchored, case-sensitive prefix: MongoDB answers it from an index range when one exists.
  if (namePrefix !== undefined && namePrefix.length > 0)
    q.name = { $regex: `^${escapeRegex(namePrefix)}` };
  if (updatedAt !== undefined && (updatedAt.from !== undefined || updatedAt.to !== undefined)) {
    const range: Document = {};
    if (updatedAt.from !== undefined) range.$gte = updatedAt.from;
    if (updatedAt.to !== undefined) range.$lt = updatedAt.to;
    q.updatedAt = range;
  }
  return q;
}
