/**
 * Store adapters keyed by URI scheme (`sqlite:` → embedded, `mongodb://` → MongoDB). Adapter
 * packages export a `StoreAdapter` and register it here, so this package never imports them
 * (the dependency points store-* → store) and adding a backend is one `register` call.
 */
import { GeomeshError } from "@geomesh/errors";
import type { GeoStore, StoreOptions } from "./geo-store.js";

/** A backend that can open stores for the URI schemes it names. */
export interface StoreAdapter {
  /** Lower-case URI schemes without the colon, e.g. `["mongodb", "mongodb+srv"]`. */
  readonly schemes: readonly string[];
  /** Builds a store for `uri` (not yet initialised: the caller runs `init()`). */
  create(uri: string, options: StoreOptions): GeoStore;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/** The lower-case scheme of a store URI, or `undefined` when it has none. */
export function storeUriScheme(uri: string): string | undefined {
  return SCHEME.exec(uri)?.[1]?.toLowerCase();
}

/** A scheme → adapter table. */
export class StoreRegistry {
  private readonly adapters = new Map<string, StoreAdapter>();

  constructor(adapters: readonly StoreAdapter[] = []) {
    for (const adapter of adapters) this.register(adapter);
  }

  /** Adds an adapter; registering the same adapter again is a no-op, a different one for a taken scheme throws. */
  register(adapter: StoreAdapter): this {
    for (const scheme of adapter.schemes) {
      const key = scheme.toLowerCase();
      const existing = this.adapters.get(key);
      if (existing !== undefined && existing !== adapter) {
        throw new GeomeshError(
          "CONFIG_INVALID",
          `store scheme "${key}" is already registered to another adapter`,
        );
      }
      this.adapters.set(key, adapter);
    }
    return this;
  }

  /** Registered schemes, sorted. */
  schemes(): string[] {
    return [...this.adapters.keys()].sort();
  }

  /** Whether a URI's scheme has an adapter. */
  supports(uri: string): boolean {
    const scheme = storeUriScheme(uri);
    return scheme !== undefined && this.adapters.has(scheme);
  }

  /**
   * Builds the store for a URI. CONFIG_INVALID when the scheme is unknown; the message names the
   * scheme only, never the URI (it may carry credentials).
   */
  create(uri: string, options: StoreOptions): GeoStore {
    const scheme = storeUriScheme(uri);
    const adapter = scheme === undefined ? undefined : this.adapters.get(scheme);
    if (adapter === undefined) {
      const known = this.schemes().join(", ") || "none registered";
      const what =
        scheme === undefined
          ? "store URI has no scheme"
          : `store URI scheme "${scheme}" has no adapter`;
      throw new GeomeshError("CONFIG_INVALID", `${what} (known: ${known})`, {
        data: { field: "store" },
      });
    }
    return adapter.create(uri, options);
  }
}

/**
 * The process-wide registry. Importing `@geomesh/store-embedded` or `@geomesh/store-mongo`
 * registers their adapters here; composition roots may also build their own `StoreRegistry`.
 */
export const defaultStoreRegistry = new StoreRegistry();

/** Opens (without initialising) the store for `uri` from the default registry, or from `options.registry`. */
export function createStore(
  uri: string,
  options: StoreOptions & { readonly registry?: StoreRegistry },
): GeoStore {
  const { registry = defaultStoreRegistry, ...rest } = options;
  return registry.create(uri, rest);
}
