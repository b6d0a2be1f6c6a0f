/**
 * Structural screening of untrusted bodies before schema parsing: operator injection (`$` keys),
 * prototype pollution keys, non-JSON values and pathological nesting are refused wherever they
 * occur, including inside free-form `properties`.
 */
import { fieldError, type FieldPath } from "./field-error.js";
import { LIMITS } from "./model.js";

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Upper bound on values (objects, arrays, scalars) in one body; a 1 MiB body stays well below it. */
export const MAX_JSON_NODES = 500_000;

interface Node {
  readonly value: unknown;
  readonly parent: Node | undefined;
  readonly key: string | number | undefined;
  readonly depth: number;
}

function pathOf(node: Node, root: FieldPath, extra?: string): FieldPath {
  const keys: (string | number)[] = extra === undefined ? [] : [extra];
  for (let n: Node | undefined = node; n !== undefined && n.key !== undefined; n = n.parent)
    keys.push(n.key);
  return [...root, ...keys.reverse()];
}

/**
 * Throws VALIDATION_FAILED / LIMIT_EXCEEDED unless `value` is plain JSON data: objects with
 * ordinary keys (no `$` prefix, no `__proto__`/`constructor`/`prototype`, no NUL or `.`), arrays,
 * finite numbers, strings, booleans, null — nested at most `LIMITS.maxDepth` deep.
 * Iterative, so hostile nesting cannot overflow the stack.
 */
export function assertSafeJson(value: unknown, root: FieldPath = []): void {
  const stack: Node[] = [{ value, parent: undefined, key: undefined, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.value;
    if (++nodes > MAX_JSON_NODES) {
      throw fieldError("LIMIT_EXCEEDED", root, `body has more than ${MAX_JSON_NODES} values`);
    }
    if (v === null || v === undefined || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v))
        throw fieldError("VALIDATION_FAILED", pathOf(node, root), "must be a finite number");
      continue;
    }
    if (typeof v !== "object") {
      throw fieldError("VALIDATION_FAILED", pathOf(node, root), `a ${typeof v} is not JSON data`);
    }
    if (node.depth >= LIMITS.maxDepth) {
      throw fieldError(
        "LIMIT_EXCEEDED",
        pathOf(node, root),
        `nested deeper than ${LIMITS.maxDepth} levels`,
      );
    }
    const depth = node.depth + 1;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i] as unknown, parent: node, key: i, depth });
      continue;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw fieldError("VALIDATION_FAILED", pathOf(node, root), "must be a plain JSON object");
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      if (key.startsWith("$")) {
        throw fieldError(
          "VALIDATION_FAILED",
          pathOf(node, root, key),
          "keys starting with '$' are not allowed",
        );
      }
      if (FORBIDDEN_KEYS.has(key)) {
        throw fieldError(
          "VALIDATION_FAILED",
          pathOf(node, root, key),
          `the key "${key}" is not allowed`,
        );
      }
      if (key.includes("\0") || key.includes(".")) {
        throw fieldError(
          "VALIDATION_FAILED",
          pathOf(node, root, key),
          "keys may not contain '.' or NUL characters",
        );
      }
      stack.push({ value: (v as Record<string, unknown>)[key], parent: node, key, depth });
    }
  }
}
