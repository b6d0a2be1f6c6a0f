/**
 * The allow-listed filter as a SQL condition over the `places` row aliased `p`. Values are always
 * bound (named) parameters; `key` names the shape of the condition so statements can be cached
 * per shape.
 */
import type { Filter } from "@geomesh/geo";

/** Named parameters of a statement. */
export type SqlParams = Record<string, string | number>;

/** A condition (`AND …` clauses, possibly empty), its parameters, and a cache key for its shape. */
export interface FilterSql {
  readonly sql: string;
  readonly params: SqlParams;
  readonly key: string;
}

/** SQL for a filter: category (one or any of), tags (all of), namePrefix, updatedAt [from, to). */
export function filterSql(filter: Filter | undefined): FilterSql {
  const clauses: string[] = [];
  const params: SqlParams = {};
  let key = "";
  if (filter === undefined) return { sql: "", params, key };
  const { category, tags, namePrefix, updatedAt } = filter;
  if (typeof category === "string") {
    clauses.push("p.category = @f_category");
    params.f_category = category;
    key += "c";
  } else if (category !== undefined) {
    clauses.push("p.category IN (SELECT value FROM json_each(@f_categories))");
    params.f_categories = JSON.stringify(category);
    key += "C";
  }
  if (tags !== undefined && tags.length > 0) {
    clauses.push(
      "NOT EXISTS (SELECT 1 FROM json_each(@f_tags) AS f WHERE f.value NOT IN (SELECT value FROM json_each(p.tags)))",
    );
    params.f_tags = JSON.stringify(tags);
    key += "t";
  }
  if (namePrefix !== undefined && namePrefix.length > 0) {
    // substr counts characters (code points); for well-formed strings a code-point prefix is a
    // code-unit prefix, which is what the model specifies.
    clauses.push("substr(p.name, 1, @f_prefix_length) = @f_prefix");
    params.f_prefix_length = [...namePrefix].length;
    params.f_prefix = namePrefix;
    key += "n";
  }
  if (updatedAt?.from !== undefined) {
    clauses.push("p.updated_at >= @f_from");
    params.f_from = updatedAt.from;
    key += "f";
  }
  if (updatedAt?.to !== undefined) {
    clauses.push("p.updated_at < @f_to");
    params.f_to = updatedAt.to;
    key += "u";
  }
  return { sql: clauses.map((c) => ` AND ${c}`).join(""), params, key };
}
