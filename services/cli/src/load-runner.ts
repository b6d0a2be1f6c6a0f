import { type ClusterConfig, findRegion } from "@geomesh/config";
import { GeomeshClient } from "@geomesh/client";
import { type BatchOutcome, type LoadSummary, loadPlaces, resolveSource } from "@geomesh/datasets";
import { isGeomeshError, toGeomeshError } from "@geomesh/errors";
import { buildRegionMap } from "@geomesh/geo";
import type { CurveOptions } from "@geomesh/protocol";
import { Presets, SingleBar } from "cli-progress";

export interface LoadRunOptions {
  readonly config: ClusterConfig;
  /** Send everything to this broker frontend instead of each region's own. */
  readonly broker?: string | undefined;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Show a progress bar on stderr. */
  readonly progress: boolean;
  /** CURVE client options when the cluster runs CURVE. */
  readonly curve?: CurveOptions | undefined;
}

/**
 * Loads a source (`cities`, `zips`, `synthetic:N[:seed]` or a file) into the owning regions:
 * each place is routed with the region map and written in batches as `place.upsert@<region>`
 * through the brokers. Bad rows are counted with their reasons, never abort the load.
 */
export async function runLoad(source: string, options: LoadRunOptions): Promise<LoadSummary> {
  const { config } = options;
  const map = buildRegionMap(config.regions.map((r) => ({ name: r.name, polygon: r.polygon })));
  const resolved = await resolveSource(source);
  const clients = new Map<string, GeomeshClient>();
  const clientFor = (region: string): GeomeshClient => {
    const endpoint = options.broker ?? findRegion(config, region).endpoints.frontend;
    let client = clients.get(endpoint);
    if (!client) {
      client = new GeomeshClient({
        endpoint,
        timeoutMs: options.timeoutMs,
        heartbeat: config.heartbeat,
        ...(options.curve ? { curve: options.curve } : {}),
      });
      clients.set(endpoint, client);
    }
    return client;
  };
  const bar = options.progress
    ? new SingleBar(
        {
          format: `${resolved.label} [{bar}] {percentage}% | {value}/{total} read | {accepted} accepted | {rejected} rejected`,
          hideCursor: true,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(resolved.total ?? 0, 0, { accepted: 0, rejected: 0 });
  try {
    return await loadPlaces(resolved.rows, {
      route: (place) => map.regionOf(place.location.coordinates),
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      send: async (region, places): Promise<BatchOutcome> => {
        try {
          // Upserts with explicit ids are safe to re-send, so mark them idempotent.
          await clientFor(region).request(
            `place.upsert@${region}`,
            { places },
            { idempotent: true },
          );
          return { status: "accepted" };
        } catch (err) {
          return { status: "failed", error: isGeomeshError(err) ? err : toGeomeshError(err) };
        }
      },
      onProgress: (p) => {
        if (!bar) return;
        if (resolved.total === undefined) bar.setTotal(Math.max(p.read, 1));
        bar.update(p.read, { accepted: p.accepted, rejected: p.rejected });
      },
    });
  } finally {
    bar?.stop();
    for (const client of clients.values()) await client.close();
  }
}
