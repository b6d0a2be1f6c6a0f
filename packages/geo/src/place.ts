/**
 * Place semantics shared by every store and oracle: the filter allow-list and write completion.
 */
import type { Filter, Place, PlaceInput } from "./model.js";

/** Whether a place passes a filter (every present clause must hold; see `Filter`). */
export function matchesFilter(place: Place, filter: Filter | undefined): boolean {
  if (filter === undefined) return true;
  const { category, tags, namePrefix, updatedAt } = filter;
  if (category !== undefined) {
    if (
      typeof category === "string"
        ? place.category !== category
        : !category.includes(place.category)
    )
      return false;
  }
  if (tags !== undefined && !tags.every((t) => place.tags.includes(t))) return false;
  if (namePrefix !== undefined && !place.name.startsWith(namePrefix)) return false;
  if (updatedAt !== undefined) {
    // Canonical ISO strings order like the instants they name.
    if (updatedAt.from !== undefined && place.updatedAt < updatedAt.from) return false;
    if (updatedAt.to !== undefined && place.updatedAt >= updatedAt.to) return false;
  }
  return true;
}

/** A stored place from a parsed input: `updatedAt` defaults to `now` (canonical ISO). */
export function completePlace(input: PlaceInput, now: Date = new Date()): Place {
  return { ...input, updatedAt: input.updatedAt ?? now.toISOString() };
}
